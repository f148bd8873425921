//! Group commit on SQLite: pushes that wait for the writer together share
//! one write transaction and one fsync, and each is still answered on its
//! own: a push that fails is undone alone, repeats stay idempotent, and
//! nothing is answered before the commit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Device, nik};
use sigap_server::store::{NewToken, Pusher, Role, SqliteStore, Store, StoreError, TokenInfo};
use sigap_shared::wire::{Change, Outcome, PushRequest, PushResponse};
use sigap_shared::{AreaCode, Nik};

fn token(store: &SqliteStore, name: &str) -> TokenInfo {
    store
        .create_token(&NewToken {
            name: name.into(),
            role: Role::Agent,
            areas: vec![AreaCode::parse("33.72").unwrap()],
            hash: sigap_server::token::hash(&sigap_server::token::generate()),
            expires_at: None,
        })
        .unwrap()
}

fn push(
    store: &SqliteStore,
    t: &TokenInfo,
    device: &Device,
    changes: &[Change],
) -> Result<PushResponse, StoreError> {
    let by = Pusher {
        token_id: t.id,
        token_name: &t.name,
        areas: Some(&t.areas),
        max_skew_millis: u64::MAX / 4,
        gap_wait: Duration::from_millis(200),
    };
    store.push(
        &by,
        &PushRequest {
            protocol: sigap_shared::PROTOCOL_VERSION,
            device_id: device.id,
            changes: changes.to_vec(),
            pending: None,
        },
    )
}

fn registrations(device: &mut Device, first: u32, n: u32) -> Vec<Change> {
    (first..first + n)
        .map(|i| device.register(&nik("337201", i), "Warga", "33.72.01.1001", 1, 1))
        .collect()
}

