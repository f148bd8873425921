//! `sigap status`: what is on this device.

use std::process::ExitCode;

use serde_json::json;

use crate::error::exit;
use crate::i18n::{self, t};
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
    let clock_warning = |lang| {
        skew.and_then(|s| crate::sync::clock_differs(lang, s))
            .map(|d| {
                i18n::text(
                    lang,
                    "status-clock",
                    &[
                        ("at", checked_at.clone().unwrap_or_else(|| "?".into())),
                        ("differs", d),
                    ],
                )
            })
    };
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
                "skew_ms": s, "checked_at": checked_at,
                // English, as every text of the JSON output.
                "warning": clock_warning(sigap_shared::Lang::En),
            })),
        }))?;
        return Ok(super::code(exit::OK));
    }
    let mut lines = Vec::new();
    match &device {
        Some(d) => {
            lines.push(t!("status-device", name = d.name, id = d.id));
            lines.push(t!(
                "status-server",
                server = d.server_url.clone().unwrap_or_else(|| t!("none"))
            ));
            if d.token.is_none() {
                lines.push(t!("status-no-token"));
            }
        }
        None => lines.push(t!("status-no-device")),
    }
    lines.push(t!("status-database", path = store.path.display()));
    lines.push(t!("status-records", count = i18n::n(total)));
    lines.push(t!("status-pending", count = i18n::n(pending)));
    lines.push(t!("status-acked", count = i18n::n(acked)));
    lines.push(t!(
        "status-last-sync",
        at = last_sync.clone().unwrap_or_else(|| t!("never"))
    ));
    lines.push(t!("status-replica", count = i18n::n(replica_n)));
    lines.push(t!("status-rejected", count = i18n::n(rejected.len())));
    for r in &rejected {
        lines.push(refusal_line(r));
    }
    if !rejected.is_empty() {
        lines.push(format!("  {}", t!("status-rejected-fix")));
    }
    if !refused.is_empty() {
        lines.push(t!("status-not-taken", count = i18n::n(refused.len())));
        for r in &refused {
            lines.push(refusal_line(r));
        }
    }
    if waiting > 0 {
        lines.push(t!("status-waiting", count = i18n::n(waiting)));
    }
    output::line(&lines.join("\n"))?;
    if let Some(w) = clock_warning(i18n::lang()) {
        eprintln!("{}", output::warning(&w));
    }
    Ok(super::code(exit::OK))
}

/// One refused change as `sigap status` lists it: number, kind, NIK, the
/// server's reason and code.
fn refusal_line(r: &outbox::ChangeRow) -> String {
    let (reason, code) = super::show::refusal(r);
    format!(
        "  #{} {} {}: {reason} ({code})",
        r.device_seq,
        super::show::kind_text(&r.kind),
        r.nik,
    )
}
