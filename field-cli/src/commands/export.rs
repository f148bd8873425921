//! `sigap export FILE.csv`: registrations as CSV, re-importable.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::ExportArgs;
use crate::error::{CliError, exit};
use crate::i18n::t;
use crate::progress::Progress;
use crate::store::Store;
use crate::store::records::{self, Filter, RecordView};

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

pub fn run(store: &Store, args: ExportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let rows = records::list(&store.conn, &Filter::default())?;
    let sink: Box<dyn Write> = if args.file == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        let f = std::fs::File::create(&args.file).map_err(|e| {
            CliError::Local(t!("export-cannot-write", file = args.file, detail = e))
        })?;
        Box::new(std::io::BufWriter::new(f))
    };
    let mut w = csv::Writer::from_writer(sink);
    w.write_record(COLUMNS)?;
    let mut progress = Progress::new(rows.len() as u64, &t!("progress-exporting"));
    for r in &rows {
        progress.inc(1);
        let v = RecordView::of(r);
        w.write_record([
            &v.nik,
            &v.name,
            &v.birth_date,
            &v.sex,
            &v.kelurahan,
            &v.rw,
            &v.rt,
            &v.category,
            &v.occupation,
            &v.employer,
            &v.phone,
            &v.programs,
            &v.status,
            &v.void_reason,
        ])?;
    }
    w.flush()
        .map_err(|e| CliError::Local(t!("export-cannot-write", file = args.file, detail = e)))?;
    drop(progress);
    if args.file != "-" {
        if json {
            crate::output::json(&serde_json::json!({"exported": rows.len(), "file": args.file}))?;
        } else {
            eprintln!(
                "{}",
                t!(
                    "export-done",
                    count = crate::i18n::n(rows.len()),
                    file = args.file
                )
            );
        }
    }
    Ok(super::code(exit::OK))
}
