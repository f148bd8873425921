//! `/progress?area=&from=&to=`: an area's coverage per ISO week against
//! its target, from the server's daily snapshots (the numbers of
//! `GET /api/v1/coverage/history`), as a chart and an exportable table.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use sigap_shared::coverage::Percent;
use sigap_shared::{AreaCode, Lang, Level};
use time::macros::format_description;
use time::{Date, Duration};

use super::charts::{self, WeekBar};
use super::errors::WebError;
use super::export::{self, Heading, Output};
use super::figures::NONE;
use super::i18n::t;
use super::session::{PageCtx, Session};
use super::table::{Cell, Column, Row, Table};
use super::{blocking, render};
use crate::coverage::area_display_name;
use crate::http::AppState;
use crate::store::sqlite::history::MAX_HISTORY_DAYS;
use crate::weekly::{Week, weeks};

#[derive(Deserialize)]
pub struct ProgressQuery {
    area: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "progress.html")]
struct ProgressPage {
    page: PageCtx,
    area_name: String,
    area_code: String,
    from: String,
    to: String,
    period: String,
    chart: Option<String>,
    chart_title: String,
    table: Table,
}

/// Days shown when `from` is not given (as the API).
const DEFAULT_DAYS: i64 = 90;

const DAY: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// A `YYYY-MM-DD` day.
pub(super) fn format_day(d: Date) -> String {
    d.format(DAY).unwrap_or_default()
}

/// The area asked for, or the session's first; it must be the token's.
pub(super) fn asked_area(session: &Session, text: Option<&str>) -> Result<AreaCode, WebError> {
    let area = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => {
            AreaCode::parse(text).map_err(|e| WebError::bad("err-area-code", e.to_string()))?
        }
        None => *session
            .top_areas()
            .first()
            .ok_or_else(|| WebError::Outside("-".into()))?,
    };
    session.require_area(&area)?;
    Ok(area)
}

/// The days asked for, as the API reads them: `to` defaults to `today`,
/// `from` to `default_days` before `to`; `to` before `from` and ranges
/// over three years are refused.
pub(super) fn asked_range(
    from: Option<&str>,
    to: Option<&str>,
    today: Date,
    default_days: i64,
) -> Result<(Date, Date), WebError> {
    let parse = |text: &str| {
        Date::parse(text.trim(), DAY).map_err(|_| WebError::bad("err-date", text.to_string()))
    };
    let to = filled(to).map(parse).transpose()?.unwrap_or(today);
    let from = filled(from)
        .map(parse)
        .transpose()?
        .unwrap_or_else(|| to - Duration::days(default_days - 1));
    if to < from {
        return Err(WebError::bad(
            "err-range",
            format!("{} > {}", format_day(from), format_day(to)),
        ));
    }
    if (to - from).whole_days() >= MAX_HISTORY_DAYS {
        return Err(WebError::bad(
            "err-range-long",
            format!("{} – {}", format_day(from), format_day(to)),
        ));
    }
    Ok((from, to))
}

/// A query value that is given and not blank.
fn filled(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ProgressQuery>,
) -> Result<Response, WebError> {
    let lang = session.lang;
    let area = asked_area(&session, q.area.as_deref())?;
    if matches!(area.level(), Level::Rw | Level::Rt) {
        return Err(WebError::bad("err-area-too-fine", area.to_string()));
    }
    let today = sigap_shared::today();
    let (from, to) = asked_range(q.from.as_deref(), q.to.as_deref(), today, DEFAULT_DAYS)?;
    let output = Output::parse(q.format.as_deref())?;
    let store = state.store.clone();
    let rows = blocking(move || store.coverage_history(&area, from, to)).await?;
    let weeks = weeks(&rows, from, to);
    let name = area_display_name(&area).unwrap_or_else(|| area.to_string());
    let period = format!("{} – {}", lang.date(from), lang.date(to));
    let table = week_table(
        lang,
        &weeks,
        format!(
            "/progress?area={area}&from={}&to={}&",
            format_day(from),
            format_day(to)
        ),
    );
    if output != Output::Html {
        let heading = Heading {
            title: format!("{} {name} ({area})", t(lang, "progress-title")),
            lines: vec![
                format!("{}: {period}", t(lang, "export-period")),
                format!("{}: {}", t(lang, "export-date"), lang.date(today)),
            ],
            file: format!(
                "sigap-progress-{area}-{}-{}",
                format_day(from),
                format_day(to)
            ),
        };
        return export::download(output, &heading, &table);
    }
    let chart_title = t(lang, "progress-chart");
    let bars: Vec<WeekBar> = weeks
        .iter()
        .map(|w| WeekBar {
            label: w.label.clone(),
            coverage_bp: if w.baseline_set {
                w.figures.coverage_bp
            } else {
                0
            },
            target_bp: w.figures.target_percent.map(|p| p.0),
            value: coverage_text(lang, w),
        })
        .collect();
    let chart = (!bars.is_empty()).then(|| charts::progress_chart(&bars, &chart_title));
    render(&ProgressPage {
        page: session.page("progress", format!("{} — {name}", t(lang, "nav-progress"))),
        area_name: name,
        area_code: area.to_string(),
        from: format_day(from),
        to: format_day(to),
        period,
        chart,
        chart_title,
        table,
    })
}

