#![allow(clippy::unwrap_used, clippy::expect_used)]
//! On PostgreSQL a push copies its change log rows to the database in
//! batches while it merges the changes after them (`PgTx::send_logs`),
//! and waits for them at the end. Whatever the batches do, the push is
//! one transaction: every row of every batch is logged, a batch that
//! fails undoes the whole push and is named as the cause (not the
//! "current transaction is aborted" PostgreSQL answers every later
//! statement with), and a repeated push is answered from the log.
//!
//! The push's new persons go in by a `COPY` that a task of its own sends
//! while the updates are sent after it: a copy the database refuses is
//! named as the cause in the same way.

mod common;

use std::time::Duration;

use common::{Device, PgTestStore};
use sigap_server::store::{DEFAULT_MAX_CLOCK_SKEW_MILLIS, PgStore, Pusher, Store, StoreError};
use sigap_shared::AreaCode;
use sigap_shared::wire::{Change, Outcome, PushRequest, PushResponse};

const KEL: &str = "33.72.01.1001";
/// More than two of the store's log batches (2,000 rows each).
const MANY: u32 = 5_000;

fn push(
    store: &PgStore,
    token: i64,
    name: &str,
    device: &Device,
    changes: Vec<Change>,
) -> Result<PushResponse, StoreError> {
    let areas = [AreaCode::parse("33.72").unwrap()];
    let by = Pusher {
        token_id: token,
        token_name: name,
        areas: Some(&areas),
        max_skew_millis: DEFAULT_MAX_CLOCK_SKEW_MILLIS * 10_000,
        gap_wait: Duration::ZERO,
    };
    store.push(
        &by,
        &PushRequest {
            protocol: sigap_shared::PROTOCOL_VERSION,
            device_id: device.id,
            changes,
            pending: None,
        },
    )
}

fn registrations(device: &mut Device, from: u32, n: u32) -> Vec<Change> {
    (from..from + n)
        .map(|i| {
            let nik = common::nik("337201", i);
            device.register(&nik, "Siti Rahayu", KEL, 1, 1 + (i % 9) as u16)
        })
        .collect()
}

fn count(t: &PgTestStore, sql: &str) -> i64 {
    let (rt, client) = common::pg_raw(&t.schema.name);
    rt.block_on(client.query_one(sql, &[]))
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .get(0)
}

#[test]
fn a_push_of_several_log_batches_is_logged_whole_and_answered_again_from_the_log() {
    let Some(t) = PgTestStore::new() else { return };
    let token = common::kota_agent(&t.store, "budi").id;
    let mut device = Device::new();
    let changes = registrations(&mut device, 0, MANY);

    let first = push(&t.store, token, "budi", &device, changes.clone()).unwrap();
    assert_eq!(first.results.len(), MANY as usize);
    assert!(
        first.results.iter().all(|r| r.outcome == Outcome::Applied),
        "every registration applied"
    );
    assert_eq!(count(&t, "SELECT count(*) FROM changes"), i64::from(MANY));
    assert_eq!(count(&t, "SELECT count(*) FROM persons"), i64::from(MANY));
    assert_eq!(first.receipt.count, u64::from(MANY));

    // The same push again, as a sync that lost its answer sends it: every
    // change is found in the log, nothing is logged twice.
    let again = push(&t.store, token, "budi", &device, changes).unwrap();
    assert!(
        again
            .results
            .iter()
            .all(|r| r.outcome == Outcome::Duplicate),
        "a repeated push is answered as duplicates"
    );
    assert_eq!(count(&t, "SELECT count(*) FROM changes"), i64::from(MANY));
    assert_eq!(again.receipt, first.receipt);
    assert!(t.store.verify_counters().unwrap().differences.is_empty());
}

#[test]
fn a_failing_log_batch_undoes_the_push_and_is_named_as_its_cause() {
    let Some(t) = PgTestStore::new() else { return };
    let budi = common::kota_agent(&t.store, "budi").id;
    let sari = common::kota_agent(&t.store, "sari").id;

    // A person Sari registered: Budi's registration of the same NIK under
    // another name later in his push makes the merge read the log
    // (whose change wrote the name), after the failing batch was sent.
    let shared = common::nik("337202", 1);
    let mut sari_device = Device::new();
    let hers = sari_device.register(&shared, "Sari Wulandari", KEL, 2, 2);
    push(&t.store, sari, "sari", &sari_device, vec![hers]).unwrap();

    let mut device = Device::new();
    let mut changes = registrations(&mut device, 0, MANY - 1);
    changes.push(device.register(&shared, "Sari Wulan", KEL, 2, 2));
    // The database refuses one row of the second batch.
    let refused = changes[2_500].nik.as_str().to_string();
    let (rt, client) = common::pg_raw(&t.schema.name);
    rt.block_on(client.batch_execute(&format!(
        "ALTER TABLE changes ADD CONSTRAINT no_such_nik CHECK (nik <> '{refused}')"
    )))
    .unwrap();

    let err = push(&t.store, budi, "budi", &device, changes.clone()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("23514") && text.contains("no_such_nik"),
        "the batch's own error is returned, not an echo: {text}"
    );
    assert!(!text.contains("25P02"), "{text}");
    // Nothing of the push is kept: not the batch before the failing one,
    // nor the persons, nor the device's receipt.
    assert_eq!(count(&t, "SELECT count(*) FROM changes"), 1);
    assert_eq!(count(&t, "SELECT count(*) FROM persons"), 1);
    assert_eq!(
        count(
            &t,
            &format!(
                "SELECT COALESCE(MAX(highest_seq), 0) FROM devices WHERE device_id = '{}'",
                device.id
            )
        ),
        0
    );

    // With the database fixed, the same push goes through whole.
    rt.block_on(client.batch_execute("ALTER TABLE changes DROP CONSTRAINT no_such_nik"))
        .unwrap();
    let ok = push(&t.store, budi, "budi", &device, changes).unwrap();
    assert_eq!(
        ok.results
            .iter()
            .filter(|r| r.outcome == Outcome::Applied)
            .count(),
        (MANY - 1) as usize
    );
    assert_eq!(ok.results.last().unwrap().outcome, Outcome::Merged);
    assert_eq!(
        count(&t, "SELECT count(*) FROM changes"),
        i64::from(MANY) + 1
    );
    assert_eq!(count(&t, "SELECT count(*) FROM conflicts"), 1);
    assert!(t.store.verify_counters().unwrap().differences.is_empty());
}

