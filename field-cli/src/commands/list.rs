//! `sigap list`: the people registered on this device.

use std::process::ExitCode;

use sigap_shared::area::parse_rw_rt;

use crate::cli::ListArgs;
use crate::error::{CliError, exit};
use crate::fields::parse_kelurahan;
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
            .map_err(|m| CliError::Input(format!("--kelurahan: {m}")))?,
        rw: args
            .rw
            .as_deref()
            .map(|s| parse_rw_rt("RW", s))
            .transpose()
            .map_err(|e| CliError::Input(e.to_string()))?,
        rt: args
            .rt
            .as_deref()
            .map(|s| parse_rw_rt("RT", s))
            .transpose()
            .map_err(|e| CliError::Input(e.to_string()))?,
        pending: args.pending,
    };
    let rows = records::list(&store.conn, &filter)?;
    if json {
        let views: Vec<RecordView> = rows.iter().map(RecordView::of).collect();
        output::json(&views)?;
        return Ok(super::code(exit::OK));
    }
    if rows.is_empty() {
        output::line("no registrations match")?;
        return Ok(super::code(exit::OK));
    }
    let mut t = output::table(&[
        "NIK",
        "Name",
        "Kelurahan",
        "RW",
        "RT",
        "Category",
        "Status",
        "Sync",
    ]);
    for r in &rows {
        let v = RecordView::of(r);
        let kel = if v.kelurahan_name.is_empty() {
            v.kelurahan.clone()
        } else {
            v.kelurahan_name.clone()
        };
        t.add_row([
            v.nik,
            v.name,
            kel,
            v.rw,
            v.rt,
            v.category,
            v.status,
            v.sync_state,
        ]);
    }
    output::print_table(&t)?;
    output::line(&format!("{} registration(s)", rows.len()))?;
    Ok(super::code(exit::OK))
}
