//! `/agents?area=&from=&to=`: what each agent did per day in an area
//! (registrations, edits, voids, merged, rejections, RTs visited against
//! the RTs known in the kelurahan) and when each device last synced, from
//! the store's activity (the numbers of `GET /api/v1/agents`).

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use sigap_shared::{AreaCode, Lang};

use super::errors::WebError;
use super::export::{self, Heading, Output};
use super::figures::NONE;
use super::i18n::t;
use super::progress::{asked_area, asked_range, format_day};
use super::session::{PageCtx, Session};
use super::table::{Cell, Column, Row, Table};
use super::{blocking, render};
use crate::coverage::area_display_name;
use crate::http::AppState;
use crate::store::sqlite::history::day_of_millis;
use crate::store::{Activity, AgentDay, DeviceSeen};

#[derive(Deserialize)]
pub struct AgentsQuery {
    area: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    /// Which table to export: `days` (default) or `devices`.
    table: Option<String>,
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    page: PageCtx,
    area_name: String,
    area_code: String,
    from: String,
    to: String,
    period: String,
    table: Table,
    devices: Table,
}

/// Days shown when `from` is not given (as the API).
const DEFAULT_DAYS: i64 = 14;

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AgentsQuery>,
) -> Result<Response, WebError> {
    let lang = session.lang;
    let area = asked_area(&session, q.area.as_deref())?;
    let today = sigap_shared::today();
    let (from, to) = asked_range(q.from.as_deref(), q.to.as_deref(), today, DEFAULT_DAYS)?;
    let output = Output::parse(q.format.as_deref())?;
    let store = state.store.clone();
    let activity = blocking(move || store.activity(&area, from, to)).await?;
    let name = area_display_name(&area).unwrap_or_else(|| area.to_string());
    let period = format!("{} – {}", lang.date(from), lang.date(to));
    let base = format!(
        "/agents?area={area}&from={}&to={}&",
        format_day(from),
        format_day(to)
    );
    let days = days_table(lang, &activity, base.clone());
    let devices = devices_table(lang, &activity.devices, format!("{base}table=devices&"));
    if output != Output::Html {
        let (what, table) = match q.table.as_deref() {
            Some("devices") => ("agents-devices", devices),
            None | Some("") | Some("days") => ("agents-title", days),
            Some(other) => return Err(WebError::bad("err-table", format!("table={other}"))),
        };
        let heading = Heading {
            title: format!("{} {name} ({area})", t(lang, what)),
            lines: vec![
                format!("{}: {period}", t(lang, "export-period")),
                format!("{}: {}", t(lang, "export-date"), lang.date(today)),
            ],
            file: format!(
                "sigap-{}-{area}-{}-{}",
                q.table.as_deref().unwrap_or("agents"),
                format_day(from),
                format_day(to)
            ),
        };
        return export::download(output, &heading, &table);
    }
    render(&AgentsPage {
        page: session.page("agents", format!("{} — {name}", t(lang, "nav-agents"))),
        area_name: name,
        area_code: area.to_string(),
        from: format_day(from),
        to: format_day(to),
        period,
        table: days,
        devices,
    })
}

/// The kelurahan of a visited RT (`kelurahan/RW/RT`).
fn kelurahan_of(rt: &str) -> Option<AreaCode> {
    AreaCode::parse(rt.split('/').next()?).ok()
}

/// The RTs known in the kelurahan an agent visited that day.
fn known_rts_of(day: &AgentDay, known: &BTreeMap<AreaCode, u64>) -> Option<u64> {
    let kelurahan: BTreeSet<AreaCode> = day
        .rts_visited
        .iter()
        .filter_map(|r| kelurahan_of(r))
        .collect();
    if kelurahan.is_empty() {
        return None;
    }
    Some(
        kelurahan
            .iter()
            .map(|k| known.get(k).copied().unwrap_or(0))
            .sum(),
    )
}

