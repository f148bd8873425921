//! `sigap backup FILE`: a copy the same passphrase opens, encrypted like
//! the database, that never overwrites a file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn a_backup_opens_with_the_same_passphrase_and_holds_the_work() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    let copy = env.path("backup.db");
    env.run(&["backup", copy.to_str().unwrap()])
        .code(0)
        .stdout_has("2 records");
    let salt = env.path("backup.db.salt");
    assert!(salt.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    // Encrypted: plain SQLite cannot read it, and no name is in clear.
    let bytes = std::fs::read(&copy).unwrap();
    assert!(!bytes.windows(5).any(|w| w == b"Budi "), "a name in clear");
    let plain = rusqlite::Connection::open(&copy).unwrap();
    assert!(
        plain
            .query_row("SELECT COUNT(*) FROM records", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
    // Restored: the copy, used as the database, has both people.
    let restored = sigap()
        .arg("--db")
        .arg(&copy)
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&restored.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    // Never over an existing file.
    env.run(&["backup", copy.to_str().unwrap()])
        .code(2)
        .stderr_has("already exists");
}
