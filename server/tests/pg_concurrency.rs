#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Two PostgreSQL "servers" (two stores, each with its own connection
//! pool, on one database) applying pushes for the same NIKs at once end
//! where one SQLite server ends with the same changes: no lost update, no
//! double count, the same conflicts.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::Device;
use sigap_server::store::{NewToken, PgStore, Pusher, Role, SqliteStore, Store};
use sigap_shared::merge::Fields;
use sigap_shared::wire::{Change, ChangeKind, Outcome, PushRequest};
use sigap_shared::{AreaCode, Nik};

const DEVICES: usize = 6;
const NIKS: u32 = 24;
const KELS: [&str; 2] = ["33.72.01.1001", "33.72.01.1002"];
const NAMES: [&str; 3] = ["Sri Wahyuni", "Sri Wahyuningsih", "Tri Wahyuni"];

/// Every device's changes, in its own order: registrations of shared
/// NIKs (some under other spellings, which open conflicts), moves and
/// voids.
fn workload() -> Vec<(Device, Vec<Change>)> {
    (0..DEVICES)
        .map(|d| {
            let mut device = Device::new();
            let mut changes = Vec::new();
            for i in 0..NIKS {
                if (i as usize + d).is_multiple_of(3) {
                    continue;
                }
                let nik = common::nik("337201", i);
                let name = NAMES[(i as usize * 7 + d) % NAMES.len()];
                let kel = KELS[(i as usize + d) % 2];
                changes.push(device.register(&nik, name, kel, 1 + (d as u16 % 3), 2));
                if (i as usize + d) % 4 == 1 {
                    let moved = Fields {
                        rt: Some(3 + d as u16),
                        ..Fields::default()
                    };
                    changes.push(device.change(&nik, ChangeKind::Edit, moved));
                }
                if (i as usize * d) % 11 == 5 {
                    let void = Fields {
                        status: Some(sigap_shared::Status::Void),
                        void_reason: Some("pindah kota".into()),
                        ..Fields::default()
                    };
                    changes.push(device.change(&nik, ChangeKind::Void, void));
                }
            }
            (device, changes)
        })
        .collect()
}

fn tokens(store: &dyn Store) -> Vec<i64> {
    (0..DEVICES)
        .map(|d| {
            store
                .create_token(&NewToken {
                    name: format!("agent-{d}"),
                    role: Role::Agent,
                    areas: vec![AreaCode::parse("33.72").unwrap()],
                    hash: format!("hash-{d}"),
                    expires_at: None,
                })
                .unwrap()
                .id
        })
        .collect()
}

/// Pushes one device's changes in pages of `page`, sending `pending`
/// answers again, until every change is held.
fn push_all(store: &dyn Store, token: i64, d: usize, device: &Device, changes: &[Change]) {
    let name = format!("agent-{d}");
    let areas = [AreaCode::parse("33.72").unwrap()];
    let by = Pusher {
        token_id: token,
        token_name: &name,
        areas: Some(&areas),
        max_skew_millis: u64::MAX / 4,
        gap_wait: Duration::from_millis(200),
    };
    let mut left: Vec<Change> = changes.to_vec();
    let mut rounds = 0;
    while !left.is_empty() {
        rounds += 1;
        assert!(rounds < 200, "changes never stopped waiting");
        let mut again = Vec::new();
        for page in left.chunks(5) {
            let req = PushRequest {
                protocol: sigap_shared::PROTOCOL_VERSION,
                device_id: device.id,
                changes: page.to_vec(),
                pending: None,
            };
            let resp = store.push(&by, &req).unwrap();
            for (c, r) in page.iter().zip(resp.results) {
                if r.outcome == Outcome::Pending {
                    again.push(c.clone());
                }
            }
        }
        left = again;
    }
}

/// What a supervisor's figures rest on.
fn state(store: &dyn Store) -> serde_json::Value {
    let report = store.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    let mut persons = BTreeMap::new();
    for i in 0..NIKS {
        let nik = Nik::parse(&common::nik("337201", i)).unwrap();
        if let Some(p) = store.person(&nik, false).unwrap() {
            persons.insert(
                nik.as_str().to_string(),
                serde_json::json!([p.fields, p.covered, p.registered_by, p.registered_at]),
            );
        }
    }
    let data = store
        .area_data(&AreaCode::parse("33.72").unwrap(), 2025, i32::MAX)
        .unwrap();
    let counters: BTreeMap<String, [u64; 4]> = data
        .counters
        .into_iter()
        .filter(|(_, c)| c.iter().any(|n| *n > 0))
        .map(|(a, c)| (a.to_string(), c))
        .collect();
    let mut conflicts: Vec<serde_json::Value> = store
        .conflicts(Some("open"))
        .unwrap()
        .into_iter()
        .map(|c| serde_json::json!([c.nik, c.fields]))
        .collect();
    conflicts.sort_by_key(|c| c.to_string());
    serde_json::json!({"persons": persons, "counters": counters, "conflicts": conflicts,
                       "review": store.review(None).unwrap()})
}

#[test]
fn two_servers_on_one_database_end_where_one_server_ends() {
    let Some(url) = common::pg_url() else { return };
    let work = workload();
    let total: usize = work.iter().map(|w| w.1.len()).sum();
    assert!(total > 100, "a real workload: {total} changes");

    // One SQLite server, one device after another.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("one.db")).unwrap();
    let ids = tokens(&sqlite);
    for (d, (device, changes)) in work.iter().enumerate() {
        push_all(&sqlite, ids[d], d, device, changes);
    }

    // Two stores on one PostgreSQL database, every device at once.
    let a: Arc<dyn Store> = Arc::new(PgStore::open(&url).unwrap());
    let b: Arc<dyn Store> = Arc::new(PgStore::open(&url).unwrap());
    let ids = tokens(a.as_ref());
    std::thread::scope(|s| {
        for (d, (device, changes)) in work.iter().enumerate() {
            let store = if d % 2 == 0 { a.clone() } else { b.clone() };
            let token = ids[d];
            s.spawn(move || push_all(store.as_ref(), token, d, device, changes));
        }
    });
    let expected = state(&sqlite);
    assert!(
        !expected["conflicts"].as_array().unwrap().is_empty(),
        "the workload opens conflicts"
    );
    assert_eq!(state(a.as_ref()), expected);
    assert_eq!(state(b.as_ref()), expected, "both servers read the same");
    // Every change is held once: each device's receipt counts them all.
    for (device, changes) in &work {
        let r = a.device_receipt(device.id).unwrap();
        assert_eq!(r.count, changes.len() as u64);
        assert_eq!(r.highest_seq, changes.len() as u64);
    }
}
