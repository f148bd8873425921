//! `sigap sync`: push, pull, report. `--verify` checks delivery instead.

use std::process::ExitCode;

use crate::cli::SyncArgs;
use crate::error::exit;
use crate::i18n::{self, n, t};
use crate::output;
use crate::store::{self, Store, erasure, key, now_text, outbox, repair, replica};
use crate::sync::client::Client;
use crate::sync::{ClockCheck, RejectedChange, Summary, lost, pull, push, restore, verify, visits};

pub fn run(store: &mut Store, args: SyncArgs, json: bool) -> anyhow::Result<ExitCode> {
    let device = store.device()?;
    let client = Client::new(&device)?;
    if args.verify {
        let r = verify::verify(store, &client, &device)?;
        if json {
            output::json(&r)?;
        } else if r.verified {
            output::line(&t!("verify-ok", count = n(r.server_count)))?;
        } else {
            let mut text = t!(
                "verify-differs",
                server = n(r.server_count),
                local = n(r.local_count)
            );
            for d in &r.local_differences {
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
        if let Some(w) = ClockCheck::warning_in(i18n::lang(), skew) {
            eprintln!("{}", output::warning(&w));
        }
        summary.clock = Some(check);
    }
    // Numbers first: stamps are corrected only on changes numbered above
    // what the server holds.
    summary.restored = restore::check(store, &client, &device, &status.receipt)?;
    if let Some(r) = &summary.restored {
        eprintln!("{}", r.local);
    }
    summary.resent_lost = lost::resend(store, &status.receipt)?;
    if summary.resent_lost > 0 {
        eprintln!("{}", t!("sync-server-lost", count = n(summary.resent_lost)));
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
    summary.visits = visits::send_all(store, &client, &device)?;
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
    // A change written before an erasure pulled earlier, sent only now:
    // the erasure won over it on the server; it goes here too.
    summary.erased += erasure::reapply(
        &mut store.conn,
        summary.superseded.iter().map(|s| s.nik.as_str()),
    )?;
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
    let superseded = if summary.superseded.is_empty() {
        String::new()
    } else {
        t!("sync-superseded-count", count = n(summary.superseded.len()))
    };
    let mut text = t!(
        "sync-report",
        server = summary.server,
        sent = n(summary.sent),
        applied = n(summary.applied),
        merged = n(summary.merged),
        duplicates = n(summary.duplicates),
        rejected = n(summary.rejected.len()),
        superseded = superseded,
        received = n(summary.received)
    );
    let mut more = |line: String| {
        text.push('\n');
        text.push_str(&line);
    };
    if summary.restamped > 0 {
        more(format!(
            "  {}",
            t!("sync-restamped", count = n(summary.restamped))
        ));
    }
    if summary.new_ids > 0 {
        more(format!(
            "  {}",
            t!("sync-new-ids", count = n(summary.new_ids))
        ));
    }
    if summary.visits.synced > 0 {
        more(format!(
            "  {}",
            t!("sync-visits-sent", count = n(summary.visits.synced))
        ));
    }
    if summary.erased > 0 {
        more(format!(
            "  {}",
            t!("sync-erased", count = n(summary.erased))
        ));
    }
    if summary.visits.kept_for_newer_server > 0 {
        more(format!(
            "  {}",
            t!(
                "sync-visits-kept",
                count = n(summary.visits.kept_for_newer_server)
            )
        ));
    }
    for r in &summary.visits.refused {
        let line = t!("sync-visit-refused", reason = r.to_string());
        more("  ".to_string() + &line);
    }
    let reason = |r: &RejectedChange| i18n::issues::rejection(i18n::lang(), &r.code, &r.reason);
    for r in &summary.rejected {
        more(format!(
            "  {}",
            t!(
                "sync-rejected-line",
                seq = r.device_seq,
                nik = r.nik,
                reason = reason(r),
                code = r.code
            )
        ));
    }
    for s in &summary.superseded {
        more(format!(
            "  {}",
            t!(
                "sync-superseded-line",
                seq = s.device_seq,
                nik = s.nik,
                fields = s.fields.join(", "),
                by = s.by.join(", ")
            )
        ));
    }
    for r in &summary.not_taken {
        more(format!(
            "  {}",
            t!(
                "sync-not-taken-line",
                seq = r.device_seq,
                nik = r.nik,
                reason = reason(r),
                code = r.code
            )
        ));
    }
    if summary.rejected_outstanding > 0 {
        more(t!(
            "sync-rejected-left",
            count = n(summary.rejected_outstanding)
        ));
    }
    if !refused_left.is_empty() {
        let clock = refused_left
            .iter()
            .any(|c| c.reject_code.as_deref() == Some("clock_ahead"));
        let count = n(refused_left.len());
        more(if clock {
            t!("sync-not-taken-left-clock", count = count)
        } else {
            t!("sync-not-taken-left", count = count)
        });
    }
    if summary.waiting > 0 {
        more(t!("sync-waiting-left", count = n(summary.waiting)));
    }
    let unsent = summary.pending_left - summary.waiting - refused_left.len() as i64;
    if unsent > 0 {
        more(t!("sync-pending-left", count = n(unsent)));
    }
    text
}
