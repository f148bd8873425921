//! `sigap sync`: push, pull, report. `--verify` checks delivery instead.

use std::process::ExitCode;

use crate::cli::SyncArgs;
use crate::error::exit;
use crate::output;
use crate::store::{self, Store, key, now_text, outbox, repair, replica};
use crate::sync::client::Client;
use crate::sync::{ClockCheck, Summary, pull, push, restore, verify};

pub fn run(store: &mut Store, args: SyncArgs, json: bool) -> anyhow::Result<ExitCode> {
    let device = store.device()?;
    let client = Client::new(&device)?;
    if args.verify {
        let r = verify::verify(store, &client, &device)?;
        if json {
            output::json(&r)?;
        } else if r.verified {
            output::line(&format!(
                "verified: the server holds {} change(s) from this device, hash matches",
                r.server_count
            ))?;
        } else {
            let mut text = format!(
                "differences found: the server holds {} change(s) from this device, this device counts {} answered",
                r.server_count, r.local_count
            );
            for d in &r.differences {
                text.push_str(&format!("\n  {d}"));
            }
            output::line(&text)?;
        }
        return Ok(super::code(if r.verified {
            exit::OK
        } else {
            exit::PARTIAL
        }));
    }
    let mut summary = Summary {
        server: client.base().to_string(),
        ..Summary::default()
    };
    store.relax_for_sync()?;
    // What the server holds from this device, and its clock, before
    // anything is sent. A device enrolled under another token is refused
    // here (exit 5).
    let status = client.device_status(device.id)?;
    summary.receipt = Some(status.receipt.clone());
    if let Some(skew) = client.clock_skew_ms() {
        let check = ClockCheck::new(skew, now_text());
        store::set(&store.conn, key::CLOCK_SKEW_MS, &skew.to_string())?;
        store::set(&store.conn, key::CLOCK_CHECKED_AT, &check.checked_at)?;
        if let Some(w) = &check.warning {
            eprintln!("warning: {w}");
        }
        summary.clock = Some(check);
    }
    // Numbers first: stamps are corrected only on changes numbered above
    // what the server holds.
    summary.restored = restore::check(store, &client, &device, &status.receipt)?;
    if let Some(r) = &summary.restored {
        eprintln!("{}", r.message);
    }
    // Only a clock the server confirms can correct stamps: one still
    // wrong would stamp them wrongly again.
    if summary.clock.as_ref().is_some_and(ClockCheck::agrees) {
        let wall = sigap_shared::hlc::wall_millis();
        let held = status.receipt.max_seq;
        summary.restamped = repair::restamp(&mut store.conn, device.id, wall, held)?.len() as u64;
    }
    summary.new_ids = repair::new_ids(&mut store.conn)? as u64;
    push::push_all(store, &client, &device, &mut summary)?;
    // Asked at every sync, after the push (nothing waits on it): a server
    // with another key (another deployment) empties the replica, which
    // the pull below fills again.
    let key = client.replica_key(device.id)?;
    replica::set_key(&store.conn, &key)?;
    if args.full || summary.restored.is_some() {
        // From the start, and without naming the device: persons only it
        // wrote come back too.
        store::set(&store.conn, key::PULL_CURSOR, "0")?;
        pull::pull_all(store, &client, None, &mut summary)?;
    } else {
        pull::pull_all(store, &client, Some(device.id), &mut summary)?;
    }
    store::set(&store.conn, key::LAST_SYNC_AT, &now_text())?;
    summary.pending_left = outbox::count_state(&store.conn, outbox::State::Pending)?;
    summary.waiting = outbox::count_waiting(&store.conn)?;
    summary.rejected_outstanding = outbox::count_outstanding_rejected(&store.conn)?;
    let refused_left = outbox::refused(&store.conn)?;
    summary.not_taken_left = refused_left.len() as i64;
    if json {
        output::json(&summary)?;
    } else {
        output::line(&report(&summary, &refused_left))?;
    }
    let done = summary.pending_left == 0 && summary.rejected_outstanding == 0;
    Ok(super::code(if done { exit::OK } else { exit::PARTIAL }))
}

/// The sync's report for people.
fn report(summary: &Summary, refused_left: &[outbox::ChangeRow]) -> String {
    let mut text = format!(
        "sync with {}: sent {} (applied {}, merged into existing persons {}, duplicates {}, rejected {}{}), received {}",
        summary.server,
        summary.sent,
        summary.applied,
        summary.merged,
        summary.duplicates,
        summary.rejected.len(),
        if summary.superseded.is_empty() {
            String::new()
        } else {
            format!(", superseded {}", summary.superseded.len())
        },
        summary.received
    );
    if summary.restamped > 0 {
        text.push_str(&format!(
            "\n  {} change(s) stamped again by the corrected clock (same ids and numbers)",
            summary.restamped
        ));
    }
    if summary.new_ids > 0 {
        text.push_str(&format!(
            "\n  {} change(s) sent again under a new id (the server held their old id elsewhere)",
            summary.new_ids
        ));
    }
    for r in &summary.rejected {
        text.push_str(&format!(
            "\n  rejected #{} {}: {} ({})",
            r.device_seq, r.nik, r.reason, r.code
        ));
    }
    for s in &summary.superseded {
        text.push_str(&format!(
            "\n  #{} {}: {} held differently on the server (changed by {}); see `sigap show {}`",
            s.device_seq,
            s.nik,
            s.fields.join(", "),
            s.by.join(", "),
            s.nik
        ));
    }
    for r in &summary.not_taken {
        text.push_str(&format!(
            "\n  not taken #{} {}: {} ({})",
            r.device_seq, r.nik, r.reason, r.code
        ));
    }
    if summary.rejected_outstanding > 0 {
        text.push_str(&format!(
            "\n{} rejected change(s) to correct: see `sigap status`, fix with `sigap edit NIK --FIELD VALUE`, then `sigap sync`",
            summary.rejected_outstanding
        ));
    }
    if !refused_left.is_empty() {
        let clock = refused_left
            .iter()
            .any(|c| c.reject_code.as_deref() == Some("clock_ahead"));
        text.push_str(&format!(
            "\n{} change(s) not taken by the server stay on this laptop (see `sigap status`); {}",
            refused_left.len(),
            if clock {
                "fix the laptop's clock (date, time and time zone), then run `sigap sync`: it stamps them again with the right time and sends them"
            } else {
                "run `sigap sync` again to repair and send them; if they are refused again, run `sigap sync --verify` and show the result to your supervisor"
            }
        ));
    }
    if summary.waiting > 0 {
        text.push_str(&format!(
            "\n{} change(s) still waiting for earlier ones: they stay on this laptop and go with the next `sigap sync` once the earlier ones are taken",
            summary.waiting
        ));
    }
    let unsent = summary.pending_left - summary.waiting - refused_left.len() as i64;
    if unsent > 0 {
        text.push_str(&format!(
            "\n{unsent} change(s) still pending: run `sigap sync` again"
        ));
    }
    text
}
