//! `sigap sync`: push, pull, report. `--verify` checks delivery instead.

use std::process::ExitCode;

use crate::cli::SyncArgs;
use crate::error::exit;
use crate::output;
use crate::store::{self, Store, key, now_text, outbox};
use crate::sync::client::Client;
use crate::sync::{Summary, pull, push, verify};

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
    push::push_all(store, &client, &device, &mut summary)?;
    if args.full {
        // From the start, and without naming the device: persons only it
        // wrote come back too.
        store::set(&store.conn, key::PULL_CURSOR, "0")?;
        pull::pull_all(store, &client, None, &mut summary)?;
    } else {
        pull::pull_all(store, &client, Some(device.id), &mut summary)?;
    }
    store::set(&store.conn, key::LAST_SYNC_AT, &now_text())?;
    summary.pending_left = outbox::count_state(&store.conn, outbox::State::Pending)?;
    summary.rejected_outstanding = outbox::count_outstanding_rejected(&store.conn)?;
    if json {
        output::json(&summary)?;
    } else {
        let mut text = format!(
            "sync with {}: sent {} (applied {}, merged into existing persons {}, duplicates {}, rejected {}), received {}",
            summary.server,
            summary.sent,
            summary.applied,
            summary.merged,
            summary.duplicates,
            summary.rejected.len(),
            summary.received
        );
        for r in &summary.rejected {
            text.push_str(&format!(
                "\n  rejected #{} {}: {} ({})",
                r.device_seq, r.nik, r.reason, r.code
            ));
        }
        if summary.rejected_outstanding > 0 {
            text.push_str(&format!(
                "\n{} rejected change(s) to correct: see `sigap status`, fix with `sigap edit NIK --FIELD VALUE`, then `sigap sync`",
                summary.rejected_outstanding
            ));
        }
        if summary.pending_left > 0 {
            text.push_str(&format!(
                "\n{} change(s) still pending: run `sigap sync` again",
                summary.pending_left
            ));
        }
        output::line(&text)?;
    }
    let done = summary.pending_left == 0 && summary.rejected_outstanding == 0;
    Ok(super::code(if done { exit::OK } else { exit::PARTIAL }))
}
