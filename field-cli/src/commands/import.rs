//! `sigap import FILE.csv`: batches typed up from paper forms. Valid rows
//! are committed in one transaction; each rejected row is reported with its
//! line number.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;

use serde::Serialize;
use serde_json::json;
use sigap_shared::csv_format::{
    detect_delimiter, record_start_line, strip_bom, unclosed_record_start_line,
};
use sigap_shared::import_row::{CheckedRow, check_row};
use sigap_shared::registration::Validation;
use sigap_shared::{Fields, Nik, Registration};

use crate::cli::ImportArgs;
use crate::error::{CliError, exit};
use crate::fields::{RawFields, today};
use crate::i18n::{self, both, n, problems, t};
use crate::output;
use crate::progress::Progress;
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

/// The `field` of a rejection of the whole line (it does not read as a
/// row), as the JSON output names it; people read just the line.
const WHOLE_LINE: &str = "line";

#[derive(Debug, Serialize)]
struct Rejected {
    line: u64,
    field: String,
    /// In English, as the JSON output says it.
    message: String,
    /// In the agent's language, as stderr says it.
    #[serde(skip)]
    local: String,
}

/// A reason for rejecting a row: in English and in the agent's language.
type Reason = (String, String);

/// An issue's reason.
fn reason_of(issue: &sigap_shared::Issue) -> Reason {
    (
        issue.message.clone(),
        i18n::issues::message(i18n::lang(), issue),
    )
}

/// Rows per batch handed from the reading thread to the storing one.
const BATCH: usize = 512;
/// Batches read ahead of the storing thread.
const AHEAD: usize = 4;

/// A row as read and checked on its own, with its line number.
enum Item {
    Row(u64, Box<Row>),
    Rejected(Rejected),
}

struct Row {
    reg: Registration,
    fields: Fields,
    /// The fields as stored and sent; made only for a valid row, so
    /// `None` means the validation found errors.
    fields_json: Option<String>,
    validation: Validation,
}

/// Reads every row of the file, sending them in batches in file order:
/// each parsed and validated, or its reasons for rejection.
// The rows' boxes come back too: they are freed where they were made.
#[allow(clippy::vec_box)]
fn read_rows<R: std::io::Read>(
    Input {
        mut rdr,
        headers,
        end,
    }: Input<R>,
    today: time::Date,
    out: &mpsc::SyncSender<(Vec<Item>, u64)>,
    spent: &mpsc::Receiver<Vec<Box<Row>>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    // Read as bytes and made text after: a row that is not UTF-8 keeps
    // its bytes, so that its line is counted as any other's.
    let mut bytes = csv::ByteRecord::new();
    loop {
        let read = rdr.read_byte_record(&mut bytes);
        // The record's own position is where the previous one ended; the
        // line is counted back from its end (see `open`). Only a quote
        // left open reads to the very end of the input.
        let at = rdr.position();
        let line = if at.byte() >= end {
            unclosed_record_start_line(at.line(), bytes.as_slice())
        } else {
            record_start_line(at.line(), bytes.as_slice())
        };
        // A blank line of a CRLF file is a record of one field, "\r" (with
        // more columns in the header, an error): it is skipped as the csv
        // crate skips blank lines of a LF file.
        if bytes.len() == 1 && bytes.as_slice().trim_ascii().is_empty() {
            if matches!(read, Ok(false)) {
                break;
            }
            continue;
        }
        let reject = |(message, local): Reason| {
            Item::Rejected(Rejected {
                line,
                field: WHOLE_LINE.into(),
                message,
                local,
            })
        };
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let reason = match e.kind() {
                    // A line break inside the record was inside quotes: a
                    // quote left open ran on into the lines after it.
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } if bytes.as_slice().contains(&b'\n') => both(
                        "import-open-quote",
                        &[
                            ("count", len.to_string()),
                            ("header", expected_len.to_string()),
                        ],
                    ),
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => both(
                        "import-columns",
                        &[
                            ("count", len.to_string()),
                            ("header", expected_len.to_string()),
                        ],
                    ),
                    csv::ErrorKind::Utf8 { .. } => both("import-not-utf8", &[]),
                    _ => both("import-malformed", &[("detail", e.to_string())]),
                };
                batch.push(reject(reason));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        match csv::StringRecord::from_byte_record(std::mem::take(&mut bytes)) {
            Ok(mut record) => {
                record.trim();
                read_row(&record, &headers, line, today, &mut batch);
                bytes = record.into_byte_record();
            }
            Err(e) => {
                batch.push(reject(both("import-not-utf8", &[])));
                bytes = e.into_byte_record();
            }
        }
        if batch.len() >= BATCH {
            // Rows already stored come back to be freed on this thread,
            // which made them: freed on the storing thread, their memory
            // went back to this thread's allocator arena under a lock the
            // two threads then fought over (a tenth of an import spent in
            // futex calls).
            while let Ok(rows) = spent.try_recv() {
                drop(rows);
            }
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if out.send((full, rdr.position().byte())).is_err() {
                return;
            }
        }
    }
    let _ = out.send((batch, rdr.position().byte()));
}

