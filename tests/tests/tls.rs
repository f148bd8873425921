//! `sigap` and an office's server over HTTPS: a certificate from the
//! office's own CA is trusted once `sigap init --ca-cert` names it; without
//! it the sync stops with a message that says what to do; plain http:// to
//! another machine is refused unless `--insecure` says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use sigap_e2e::{Agent, bin};

struct Serving(Child, String);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA and the server certificate it signed for localhost, as PEM files.
fn pki(dir: &Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &Issuer::new(ca_params, ca_key))
        .unwrap();
    let paths = ["ca.pem", "cert.pem", "key.pem"].map(|f| dir.join(f));
    std::fs::write(&paths[0], ca.pem()).unwrap();
    std::fs::write(&paths[1], cert.pem()).unwrap();
    std::fs::write(&paths[2], key.serialize_pem()).unwrap();
    let [a, b, c] = paths.map(|p| p.to_string_lossy().into_owned());
    (a, b, c)
}

fn serve_tls(dir: &Path, cert: &str, key: &str) -> Serving {
    let db = dir.join("server.db");
    let mut child = Command::new(bin("sigap-server"))
        .arg("--db")
        .arg(&db)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_string();
    Serving(child, format!("https://localhost:{port}"))
}

fn token(dir: &Path) -> String {
    let out = Command::new(bin("sigap-server"))
        .arg("--db")
        .arg(dir.join("server.db"))
        .args([
            "token", "create", "--role", "agent", "--name", "budi", "--area", "33.72.01",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const REGISTER: &[&str] = &[
    "register",
    "--nik",
    "3372011203850001",
    "--name",
    "Budi Santoso",
    "--birth-date",
    "1985-03-12",
    "--sex",
    "L",
    "--kelurahan",
    "33.72.01.1001",
    "--rw",
    "1",
    "--rt",
    "2",
    "--category",
    "bpu",
    "--occupation",
    "pedagang",
];

#[test]
fn the_office_ca_is_trusted_once_given_and_its_absence_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki(dir.path());
    let server = serve_tls(dir.path(), &cert, &key);
    let token = token(dir.path());

    // With the office's CA: the sync goes through.
    let trusting = Agent::new();
    trusting.ok(&[
        "init",
        "--server",
        &server.1,
        "--device-name",
        "hp-1",
        "--token",
        &token,
        "--ca-cert",
        &ca,
    ]);
    trusting.ok(REGISTER);
    let (code, summary) = trusting.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["applied"], 1, "{summary}");

    // Without it: refused at once, saying what to do.
    let other = Agent::new();
    other.ok(&["init", "--server", &server.1, "--device-name", "hp-2"]);
    let out = other
        .command(&["sync"])
        .env("SIGAP_TOKEN", &token)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("--ca-cert"), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");

    // A CA file that is not one is refused at init, changing nothing.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = other.run(&["init", "--ca-cert", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PEM"));
}

#[test]
fn plain_http_to_another_machine_needs_insecure() {
    let agent = Agent::new();
    let out = agent.run(&[
        "init",
        "--server",
        "http://10.1.2.3:8080",
        "--device-name",
        "hp-1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--insecure"), "{stderr}");
    // This laptop itself is fine.
    agent.ok(&[
        "init",
        "--server",
        "http://127.0.0.1:9",
        "--device-name",
        "hp-1",
    ]);
    // Said, and then allowed: loudly at each connection.
    agent.ok(&["init", "--server", "http://10.1.2.3:9", "--insecure"]);
    let out = agent
        .command(&["sync"])
        .env("SIGAP_TOKEN", "sigap_x")
        .env("SIGAP_RETRY_LIMIT", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("plain http"), "{stderr}");
}
