//! `sigap resolve ID --keep FIELD=VALUE…`: a supervisor chooses the
//! identity values of a conflict; the server writes them as a change with
//! the supervisor as its author.

use std::process::ExitCode;

use serde_json::{Map, Value, json};

use crate::cli::ResolveArgs;
use crate::error::{CliError, exit};
use crate::output;
use crate::store::Store;

/// The fields a resolution may set, as the server names them.
const FIELDS: [&str; 3] = ["name", "birth_date", "sex"];

pub fn run(store: &Store, args: ResolveArgs, json: bool) -> anyhow::Result<ExitCode> {
    if args.keep.is_empty() {
        return Err(CliError::Input(
            "say which values to keep, e.g. --keep name=\"Budi Santoso\" --keep birth_date=1985-03-12".into(),
        )
        .into());
    }
    let mut fields = Map::new();
    for k in &args.keep {
        let (field, value) = k.split_once('=').ok_or_else(|| {
            CliError::Input(format!(
                "--keep {k:?} must be FIELD=VALUE, e.g. --keep name=\"Budi Santoso\""
            ))
        })?;
        let field = field.trim().replace('-', "_");
        if !FIELDS.contains(&field.as_str()) {
            return Err(CliError::Input(format!(
                "--keep {field}: a conflict is about identity; keep one of {}",
                FIELDS.join(", ")
            ))
            .into());
        }
        fields.insert(field, Value::String(value.trim().to_string()));
    }
    let client = super::server_client(store)?;
    let body = json!({ "fields": fields, "note": args.note });
    let raw: Value = client.post_json(
        "resolve",
        &format!("/api/v1/conflicts/{}/resolve", args.id),
        &body,
    )?;
    if json {
        output::json(&raw)?;
    } else {
        let c = &raw["conflict"];
        output::line(&format!(
            "conflict {} resolved by {}: {}",
            c["id"],
            c["resolved_by"].as_str().unwrap_or(""),
            fields
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
    }
    Ok(super::code(exit::OK))
}
