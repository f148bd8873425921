//! `sigap-server participants import`: the membership roll.

use std::process::ExitCode;

use sigap_shared::area::parse_rw_rt;
use sigap_shared::{AreaCode, Category, Nik};

use super::baseline::{columns, open_csv};
use super::{CommandError, report_rejects, usage};
use crate::cli::ParticipantsCommand;
use crate::store::{RollRow, SqliteStore, Store};

pub fn run(store: &SqliteStore, cmd: ParticipantsCommand) -> Result<ExitCode, CommandError> {
    let ParticipantsCommand::Import(args) = cmd;
    let mut reader = open_csv(&args.file)?;
    let [cn, ck, cw, ct, cc] = columns(
        &mut reader,
        ["nik", "kelurahan", "rw", "rt", "category"],
        &args.file,
    )?;
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| usage(format!("{}: {e}", args.file.display())))?;
        let line = rec.position().map_or(0, |p| p.line());
        let get = |i: usize| rec.get(i).unwrap_or("");
        let parsed = (|| -> Result<RollRow, String> {
            let nik = Nik::parse(get(cn))
                .map_err(|e| format!("NIK {}: {e}", sigap_shared::mask_nik(get(cn))))?;
            let kelurahan = AreaCode::parse_kelurahan(get(ck)).map_err(|e| e.to_string())?;
            let rw = parse_rw_rt("RW", get(cw)).map_err(|e| e.to_string())?;
            let rt = parse_rw_rt("RT", get(ct)).map_err(|e| e.to_string())?;
            let category: Category = get(cc)
                .parse()
                .map_err(|e: sigap_shared::registration::ParseEnumError| e.to_string())?;
            Ok(RollRow {
                nik,
                kelurahan,
                rw,
                rt,
                category,
            })
        })();
        match parsed {
            Ok(r) => rows.push(r),
            Err(e) => rejects.push(format!("{}: line {line}: {e}", args.file.display())),
        }
    }
    if let Some(code) = report_rejects(&rejects, args.strict) {
        return Ok(code);
    }
    let s = store.import_participants(&rows)?;
    eprintln!(
        "imported {} rows: {} new participants, {} joined known persons, {} unchanged; rejected {}",
        rows.len(),
        s.created,
        s.joined,
        s.unchanged,
        rejects.len()
    );
    Ok(if rejects.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
