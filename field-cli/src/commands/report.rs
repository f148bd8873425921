//! `sigap report`: a supervisor's figures over HTTP (coverage per area or
//! category, agents, history), as a table, JSON, CSV or Excel.

use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;
use sigap_shared::coverage::{Figures, Percent};
use sigap_shared::{AreaCode, Lang, wilayah};

use crate::cli::{ReportArgs, ReportBy};
use crate::error::{CliError, exit};
use crate::i18n::{self, t};
use crate::output;
use crate::sheet::Sheet;
use crate::store::Store;
use crate::sync::client::Client;

#[derive(Debug, Deserialize)]
struct Counts {
    pu: u64,
    bpu: u64,
    jakon: u64,
    pmi: u64,
}

#[derive(Debug, Deserialize)]
struct Node {
    area: AreaCode,
    name: Option<String>,
    figures: Figures,
    baseline_set: bool,
    by_category: Counts,
    #[serde(default)]
    children: Vec<Node>,
}

#[derive(Debug, Deserialize)]
pub struct Me {
    pub name: String,
    pub role: String,
    pub areas: Vec<AreaCode>,
}

pub fn run(store: &Store, args: ReportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let client = super::server_client(store)?;
    let area = match &args.area {
        Some(text) => AreaCode::parse(text).map_err(|e| {
            CliError::Input(t!(
                "report-bad-area",
                text = format!("{text:?}"),
                detail = e
            ))
        })?,
        None => default_area(&client)?,
    };
    if let Some(y) = args.year
        && !(1900..=9999).contains(&y)
    {
        return Err(CliError::Input(t!("report-bad-year", year = y)).into());
    }
    let today = sigap_shared::today();
    // Numbers and dates in the tables and files are written in the chosen
    // language's style (1.234,5 / 1,234.5); `--json` keeps the server's
    // raw numbers.
    let lang = i18n::lang();
    let (raw, sheet) = if args.history || args.by == Some(ReportBy::Day) {
        let raw = history(&client, &area, args.year)?;
        let sheet = history_sheet(&raw, args.by == Some(ReportBy::Day), lang);
        (raw, sheet)
    } else {
        match args.by.unwrap_or(ReportBy::Area) {
            ReportBy::Agent => {
                let raw = agents(&client, &area, args.year)?;
                let sheet = agents_sheet(&raw, lang);
                (raw, sheet)
            }
            ReportBy::Category => {
                let (raw, node) = coverage(&client, &area, args.year, 0)?;
                (raw, by_category(&node, lang))
            }
            ReportBy::Area | ReportBy::Day => {
                let (raw, node) = coverage(&client, &area, args.year, args.depth.unwrap_or(1))?;
                (raw, by_area(&node, lang))
            }
        }
    };
    let sheet = Sheet {
        area: label(&area),
        date: lang.date(today),
        ..sheet
    };
    if let Some(path) = &args.csv {
        sheet.write_csv(path)?;
        eprintln!("{}", t!("report-written", file = path.display()));
    }
    if let Some(path) = &args.xlsx {
        sheet.write_xlsx(path)?;
        eprintln!("{}", t!("report-written", file = path.display()));
    }
    if json {
        output::json(&raw)?;
    } else if args.csv.is_none() && args.xlsx.is_none() {
        sheet.print()?;
    }
    Ok(super::code(exit::OK))
}

/// The token's first area, when `--area` is not given.
fn default_area(client: &Client) -> Result<AreaCode, CliError> {
    let me: Me = client.get_json(&t!("request-token"), "/api/v1/me")?;
    me.areas.first().copied().ok_or_else(|| {
        CliError::Input(t!(
            "report-token-every-area",
            name = format!("{:?}", me.name)
        ))
    })
}

fn label(area: &AreaCode) -> String {
    wilayah::area_label(area)
}

fn coverage(
    client: &Client,
    area: &AreaCode,
    year: Option<i32>,
    depth: u8,
) -> Result<(Value, Node), CliError> {
    let mut path = format!("/api/v1/coverage?area={area}&depth={depth}");
    if let Some(y) = year {
        path.push_str(&format!("&year={y}"));
    }
    let raw: Value = client.get_json(&t!("request-coverage"), &path)?;
    let node: Node = serde_json::from_value(raw.clone())
        .map_err(|e| CliError::Refused(t!("report-coverage-unreadable", detail = e)))?;
    Ok((raw, node))
}

