#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Choosing the database from the command line: `--database-url` /
//! `SIGAP_DATABASE_URL`, `sigap-server migrate`, and what a wrong URL says.

mod common;

use std::process::Command;

fn server(args: &[&str], url: Option<&str>, dir: &std::path::Path) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigap-server"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SIGAP_DATABASE_URL")
        .env_remove("SIGAP_SERVER_DB");
    if let Some(url) = url {
        cmd.env("SIGAP_DATABASE_URL", url);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn migrate_says_the_schema_version_of_each_backend() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = server(&["migrate"], None, dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("SQLite sigap-server.db: schema at version 12"),
        "{out}"
    );
    let path = dir.path().join("other.db");
    let url = format!("sqlite:{}", path.display());
    let (code, out, err) = server(&["migrate"], Some(&url), dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("other.db: schema at version 12"), "{out}");
    assert!(path.exists());
    if let Some(pg) = common::pg_url() {
        let (code, out, err) = server(&["migrate"], Some(&pg), dir.path());
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("PostgreSQL (schema t_"), "{out}");
        assert!(out.contains("schema at version 4, up to date"), "{out}");
        // Again: nothing to do, same answer.
        let (code, again, _) = server(&["migrate"], Some(&pg), dir.path());
        assert_eq!((code, again), (0, out));
    }
}

#[test]
fn a_wrong_database_url_says_what_is_wrong_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = server(
        &["token", "list"],
        Some("mysql://root:rahasia@db/sigap"),
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("neither postgres://"), "{err}");
    assert!(
        !err.contains("rahasia"),
        "the password is not echoed: {err}"
    );
    let (code, _, err) = server(
        &["token", "list"],
        Some("postgres://127.0.0.1/test?schema=Robert');DROP"),
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("lower-case letters, digits and _"), "{err}");
    // Nothing listens on port 9: a database error (3) that says so, at once.
    let started = std::time::Instant::now();
    let (code, _, err) = server(
        &["token", "list"],
        Some("postgres://sigap:rahasia@127.0.0.1:9/sigap"),
        dir.path(),
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot open the PostgreSQL database"), "{err}");
    assert!(err.contains("SIGAP_DATABASE_URL"), "{err}");
    assert!(
        !err.contains("rahasia"),
        "the password is not echoed: {err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        files.is_empty(),
        "no SQLite file made on the side: {files:?}"
    );
}
