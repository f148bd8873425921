//! `sigap lookup NIK`: is this person already registered? Offline.
//!
//! Answers from this device's own registrations first (in full: the agent
//! typed them), then from the replica of the last pull, which holds only
//! masked persons found by the NIK's lookup hash.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::LookupArgs;
use crate::error::exit;
use crate::i18n::t;
use crate::output;
use crate::store::{Store, key, records, replica};

pub fn run(store: &Store, args: LookupArgs, json: bool) -> anyhow::Result<ExitCode> {
    let nik = super::nik_arg(&args.nik)?;
    let local = records::get(&store.conn, &nik)?;
    let remote = replica::get(&store.conn, &nik)?;
    let synced = store.get(key::LAST_PULL_AT)?;
    let (answer, text) = if let Some(r) = &local {
        let name = r.fields().name.clone().unwrap_or_default();
        (
            "local",
            t!(
                "lookup-here",
                nik = nik,
                name = name,
                state = output::state_text(r.sync_state())
            ),
        )
    } else if let Some(p) = &remote {
        (
            if p.participant {
                "participant"
            } else if !replica::blocks_registration(p) {
                "voided"
            } else {
                "covered"
            },
            t!("lookup-known", nik = nik, known = replica::describe(p)),
        )
    } else {
        (
            "unknown",
            t!(
                "lookup-unknown",
                nik = nik,
                synced = synced.clone().unwrap_or_else(|| t!("never"))
            ),
        )
    };
    if json {
        output::json(&json!({
            "nik": nik,
            "answer": answer,
            "local": local.as_ref().map(|r| json!({
                "name": r.fields().name,
                "sync_state": r.sync_state(),
                "status": r.fields().status,
            })),
            // Masked: lookup hash, masked NIK and name, area, category.
            "replica": remote,
            "synced_at": synced,
        }))?;
    } else {
        output::line(&text)?;
    }
    Ok(super::code(exit::OK))
}
