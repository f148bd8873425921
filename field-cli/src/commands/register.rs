//! `sigap register`: a new registration, from flags or asked field by field.

use std::io::IsTerminal;
use std::process::ExitCode;

use serde_json::json;
use sigap_shared::{ChangeKind, Nik, Registration, wilayah};

use crate::cli::RegisterArgs;
use crate::error::{CliError, exit};
use crate::fields::{RawFields, Typed, today};
use crate::i18n::t;
use crate::output;
use crate::prompt;
use crate::store::writer::Writer;
use crate::store::{Store, records, replica};

pub fn run(store: &mut Store, args: RegisterArgs, json: bool) -> anyhow::Result<ExitCode> {
    let device = store.device()?;
    let mut raw = RawFields::from_args(args.nik.clone(), &args.fields);
    let missing = missing_flags(&raw);
    let mut note = None;
    let reg = if asks(&args) {
        match prompt::register(store, &mut raw, args.force)? {
            prompt::Decision::Register(reg) => reg,
            prompt::Decision::Edit(nik, fields) => {
                return super::edit::write_edit(store, &nik, fields, ChangeKind::Edit, json);
            }
            prompt::Decision::Cancel => {
                return Err(CliError::Input(t!("register-cancelled")).into());
            }
        }
    } else {
        if !missing.is_empty() {
            return Err(CliError::Input(t!("register-missing", flags = missing.join(", "))).into());
        }
        if let Some(text) = &raw.nik {
            let nik = super::nik_arg(text)?;
            note = check_not_known(store, &nik, args.force)?;
        }
        let (reg, _) = raw.to_registration().map_err(|issues| CliError::Invalid {
            what: t!("what-registration"),
            issues,
        })?;
        reg
    };
    let validation = reg.validate(today());
    if !validation.is_ok() {
        return Err(CliError::Invalid {
            what: t!("what-registration"),
            issues: validation.errors,
        }
        .into());
    }
    let fields = sigap_shared::Fields::from_registration(&reg);
    let mut w = Writer::begin(&mut store.conn, device.id)?;
    let hlc = w.tick();
    let Some(seq) = w.register(&reg.nik, &fields, &validation.warnings, hlc)? else {
        return Err(already_here(&reg.nik).into());
    };
    w.commit()?;
    if json {
        output::json(&json!({
            "saved": true,
            "nik": reg.nik,
            "device_seq": seq,
            "warnings": validation.warnings,
            "note": note,
        }))?;
    } else {
        output::warnings(&validation.warnings);
        if let Some(n) = &note {
            eprintln!("{}", t!("note-line", message = n));
        }
        output::line(&saved_line(&reg))?;
    }
    Ok(super::code(exit::OK))
}

/// Whether the command asks for the fields not given as flags: it does on
/// a terminal unless `--no-input`.
pub fn asks(args: &RegisterArgs) -> bool {
    !args.no_input
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && !missing_flags(&RawFields::from_args(args.nik.clone(), &args.fields)).is_empty()
}

pub fn saved_line(reg: &Registration) -> String {
    let area = reg
        .address_area()
        .map(|a| wilayah::area_label(&a))
        .unwrap_or_else(|| reg.kelurahan.to_string());
    t!(
        "register-saved",
        nik = reg.nik,
        name = reg.name,
        area = area,
        category = reg.category
    )
}

/// The required flags that were not given, as flags.
fn missing_flags(raw: &RawFields) -> Vec<String> {
    let mut out = Vec::new();
    if raw.nik.is_none() {
        out.push("--nik".to_string());
    }
    for (name, given) in raw.required_presence() {
        if !given {
            out.push(format!("--{}", name.replace('_', "-")));
        }
    }
    out
}

pub fn already_here(nik: &Nik) -> CliError {
    CliError::Input(t!("register-already-here", nik = nik))
}

/// Refuses a NIK this device or the last synced data already knows. A
/// person whose field registration was voided is not covered: it may be
/// registered again, with a note saying so.
pub fn check_not_known(store: &Store, nik: &Nik, force: bool) -> Result<Option<String>, CliError> {
    // `exists` first: the whole record (a costlier statement to prepare) is
    // read only to word the refusal.
    if records::exists(&store.conn, nik)?
        && let Some(r) = records::get(&store.conn, nik)?
    {
        let name = r.fields().name.clone().unwrap_or_default();
        return Err(CliError::Input(t!(
            "register-already-here-named",
            nik = nik,
            name = name,
            state = crate::output::state_text(r.sync_state())
        )));
    }
    let Some(p) = replica::get(&store.conn, nik)? else {
        return Ok(None);
    };
    if !replica::blocks_registration(&p) {
        return Ok(Some(t!(
            "register-again",
            nik = nik,
            known = replica::describe(&p)
        )));
    }
    if !force {
        return Err(CliError::Input(t!(
            "register-known-elsewhere",
            nik = nik,
            known = replica::describe(&p)
        )));
    }
    Ok(None)
}
