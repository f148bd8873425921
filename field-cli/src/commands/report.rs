//! `sigap report`: a supervisor's figures over HTTP (coverage per area or
//! category, agents, history), as a table, JSON, CSV or Excel.

use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;
use sigap_shared::coverage::{Figures, Percent};
use sigap_shared::{AreaCode, Lang, wilayah};

use crate::cli::{ReportArgs, ReportBy};
use crate::error::{CliError, exit};
use crate::i18n::t;
use crate::output;
use crate::sheet::Sheet;
use crate::store::Store;
use crate::sync::client::Client;

/// Numbers in tables and files: Indonesian style, as supervisors read them.
const LANG: Lang = Lang::Id;

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
    let (raw, sheet) = if args.history || args.by == Some(ReportBy::Day) {
        history(&client, &area, args.year, args.by == Some(ReportBy::Day))?
    } else {
        match args.by.unwrap_or(ReportBy::Area) {
            ReportBy::Agent => agents(&client, &area, args.year)?,
            ReportBy::Category => {
                let (raw, node) = coverage(&client, &area, args.year, 0)?;
                (raw, by_category(&node))
            }
            ReportBy::Area | ReportBy::Day => {
                let (raw, node) = coverage(&client, &area, args.year, args.depth.unwrap_or(1))?;
                (raw, by_area(&node))
            }
        }
    };
    let sheet = Sheet {
        area: label(&area),
        date: LANG.date(today),
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
    let me: Me = client.get_json("token", "/api/v1/me")?;
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
    let raw: Value = client.get_json("coverage", &path)?;
    let node: Node = serde_json::from_value(raw.clone())
        .map_err(|e| CliError::Refused(t!("report-coverage-unreadable", detail = e)))?;
    Ok((raw, node))
}

fn percent_bp(bp: u32) -> String {
    LANG.percent(Percent(bp))
}

fn by_area(root: &Node) -> Sheet {
    let mut rows = Vec::new();
    fn walk(n: &Node, depth: usize, rows: &mut Vec<Vec<String>>) {
        let f = &n.figures;
        let indent = "  ".repeat(depth);
        rows.push(vec![
            format!("{indent}{}", n.area),
            n.name.clone().unwrap_or_default(),
            LANG.int(f.covered),
            if n.baseline_set {
                LANG.int(f.working_population)
            } else {
                "-".into()
            },
            if n.baseline_set {
                percent_bp(f.coverage_bp)
            } else {
                "-".into()
            },
            f.target_percent
                .map(|p| LANG.percent(p))
                .unwrap_or_else(|| "-".into()),
            f.gap_bp
                .map(|g| LANG.points(g))
                .unwrap_or_else(|| "-".into()),
            f.additional_needed
                .map(|n| LANG.int(n))
                .unwrap_or_else(|| "-".into()),
        ]);
        for c in &n.children {
            walk(c, depth + 1, rows);
        }
    }
    walk(root, 0, &mut rows);
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

fn by_category(n: &Node) -> Sheet {
    let c = &n.by_category;
    let total = c.pu + c.bpu + c.jakon + c.pmi;
    let share = |k: u64| {
        // Share of the covered, truncated to basis points like coverage.
        let bp = (k * 10_000).checked_div(total).unwrap_or(0);
        percent_bp(u32::try_from(bp).unwrap_or(0))
    };
    let rows = [
        ("PU".to_string(), c.pu),
        ("BPU".to_string(), c.bpu),
        ("Jakon".to_string(), c.jakon),
        ("PMI".to_string(), c.pmi),
        (t!("report-total"), total),
    ]
    .iter()
    .map(|(name, k)| vec![name.to_string(), LANG.int(*k), share(*k)])
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

fn history(
    client: &Client,
    area: &AreaCode,
    year: Option<i32>,
    per_day: bool,
) -> Result<(Value, Sheet), CliError> {
    let path = format!("/api/v1/coverage/history?area={area}{}", year_range(year));
    let raw: Value = client.get_json("coverage history", &path)?;
    let json_text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let int = |v: &Value| {
        v.as_u64()
            .map(|n| LANG.int(n))
            .unwrap_or_else(|| "-".into())
    };
    let bp = |v: &Value| {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(percent_bp)
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
                    target_of(d),
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
    Ok((
        raw,
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
        },
    ))
}

/// A day's target percent, from the `target_percent` text the server
/// writes ("57.02"), in Indonesian style.
fn target_of(d: &Value) -> String {
    d["target_percent"]
        .as_str()
        .and_then(|t| Percent::parse(t).ok())
        .map(|p| LANG.percent(p))
        .unwrap_or_else(|| "-".into())
}

fn agents(client: &Client, area: &AreaCode, year: Option<i32>) -> Result<(Value, Sheet), CliError> {
    let path = format!("/api/v1/agents?area={area}{}", year_range(year));
    let raw: Value = client.get_json("agents", &path)?;
    let n = |v: &Value| LANG.int(v.as_u64().unwrap_or(0));
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
                LANG.int(pending),
            ]
        })
        .collect();
    Ok((
        raw,
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
        },
    ))
}
