//! The real `sigap-server serve` as an office runs it: HTTPS with a
//! certificate reloaded on SIGHUP, failed sign-ins limited per address,
//! requests bounded in time and number, metrics on their own address,
//! and backups taken while it serves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Device, cli, nik};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_shared::wire::PushRequest;

/// A `sigap-server serve` process, killed on drop.
struct Serving {
    child: Child,
    url: String,
    metrics_url: Option<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &Path, extra: &[&str]) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigap-server"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("SIGAP_SERVER_DB", db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("sigap-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let metrics_url = if extra.contains(&"--metrics-listen") {
        let line = lines.next().unwrap().unwrap();
        Some(
            line.strip_prefix("sigap-server metrics on ")
                .unwrap()
                .to_string(),
        )
    } else {
        None
    };
    Serving {
        child,
        url,
        metrics_url,
    }
}

fn token(db: &Path, role: &str, name: &str, area: &str) -> String {
    let (code, out, err) = cli(
        db,
        &[
            "token", "create", "--role", role, "--name", name, "--area", area,
        ],
    );
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn push_body(device: &mut Device, n: u32, skip_first: bool) -> Value {
    let mut changes: Vec<_> = (0..n)
        .map(|i| device.register(&nik("337201", i), "Sri Wahyuni", "33.72.01.1001", 1, 2))
        .collect();
    if skip_first {
        changes.remove(0);
    }
    serde_json::to_value(PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: device.id,
        changes,
        pending: None,
    })
    .unwrap()
}

// ---------------------------------------------------------------- TLS

