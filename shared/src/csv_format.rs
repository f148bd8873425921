//! CSV as offices write it: Excel set to Indonesian saves "CSV" with
//! semicolons (the comma is the decimal mark there), often with a UTF-8
//! byte order mark and CRLF line ends. Both binaries read such files; the
//! reading stays in each of them, the decisions that need no I/O are here.

/// The UTF-8 byte order mark Excel writes at the start of "CSV UTF-8".
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// The delimiter of a file whose first line is `header`: `b';'` if
/// splitting it on semicolons finds more of the `expected` column names
/// than splitting it on commas does, else `b','`. Names compare without
/// surrounding blanks, quotes or case, as the imports compare them.
///
/// Comparing the two counts, rather than asking for every name, keeps a
/// semicolon header with one column missing semicolon-separated, so the
/// import can say which column is missing instead of calling the whole
/// line one unknown column.
pub fn detect_delimiter(header: &[u8], expected: &[&str]) -> u8 {
    let header = strip_bom(header);
    let found = |sep: u8| {
        header
            .split(|b| *b == sep)
            .filter(|name| {
                let name = String::from_utf8_lossy(name);
                let name = name.trim().trim_matches('"').trim();
                expected.iter().any(|e| e.eq_ignore_ascii_case(name))
            })
            .count()
    };
    if found(b';') > found(b',') {
        b';'
    } else {
        b','
    }
}

/// Reads a `--delimiter` value: `;` or `,`, or the words `semicolon` or
/// `comma`.
pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        ";" | "semicolon" => Ok(b';'),
        "," | "comma" => Ok(b','),
        _ => Err(format!(
            "{text:?} is not a CSV delimiter; give ';' (or semicolon) or ',' (or comma)"
        )),
    }
}

/// The line, as an editor numbers them, on which a record starts, for a
/// reader that ends records only at `\n` (so a CRLF's `\r` stays in the
/// last field until trimmed) and whose input always ends with `\n`.
/// `end_line` is the reader's line after the record (its terminating
/// `\n` counted), `fields` the record's untrimmed field bytes: every `\n`
/// in them was inside quotes and is a line of the record.
///
/// The csv crate's own position of a record is where the previous one
/// ended: before the `\n` of a CRLF and before any blank lines, one or
/// more lines too early.
pub fn record_start_line(end_line: u64, fields: &[u8]) -> u64 {
    let inner = fields.iter().filter(|b| **b == b'\n').count() as u64;
    end_line.saturating_sub(inner + 1).max(1)
}

/// The line on which a record starts that ran to the end of the input
/// inside quotes (a quote never closed): no `\n` ended it, so every `\n`
/// in its fields is one of its lines, where [`record_start_line`] counts
/// one more. A reader whose input has `\n\n` put after the file tells
/// such a record by its position: at the very end of the input, where a
/// record ended by a line break leaves at least one `\n` unread.
pub fn unclosed_record_start_line(end_line: u64, fields: &[u8]) -> u64 {
    let inner = fields.iter().filter(|b| **b == b'\n').count() as u64;
    end_line.saturating_sub(inner).max(1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ROLL: [&str; 5] = ["nik", "kelurahan", "rw", "rt", "category"];

    #[test]
    fn semicolon_headers_are_told_from_comma_headers() {
        assert_eq!(
            detect_delimiter(b"nik,kelurahan,rw,rt,category", &ROLL),
            b','
        );
        assert_eq!(
            detect_delimiter(b"\xEF\xBB\xBFnik;kelurahan;rw;rt;category\r\n", &ROLL),
            b';'
        );
        assert_eq!(detect_delimiter(b"\"NIK\"; Kelurahan;rw;rt", &ROLL), b';');
        // Neither: the import reports the columns it expected.
        assert_eq!(detect_delimiter(b"a;b;c", &ROLL), b',');
        assert_eq!(detect_delimiter(b"", &ROLL), b',');
    }

    #[test]
    fn delimiter_words_and_signs_are_read() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("Semicolon"), Ok(b';'));
        assert_eq!(parse_delimiter(","), Ok(b','));
        assert_eq!(parse_delimiter("comma"), Ok(b','));
        let err = parse_delimiter("tab").unwrap_err();
        assert!(err.contains("give ';'"), "{err}");
    }

    #[test]
    fn a_record_starts_before_its_quoted_lines() {
        assert_eq!(record_start_line(3, b"12"), 2);
        assert_eq!(record_start_line(5, b"1a\nb\n"), 2);
        // `1,"x,3\n` then the `\n\n` put after the file: the quote runs
        // to the end, which the reader reaches on line 5.
        assert_eq!(unclosed_record_start_line(5, b"1x,3\n\n\n"), 2);
    }
}
