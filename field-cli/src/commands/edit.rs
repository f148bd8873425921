//! `sigap edit` and `sigap void`: changes to a registration.

use std::process::ExitCode;

use serde_json::json;
use sigap_shared::{ChangeKind, Fields, Nik, Status};

use crate::cli::{EditArgs, VoidArgs};
use crate::error::{CliError, exit};
use crate::fields::{RawFields, Typed, today};
use crate::i18n::t;
use crate::output;
use crate::store::writer::Writer;
use crate::store::{Store, replica};

pub fn run(store: &mut Store, args: EditArgs, json: bool) -> anyhow::Result<ExitCode> {
    let nik = super::nik_arg(&args.nik)?;
    let raw = RawFields::from_args(None, &args.fields);
    let fields = raw.parse_fields().map_err(|issues| CliError::Invalid {
        what: t!("what-change"),
        issues,
    })?;
    if fields.written().is_empty() {
        return Err(CliError::Input(t!("edit-nothing")).into());
    }
    write_edit(store, &nik, fields, ChangeKind::Edit, json)
}

pub fn void(store: &mut Store, args: VoidArgs, json: bool) -> anyhow::Result<ExitCode> {
    let nik = super::nik_arg(&args.nik)?;
    if args.reason.trim().is_empty() {
        return Err(CliError::Input(t!("void-no-reason")).into());
    }
    let fields = Fields {
        status: Some(Status::Void),
        void_reason: Some(args.reason.trim().to_string()),
        ..Default::default()
    };
    write_edit(store, &nik, fields, ChangeKind::Void, json)
}

/// Applies `fields` to the record of `nik` as one change. When the server
/// rejected an earlier change of this person, the new change re-sends the
/// whole record (as a `register`) and marks the rejected ones corrected.
pub fn write_edit(
    store: &mut Store,
    nik: &Nik,
    fields: Fields,
    kind: ChangeKind,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let device = store.device()?;
    let known_remotely = replica::get(&store.conn, nik)?;
    let mut w = Writer::begin(&mut store.conn, device.id)?;
    let Some(current) = w.record(nik)? else {
        let hint = match known_remotely {
            Some(p) => t!(
                "edit-not-here-known",
                nik = nik,
                known = replica::describe(&p)
            ),
            None => t!("edit-not-here", nik = nik),
        };
        return Err(CliError::Input(hint).into());
    };
    if kind == ChangeKind::Void && current.fields().status == Some(Status::Void) {
        return Err(CliError::Input(t!("void-already", nik = nik)).into());
    }
    let correcting = current.rejected > 0;
    let hlc = w.tick();
    let mut record = current.record.clone();
    record.apply(&fields, hlc);
    let (kind, change_fields) = if correcting {
        let all = record.fields.clone();
        record.apply(&all, hlc);
        (ChangeKind::Register, all)
    } else {
        (kind, fields)
    };
    let reg = record.fields.to_registration(nik).map_err(|missing| {
        CliError::Local(t!(
            "edit-record-lacks",
            nik = nik,
            missing = missing
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let validation = reg.validate(today());
    if !validation.is_ok() {
        return Err(CliError::Invalid {
            what: t!("what-change"),
            issues: validation.errors,
        }
        .into());
    }
    let seq = w.save(&record, &validation.warnings, kind, &change_fields, hlc)?;
    let corrected = if correcting {
        w.supersede_rejected(nik, seq)?
    } else {
        0
    };
    w.commit()?;
    if json {
        output::json(&json!({
            "saved": true,
            "nik": nik,
            "device_seq": seq,
            "kind": crate::store::outbox::kind_str(kind),
            "corrected_rejected": corrected,
            "warnings": validation.warnings,
        }))?;
    } else {
        output::warnings(&validation.warnings);
        let mut text = if reg.status == Status::Void {
            t!("edit-voided", nik = nik, name = reg.name, seq = seq)
        } else {
            t!("edit-saved", nik = nik, name = reg.name, seq = seq)
        };
        if corrected > 0 {
            text.push('\n');
            text.push_str(&t!("edit-corrects", count = crate::i18n::n(corrected)));
        }
        output::line(&text)?;
    }
    Ok(super::code(exit::OK))
}
