//! `sigap-server serve`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use super::CommandError;
use crate::http::{AppState, app};
use crate::store::SqliteStore;

pub fn run(
    store: SqliteStore,
    listen: SocketAddr,
    max_clock_skew_millis: u64,
    behind_tls: bool,
) -> Result<ExitCode, CommandError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            super::usage(format!(
                "cannot listen on {listen}: {e}; choose another address with --listen or SIGAP_LISTEN"
            ))
        })?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "sigap-server listening on http://{addr}")?;
        out.flush()?;
        drop(out);
        // One line on stdout only: scripts read it and may close the pipe.
        tracing::info!(%addr, dashboard = %format!("http://{addr}/"), "serving");
        let state = AppState {
            max_clock_skew_millis,
            web: Arc::new(crate::web::WebConfig::new(behind_tls)),
            ..AppState::new(Arc::new(store))
        };
        axum::serve(listener, app(state))
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests are then finished.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
