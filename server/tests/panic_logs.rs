//! A handler that panics: the client gets a JSON 500 that says nothing
//! of the fault, the server keeps serving, and the log names where it
//! happened without the panic's message (which may hold personal data).
//! Alone in its binary: it installs the global log subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use sigap_server::http::app_with;
use sigap_server::store::SqliteStore;
use sigap_server::{AppState, logging};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn boom() -> &'static str {
    let (nik, name, phone) = ("3372011203850001", "Siti Rahayu", "081234567890");
    panic!("bad record {nik} {name} {phone}");
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_logs_no_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    logging::install_panic_hook();

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("s.db")).unwrap());
    let boom: Router<AppState> = Router::new().route("/boom", get(boom));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app_with(AppState::new(store), boom))
            .await
            .unwrap();
    });
    let client = reqwest::Client::new();
    let r = client.get(format!("{url}/boom")).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.contains("Siti"), "{message}");
    // Still serving.
    let r = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("panic"), "the panic is logged: {log}");
    assert!(log.contains("panic_logs.rs"), "with its location: {log}");
    for secret in ["3372011203850001", "Siti", "Rahayu", "081234567890"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}
