//! `sigap-server coverage show|verify`.

use std::process::ExitCode;

use sigap_shared::AreaCode;

use super::{CommandError, usage};
use crate::cli::CoverageCommand;
use crate::coverage::{CoverageNode, CoverageReport, MAX_DEPTH, build, counted_through};
use crate::engine;
use crate::store::Store;

pub fn run(store: &dyn Store, cmd: CoverageCommand) -> Result<ExitCode, CommandError> {
    match cmd {
        CoverageCommand::Show {
            area,
            year,
            depth,
            json,
        } => {
            let code = AreaCode::parse(&area).map_err(|e| usage(format!("--area: {e}")))?;
            if depth > MAX_DEPTH {
                return Err(usage(format!("--depth must be 0 to {MAX_DEPTH}")));
            }
            let this_year = sigap_shared::today().year();
            let year = year.unwrap_or(this_year);
            let data = store.area_data(&code, year, counted_through(year, this_year))?;
            let root = build(&code, year, depth, &data);
            if json {
                let report = CoverageReport {
                    protocol: sigap_shared::PROTOCOL_VERSION,
                    root,
                };
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| usage(e.to_string()))?
                );
            } else {
                println!(
                    "{:<44} {:>10} {:>10} {:>9} {:>8} {:>8} {:>10}",
                    "AREA", "COVERED", "WORKING", "COVERAGE", "TARGET", "GAP", "NEEDED"
                );
                print_node(&root, 0);
            }
            Ok(ExitCode::SUCCESS)
        }
        CoverageCommand::Verify { json } => {
            let report = store.verify_counters()?;
            if json {
                let v = serde_json::json!({
                    "ok": report.differences.is_empty(),
                    "persons": report.persons,
                    "counters": report.counters,
                    "differences": report.differences,
                });
                println!("{v}");
            } else if report.differences.is_empty() {
                println!(
                    "coverage counters match a recount of {} persons ({} counters)",
                    report.persons, report.counters
                );
            } else {
                for d in &report.differences {
                    let since = match d.since_year {
                        engine::SINCE_ALWAYS => "undated roll rows".to_string(),
                        y => format!("covered since {y}"),
                    };
                    println!(
                        "{} {} ({since}): stored {} but recount gives {}",
                        d.area, d.category, d.stored, d.expected
                    );
                }
                println!(
                    "{} of {} counters differ from a recount of {} persons",
                    report.differences.len(),
                    report.counters,
                    report.persons
                );
            }
            Ok(if report.differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_node(n: &CoverageNode, indent: usize) {
    let label = match &n.name {
        Some(name) => format!("{}{} {}", "  ".repeat(indent), n.area, name),
        None => format!("{}{}", "  ".repeat(indent), n.area),
    };
    let f = &n.figures;
    let wp = if n.baseline_set {
        f.working_population.to_string()
    } else {
        "-".to_string()
    };
    println!(
        "{:<44} {:>10} {:>10} {:>9} {:>8} {:>8} {:>10}",
        label,
        f.covered,
        wp,
        f.coverage,
        f.target_percent
            .map(|p| format!("{p}%"))
            .unwrap_or_else(|| "-".into()),
        f.gap_points.clone().unwrap_or_else(|| "-".into()),
        f.additional_needed
            .map(|x| x.to_string())
            .unwrap_or_else(|| "-".into()),
    );
    for c in &n.children {
        print_node(c, indent + 1);
    }
}
