#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The field database is encrypted at rest (SQLCipher, key from the
//! agent's passphrase): through the real binary.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Exit status of a wrong or missing passphrase (see `sigap --help`).
const LOCKED: i32 = 6;

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Every file of the database (main, WAL, shared memory, key settings).
fn files_of(env: &Env) -> Vec<PathBuf> {
    ["", "-wal", "-shm", ".salt"]
        .iter()
        .map(|s| with_suffix(&env.db, s))
        .filter(|p| p.exists())
        .collect()
}

/// A device with Budi and Siti registered, a token, and a visit note.
fn filled() -> Env {
    let env = Env::new();
    env.run(&["init", "--token", "sigap_rahasia_token_budi"])
        .code(0);
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
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
        "--note",
        "rumah Pak Budi Santoso",
    ])
    .code(0);
    env
}

fn names(env: &Env) -> Vec<String> {
    let list = env.run(&["list", "--json"]).code(0).json();
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn the_files_hold_no_nik_name_or_token_and_plain_sqlite_cannot_read_them() {
    let env = filled();
    let files = files_of(&env);
    assert!(files.len() >= 3, "{files:?}");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [
            BUDI,
            SITI,
            "Budi",
            "Santoso",
            "Aminah",
            "sigap_rahasia_token_budi",
            "PT Batik",
        ] {
            assert!(
                !text.contains(secret),
                "{secret} in clear in {}",
                file.display()
            );
        }
        assert!(!bytes.starts_with(b"SQLite format 3"), "{}", file.display());
    }
    // Plain SQLite (no key) finds no database.
    let plain = rusqlite::Connection::open(&env.db).unwrap();
    let err = plain
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase),
        "{err}"
    );
    // With the agent's passphrase everything is there.
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 2);
    assert_eq!(names(&env), ["Budi Santoso", "Siti Aminah"]);
}

#[cfg(unix)]
#[test]
fn every_file_of_the_database_is_readable_by_the_agent_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = filled();
    let files = files_of(&env);
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with("-wal")));
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".salt")));
    for f in files {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", f.display());
    }
}

#[test]
fn a_wrong_passphrase_is_said_plainly_with_its_own_exit_status_and_changes_nothing() {
    let env = filled();
    for args in [&["status"][..], &budi_args()[..], &["list"][..]] {
        let run = env.run_env(args, &[("SIGAP_PASSPHRASE", "salah sandi sekali")]);
        run.code(LOCKED).stderr_has("wrong passphrase");
        assert!(!run.stderr.contains("not a database"), "{}", run.stderr);
        // One line: no SQLCipher log of failed page checks.
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 2);
    // Documented with the other exit statuses.
    env.run(&["--help"])
        .code(0)
        .stdout_has("6  the database stays locked: wrong passphrase");
}

#[test]
fn without_a_passphrase_nor_a_terminal_the_command_stops_and_says_how_to_give_one() {
    let env = filled();
    let run = Run::of(env.command(&["status"]).env_remove("SIGAP_PASSPHRASE"));
    run.code(LOCKED).stderr_has("SIGAP_PASSPHRASE");
    // A new database is not made without a passphrase either.
    let fresh = Env::bare();
    let run = Run::of(
        fresh
            .command(&[
                "init",
                "--server",
                "http://127.0.0.1:1",
                "--device-name",
                "a",
            ])
            .env_remove("SIGAP_PASSPHRASE"),
    );
    run.code(LOCKED).stderr_has("SIGAP_PASSPHRASE");
    assert!(!fresh.db.exists());
    // Nor with one too short to be worth it.
    fresh
        .run_env(
            &[
                "init",
                "--server",
                "http://127.0.0.1:1",
                "--device-name",
                "a",
            ],
            &[("SIGAP_PASSPHRASE", "1234")],
        )
        .code(2)
        .stderr_has("at least 8 characters");
    assert!(!fresh.db.exists());
}

/// Copies the database of `env` (schema, rows and version) into a new
/// file `to` keyed with `key` (`''`: not encrypted), `settings` run on
/// the copy before it is written.
fn export_copy(env: &Env, to: &Path, key: &str, settings: &str) {
    let conn = open_db(&env.db);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS copy KEY ?2",
        [to.to_str().unwrap(), key],
    )
    .unwrap();
    conn.execute_batch(settings).unwrap();
    conn.query_row("SELECT sqlcipher_export('copy')", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA copy.user_version = {version}; DETACH DATABASE copy;"
    ))
    .unwrap();
}

/// Turns the encrypted database of `env` into the unencrypted one the
/// version before encryption kept (same schema and rows).
fn decrypt_to_old_version(env: &Env) {
    let plain = env.path("plain.db");
    export_copy(env, &plain, "", "");
    for f in files_of(env) {
        std::fs::remove_file(f).unwrap();
    }
    std::fs::rename(&plain, &env.db).unwrap();
    // It is a plain SQLite file, as today's version leaves it.
    let bytes = std::fs::read(&env.db).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    assert!(String::from_utf8_lossy(&bytes).contains("Budi Santoso"));
}

