//! `sigap status`: what is on this device.

use std::process::ExitCode;

use serde_json::json;

use crate::error::exit;
use crate::output;
use crate::store::{Store, key, outbox, records, replica};

pub fn run(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let c = &store.conn;
    let device = store.device_opt()?;
    let total = records::count(c)?;
    let pending = outbox::count_state(c, outbox::State::Pending)?;
    let acked = outbox::count_state(c, outbox::State::Acked)?;
    let rejected = outbox::outstanding_rejected(c)?;
    let refused = outbox::refused(c)?;
    let waiting = outbox::count_waiting(c)?;
    let last_sync = store.get(key::LAST_SYNC_AT)?;
    let replica_n = replica::count(c)?;
    let receipt = outbox::last_receipt(c)?;
    // The clock as the last sync found it: repeated offline until a sync
    // finds it right.
    let skew = store
        .get(key::CLOCK_SKEW_MS)?
        .and_then(|s| s.parse::<i64>().ok());
    let checked_at = store.get(key::CLOCK_CHECKED_AT)?;
    let clock_warning = skew.and_then(crate::sync::clock_differs).map(|d| {
        format!(
            "at the last sync ({}) this laptop's clock was {d} the server's: fix the laptop's clock (date, time and time zone)",
            checked_at.as_deref().unwrap_or("unknown")
        )
    });
    if json {
        output::json(&json!({
            "database": store.path,
            "device_id": device.as_ref().map(|d| d.id),
            "device_name": device.as_ref().map(|d| d.name.clone()),
            "server": device.as_ref().and_then(|d| d.server_url.clone()),
            "token_set": device.as_ref().is_some_and(|d| d.token.is_some()),
            "records": total,
            "pending_changes": pending,
            "acked_changes": acked,
            "rejected_changes": rejected.iter().map(|r| json!({
                "device_seq": r.device_seq,
                "nik": r.nik,
                "kind": r.kind,
                "code": r.reject_code,
                "reason": r.reject_reason,
            })).collect::<Vec<_>>(),
            // Refused without being held: still pending, sent again.
            "not_taken_changes": refused.iter().map(|r| json!({
                "device_seq": r.device_seq,
                "nik": r.nik,
                "kind": r.kind,
                "code": r.reject_code,
                "reason": r.reject_reason,
            })).collect::<Vec<_>>(),
            "waiting_changes": waiting,
            "last_sync_at": last_sync,
            "replica_persons": replica_n,
            "pull_cursor": store.get(key::PULL_CURSOR)?.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0),
            "last_receipt": receipt.as_ref().map(|(at, count, highest, hash)| json!({
                "received_at": at, "count": count, "highest_seq": highest, "hash": hash,
            })),
            "clock": skew.map(|s| json!({
                "skew_ms": s, "checked_at": checked_at, "warning": clock_warning,
            })),
        }))?;
        return Ok(super::code(exit::OK));
    }
    let mut lines = Vec::new();
    match &device {
        Some(d) => {
            lines.push(format!("device: {} ({})", d.name, d.id));
            lines.push(format!(
                "server: {}",
                d.server_url.as_deref().unwrap_or("(none)")
            ));
            if d.token.is_none() {
                lines.push("token: not set (run `sigap init --token TOKEN`)".into());
            }
        }
        None => lines
            .push("device: not set up (run `sigap init --server URL --device-name NAME`)".into()),
    }
    lines.push(format!("database: {}", store.path.display()));
    lines.push(format!("records: {total}"));
    lines.push(format!("pending changes: {pending}"));
    lines.push(format!("sent and accepted: {acked}"));
    lines.push(format!(
        "last successful sync: {}",
        last_sync.as_deref().unwrap_or("never")
    ));
    lines.push(format!("people known from the server: {replica_n}"));
    lines.push(format!("rejected changes to correct: {}", rejected.len()));
    for r in &rejected {
        lines.push(refusal_line(r));
    }
    if !rejected.is_empty() {
        lines.push(
            "  fix each with `sigap edit NIK --FIELD VALUE` (or `sigap void NIK --reason …`); the next `sigap sync` sends it again".into(),
        );
    }
    if !refused.is_empty() {
        lines.push(format!(
            "not taken by the server, kept here to send again: {}",
            refused.len()
        ));
        for r in &refused {
            lines.push(refusal_line(r));
        }
    }
    if waiting > 0 {
        lines.push(format!(
            "waiting for earlier changes: {waiting} (sent again by `sigap sync`)"
        ));
    }
    output::line(&lines.join("\n"))?;
    if let Some(w) = &clock_warning {
        eprintln!("warning: {w}");
    }
    Ok(super::code(exit::OK))
}

/// One refused change as `sigap status` lists it: number, kind, NIK, the
/// server's reason and code.
fn refusal_line(r: &outbox::ChangeRow) -> String {
    format!(
        "  #{} {} {}: {} ({})",
        r.device_seq,
        r.kind,
        r.nik,
        r.reject_reason.as_deref().unwrap_or(""),
        r.reject_code.as_deref().unwrap_or("")
    )
}
