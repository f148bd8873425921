//! `sigap-server baseline set|import` and `target set`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sigap_shared::AreaCode;
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::csv_format::{
    detect_delimiter, record_start_line, strip_bom, unclosed_record_start_line,
};

use super::{CommandError, report_rejects, usage};
use crate::cli::{BaselineCommand, ImportArgs, TargetCommand};
use crate::store::{Baseline, Store};

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

pub fn run(store: &dyn Store, cmd: BaselineCommand) -> Result<ExitCode, CommandError> {
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

/// A CSV file's reader, its delimiter `delimiter` or found from a header
/// line naming the `expected` columns, its byte order mark dropped.
/// Records end only at `\n`, and the input is given a last `\n\n`, so
/// that `read_row` can tell each record's line, and a record that reads
/// to the very end of the input as one whose quote was never closed; the
/// `\r` of a CRLF is trimmed off with the rest of the blanks.
pub(crate) struct CsvFile {
    reader: csv::Reader<Box<dyn Read>>,
    path: PathBuf,
    /// The input's length, the last `\n\n` included.
    end: u64,
}

pub(crate) fn open_csv(
    path: &Path,
    delimiter: Option<u8>,
    expected: &[&str],
) -> Result<CsvFile, CommandError> {
    let cannot = |e: std::io::Error| usage(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let size = file.metadata().map_err(cannot)?.len();
    let mut file = BufReader::new(file);
    let mut first = Vec::new();
    file.read_until(b'\n', &mut first).map_err(cannot)?;
    let bom = (first.len() - strip_bom(&first).len()) as u64;
    let first = strip_bom(&first).to_vec();
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(&first, expected));
    let input: Box<dyn Read> =
        Box::new(std::io::Cursor::new(first).chain(file).chain(&b"\n\n"[..]));
    let reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::None)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input);
    Ok(CsvFile {
        reader,
        path: path.to_path_buf(),
        end: size - bom + 2,
    })
}

/// A line holding nothing but blanks (in a CRLF file, its `\r`).
pub(crate) fn is_blank(rec: &csv::StringRecord) -> bool {
    rec.len() == 1 && rec.as_slice().trim().is_empty()
}

impl CsvFile {
    /// Finds the named columns in the header row.
    pub(crate) fn columns<const N: usize>(
        &mut self,
        names: [&str; N],
    ) -> Result<[usize; N], CommandError> {
        let path = &self.path;
        let headers = self
            .reader
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
                .position(|h| h.trim().trim_matches('"').eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    usage(format!(
                        "{}: the header row has no column {name:?}; expected columns {}, separated by ',' or ';' (or say which with --delimiter)",
                        path.display(),
                        names.join(",")
                    ))
                })?;
        }
        Ok(out)
    }

    /// The next row, trimmed, and the line it starts on as an editor
    /// numbers them; `None` at the end of the file.
    pub(crate) fn read_row(
        &mut self,
        rec: &mut csv::StringRecord,
    ) -> Result<Option<u64>, CommandError> {
        let mut read = self.reader.read_record(rec);
        // A blank line of a CRLF file is a record of one field, "\r": it is
        // skipped as the csv crate skips blank lines of a LF file.
        while matches!(read, Ok(true)) && is_blank(rec) {
            read = self.reader.read_record(rec);
        }
        let at = self.reader.position();
        if matches!(read, Ok(true)) && at.byte() >= self.end {
            let line = unclosed_record_start_line(at.line(), rec.as_slice().as_bytes());
            return Err(usage(format!(
                "{}: line {line}: a quote (\") opened on this line is never closed, so every line after it was read into one value; close the quote (or remove it) and import again (nothing was imported)",
                self.path.display()
            )));
        }
        let line = record_start_line(at.line(), rec.as_slice().as_bytes());
        let more = read.map_err(|e| {
            let what = match e.kind() {
                csv::ErrorKind::Utf8 { .. } => {
                    "the line is not UTF-8 text; save the file as \"CSV UTF-8\"".to_string()
                }
                _ => e.to_string(),
            };
            usage(format!("{}: line {line}: {what}", self.path.display()))
        })?;
        rec.trim();
        Ok(more.then_some(line))
    }
}

fn import(store: &dyn Store, args: &ImportArgs) -> Result<ExitCode, CommandError> {
    let names = ["area", "year", "working_population"];
    let mut file = open_csv(&args.file, args.delimiter, &names)?;
    let [ca, cy, cp] = file.columns(names)?;
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = file.read_row(&mut rec)? {
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

pub fn run_target(store: &dyn Store, cmd: TargetCommand) -> Result<ExitCode, CommandError> {
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
