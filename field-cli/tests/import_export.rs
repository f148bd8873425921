#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::{Duration, Instant};

use common::*;

fn bad_file(env: &Env) -> std::path::PathBuf {
    let path = env.path("forms.csv");
    let text = format!(
        "{CSV_HEADER}{}{}{}{}{}{}",
        csv_row(0), // line 2 ok
        "3372011203850000,Budi,1985-03-12,L,33.72.01.1001,3,5,bpu,pedagang,,,jkk\n", // line 3 bad NIK
        csv_row(1),                                                                  // line 4 ok
        "3372015203900002,Siti,1990-03-12,P,33.72.01.1001,1,2,pu,buruh,,,\"jkk,jkm\"\n", // line 5 no employer
        "3372011203850001,Budi,1985-03-12,L,33.72.01.1001,3\n", // line 6 malformed
        csv_row(0),                                             // line 7 duplicate of line 2
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn valid_rows_are_imported_and_each_bad_row_is_reported_with_its_line() {
    let env = Env::new();
    let file = bad_file(&env);
    env.run(&["import", file.to_str().unwrap()])
        .code(1)
        .stdout_has("imported 2, rejected 4")
        .stderr_has("line 3: nik: serial 0000 is not allowed")
        .stderr_has("line 5: employer: employer is required for category pu")
        .stderr_has("line 6: malformed CSV line: 6 columns where the header has 12")
        .stderr_has(
            "line 7: nik: NIK 3372010101600001 appears twice in this file (first on line 2)",
        );
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 2);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE state = 'pending'"),
        2
    );
}

#[test]
fn strict_import_writes_nothing_if_any_row_is_bad() {
    let env = Env::new();
    let file = bad_file(&env);
    env.run(&["import", "--strict", file.to_str().unwrap()])
        .code(2)
        .stderr_has("line 3: nik:")
        .stderr_has("nothing imported (--strict)");
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 0);
}

#[test]
fn import_json_summary_lists_rejections() {
    let env = Env::new();
    let file = bad_file(&env);
    let s = env
        .run(&["import", "--json", file.to_str().unwrap()])
        .code(1)
        .json();
    assert_eq!(s["imported"], 2);
    assert_eq!(s["rejected_rows"], 4);
    assert_eq!(s["rejected"][0]["line"], 3);
}

#[test]
fn rows_already_registered_here_are_rejected() {
    let env = Env::new();
    let file = env.path("a.csv");
    write_csv(&file, 3);
    env.run(&["import", file.to_str().unwrap()])
        .code(0)
        .stdout_has("imported 3, rejected 0");
    // The same rows again with one new: only the new one is stored, and a
    // refused row leaves no change behind.
    write_csv(&file, 4);
    env.run(&["import", file.to_str().unwrap()])
        .code(1)
        .stderr_has("line 2: nik: NIK 3372010101600001 is already registered on this device")
        .stdout_has("imported 1, rejected 3");
    let status = env.run(&["status", "--json"]).code(0).json();
    assert_eq!(status["records"], 4);
    assert_eq!(status["pending_changes"], 4);
    // A row that is both registered here and invalid says the former.
    let bad = csv_row(0).replacen(",1960-01-01,", ",1961-01-01,", 1);
    assert_ne!(bad, csv_row(0));
    std::fs::write(&file, format!("{CSV_HEADER}{bad}")).unwrap();
    env.run(&["import", file.to_str().unwrap()])
        .code(1)
        .stderr_has("line 2: nik: NIK 3372010101600001 is already registered on this device");
}

#[test]
fn unknown_columns_and_missing_files_are_refused() {
    let env = Env::new();
    let file = env.path("x.csv");
    std::fs::write(&file, "nik,nama\n1,2\n").unwrap();
    env.run(&["import", file.to_str().unwrap()])
        .code(2)
        .stderr_has("unknown column(s) nama");
    env.run(&["import", env.path("none.csv").to_str().unwrap()])
        .code(3)
        .stderr_has("cannot read");
}