fn by_area(root: &Node, lang: Lang) -> Sheet {
    let mut rows = Vec::new();
    fn walk(n: &Node, depth: usize, lang: Lang, rows: &mut Vec<Vec<String>>) {
        let f = &n.figures;
        let indent = "  ".repeat(depth);
        rows.push(vec![
            format!("{indent}{}", n.area),
            n.name.clone().unwrap_or_default(),
            lang.int(f.covered),
            if n.baseline_set {
                lang.int(f.working_population)
            } else {
                "-".into()
            },
            if n.baseline_set {
                lang.percent(Percent(f.coverage_bp))
            } else {
                "-".into()
            },
            f.target_percent
                .map(|p| lang.percent(p))
                .unwrap_or_else(|| "-".into()),
            f.gap_bp
                .map(|g| lang.points(g))
                .unwrap_or_else(|| "-".into()),
            f.additional_needed
                .map(|n| lang.int(n))
                .unwrap_or_else(|| "-".into()),
        ]);
        for c in &n.children {
            walk(c, depth + 1, lang, rows);
        }
    }
    walk(root, 0, lang, &mut rows);
    Sheet {
        title: t!("report-title-area"),
        area: String::new(),
        date: String::new(),
        header: vec![
            t!("report-col-code"),
            t!("report-col-name"),
            t!("report-col-covered"),
            t!("report-col-working-population"),
            t!("report-col-coverage"),
            t!("report-col-target"),
            t!("report-col-gap"),
            t!("report-col-still-needed"),
        ],
        rows,
        first_number_column: 2,
    }
}

fn by_category(n: &Node, lang: Lang) -> Sheet {
    let c = &n.by_category;
    let total = c.pu + c.bpu + c.jakon + c.pmi;
    let share = |k: u64| {
        // Share of the covered, truncated to basis points like coverage.
        let bp = (k * 10_000).checked_div(total).unwrap_or(0);
        lang.percent(Percent(u32::try_from(bp).unwrap_or(0)))
    };
    let rows = [
        ("PU".to_string(), c.pu),
        ("BPU".to_string(), c.bpu),
        ("Jakon".to_string(), c.jakon),
        ("PMI".to_string(), c.pmi),
        (t!("report-total"), total),
    ]
    .iter()
    .map(|(name, k)| vec![name.to_string(), lang.int(*k), share(*k)])
    .collect();
    Sheet {
        title: t!("report-title-category"),
        area: String::new(),
        date: String::new(),
        header: vec![
            t!("report-col-category"),
            t!("report-col-covered"),
            t!("report-col-share"),
        ],
        rows,
        first_number_column: 1,
    }
}

/// `from` and `to` of a year (to today for this year), or the server's
/// default range.
fn year_range(year: Option<i32>) -> String {
    let today = sigap_shared::today();
    match year {
        Some(y) if y >= today.year() => format!("&from={}-01-01&to={today}", today.year()),
        Some(y) => format!("&from={y}-01-01&to={y}-12-31"),
        None => String::new(),
    }
}

fn history(client: &Client, area: &AreaCode, year: Option<i32>) -> Result<Value, CliError> {
    let path = format!("/api/v1/coverage/history?area={area}{}", year_range(year));
    client.get_json(&t!("request-coverage-history"), &path)
}

/// The coverage history (per ISO week, or per day) as a table in `lang`'s
/// style.
fn history_sheet(raw: &Value, per_day: bool, lang: Lang) -> Sheet {
    let json_text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let int = |v: &Value| {
        v.as_u64()
            .map(|n| lang.int(n))
            .unwrap_or_else(|| "-".into())
    };
    let bp = |v: &Value| {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(|n| lang.percent(Percent(n)))
            .unwrap_or_else(|| "-".into())
    };
    let list = |key: &str| raw[key].as_array().cloned().unwrap_or_default();
    let (title, header, rows) = if per_day {
        let rows = list("days")
            .iter()
            .map(|d| {
                vec![
                    json_text(&d["date"]),
                    int(&d["covered"]),
                    int(&d["working_population"]),
                    bp(&d["coverage_bp"]),
                    target_of(d, lang),
                    int(&d["registrations"]),
                ]
            })
            .collect();
        (t!("report-title-day"), t!("report-col-date"), rows)
    } else {
        let rows = list("weeks")
            .iter()
            .map(|w| {
                vec![
                    format!(
                        "{} ({} – {})",
                        json_text(&w["week"]),
                        json_text(&w["start"]),
                        json_text(&w["end"])
                    ),
                    int(&w["covered"]),
                    int(&w["working_population"]),
                    bp(&w["coverage_bp"]),
                    bp(&w["target_bp"]),
                    int(&w["registrations"]),
                ]
            })
            .collect();
        (t!("report-title-week"), t!("report-col-week"), rows)
    };
    Sheet {
        title,
        area: String::new(),
        date: String::new(),
        header: vec![
            header,
            t!("report-col-covered"),
            t!("report-col-working-population"),
            t!("report-col-coverage"),
            t!("report-col-target"),
            t!("report-col-registrations"),
        ],
        rows,
        first_number_column: 1,
    }
}

