//! `/area?code=`: any area down to RT, its figures and a sortable table of
//! its children, furthest from target first, with links down and up.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use sigap_shared::{AreaCode, wilayah};

use super::errors::WebError;
use super::export::{self, Heading, Output};
use super::figures;
use super::i18n::t;
use super::overview::{Figure, headline};
use super::session::{PageCtx, Session};
use super::table::{Sort, Table};
use super::{blocking, render};
use crate::coverage::node_for;
use crate::http::AppState;

#[derive(Deserialize)]
pub struct AreaQuery {
    code: Option<String>,
    year: Option<i32>,
    sort: Option<String>,
    dir: Option<String>,
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "area.html")]
struct AreaPage {
    page: PageCtx,
    area_name: String,
    area_code: String,
    year: i32,
    /// Up the tree: (link when the token may open it, label).
    trail: Vec<(Option<String>, String)>,
    figures: Vec<Figure>,
    categories: Vec<Figure>,
    table: Table,
}

/// The year asked for, or this year.
pub fn checked_year(year: Option<i32>, this_year: i32) -> Result<i32, WebError> {
    match year {
        None => Ok(this_year),
        Some(y) if (1900..=9999).contains(&y) => Ok(y),
        Some(y) => Err(WebError::bad("err-year", y.to_string())),
    }
}

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AreaQuery>,
) -> Result<Response, WebError> {
    let lang = session.lang;
    let area = match q.code.as_deref() {
        Some(text) => AreaCode::parse(text.trim())
            .map_err(|e| WebError::bad("err-area-code", e.to_string()))?,
        None => *session
            .top_areas()
            .first()
            .ok_or_else(|| WebError::Outside("-".into()))?,
    };
    session.require_area(&area)?;
    let today = sigap_shared::today();
    let year = checked_year(q.year, today.year())?;
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
    let table = figures::area_table(
        lang,
        &children,
        sort,
        format!("/area?code={area}&year={year}&"),
    );
    if output != Output::Html {
        let heading = Heading {
            title: format!("{} {name} ({area}) {year}", t(lang, "export-coverage")),
            lines: vec![format!("{}: {}", t(lang, "export-date"), lang.date(today))],
            file: format!("sigap-{area}-{year}-{today}"),
        };
        return export::download(output, &heading, &table);
    }
    let trail = area
        .ancestors()
        .into_iter()
        .rev()
        .filter(|a| a.level() != sigap_shared::Level::Province)
        .map(|a| {
            let label = wilayah::area_label(&a);
            let link = session
                .auth
                .0
                .covers(&a)
                .then(|| format!("/area?code={a}&year={year}"));
            (link, label)
        })
        .collect();
    let s = figures::shown(lang, &node);
    let categories = [
        ("pu", "col-pu", s.pu),
        ("bpu", "col-bpu", s.bpu),
        ("jakon", "col-jakon", s.jakon),
        ("pmi", "col-pmi", s.pmi),
    ]
    .into_iter()
    .map(|(key, id, value)| Figure {
        key,
        label: t(lang, id),
        value,
    })
    .collect();
    render(&AreaPage {
        page: session.page("area", format!("{} — {name}", t(lang, "nav-area"))),
        figures: headline(lang, &node),
        categories,
        area_name: name,
        area_code: area.to_string(),
        year,
        trail,
        table,
    })
}
