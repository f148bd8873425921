//! `sigap show NIK`: one registration, and its history.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::ShowArgs;
use crate::error::{CliError, exit};
use crate::output;
use std::collections::BTreeMap;

use serde::Serialize;
use sigap_shared::wire::PersonState;
use sigap_shared::{Field, mask_name};

use crate::store::outbox::{self, ChangeRow};
use crate::store::records::{self, LocalRecord, RecordView};
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
    // The whole history is read either way: it says which fields the
    // server answered it holds differently.
    let history = outbox::history(&store.conn, &nik)?;
    let remote = replica::get(&store.conn, &nik)?;
    let marks = held_differently(&rec, &history, remote.as_ref());
    let v = RecordView::of(&rec);
    if json {
        let mut value = serde_json::to_value(&v)?;
        value["held_differently"] = json!(marks);
        if args.history {
            value["history"] = json!(history);
        }
        output::json(&value)?;
        return Ok(super::code(exit::OK));
    }
    let mark = |fields: &[Field]| -> String {
        let ours: Vec<&Mark> = marks.iter().filter(|m| fields.contains(&m.field)).collect();
        if ours.is_empty() {
            return String::new();
        }
        let values: Vec<String> = ours.iter().filter_map(|m| m.shown_value()).collect();
        let mut by: Vec<&str> = ours
            .iter()
            .flat_map(|m| m.changed_by.iter().map(String::as_str))
            .collect();
        by.dedup();
        // The pulled person names only its latest writer, who may have
        // written another field: said as such, not as this field's.
        let who = match (
            by.is_empty(),
            ours.iter()
                .find_map(|m| m.person_last_changed_by.as_deref()),
        ) {
            (false, _) => format!(" (changed by {})", by.join(", ")),
            (true, Some(last)) => format!(" (the person's latest change: {last})"),
            (true, None) => String::new(),
        };
        format!(
            "\n! held differently on the server{}{who}",
            if values.is_empty() {
                String::new()
            } else {
                format!(": {}", values.join(", "))
            },
        )
    };
    let area = rec
        .fields()
        .address_area()
        .map(|a| sigap_shared::wilayah::area_label(&a))
        .unwrap_or_default();
    let mut t = output::table(&["Field", "Value"]);
    for (k, val) in [
        ("NIK", v.nik.clone()),
        ("Name", v.name.clone() + &mark(&[Field::Name])),
        (
            "Birth date",
            v.birth_date.clone() + &mark(&[Field::BirthDate]),
        ),
        ("Sex", v.sex.clone() + &mark(&[Field::Sex])),
        (
            "Address",
            area + &mark(&[Field::Kelurahan, Field::Rw, Field::Rt]),
        ),
        ("Category", v.category.clone() + &mark(&[Field::Category])),
        (
            "Occupation",
            v.occupation.clone() + &mark(&[Field::Occupation]),
        ),
        ("Employer", v.employer.clone() + &mark(&[Field::Employer])),
        ("Phone", v.phone.clone() + &mark(&[Field::Phone])),
        ("Programmes", v.programs.clone() + &mark(&[Field::Programs])),
        (
            "Status",
            if v.void_reason.is_empty() {
                v.status.clone()
            } else {
                format!("{} ({})", v.status, v.void_reason)
            } + &mark(&[Field::Status, Field::VoidReason]),
        ),
        ("Sync", v.sync_state.clone()),
        ("Registered", v.created_at.clone()),
        ("Last change", v.updated_at.clone()),
    ] {
        t.add_row([k.to_string(), val]);
    }
    output::print_table(&t)?;
    if !marks.is_empty() {
        output::line(
            "! the server keeps what others wrote later for these fields; ask your supervisor if this record is wrong",
        )?;
    }
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

/// A field of this device's record that the server holds differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    pub field: Field,
    /// The server's value when the replica holds it (the name masked, as
    /// the replica keeps it); none when only the push's answer said so.
    pub server_value: Option<String>,
    /// Who wrote what the server holds (from the push's answer).
    pub changed_by: Vec<String>,
    /// Who made the person's latest write (from the pulled person): it
    /// may have been a write of another field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_last_changed_by: Option<String>,
}