fn days_table(lang: Lang, activity: &Activity, base: String) -> Table {
    let known: BTreeMap<AreaCode, u64> = activity.known_rts.iter().copied().collect();
    let columns = vec![
        Column::text(t(lang, "col-agent"), "agent"),
        Column::text(t(lang, "col-day"), "day"),
        Column::number(t(lang, "col-registrations"), "registrations"),
        Column::number(t(lang, "col-edits"), "edits"),
        Column::number(t(lang, "col-voids"), "voids"),
        Column::number(t(lang, "col-merged"), "merged"),
        Column::number(t(lang, "col-rejections"), "rejections"),
        Column::number(t(lang, "col-rts-visited"), "rts"),
        Column::number(t(lang, "col-rts-known"), "known_rts"),
        Column::text(t(lang, "col-kelurahan"), "kelurahan"),
    ];
    let rows = activity
        .days
        .iter()
        .map(|d| {
            let day = time::Date::parse(
                &d.day,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map(|day| lang.short_date(day))
            .unwrap_or_else(|_| d.day.clone());
            let kelurahan: BTreeSet<AreaCode> = d
                .rts_visited
                .iter()
                .filter_map(|r| kelurahan_of(r))
                .collect();
            let names: Vec<String> = kelurahan
                .iter()
                .map(|k| area_display_name(k).unwrap_or_else(|| k.to_string()))
                .collect();
            Row {
                key: format!("{}/{}", d.agent, d.day),
                cells: vec![
                    Cell::text(d.agent.clone()),
                    Cell::text(day),
                    Cell::text(lang.int(d.registrations)),
                    Cell::text(lang.int(d.edits)),
                    Cell::text(lang.int(d.voids)),
                    Cell::text(lang.int(d.merged)),
                    Cell::text(lang.int(d.rejections)),
                    Cell::text(lang.int(u64::try_from(d.rts_visited.len()).unwrap_or(u64::MAX))),
                    Cell::text(known_rts_of(d, &known).map_or(NONE.into(), |n| lang.int(n))),
                    Cell::text(if names.is_empty() {
                        NONE.to_string()
                    } else {
                        names.join(", ")
                    }),
                ],
                bar: None,
            }
        })
        .collect();
    Table {
        id: "agent-days",
        columns,
        rows,
        bar_label: None,
        sort: None,
        base,
    }
}

/// Unix milliseconds as a date and UTC time of day.
fn moment(lang: Lang, millis: i64) -> String {
    let day = day_of_millis(millis);
    let of_day = millis.rem_euclid(86_400_000) / 60_000;
    format!(
        "{} {:02}:{:02} UTC",
        lang.short_date(day),
        of_day / 60,
        of_day % 60
    )
}

fn devices_table(lang: Lang, devices: &[DeviceSeen], base: String) -> Table {
    let columns = vec![
        Column::text(t(lang, "col-agent"), "agent"),
        Column::text(t(lang, "col-device"), "device"),
        Column::text(t(lang, "col-last-sync"), "last_sync"),
        Column::number(t(lang, "col-pending"), "pending"),
    ];
    let mut devices: Vec<&DeviceSeen> = devices.iter().collect();
    devices.sort_by(|a, b| a.agent.cmp(&b.agent).then(a.device_id.cmp(&b.device_id)));
    let rows = devices
        .into_iter()
        .map(|d| Row {
            key: d.device_id.to_string(),
            cells: vec![
                Cell::text(d.agent.clone()),
                Cell::text(d.device_id.to_string()),
                Cell::text(d.last_sync_at.map_or(NONE.into(), |m| moment(lang, m))),
                Cell::text(d.pending.map_or(NONE.into(), |n| lang.int(n))),
            ],
            bar: None,
        })
        .collect();
    Table {
        id: "devices",
        columns,
        rows,
        bar_label: None,
        sort: None,
        base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity() -> Activity {
        Activity {
            days: vec![AgentDay {
                agent: "budi".into(),
                day: "2026-11-29".into(),
                registrations: 1200,
                edits: 2,
                voids: 1,
                merged: 3,
                rejections: 4,
                rts_visited: vec!["33.72.01.1001/1/2".into(), "33.72.01.1001/1/3".into()],
            }],
            devices: vec![DeviceSeen {
                agent: "budi".into(),
                device_id: uuid::Uuid::nil(),
                last_sync_at: Some(1_764_426_600_000),
                pending: Some(7),
            }],
            known_rts: vec![(AreaCode::parse("33.72.01.1001").unwrap(), 12)],
        }
    }

    #[test]
    fn a_day_row_prints_the_counts_and_the_rts_against_the_kelurahans() {
        let t = days_table(Lang::Id, &activity(), "/agents?".into());
        let cells: Vec<&str> = t.rows[0].cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            &cells[..9],
            [
                "budi",
                "29 Nov 2026",
                "1.200",
                "2",
                "1",
                "3",
                "4",
                "2",
                "12"
            ]
        );
        assert_eq!(t.rows[0].key, "budi/2026-11-29");
    }

    #[test]
    fn devices_show_the_last_sync_in_utc_and_the_pending_changes() {
        let a = activity();
        let t = devices_table(Lang::En, &a.devices, "/agents?".into());
        let cells: Vec<&str> = t.rows[0].cells.iter().map(|c| c.text.as_str()).collect();
        // 1 764 426 600 s is 2025-11-29 14:30 UTC.
        assert_eq!(cells[2], "29 Nov 2025 14:30 UTC");
        assert_eq!(cells[3], "7");
    }
}