/// Parses and validates one row into `batch` (the checks themselves are
/// `sigap_shared::import_row::check_row`).
fn read_row(
    record: &csv::StringRecord,
    headers: &csv::StringRecord,
    line: u64,
    today: time::Date,
    batch: &mut Vec<Item>,
) {
    let reject = |field: &str, (message, local): Reason| {
        Item::Rejected(Rejected {
            line,
            field: field.into(),
            message,
            local,
        })
    };
    let raw: RawFields = match record.deserialize(Some(headers)) {
        Ok(r) => r,
        Err(e) => {
            batch.push(reject(
                WHOLE_LINE,
                both("import-malformed", &[("detail", e.to_string())]),
            ));
            return;
        }
    };
    match check_row(raw, today) {
        Ok(CheckedRow {
            reg,
            fields,
            validation,
        }) => {
            // A failed serialisation is reported as the row's error.
            let fields_json = match validation.is_ok().then(|| serde_json::to_string(&fields)) {
                Some(Err(e)) => {
                    batch.push(reject(
                        WHOLE_LINE,
                        both("import-cannot-encode", &[("detail", e.to_string())]),
                    ));
                    return;
                }
                Some(Ok(j)) => Some(j),
                None => None,
            };
            batch.push(Item::Row(
                line,
                Box::new(Row {
                    reg,
                    fields,
                    fields_json,
                    validation,
                }),
            ));
        }
        Err(problems) => batch.extend(
            problems::issues(&problems)
                .iter()
                .map(|i| reject(&i.field, reason_of(i))),
        ),
    }
}

/// A row stored.
struct Stored {
    warned: bool,
}

/// Stores a row not seen earlier in the file, or says through `reject` why
/// not.
fn store_row(
    w: &mut Writer<'_>,
    row: &Row,
    replica_empty: bool,
    reject: &mut dyn FnMut(&str, Reason),
) -> anyhow::Result<Option<Stored>> {
    let Row {
        reg,
        fields,
        fields_json,
        validation,
    } = row;
    let here = || both("import-already-here", &[("nik", reg.nik.to_string())]);
    let known = match replica_empty {
        true => None,
        // A voided registration covers nobody: the row may register again.
        false => replica::get(w.tx(), &reg.nik)?.filter(replica::blocks_registration),
    };
    // A row refused anyway says first that it is registered here (the
    // usual case: a file imported twice). A valid new row needs no lookup:
    // inserting its record is the check.
    let fields_json = match (known, fields_json) {
        (None, Some(json)) => json,
        (known, _) => {
            if records::exists(w.tx(), &reg.nik)? {
                reject("nik", here());
            } else if let Some(p) = known {
                let nik = reg.nik.to_string();
                reject(
                    "nik",
                    (
                        i18n::text(
                            sigap_shared::Lang::En,
                            "import-known",
                            &[
                                ("nik", nik.clone()),
                                ("known", replica::describe_in(sigap_shared::Lang::En, &p)),
                            ],
                        ),
                        t!("import-known", nik = nik, known = replica::describe(&p)),
                    ),
                );
            } else {
                for i in &validation.errors {
                    reject(&i.field, reason_of(i));
                }
            }
            return Ok(None);
        }
    };
    let hlc = w.tick();
    if w.register_json(&reg.nik, fields, fields_json, &validation.warnings, hlc)?
        .is_none()
    {
        reject("nik", here());
        return Ok(None);
    }
    Ok(Some(Stored {
        warned: !validation.warnings.is_empty(),
    }))
}

/// A file being imported: its CSV reader, its trimmed header row, and
/// the length of the reader's input (the file without its byte order
/// mark, and the `\n\n` put after it).
struct Input<R> {
    rdr: csv::Reader<R>,
    headers: csv::StringRecord,
    end: u64,
}

