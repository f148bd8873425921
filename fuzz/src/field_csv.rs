//! The field tool's CSV import, row by row: a file read as `sigap import`
//! reads it (field-cli/src/commands/import.rs: `open`, `read_rows`,
//! `read_row`), each row checked by `sigap_shared::import_row::check_row`,
//! the function the import calls. Apart from the server's harness
//! (`harness.rs` includes this file) because it needs only
//! `sigap-shared` and `csv`: the field tool's tests replay the kept inputs
//! too (field-cli/tests/fuzz_regressions.rs), and they cannot build the
//! server.
//!
//! The reading is written again here, as the import does it (the csv
//! crate is not a dependency of `sigap-shared`); a change to the import's
//! reader settings belongs in both.
//!
//! Panics only when a rule breaks: a parser or check that panics, a row
//! whose line is not below the one before it (the header is line 1), a
//! reading error other than a row's column count, a rejected
//! row without a problem or with a problem of no known field, a valid row
//! whose fields do not read back as the same fields and registration.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::Read;

use sigap_shared::Fields;
use sigap_shared::csv_format::{
    detect_delimiter, record_start_line, strip_bom, unclosed_record_start_line,
};
use sigap_shared::import_row::{RowFields, check_row};

/// The columns of `sigap import` (those of `sigap export`).
pub const COLUMNS: [&str; 14] = [
    "nik",
    "name",
    "birth_date",
    "sex",
    "kelurahan",
    "rw",
    "rt",
    "category",
    "occupation",
    "employer",
    "phone",
    "programs",
    "status",
    "void_reason",
];

/// A CSV file given to `sigap import`, read and checked row by row as the
/// import does, without the database.
pub fn field_csv(data: &[u8]) {
    let first_len = data
        .iter()
        .position(|b| *b == b'\n')
        .map_or(data.len(), |i| i + 1);
    let (first, rest) = data.split_at(first_len);
    let first = strip_bom(first);
    let delimiter = detect_delimiter(first, &COLUMNS);
    let end = (first.len() + rest.len() + 2) as u64;
    let input = first.chain(rest).chain(&b"\n\n"[..]);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .trim(csv::Trim::None)
        .from_reader(input);
    // A header that does not read is refused whole, at line 1.
    let Ok(headers) = rdr.headers() else {
        return;
    };
    let mut headers = headers.clone();
    headers.trim();
    let today = sigap_shared::today();
    // One row's check, and what must hold of its answer.
    let check = |raw: RowFields| match check_row(raw.clone(), today) {
        Ok(row) => {
            if row.validation.is_ok() {
                // Stored and sent as JSON: it reads back as the same
                // fields, which make the same registration.
                let json = serde_json::to_string(&row.fields).unwrap();
                let back: Fields = serde_json::from_str(&json).unwrap();
                assert_eq!(back, row.fields);
                assert_eq!(back.to_registration(&row.reg.nik).unwrap(), row.reg);
            }
            // The same text gives the same answer.
            let again = check_row(raw, today).unwrap();
            assert_eq!(again.reg, row.reg);
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "rejected without a problem");
            for p in &problems {
                assert!(
                    COLUMNS.contains(&p.field.as_str()),
                    "a problem of no column: {p:?}"
                );
            }
        }
    };
    let mut last_line = 1;
    let mut bytes = csv::ByteRecord::new();
    loop {
        let read = rdr.read_byte_record(&mut bytes);
        let at = rdr.position();
        let line = if at.byte() >= end {
            unclosed_record_start_line(at.line(), bytes.as_slice())
        } else {
            record_start_line(at.line(), bytes.as_slice())
        };
        // A blank line of a CRLF file, skipped.
        if bytes.len() == 1 && bytes.as_slice().trim_ascii().is_empty() {
            if matches!(read, Ok(false)) {
                break;
            }
            continue;
        }
        match &read {
            Ok(false) => break,
            Ok(true) => {}
            // Bytes are read as they are (UTF-8 is checked below): only a
            // row's column count is a reading error.
            Err(e) => assert!(
                matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }),
                "line {line}: {e}"
            ),
        }
        assert!(
            line > last_line,
            "a row reported on line {line} after one on line {last_line}"
        );
        last_line = line;
        if read.is_err() {
            continue;
        }
        // Not UTF-8: the import rejects the row as such.
        let Ok(mut record) = csv::StringRecord::from_byte_record(bytes.clone()) else {
            continue;
        };
        record.trim();
        // Cells that do not fit the fields (a column twice): rejected as a
        // malformed line.
        let Ok(raw) = record.deserialize::<RowFields>(Some(&headers)) else {
            continue;
        };
        check(raw);
    }
}
