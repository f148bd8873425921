//! `sigap show NIK`: one registration, and its history.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::ShowArgs;
use crate::error::{CliError, exit};
use crate::output;
use crate::store::outbox::{self, ChangeRow};
use crate::store::records::{self, RecordView};
use crate::store::{Store, replica};

pub fn run(store: &Store, args: ShowArgs, json: bool) -> anyhow::Result<ExitCode> {
    let nik = super::nik_arg(&args.nik)?;
    let Some(rec) = records::get(&store.conn, &nik)? else {
        let msg = match replica::get(&store.conn, &nik)? {
            Some(p) => format!(
                "NIK {nik} is not registered on this device; it {}",
                replica::describe(&p)
            ),
            None => format!("NIK {nik} is not registered on this device"),
        };
        return Err(CliError::Input(msg).into());
    };
    let history = if args.history {
        outbox::history(&store.conn, &nik)?
    } else {
        Vec::new()
    };
    let v = RecordView::of(&rec);
    if json {
        let mut value = serde_json::to_value(&v)?;
        if args.history {
            value["history"] = json!(history);
        }
        output::json(&value)?;
        return Ok(super::code(exit::OK));
    }
    let area = rec
        .fields()
        .address_area()
        .map(|a| sigap_shared::wilayah::area_label(&a))
        .unwrap_or_default();
    let mut t = output::table(&["Field", "Value"]);
    for (k, val) in [
        ("NIK", v.nik.clone()),
        ("Name", v.name.clone()),
        ("Birth date", v.birth_date.clone()),
        ("Sex", v.sex.clone()),
        ("Address", area),
        ("Category", v.category.clone()),
        ("Occupation", v.occupation.clone()),
        ("Employer", v.employer.clone()),
        ("Phone", v.phone.clone()),
        ("Programmes", v.programs.clone()),
        (
            "Status",
            if v.void_reason.is_empty() {
                v.status.clone()
            } else {
                format!("{} ({})", v.status, v.void_reason)
            },
        ),
        ("Sync", v.sync_state.clone()),
        ("Registered", v.created_at.clone()),
        ("Last change", v.updated_at.clone()),
    ] {
        t.add_row([k.to_string(), val]);
    }
    output::print_table(&t)?;
    for w in &rec.warnings {
        output::line(&format!("warning: {w}"))?;
    }
    if args.history {
        let mut h = output::table(&["#", "Kind", "When", "Fields", "State"]);
        for c in &history {
            h.add_row([
                c.device_seq.to_string(),
                c.kind.clone(),
                c.created_at.clone(),
                written(c),
                state_text(c),
            ]);
        }
        output::print_table(&h)?;
    }
    Ok(super::code(exit::OK))
}

fn written(c: &ChangeRow) -> String {
    match c.fields.as_object() {
        Some(m) => m
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        None => String::new(),
    }
}

pub fn state_text(c: &ChangeRow) -> String {
    match c.state.as_str() {
        "rejected" => {
            let base = format!(
                "rejected: {} ({})",
                c.reject_reason.as_deref().unwrap_or(""),
                c.reject_code.as_deref().unwrap_or("")
            );
            match c.superseded_by {
                Some(s) => format!("{base}; corrected by #{s}"),
                None => base,
            }
        }
        "acked" => format!("sent: {}", c.outcome.as_deref().unwrap_or("applied")),
        "pending" if c.reject_code.is_some() => format!(
            "not taken: {} ({}); sent again by `sigap sync`",
            c.reject_reason.as_deref().unwrap_or(""),
            c.reject_code.as_deref().unwrap_or("")
        ),
        "pending" if c.outcome.as_deref() == Some("pending") => {
            "pending: waits for earlier changes".to_string()
        }
        other => other.to_string(),
    }
}
