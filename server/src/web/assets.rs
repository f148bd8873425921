//! The stylesheet, compiled into the binary: nothing comes from a CDN.

use axum::http::header;
use axum::response::IntoResponse;

const APP_CSS: &str = include_str!("../../static/app.css");

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}