/// Opens the file to import. The delimiter is `delimiter`, or found from
/// the header line; a byte order mark is dropped. Records end only at
/// `\n`, and the input is given a last `\n\n`, so that
/// `record_start_line` finds each record's line (and a record that
/// reaches the end of the input is one whose quote was never closed); the
/// `\r` of a CRLF is trimmed off with the rest of the blanks.
fn open(path: &Path, delimiter: Option<u8>) -> Result<Input<impl Read + Send>, CliError> {
    let cannot = |e: std::io::Error| {
        CliError::Local(t!("import-cannot-read", file = path.display(), detail = e))
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let size = file.metadata().map_err(cannot)?.len();
    let mut file = BufReader::with_capacity(1 << 16, file);
    let mut first = Vec::new();
    file.read_until(b'\n', &mut first).map_err(cannot)?;
    let dropped = (first.len() - strip_bom(&first).len()) as u64;
    let first = strip_bom(&first).to_vec();
    let end = (size + 2).saturating_sub(dropped);
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(&first, &KNOWN));
    let input = std::io::Cursor::new(first).chain(file).chain(&b"\n\n"[..]);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .trim(csv::Trim::None)
        .from_reader(input);
    let mut headers = rdr
        .headers()
        .map_err(|e| {
            CliError::Input(match e.kind() {
                csv::ErrorKind::Utf8 { .. } => {
                    t!("import-header-not-utf8", file = path.display())
                }
                _ => t!("import-bad-header", file = path.display(), detail = e),
            })
        })?
        .clone();
    headers.trim();
    Ok(Input { rdr, headers, end })
}

pub fn run(store: &mut Store, args: ImportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let device = store.device()?;
    let input = open(&args.file, args.delimiter)?;
    let headers = input.headers.clone();
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let unknown: Vec<&str> = headers.iter().filter(|h| !KNOWN.contains(h)).collect();
    if !unknown.is_empty() {
        return Err(CliError::Input(t!(
            "import-unknown-columns",
            file = args.file.display(),
            unknown = unknown.join(", "),
            known = KNOWN.join(",")
        ))
        .into());
    }
    let absent: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .collect();
    if !absent.is_empty() {
        return Err(CliError::Input(t!(
            "import-missing-columns",
            file = args.file.display(),
            missing = absent.join(", "),
            known = KNOWN.join(",")
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
    // Reading, parsing and checking rows on their own takes a third of an
    // import: it runs on a second thread, a batch ahead of the one that
    // checks them against the database and stores them, in file order.
    let mut progress = Progress::bytes(size, &t!("progress-importing"));
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = mpsc::sync_channel::<(Vec<Item>, u64)>(AHEAD);
        let (spent_tx, spent_rx) = mpsc::channel::<Vec<Box<Row>>>();
        scope.spawn(move || read_rows(input, today, &tx, &spent_rx));
        for (batch, read_to) in rx {
            progress.set_position(read_to);
            progress.set_message(t!(
                "progress-importing-rows",
                count = n(imported + rejected.len() as u64)
            ));
            let mut spent = Vec::with_capacity(batch.len());
            for item in batch {
                let (line, row) = match item {
                    Item::Rejected(r) => {
                        rejected.push(r);
                        continue;
                    }
                    Item::Row(line, row) => (line, row),
                };
                let mut reject = |field: &str, (message, local): Reason| {
                    rejected.push(Rejected {
                        line,
                        field: field.into(),
                        message,
                        local,
                    });
                };
                let reg = &row.reg;
                if let Some(first) = seen.get(&reg.nik) {
                    reject(
                        "nik",
                        both(
                            "import-twice",
                            &[("nik", reg.nik.to_string()), ("first", first.to_string())],
                        ),
                    );
                } else if let Some(stored) =
                    store_row(&mut w, row.as_ref(), replica_empty, &mut reject)?
                {
                    seen.insert(reg.nik.clone(), line);
                    imported += 1;
                    warned += u64::from(stored.warned);
                }
                spent.push(row);
            }
            // The reading thread frees them (see `read_rows`); once it has
            // ended, they are freed here.
            let _ = spent_tx.send(spent);
        }
        Ok(())
    })?;
    drop(progress);
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
        let text = if r.field == WHOLE_LINE {
            t!("import-line-whole", line = r.line, message = r.local)
        } else {
            t!(
                "import-line",
                line = r.line,
                field = r.field,
                message = r.local
            )
        };
        eprintln!("{text}");
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
        let warnings = if warned > 0 {
            t!("import-warned", count = n(warned))
        } else {
            String::new()
        };
        output::line(&t!(
            "import-done",
            imported = n(imported),
            rejected = n(bad_lines),
            warnings = warnings
        ))?;
    }
    if strict_fail {
        return Err(CliError::Input(t!("import-strict", rejected = n(bad_lines))).into());
    }
    Ok(super::code(if rejected.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    }))
}
