//! `sigap import FILE.csv`: batches typed up from paper forms. Valid rows
//! are committed in one transaction; each rejected row is reported with its
//! line number.

use std::collections::HashMap;
use std::process::ExitCode;

use serde::Serialize;
use serde_json::json;
use sigap_shared::Nik;

use crate::cli::ImportArgs;
use crate::error::{CliError, exit};
use crate::fields::{RawFields, today};
use crate::output;
use crate::store::writer::Writer;
use crate::store::{Store, records, replica};

const KNOWN: [&str; 14] = super::export::COLUMNS;
const REQUIRED: [&str; 9] = [
    "nik",
    "name",
    "birth_date",
    "sex",
    "kelurahan",
    "rw",
    "rt",
    "category",
    "occupation",
];

#[derive(Debug, Serialize)]
struct Rejected {
    line: u64,
    field: String,
    message: String,
}

pub fn run(store: &mut Store, args: ImportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let device = store.device()?;
    let file = std::fs::File::open(&args.file)
        .map_err(|e| CliError::Local(format!("cannot read {}: {e}", args.file.display())))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let headers = rdr
        .headers()
        .map_err(|e| {
            CliError::Input(format!(
                "{}: line 1: cannot read the header: {e}",
                args.file.display()
            ))
        })?
        .clone();
    let unknown: Vec<&str> = headers.iter().filter(|h| !KNOWN.contains(h)).collect();
    if !unknown.is_empty() {
        return Err(CliError::Input(format!(
            "{}: line 1: unknown column(s) {}; the columns are {}",
            args.file.display(),
            unknown.join(", "),
            KNOWN.join(",")
        ))
        .into());
    }
    let absent: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .collect();
    if !absent.is_empty() {
        return Err(CliError::Input(format!(
            "{}: line 1: missing column(s) {}; the columns are {}",
            args.file.display(),
            absent.join(", "),
            KNOWN.join(",")
        ))
        .into());
    }

    let today = today();
    let mut rejected: Vec<Rejected> = Vec::new();
    let mut seen: HashMap<Nik, u64> = HashMap::new();
    let mut imported = 0u64;
    let mut warned = 0u64;
    // The whole import is one transaction: with SQLite's default 2 MiB
    // page cache its dirty pages were spilled into the WAL and read back
    // again mid-import (a third of the time). Up to 128 MiB is kept instead
    // (about 100,000 rows' worth), only as much as the import touches.
    store.conn.execute_batch("PRAGMA cache_size=-131072")?;
    let mut w = Writer::begin(&mut store.conn, device.id)?;
    // Before a first sync the replica holds nobody: no row needs a lookup.
    let replica_empty = replica::is_empty(w.tx())?;
    let mut record = csv::StringRecord::new();
    let mut last_line = 1u64;
    loop {
        let line = match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => record.position().map(|p| p.line()).unwrap_or(last_line + 1),
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(last_line + 1);
                last_line = line;
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!(
                            "malformed CSV line: {len} columns where the header has {expected_len}"
                        )
                    }
                    _ => format!("malformed CSV line: {e}"),
                };
                rejected.push(Rejected {
                    line,
                    field: "line".into(),
                    message,
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        };
        last_line = line;
        let mut reject = |field: &str, message: String| {
            rejected.push(Rejected {
                line,
                field: field.into(),
                message,
            });
        };
        let raw: RawFields = match record.deserialize(Some(&headers)) {
            Ok(r) => r,
            Err(e) => {
                reject("line", format!("malformed CSV line: {e}"));
                continue;
            }
        };
        let raw = raw.drop_blanks();
        let (reg, fields) = match raw.to_registration() {
            Ok(v) => v,
            Err(issues) => {
                for i in issues {
                    reject(&i.field, i.message);
                }
                continue;
            }
        };
        if let Some(first) = seen.get(&reg.nik) {
            reject(
                "nik",
                format!(
                    "NIK {} appears twice in this file (first on line {first})",
                    reg.nik
                ),
            );
            continue;
        }
        if records::exists(w.tx(), &reg.nik)? {
            reject(
                "nik",
                format!("NIK {} is already registered on this device", reg.nik),
            );
            continue;
        }
        if !replica_empty && let Some(p) = replica::get(w.tx(), &reg.nik)? {
            reject(
                "nik",
                format!("NIK {} is {}", reg.nik, replica::describe(&p)),
            );
            continue;
        }
        let v = reg.validate(today);
        if !v.is_ok() {
            for i in v.errors {
                reject(&i.field, i.message);
            }
            continue;
        }
        seen.insert(reg.nik.clone(), line);
        let hlc = w.tick();
        w.register(&reg.nik, &fields, &v.warnings, hlc)?;
        imported += 1;
        warned += u64::from(!v.warnings.is_empty());
    }
    let bad_lines = {
        let mut l: Vec<u64> = rejected.iter().map(|r| r.line).collect();
        l.dedup();
        l.len()
    };
    let strict_fail = args.strict && !rejected.is_empty();
    if strict_fail {
        drop(w); // rolls back
        imported = 0;
    } else {
        w.commit()?;
    }
    for r in &rejected {
        eprintln!("line {}: {}: {}", r.line, r.field, r.message);
    }
    if json {
        output::json(&json!({
            "imported": imported,
            "rejected_rows": bad_lines,
            "rejected": rejected,
            "with_warnings": warned,
            "strict": args.strict,
            "saved": !strict_fail,
        }))?;
    } else if !strict_fail {
        output::line(&format!(
            "imported {imported}, rejected {bad_lines}{}",
            if warned > 0 {
                format!(" ({warned} with warnings: see `sigap show NIK`)")
            } else {
                String::new()
            }
        ))?;
    }
    if strict_fail {
        return Err(CliError::Input(format!(
            "nothing imported (--strict): {bad_lines} row(s) rejected; fix them and import again"
        ))
        .into());
    }
    Ok(super::code(if rejected.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    }))
}
