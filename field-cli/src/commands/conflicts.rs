//! `sigap conflicts`: the identity disagreements a supervisor resolves,
//! both sides side by side.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::ConflictsArgs;
use crate::error::exit;
use crate::i18n::{n, t};
use crate::output;
use crate::store::Store;

pub fn run(store: &Store, args: ConflictsArgs, json: bool) -> anyhow::Result<ExitCode> {
    let client = super::server_client(store)?;
    let status = args.status.as_str();
    let raw: Value = client.get_json(
        &t!("request-conflicts"),
        &format!("/api/v1/conflicts?status={status}"),
    )?;
    if json {
        output::json(&raw)?;
        return Ok(super::code(exit::OK));
    }
    let list = raw["conflicts"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        output::line(&t!("conflicts-none", status = status))?;
        return Ok(super::code(exit::OK));
    }
    let mut t = output::table(&[
        t!("col-id"),
        "NIK".to_string(),
        "Kelurahan".to_string(),
        t!("col-field"),
        t!("col-existing"),
        t!("col-incoming"),
        t!("col-status"),
    ]);
    for c in &list {
        let fields: Vec<&str> = c["fields"]
            .as_array()
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let side = |s: &Value, f: &str| {
            let who = s["agent"]
                .as_str()
                .or_else(|| s["source"].as_str())
                .unwrap_or("");
            format!("{} ({who})", value_text(&s["fields"][f]))
        };
        let kel = c["kelurahan"]
            .as_str()
            .and_then(|k| sigap_shared::AreaCode::parse(k).ok())
            .map(|k| sigap_shared::wilayah::area_label(&k))
            .unwrap_or_default();
        for (i, f) in fields.iter().enumerate() {
            let first = i == 0;
            t.add_row(vec![
                if first {
                    c["id"].to_string()
                } else {
                    String::new()
                },
                if first {
                    value_text(&c["nik"])
                } else {
                    String::new()
                },
                if first { kel.clone() } else { String::new() },
                (*f).to_string(),
                side(&c["existing"], f),
                side(&c["incoming"], f),
                if first {
                    value_text(&c["status"])
                } else {
                    String::new()
                },
            ]);
        }
    }
    output::print_table(&t)?;
    output::line(&t!("conflicts-count", count = n(list.len())))?;
    Ok(super::code(exit::OK))
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
