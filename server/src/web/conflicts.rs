//! `/conflicts`: identity conflicts with both sides side by side, resolved
//! from the page through the API's own resolution path (so a resolution is
//! a change with its author), paged and filtered by area and status; the
//! review list beneath.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sigap_shared::merge::{Field, Fields};
use sigap_shared::{AreaCode, Lang, Sex, wilayah};
use time::OffsetDateTime;

use super::errors::WebError;
use super::export::{self, Heading, Output};
use super::form::WebForm;
use super::i18n::{t, t_args};
use super::session::{PageCtx, Session};
use super::table::{Cell, Column, Row, Table};
use super::{blocking, render};
use crate::http::AppState;
use crate::http::conflicts::{resolve_as, visible};
use crate::store::{Conflict, ConflictSide, ReviewItem};

/// Conflicts per page.
const PER_PAGE: usize = 20;

#[derive(Deserialize)]
pub struct ConflictsQuery {
    area: Option<String>,
    status: Option<String>,
    page: Option<usize>,
    format: Option<String>,
    /// Which table to export: `conflicts` (default) or `review`.
    table: Option<String>,
    notice: Option<String>,
}

/// One identity field of a conflict, both sides.
pub struct FieldRow {
    pub key: &'static str,
    pub label: String,
    pub existing: String,
    pub incoming: String,
    /// The values the form posts for each side.
    pub existing_value: String,
    pub incoming_value: String,
    pub differs: bool,
}

pub struct ConflictView {
    pub id: i64,
    pub nik: String,
    pub kelurahan: String,
    pub opened: String,
    pub open: bool,
    pub status: String,
    pub existing_source: String,
    pub incoming_source: String,
    pub rows: Vec<FieldRow>,
    pub resolved: Option<String>,
}

#[derive(Template)]
#[template(path = "conflicts.html")]
struct ConflictsPage {
    page: PageCtx,
    conflicts: Vec<ConflictView>,
    area: String,
    status: String,
    notice: Option<String>,
    page_no: usize,
    pages: usize,
    total: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
    export_csv: String,
    export_xlsx: String,
    table: Table,
}

fn status_filter(text: Option<&str>) -> Result<(&'static str, Option<&'static str>), WebError> {
    match text.unwrap_or("open") {
        "open" | "" => Ok(("open", Some("open"))),
        "resolved" => Ok(("resolved", Some("resolved"))),
        "all" => Ok(("all", None)),
        other => Err(WebError::bad("err-status", other.to_string())),
    }
}

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ConflictsQuery>,
) -> Result<Response, WebError> {
    let lang = session.lang;
    let (status, filter) = status_filter(q.status.as_deref())?;
    let area = match q.area.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(text) => {
            let a =
                AreaCode::parse(text).map_err(|e| WebError::bad("err-area-code", e.to_string()))?;
            session.require_area(&a)?;
            Some(a)
        }
        None => None,
    };
    let output = Output::parse(q.format.as_deref())?;
    let store = state.store.clone();
    let areas: Option<Vec<AreaCode>> = match area {
        Some(a) => Some(vec![a]),
        None => session.auth.area_filter(),
    };
    let review_areas = areas.clone();
    let (all, review) = blocking(move || {
        Ok((
            store.conflicts(filter)?,
            store.review(review_areas.as_deref())?,
        ))
    })
    .await?;
    let mine: Vec<Conflict> = all
        .into_iter()
        .filter(|c| visible(&session.auth, c))
        .filter(|c| match (&area, &c.kelurahan) {
            (None, _) => true,
            (Some(a), Some(k)) => a.contains(k),
            (Some(_), None) => false,
        })
        .collect();
    let area_text = area.map(|a| a.to_string()).unwrap_or_default();
    let base = format!("/conflicts?area={area_text}&status={status}");
    let review_table = review_table(lang, &review, format!("{base}&table=review&"));
    let today = sigap_shared::today();
    if output != Output::Html {
        let views: Vec<ConflictView> = mine.iter().map(|c| view(lang, c)).collect();
        let (what, table) = match q.table.as_deref() {
            Some("review") => ("review-title", review_table),
            _ => ("conflicts-title", conflicts_table(lang, &views)),
        };
        let scope = area.map_or_else(|| t(lang, "all-areas"), |a| wilayah::area_label(&a));
        let heading = Heading {
            title: format!("{} — {scope}", t(lang, what)),
            lines: vec![format!("{}: {}", t(lang, "export-date"), lang.date(today))],
            file: format!(
                "sigap-{}-{today}",
                q.table.as_deref().unwrap_or("conflicts")
            ),
        };
        return export::download(output, &heading, &table);
    }
    let total = mine.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let conflicts = mine
        .iter()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|c| view(lang, c))
        .collect();
    let notice = q
        .notice
        .as_deref()
        .filter(|n| *n == "resolved")
        .map(|_| t(lang, "notice-resolved"));
    render(&ConflictsPage {
        page: session.page("conflicts", t(lang, "conflicts-title")),
        conflicts,
        area: area_text,
        status: status.into(),
        notice,
        page_no,
        pages,
        total,
        prev_href: (page_no > 1).then(|| format!("{base}&page={}", page_no - 1)),
        next_href: (page_no < pages).then(|| format!("{base}&page={}", page_no + 1)),
        export_csv: format!("{base}&format=csv"),
        export_xlsx: format!("{base}&format=xlsx"),
        table: review_table,
    })
}

