//! `sigap doctor`: is this laptop ready for the field and for the office?
//! Checks the database, the changes waiting or refused, how old the
//! replica is, and (when a connection is there) the server, its HTTPS and
//! the laptop's clock; ends with one verdict. Exit 0 when everything is
//! fine, 1 when something needs the agent.

use std::process::ExitCode;

use serde::Serialize;
use serde_json::json;

use crate::error::exit;
use crate::i18n::{n, t};
use crate::output;
use crate::store::{Store, key, outbox};
use crate::sync::client::Client;

/// Days after which a replica is too old to trust offline lookups.
const STALE_REPLICA_DAYS: i64 = 7;

#[derive(Serialize)]
struct Check {
    check: &'static str,
    ok: bool,
    /// In English, for scripts.
    detail: String,
    #[serde(skip)]
    local: String,
}

fn check(name: &'static str, ok: bool, id: &str, args: &[(&str, String)]) -> Check {
    let (detail, local) = crate::i18n::both(id, args);
    Check {
        check: name,
        ok,
        detail,
        local,
    }
}

pub fn run(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let mut checks = Vec::new();
    let c = &store.conn;

    let integrity: String = c.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    checks.push(if integrity == "ok" {
        check("database", true, "doctor-db-ok", &[])
    } else {
        check("database", false, "doctor-db-bad", &[("detail", integrity)])
    });

    let pending = outbox::count_state(c, outbox::State::Pending)?;
    let rejected = outbox::outstanding_rejected(c)?.len();
    checks.push(check(
        "changes",
        rejected == 0,
        if rejected == 0 {
            "doctor-changes-ok"
        } else {
            "doctor-changes-rejected"
        },
        &[("pending", n(pending)), ("rejected", n(rejected))],
    ));

    let pulled = store.get(key::LAST_PULL_AT)?.and_then(|t| {
        time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
    });
    checks.push(match pulled {
        None => check("replica", false, "doctor-replica-never", &[]),
        Some(at) => {
            let days = (time::OffsetDateTime::now_utc() - at).whole_days();
            check(
                "replica",
                days <= STALE_REPLICA_DAYS,
                if days <= STALE_REPLICA_DAYS {
                    "doctor-replica-ok"
                } else {
                    "doctor-replica-stale"
                },
                &[("days", n(days))],
            )
        }
    });

    match store.device_opt()? {
        Some(device) if device.server_url.is_some() => {
            checks.extend(server_checks(&device));
        }
        _ => checks.push(check("server", false, "doctor-no-server", &[])),
    }

    let healthy = checks.iter().all(|c| c.ok);
    if json {
        output::json(&json!({"healthy": healthy, "checks": checks}))?;
    } else {
        for c in &checks {
            output::line(&format!("{} {}", if c.ok { "✓" } else { "✗" }, c.local))?;
        }
        let verdict = if healthy {
            t!("doctor-verdict-ok")
        } else {
            t!("doctor-verdict-bad")
        };
        output::line(&verdict)?;
    }
    Ok(super::code(if healthy { exit::OK } else { exit::PARTIAL }))
}

/// The server answers, over HTTPS (or plain http to this laptop, or as
/// allowed), and the laptop's clock agrees with it.
fn server_checks(device: &crate::store::Device) -> Vec<Check> {
    let url = device.server_url.clone().unwrap_or_default();
    let secure = url.starts_with("https://")
        || reqwest::Url::parse(&url).is_ok_and(|u| crate::sync::tls::is_loopback(&u));
    let mut out = vec![check(
        "tls",
        secure,
        if secure {
            "doctor-tls-ok"
        } else {
            "doctor-tls-plain"
        },
        &[("server", url.clone())],
    )];
    let answer = Client::quick(device).and_then(|client| {
        client.get_json::<serde_json::Value>(&t!("request-health"), "/healthz")?;
        Ok(client.clock_skew_ms())
    });
    match answer {
        Ok(skew) => {
            out.push(check(
                "server",
                true,
                "doctor-server-ok",
                &[("server", url)],
            ));
            let off = skew.and_then(|s| crate::sync::clock_differs(crate::i18n::lang(), s));
            out.push(match off {
                None => check("clock", true, "doctor-clock-ok", &[]),
                Some(d) => check("clock", false, "doctor-clock-off", &[("differs", d)]),
            });
        }
        Err(e) => out.push(check(
            "server",
            false,
            "doctor-server-unreachable",
            &[("server", url), ("detail", e.to_string())],
        )),
    }
    out
}
