//! `sigap visit` and `sigap progress`: the RT rounds.

use std::process::ExitCode;

use serde_json::json;
use sigap_shared::wilayah;

use crate::cli::{ProgressArgs, VisitArgs};
use crate::error::{CliError, exit};
use crate::fields::{parse_kelurahan, parse_number};
use crate::i18n::problems::Worded;
use crate::i18n::{self, t};
use crate::output;
use crate::store::{Store, now_text, visits};

pub fn run(store: &Store, args: VisitArgs, json: bool) -> anyhow::Result<ExitCode> {
    let kel = parse_kelurahan(&args.kelurahan)
        .map_err(|m| CliError::Input(format!("--kelurahan: {}", m.local())))?;
    let rw = parse_number("RW", &args.rw).map_err(|p| CliError::Input(p.local()))?;
    let rt = parse_number("RT", &args.rt).map_err(|p| CliError::Input(p.local()))?;
    if args.households == 0 {
        return Err(CliError::Input(t!("visit-households-zero")).into());
    }
    visits::add(
        &store.conn,
        &kel,
        rw,
        rt,
        args.households,
        args.note.as_deref(),
        &now_text(),
    )?;
    let p = visits::progress(&store.conn, Some(&kel))?
        .into_iter()
        .find(|p| p.rw == rw && p.rt == rt);
    let label = kel
        .with_rw_rt(rw, rt)
        .map(|a| wilayah::area_label(&a))
        .unwrap_or_default();
    if json {
        output::json(&json!({ "saved": true, "area": label, "progress": p }))?;
    } else if let Some(p) = p {
        output::line(&t!(
            "visit-saved",
            area = label,
            households = i18n::n(args.households),
            visits = i18n::n(p.visits),
            total = i18n::n(p.households),
            registered = i18n::n(p.registered)
        ))?;
    }
    Ok(super::code(exit::OK))
}

pub fn progress(store: &Store, args: ProgressArgs, json: bool) -> anyhow::Result<ExitCode> {
    let kel = args
        .kelurahan
        .as_deref()
        .map(parse_kelurahan)
        .transpose()
        .map_err(|m| CliError::Input(format!("--kelurahan: {}", m.local())))?;
    let rows = visits::progress(&store.conn, kel.as_ref())?;
    if json {
        output::json(&rows)?;
        return Ok(super::code(exit::OK));
    }
    if rows.is_empty() {
        output::line(&t!("progress-none"))?;
        return Ok(super::code(exit::OK));
    }
    let mut table = output::table(&[
        t!("col-kelurahan"),
        t!("col-rw"),
        t!("col-rt"),
        t!("col-visits"),
        t!("col-households"),
        t!("col-registered"),
        t!("col-last-visit"),
    ]);
    for r in rows {
        let name = sigap_shared::AreaCode::parse(&r.kelurahan)
            .ok()
            .map(|k| output::kelurahan_name(Some(&k)))
            .unwrap_or(r.kelurahan.clone());
        table.add_row([
            name,
            r.rw.to_string(),
            r.rt.to_string(),
            i18n::n(r.visits),
            i18n::n(r.households),
            i18n::n(r.registered),
            r.last_visit
                .as_deref()
                .map(output::timestamp)
                .unwrap_or_default(),
        ]);
    }
    output::print_table(&table)?;
    Ok(super::code(exit::OK))
}