impl Mark {
    fn shown_value(&self) -> Option<String> {
        let v = self.server_value.as_ref()?;
        Some(match self.field {
            Field::Kelurahan => sigap_shared::AreaCode::parse(v)
                .map(|k| sigap_shared::wilayah::area_label(&k))
                .unwrap_or_else(|_| v.clone()),
            Field::Rw => format!("RW {v}"),
            Field::Rt => format!("RT {v}"),
            _ => v.clone(),
        })
    }
}

/// The fields of `rec` the server holds differently: those the push's
/// answer named (`superseded`), and, after a pull, those where the
/// replica's person differs from the record. A field this device wrote
/// again since (still unsent or set aside) is not marked: the server has
/// not seen that write yet. Shows nothing beyond what the replica holds.
pub fn held_differently(
    rec: &LocalRecord,
    history: &[ChangeRow],
    remote: Option<&PersonState>,
) -> Vec<Mark> {
    // The latest change of this device that wrote each field.
    let mut latest: BTreeMap<Field, &ChangeRow> = BTreeMap::new();
    for c in history {
        for key in c.fields.as_object().into_iter().flat_map(|m| m.keys()) {
            if let Ok(f) = serde_json::from_value::<Field>(serde_json::Value::String(key.clone())) {
                latest.insert(f, c);
            }
        }
    }
    let answered = |f: Field| latest.get(&f).is_none_or(|c| c.state == "acked");
    let mut marks: BTreeMap<Field, Mark> = BTreeMap::new();
    for (f, c) in &latest {
        let Some(held) = c.held_differently.as_ref().filter(|_| c.state == "acked") else {
            continue;
        };
        let named = held["fields"]
            .as_array()
            .is_some_and(|fs| fs.iter().any(|x| x.as_str() == Some(f.as_str())));
        if named {
            let by = held["by"]
                .as_array()
                .map(|b| {
                    b.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            marks.insert(
                *f,
                Mark {
                    field: *f,
                    server_value: None,
                    changed_by: by,
                    person_last_changed_by: None,
                },
            );
        }
    }
    if let Some(p) = remote {
        let f = rec.fields();
        let status = |s: Option<sigap_shared::Status>, reason: Option<&str>| {
            s.map(|s| match reason.filter(|r| !r.is_empty()) {
                Some(r) if s == sigap_shared::Status::Void => format!("{s} ({r})"),
                _ => s.to_string(),
            })
        };
        let pairs = [
            (
                Field::Name,
                p.name_masked.clone(),
                f.name.as_deref().map(mask_name),
            ),
            (
                Field::Kelurahan,
                p.kelurahan.map(|k| k.to_string()),
                f.kelurahan.map(|k| k.to_string()),
            ),
            (
                Field::Rw,
                p.rw.map(|v| v.to_string()),
                f.rw.map(|v| v.to_string()),
            ),
            (
                Field::Rt,
                p.rt.map(|v| v.to_string()),
                f.rt.map(|v| v.to_string()),
            ),
            (
                Field::Category,
                p.category.map(|c| c.to_string()),
                f.category.map(|c| c.to_string()),
            ),
            (
                Field::Status,
                status(p.status, p.void_reason.as_deref()),
                status(f.status, f.void_reason.as_deref()),
            ),
        ];
        for (field, server, local) in pairs {
            let Some(server) = server else { continue };
            if Some(&server) == local.as_ref() || !answered(field) {
                continue;
            }
            marks
                .entry(field)
                .and_modify(|m| m.server_value = Some(server.clone()))
                .or_insert(Mark {
                    field,
                    server_value: Some(server),
                    changed_by: Vec::new(),
                    person_last_changed_by: p.last_changed_by.clone(),
                });
        }
    }
    marks.into_values().collect()
}
