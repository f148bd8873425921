//! The supervisors' dashboard: server-rendered HTML at `/`, one module per
//! page, signed in with a supervisor's or admin's token kept in a cookie.
//! Everything it serves (templates, CSS) is compiled into the binary.
//!
//! A new page is a module here, a template in `server/templates/` and one
//! route line in [`router`].

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::http::AppState;

mod agents;
mod area;
mod assets;
mod charts;
mod conflicts;
pub mod cookies;
pub mod csrf;
mod errors;
mod export;
mod figures;
mod form;
pub mod i18n;
mod overview;
mod person;
mod progress;
mod session;
mod signin;
mod table;

pub use errors::WebError;
use session::PageCtx;

/// The dashboard's per-server settings.
pub struct WebConfig {
    /// Key of the CSRF tokens' HMAC; new at each start, so a restart only
    /// asks open forms to be reloaded.
    pub secret: [u8; 32],
    /// Mark cookies Secure whatever the request says (`serve --behind-tls`).
    pub behind_tls: bool,
}

impl WebConfig {
    pub fn new(behind_tls: bool) -> WebConfig {
        WebConfig {
            secret: rand::random(),
            behind_tls,
        }
    }
}

/// The dashboard's routes.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/area", get(area::page))
        .route("/progress", get(progress::page))
        .route("/agents", get(agents::page))
        .route("/conflicts", get(conflicts::page))
        .route("/conflicts/{id}/resolve", post(conflicts::resolve))
        .route("/person", get(person::page))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signout", post(signin::signout))
        .route("/static/app.css", get(assets::css))
        .layer(middleware::from_fn_with_state(state.clone(), pages))
}

/// Around every dashboard request: keeps a `?lang=` choice in a cookie,
/// draws error pages in the request's language, and asks browsers not to
/// cache pages that show personal data.
async fn pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = i18n::request_lang(req.headers(), req.uri().query());
    let chosen = i18n::from_query(req.uri().query());
    let secure = cookies::secure(req.headers(), state.web.behind_tls);
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let is_asset = req.uri().path().starts_with("/static/");
    let mut response = next.run(req).await;
    if let Some(err) = response.extensions_mut().remove::<WebError>() {
        response = error_page(lang, &here, &err, secure);
    }
    let headers = response.headers_mut();
    if let Some(l) = chosen {
        let c = cookies::set(cookies::LANG, l.tag(), secure, Some(365 * 24 * 3600));
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageCtx,
    message: String,
    detail: Option<String>,
}

fn error_page(lang: sigap_shared::Lang, here: &str, err: &WebError, secure: bool) -> Response {
    if let WebError::SignIn { notice } = err {
        let mut r = err.status().into_response();
        let to = match notice {
            Some(n) => format!("/signin?notice={n}"),
            None => "/signin".into(),
        };
        if let Ok(v) = HeaderValue::from_str(&to) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        if notice.is_some() {
            // The token stopped working: forget it in the browser too.
            if let Ok(v) = HeaderValue::from_str(&cookies::clear(cookies::SESSION, secure)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
        return r;
    }
    let (title, message, detail) = err.texts();
    let page = ErrorPage {
        page: PageCtx::anonymous(lang, here, i18n::t(lang, title)),
        message: i18n::t(lang, message),
        detail: detail.map(|d| crate::logging::mask_niks(&d)),
    };
    match page.render() {
        Ok(body) => (err.status(), Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Renders a page template.
fn render(t: &impl Template) -> Result<Response, WebError> {
    t.render()
        .map(|body| Html(body).into_response())
        .map_err(|e| WebError::Internal(format!("template: {e}")))
}

/// Compares two byte strings in time that does not depend on where they
/// first differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs store work off the async threads, with the dashboard's errors.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, WebError> {
    crate::http::blocking(f).await.map_err(WebError::from)
}