fn source(lang: Lang, side: &ConflictSide) -> String {
    match (&side.agent, side.source.as_str()) {
        (Some(agent), _) => agent.clone(),
        (None, "roll") => t(lang, "source-roll"),
        (None, "server") => t(lang, "source-server"),
        (None, other) => other.to_string(),
    }
}

fn date_of_millis(lang: Lang, millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .map(|d| lang.date(d.date()))
        .unwrap_or_else(|_| millis.to_string())
}

fn sex_text(lang: Lang, s: Option<Sex>) -> String {
    match s {
        Some(Sex::L) => t(lang, "sex-l"),
        Some(Sex::P) => t(lang, "sex-p"),
        None => super::figures::NONE.into(),
    }
}

fn view(lang: Lang, c: &Conflict) -> ConflictView {
    let (a, b) = (&c.existing.fields, &c.incoming.fields);
    let none = || super::figures::NONE.to_string();
    let rows: Vec<FieldRow> = [
        FieldRow {
            key: "name",
            label: t(lang, "field-name"),
            existing: a.name.clone().unwrap_or_else(none),
            incoming: b.name.clone().unwrap_or_else(none),
            existing_value: a.name.clone().unwrap_or_default(),
            incoming_value: b.name.clone().unwrap_or_default(),
            differs: c.fields.contains(&Field::Name),
        },
        FieldRow {
            key: "birth_date",
            label: t(lang, "field-birth-date"),
            existing: a.birth_date.map_or_else(none, |d| lang.date(d)),
            incoming: b.birth_date.map_or_else(none, |d| lang.date(d)),
            existing_value: a.birth_date.map(|d| d.to_string()).unwrap_or_default(),
            incoming_value: b.birth_date.map(|d| d.to_string()).unwrap_or_default(),
            differs: c.fields.contains(&Field::BirthDate),
        },
        FieldRow {
            key: "sex",
            label: t(lang, "field-sex"),
            existing: sex_text(lang, a.sex),
            incoming: sex_text(lang, b.sex),
            existing_value: a.sex.map(|s| s.to_string()).unwrap_or_default(),
            incoming_value: b.sex.map(|s| s.to_string()).unwrap_or_default(),
            differs: c.fields.contains(&Field::Sex),
        },
    ]
    .into_iter()
    // A side names only the fields it disagrees on; rows neither side
    // gave would be empty.
    .filter(|r| r.differs || !r.existing_value.is_empty() || !r.incoming_value.is_empty())
    .collect();
    let resolved = c.resolved_by.as_ref().map(|by| {
        let r = c.resolution.clone().unwrap_or_default();
        let mut chosen: Vec<String> = Vec::new();
        if let Some(n) = r.name {
            chosen.push(n);
        }
        if let Some(d) = r.birth_date {
            chosen.push(lang.date(d));
        }
        if r.sex.is_some() {
            chosen.push(sex_text(lang, r.sex));
        }
        t_args(
            lang,
            "conflict-resolved-by",
            &[
                ("by", by.clone()),
                (
                    "date",
                    c.resolved_at.map_or_else(none, |m| date_of_millis(lang, m)),
                ),
                ("values", chosen.join(", ")),
            ],
        )
    });
    ConflictView {
        id: c.id,
        nik: c.nik.to_string(),
        kelurahan: c.kelurahan.map_or_else(none, |k| wilayah::area_label(&k)),
        opened: date_of_millis(lang, c.opened_at),
        open: c.status == "open",
        status: t(lang, &format!("status-{}", c.status)),
        existing_source: source(lang, &c.existing),
        incoming_source: source(lang, &c.incoming),
        rows,
        resolved,
    }
}

