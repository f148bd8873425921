//! `sigap import` given files as they come from offices: broken quotes,
//! rows with too few or too many columns, a byte order mark, CRLF line
//! ends, text saved as Latin-1 rather than UTF-8. Each bad row is reported
//! by the line an editor shows it on (the header is line 1), a file with
//! nothing good in it ends with a non-zero exit status, and a rejected row
//! leaves nothing in the local database.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::BTreeSet;

use common::*;

/// A valid row (line `i + 2` of a file) whose NIK is [`nik_of`]`(i)`.
fn good(i: usize) -> String {
    csv_row(i)
}

fn nik_of(i: usize) -> String {
    csv_row(i)[..16].to_string()
}

/// The NIKs `sigap list --json` shows.
fn listed(env: &Env) -> BTreeSet<String> {
    let list = env.run(&["list", "--json"]).code(0).json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["nik"].as_str().unwrap().to_string())
        .collect()
}

/// A database holding Budi (registered with flags before the import).
fn env_with_budi() -> Env {
    let env = Env::new();
    env.register_budi().code(0);
    env
}

/// Imports `bytes` as a file and returns the run, with the NIKs listed
/// before and after.
fn import(env: &Env, name: &str, bytes: &[u8]) -> (Run, BTreeSet<String>, BTreeSet<String>) {
    let path = env.path(name);
    std::fs::write(&path, bytes).unwrap();
    let before = listed(env);
    let run = env.run(&["import", path.to_str().unwrap()]);
    let after = listed(env);
    (run, before, after)
}

#[test]
fn a_quote_left_open_is_reported_on_its_line_and_nothing_it_swallowed_is_saved() {
    let env = env_with_budi();
    // Line 3 opens a quote it never closes: line 4 is read into it.
    let open = "3372011304860002,\"Agus Salim,1986-04-13,L,33.72.01.1001,3,5,bpu,pedagang,,,jkk\n";
    let text = format!("{CSV_HEADER}{}{open}{}", good(0), good(1));
    let (run, before, after) = import(&env, "quote.csv", text.as_bytes());
    run.code(1)
        .stdout_has("imported 1, rejected 1")
        .stderr_has("line 3: a quote (\") opened on this line is not closed")
        .stderr_has("none of them was imported; fix the quotes");
    let mut expected = before.clone();
    expected.insert(nik_of(0));
    assert_eq!(after, expected, "only line 2 is saved");
    assert!(!after.contains(&nik_of(1)), "line 4 was swallowed");
    assert!(!after.contains("3372011304860002"));

    // A file with nothing but the broken row: exit non-zero, nothing saved.
    let (run, before, after) = import(&env, "only.csv", format!("{CSV_HEADER}{open}").as_bytes());
    assert_ne!(run.code, 0, "{}", run.stderr);
    run.stderr_has("line 2: a quote (\") opened on this line is not closed")
        .stdout_has("imported 0, rejected 1");
    assert_eq!(before, after);
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 2);
}