#[test]
fn a_log_batch_meeting_a_row_another_server_logged_fails_the_push_whole_as_a_race() {
    let Some(t) = PgTestStore::new() else { return };
    let token = common::kota_agent(&t.store, "budi").id;
    let mut device = Device::new();
    let changes = registrations(&mut device, 0, MANY);
    // A row already holding the device's number 1500 (as another server
    // logging the same device's change meanwhile would leave): the first
    // batch's copy meets it, and the answers worked out for the push
    // cannot be trusted.
    let taken = &changes[1_499];
    let (rt, client) = common::pg_raw(&t.schema.name);
    rt.block_on(client.execute(
        "INSERT INTO changes (id, device_id, device_seq, in_log, nik, hlc, kind, fields, agent,
                              received_at, outcome)
         VALUES ($1, $2, 1500, true, $3, 'h', 'register', '{}', 'budi', 0, 'applied')",
        &[&uuid::Uuid::now_v7(), &device.id, &taken.nik.as_str()],
    ))
    .unwrap();

    let err = push(&t.store, token, "budi", &device, changes).unwrap_err();
    // Run again until the store gives up, which a real race would not
    // make it do: the other server's push would be seen the next time.
    assert!(
        matches!(&err, StoreError::Retry(why) if why.contains("23505") && why.contains("changes_device_seq")),
        "{err:?}"
    );
    assert_eq!(count(&t, "SELECT count(*) FROM changes"), 1);
    assert_eq!(count(&t, "SELECT count(*) FROM persons"), 0);
}

#[test]
fn a_new_person_the_database_refuses_undoes_the_push_and_is_named_as_its_cause() {
    let Some(t) = PgTestStore::new() else { return };
    let token = common::kota_agent(&t.store, "budi").id;
    // A person known before, written through another server, so that
    // this store's connection has prepared nothing of persons yet: the
    // push updates their row after the copy.
    let mut device = Device::new();
    let known = registrations(&mut device, 0, 1);
    let other = PgStore::open(&t.schema.url()).unwrap();
    push(&other, token, "budi", &device, known).unwrap();
    drop(other);

    let mut changes = registrations(&mut device, 1, MANY - 1);
    changes.push(device.change(
        &common::nik("337201", 0),
        sigap_shared::wire::ChangeKind::Edit,
        sigap_shared::merge::Fields {
            rt: Some(5),
            ..Default::default()
        },
    ));
    let refused = changes[3_000].nik.as_str().to_string();
    let (rt, client) = common::pg_raw(&t.schema.name);
    rt.block_on(client.batch_execute(&format!(
        "ALTER TABLE persons ADD CONSTRAINT no_such_nik CHECK (nik <> '{refused}')"
    )))
    .unwrap();

    let err = push(&t.store, token, "budi", &device, changes.clone()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("23514") && text.contains("no_such_nik"),
        "the copy's own error is returned, not an echo: {text}"
    );
    assert!(!text.contains("25P02"), "{text}");
    assert_eq!(count(&t, "SELECT count(*) FROM changes"), 1);
    assert_eq!(count(&t, "SELECT count(*) FROM persons"), 1);

    rt.block_on(client.batch_execute("ALTER TABLE persons DROP CONSTRAINT no_such_nik"))
        .unwrap();
    let ok = push(&t.store, token, "budi", &device, changes).unwrap();
    assert!(
        ok.results.iter().all(|r| r.outcome == Outcome::Applied),
        "every change applied"
    );
    assert_eq!(count(&t, "SELECT count(*) FROM persons"), i64::from(MANY));
    let known = t
        .store
        .person(
            &sigap_shared::Nik::parse(&common::nik("337201", 0)).unwrap(),
            false,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        known.fields.rt,
        Some(5),
        "the known person's update is written with the copy"
    );
    assert!(t.store.verify_counters().unwrap().differences.is_empty());
}
