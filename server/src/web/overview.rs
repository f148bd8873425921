//! `/`: the overview. The token's top area against its target, a bar per
//! child area (kecamatan for the city) and the weekly pace of
//! registrations against the pace the target needs.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use sigap_shared::{AreaCode, Lang};
use time::{Date, Duration, Month};

use super::charts::{self, AreaBar};
use super::errors::WebError;
use super::export::{self, Heading, Output};
use super::figures::{self, Shown};
use super::i18n::{t, t_args};
use super::session::{PageCtx, Session};
use super::table::{Sort, Table};
use super::{blocking, render};
use crate::coverage::{CoverageNode, node_for};
use crate::http::AppState;

#[derive(Deserialize)]
pub struct OverviewQuery {
    area: Option<String>,
    year: Option<i32>,
    format: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

/// One headline figure.
pub struct Figure {
    pub key: &'static str,
    pub label: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    page: PageCtx,
    area_name: String,
    area_code: String,
    year: i32,
    figures: Vec<Figure>,
    chart: String,
    chart_title: String,
    pace: Option<Pace>,
    table: Table,
    others: Vec<(String, String)>,
}

/// Registrations per week against the pace the target needs.
pub struct Pace {
    pub chart: String,
    pub recent: String,
    pub needed: Option<String>,
}

/// Weeks of history in the pace chart.
const WEEKS: i64 = 8;

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<OverviewQuery>,
) -> Result<Response, WebError> {
    let lang = session.lang;
    let tops = session.top_areas();
    let area = match q.area.as_deref() {
        Some(text) => {
            AreaCode::parse(text).map_err(|e| WebError::bad("err-area-code", e.to_string()))?
        }
        None => *tops.first().ok_or_else(|| WebError::Outside("-".into()))?,
    };
    session.require_area(&area)?;
    let today = sigap_shared::today();
    let year = super::area::checked_year(q.year, today.year())?;
    let output = Output::parse(q.format.as_deref())?;
    let store = state.store.clone();
    let node = blocking(move || node_for(store.as_ref(), &area, year, 1)).await?;
    let name = node.name.clone().unwrap_or_else(|| area.to_string());
    let sort = Sort::from_query(
        q.sort.as_deref(),
        q.dir.as_deref(),
        &figures::SORT_KEYS,
        figures::default_sort(),
    );
    let mut children = node.children.clone();
    figures::sort_nodes(&mut children, &sort);
    let base = format!("/?area={area}&year={year}&");
    let table = figures::area_table(lang, &children, sort, base);
    if output != Output::Html {
        let heading = Heading {
            title: format!("{} {name} ({area}) {year}", t(lang, "export-coverage")),
            lines: vec![format!("{}: {}", t(lang, "export-date"), lang.date(today))],
            file: format!("sigap-{area}-{year}-{today}"),
        };
        return export::download(output, &heading, &table);
    }
    let pace = if year == today.year() {
        let store = state.store.clone();
        let from = today - Duration::days(WEEKS * 7 - 1);
        let from_millis = millis_of(from);
        let per_day =
            blocking(move || store.registrations_per_day(Some(&[area]), from_millis)).await?;
        Some(pace(lang, &node, &per_day, today))
    } else {
        None
    };
    let bars: Vec<AreaBar> = children
        .iter()
        .map(|c| AreaBar {
            label: c.name.clone().unwrap_or_else(|| c.area.to_string()),
            coverage_bp: if c.baseline_set {
                c.figures.coverage_bp
            } else {
                0
            },
            target_bp: figures::target_bp(c),
            value: figures::shown(lang, c).coverage,
        })
        .collect();
    let chart_title = t(lang, "overview-chart");
    let others = tops
        .iter()
        .filter(|a| **a != area)
        .map(|a| (format!("/?area={a}"), sigap_shared::wilayah::area_label(a)))
        .collect();
    render(&OverviewPage {
        page: session.page("overview", format!("{} — {name}", t(lang, "nav-overview"))),
        figures: headline(lang, &node),
        chart: charts::area_chart(&bars, &chart_title),
        chart_title,
        area_name: name,
        area_code: area.to_string(),
        year,
        pace,
        table,
        others,
    })
}

