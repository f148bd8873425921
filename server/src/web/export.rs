//! Tables as CSV and as Excel workbooks: a title line (area and date),
//! then the header and the cells exactly as the page shows them.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook};

use super::errors::WebError;
use super::table::Table;

/// What a table page answers with: the page, or a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Html,
    Csv,
    Xlsx,
}

impl Output {
    pub fn parse(text: Option<&str>) -> Result<Output, WebError> {
        match text {
            None | Some("") | Some("html") => Ok(Output::Html),
            Some("csv") => Ok(Output::Csv),
            Some("xlsx") => Ok(Output::Xlsx),
            Some(other) => Err(WebError::bad("err-format", format!("format={other}"))),
        }
    }
}

/// The lines above the table: what it is, of which area, on which date.
pub struct Heading {
    pub title: String,
    pub lines: Vec<String>,
    /// The file name without extension, e.g. `sigap-33.72-2026-11-29`.
    pub file: String,
}

pub fn csv_bytes(heading: &Heading, table: &Table) -> Result<Vec<u8>, WebError> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| WebError::Internal(format!("csv export: {e}"));
    w.write_record([heading.title.as_str()]).map_err(fail)?;
    for line in &heading.lines {
        w.write_record([line.as_str()]).map_err(fail)?;
    }
    w.write_record(table.header()).map_err(fail)?;
    for row in &table.rows {
        w.write_record(row.cells.iter().map(|c| c.text.as_str()))
            .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| WebError::Internal(format!("csv export: {e}")))
}

pub fn xlsx_bytes(heading: &Heading, table: &Table) -> Result<Vec<u8>, WebError> {
    let fail = |e: rust_xlsxwriter::XlsxError| WebError::Internal(format!("xlsx export: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    sheet
        .write_string_with_format(0, 0, &heading.title, &bold)
        .map_err(fail)?;
    let mut r: u32 = 1;
    for line in &heading.lines {
        sheet.write_string(r, 0, line).map_err(fail)?;
        r += 1;
    }
    for (c, label) in table.header().iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet
            .write_string_with_format(r, c, *label, &bold)
            .map_err(fail)?;
    }
    for row in &table.rows {
        r += 1;
        for (c, cell) in row.cells.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            // Text as shown: `44,24%` stays `44,24%` whatever the
            // spreadsheet's own locale would make of a number.
            sheet.write_string(r, c, &cell.text).map_err(fail)?;
        }
    }
    sheet.autofit();
    book.save_to_buffer().map_err(fail)
}

/// The page's table as a download in `format` (not `Html`).
pub fn download(format: Output, heading: &Heading, table: &Table) -> Result<Response, WebError> {
    let (bytes, mime, ext) = match format {
        Output::Csv => (csv_bytes(heading, table)?, "text/csv; charset=utf-8", "csv"),
        _ => (
            xlsx_bytes(heading, table)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let disposition = format!(
        "attachment; filename=\"{}.{ext}\"",
        safe_file(&heading.file)
    );
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// A file name with nothing a header or a file system would choke on.
fn safe_file(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::table::{Cell, Column, Row};

    fn sample() -> (Heading, Table) {
        let heading = Heading {
            title: "Cakupan Kota Surakarta (33.72)".into(),
            lines: vec!["Tanggal: 29 November 2026".into()],
            file: "sigap-33.72/x".into(),
        };
        let table = Table {
            id: "areas",
            columns: vec![
                Column::text("Nama".into(), "name"),
                Column::number("Cakupan".into(), "coverage"),
            ],
            rows: vec![Row {
                key: "33.72.01".into(),
                cells: vec![Cell::text("Laweyan"), Cell::text("44,24%")],
                bar: Some("<svg/>".into()),
            }],
            bar_label: None,
            sort: None,
            base: "/?".into(),
        };
        (heading, table)
    }

    #[test]
    fn csv_has_heading_header_and_cells_as_shown() {
        let (h, t) = sample();
        let text = String::from_utf8(csv_bytes(&h, &t).unwrap()).unwrap();
        assert_eq!(
            text,
            "Cakupan Kota Surakarta (33.72)\nTanggal: 29 November 2026\nNama,Cakupan\nLaweyan,\"44,24%\"\n"
        );
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let (h, t) = sample();
        let bytes = xlsx_bytes(&h, &t).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        assert_eq!(safe_file(&h.file), "sigap-33.72_x");
    }
}