#[test]
fn an_unencrypted_database_is_encrypted_on_first_use_with_its_contents_intact() {
    let env = filled();
    let before = env.run(&["status", "--json"]).code(0).json();
    let shown = env.run(&["show", BUDI, "--json"]).code(0).json();
    decrypt_to_old_version(&env);

    // Without a passphrase to choose, it stays as it was.
    let run = Run::of(env.command(&["status"]).env_remove("SIGAP_PASSPHRASE"));
    run.code(LOCKED).stderr_has("not encrypted yet");
    assert!(
        std::fs::read(&env.db)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );

    // A copy left half made by an interrupted first run is no obstacle.
    std::fs::write(with_suffix(&env.db, ".encrypting"), b"half a copy").unwrap();
    let run = env.run(&["status", "--json"]);
    run.code(0).stderr_has("encrypted now");
    let after = run.json();
    assert_eq!(after["device_id"], before["device_id"]);
    assert_eq!(after["records"], before["records"]);
    assert_eq!(after["pending_changes"], before["pending_changes"]);
    assert_eq!(env.run(&["show", BUDI, "--json"]).code(0).json(), shown);
    assert_eq!(names(&env), ["Budi Santoso", "Siti Aminah"]);
    let bytes = std::fs::read(&env.db).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3"));
    assert!(!String::from_utf8_lossy(&bytes).contains("Budi Santoso"));
    assert!(!with_suffix(&env.db, ".encrypting").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env.db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // And it goes on working: a new registration, the old ones kept.
    env.run(&with(budi_args(), "--nik", "3372011203850003"))
        .code(0);
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 3);
}

#[test]
fn a_changed_passphrase_opens_the_database_and_the_old_one_no_longer_does() {
    let env = filled();
    env.run_env(
        &["passphrase"],
        &[("SIGAP_NEW_PASSPHRASE", "sandi baru yang panjang")],
    )
    .code(0);
    env.run(&["status"])
        .code(LOCKED)
        .stderr_has("wrong passphrase");
    let new = [("SIGAP_PASSPHRASE", "sandi baru yang panjang")];
    env.run_env(&["status"], &new).code(0);
    let list = env.run_env(&["list", "--json"], &new).code(0).json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    // The rewritten file is still encrypted, and still private.
    let bytes = std::fs::read(&env.db).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("Budi Santoso"));
    // A new passphrase too short is refused, and the current one stays.
    env.run_env(
        &["passphrase"],
        &[new[0], ("SIGAP_NEW_PASSPHRASE", "pendek")],
    )
    .code(2)
    .stderr_has("at least 8 characters");
    env.run_env(&["status"], &new).code(0);
}

/// Whether this machine has an OS keyring `sigap unlock` can use.
fn keyring_usable(env: &Env) -> bool {
    let run = env.run(&["unlock", "--for", "5m"]);
    if run.code == 0 {
        return true;
    }
    run.code(3).stderr_has("no OS keyring");
    eprintln!("skipping the keyring part: {}", run.stderr);
    false
}

#[test]
fn unlock_keeps_the_key_for_a_while_and_lock_forgets_it() {
    let env = filled();
    let no_passphrase = |args: &[&str]| Run::of(env.command(args).env_remove("SIGAP_PASSPHRASE"));
    // Per command: locked without the passphrase, open with it.
    no_passphrase(&["status"]).code(LOCKED);
    env.run(&["status"]).code(0);
    // `unlock` itself checks the passphrase.
    env.run_env(&["unlock"], &[("SIGAP_PASSPHRASE", "salah sandi sekali")])
        .code(LOCKED)
        .stderr_has("wrong passphrase");
    env.run(&["unlock", "--for", "0h"])
        .code(2)
        .stderr_has("between 1m and 7d");
    if !keyring_usable(&env) {
        return;
    }
    no_passphrase(&["status"]).code(0);
    no_passphrase(&[
        "register",
        "--nik",
        "3372011203850003",
        "--name",
        "Joko Widodo",
        "--birth-date",
        "1985-03-12",
        "--sex",
        "L",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "1",
        "--rt",
        "1",
        "--category",
        "bpu",
        "--occupation",
        "tani",
    ])
    .code(0);
    no_passphrase(&["lock"]).code(0);
    no_passphrase(&["status"]).code(LOCKED);
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 3);

    // A kept key whose time is over locks again (and is removed).
    #[cfg(target_os = "linux")]
    {
        let key = pragma_key(&env.db, PASSPHRASE);
        let hex = key
            .trim_matches('"')
            .trim_start_matches("x'")
            .trim_end_matches('\'');
        let name = format!(
            "sigap-db:{}",
            std::fs::canonicalize(&env.db).unwrap().display()
        );
        let ring = linux_keyutils::KeyRing::from_special_id(
            linux_keyutils::KeyRingIdentifier::Session,
            false,
        )
        .unwrap();
        let kept = |secret: String| {
            let k = ring.add_key(&name, &secret).unwrap();
            k.set_perms(
                linux_keyutils::KeyPermissionsBuilder::builder()
                    .posessor(linux_keyutils::Permission::ALL)
                    .user(linux_keyutils::Permission::ALL)
                    .build(),
            )
            .unwrap();
        };
        kept(format!("v1 1000 {hex}"));
        no_passphrase(&["status"]).code(LOCKED);
        assert!(ring.search(&name).is_err(), "the expired key is still kept");
        // One whose time is still to come opens it.
        kept(format!("v1 99999999999 {hex}"));
        no_passphrase(&["status"]).code(0);
    }
    #[cfg(not(target_os = "linux"))]
    env.run(&["unlock"]).code(0);
    // A passphrase change drops the kept key, which is the old one.
    env.run_env(
        &["passphrase"],
        &[("SIGAP_NEW_PASSPHRASE", "sandi baru yang panjang")],
    )
    .code(0);
    no_passphrase(&["status"]).code(LOCKED);
}

