//! A report table as the supervisor sees it, and the same cells in a CSV
//! file or an Excel workbook: a title row (what, which area with its
//! name, the date), the header, then the rows exactly as printed.

use std::path::Path;

use comfy_table::CellAlignment;

use crate::error::CliError;
use crate::i18n::t;
use crate::output;

/// A printed table with what it is about.
pub struct Sheet {
    /// `Coverage by area`, `Agents`…
    pub title: String,
    /// The area's name beside its code: `Kota Surakarta (33.72)`.
    pub area: String,
    /// When the figures were read, as people write it.
    pub date: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns from this one on hold numbers (right-aligned).
    pub first_number_column: usize,
}

impl Sheet {
    /// The title line above the table and in the files.
    pub fn title_line(&self) -> Vec<String> {
        vec![self.title.clone(), self.area.clone(), self.date.clone()]
    }

    pub fn print(&self) -> std::io::Result<()> {
        output::line(&self.title_line().join(" · "))?;
        let mut t = output::table(&self.header);
        for r in &self.rows {
            t.add_row(r.iter().map(String::as_str));
        }
        for i in self.first_number_column..self.header.len() {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        output::print_table(&t)
    }

    pub fn write_csv(&self, path: &Path) -> Result<(), CliError> {
        let fail = |e: &dyn std::fmt::Display| {
            CliError::Local(t!("sheet-cannot-write", file = path.display(), detail = e))
        };
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| fail(&e))?;
        w.write_record(self.title_line()).map_err(|e| fail(&e))?;
        w.write_record(&self.header).map_err(|e| fail(&e))?;
        for r in &self.rows {
            w.write_record(r).map_err(|e| fail(&e))?;
        }
        w.flush().map_err(|e| fail(&e))
    }

    pub fn write_xlsx(&self, path: &Path) -> Result<(), CliError> {
        let fail = |e: &dyn std::fmt::Display| {
            CliError::Local(t!("sheet-cannot-write", file = path.display(), detail = e))
        };
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = book.add_worksheet();
        let name: String = self
            .title
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ')
            .take(31)
            .collect();
        sheet.set_name(name).map_err(|e| fail(&e))?;
        // The cells hold the text as the table shows it (numbers in the
        // chosen language's style: 100.512 and 44,24% in Indonesian), not
        // numbers Excel would format again in its own way.
        for (c, text) in self.title_line().iter().enumerate() {
            sheet
                .write_string_with_format(0, col(c), text, &bold)
                .map_err(|e| fail(&e))?;
        }
        for (c, text) in self.header.iter().enumerate() {
            sheet
                .write_string_with_format(2, col(c), text, &bold)
                .map_err(|e| fail(&e))?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = u32::try_from(r + 3).unwrap_or(u32::MAX);
            for (c, text) in row.iter().enumerate() {
                sheet.write_string(r, col(c), text).map_err(|e| fail(&e))?;
            }
        }
        sheet.autofit();
        book.save(path).map_err(|e| fail(&e))
    }
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}