struct Pki {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

/// A CA and a server certificate it signed for `hosts`, written to `dir`.
fn pki(dir: &Path, tag: &str, hosts: &[&str]) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("SIGAP test CA {tag}"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let cert_path = dir.join(format!("{tag}-cert.pem"));
    let key_path = dir.join(format!("{tag}-key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert: cert_path,
        key: key_path,
    }
}

fn trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_with_a_good_chain_serves_and_a_wrong_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let good = pki(dir.path(), "good", &["localhost", "127.0.0.1"]);
    let server = serve(
        &db,
        &[
            "--tls-cert",
            good.cert.to_str().unwrap(),
            "--tls-key",
            good.key.to_str().unwrap(),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let port = server.url.rsplit(':').next().unwrap().to_string();

    // Trusting the office's CA: the API answers, by IP and by name.
    let ok = trusting(&good.ca_pem);
    for host in ["127.0.0.1", "localhost"] {
        let r = ok
            .get(format!("https://{host}:{port}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    // Another CA: the handshake fails.
    let other = pki(dir.path(), "other", &["localhost"]);
    let err = trusting(&other.ca_pem)
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    // Plain HTTP to the HTTPS port gets no answer a client would accept.
    assert!(
        client()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .map(|r| r.status() != StatusCode::OK)
            .unwrap_or(true)
    );

    // A renewed certificate from another CA, loaded on SIGHUP.
    std::fs::copy(&other.cert, &good.cert).unwrap();
    std::fs::copy(&other.key, &good.key).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let renewed = trusting(&other.ca_pem);
    let mut served = false;
    for _ in 0..50 {
        if let Ok(r) = renewed
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
        {
            served = r.status() == StatusCode::OK;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the renewed certificate was not served after SIGHUP"
    );
    // New connections no longer get the old certificate.
    let old = trusting(&good.ca_pem)
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await;
    assert!(old.is_err());
}

#[test]
fn bad_certificate_files_are_refused_at_start_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let (code, _, err) = cli(
        &db,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            junk.to_str().unwrap(),
            "--tls-key",
            junk.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--tls-cert"), "{err}");
    assert!(err.contains("PEM"), "{err}");
    // One without the other is a usage error.
    let (code, _, err) = cli(&db, &["serve", "--tls-cert", junk.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--tls-key"), "{err}");
}

// ------------------------------------------------------- limits

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let good = token(&db, "supervisor", "spv", "33.72");
    let server = serve(&db, &["--auth-failures-per-minute", "3"]);
    let c = client();
    let get = |t: String| {
        let c = c.clone();
        let url = format!("{}/api/v1/conflicts", server.url);
        async move { c.get(url).bearer_auth(t).send().await.unwrap() }
    };
    // Requests without a token are mistakes, not guesses: never counted.
    for _ in 0..5 {
        let r = c
            .get(format!("{}/api/v1/conflicts", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(get(good.clone()).await.status(), StatusCode::OK);
    for i in 0..3 {
        let r = get(format!("guess-{i}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = get("guess-4".into()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    // The address is held off for the window, even with a good token.
    assert_eq!(get(good).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // Requests that need no token still work.
    let r = c
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The coverage route checks its token on the blocking thread that
/// answers it, not through the shared extractor: it must count guesses
/// and hold an address off all the same.
#[tokio::test]
async fn guesses_at_coverage_count_against_the_address_like_any_route() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let good = token(&db, "supervisor", "spv", "33.72");
    let agent = token(&db, "agent", "budi", "33.72");
    let server = serve(&db, &["--auth-failures-per-minute", "2"]);
    let c = client();
    let coverage = |t: Option<String>| {
        let c = c.clone();
        let url = format!("{}/api/v1/coverage?area=33.72&depth=1", server.url);
        async move {
            let req = c.get(url);
            let req = match t {
                Some(t) => req.bearer_auth(t),
                None => req,
            };
            req.send().await.unwrap()
        }
    };
    // Without a token: refused, never counted.
    for _ in 0..3 {
        assert_eq!(coverage(None).await.status(), StatusCode::UNAUTHORIZED);
    }
    let ok = coverage(Some(good.clone())).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["area"], "33.72", "{body}");
    // A valid agent token is forbidden, not a failed sign-in.
    assert_eq!(coverage(Some(agent)).await.status(), StatusCode::FORBIDDEN);
    // A bad query with a bad token is refused for the token first.
    let r = c
        .get(format!("{}/api/v1/coverage?depth=x", server.url))
        .bearer_auth("guess-0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = coverage(Some("guess-1".into())).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Two failures used the minute's allowance: held off, on this route
    // and on the others, good token or not.
    let r = coverage(Some("guess-2".into())).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        coverage(Some(good.clone())).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let r = c
        .get(format!("{}/api/v1/conflicts", server.url))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_request_past_the_time_limit_gets_503_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let agent = token(&db, "agent", "budi", "33.72.01");
    let server = serve(&db, &["--request-timeout", "1s"]);
    let c = client();
    // A page whose first change is missing waits (up to 2 s) for it: past
    // the 1 s limit.
    let mut device = Device::new();
    let body = push_body(&mut device, 3, true);
    let r = c
        .post(format!("{}/api/v1/sync/push", server.url))
        .bearer_auth(&agent)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "timeout");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("retry"),
        "{body}"
    );
    // The server keeps serving.
    let r = c
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_beyond_the_cap_get_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let agent = token(&db, "agent", "budi", "33.72.01");
    let server = serve(&db, &["--max-concurrent", "1"]);
    let c = client();
    let mut device = Device::new();
    let body = push_body(&mut device, 3, true);
    // This push holds the only slot while it waits for its missing change.
    let slow = {
        let c = c.clone();
        let url = format!("{}/api/v1/sync/push", server.url);
        let agent = agent.clone();
        tokio::spawn(async move {
            c.post(url)
                .bearer_auth(agent)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = c
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded");
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    // Once it is done, the slot is free again.
    let r = c
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

// ------------------------------------------------------- metrics

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_and_outcomes_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let agent = token(&db, "agent", "budi", "33.72.01");
    let server = serve(&db, &["--metrics-listen", "127.0.0.1:0"]);
    let metrics_url = server.metrics_url.clone().unwrap();
    let c = client();
    let mut device = Device::new();
    let body = push_body(&mut device, 4, false);
    for _ in 0..2 {
        let r = c
            .post(format!("{}/api/v1/sync/push", server.url))
            .bearer_auth(&agent)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // A person path carries a NIK: the metric names the route template.
    let r = c
        .get(format!(
            "{}/api/v1/persons/{}",
            server.url,
            nik("337201", 0)
        ))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let text = c
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(
            &text,
            r#"sigap_http_requests_total{route="/api/v1/sync/push",method="POST",status="200"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"sigap_http_requests_total{route="/api/v1/persons/{nik}",method="GET",status="403"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"sigap_changes_total{outcome="applied"}"#),
        Some(4.0)
    );
    assert_eq!(
        metric(&text, r#"sigap_changes_total{outcome="duplicate"}"#),
        Some(4.0)
    );
    assert_eq!(
        metric(&text, "sigap_merge_duration_seconds_count"),
        Some(2.0)
    );
    assert_eq!(metric(&text, "sigap_open_conflicts"), Some(0.0));
    assert!(metric(&text, "sigap_database_bytes").unwrap() > 0.0);
    assert!(!text.contains(&nik("337201", 0)), "a NIK in the metrics");

    // Not on the API's address.
    let r = c
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

// ------------------------------------------------------- backup

#[tokio::test]
async fn a_backup_taken_while_serving_restores_to_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let agent = token(&db, "agent", "budi", "33.72.01");
    let spv = token(&db, "supervisor", "spv", "33.72");
    let server = serve(&db, &[]);
    let c = client();
    let mut device = Device::new();
    let body = push_body(&mut device, 50, false);
    let r = c
        .post(format!("{}/api/v1/sync/push", server.url))
        .bearer_auth(&agent)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let backup = dir.path().join("backup.db");
    let (code, out, err) = cli(&db, &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("50 persons"), "{out}");
    assert!(out.contains("integrity check ok"), "{out}");

    // Never over an existing file.
    let (code, _, err) = cli(&db, &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exists"), "{err}");

    let coverage = |url: String, token: String| {
        let c = c.clone();
        async move {
            let r = c
                .get(format!("{url}/api/v1/coverage?area=33.72&depth=2"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let mut v: Value = r.json().await.unwrap();
            v.as_object_mut().unwrap().remove("computed_at");
            v
        }
    };
    let live = coverage(server.url.clone(), spv.clone()).await;

    // Restored: the copy served by a new server gives the same answers,
    // and passes the full recount.
    let (code, out, err) = cli(&backup, &["coverage", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let restored = serve(&backup, &[]);
    assert_eq!(coverage(restored.url.clone(), spv.clone()).await, live);
    let r = c
        .get(format!("{}/api/v1/sync/device/{}", restored.url, device.id))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    let receipt: Value = r.json().await.unwrap();
    assert_eq!(receipt["receipt"]["count"], json!(50), "{receipt}");
}

#[tokio::test]
async fn wrong_tokens_at_the_dashboard_sign_in_count_against_the_same_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let good = token(&db, "supervisor", "spv", "33.72");
    let server = serve(&db, &["--auth-failures-per-minute", "2"]);
    let web = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let try_sign_in = |tok: String| {
        let web = web.clone();
        let url = server.url.clone();
        async move {
            let form = web.get(format!("{url}/signin")).send().await.unwrap();
            let pre = form
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|c| c.strip_prefix("sigap_pre="))
                .and_then(|c| c.split(';').next())
                .unwrap()
                .to_string();
            let html = form.text().await.unwrap();
            let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
            let csrf = html[at..at + html[at..].find('"').unwrap()].to_string();
            web.post(format!("{url}/signin"))
                .header("cookie", format!("sigap_pre={pre}"))
                .form(&[("token", tok.as_str()), ("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    for i in 0..2 {
        let r = try_sign_in(format!("sigap_guess{i}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // The third guess is held off, with the page saying to wait.
    let r = try_sign_in("sigap_guess3".into()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    // Even the right token waits: the limit is on the address.
    let r = try_sign_in(good.clone()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // And the API is held off for the same address.
    let r = client()
        .get(format!("{}/api/v1/conflicts", server.url))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}
