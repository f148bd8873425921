//! `sigap visit` and `sigap progress`: the RT rounds.

use std::process::ExitCode;

use serde_json::json;
use sigap_shared::area::parse_rw_rt;
use sigap_shared::wilayah;

use crate::cli::{ProgressArgs, VisitArgs};
use crate::error::{CliError, exit};
use crate::fields::parse_kelurahan;
use crate::output;
use crate::store::{Store, now_text, visits};

pub fn run(store: &Store, args: VisitArgs, json: bool) -> anyhow::Result<ExitCode> {
    let kel = parse_kelurahan(&args.kelurahan)
        .map_err(|m| CliError::Input(format!("--kelurahan: {m}")))?;
    let rw = parse_rw_rt("RW", &args.rw).map_err(|e| CliError::Input(e.to_string()))?;
    let rt = parse_rw_rt("RT", &args.rt).map_err(|e| CliError::Input(e.to_string()))?;
    if args.households == 0 {
        return Err(CliError::Input("--households must be at least 1".into()).into());
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
        output::line(&format!(
            "saved: visit of {label}, {} households; this RT so far: {} visit(s), {} households, {} registered",
            args.households, p.visits, p.households, p.registered
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
        .map_err(|m| CliError::Input(format!("--kelurahan: {m}")))?;
    let rows = visits::progress(&store.conn, kel.as_ref())?;
    if json {
        output::json(&rows)?;
        return Ok(super::code(exit::OK));
    }
    if rows.is_empty() {
        output::line("no visits or registrations yet")?;
        return Ok(super::code(exit::OK));
    }
    let mut t = output::table(&[
        "Kelurahan",
        "RW",
        "RT",
        "Visits",
        "Households",
        "Registered",
        "Last visit",
    ]);
    for r in rows {
        let name = sigap_shared::AreaCode::parse(&r.kelurahan)
            .ok()
            .map(|k| output::kelurahan_name(Some(&k)))
            .unwrap_or(r.kelurahan.clone());
        t.add_row([
            name,
            r.rw.to_string(),
            r.rt.to_string(),
            r.visits.to_string(),
            r.households.to_string(),
            r.registered.to_string(),
            r.last_visit.unwrap_or_default(),
        ]);
    }
    output::print_table(&t)?;
    Ok(super::code(exit::OK))
}
