//! `sigap init`: configure this device.

use std::process::ExitCode;

use serde_json::json;
use uuid::Uuid;

use crate::cli::InitArgs;
use crate::error::{CliError, exit};
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
    }
    if let Some(name) = &args.device_name {
        store::set(&tx, key::DEVICE_NAME, name.trim())?;
    }
    if let Some(token) = &args.token {
        store::set(&tx, key::TOKEN, token.trim())?;
    }
    tx.commit()?;
    let d = store.device()?;
    // Everything is saved; enrolling is a bonus that may fail offline.
    let enrolment = match (&args.token, &d.server_url) {
        (Some(_), Some(_)) => Some(enrol(store, &d)),
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
        let verb = if existing.is_none() {
            "set up"
        } else {
            "updated"
        };
        output::line(&format!(
            "device {verb}: {} ({device_id})\nserver: {}\ntoken: {}\ndatabase: {}",
            d.name,
            d.server_url.as_deref().unwrap_or("(none)"),
            if d.token.is_some() {
                "set"
            } else {
                "not set (give --token or SIGAP_TOKEN before syncing)"
            },
            store.path.display()
        ))?;
        // A refusal is the warning below, on stderr.
        if let Some(e) = enrolment.as_ref().filter(|e| !e.refused) {
            output::line(&format!("enrolment: {}", e.message))?;
        }
    }
    if let Some(e) = enrolment.as_ref().filter(|e| e.refused) {
        eprintln!("warning: {}", e.message);
    }
    Ok(super::code(exit::OK))
}

/// Refuses flags that cannot set up the device (for a `new` one: the
/// server and name are needed), before anything is asked or written.
pub fn check(args: &InitArgs, new: bool) -> Result<(), CliError> {
    if new {
        let mut missing = Vec::new();
        if args.server.is_none() {
            missing.push("--server URL");
        }
        if args.device_name.is_none() {
            missing.push("--device-name NAME");
        }
        if !missing.is_empty() {
            return Err(CliError::Input(format!(
                "this device is new: give {} (e.g. sigap init --server https://sigap.example --device-name laptop-budi)",
                missing.join(" and ")
            )));
        }
    }
    if let Some(url) = &args.server {
        let parsed = reqwest::Url::parse(url.trim()).map_err(|e| {
            CliError::Input(format!(
                "--server {url:?} is not an address ({e}); write it like https://sigap.example"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CliError::Input(format!(
                "--server {url:?} must start with http:// or https://"
            )));
        }
    }
    if let Some(name) = &args.device_name
        && name.trim().is_empty()
    {
        return Err(CliError::Input("--device-name must not be empty".into()));
    }
    Ok(())
}

/// Whether the server now knows this device under the token.
struct Enrolment {
    enrolled: bool,
    /// The server refused (another agent's device, a bad token): the
    /// agent must act before syncing.
    refused: bool,
    message: String,
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
        Ok(_) => Enrolment {
            enrolled: true,
            refused: false,
            message: "enrolled: the server knows this device under your token".into(),
        },
        Err(CliError::Network(_)) => Enrolment {
            enrolled: false,
            refused: false,
            message: format!(
                "not yet: {} could not be reached; the first `sigap sync` enrols this device",
                device.server_url.as_deref().unwrap_or("the server")
            ),
        },
        Err(e) => Enrolment {
            enrolled: false,
            refused: true,
            message: format!("not enrolled: {e}"),
        },
    }
}