/// A day's target percent, from the `target_percent` text the server
/// writes ("57.02"), in `lang`'s style.
fn target_of(d: &Value, lang: Lang) -> String {
    d["target_percent"]
        .as_str()
        .and_then(|t| Percent::parse(t).ok())
        .map(|p| lang.percent(p))
        .unwrap_or_else(|| "-".into())
}

fn agents(client: &Client, area: &AreaCode, year: Option<i32>) -> Result<Value, CliError> {
    let path = format!("/api/v1/agents?area={area}{}", year_range(year));
    client.get_json(&t!("request-agents"), &path)
}

/// The agents' totals as a table in `lang`'s style.
fn agents_sheet(raw: &Value, lang: Lang) -> Sheet {
    let n = |v: &Value| lang.int(v.as_u64().unwrap_or(0));
    let rows = raw["agents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let t = &a["totals"];
            let devices = a["devices"].as_array().cloned().unwrap_or_default();
            // RFC 3339 from the server, shown to the minute.
            let last = devices
                .iter()
                .filter_map(|d| d["last_sync_at"].as_str())
                .max()
                .map(|t| format!("{} UTC", t.get(..16).unwrap_or(t).replace('T', " ")))
                .unwrap_or_else(|| "-".into());
            let pending: u64 = devices.iter().filter_map(|d| d["pending"].as_u64()).sum();
            vec![
                a["agent"].as_str().unwrap_or_default().to_string(),
                n(&t["registrations"]),
                n(&t["edits"]),
                n(&t["voids"]),
                n(&t["merged"]),
                n(&t["rejections"]),
                n(&t["rts_visited"]),
                last,
                lang.int(pending),
            ]
        })
        .collect();
    Sheet {
        title: t!("report-title-agents"),
        area: String::new(),
        date: String::new(),
        header: vec![
            t!("report-col-agent"),
            t!("report-col-registrations"),
            t!("report-col-edits"),
            t!("report-col-voids"),
            t!("report-col-merged"),
            t!("report-col-rejections"),
            t!("report-col-rt-visits"),
            t!("report-col-last-sync"),
            t!("report-col-pending"),
        ],
        rows,
        first_number_column: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        serde_json::from_value(serde_json::json!({
            "area": "33.72.01",
            "name": "Laweyan",
            "figures": {
                "covered": 1234, "working_population": 5000, "uncovered": 3766,
                "coverage_bp": 2468, "coverage": "24.68%", "target_percent": "57.02",
                "gap_bp": 3234, "additional_needed": 1617
            },
            "baseline_set": true,
            "by_category": {"pu": 0, "bpu": 1234, "jakon": 0, "pmi": 0}
        }))
        .unwrap()
    }

    #[test]
    fn numbers_follow_the_chosen_language() {
        let id = by_area(&node(), Lang::Id);
        assert_eq!(
            id.rows[0][2..],
            ["1.234", "5.000", "24,68%", "57,02%", "32,34", "1.617"]
        );
        let en = by_area(&node(), Lang::En);
        assert_eq!(
            en.rows[0][2..],
            ["1,234", "5,000", "24.68%", "57.02%", "32.34", "1,617"]
        );
        assert_eq!(
            by_category(&node(), Lang::En).rows[4][1..],
            ["1,234", "100.00%"]
        );
        assert_eq!(
            by_category(&node(), Lang::Id).rows[4][1..],
            ["1.234", "100,00%"]
        );
    }

    #[test]
    fn history_and_agents_follow_the_chosen_language() {
        let raw = serde_json::json!({
            "days": [{"date": "2026-11-29", "covered": 1234, "working_population": 5000,
                "coverage_bp": 2468, "target_percent": "57.02", "registrations": 1001}],
            "agents": [{"agent": "ani", "totals": {"registrations": 1001, "edits": 0,
                "voids": 0, "merged": 0, "rejections": 0, "rts_visited": 2},
                "devices": [{"pending": 1500}]}]
        });
        assert_eq!(
            history_sheet(&raw, true, Lang::En).rows[0][1..],
            ["1,234", "5,000", "24.68%", "57.02%", "1,001"]
        );
        assert_eq!(
            history_sheet(&raw, true, Lang::Id).rows[0][1..],
            ["1.234", "5.000", "24,68%", "57,02%", "1.001"]
        );
        let en = agents_sheet(&raw, Lang::En);
        assert_eq!(
            (en.rows[0][1].as_str(), en.rows[0][8].as_str()),
            ("1,001", "1,500")
        );
        let id = agents_sheet(&raw, Lang::Id);
        assert_eq!(
            (id.rows[0][1].as_str(), id.rows[0][8].as_str()),
            ("1.001", "1.500")
        );
    }
}