/// Holds the writer (on a thread of its own, once `held` is told) until
/// `n` pushes wait for it, so that they form one group when it is let go.
fn hold_writer_until_waiting(store: &SqliteStore, n: usize, held: std::sync::mpsc::Sender<()>) {
    store
        .with_writer(|_| {
            held.send(()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while store.push_group_stats().0 < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn pushes_waiting_together_share_one_commit_and_keep_their_own_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("group.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let agents: Vec<TokenInfo> = (0..6)
        .map(|i| token(&store, &format!("agent-{i}")))
        .collect();
    // A push whose second change fails in the database, after its first
    // change is written: a trigger on the writer's connection.
    let poisoned = nik("337201", 901);
    store
        .with_writer(|c| {
            c.execute_batch(&format!(
                "CREATE TEMP TRIGGER boom BEFORE INSERT ON persons WHEN NEW.nik = '{poisoned}'
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
            ))
        })
        .unwrap();
    // A device that belongs to another token.
    let mut taken = Device::new();
    let first_of_taken = registrations(&mut taken, 800, 1);
    push(&store, &agents[5], &taken, &first_of_taken).unwrap();

    let mut plain: Vec<(Device, Vec<Change>)> = (0..3)
        .map(|k| {
            let mut d = Device::new();
            let c = registrations(&mut d, 100 * k, 50);
            (d, c)
        })
        .collect();
    let mut failing = Device::new();
    let mut failing_changes = registrations(&mut failing, 900, 1);
    failing_changes.push(failing.register(&poisoned, "Warga", "33.72.01.1001", 1, 1));
    failing_changes.extend(registrations(&mut failing, 902, 1));
    let mut twice = Device::new();
    let twice_changes = registrations(&mut twice, 700, 20);
    let stolen_changes = registrations(&mut taken, 810, 5);

    let results = std::thread::scope(|s| {
        let st = &store;
        let a = &agents;
        let (held, is_held) = std::sync::mpsc::channel();
        let holder = s.spawn(move || hold_writer_until_waiting(st, 7, held));
        is_held.recv().unwrap();
        let before = st.push_group_stats().1;
        let mut handles = Vec::new();
        for (k, (d, c)) in plain.iter().enumerate() {
            handles.push(s.spawn(move || ("plain", k, push(st, &a[k], d, c))));
        }
        let (f, fc) = (&failing, &failing_changes);
        handles.push(s.spawn(move || ("failing", 0, push(st, &a[3], f, fc))));
        let (t, tc) = (&twice, &twice_changes);
        handles.push(s.spawn(move || ("twice", 0, push(st, &a[4], t, tc))));
        handles.push(s.spawn(move || ("twice", 1, push(st, &a[4], t, tc))));
        let (tk, sc) = (&taken, &stolen_changes);
        handles.push(s.spawn(move || ("stolen", 0, push(st, &a[0], tk, sc))));
        assert_eq!(handles.len(), 7);
        holder.join().unwrap();
        let out: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (before, out)
    });
    let (before, out) = results;
    assert_eq!(
        store.push_group_stats().1 - before,
        1,
        "the waiting pushes shared one commit"
    );
    let mut twice_answers = Vec::new();
    for (what, k, r) in out {
        match what {
            "plain" => {
                let r = r.unwrap();
                assert_eq!(r.results.len(), 50);
                assert!(r.results.iter().all(|c| c.outcome == Outcome::Applied));
                assert_eq!(r.receipt.count, 50);
                assert_eq!(r.receipt.device_id, plain[k].0.id);
            }
            "failing" => {
                let e = r.unwrap_err();
                assert!(e.to_string().contains("injected failure"), "{e}");
            }
            "twice" => twice_answers.push(r.unwrap()),
            "stolen" => {
                assert!(
                    matches!(r, Err(StoreError::Denied { ref code, .. }) if code == "device_not_yours"),
                    "{r:?}"
                );
            }
            _ => unreachable!(),
        }
    }
    // The same push twice in one group: applied once, then duplicates.
    twice_answers.sort_by_key(|r| r.results[0].outcome != Outcome::Applied);
    assert!(
        twice_answers[0]
            .results
            .iter()
            .all(|c| c.outcome == Outcome::Applied)
    );
    assert!(
        twice_answers[1]
            .results
            .iter()
            .all(|c| c.outcome == Outcome::Duplicate)
    );
    assert_eq!(twice_answers[0].receipt, twice_answers[1].receipt);
    assert_eq!(twice_answers[1].receipt.count, 20);

    // Reopened from the file: what was answered is there, the failed push
    // left nothing (its first change was undone with it), the refused one
    // nothing either.
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    for (d, _) in plain.iter_mut() {
        assert_eq!(store.device_receipt(d.id).unwrap().count, 50);
    }
    assert_eq!(store.device_receipt(failing.id).unwrap().count, 0);
    assert!(
        store
            .person(&Nik::parse(&nik("337201", 900)).unwrap(), false)
            .unwrap()
            .is_none()
    );
    assert_eq!(store.device_receipt(twice.id).unwrap().count, 20);
    assert_eq!(store.device_receipt(taken.id).unwrap().count, 1);
    let report = store.verify_counters().unwrap();
    assert_eq!(report.persons, 3 * 50 + 20 + 1);
    assert!(report.differences.is_empty(), "{report:?}");
    // The failed push, sent again without the poison (its trigger lived on
    // the old connection), is applied.
    let r = push(&store, &agents[3], &failing, &failing_changes).unwrap();
    assert_eq!(r.receipt.count, 3);
}

#[test]
fn a_device_s_pages_in_one_group_apply_in_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("order.db")).unwrap();
    let agent = token(&store, "agent");
    let mut d = Device::new();
    let first = registrations(&mut d, 0, 30);
    let second = registrations(&mut d, 30, 30);
    let (a, b) = std::thread::scope(|s| {
        let st = &store;
        let ag = &agent;
        let dev = &d;
        // The later page reaches the writer first.
        let later = s.spawn(move || push(st, ag, dev, &second));
        std::thread::sleep(Duration::from_millis(20));
        let earlier = s.spawn(move || push(st, ag, dev, &first));
        (earlier.join().unwrap(), later.join().unwrap())
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.results.iter().all(|c| c.outcome == Outcome::Applied));
    assert!(
        b.results.iter().all(|c| c.outcome == Outcome::Applied),
        "{:?}",
        b.results[0]
    );
    assert_eq!(store.device_receipt(d.id).unwrap().highest_seq, 60);
}
