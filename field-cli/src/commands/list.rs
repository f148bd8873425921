//! `sigap list`: the people registered on this device.

use std::process::ExitCode;

use crate::cli::ListArgs;
use crate::error::{CliError, exit};
use crate::fields::{parse_kelurahan, parse_number};
use crate::i18n::problems::Worded;
use crate::i18n::{self, t};
use crate::output;
use crate::store::Store;
use crate::store::records::{self, Filter, RecordView};

pub fn run(store: &Store, args: ListArgs, json: bool) -> anyhow::Result<ExitCode> {
    let filter = Filter {
        kelurahan: args
            .kelurahan
            .as_deref()
            .map(parse_kelurahan)
            .transpose()
            .map_err(|m| CliError::Input(format!("--kelurahan: {}", m.local())))?,
        rw: args
            .rw
            .as_deref()
            .map(|s| parse_number("RW", s))
            .transpose()
            .map_err(|p| CliError::Input(p.local()))?,
        rt: args
            .rt
            .as_deref()
            .map(|s| parse_number("RT", s))
            .transpose()
            .map_err(|p| CliError::Input(p.local()))?,
        pending: args.pending,
    };
    let rows = records::list(&store.conn, &filter)?;
    if json {
        let views: Vec<RecordView> = rows.iter().map(RecordView::of).collect();
        output::json(&views)?;
        return Ok(super::code(exit::OK));
    }
    if rows.is_empty() {
        output::line(&t!("list-none"))?;
        return Ok(super::code(exit::OK));
    }
    let mut table = output::table(&[
        t!("col-nik"),
        t!("col-name"),
        t!("col-kelurahan"),
        t!("col-rw"),
        t!("col-rt"),
        t!("col-category"),
        t!("col-status"),
        t!("col-sync"),
    ]);
    for r in &rows {
        let v = RecordView::of(r);
        let kel = if v.kelurahan_name.is_empty() {
            v.kelurahan.clone()
        } else {
            v.kelurahan_name.clone()
        };
        table.add_row([
            v.nik,
            v.name,
            kel,
            v.rw,
            v.rt,
            v.category,
            output::status_text(&v.status),
            output::state_text(&v.sync_state),
        ]);
    }
    output::print_table(&table)?;
    output::line(&t!("list-count", count = i18n::n(rows.len())))?;
    Ok(super::code(exit::OK))
}
