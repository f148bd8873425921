#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The published Kota Surakarta figures computed by the server, and the
//! admin commands run as the real binary.

mod common;

use common::cli;

use std::io::Write;
use std::process::Command;

use common::{Device, outcomes};
use serde_json::Value;
use sigap_server::store::Role;

const BIN: &str = env!("CARGO_BIN_EXE_sigap-server");

/// A roll of `n` valid, distinct NIKs spread over the 54 kelurahan.
fn roll_csv(n: u32) -> String {
    let kels: Vec<_> =
        sigap_shared::wilayah::kelurahan_in(&sigap_shared::AreaCode::parse("33.72").unwrap())
            .into_iter()
            .map(|a| a.code)
            .collect();
    assert_eq!(kels.len(), 54);
    let mut out = String::from("nik,kelurahan,rw,rt,category\n");
    for i in 0..n {
        let kel = kels[(i % 54) as usize];
        let kec = kel.kecamatan_code().unwrap().to_string().replace('.', "");
        let cat = ["pu", "bpu", "jakon", "pmi"][(i % 4) as usize];
        out.push_str(&format!(
            "{},{kel},{},{},{cat}\n",
            common::nik(&kec, i),
            1 + i % 7,
            1 + i % 5
        ));
    }
    out
}

#[tokio::test]
async fn the_server_reproduces_the_published_surakarta_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("solo.db");
    let csv = dir.path().join("roll.csv");
    std::fs::write(&csv, roll_csv(100_512)).unwrap();
    // The roll as of December 2024, the month the figures stand for.
    let (code, _, err) = cli(
        &db,
        &[
            "participants",
            "import",
            "--as-of",
            "2024-12-31",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("100512 new participants"), "{err}");
    let (code, _, err) = cli(
        &db,
        &[
            "baseline",
            "set",
            "--area",
            "33.72",
            "--year",
            "2024",
            "--working-population",
            "227164",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(
        &db,
        &[
            "target",
            "set",
            "--area",
            "33.72",
            "--year",
            "2024",
            "--percent",
            "57.02",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = cli(
        &db,
        &[
            "coverage", "show", "--area", "33.72", "--year", "2024", "--json",
        ],
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["figures"]["coverage"], "44.24%");
    assert_eq!(v["figures"]["uncovered"], 126_652);
    assert_eq!(v["figures"]["gap_points"], "12.78");
    let (code, out, _) = cli(&db, &["coverage", "verify"]);
    assert_eq!(code, 0, "{out}");

    // The same database served over HTTP; field registrations of people
    // already in the roll do not count twice.
    let store = std::sync::Arc::new(sigap_server::store::SqliteStore::open(&db).unwrap());
    let s = common::serve(store).await;
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let agent = s.token(Role::Agent, "agent", &["33.72"]);
    let (_, cov) = s
        .get(&sup, "/api/v1/coverage?area=33.72&year=2024&depth=1")
        .await;
    assert_eq!(cov["figures"]["covered"], 100_512);
    assert_eq!(cov["figures"]["coverage"], "44.24%");
    assert_eq!(cov["figures"]["uncovered"], 126_652);
    assert_eq!(cov["figures"]["gap_points"], "12.78");
    assert_eq!(cov["figures"]["target_percent"], "57.02");
    assert_eq!(cov["children"].as_array().unwrap().len(), 5);
    let first_roll_nik = roll_csv(1)
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let mut d = Device::new();
    let c = d.register(&first_roll_nik, "Budi Santoso", "33.72.01.1001", 1, 1);
    let (_, r) = s.push(&agent, &d, &[c]).await;
    assert_eq!(outcomes(&r), ["merged"], "{r}");
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2024").await;
    assert_eq!(cov["figures"]["covered"], 100_512);
}

#[test]
fn token_commands_create_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (code, out, err) = cli(
        &db,
        &[
            "token", "create", "--role", "agent", "--name", "siti", "--area", "33.72.01",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let token = out.trim();
    assert!(token.starts_with("sigap_") && token.len() == 70, "{out}");
    assert_eq!(out.lines().count(), 1);
    let (code, out, _) = cli(
        &db,
        &[
            "token", "create", "--role", "admin", "--name", "root", "--json",
        ],
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["role"], "admin");
    assert!(v["token"].as_str().unwrap().starts_with("sigap_"));
    let (code, _, err) = cli(
        &db,
        &["token", "create", "--role", "supervisor", "--name", "x"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--area"), "{err}");
    let (code, _, err) = cli(
        &db,
        &[
            "token", "create", "--role", "agent", "--name", "siti", "--area", "33.72",
        ],
    );
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = cli(&db, &["token", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("siti") && out.contains("root") && !out.contains(token));
    let (code, _, _) = cli(&db, &["token", "revoke", "siti"]);
    assert_eq!(code, 0);
    let (_, out, _) = cli(&db, &["token", "list", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v[0]["revoked_at"].is_i64());
    let (code, _, _) = cli(&db, &["token", "revoke", "nobody"]);
    assert_eq!(code, 2);
}

#[tokio::test]
async fn an_expired_token_is_refused_and_listed_as_expired() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let day_ms: i64 = 86_400_000;
    let before = sigap_shared::hlc::wall_millis() as i64;
    let (code, out, err) = cli(
        &db,
        &[
            "token",
            "create",
            "--role",
            "admin",
            "--name",
            "short",
            "--expires",
            "90d",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("expires"), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let short = v["token"].as_str().unwrap().to_string();
    let expires = v["expires_at"].as_i64().unwrap();
    assert!(
        (before + 90 * day_ms..before + 91 * day_ms).contains(&expires),
        "{v}"
    );
    let (code, out, err) = cli(
        &db,
        &[
            "token", "create", "--role", "admin", "--name", "forever", "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let forever = v["token"].as_str().unwrap().to_string();
    assert!(v["expires_at"].is_null(), "{v}");
    // Bad durations: exit 2, naming the flag and what it takes.
    for bad in ["90", "0d", "90y", "-2w", "1.5h", "soon", "4000d", ""] {
        // `=` so that "-2w" reaches the parser instead of reading as a flag.
        let flag = format!("--expires={bad}");
        let (code, _, err) = cli(
            &db,
            &["token", "create", "--role", "admin", "--name", "bad", &flag],
        );
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.contains("--expires"), "{bad:?}: {err}");
    }
    let (_, out, _) = cli(&db, &["token", "list"]);
    assert!(!out.contains("bad"), "{out}");
    assert!(out.lines().next().unwrap().contains("EXPIRES"), "{out}");

    let store = std::sync::Arc::new(sigap_server::store::SqliteStore::open(&db).unwrap());
    let s = common::serve(store.clone()).await;
    let area = "/api/v1/coverage?area=33.72";
    let (st, body) = s.get(&short, area).await;
    assert_eq!(st, reqwest::StatusCode::OK, "{body}");
    // Waiting for an expiry is not possible here: move it into the past.
    let past = before - day_ms;
    store
        .with_writer(|c| {
            c.execute(
                "UPDATE tokens SET expires_at = ?1 WHERE name = 'short'",
                [past],
            )
        })
        .unwrap();
    let (st, body) = s.get(&short, area).await;
    assert_eq!(st, reqwest::StatusCode::UNAUTHORIZED, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    let date = sigap_server::time_text::format_time(past);
    assert!(
        msg.contains("expired") && msg.contains(&date) && msg.contains("ask an admin"),
        "{msg}"
    );
    let (st, body) = s.get(&forever, area).await;
    assert_eq!(st, reqwest::StatusCode::OK, "{body}");

    let (_, out, _) = cli(&db, &["token", "list"]);
    let line = out.lines().find(|l| l.contains("short")).unwrap();
    assert!(line.contains("expired") && line.contains(&date), "{out}");
    let line = out.lines().find(|l| l.contains("forever")).unwrap();
    assert!(line.contains("active") && line.contains("never"), "{out}");
    let dev = uuid::Uuid::now_v7().to_string();
    let (code, _, err) = cli(&db, &["device", "assign", &dev, "--token", "short"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expired"), "{err}");
    let (_, out, _) = cli(&db, &["token", "list", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["expires_at"], past);
    assert!(v[1]["expires_at"].is_null(), "{v}");
}

#[test]
fn the_database_holds_token_hashes_never_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let mut secrets = Vec::new();
    for (name, role, area) in [
        ("root", "admin", None),
        ("sari", "supervisor", Some("33.72")),
        ("budi", "agent", Some("33.72.01")),
    ] {
        let mut args = vec!["token", "create", "--role", role, "--name", name];
        if let Some(a) = area {
            args.extend(["--area", a]);
        }
        let (code, out, err) = cli(&db, &args);
        assert_eq!(code, 0, "{err}");
        secrets.push(out.trim().to_string());
    }
    // Everything on disk: the database file and, when the last process
    // did not checkpoint it away, its write-ahead log.
    let mut bytes = std::fs::read(&db).unwrap();
    let wal = dir.path().join("h.db-wal");
    if wal.exists() {
        bytes.extend(std::fs::read(&wal).unwrap());
    }
    let text = String::from_utf8_lossy(&bytes);
    for secret in &secrets {
        let random = secret.strip_prefix("sigap_").unwrap();
        assert_eq!(random.len(), 64);
        assert!(!text.contains(random), "a token secret is stored in clear");
        // The check can see into the file: the hash is found.
        assert!(
            text.contains(&sigap_server::token::hash(secret)),
            "the hash of a token is missing from the file"
        );
    }
}

#[test]
fn participants_import_reports_bad_rows_by_line_and_strict_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let csv = dir.path().join("roll.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "nik,kelurahan,rw,rt,category,extra").unwrap();
    writeln!(f, "3372011203850001,33.72.01.1001,3,5,pu,x").unwrap();
    writeln!(f, "3372011203850000,33.72.01.1001,3,5,pu,x").unwrap();
    writeln!(f, "3372015204900002,33.72.01,3,5,bpu,x").unwrap();
    drop(f);
    let path = csv.to_str().unwrap();
    let (code, _, err) = cli(&db, &["participants", "import", "--strict", path]);
    assert_eq!(code, 1);
    assert!(err.contains("line 3") && err.contains("serial"), "{err}");
    assert!(
        err.contains("line 4") && err.contains("not a kelurahan"),
        "{err}"
    );
    let (_, out, _) = cli(&db, &["coverage", "show", "--area", "33.72", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["figures"]["covered"], 0);
    let (code, _, _) = cli(&db, &["participants", "import", path]);
    assert_eq!(code, 1);
    let (_, out, _) = cli(&db, &["coverage", "show", "--area", "33.72", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["figures"]["covered"], 1);
    assert_eq!(v["by_category"]["pu"], 1);
    let (code, _, err) = cli(&db, &["participants", "import", "/nonexistent.csv"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn baselines_import_and_verify_detects_a_tampered_counter() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let csv = dir.path().join("base.csv");
    std::fs::write(
        &csv,
        "area,year,working_population\n33.72,2024,227164\n33.72.01.1001/3,2024,120\nbad,2024,1\n",
    )
    .unwrap();
    let (code, _, err) = cli(&db, &["baseline", "import", csv.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 4"), "{err}");
    let (_, out, _) = cli(
        &db,
        &[
            "coverage",
            "show",
            "--area",
            "33.72.01.1001",
            "--year",
            "2024",
            "--depth",
            "1",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["children"][0]["area"], "33.72.01.1001/3");
    assert_eq!(v["children"][0]["figures"]["working_population"], 120);
    let roll = dir.path().join("roll.csv");
    std::fs::write(
        &roll,
        "nik,kelurahan,rw,rt,category\n3372011203850001,33.72.01.1001,3,5,pu\n",
    )
    .unwrap();
    assert_eq!(
        cli(&db, &["participants", "import", roll.to_str().unwrap()]).0,
        0
    );
    assert_eq!(cli(&db, &["coverage", "verify"]).0, 0);
    let store = sigap_server::store::SqliteStore::open(&db).unwrap();
    store
        .with_writer(|c| {
            c.execute(
                "UPDATE counters SET covered = covered + 1 WHERE area = '33.72.01'",
                [],
            )
        })
        .unwrap();
    drop(store);
    let (code, out, _) = cli(&db, &["coverage", "verify", "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["differences"][0]["area"], "33.72.01");
    let (code, _, _) = cli(
        &db,
        &[
            "target",
            "set",
            "--area",
            "33.72",
            "--year",
            "2024",
            "--percent",
            "57.021",
        ],
    );
    assert_eq!(code, 2);
}

#[test]
fn serve_prints_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SIGAP_SERVER_DB", &db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("sigap-server listening on ")
        .unwrap()
        .to_string();
    let body: Value = reqwest::blocking::get(format!("{url}/healthz"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["status"], "ok");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A laptop whose agent's token was revoked is given to the agent's new
/// token by an admin, and its unsent changes go through under it.
#[tokio::test]
async fn device_assign_gives_a_laptop_to_a_new_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let store = std::sync::Arc::new(sigap_server::store::SqliteStore::open(&db).unwrap());
    let s = common::serve(store).await;
    let old = s.token(Role::Agent, "budi", &["33.72"]);
    let new = s.token(Role::Agent, "budi-2", &["33.72"]);
    s.token(Role::Supervisor, "sari", &["33.72"]);
    let mut d = Device::new();
    let first = d.register("3372011203850001", "Budi", "33.72.01.1001", 1, 1);
    let (_, r) = s.push(&old, &d, &[first]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    let (code, _, _) = cli(&db, &["token", "revoke", "budi"]);
    assert_eq!(code, 0);
    let next = d.register("3372015204900002", "Siti", "33.72.01.1001", 1, 1);
    let (st, _) = s.push(&new, &d, std::slice::from_ref(&next)).await;
    assert_eq!(st, reqwest::StatusCode::FORBIDDEN);
    // Refused: not a UUID, an unknown token, a revoked one, a supervisor's.
    let id = d.id.to_string();
    for (args, says) in [
        (
            vec!["device", "assign", "laptop-1", "--token", "budi-2"],
            "not a device id",
        ),
        (
            vec!["device", "assign", &id, "--token", "nobody"],
            "no token",
        ),
        (vec!["device", "assign", &id, "--token", "budi"], "revoked"),
        (
            vec!["device", "assign", &id, "--token", "sari"],
            "supervisor",
        ),
    ] {
        let (code, _, err) = cli(&db, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, _, err) = cli(&db, &["device", "assign", &id, "--token", "budi-2"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("budi-2"), "{err}");
    let (_, r) = s.push(&new, &d, &[next]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    assert_eq!(r["receipt"]["count"], 2);
}

/// `text` as Excel set to Indonesian saves it: semicolons, a byte order
/// mark, CRLF line ends.
fn as_excel(text: &str) -> Vec<u8> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    for rec in rdr.records() {
        out.write_record(&rec.unwrap()).unwrap();
    }
    out.into_inner().unwrap()
}

const BASELINES: &str =
    "area,year,working_population\n33.72,2024,227164\n33.72.01.1001/3,2024,120\nbad,2024,1\n";

#[test]
fn semicolon_files_from_excel_import_like_comma_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for (name, roll, baselines) in [
        (
            "comma",
            roll_csv(300).into_bytes(),
            BASELINES.as_bytes().to_vec(),
        ),
        ("excel", as_excel(&roll_csv(300)), as_excel(BASELINES)),
    ] {
        let db = dir.path().join(format!("{name}.db"));
        let (r, b) = (dir.path().join("roll.csv"), dir.path().join("base.csv"));
        std::fs::write(&r, roll).unwrap();
        std::fs::write(&b, baselines).unwrap();
        let (code, _, err) = cli(&db, &["participants", "import", r.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(err.contains("300 new participants"), "{name}: {err}");
        let (code, _, err) = cli(&db, &["baseline", "import", b.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(
            err.contains("base.csv: line 4: area code \"bad\" is not valid")
                && err.contains("imported 2 baselines, rejected 1"),
            "{name}: {err}"
        );
        let (_, out, _) = cli(
            &db,
            &[
                "coverage", "show", "--area", "33.72", "--year", "2024", "--json",
            ],
        );
        seen.push(out);
    }
    assert!(seen[0].contains("227164"), "{}", seen[0]);
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn the_delimiter_can_be_given() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let excel = dir.path().join("excel.csv");
    std::fs::write(&excel, as_excel(&roll_csv(3))).unwrap();
    let excel = excel.to_str().unwrap();
    let comma = dir.path().join("comma.csv");
    std::fs::write(&comma, BASELINES).unwrap();
    let comma = comma.to_str().unwrap();
    let (code, _, err) = cli(
        &db,
        &["participants", "import", "--delimiter", "comma", excel],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no column \"nik\"") && err.contains("--delimiter"),
        "{err}"
    );
    let (code, _, err) = cli(&db, &["participants", "import", "--delimiter", ";", excel]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 new participants"), "{err}");
    let (code, _, err) = cli(
        &db,
        &["baseline", "import", "--delimiter", "semicolon", comma],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no column \"area\""), "{err}");
    let (code, _, err) = cli(&db, &["baseline", "import", "--delimiter", ",", comma]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("imported 2 baselines"), "{err}");
    let (code, _, err) = cli(&db, &["baseline", "import", "--delimiter", "tab", comma]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("give ';' (or semicolon) or ',' (or comma)"),
        "{err}"
    );
}

#[test]
fn errors_name_the_line_an_editor_shows_after_quoted_lines_and_blank_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    // Line 2 and 3: one row with a column spanning two lines; line 4
    // blank; line 5 a bad row.
    let roll = "nik,kelurahan,rw,rt,category,note\n\
                3372011203850001,33.72.01.1001,3,5,pu,\"two\nlines\"\n\
                \n\
                3372011203850000,33.72.01.1001,3,5,pu,x\n";
    let base = "area,year,working_population,note\n\
                33.72,2024,227164,\"two\nlines\"\n\
                \n\
                bad,2024,1,x\n";
    for (crlf, roll, base) in [
        (false, roll.to_string(), base.to_string()),
        (true, roll.replace('\n', "\r\n"), base.replace('\n', "\r\n")),
    ] {
        let (r, b) = (dir.path().join("roll.csv"), dir.path().join("base.csv"));
        std::fs::write(&r, roll).unwrap();
        std::fs::write(&b, base).unwrap();
        let (code, _, err) = cli(&db, &["participants", "import", r.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("roll.csv: line 5: NIK") && err.contains("rejected 1"),
            "CRLF {crlf}: {err}"
        );
        let (code, _, err) = cli(&db, &["baseline", "import", b.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("base.csv: line 5: area code \"bad\"") && err.contains("rejected 1"),
            "CRLF {crlf}: {err}"
        );
    }
}

#[test]
fn a_quote_never_closed_is_named_on_its_own_line_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    // Line 3 opens a quote that nothing closes: the rest of the file is
    // read into that one value.
    let roll = "nik,kelurahan,rw,rt,category\n\
                3372011203850001,33.72.01.1001,3,5,pu\n\
                3372011203850002,\"33.72.01.1001,3,5,pu\n\
                3372011203850003,33.72.01.1001,3,5,pu\n";
    let base = "area,year,working_population\n\
                33.72,2024,227164\n\
                33.72.01,2024,\"5000\n\
                33.72.02,2024,6000\n";
    for (crlf, bom) in [(false, ""), (true, "\u{feff}")] {
        let (r, b) = (dir.path().join("roll.csv"), dir.path().join("base.csv"));
        let eol = |t: &str| {
            if crlf {
                t.replace('\n', "\r\n")
            } else {
                t.to_string()
            }
        };
        std::fs::write(&r, format!("{bom}{}", eol(roll))).unwrap();
        std::fs::write(&b, format!("{bom}{}", eol(base).replace(',', ";"))).unwrap();
        for (file, args) in [
            ("roll.csv", ["participants", "import", r.to_str().unwrap()]),
            ("base.csv", ["baseline", "import", b.to_str().unwrap()]),
        ] {
            let (code, _, err) = cli(&db, &args);
            assert_eq!(code, 2, "{err}");
            assert!(
                err.contains(&format!("{file}: line 3: a quote")) && err.contains("never closed"),
                "CRLF {crlf}: {err}"
            );
        }
    }
    let store = sigap_server::store::SqliteStore::open(&db).unwrap();
    let counts: (i64, i64) = store
        .with_writer(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM persons), (SELECT COUNT(*) FROM baselines)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!(counts, (0, 0), "nothing imported");
}

#[test]
fn a_header_of_neither_delimiter_names_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let f = dir.path().join("tabs.csv");
    std::fs::write(&f, "nik\tkelurahan\trw\trt\tcategory\n").unwrap();
    let (code, _, err) = cli(&db, &["participants", "import", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("expected columns nik,kelurahan,rw,rt,category, separated by ',' or ';'"),
        "{err}"
    );
    std::fs::write(&f, "area|year|working_population\n").unwrap();
    let (code, _, err) = cli(&db, &["baseline", "import", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("expected columns area,year,working_population, separated by ',' or ';'"),
        "{err}"
    );
}
