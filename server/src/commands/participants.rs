//! `sigap-server participants import`: the membership roll.

use std::process::ExitCode;

use sigap_shared::area::parse_rw_rt;
use sigap_shared::{AreaCode, Category, Nik};

use super::baseline::open_csv;
use super::{CommandError, report_rejects, usage};
use time::Date;
use time::macros::format_description;

use crate::cli::{ParticipantsCommand, RollImportArgs};
use crate::store::{RollRow, Store};

/// Reads `--as-of`: a date written YYYY-MM-DD, not after `today` (a roll
/// cannot say who is a participant on a day still to come).
pub(crate) fn parse_as_of(text: &str, today: Date) -> Result<Date, CommandError> {
    let format = format_description!("[year]-[month]-[day]");
    let bytes = text.as_bytes();
    // `[year]` alone would also take a sign or a fifth digit.
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let date = shaped
        .then(|| Date::parse(text, format).ok())
        .flatten()
        .ok_or_else(|| {
            usage(format!(
                "--as-of {text:?} is not a date; write the day the roll stands for as YYYY-MM-DD, e.g. --as-of 2024-12-31"
            ))
        })?;
    if date.year() < 1900 {
        return Err(usage(format!(
            "--as-of {text}: the year {} is too early; check the year of the roll's date",
            date.year()
        )));
    }
    if date > today {
        return Err(usage(format!(
            "--as-of {text} is after today ({today}); give the day the roll stands for, which has already passed"
        )));
    }
    Ok(date)
}

pub fn run(store: &dyn Store, cmd: ParticipantsCommand) -> Result<ExitCode, CommandError> {
    let ParticipantsCommand::Import(RollImportArgs { file: args, as_of }) = cmd;
    let today = sigap_shared::today();
    // Checked before the file is read: a wrong date is a wrong command.
    let as_of = match as_of {
        Some(text) => parse_as_of(&text, today)?,
        None => today,
    };
    let names = ["nik", "kelurahan", "rw", "rt", "category"];
    let mut file = open_csv(&args.file, args.delimiter, &names)?;
    let [cn, ck, cw, ct, cc] = file.columns(names)?;
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = file.read_row(&mut rec)? {
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
    let s = store.import_participants_as_of(&rows, as_of)?;
    eprintln!(
        "imported {} rows as of {as_of}: {} new participants, {} joined known persons, {} unchanged; rejected {}",
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::date;

    #[test]
    fn as_of_takes_past_days_written_yyyy_mm_dd_only() {
        let today = date!(2026 - 11 - 29);
        assert_eq!(
            parse_as_of("2024-06-30", today).unwrap(),
            date!(2024 - 06 - 30)
        );
        assert_eq!(parse_as_of("2026-11-29", today).unwrap(), today);
        for (bad, says) in [
            ("30-06-2024", "is not a date"),
            ("2024-6-30", "is not a date"),
            ("2024-02-30", "is not a date"),
            ("+2024-06-3", "is not a date"),
            ("", "is not a date"),
            ("1899-12-31", "too early"),
            ("2026-11-30", "after today (2026-11-29)"),
        ] {
            let err = parse_as_of(bad, today).unwrap_err();
            assert!(matches!(err, CommandError::Usage(_)), "{bad}");
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }
}