#[test]
fn rows_with_too_few_or_too_many_columns_are_rejected_by_line() {
    let env = env_with_budi();
    let short = "3372011304860002,Agus,1986-04-13,L,33.72.01.1001,3\n";
    let long = "3372011304860003,Wati,1986-04-13,P,33.72.01.1001,3,5,bpu,pedagang,,,jkk,x,y\n";
    let text = format!("{CSV_HEADER}{short}{}{long}", good(2));
    let (run, before, after) = import(&env, "columns.csv", text.as_bytes());
    run.code(1)
        .stdout_has("imported 1, rejected 2")
        .stderr_has("line 2: malformed CSV line: 6 columns where the header has 12")
        .stderr_has("line 4: malformed CSV line: 14 columns where the header has 12");
    let mut expected = before;
    expected.insert(nik_of(2));
    assert_eq!(after, expected);

    // Only bad rows: non-zero, nothing saved.
    let (run, before, after) = import(
        &env,
        "all_bad.csv",
        format!("{CSV_HEADER}{short}{long}").as_bytes(),
    );
    run.code(1).stdout_has("imported 0, rejected 2");
    assert_eq!(before, after);
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_keep_the_line_numbers() {
    let env = env_with_budi();
    let bad_nik = "3372011203850000,Joko,1985-03-12,L,33.72.01.1001,3,5,bpu,pedagang,,,jkk\n";
    let text = format!("{CSV_HEADER}{}{bad_nik}\n{}", good(3), good(4)).replace('\n', "\r\n");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    // Line 2 good, line 3 a bad NIK, line 4 blank, line 5 good.
    let (run, before, after) = import(&env, "excel.csv", &bytes);
    run.code(1)
        .stdout_has("imported 2, rejected 1")
        .stderr_has("line 3: nik: serial 0000 is not allowed");
    assert!(!run.stderr.contains("unknown column"), "{}", run.stderr);
    let mut expected = before;
    expected.extend([nik_of(3), nik_of(4)]);
    assert_eq!(after, expected);
    // No carriage return kept in the last column.
    let shown = env.run(&["show", &nik_of(4), "--json"]).code(0).json();
    assert!(!shown.to_string().contains("\\r"), "{shown}");

    // A BOM and CRLF file of bad rows only: non-zero, nothing saved.
    let mut bad = b"\xEF\xBB\xBF".to_vec();
    bad.extend_from_slice(
        format!("{CSV_HEADER}{bad_nik}")
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    let (run, before, after) = import(&env, "excel_bad.csv", &bad);
    run.code(1)
        .stdout_has("imported 0, rejected 1")
        .stderr_has("line 2: nik: serial 0000 is not allowed");
    assert_eq!(before, after);
}

/// `text` encoded as Latin-1 (ISO 8859-1): every character below 256 as
/// one byte, as Excel's plain "CSV" saves it on an Indonesian or Western
/// Windows.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

#[test]
fn a_latin1_file_is_refused_line_by_line_with_what_to_do() {
    let env = env_with_budi();
    // Line 2 "José" (Latin-1), line 3 plain ASCII and valid, lines 4 and 5
    // one row whose quoted occupation spans both, with "Renée".
    let text = format!(
        "{CSV_HEADER}{}{}{}",
        "3372011304860002,José,1986-04-13,L,33.72.01.1001,3,5,bpu,pedagang,,,jkk\n",
        good(5),
        "3372015304860003,Renée,1986-04-13,P,33.72.01.1001,3,5,bpu,\"tukang\nbatu\",,,jkk\n",
    );
    let (run, before, after) = import(&env, "latin1.csv", &latin1(&text));
    run.code(1)
        .stdout_has("imported 1, rejected 2")
        .stderr_has("line 2: the file is not UTF-8 text here")
        .stderr_has("line 4: the file is not UTF-8 text here")
        .stderr_has("save it as \"CSV UTF-8\"");
    assert!(!run.stderr.contains("line 3:"), "{}", run.stderr);
    assert!(!run.stderr.contains("line 5:"), "{}", run.stderr);
    let mut expected = before;
    expected.insert(nik_of(5));
    assert_eq!(after, expected);

    // A whole file in Latin-1: every row refused, exit non-zero, nothing
    // saved; in Indonesian by default.
    let whole = format!(
        "{CSV_HEADER}{}{}",
        "3372011304860004,José,1986-04-13,L,33.72.01.1001,3,5,bpu,pedagang,,,jkk\n",
        "3372015304860005,Renée,1986-04-13,P,33.72.01.1001,3,5,bpu,pedagang,,,jkk\n",
    );
    let path = env.path("latin1_all.csv");
    std::fs::write(&path, latin1(&whole)).unwrap();
    let before = listed(&env);
    let mut id = env.command(&["import", path.to_str().unwrap()]);
    id.env_remove("SIGAP_LANG");
    let run = Run::of(&mut id);
    assert_ne!(run.code, 0, "{}", run.stderr);
    run.stdout_has("diimpor 0, ditolak 2")
        .stderr_has("baris 2: berkas ini bukan teks UTF-8 di sini")
        .stderr_has("baris 3: berkas ini bukan teks UTF-8 di sini")
        .stderr_has("simpan sebagai \"CSV UTF-8\"");
    assert!(!run.stderr.contains("line"), "{}", run.stderr);
    assert_eq!(listed(&env), before);

    // A header that is not UTF-8: refused at line 1, nothing read.
    let header = CSV_HEADER.replace("name", "nàme");
    let (run, before, after) = import(&env, "latin1_header.csv", &latin1(&header));
    run.code(2)
        .stderr_has("latin1_header.csv: line 1: the file is not UTF-8 text")
        .stderr_has("save it as \"CSV UTF-8\"");
    assert!(!run.stderr.contains("byte index"), "{}", run.stderr);
    assert_eq!(before, after);
}
