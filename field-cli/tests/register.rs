#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

#[test]
fn register_with_flags_saves_and_lists_the_person() {
    let env = Env::new();
    env.register_budi()
        .code(0)
        .stdout_has("saved: 3372011203850001 Budi Santoso, Pajang RW 3 RT 5");
    let list = env.run(&["list", "--json"]).code(0).json();
    assert_eq!(list[0]["nik"], BUDI);
    assert_eq!(list[0]["kelurahan_name"], "Pajang");
    assert_eq!(
        list[0]["programs"], "jkk,jkm",
        "bpu defaults to its required programmes"
    );
    assert_eq!(list[0]["sync_state"], "pending");
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE kind = 'register'"),
        1
    );
}

#[test]
fn an_invalid_nik_is_refused_with_the_part_that_is_wrong() {
    let env = Env::new();
    env.run(&with(budi_args(), "--nik", "3372011203850000"))
        .code(2)
        .stderr_has("serial 0000 is not allowed");
    env.run(&with(budi_args(), "--nik", "33720112038"))
        .code(2)
        .stderr_has("NIK must be 16 digits");
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 0);
}

#[test]
fn a_wrong_date_is_refused() {
    let env = Env::new();
    env.run(&with(budi_args(), "--birth-date", "1985-02-30"))
        .code(2)
        .stderr_has("birth date \"1985-02-30\" is not a date");
    env.run(&with(budi_args(), "--birth-date", "1985-03-13"))
        .code(2)
        .stderr_has("birth_date: birth date 13 March 1985 does not match the NIK, which encodes 12 March 1985");
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 0);
}

#[test]
fn pu_without_employer_is_refused_and_nothing_saved() {
    let env = Env::new();
    env.run(&without(siti_args(), "--employer"))
        .code(2)
        .stderr_has("the registration was not saved")
        .stderr_has("employer: employer is required for category pu");
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 0);
}

#[test]
fn every_missing_flag_is_listed_when_not_on_a_terminal() {
    let env = Env::new();
    env.run(&["register", "--nik", BUDI, "--name", "Budi"])
        .code(2)
        .stderr_has(
            "missing --birth-date, --sex, --kelurahan, --rw, --rt, --category, --occupation",
        );
}

#[test]
fn a_nik_already_registered_here_is_refused_with_advice_to_edit() {
    let env = Env::new();
    env.register_budi().code(0);
    env.register_budi()
        .code(2)
        .stderr_has("already registered on this device")
        .stderr_has("sigap edit 3372011203850001");
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 1);
}

#[test]
fn warnings_are_shown_and_kept() {
    let env = Env::new();
    // Issued in Laweyan, living in Kadipiro (Banjarsari): a warning, not an error.
    env.run(&with(budi_args(), "--kelurahan", "33.72.05.1001"))
        .code(0)
        .stderr_has("warning: nik: the NIK was issued in kecamatan Laweyan");
    let shown = env.run(&["show", BUDI, "--json"]).code(0).json();
    assert_eq!(shown["warnings"][0]["code"], "nik_other_kecamatan");
}

#[test]
fn registering_needs_init_first() {
    let env = Env::bare();
    env.register_budi()
        .code(2)
        .stderr_has("run `sigap init --server URL --device-name NAME` first");
}

#[test]
fn an_unwritable_database_path_is_a_local_error_naming_the_path() {
    let env = Env::bare();
    let blocker = env.path("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let db = blocker.join("sigap.db");
    let out = sigap()
        .arg("--db")
        .arg(&db)
        .args(["status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
}

#[test]
fn sigap_db_env_chooses_the_database() {
    let env = Env::bare();
    let out = sigap()
        .args([
            "init",
            "--server",
            "http://localhost:1",
            "--device-name",
            "x",
        ])
        .env("SIGAP_DB", &env.db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(env.db.exists());
}

#[test]
fn reinit_keeps_the_device_id() {
    let env = Env::new();
    let first = env.run(&["status", "--json"]).json()["device_id"].clone();
    env.run(&["init", "--server", "https://other:8080", "--token", "new"])
        .code(0);
    let after = env.run(&["status", "--json"]).json();
    assert_eq!(after["device_id"], first);
    assert_eq!(after["server"], "https://other:8080");
}

#[test]
fn init_of_a_new_device_needs_server_and_name() {
    let env = Env::bare();
    env.run(&["init", "--server", "http://x"])
        .code(2)
        .stderr_has("--device-name NAME");
    env.run(&["init", "--server", "ftp://x", "--device-name", "a"])
        .code(2)
        .stderr_has("must start with http:// or https://");
    // Refused before a passphrase is asked or a database made.
    Run::of(
        env.command(&["init", "--server", "http://x"])
            .env_remove("SIGAP_PASSPHRASE"),
    )
    .code(2)
    .stderr_has("--device-name NAME");
    assert!(!env.db.exists());
}

#[test]
fn help_documents_the_exit_codes() {
    let env = Env::bare();
    env.run(&["--help"])
        .code(0)
        .stdout_has("Exit status:")
        .stdout_has("4  the server could not be reached");
}

#[test]
fn a_registration_is_saved_while_a_sync_has_the_database_open() {
    let env = Env::new();
    env.register_budi().code(0);
    // A long `sigap sync` holds the database open (and a read lock) the
    // whole time it talks to the server.
    let sync = open_db(&env.db);
    let before: i64 = sync
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(before, 1);
    env.run(&siti_args()).code(0).stdout_has("saved:");
    let after: i64 = sync
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, 2);
}

#[test]
fn a_kelurahan_given_by_name_is_saved_as_its_code() {
    let env = Env::new();
    env.run(&with(budi_args(), "--kelurahan", "pajang"))
        .code(0)
        .stdout_has("Pajang RW 3 RT 5 (33.72.01.1001/3/5)");
    assert_eq!(
        env.count("SELECT COUNT(*) FROM records WHERE kelurahan = '33.72.01.1001'"),
        1
    );
    env.run(&with(siti_args(), "--kelurahan", "Kp. Baru"))
        .code(0)
        .stdout_has("Kampungbaru RW 1 RT 2 (33.72.03.1006/1/2)");
}

#[test]
fn an_ambiguous_or_unknown_kelurahan_name_is_refused_and_nothing_saved() {
    let env = Env::new();
    env.run(&with(budi_args(), "--kelurahan", "kepatihan"))
        .code(2)
        .stderr_has("kelurahan \"kepatihan\" matches 2 places")
        .stderr_has("Kepatihan Kulon (33.72.04.1001), Kepatihan Wetan (33.72.04.1002)");
    env.run(&with(budi_args(), "--kelurahan", "Atlantis"))
        .code(2)
        .stderr_has("no kelurahan of Kota Surakarta is called \"Atlantis\"")
        .stderr_has("e.g. 33.72.01.1001");
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 0);
}

#[test]
fn list_and_visit_take_a_kelurahan_name_too() {
    let env = Env::new();
    env.register_budi().code(0);
    let list = env
        .run(&["list", "--kelurahan", "PAJANG", "--json"])
        .code(0)
        .json();
    assert_eq!(list[0]["nik"], BUDI);
    env.run(&[
        "visit",
        "--kelurahan",
        "paja",
        "--rw",
        "3",
        "--rt",
        "5",
        "--households",
        "40",
    ])
    .code(0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM visits WHERE kelurahan = '33.72.01.1001'"),
        1
    );
}