/// The conflicts as one row per differing field, for the exports.
fn conflicts_table(lang: Lang, views: &[ConflictView]) -> Table {
    let columns = vec![
        Column::number("ID".into(), "id"),
        Column::text("NIK".into(), "nik"),
        Column::text(t(lang, "col-kelurahan"), "kelurahan"),
        Column::text(t(lang, "col-field"), "field"),
        Column::text(t(lang, "col-existing"), "existing"),
        Column::text(t(lang, "col-incoming"), "incoming"),
        Column::text(t(lang, "col-status"), "status"),
        Column::text(t(lang, "col-opened"), "opened"),
    ];
    let rows = views
        .iter()
        .flat_map(|v| {
            v.rows.iter().filter(|r| r.differs).map(move |r| Row {
                key: v.id.to_string(),
                cells: vec![
                    Cell::text(v.id.to_string()),
                    Cell::text(v.nik.clone()),
                    Cell::text(v.kelurahan.clone()),
                    Cell::text(r.label.clone()),
                    Cell::text(format!("{} ({})", r.existing, v.existing_source)),
                    Cell::text(format!("{} ({})", r.incoming, v.incoming_source)),
                    Cell::text(v.status.clone()),
                    Cell::text(v.opened.clone()),
                ],
                bar: None,
            })
        })
        .collect();
    Table {
        id: "conflicts",
        columns,
        rows,
        bar_label: None,
        sort: None,
        base: String::new(),
    }
}

/// Persons whose merged record needs a supervisor's look.
fn review_table(lang: Lang, items: &[ReviewItem], base: String) -> Table {
    let columns = vec![
        Column::text("NIK".into(), "nik"),
        Column::text(t(lang, "col-kelurahan"), "kelurahan"),
        Column::text(t(lang, "col-counted"), "covered"),
        Column::text(t(lang, "col-issues"), "issues"),
    ];
    let rows =
        items
            .iter()
            .map(|i| {
                let nik = i.nik.to_string();
                let issues: Vec<String> = i
                    .issues
                    .iter()
                    .map(|x| format!("{}: {}", x.field, x.message))
                    .collect();
                Row {
                    key: nik.clone(),
                    cells: vec![
                        Cell::link(nik.clone(), format!("/person?nik={nik}")),
                        Cell::text(i.kelurahan.map_or_else(
                            || super::figures::NONE.into(),
                            |k| wilayah::area_label(&k),
                        )),
                        Cell::text(t(lang, if i.covered { "yes" } else { "no" })),
                        Cell::text(issues.join("; ")),
                    ],
                    bar: None,
                }
            })
            .collect();
    Table {
        id: "review",
        columns,
        rows,
        bar_label: None,
        sort: None,
        base,
    }
}

#[derive(Deserialize)]
pub struct ResolveForm {
    csrf: Option<String>,
    name: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
    note: Option<String>,
}

pub async fn resolve(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    WebForm(f): WebForm<ResolveForm>,
) -> Result<Response, WebError> {
    session.check_csrf(f.csrf.as_deref().unwrap_or_default())?;
    let id: i64 = id
        .parse()
        .map_err(|_| WebError::bad("err-conflict-id", id.clone()))?;
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let birth_date = given(f.birth_date)
        .map(|d| {
            time::Date::parse(
                &d,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| WebError::bad("err-birth-date", d))
        })
        .transpose()?;
    let sex = given(f.sex)
        .map(|s| s.parse::<Sex>().map_err(|_| WebError::bad("err-sex", s)))
        .transpose()?;
    let fields = Fields {
        name: given(f.name),
        birth_date,
        sex,
        ..Default::default()
    };
    if fields == Fields::default() {
        return Err(WebError::bad("err-choose", String::new()));
    }
    resolve_as(&state, &session.auth, id, fields, given(f.note)).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/conflicts?notice=resolved")],
    )
        .into_response())
}
