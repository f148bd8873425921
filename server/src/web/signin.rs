//! `/signin` and `/signout`. The token typed into the form is checked
//! against the token store and, when it is a supervisor's or admin's, kept
//! in an HttpOnly, SameSite=Strict cookie. The sign-in form is bound by
//! its CSRF token to a random cookie set with the form.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sigap_shared::Lang;

use super::errors::WebError;
use super::form::WebForm;
use super::i18n::{self, t};
use super::session::{PageCtx, Session};
use super::{cookies, csrf};
use crate::http::AppState;
use crate::http::auth::{ClientAddr, authenticate_from};
use crate::store::Role;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    page: PageCtx,
    form_csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    notice: Option<String>,
}

/// Notices the sign-in page may be sent with.
const NOTICES: [&str; 2] = ["notice-session-ended", "notice-signed-out"];

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Result<Response, WebError> {
    let lang = i18n::request_lang(&headers, None);
    let notice = q
        .notice
        .as_deref()
        .filter(|n| NOTICES.contains(n))
        .map(|n| t(lang, n));
    show(&state, &headers, lang, StatusCode::OK, notice, None)
}

/// The sign-in page, with a fresh pre-session cookie when there is none.
fn show(
    state: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let secure = cookies::secure(headers, state.web.behind_tls);
    let (nonce, fresh) = match cookies::get(headers, cookies::PRE_SESSION) {
        Some(n) if n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()) => (n, false),
        _ => (hex::encode(rand::random::<[u8; 16]>()), true),
    };
    let page = SignInPage {
        page: PageCtx::anonymous(lang, "/signin", t(lang, "signin-title")),
        form_csrf: csrf::token(&state.web.secret, "signin", &nonce),
        notice,
        error,
    };
    let mut r = super::render(&page)?;
    *r.status_mut() = status;
    if fresh {
        let c = cookies::set(cookies::PRE_SESSION, &nonce, secure, None);
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: Option<String>,
    csrf: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    WebForm(f): WebForm<SignInForm>,
) -> Result<Response, WebError> {
    let lang = i18n::request_lang(&headers, None);
    let nonce = cookies::get(&headers, cookies::PRE_SESSION).ok_or(WebError::Csrf)?;
    let given = f.csrf.unwrap_or_default();
    if !csrf::verify(&state.web.secret, "signin", &nonce, &given) {
        return Err(WebError::Csrf);
    }
    let token = f.token.unwrap_or_default().trim().to_string();
    if token.is_empty() {
        let e = t(lang, "signin-empty");
        return show(
            &state,
            &headers,
            lang,
            StatusCode::BAD_REQUEST,
            None,
            Some(e),
        );
    }
    // Unknown, revoked and expired tokens get one answer: the form must
    // not tell a guesser which tokens exist.
    let info = match authenticate_from(&state, client, &token).await {
        Ok(info) => info,
        Err(crate::http::ApiError::Unauthorized(_)) => {
            tracing::info!("dashboard sign-in refused");
            let e = t(lang, "signin-refused");
            return show(
                &state,
                &headers,
                lang,
                StatusCode::UNAUTHORIZED,
                None,
                Some(e),
            );
        }
        Err(crate::http::ApiError::TooManyRequests { retry_after_secs }) => {
            tracing::info!("dashboard sign-in held off: too many failed tries");
            let e = t(lang, "signin-too-many");
            let mut r = show(
                &state,
                &headers,
                lang,
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some(e),
            )?;
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            return Ok(r);
        }
        Err(other) => return Err(other.into()),
    };
    if info.role == Role::Agent {
        tracing::info!(token = %info.name, "dashboard sign-in with an agent token refused");
        return Err(WebError::AgentToken);
    }
    tracing::info!(token = %info.name, "dashboard sign-in");
    let secure = cookies::secure(&headers, state.web.behind_tls);
    let session = cookies::set(cookies::SESSION, &token, secure, None);
    let pre = cookies::clear(cookies::PRE_SESSION, secure);
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    for c in [session, pre] {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
    WebForm(f): WebForm<CsrfOnly>,
) -> Result<Response, WebError> {
    session.check_csrf(&f.csrf.unwrap_or_default())?;
    tracing::info!(token = %session.auth.0.name, "dashboard sign-out");
    let secure = cookies::secure(&headers, state.web.behind_tls);
    let mut r = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/signin?notice=notice-signed-out")],
    )
        .into_response();
    if let Ok(v) = cookies::clear(cookies::SESSION, secure).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}