#[test]
fn an_export_re_imports_into_another_device() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    env.run(&["void", SITI, "--reason", "moved away"]).code(0);
    let out = env.path("out.csv");
    env.run(&["export", out.to_str().unwrap()])
        .code(0)
        .stderr_has("exported 2");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("nik,name,birth_date,sex,kelurahan,rw,rt,category,occupation,employer,phone,programs,status,void_reason"));
    let other = Env::new();
    other
        .run(&["import", out.to_str().unwrap()])
        .code(0)
        .stdout_has("imported 2");
    let a = env.run(&["export", "-"]).code(0).stdout.clone();
    let b = other.run(&["export", "-"]).code(0).stdout.clone();
    assert_eq!(a, b);
    assert!(a.contains("void,moved away"));
}

#[test]
fn killing_a_large_import_leaves_all_rows_or_none() {
    let env = Env::new();
    let rows = 30_000;
    let file = env.path("big.csv");
    write_csv(&file, rows);
    let mut child = env
        .command(&["import", file.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the import is writing (its WAL grows), then kill it.
    let wal = env.path("sigap.db-wal");
    let start = Instant::now();
    while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) < 2_000_000
        && start.elapsed() < Duration::from_secs(60)
    {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();

    let conn = open_db(&env.db);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let records: i64 = conn
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
        .unwrap();
    let changes: i64 = conn
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert!(records == 0 || records == rows as i64, "records {records}");
    assert_eq!(records, changes, "outbox consistent with the records");
    drop(conn);

    // Run again: it completes (or reports every row as already imported).
    let again = env.run(&["import", "--json", file.to_str().unwrap()]);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM records"),
        rows as i64,
        "{}",
        again.stderr
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), rows as i64);
    assert_eq!(
        env.count("SELECT MAX(device_seq) FROM changes"),
        rows as i64
    );
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

#[test]
fn semicolon_files_from_excel_import_like_comma_files() {
    let comma = Env::new();
    let excel = Env::new();
    let file = bad_file(&comma);
    let text = std::fs::read_to_string(&file).unwrap();
    let semi = excel.path("excel.csv");
    std::fs::write(&semi, as_excel(&text)).unwrap();
    assert!(
        std::fs::read(&semi)
            .unwrap()
            .starts_with(b"\xEF\xBB\xBFnik;name;")
    );
    let a = comma.run(&["import", file.to_str().unwrap()]);
    let b = excel.run(&["import", semi.to_str().unwrap()]);
    b.code(1)
        .stdout_has("imported 2, rejected 4")
        .stderr_has("line 3: nik: serial 0000 is not allowed")
        .stderr_has("line 5: employer: employer is required for category pu")
        .stderr_has("line 6: malformed CSV line: 6 columns where the header has 12")
        .stderr_has(
            "line 7: nik: NIK 3372010101600001 appears twice in this file (first on line 2)",
        );
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stderr, b.stderr);
    // The same people, their programs ("jkk,jkm" unquoted in the
    // semicolon file) included.
    let ea = comma.run(&["export", "-"]).code(0).stdout.clone();
    let eb = excel.run(&["export", "-"]).code(0).stdout.clone();
    assert_eq!(ea, eb);
}

#[test]
fn the_delimiter_can_be_given() {
    let env = Env::new();
    let semi = env.path("excel.csv");
    std::fs::write(&semi, as_excel(&format!("{CSV_HEADER}{}", csv_row(0)))).unwrap();
    let semi = semi.to_str().unwrap();
    env.run(&["import", "--delimiter", "comma", semi])
        .code(2)
        .stderr_has("unknown column(s) nik;name;birth_date")
        .stderr_has("separated by ',' or ';'");
    env.run(&["import", "--delimiter", "tab", semi])
        .code(2)
        .stderr_has("give ';' (or semicolon) or ',' (or comma)");
    env.run(&["import", "--delimiter", ";", semi])
        .code(0)
        .stdout_has("imported 1, rejected 0");
    let comma = env.path("comma.csv");
    std::fs::write(&comma, format!("{CSV_HEADER}{}", csv_row(1))).unwrap();
    env.run(&[
        "import",
        "--delimiter",
        "semicolon",
        comma.to_str().unwrap(),
    ])
    .code(2)
    .stderr_has("unknown column(s) nik,name,birth_date");
    env.run(&["import", "--delimiter", ",", comma.to_str().unwrap()])
        .code(0)
        .stdout_has("imported 1, rejected 0");
}

