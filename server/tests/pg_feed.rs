#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The PostgreSQL feed never skips a change that commits late: a
//! transaction holding a feed position blocks every later one from
//! committing positions, so a pull that runs meanwhile sees neither, and
//! after the commit sees both, in order.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use common::Device;
use sigap_server::store::{DEFAULT_MAX_CLOCK_SKEW_MILLIS, PgStore, Pusher, Store};
use sigap_shared::AreaCode;
use sigap_shared::wire::{Outcome, PushRequest};

const KEL: &str = "33.72.01.1001";

fn push_one(store: &PgStore, token: i64, device: &mut Device, nik: &str) -> Outcome {
    let areas = [AreaCode::parse("33.72").unwrap()];
    let by = Pusher {
        token_id: token,
        token_name: "budi",
        areas: Some(&areas),
        max_skew_millis: DEFAULT_MAX_CLOCK_SKEW_MILLIS * 10_000,
        gap_wait: Duration::ZERO,
    };
    let req = PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: device.id,
        changes: vec![device.register(nik, "Siti Rahayu", KEL, 1, 2)],
        pending: None,
    };
    store.push(&by, &req).unwrap().results.remove(0).outcome
}

#[test]
fn a_pull_never_passes_a_transaction_that_commits_late() {
    let Some(url) = common::pg_url() else { return };
    let store = Arc::new(PgStore::open(&url).unwrap());
    let token = common::kota_agent(&*store, "budi").id;
    let mut device = Device::new();
    let first = common::nik("337201", 1);
    assert_eq!(
        push_one(&store, token, &mut device, &first),
        Outcome::Applied
    );
    let page = store.pull(None, 0, 100, None).unwrap();
    assert_eq!(page.persons.len(), 1);
    let cursor = page.next_cursor;

    // Another server's write transaction, held open after it took its
    // feed position (as a push does at its end, just before commit): it
    // moves the first person to the end of the feed.
    let schema = store.schema().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = std::env::var("SIGAP_TEST_DATABASE_URL").unwrap();
    let (client, conn) = rt
        .block_on(tokio_postgres::connect(&base, tokio_postgres::NoTls))
        .unwrap();
    rt.spawn(conn);
    let held: i64 = rt.block_on(async {
        client
            .batch_execute(&format!("SET search_path = {schema}; BEGIN"))
            .await
            .unwrap();
        let seq: i64 = client
            .query_one(
                "UPDATE meta SET value = value + 1 WHERE key = 'feed_seq' RETURNING value",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        client
            .execute(
                "UPDATE persons SET seq = $1, last_changed_by = 'late' WHERE nik = $2",
                &[&seq, &first],
            )
            .await
            .unwrap();
        seq
    });

    // A later push, on its own thread: it must wait for the held one.
    let (done_tx, done_rx) = mpsc::channel();
    let later = common::nik("337201", 2);
    let pusher = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut device = Device::new();
            let out = push_one(&store, token, &mut device, &later);
            done_tx.send(()).unwrap();
            out
        })
    };
    assert!(
        done_rx.recv_timeout(Duration::from_millis(800)).is_err(),
        "the later push committed while an earlier feed position was still open"
    );
    let during = store.pull(None, cursor, 100, None).unwrap();
    assert!(
        during.persons.is_empty(),
        "a pull during the held transaction returned {} persons",
        during.persons.len()
    );
    assert_eq!(
        during.next_cursor, cursor,
        "the cursor moved past an open position"
    );

    rt.block_on(client.batch_execute("COMMIT")).unwrap();
    assert_eq!(pusher.join().unwrap(), Outcome::Applied);

    let after = store.pull(None, cursor, 100, None).unwrap();
    let seqs: Vec<u64> = after.persons.iter().map(|p| p.seq).collect();
    assert_eq!(after.persons.len(), 2, "both the late and the later write");
    assert_eq!(
        seqs[0],
        u64::try_from(held).unwrap(),
        "the held position first"
    );
    assert!(seqs[1] > seqs[0]);
    assert_eq!(after.next_cursor, seqs[1]);
}
