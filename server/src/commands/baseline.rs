//! `sigap-server baseline set|import` and `target set`.

use std::path::Path;
use std::process::ExitCode;

use sigap_shared::AreaCode;
use sigap_shared::coverage::{Percent, Target};

use super::{CommandError, report_rejects, usage};
use crate::cli::{BaselineCommand, ImportArgs, TargetCommand};
use crate::store::{Baseline, SqliteStore, Store};

fn area(text: &str) -> Result<AreaCode, CommandError> {
    AreaCode::parse(text).map_err(|e| usage(format!("--area: {e}")))
}

fn check_year(year: i32) -> Result<i32, CommandError> {
    if (1900..=9999).contains(&year) {
        Ok(year)
    } else {
        Err(usage(format!(
            "--year {year} is not valid; give a year like 2025"
        )))
    }
}

pub fn run(store: &SqliteStore, cmd: BaselineCommand) -> Result<ExitCode, CommandError> {
    match cmd {
        BaselineCommand::Set {
            area: a,
            year,
            working_population,
        } => {
            let b = Baseline {
                area: area(&a)?,
                year: check_year(year)?,
                working_population,
            };
            store.set_baselines(&[b])?;
            eprintln!(
                "baseline for {} in {}: {} working residents",
                sigap_shared::wilayah::area_label(&b.area),
                b.year,
                b.working_population
            );
            Ok(ExitCode::SUCCESS)
        }
        BaselineCommand::Import(args) => import(store, &args),
    }
}

pub(crate) fn open_csv(path: &Path) -> Result<csv::Reader<std::fs::File>, CommandError> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

/// Finds the named columns in the header row.
pub(crate) fn columns<const N: usize>(
    reader: &mut csv::Reader<std::fs::File>,
    names: [&str; N],
    path: &Path,
) -> Result<[usize; N], CommandError> {
    let headers = reader
        .headers()
        .map_err(|e| {
            usage(format!(
                "cannot read the header row of {}: {e}",
                path.display()
            ))
        })?
        .clone();
    let mut out = [0usize; N];
    for (i, name) in names.iter().enumerate() {
        out[i] = headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                usage(format!(
                    "{}: the header row has no column {name:?}; expected columns {}",
                    path.display(),
                    names.join(",")
                ))
            })?;
    }
    Ok(out)
}

fn import(store: &SqliteStore, args: &ImportArgs) -> Result<ExitCode, CommandError> {
    let mut reader = open_csv(&args.file)?;
    let [ca, cy, cp] = columns(
        &mut reader,
        ["area", "year", "working_population"],
        &args.file,
    )?;
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| usage(format!("{}: {e}", args.file.display())))?;
        let line = rec.position().map_or(0, |p| p.line());
        let get = |i: usize| rec.get(i).unwrap_or("");
        let parsed = AreaCode::parse(get(ca))
            .map_err(|e| e.to_string())
            .and_then(|area| {
                let year: i32 = get(cy)
                    .parse()
                    .ok()
                    .filter(|y| (1900..=9999).contains(y))
                    .ok_or_else(|| format!("year {:?} is not a year", get(cy)))?;
                let pop: u64 = get(cp).replace([',', '.', '_'], "").parse().map_err(|_| {
                    format!("working_population {:?} is not a whole number", get(cp))
                })?;
                Ok(Baseline {
                    area,
                    year,
                    working_population: pop,
                })
            });
        match parsed {
            Ok(b) => rows.push(b),
            Err(e) => rejects.push(format!("{}: line {line}: {e}", args.file.display())),
        }
    }
    if let Some(code) = report_rejects(&rejects, args.strict) {
        return Ok(code);
    }
    store.set_baselines(&rows)?;
    eprintln!(
        "imported {} baselines, rejected {}",
        rows.len(),
        rejects.len()
    );
    Ok(if rejects.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn run_target(store: &SqliteStore, cmd: TargetCommand) -> Result<ExitCode, CommandError> {
    let TargetCommand::Set {
        area: a,
        year,
        percent,
        count,
    } = cmd;
    let code = area(&a)?;
    let percent = Percent::parse(&percent).map_err(|e| usage(format!("--percent: {e}")))?;
    store.set_target(&code, check_year(year)?, Target { percent, count })?;
    eprintln!(
        "target for {} in {year}: {percent}%{}",
        sigap_shared::wilayah::area_label(&code),
        count
            .map(|c| format!(" ({c} participants)"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
