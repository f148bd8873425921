//! `sigap init`: configure this device.

use std::process::ExitCode;

use serde_json::json;
use uuid::Uuid;

use crate::cli::InitArgs;
use crate::error::{CliError, exit};
use crate::i18n::{both, t};
use crate::output;
use crate::store::{self, Store, key, replica};
use crate::sync::client::Client;

pub fn run(store: &mut Store, args: InitArgs, json: bool) -> anyhow::Result<ExitCode> {
    let existing = store.device_opt()?;
    check(&args, existing.is_none())?;
    let tx = store.conn.transaction()?;
    let device_id = match &existing {
        Some(d) => d.id,
        None => {
            let id = Uuid::now_v7();
            store::set(&tx, key::DEVICE_ID, &id.to_string())?;
            id
        }
    };
    if let Some(url) = &args.server {
        store::set(&tx, key::SERVER_URL, url.trim().trim_end_matches('/'))?;
        // Said again with each new address: an allowance for one server
        // is not one for the next.
        store::set(&tx, key::INSECURE, if args.insecure { "1" } else { "0" })?;
    } else if args.insecure {
        store::set(&tx, key::INSECURE, "1")?;
    }
    if let Some(path) = &args.ca_cert {
        // Kept as an absolute path: later commands run from anywhere.
        let absolute = std::path::absolute(path.trim())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.trim().to_string());
        store::set(&tx, key::CA_CERT, &absolute)?;
    }
    if let Some(name) = &args.device_name {
        store::set(&tx, key::DEVICE_NAME, name.trim())?;
    }
    if let Some(token) = &args.token {
        store::set(&tx, key::TOKEN, token.trim())?;
        // Asked again below; an old answer is for another token.
        tx.execute("DELETE FROM config WHERE key = ?1", [key::TOKEN_ROLE])?;
    }
    tx.commit()?;
    let d = store.device()?;
    // Everything is saved; enrolling is a bonus that may fail offline.
    let enrolment = match (&args.token, &d.server_url) {
        (Some(_), Some(_)) => Some(match token_role(&d) {
            // A supervisor's laptop reads reports: it has no outbox for
            // the server to hold, so it is not enrolled as a device.
            Some((role, name)) if role != "agent" => {
                store::set(&store.conn, key::TOKEN_ROLE, &role)?;
                let (message, local) = crate::i18n::both(
                    "init-reader-token",
                    &[("role", role.clone()), ("name", name.clone())],
                );
                Enrolment {
                    enrolled: false,
                    refused: false,
                    message,
                    local,
                }
            }
            Some((role, _)) => {
                store::set(&store.conn, key::TOKEN_ROLE, &role)?;
                enrol(store, &d)
            }
            None => enrol(store, &d),
        }),
        _ => None,
    };
    if json {
        output::json(&json!({
            "device_id": d.id,
            "device_name": d.name,
            "server": d.server_url,
            "token_set": d.token.is_some(),
            "database": store.path,
            "new_device": existing.is_none(),
            "enrolled": enrolment.as_ref().map(|e| e.enrolled),
            "enrolment": enrolment.as_ref().map(|e| e.message.clone()),
        }))?;
    } else {
        let title = if existing.is_none() {
            t!("init-set-up", name = d.name, id = device_id)
        } else {
            t!("init-updated", name = d.name, id = device_id)
        };
        let token = if d.token.is_some() {
            t!("init-token-set")
        } else {
            t!("init-token-not-set")
        };
        output::line(&format!(
            "{title}\n{}\n{}\n{}",
            t!(
                "status-server",
                server = d.server_url.clone().unwrap_or_else(|| t!("none"))
            ),
            token,
            t!("status-database", path = store.path.display())
        ))?;
        // A refusal is the warning below, on stderr.
        if let Some(e) = enrolment.as_ref().filter(|e| !e.refused) {
            output::line(&t!("init-enrolment", message = e.local))?;
        }
    }
    if let Some(e) = enrolment.as_ref().filter(|e| e.refused) {
        eprintln!("{}", output::warning(&e.local));
    }
    Ok(super::code(exit::OK))
}

/// The token's role and name as the server tells (`GET /api/v1/me`), or
/// `None` when it cannot be asked now (offline, an older server).
fn token_role(device: &store::Device) -> Option<(String, String)> {
    let me: super::report::Me = Client::quick(device)
        .and_then(|c| c.get_json(&t!("request-token"), "/api/v1/me"))
        .ok()?;
    Some((me.role, me.name))
}

/// Refuses flags that cannot set up the device (for a `new` one: the
/// server and name are needed), before anything is asked or written.
pub fn check(args: &InitArgs, new: bool) -> Result<(), CliError> {
    if new {
        let mut missing = Vec::new();
        if args.server.is_none() {
            missing.push(t!("init-flag-server"));
        }
        if args.device_name.is_none() {
            missing.push(t!("init-flag-device-name"));
        }
        if !missing.is_empty() {
            let flags = missing.join(&t!("list-and"));
            return Err(CliError::Input(t!("init-new-device", flags = flags)));
        }
    }
    if let Some(url) = &args.server {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| CliError::Input(t!("init-bad-server", url = url, detail = e)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CliError::Input(t!("init-server-scheme", url = url)));
        }
        crate::sync::tls::check_url(url, args.insecure)?;
    }
    if let Some(path) = &args.ca_cert {
        crate::sync::tls::load_ca(path.trim())?;
    }
    if let Some(name) = &args.device_name
        && name.trim().is_empty()
    {
        return Err(CliError::Input(t!("init-empty-name")));
    }
    Ok(())
}

/// Whether the server now knows this device under the token.
struct Enrolment {
    enrolled: bool,
    /// The server refused (another agent's device, a bad token): the
    /// agent must act before syncing.
    refused: bool,
    /// In English, as the JSON output says it.
    message: String,
    /// In the agent's language.
    local: String,
}

/// Reads the device's receipt once with the new token: the server binds a
/// device to the first token that reads its receipt or pushes for it, so
/// the device is the agent's from now on; then the deployment's replica
/// key, which only an enrolled device is given. One quick attempt.
fn enrol(store: &Store, device: &store::Device) -> Enrolment {
    let answer = Client::quick(device).and_then(|c| {
        c.device_status(device.id)?;
        let key = c.replica_key(device.id)?;
        replica::set_key(&store.conn, &key)
    });
    match answer {
        Ok(_) => {
            let (message, local) = both("init-enrolled", &[]);
            Enrolment {
                enrolled: true,
                refused: false,
                message,
                local,
            }
        }
        Err(CliError::Network(_)) => {
            let server = device.server_url.clone().unwrap_or_default();
            let (message, local) = both("init-not-yet", &[("server", server)]);
            Enrolment {
                enrolled: false,
                refused: false,
                message,
                local,
            }
        }
        Err(e) => {
            // The server's refusal was worded in the agent's language.
            let (message, local) = both("init-not-enrolled", &[("detail", e.to_string())]);
            Enrolment {
                enrolled: false,
                refused: true,
                message,
                local,
            }
        }
    }
}
