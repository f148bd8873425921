//! `sigap show NIK`: one registration, and its history.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::ShowArgs;
use crate::error::{CliError, exit};
use crate::i18n::{self, t};
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
            Some(p) => t!(
                "show-not-here-known",
                nik = nik,
                known = replica::describe(&p)
            ),
            None => t!("show-not-here", nik = nik),
        };
        return Err(CliError::Input(msg).into());
    };
    // The whole history is read either way: it says which fields the
    // server answered it holds differently.
    let history = outbox::history(&store.conn, &nik)?;
    let remote = replica::get(&store.conn, &nik)?;
    let marks = held_differently(&rec, &history, remote.as_ref());
    let v = RecordView::of(&rec);
    // Set when an admin erased the person's personal data on the server
    // (this device's copy was overwritten by the pull that said so).
    let erased_at = remote.as_ref().and_then(|p| p.erased_at);
    if json {
        let mut value = serde_json::to_value(&v)?;
        value["held_differently"] = json!(marks);
        if let Some(at) = erased_at {
            value["erased_on_server_at"] = json!(millis_text(at));
        }
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
            (false, _) => t!("show-changed-by", by = by.join(", ")),
            (true, Some(last)) => t!("show-latest-change", by = last),
            (true, None) => String::new(),
        };
        let held = if values.is_empty() {
            t!("show-held-differently")
        } else {
            t!("show-held-differently-as", values = values.join(", "))
        };
        format!("\n! {held}{who}")
    };
    let area = rec
        .fields()
        .address_area()
        .map(|a| sigap_shared::wilayah::area_label(&a))
        .unwrap_or_default();
    let birth_date = rec
        .fields()
        .birth_date
        .map(|d| i18n::lang().date(d))
        .unwrap_or_else(|| v.birth_date.clone());
    let status = output::status_text(&v.status);
    let mut table = output::table(&[t!("col-field"), t!("col-value")]);
    for (k, val) in [
        (t!("col-nik"), v.nik.clone()),
        (t!("col-name"), v.name.clone() + &mark(&[Field::Name])),
        (
            t!("col-birth-date"),
            birth_date + &mark(&[Field::BirthDate]),
        ),
        (t!("col-sex"), v.sex.clone() + &mark(&[Field::Sex])),
        (
            t!("col-address"),
            area + &mark(&[Field::Kelurahan, Field::Rw, Field::Rt]),
        ),
        (
            t!("col-category"),
            v.category.clone() + &mark(&[Field::Category]),
        ),
        (
            t!("col-occupation"),
            v.occupation.clone() + &mark(&[Field::Occupation]),
        ),
        (
            t!("col-employer"),
            v.employer.clone() + &mark(&[Field::Employer]),
        ),
        (t!("col-phone"), v.phone.clone() + &mark(&[Field::Phone])),
        (
            t!("col-programs"),
            v.programs.clone() + &mark(&[Field::Programs]),
        ),
        (
            t!("col-status"),
            if v.void_reason.is_empty() {
                status
            } else {
                format!("{status} ({})", v.void_reason)
            } + &mark(&[Field::Status, Field::VoidReason]),
        ),
        (t!("col-sync"), output::state_text(&v.sync_state)),
        (t!("col-registered-at"), output::timestamp(&v.created_at)),
        (t!("col-last-change"), output::timestamp(&v.updated_at)),
    ] {
        table.add_row([k, val]);
    }
    output::print_table(&table)?;
    if !marks.is_empty() {
        output::line(&format!("! {}", t!("show-server-keeps")))?;
    }
    if let Some(at) = erased_at {
        let date = output::date_of_millis_in(i18n::lang(), at);
        output::line(&format!("! {}", t!("show-erased", date = date)))?;
    }
    for w in &rec.warnings {
        output::line(&output::warning(&i18n::issues::line(i18n::lang(), w)))?;
    }
    if args.history {
        let mut h = output::table(&[
            "#".to_string(),
            t!("col-kind"),
            t!("col-when"),
            t!("col-fields"),
            t!("col-state"),
        ]);
        for c in &history {
            h.add_row([
                c.device_seq.to_string(),
                kind_text(&c.kind),
                output::timestamp(&c.created_at),
                written(c),
                state_text(c),
            ]);
        }
        output::print_table(&h)?;
    }
    Ok(super::code(exit::OK))
}

/// Unix milliseconds as an RFC 3339 time (UTC, to the second), as the
/// JSON output writes times.
fn millis_text(millis: u64) -> String {
    let secs = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
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

/// A change's kind (`register`, `edit`, `void`) in the agent's language.
pub fn kind_text(kind: &str) -> String {
    match kind {
        "register" => t!("kind-register"),
        "edit" => t!("kind-edit"),
        "void" => t!("kind-void"),
        other => other.to_string(),
    }
}

/// The server's refusal of `c`: its reason in the agent's language, and
/// its code.
pub fn refusal(c: &ChangeRow) -> (String, String) {
    let code = c.reject_code.clone().unwrap_or_default();
    let reason = i18n::issues::rejection(
        i18n::lang(),
        &code,
        c.reject_reason.as_deref().unwrap_or(""),
    );
    (reason, code)
}

pub fn state_text(c: &ChangeRow) -> String {
    match c.state.as_str() {
        "rejected" => {
            let (reason, code) = refusal(c);
            let base = t!("change-rejected", reason = reason, code = code);
            match c.superseded_by {
                Some(s) => t!("change-corrected-by", state = base, seq = s),
                None => base,
            }
        }
        "acked" => t!(
            "change-sent",
            outcome = outcome_text(c.outcome.as_deref().unwrap_or("applied"))
        ),
        "pending" if c.reject_code.is_some() => {
            let (reason, code) = refusal(c);
            t!("change-not-taken", reason = reason, code = code)
        }
        "pending" if c.outcome.as_deref() == Some("pending") => t!("change-waiting"),
        "pending" => t!("state-pending"),
        other => other.to_string(),
    }
}

/// The server's answer to a change (`applied`, `merged`…) in the agent's
/// language.
fn outcome_text(outcome: &str) -> String {
    match outcome {
        "applied" => t!("outcome-applied"),
        "merged" => t!("outcome-merged"),
        "duplicate" => t!("outcome-duplicate"),
        "superseded" => t!("outcome-superseded"),
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
