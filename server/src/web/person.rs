//! `/person?nik=`: a supervisor of the person's area looks a NIK up and
//! sees the merged record and every change that touched it.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use sigap_shared::{Lang, Nik, wilayah};

use super::errors::WebError;
use super::export::{self, Heading, Output};
use super::figures::NONE;
use super::i18n::t;
use super::session::{PageCtx, Session};
use super::table::{Cell, Column, Row, Table};
use super::{blocking, render};
use crate::http::AppState;
use crate::http::persons::require_person_area;
use crate::store::PersonView;

#[derive(Deserialize)]
pub struct PersonQuery {
    nik: Option<String>,
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    page: PageCtx,
    nik: String,
    record: Vec<(String, String)>,
    history: Option<Table>,
}

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PersonQuery>,
) -> Result<Response, WebError> {
    let lang = session.lang;
    let text = q.nik.as_deref().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return render(&PersonPage {
            page: session.page("person", t(lang, "person-title")),
            nik: String::new(),
            record: Vec::new(),
            history: None,
        });
    }
    let nik = Nik::parse(text).map_err(|e| WebError::bad("err-nik", e.to_string()))?;
    let output = Output::parse(q.format.as_deref())?;
    let store = state.store.clone();
    let key = nik.clone();
    let person = blocking(move || store.person(&key, true))
        .await?
        .ok_or_else(|| WebError::NotFound {
            what: "err-no-person",
            detail: nik.masked(),
        })?;
    require_person_area(&session.auth, &person).map_err(|_| WebError::Outside(nik.masked()))?;
    let history = history_table(lang, &person);
    if output != Output::Html {
        let today = sigap_shared::today();
        let heading = Heading {
            title: format!("{} {}", t(lang, "history-title"), nik),
            lines: vec![format!("{}: {}", t(lang, "export-date"), lang.date(today))],
            file: format!("sigap-person-{}-{today}", nik.masked()),
        };
        return export::download(output, &heading, &history);
    }
    tracing::info!(nik = %nik.masked(), by = %session.auth.0.name, "dashboard person lookup");
    render(&PersonPage {
        page: session.page("person", t(lang, "person-title")),
        nik: nik.to_string(),
        record: record(lang, &person),
        history: Some(history),
    })
}

fn record(lang: Lang, p: &PersonView) -> Vec<(String, String)> {
    let f = &p.fields;
    // A field written empty (no phone, no employer) reads as absent.
    let or_none = |v: Option<String>| v.filter(|s| !s.is_empty()).unwrap_or_else(|| NONE.into());
    let address = f.kelurahan.map(|k| {
        let mut s = wilayah::area_label(&k);
        if let (Some(rw), Some(rt)) = (f.rw, f.rt) {
            s.push_str(&format!(", RW {rw} RT {rt}"));
        }
        s
    });
    let programs = f.programs.as_ref().map(|ps| {
        ps.iter()
            .map(|p| p.to_string().to_uppercase())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let yes_no = |b: bool| t(lang, if b { "yes" } else { "no" });
    vec![
        ("NIK".into(), p.nik.to_string()),
        (t(lang, "field-name"), or_none(f.name.clone())),
        (
            t(lang, "field-birth-date"),
            or_none(f.birth_date.map(|d| lang.date(d))),
        ),
        (
            t(lang, "field-sex"),
            or_none(f.sex.map(|s| match s {
                sigap_shared::Sex::L => t(lang, "sex-l"),
                sigap_shared::Sex::P => t(lang, "sex-p"),
            })),
        ),
        (t(lang, "field-phone"), or_none(f.phone.clone())),
        (t(lang, "field-address"), or_none(address)),
        (
            t(lang, "field-category"),
            or_none(f.category.map(|c| c.to_string().to_uppercase())),
        ),
        (t(lang, "field-occupation"), or_none(f.occupation.clone())),
        (t(lang, "field-employer"), or_none(f.employer.clone())),
        (t(lang, "field-programs"), or_none(programs)),
        (
            t(lang, "field-status"),
            or_none(f.status.map(|s| s.to_string())),
        ),
        (t(lang, "field-participant"), yes_no(p.participant)),
        (t(lang, "field-covered"), yes_no(p.covered)),
        (
            t(lang, "field-registered-by"),
            or_none(p.registered_by.clone()),
        ),
    ]
}

fn history_table(lang: Lang, p: &PersonView) -> Table {
    let columns = vec![
        Column::text(t(lang, "col-received"), "received"),
        Column::text(t(lang, "col-agent"), "agent"),
        Column::text(t(lang, "col-kind"), "kind"),
        Column::text(t(lang, "col-outcome"), "outcome"),
        Column::text(t(lang, "col-changed"), "fields"),
    ];
    let rows = p
        .history
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|h| {
            let when = time::OffsetDateTime::from_unix_timestamp(h.received_at.div_euclid(1000))
                .map(|d| {
                    format!(
                        "{} {:02}:{:02}",
                        lang.short_date(d.date()),
                        d.hour(),
                        d.minute()
                    )
                })
                .unwrap_or_else(|_| h.received_at.to_string());
            let fields = match &h.fields {
                serde_json::Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => format!("{k}: {s}"),
                        other => format!("{k}: {other}"),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            let outcome = match &h.code {
                Some(code) => format!("{} ({code})", h.outcome),
                None => h.outcome.clone(),
            };
            Row {
                key: h.change_id.to_string(),
                cells: vec![
                    Cell::text(when),
                    Cell::text(h.agent.clone()),
                    Cell::text(h.kind.clone()),
                    Cell::text(outcome),
                    Cell::text(fields),
                ],
                bar: None,
            }
        })
        .collect();
    Table {
        id: "history",
        columns,
        rows,
        bar_label: None,
        sort: None,
        base: format!("/person?nik={}&", p.nik),
    }
}