fn coverage_text(lang: Lang, w: &Week) -> String {
    if w.baseline_set {
        lang.percent(Percent(w.figures.coverage_bp))
    } else {
        NONE.into()
    }
}

fn week_table(lang: Lang, weeks: &[Week], base: String) -> Table {
    let columns = vec![
        Column::text(t(lang, "col-week"), "week"),
        Column::text(t(lang, "col-from"), "start"),
        Column::text(t(lang, "col-to"), "end"),
        Column::number(t(lang, "col-registrations"), "registrations"),
        Column::number(t(lang, "col-covered"), "covered"),
        Column::number(t(lang, "col-population"), "population"),
        Column::number(t(lang, "col-coverage"), "coverage"),
        Column::number(t(lang, "col-target"), "target"),
        Column::number(t(lang, "col-gap"), "gap"),
    ];
    let rows = weeks
        .iter()
        .map(|w| {
            let f = &w.figures;
            let with_baseline = |s: String| if w.baseline_set { s } else { NONE.into() };
            Row {
                key: w.label.clone(),
                cells: vec![
                    Cell::text(w.label.clone()),
                    Cell::text(lang.short_date(w.start)),
                    Cell::text(lang.short_date(w.end)),
                    Cell::text(lang.int(w.registrations)),
                    Cell::text(lang.int(f.covered)),
                    Cell::text(with_baseline(lang.int(f.working_population))),
                    Cell::text(coverage_text(lang, w)),
                    Cell::text(f.target_percent.map_or(NONE.into(), |p| lang.percent(p))),
                    Cell::text(f.gap_bp.map_or(NONE.into(), |g| lang.points(g))),
                ],
                bar: None,
            }
        })
        .collect();
    Table {
        id: "weeks",
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
    use crate::store::HistoryRow;
    use sigap_shared::coverage::Target;
    use time::macros::date;

    fn snapshot(day: Date, covered: u64, registrations: u64) -> HistoryRow {
        HistoryRow {
            day,
            snapshot: true,
            by_category: [covered, 0, 0, 0],
            working_population: Some(1_000),
            target: Some(Target {
                percent: Percent(5702),
                count: None,
            }),
            registrations,
        }
    }

    #[test]
    fn a_week_has_its_last_days_figures_and_all_its_registrations() {
        // Sunday 22 Nov 2026 closes W47; 23–29 Nov is W48.
        let rows = [
            snapshot(date!(2026 - 11 - 20), 100, 0),
            snapshot(date!(2026 - 11 - 23), 110, 10),
            HistoryRow {
                registrations: 5,
                ..HistoryRow::empty(date!(2026 - 11 - 25))
            },
            snapshot(date!(2026 - 11 - 27), 120, 3),
        ];
        let w = weeks(&rows, date!(2026 - 11 - 21), date!(2026 - 11 - 29));
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].label, "2026-W47");
        assert_eq!(w[0].figures.covered, 100);
        assert_eq!(w[0].start, date!(2026 - 11 - 16));
        assert_eq!(w[1].label, "2026-W48");
        assert_eq!((w[1].registrations, w[1].figures.covered), (18, 120));
        assert_eq!(w[1].end, date!(2026 - 11 - 29));
        let t = week_table(Lang::Id, &w, "/progress?".into());
        let cells: Vec<&str> = t.rows[1].cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            cells,
            [
                "2026-W48",
                "23 Nov 2026",
                "29 Nov 2026",
                "18",
                "120",
                "1.000",
                "12,00%",
                "57,02%",
                "45,02"
            ]
        );
    }

    #[test]
    fn days_before_the_first_snapshot_are_left_out() {
        let rows = [snapshot(date!(2026 - 11 - 27), 1, 1)];
        let w = weeks(&rows, date!(2026 - 11 - 01), date!(2026 - 11 - 29));
        assert_eq!(w.len(), 1);
        assert!(weeks(&[], date!(2026 - 11 - 01), date!(2026 - 11 - 29)).is_empty());
    }

    #[test]
    fn ranges_default_like_the_api_and_refuse_backwards() {
        let today = date!(2026 - 11 - 29);
        let (f, t) = asked_range(None, None, today, 90).unwrap();
        assert_eq!((f, t), (date!(2026 - 09 - 01), today));
        assert!(asked_range(Some("2026-11-30"), None, today, 90).is_err());
        assert!(asked_range(Some("29/11/2026"), None, today, 90).is_err());
        assert!(asked_range(Some("2020-01-01"), None, today, 90).is_err());
    }
}
