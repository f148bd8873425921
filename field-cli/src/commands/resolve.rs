//! `sigap resolve ID --keep FIELD=VALUE…`: a supervisor chooses the
//! identity values of a conflict; the server writes them as a change with
//! the supervisor as its author.

use std::process::ExitCode;

use serde_json::{Map, Value, json};

use crate::cli::ResolveArgs;
use crate::error::{CliError, exit};
use crate::i18n::t;
use crate::output;
use crate::store::Store;

/// The fields a resolution may set, as the server names them.
const FIELDS: [&str; 3] = ["name", "birth_date", "sex"];

pub fn run(store: &Store, args: ResolveArgs, json: bool) -> anyhow::Result<ExitCode> {
    if args.keep.is_empty() {
        return Err(CliError::Input(t!("resolve-no-keep")).into());
    }
    let mut fields = Map::new();
    for k in &args.keep {
        let (field, value) = k
            .split_once('=')
            .ok_or_else(|| CliError::Input(t!("resolve-keep-form", keep = format!("{k:?}"))))?;
        let field = field.trim().replace('-', "_");
        if !FIELDS.contains(&field.as_str()) {
            return Err(CliError::Input(t!(
                "resolve-keep-field",
                field = field,
                fields = FIELDS.join(", ")
            ))
            .into());
        }
        fields.insert(field, Value::String(value.trim().to_string()));
    }
    let client = super::server_client(store)?;
    let body = json!({ "fields": fields, "note": args.note });
    let raw: Value = client.post_json(
        &t!("request-resolve"),
        &format!("/api/v1/conflicts/{}/resolve", args.id),
        &body,
    )?;
    if json {
        output::json(&raw)?;
    } else {
        let c = &raw["conflict"];
        output::line(&t!(
            "resolve-done",
            id = c["id"],
            by = c["resolved_by"].as_str().unwrap_or(""),
            values = fields
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
    }
    Ok(super::code(exit::OK))
}
