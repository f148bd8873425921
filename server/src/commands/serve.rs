//! `sigap-server serve`: plain HTTP, or HTTPS with rustls; metrics on an
//! address of their own when asked.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use super::CommandError;
use super::Opened;
use crate::cli::ServeArgs;
use crate::http::metrics::{self, Metrics};
use crate::http::throttle::AuthThrottle;
use crate::http::{AppState, Limits, app};
use crate::store::Store;

/// How long requests in flight may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

pub fn run(opened: Opened, args: ServeArgs) -> Result<ExitCode, CommandError> {
    // rustls needs one process-wide crypto provider; ring is the one the
    // client side (reqwest) already uses. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Today's figures start the day's history (see store::sqlite::history).
    opened.store().snapshot_coverage(true)?;
    let store: Arc<dyn Store> = match opened {
        Opened::Sqlite(s) => Arc::new(s),
        Opened::Postgres(s) => Arc::new(s),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(store, args))
}

async fn serve(store: Arc<dyn Store>, args: ServeArgs) -> Result<ExitCode, CommandError> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(load_tls(cert, key).await?),
        _ => None,
    };
    let listener = std::net::TcpListener::bind(args.listen).map_err(|e| {
        super::usage(format!(
            "cannot listen on {}: {e}; choose another address with --listen or SIGAP_LISTEN",
            args.listen
        ))
    })?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;

    let metrics = Arc::new(Metrics::new());
    let metrics_addr = match args.metrics_listen {
        Some(at) => Some(serve_metrics(at, metrics.clone(), store.clone()).await?),
        None => None,
    };
    let state = AppState {
        max_clock_skew_millis: args.max_clock_skew,
        limits: Limits {
            request_timeout: Duration::from_millis(args.request_timeout),
            max_concurrent: usize::try_from(args.max_concurrent).unwrap_or(usize::MAX),
        },
        auth_throttle: Arc::new(AuthThrottle::new(args.auth_failures_per_minute)),
        metrics,
        web: Arc::new(crate::web::WebConfig::new(args.behind_tls)),
        ..AppState::new(store)
    };
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();

    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut out = std::io::stdout().lock();
    writeln!(out, "sigap-server listening on {scheme}://{addr}")?;
    if let Some(m) = metrics_addr {
        writeln!(out, "sigap-server metrics on http://{m}/metrics")?;
    }
    out.flush()?;
    drop(out);
    tracing::info!(%addr, scheme, dashboard = %format!("{scheme}://{addr}/"), "serving");

    let handle = Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    match tls {
        Some(config) => {
            if let (Some(cert), Some(key)) = (args.tls_cert.clone(), args.tls_key.clone()) {
                tokio::spawn(reload_on_sighup(config.clone(), cert, key));
            }
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(service)
                .await?;
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(service)
                .await?;
        }
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The SQLite file and its write-ahead log, for the size metric.
async fn load_tls(cert: &Path, key: &Path) -> Result<RustlsConfig, CommandError> {
    RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
        super::usage(format!(
            "cannot use --tls-cert {} with --tls-key {}: {e}; give a PEM certificate chain and its PEM private key",
            cert.display(),
            key.display()
        ))
    })
}

async fn serve_metrics(
    at: SocketAddr,
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
) -> Result<SocketAddr, CommandError> {
    let listener = tokio::net::TcpListener::bind(at).await.map_err(|e| {
        super::usage(format!(
            "cannot listen on {at} for metrics: {e}; choose another --metrics-listen"
        ))
    })?;
    let addr = listener.local_addr()?;
    let router = metrics::router(metrics, store);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    Ok(addr)
}

/// Re-reads the certificate and key on SIGHUP. A bad file is logged and
/// the certificate in use is kept, so a botched renewal does not take
/// the office offline.
async fn reload_on_sighup(config: RustlsConfig, cert: PathBuf, key: PathBuf) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            match config.reload_from_pem_file(&cert, &key).await {
                Ok(()) => tracing::info!(cert = %cert.display(), "TLS certificate reloaded"),
                Err(e) => tracing::error!(
                    error = %e,
                    cert = %cert.display(),
                    "TLS certificate reload failed; keeping the one in use"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (config, cert, key);
    }
}

/// On Ctrl-C or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_on_signal(handle: Handle<SocketAddr>) {
    shutdown_signal().await;
    handle.graceful_shutdown(Some(DRAIN));
}

/// Resolves on Ctrl-C or SIGTERM.
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