/// Turns the database of `env` into one an earlier version made: pages
/// checked with HMAC-SHA-512 (SQLCipher's default), and settings that do
/// not name the page HMAC.
fn to_sha512_version(env: &Env) {
    let old = env.path("sha512.db");
    let key = pragma_key(&env.db, PASSPHRASE);
    export_copy(
        env,
        &old,
        key.trim_matches('"'),
        "PRAGMA copy.cipher_hmac_algorithm = HMAC_SHA512;",
    );
    let salt = with_suffix(&env.db, ".salt");
    let mut header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&salt).unwrap()).unwrap();
    header.as_object_mut().unwrap().remove("page_hmac");
    for f in files_of(env) {
        std::fs::remove_file(f).unwrap();
    }
    std::fs::rename(&old, &env.db).unwrap();
    std::fs::write(&salt, header.to_string()).unwrap();
    assert_eq!(page_hmac(&env.db), "HMAC_SHA512");
}

/// Whether the database at `db` opens with the test key and `hmac`.
fn opens_with(db: &Path, hmac: &str) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = {}; PRAGMA cipher_hmac_algorithm = {hmac};",
        pragma_key(db, PASSPHRASE)
    ))
    .unwrap();
    conn.query_row("SELECT COUNT(*) FROM records", [], |r| r.get::<_, i64>(0))
        .is_ok()
}

#[test]
fn a_new_database_checks_its_pages_with_hmac_sha256_and_says_so_beside_it() {
    let env = filled();
    let copy = env.path("backup.db");
    env.run(&["backup", copy.to_str().unwrap()]).code(0);
    for db in [&env.db, &copy] {
        assert_eq!(page_hmac(db), "HMAC_SHA256", "{}", db.display());
        assert!(opens_with(db, "HMAC_SHA256"), "{}", db.display());
        assert!(!opens_with(db, "HMAC_SHA512"), "{}", db.display());
    }
    // A database encrypted on first use gets it too.
    decrypt_to_old_version(&env);
    env.run(&["status"]).code(0).stderr_has("encrypted now");
    assert_eq!(page_hmac(&env.db), "HMAC_SHA256");
    assert!(opens_with(&env.db, "HMAC_SHA256"));
    assert_eq!(names(&env), ["Budi Santoso", "Siti Aminah"]);
}

#[test]
fn a_database_an_earlier_version_made_with_hmac_sha512_keeps_working() {
    let env = filled();
    to_sha512_version(&env);
    assert!(opens_with(&env.db, "HMAC_SHA512"));
    assert!(!opens_with(&env.db, "HMAC_SHA256"));
    // Read and written as before.
    assert_eq!(names(&env), ["Budi Santoso", "Siti Aminah"]);
    env.run(&with(budi_args(), "--nik", "3372011203850003"))
        .code(0);
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 3);
    // Its backup is a copy of the same kind, and opens.
    let copy = env.path("backup.db");
    env.run(&["backup", copy.to_str().unwrap()]).code(0);
    assert_eq!(page_hmac(&copy), "HMAC_SHA512");
    assert!(opens_with(&copy, "HMAC_SHA512"));
    // A new passphrase keeps the page HMAC the file has.
    let new = [("SIGAP_PASSPHRASE", "sandi baru yang panjang")];
    env.run_env(&["passphrase"], &[("SIGAP_NEW_PASSPHRASE", new[0].1)])
        .code(0);
    assert_eq!(page_hmac(&env.db), "HMAC_SHA512");
    let list = env.run_env(&["list", "--json"], &new).code(0).json();
    assert_eq!(list.as_array().map(Vec::len), Some(3));
}