#[test]
fn errors_name_the_line_an_editor_shows_after_quoted_lines_and_blank_ones() {
    // Line 2 and 3: one row whose occupation spans two lines; line 4
    // blank; line 5 a bad NIK; line 6 a row one column short.
    let multi = csv_row(0).replacen(",pedagang,", ",\"tukang\nbatu\",", 1);
    let text = format!(
        "{CSV_HEADER}{multi}\n{}{}",
        "3372011203850000,Budi,1985-03-12,L,33.72.01.1001,3,5,bpu,pedagang,,,jkk\n",
        "3372011203850001,Budi,1985-03-12,L,33.72.01.1001,3,5,bpu,pedagang,,\n",
    );
    // A reader skips blank lines: the one of the Excel file is put back.
    let excel = String::from_utf8(as_excel(&text)).unwrap().replacen(
        "\r\n3372011203850000",
        "\r\n\r\n3372011203850000",
        1,
    );
    for (name, bytes) in [("lf.csv", text.clone()), ("excel.csv", excel)] {
        let env = Env::new();
        let file = env.path(name);
        std::fs::write(&file, &bytes).unwrap();
        env.run(&["import", file.to_str().unwrap()])
            .code(1)
            .stdout_has("imported 1, rejected 2")
            .stderr_has("line 5: nik: serial 0000 is not allowed")
            .stderr_has("line 6: malformed CSV line: 11 columns where the header has 12");
    }
}

#[test]
fn a_header_of_neither_delimiter_names_the_columns() {
    let env = Env::new();
    let file = env.path("tabs.csv");
    std::fs::write(&file, CSV_HEADER.replace(',', "\t")).unwrap();
    env.run(&["import", file.to_str().unwrap()])
        .code(2)
        .stderr_has("line 1: unknown column(s) nik\tname")
        .stderr_has("the columns are nik,name,birth_date,sex,kelurahan,rw,rt,category,occupation,employer,phone,programs,status,void_reason, separated by ',' or ';'");
}

#[test]
fn csv_rows_may_name_the_kelurahan_and_an_ambiguous_name_is_rejected_by_line() {
    let env = Env::new();
    let path = env.path("names.csv");
    let text = format!(
        "{CSV_HEADER}{}{}{}",
        "3372011203850001,Budi,1985-03-12,L,Kp. Baru,3,5,bpu,pedagang,,,\"jkk,jkm\"\n", // line 2 by name
        "3372015203900002,Siti,1990-03-12,P,kepatihan,1,2,bpu,buruh,,,jkk\n", // line 3 ambiguous
        "3372015203900003,Sri,1990-03-12,P,Atlantis,1,2,bpu,buruh,,,jkk\n",   // line 4 unknown
    );
    std::fs::write(&path, text).unwrap();
    env.run(&["import", path.to_str().unwrap()])
        .code(1)
        .stdout_has("imported 1, rejected 2")
        .stderr_has(
            "line 3: kelurahan: kelurahan \"kepatihan\" matches 2 places: \
             Kepatihan Kulon (33.72.04.1001), Kepatihan Wetan (33.72.04.1002)",
        )
        .stderr_has("line 4: kelurahan: no kelurahan of Kota Surakarta is called \"Atlantis\"");
    assert_eq!(
        env.count("SELECT COUNT(*) FROM records WHERE kelurahan = '33.72.03.1006'"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 1);
}
