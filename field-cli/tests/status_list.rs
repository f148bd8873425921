#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

#[test]
fn list_filters_by_area_and_shows_a_table() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    env.run(&["list"])
        .code(0)
        .stdout_has("Budi Santoso")
        .stdout_has("Pajang")
        .stdout_has("Laweyan")
        .stdout_has("2 registration(s)");
    let only = env
        .run(&["list", "--kelurahan", "33.72.01.1002", "--json"])
        .code(0)
        .json();
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["nik"], SITI);
    let rt = env
        .run(&[
            "list",
            "--kelurahan",
            "33.72.01.1001",
            "--rw",
            "3",
            "--rt",
            "5",
            "--json",
        ])
        .json();
    assert_eq!(rt[0]["nik"], BUDI);
    let none = env.run(&["list", "--rt", "9", "--json"]).json();
    assert_eq!(none.as_array().unwrap().len(), 0);
    env.run(&["list", "--kelurahan", "33.72"])
        .code(2)
        .stderr_has("not a kelurahan code");
}

#[test]
fn list_pending_shows_records_not_yet_synced() {
    let env = Env::new();
    env.register_budi().code(0);
    let pending = env.run(&["list", "--pending", "--json"]).code(0).json();
    assert_eq!(pending.as_array().unwrap().len(), 1);
    // Pretend the server accepted it.
    let conn = open_db(&env.db);
    conn.execute(
        "UPDATE changes SET state = 'acked', outcome = 'applied'",
        [],
    )
    .unwrap();
    let pending = env.run(&["list", "--pending", "--json"]).code(0).json();
    assert_eq!(pending.as_array().unwrap().len(), 0);
}

#[test]
fn status_counts_records_and_pending_changes() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&["edit", BUDI, "--rt", "7"]).code(0);
    env.run(&["status"])
        .code(0)
        .stdout_has("device: laptop-test")
        .stdout_has("server: http://127.0.0.1:9")
        .stdout_has("records: 1")
        .stdout_has("pending changes: 2")
        .stdout_has("last successful sync: never");
    let s = env.run(&["status", "--json"]).code(0).json();
    assert_eq!(s["records"], 1);
    assert_eq!(s["pending_changes"], 2);
    assert_eq!(s["rejected_changes"].as_array().unwrap().len(), 0);
}

#[test]
fn visits_show_progress_per_rt() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&[
        "visit",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "3",
        "--rt",
        "5",
        "--households",
        "40",
    ])
    .code(0)
    .stdout_has("saved: visit of Pajang RW 3 RT 5");
    env.run(&[
        "visit",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "3",
        "--rt",
        "5",
        "--households",
        "12",
        "--note",
        "ketua RT absent",
    ])
    .code(0)
    .stdout_has("2 visit(s), 52 households, 1 registered");
    let p = env.run(&["progress", "--json"]).code(0).json();
    assert_eq!(p[0]["households"], 52);
    assert_eq!(p[0]["registered"], 1);
    env.run(&[
        "visit",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "0",
        "--rt",
        "5",
        "--households",
        "1",
    ])
    .code(2)
    .stderr_has("RW \"0\" is not valid");
}

#[test]
fn lookup_answers_offline() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&["lookup", BUDI])
        .code(0)
        .stdout_has("is registered on this device: Budi Santoso (pending)");
    env.run(&["lookup", SITI])
        .code(0)
        .stdout_has("unknown: NIK 3372015203900002 is not registered on this device nor in the last synced data");
    assert_eq!(
        env.run(&["lookup", SITI, "--json"]).json()["answer"],
        "unknown"
    );
    env.run(&["lookup", "123"])
        .code(2)
        .stderr_has("NIK must be 16 digits");
}

#[test]
fn show_of_an_unknown_nik_says_so() {
    let env = Env::new();
    env.run(&["show", BUDI])
        .code(2)
        .stderr_has("is not registered on this device");
}

#[test]
fn a_list_stalled_in_a_pipe_does_not_keep_other_commands_out() {
    let env = Env::new();
    let csv = env.path("many.csv");
    write_csv(&csv, 3000);
    env.run(&["import", csv.to_str().unwrap()]).code(0);
    // `sigap list | less`, with the reader not reading: the list's output
    // is far more than a pipe holds, so it stops mid-way with the
    // database open.
    let mut list = env
        .command(&["list"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = list.stdout.take().unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    // Another command (here a registration) goes ahead meanwhile.
    env.register_budi().code(0);
    std::io::copy(&mut out, &mut std::io::sink()).unwrap();
    assert!(list.wait().unwrap().success());
}