pub(super) fn headline(lang: Lang, node: &CoverageNode) -> Vec<Figure> {
    let Shown {
        covered,
        working_population,
        coverage,
        target,
        gap,
        needed,
        ..
    } = figures::shown(lang, node);
    [
        ("covered", "col-covered", covered),
        ("population", "col-population", working_population),
        ("coverage", "col-coverage", coverage),
        ("target", "col-target", target),
        ("gap", "col-gap", gap),
        ("needed", "col-needed", needed),
    ]
    .into_iter()
    .map(|(key, id, value)| Figure {
        key,
        label: t(lang, id),
        value,
    })
    .collect()
}

/// Unix milliseconds at the start of `d` (UTC).
fn millis_of(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() * 1000
}

/// Days since 1970-01-01 of `d`.
fn day_number(d: Date) -> i64 {
    millis_of(d).div_euclid(86_400_000)
}

fn pace(lang: Lang, node: &CoverageNode, per_day: &[(i64, u64)], today: Date) -> Pace {
    let last = day_number(today);
    let mut weeks: Vec<(String, u64)> = (0..WEEKS)
        .map(|w| {
            let start = today - Duration::days((WEEKS - w) * 7 - 1);
            let month: String = lang.month_name(start.month()).chars().take(3).collect();
            (format!("{} {month}", start.day()), 0)
        })
        .collect();
    for (day, n) in per_day {
        let back = last - day;
        if (0..WEEKS * 7).contains(&back) {
            let w = usize::try_from(WEEKS - 1 - back / 7).unwrap_or(0);
            if let Some(slot) = weeks.get_mut(w) {
                slot.1 += n;
            }
        }
    }
    // The recent pace: the last four weeks' average, rounded down.
    let recent: u64 = weeks.iter().rev().take(4).map(|w| w.1).sum::<u64>() / 4;
    let end = Date::from_calendar_date(today.year(), Month::December, 31).unwrap_or(today);
    let days_left = (end - today).whole_days() + 1;
    let weeks_left = u64::try_from((days_left + 6) / 7).unwrap_or(1).max(1);
    let needed_per_week = node
        .figures
        .additional_needed
        .map(|n| n.div_ceil(weeks_left));
    let needed = needed_per_week.map(|n| {
        t_args(
            lang,
            "pace-needed",
            &[
                ("count", lang.int(n)),
                ("date", lang.date(end)),
                ("weeks", lang.int(weeks_left)),
            ],
        )
    });
    Pace {
        chart: charts::pace_chart(&weeks, needed_per_week, &t(lang, "pace-title")),
        recent: t_args(lang, "pace-recent", &[("count", lang.int(recent))]),
        needed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigap_shared::coverage::{Figures, Percent, Target};
    use time::macros::date;

    fn node(covered: u64, population: u64) -> CoverageNode {
        let target = Target {
            percent: Percent(5702),
            count: None,
        };
        CoverageNode {
            area: AreaCode::parse("33.72").unwrap(),
            name: Some("Kota Surakarta".into()),
            level: sigap_shared::Level::Kota,
            year: 2026,
            figures: Figures::compute(covered, population, Some(target)),
            baseline_set: true,
            by_category: Default::default(),
            children: Vec::new(),
        }
    }

    #[test]
    fn pace_counts_weeks_and_spreads_the_gap_over_the_weeks_left() {
        let today = date!(2026 - 11 - 29);
        let d = day_number(today);
        // 10 today, 4 six days ago (same week), 7 a week ago, 99 too old.
        let per_day = [(d, 10), (d - 6, 4), (d - 7, 7), (d - 8 * 7, 99)];
        // 100 needed; 33 days to the year's end → 5 weeks → 20 a week.
        let p = pace(Lang::Id, &node(5602, 10_000), &per_day, today);
        assert_eq!(p.recent, "Laju 4 minggu terakhir: 5 pendaftaran per minggu");
        let needed = p.needed.unwrap();
        assert!(needed.contains("20 per minggu"), "{needed}");
        assert!(needed.contains("31 Desember 2026"), "{needed}");
    }
}
