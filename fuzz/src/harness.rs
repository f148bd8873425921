//! What each fuzz target does with its input, shared by the fuzz targets
//! (`fuzz/fuzz_targets/`) and by `cargo test`, which runs every kept
//! input under `fuzz/regressions/<target>/` (server/tests/fuzz_regressions.rs;
//! `field_csv` in field-cli/tests/fuzz_regressions.rs).
//!
//! Each function panics only when SIGAP breaks a rule: a parser that
//! panics, a value that does not survive printing and parsing again, a
//! push answered with a different number of results than it carried, or
//! counters that no longer match a full recount.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

// The field tool's CSV import: in a file of its own, which needs no
// server (the field tool's tests include it too).
#[path = "field_csv.rs"]
mod field_csv;

use std::sync::OnceLock;

use sigap_server::store::{NewToken, Pusher, Role, SqliteStore, Store, StoreError};
use sigap_shared::wire::PushRequest;
use sigap_shared::{AreaCode, Nik, PersonRecord};

/// The NIK parser: never panics; what it accepts prints back as itself,
/// and its masked form keeps the ends and hides the middle.
pub fn nik(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(nik) = Nik::parse(text) {
        let printed = nik.to_string();
        assert_eq!(Nik::parse(&printed).unwrap(), nik);
        assert_eq!(printed.len(), 16);
        let masked = sigap_shared::mask_nik(&printed);
        assert!(!masked.contains(&printed[4..14]));
        let _ = nik.birth_date();
        let _ = nik.sex();
    }
}

/// The area-code parser: never panics; what it accepts prints back as
/// itself, and its parent is a prefix of it.
pub fn area(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = AreaCode::parse(text) {
        let printed = code.to_string();
        assert_eq!(AreaCode::parse(&printed).unwrap(), code);
        if let Some(parent) = code.parent() {
            assert!(printed.starts_with(&parent.to_string()));
            assert!(parent.contains(&code));
        }
        let _ = sigap_shared::wilayah::area_label(&code);
    }
    let _ = AreaCode::parse_kelurahan(text);
}

struct PushFixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    token_id: i64,
}

fn push_fixture() -> &'static PushFixture {
    static FIXTURE: OnceLock<PushFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("fuzz.db")).unwrap();
        let token = store
            .create_token(&NewToken {
                name: "fuzz".into(),
                role: Role::Agent,
                areas: vec![AreaCode::parse("33.72").unwrap()],
                hash: "fuzz".into(),
                expires_at: None,
            })
            .unwrap();
        PushFixture {
            _dir: dir,
            store,
            token_id: token.id,
        }
    })
}

/// The push decoder, the checks and the merge, as a push reaches the
/// store: every change gets one answer, and the counters always agree
/// with a recount. The merge of any two decoded changes' records is the
/// same in either order.
pub fn push(data: &[u8]) {
    let Ok(req) = serde_json::from_slice::<PushRequest>(data) else {
        return;
    };
    if req.changes.len() > sigap_shared::wire::MAX_PUSH_CHANGES {
        return;
    }
    // Order-free merge of what the input carries.
    let records: Vec<PersonRecord> = req
        .changes
        .iter()
        .map(|c| PersonRecord::from_write(c.nik.clone(), &c.fields, c.hlc))
        .collect();
    for pair in records.windows(2) {
        if pair[0].nik == pair[1].nik {
            let ab = sigap_shared::merge::merge(&pair[0], &pair[1]);
            let ba = sigap_shared::merge::merge(&pair[1], &pair[0]);
            assert_eq!(ab, ba, "merge depends on order");
        }
    }
    let f = push_fixture();
    let areas = [AreaCode::parse("33.72").unwrap()];
    let by = Pusher {
        token_id: f.token_id,
        token_name: "fuzz",
        areas: Some(&areas),
        max_skew_millis: sigap_server::store::DEFAULT_MAX_CLOCK_SKEW_MILLIS,
        gap_wait: std::time::Duration::ZERO,
    };
    match f.store.push(&by, &req) {
        Ok(resp) => assert_eq!(resp.results.len(), req.changes.len()),
        // Refusals of the whole request are fine; a failing store is not.
        Err(StoreError::Invalid { .. } | StoreError::Denied { .. } | StoreError::NotFound(_)) => {}
        Err(other) => panic!("the store failed on this input: {other}"),
    }
    let report = f.store.verify_counters().unwrap();
    assert!(
        report.differences.is_empty(),
        "counters differ from a recount: {:?}",
        report.differences
    );
}

/// A CSV file given to `sigap-server participants import` and `baseline
/// import`: never a panic, and counters that agree with a recount after.
pub fn server_csv(data: &[u8]) {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let file = dir.path().join("in.csv");
    std::fs::write(&file, data).unwrap();
    for args in [vec!["participants", "import"], vec!["baseline", "import"]] {
        let mut argv = vec!["sigap-server", "--db", db.to_str().unwrap()];
        argv.extend(args);
        argv.push(file.to_str().unwrap());
        let cli = sigap_server::cli::Cli::try_parse_from(argv).unwrap();
        let _ = sigap_server::commands::run(cli);
    }
    let store = SqliteStore::open(&db).unwrap();
    let report = store.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}

/// A CSV file given to `sigap import` (the field tool), read and checked
/// row by row as the import does: see `field_csv.rs`.
pub fn field_csv(data: &[u8]) {
    field_csv::field_csv(data);
}
