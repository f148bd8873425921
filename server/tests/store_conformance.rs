#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One conformance suite for the storage interface: every scenario talks
//! to a `&dyn Store` only, and runs on SQLite always and on PostgreSQL
//! whenever `SIGAP_TEST_DATABASE_URL` is set (each run in a schema of its
//! own). A scenario asserts what the interface promises and writes what
//! each call answered to a log; on PostgreSQL the log must be SQLite's,
//! but for what may legitimately differ: token times (the wall clock's),
//! the feed's numbers (compared by their order), the ids of the changes
//! the server writes itself and the NIK lookup hashes (each deployment
//! keys them with its own secret: compared by the NIK they stand for).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use common::{Device, PgSchema, nik};
use serde::Serialize;
use serde_json::{Value, json};
use sigap_server::store::sqlite::Clock;
use sigap_server::store::{
    AreaData, Baseline, DEFAULT_MAX_CLOCK_SKEW_MILLIS, HistoryRow, NewToken, NewVisit, PgStore,
    Pusher, Role, RollRow, SqliteStore, Store, StoreError, TokenInfo,
};
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::merge::Fields;
use sigap_shared::wire::{
    Change, ChangeKind, Outcome, PullPage, PushRequest, PushResponse, ReceiptHash,
};
use sigap_shared::{AreaCode, Category, Nik, Status, nik_lookup_hash};
use time::macros::date;
use uuid::Uuid;

const PAJANG: &str = "33.72.01.1001";
const LAWEYAN: &str = "33.72.01.1002";
/// A kelurahan of another kecamatan (Serengan).
const ELSEWHERE: &str = "33.72.02.1001";
const DAY: i64 = 86_400_000;
/// Where the stores' clock stands at the start: an hour after the
/// devices' first changes (`common::NOW`).
const START: i64 = 1_764_000_000_000 + 3_600_000;
/// 2026-12-01 10:00 UTC, for the scenarios that move through days.
const DAY1: i64 = 1_796_119_200_000;

// ---------------------------------------------------------------- harness

/// The store under test and the clock it reads.
struct Subject<'a> {
    s: &'a dyn Store,
    clock: &'a AtomicI64,
}

impl Subject<'_> {
    fn set_clock(&self, millis: i64) {
        self.clock.store(millis, Ordering::SeqCst);
    }
}

type Scenario = fn(&Subject<'_>) -> Log;

fn clock_of(c: &Arc<AtomicI64>) -> Clock {
    let c = c.clone();
    Arc::new(move || c.load(Ordering::SeqCst))
}

fn on_sqlite(scenario: Scenario) -> Log {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(START));
    let store = SqliteStore::open(&dir.path().join("conformance.db"))
        .unwrap()
        .with_clock(clock_of(&clock));
    scenario(&Subject {
        s: &store,
        clock: &clock,
    })
}

/// `None` when `SIGAP_TEST_DATABASE_URL` is not set (skipped with a
/// notice; a failure in CI).
fn on_postgres(scenario: Scenario) -> Option<Log> {
    let schema = PgSchema::new()?;
    let clock = Arc::new(AtomicI64::new(START));
    let store = PgStore::open(&schema.url())
        .unwrap()
        .with_clock(clock_of(&clock));
    let log = scenario(&Subject {
        s: &store,
        clock: &clock,
    });
    drop(store);
    drop(schema);
    Some(log)
}

/// Each scenario as `NAME::sqlite` and `NAME::postgres`; the latter also
/// compares its log with SQLite's.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::on_sqlite(super::$name);
            }

            #[test]
            fn postgres() {
                let Some(got) = super::on_postgres(super::$name) else {
                    return;
                };
                super::assert_same(&super::on_sqlite(super::$name), &got);
            }
        }
    )*};
}

conformance!(
    tokens_are_made_found_listed_expired_and_revoked,
    devices_are_claimed_assigned_and_refused,
    pushes_register_edit_void_and_answer_each_change,
    a_number_used_twice_in_one_push_is_a_seq_conflict,
    a_later_page_waits_and_an_early_edit_is_superseded,
    the_feed_pages_by_cursor_and_skips_the_pulling_device,
    conflicts_open_and_are_resolved,
    a_supervisor_moves_a_person,
    an_admin_erases_a_person,
    the_roll_is_imported_as_of_a_day,
    baselines_targets_and_counters_are_kept,
    the_review_list_follows_the_merged_records,
    history_visits_and_activity_follow_the_days,
    the_database_size_grows_with_what_it_holds,
);

/// What a scenario saw, step by step.
#[derive(Default)]
struct Log(Vec<(String, Value)>);

impl Log {
    fn add(&mut self, step: &str, v: impl Serialize) {
        self.0
            .push((step.to_string(), serde_json::to_value(v).unwrap()));
    }
}

/// Asserts that PostgreSQL's log is SQLite's, but for what may differ.
fn assert_same(sqlite: &Log, postgres: &Log) {
    let (a, b) = (normalised(sqlite), normalised(postgres));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0, "the scenarios took different steps");
        assert!(
            x.1 == y.1,
            "step {:?} differs\n  SQLite:     {}\n  PostgreSQL: {}",
            x.0,
            x.1,
            y.1
        );
    }
    assert_eq!(a.len(), b.len(), "the scenarios took different steps");
}

/// The keys of wall-clock times: tokens and the server's own writes
/// (resolutions, moves, erasures) are stamped by the wall clock, not the
/// store's.
const WALL_TIMES: [&str; 4] = ["created_at", "revoked_at", "resolved_at", "erased_at"];
/// The keys of feed numbers: compared by their order.
const FEED_NUMBERS: [&str; 2] = ["seq", "next_cursor"];
/// How a clock stamp of the server's own writes ends.
const SERVER_STAMP: &str = "-ffffffff-ffff-ffff-ffff-ffffffffffff";

/// Whether `text` is a clock stamp of the server's own writes (its time
/// is the wall clock's).
fn server_stamp(text: &str) -> bool {
    text.len() == 16 + 1 + 10 + SERVER_STAMP.len()
        && text.ends_with(SERVER_STAMP)
        && text[..16].bytes().all(|b| b.is_ascii_digit())
}

fn normalised(log: &Log) -> Vec<(String, Value)> {
    let mut numbers = Vec::new();
    for (_, v) in &log.0 {
        feed_numbers(v, &mut numbers);
    }
    numbers.sort_unstable();
    numbers.dedup();
    log.0
        .iter()
        .map(|(step, v)| {
            let mut v = v.clone();
            normalise(&mut v, &numbers);
            (step.clone(), v)
        })
        .collect()
}

fn feed_numbers(v: &Value, out: &mut Vec<u64>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v.as_u64() {
                    Some(n) if FEED_NUMBERS.contains(&k.as_str()) => out.push(n),
                    _ => feed_numbers(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| feed_numbers(v, out)),
        _ => {}
    }
}

fn normalise(v: &mut Value, numbers: &[u64]) {
    match v {
        Value::Object(m) => {
            let by_server = m
                .get("device_id")
                .and_then(Value::as_str)
                .is_some_and(|d| d == &SERVER_STAMP[1..]);
            // Stamps keyed by a server write's clock: one key for all.
            let keys: Vec<String> = m.keys().filter(|k| server_stamp(k)).cloned().collect();
            for k in keys {
                let fields = m.remove(&k).unwrap();
                let entry = m.entry("<server's stamp>").or_insert_with(|| json!([]));
                if let (Some(all), Some(more)) = (entry.as_array_mut(), fields.as_array()) {
                    all.extend(more.iter().cloned());
                    all.sort_by_key(Value::to_string);
                }
            }
            for (k, v) in m.iter_mut() {
                if (WALL_TIMES.contains(&k.as_str()) || by_server && k == "received_at")
                    && !v.is_null()
                {
                    *v = json!("<wall clock>");
                } else if FEED_NUMBERS.contains(&k.as_str())
                    && let Some(n) = v.as_u64()
                {
                    *v = json!(format!("feed #{}", numbers.binary_search(&n).unwrap()));
                } else if k == "change_id"
                    && v.as_str().is_some_and(|id| !id.starts_with("c0000000-"))
                {
                    // Made by the server for its own writes.
                    *v = json!("<server's change>");
                } else {
                    normalise(v, numbers);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| normalise(v, numbers)),
        Value::String(text) if server_stamp(text) => *v = json!("<server's stamp>"),
        _ => {}
    }
}

// ---------------------------------------------------------------- helpers

/// A device with fixed ids, so that both stores see the same changes.
struct Dev {
    d: Device,
    n: u16,
    made: u64,
}

impl Dev {
    fn new(n: u16) -> Dev {
        Dev {
            d: Device {
                id: Uuid::parse_str(&format!("d0000000-0000-7000-8000-{n:012x}")).unwrap(),
                seq: 0,
                millis: common::NOW,
            },
            n,
            made: 0,
        }
    }

    fn id(&self) -> Uuid {
        self.d.id
    }

    fn fixed(&mut self, mut c: Change) -> Change {
        self.made += 1;
        c.id = Uuid::parse_str(&format!(
            "c0000000-0000-7000-{:04x}-{:012x}",
            self.n, self.made
        ))
        .unwrap();
        c
    }

    fn register(&mut self, nik: &str, name: &str, kel: &str, rw: u16, rt: u16) -> Change {
        let c = self.d.register(nik, name, kel, rw, rt);
        self.fixed(c)
    }

    fn change(&mut self, nik: &str, kind: ChangeKind, fields: Fields) -> Change {
        let c = self.d.change(nik, kind, fields);
        self.fixed(c)
    }

    fn edit(&mut self, nik: &str, fields: Fields) -> Change {
        self.change(nik, ChangeKind::Edit, fields)
    }

    fn void(&mut self, nik: &str, reason: &str) -> Change {
        self.change(
            nik,
            ChangeKind::Void,
            Fields {
                status: Some(Status::Void),
                void_reason: Some(reason.into()),
                ..Fields::default()
            },
        )
    }
}

fn area(code: &str) -> AreaCode {
    AreaCode::parse(code).unwrap()
}

fn nik_of(text: &str) -> Nik {
    Nik::parse(text).unwrap()
}

fn secret_hash(name: &str) -> String {
    sigap_server::token::hash(&format!("secret of {name}"))
}

fn new_token(name: &str, role: Role, areas: &[&str], expires_at: Option<i64>) -> NewToken {
    NewToken {
        name: name.into(),
        role,
        areas: areas.iter().map(|a| area(a)).collect(),
        hash: secret_hash(name),
        expires_at,
    }
}

fn token(s: &dyn Store, name: &str, role: Role, areas: &[&str]) -> TokenInfo {
    s.create_token(&new_token(name, role, areas, None)).unwrap()
}

fn pusher(t: &TokenInfo) -> Pusher<'_> {
    Pusher {
        token_id: t.id,
        token_name: &t.name,
        areas: (t.role != Role::Admin).then_some(t.areas.as_slice()),
        max_skew_millis: DEFAULT_MAX_CLOCK_SKEW_MILLIS,
        gap_wait: Duration::from_millis(20),
    }
}

fn try_push(
    s: &dyn Store,
    t: &TokenInfo,
    device: Uuid,
    changes: &[Change],
) -> Result<PushResponse, StoreError> {
    let req = PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: device,
        changes: changes.to_vec(),
        pending: Some(3),
    };
    s.push(&pusher(t), &req)
}

fn push(s: &dyn Store, t: &TokenInfo, device: Uuid, changes: &[Change]) -> PushResponse {
    try_push(s, t, device, changes).unwrap()
}

/// Each change's outcome, with the code of a rejection.
fn outcomes(r: &PushResponse) -> Vec<String> {
    r.results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => format!("rejected {code}"),
            other => serde_json::to_value(other).unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_string(),
        })
        .collect()
}

/// A refusal as the log keeps it: its kind, code and message. Backend
/// failures are not expected from any scenario.
fn refusal(e: StoreError) -> Value {
    match e {
        StoreError::Invalid { code, message } => json!({"invalid": code, "message": message}),
        StoreError::Denied { code, message } => json!({"denied": code, "message": message}),
        StoreError::NotFound(message) => json!({"not_found": message}),
        other => panic!("a backend failure: {other:?}"),
    }
}

fn answer<T: Serialize>(r: Result<T, StoreError>) -> Value {
    match r {
        Ok(v) => json!({"ok": v}),
        Err(e) => json!({"refused": refusal(e)}),
    }
}

fn code_of(v: &Value) -> &str {
    let r = &v["refused"];
    ["invalid", "denied"]
        .iter()
        .find_map(|k| r[k].as_str())
        .unwrap_or(if r.get("not_found").is_some() {
            "not_found"
        } else {
            ""
        })
}

/// A feed page with each lookup hash replaced by the NIK it stands for
/// (among `niks`).
fn page(s: &dyn Store, page: &PullPage, niks: &[String]) -> Value {
    let key = s.replica_key().unwrap();
    let by_hash: BTreeMap<String, &String> = niks
        .iter()
        .map(|n| (nik_lookup_hash(&key, &nik_of(n)), n))
        .collect();
    let mut v = serde_json::to_value(page).unwrap();
    for p in v["persons"].as_array_mut().unwrap() {
        let hash = p["nik_hash"].as_str().unwrap().to_string();
        p["nik_hash"] = json!(format!(
            "hash of {}",
            by_hash.get(&hash).map_or("an unknown NIK", |n| n.as_str())
        ));
    }
    v
}

/// Which of `niks` a page holds.
fn niks_in(s: &dyn Store, page: &PullPage, niks: &[String]) -> Vec<String> {
    let key = s.replica_key().unwrap();
    page.persons
        .iter()
        .map(|p| {
            niks.iter()
                .find(|n| nik_lookup_hash(&key, &nik_of(n)) == p.nik_hash)
                .cloned()
                .unwrap_or_else(|| "an unknown NIK".into())
        })
        .collect()
}

fn area_data(d: &AreaData) -> Value {
    let counters: BTreeMap<String, [u64; 4]> = d
        .counters
        .iter()
        .map(|(a, c)| (a.to_string(), *c))
        .collect();
    let baselines: BTreeMap<String, u64> = d
        .baselines
        .iter()
        .map(|(a, n)| (a.to_string(), *n))
        .collect();
    let targets: BTreeMap<String, Value> = d
        .targets
        .iter()
        .map(|(a, t)| (a.to_string(), json!([t.percent.0, t.count])))
        .collect();
    json!({"counters": counters, "baselines": baselines, "targets": targets})
}

/// Covered persons by category in `area` of `data`, zero when none.
fn covered(d: &AreaData, code: &str) -> [u64; 4] {
    d.counters.get(&area(code)).copied().unwrap_or_default()
}

fn history(rows: &[HistoryRow]) -> Value {
    rows.iter()
        .map(|r| {
            json!({
                "day": r.day.to_string(),
                "snapshot": r.snapshot,
                "by_category": r.by_category,
                "working_population": r.working_population,
                "target": r.target.map(|t| json!([t.percent.0, t.count])),
                "registrations": r.registrations,
            })
        })
        .collect()
}

fn roll_row(n: &str, kel: &str, category: Category) -> RollRow {
    RollRow {
        nik: nik_of(n),
        kelurahan: area(kel),
        rw: 1,
        rt: 1,
        category,
    }
}

fn verified_clean(s: &dyn Store) -> Value {
    let report = s.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    serde_json::to_value(report).unwrap()
}

// -------------------------------------------------------------- scenarios

fn tokens_are_made_found_listed_expired_and_revoked(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let now = s.now_millis();
    assert_eq!(now, START, "the store reads the clock it was given");
    let mk = |name: &str, role, areas: &[&str], expires| {
        s.create_token(&new_token(name, role, areas, expires))
            .unwrap()
    };
    let ani = mk("ani", Role::Agent, &[PAJANG, LAWEYAN], None);
    let sari = mk("sari", Role::Supervisor, &["33.72"], Some(now + DAY));
    let old = mk("lama", Role::Agent, &[PAJANG], Some(now - 1));
    let root = mk("root", Role::Admin, &[], None);
    let made = vec![ani.clone(), sari.clone(), old.clone(), root.clone()];
    assert!(made.windows(2).all(|w| w[0].id < w[1].id), "{made:?}");
    assert!(made.iter().all(|t| t.revoked_at.is_none()));
    assert_eq!(ani.areas, vec![area(PAJANG), area(LAWEYAN)]);
    log.add("made", &made);
    assert_eq!(s.list_tokens().unwrap(), made);

    // A name is taken once.
    let again = s.create_token(&new_token("ani", Role::Admin, &[], None));
    let again = answer(again);
    assert_eq!(code_of(&again), "token_name_taken", "{again}");
    log.add("name taken", again);
    assert_eq!(s.list_tokens().unwrap().len(), 4);

    // Found by hash, expired ones too: refusing them is the caller's.
    for t in &made {
        assert_eq!(
            s.find_token(&secret_hash(&t.name)).unwrap().as_ref(),
            Some(t)
        );
    }
    assert_eq!(s.find_token("no such hash").unwrap(), None);
    let expired = |t: &TokenInfo| t.expired_at(s.now_millis());
    log.add("expired now", made.iter().map(expired).collect::<Vec<_>>());
    assert_eq!(
        made.iter().map(expired).collect::<Vec<_>>(),
        [false, false, true, false]
    );
    x.set_clock(START + 2 * DAY);
    log.add(
        "expired later",
        made.iter().map(expired).collect::<Vec<_>>(),
    );
    assert!(expired(&sari));

    // Revoked by name, then by id (keeping the first time), or by id.
    let r1 = s.revoke_token("ani").unwrap().unwrap();
    assert!(r1.revoked_at.is_some());
    assert_eq!(s.find_token(&secret_hash("ani")).unwrap(), None);
    let r2 = s.revoke_token(&ani.id.to_string()).unwrap().unwrap();
    assert_eq!(
        r2.revoked_at, r1.revoked_at,
        "a second revocation keeps the time"
    );
    let r3 = s.revoke_token(&root.id.to_string()).unwrap().unwrap();
    assert_eq!(r3.name, "root");
    log.add("revoked", [&r1, &r2, &r3]);
    log.add(
        "revoked nobody",
        [
            s.revoke_token("nobody").unwrap(),
            s.revoke_token("99").unwrap(),
        ],
    );
    // A token named like another's id: the name wins.
    let named = mk(&sari.id.to_string(), Role::Agent, &[PAJANG], None);
    let r4 = s.revoke_token(&sari.id.to_string()).unwrap().unwrap();
    assert_eq!(r4.id, named.id);
    assert!(s.find_token(&secret_hash("sari")).unwrap().is_some());
    let listed = s.list_tokens().unwrap();
    assert_eq!(listed.len(), 5);
    assert_eq!(listed.iter().filter(|t| t.revoked_at.is_some()).count(), 3);
    log.add("listed", listed);
    log
}

fn devices_are_claimed_assigned_and_refused(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let ani = token(s, "ani", Role::Agent, &["33.72.01"]);
    let budi = token(s, "budi", Role::Agent, &["33.72.01"]);
    let mut d = Dev::new(1);
    let empty = s.device_receipt(d.id()).unwrap();
    assert_eq!((empty.count, empty.highest_seq, empty.max_seq), (0, 0, 0));
    log.add(
        "unknown device",
        (&empty, s.device_changes(d.id(), 0, 10).unwrap()),
    );

    // Claimed once; again by the holder; refused to another token.
    s.claim_device(d.id(), ani.id).unwrap();
    s.claim_device(d.id(), ani.id).unwrap();
    let refused = answer(s.claim_device(d.id(), budi.id));
    assert_eq!(code_of(&refused), "device_not_yours", "{refused}");
    assert!(refused.to_string().contains("(ani)"), "{refused}");
    log.add("claimed by another", refused);

    // A push is a claim too.
    let first = d.register(&nik("337201", 1), "Ani Satu", PAJANG, 1, 1);
    let stolen = answer(try_push(s, &budi, d.id(), std::slice::from_ref(&first)));
    assert_eq!(code_of(&stolen), "device_not_yours", "{stolen}");
    log.add("pushed by another", stolen);
    let r = push(s, &ani, d.id(), &[first]);
    assert_eq!(outcomes(&r), ["applied"]);
    log.add("pushed", &r);
    let fresh = Dev::new(2);
    let r = push(s, &budi, fresh.id(), &[]);
    assert_eq!(r.receipt.count, 0);
    assert_eq!(
        code_of(&answer(s.claim_device(fresh.id(), ani.id))),
        "device_not_yours"
    );

    // An admin gives the laptop to budi: ani's token no longer writes it.
    s.assign_device(d.id(), budi.id).unwrap();
    let next = d.register(&nik("337201", 2), "Ani Dua", PAJANG, 1, 2);
    let refused = answer(try_push(s, &ani, d.id(), std::slice::from_ref(&next)));
    assert_eq!(code_of(&refused), "device_not_yours", "{refused}");
    assert!(refused.to_string().contains("(budi)"), "{refused}");
    log.add("old holder refused", refused);
    let r = push(s, &budi, d.id(), &[next]);
    assert_eq!(outcomes(&r), ["applied"]);
    assert_eq!((r.receipt.count, r.receipt.highest_seq), (2, 2));
    log.add("new holder", &r);
    s.assign_device(d.id(), budi.id).unwrap();
    // An admin may enrol a device no one has synced yet.
    let spare = Dev::new(3);
    s.assign_device(spare.id(), ani.id).unwrap();
    let r = push(s, &ani, spare.id(), &[]);
    log.add("assigned before use", &r.receipt);
    assert_eq!(
        code_of(&answer(s.claim_device(spare.id(), budi.id))),
        "device_not_yours"
    );

    for (after, limit) in [(0, 10), (0, 1), (1, 1), (2, 5)] {
        let (list, more) = s.device_changes(d.id(), after, limit).unwrap();
        log.add(&format!("log after {after} by {limit}"), (&list, more));
    }
    let (list, more) = s.device_changes(d.id(), 0, 1).unwrap();
    assert_eq!((list.len(), more), (1, true));
    log
}

fn pushes_register_edit_void_and_answer_each_change(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let agent = token(s, "ani", Role::Agent, &["33.72.01"]);
    let mut d = Dev::new(1);
    let (n0, n1) = (nik("337201", 0), nik("337201", 1));
    let batch = vec![
        d.register(&n0, "Budi Santoso", PAJANG, 3, 5),
        d.register(&n1, "Siti Aminah", LAWEYAN, 3, 6),
        d.edit(
            &n0,
            Fields {
                occupation: Some("ojek".into()),
                ..Fields::default()
            },
        ),
        d.void(&n1, "pindah ke luar kota"),
    ];
    let first = push(s, &agent, d.id(), &batch);
    assert_eq!(outcomes(&first), ["applied"; 4]);
    let ids: Vec<Uuid> = batch.iter().map(|c| c.id).collect();
    let receipt = &first.receipt;
    assert_eq!(
        (receipt.count, receipt.highest_seq, receipt.max_seq),
        (4, 4, 4)
    );
    assert_eq!(receipt.hash, ReceiptHash::of(&ids).to_hex());
    log.add("first", &first);

    // The same batch again: nothing applied twice, the same receipt.
    let again = push(s, &agent, d.id(), &batch);
    assert_eq!(outcomes(&again), ["duplicate"; 4]);
    assert_eq!(again.receipt, first.receipt);
    log.add("again", &again);

    // An id sent again with other content, under its own number or the
    // next: `id_reused`; another id under a held number: `seq_conflict`.
    let mut renumbered = batch[0].clone();
    renumbered.device_seq = 5;
    let mut rewritten = batch[0].clone();
    rewritten.fields.name = Some("Budi S.".into());
    for (what, c) in [("renumbered", renumbered), ("rewritten", rewritten)] {
        let r = push(s, &agent, d.id(), &[c]);
        assert_eq!(outcomes(&r), ["rejected id_reused"], "{what}");
        assert_eq!(r.receipt.count, 4, "{what}");
        log.add(what, &r);
    }
    let mut taken = d.register(&nik("337201", 2), "Joko", PAJANG, 1, 1);
    taken.device_seq = 2;
    d.d.seq -= 1;
    let r = push(s, &agent, d.id(), &[taken]);
    assert_eq!(outcomes(&r), ["rejected seq_conflict"]);
    log.add("seq conflict", &r);

    // Refused for good, each held under its number: bad data, an area
    // not the agent's, another device's clock; the rest goes on.
    let mut bad_birth = d.register(&nik("337201", 3), "Dewi", PAJANG, 1, 1);
    bad_birth.fields.birth_date = Some(date!(1985 - 03 - 13));
    let outside = d.register(&nik("337202", 4), "Agus", ELSEWHERE, 1, 1);
    let mut posing = d.register(&nik("337201", 5), "Eko", PAJANG, 1, 1);
    posing.hlc.device = Uuid::from_u128(7);
    let fine = d.register(&nik("337201", 6), "Fajar", LAWEYAN, 2, 2);
    let r = push(s, &agent, d.id(), &[bad_birth, outside, posing, fine]);
    assert_eq!(
        outcomes(&r),
        [
            "rejected birth_date_mismatch",
            "rejected area_not_assigned",
            "rejected device_mismatch",
            "applied"
        ]
    );
    assert_eq!((r.receipt.count, r.receipt.highest_seq), (8, 8));
    log.add("refused and held", &r);

    // A number out of range, and a clock far ahead: refused and not
    // held, so the device's later change waits.
    let mut zero = d.register(&nik("337201", 7), "Gita", PAJANG, 1, 1);
    zero.device_seq = 0;
    d.d.seq -= 1;
    let r = push(s, &agent, d.id(), &[zero]);
    assert_eq!(outcomes(&r), ["rejected invalid_device_seq"]);
    log.add("seq zero", &r);
    let mut ahead = d.register(&nik("337201", 8), "Hadi", PAJANG, 1, 1);
    ahead.hlc.millis = u64::try_from(s.now_millis() + 2 * DAY).unwrap();
    let mut after = d.register(&nik("337201", 9), "Indah", PAJANG, 1, 1);
    after.hlc.millis = ahead.hlc.millis + 1;
    let r = push(s, &agent, d.id(), &[ahead.clone(), after.clone()]);
    assert_eq!(outcomes(&r), ["rejected clock_ahead", "pending"]);
    assert_eq!(r.receipt.count, 8);
    log.add("clock ahead", &r);
    ahead.hlc.millis = u64::try_from(s.now_millis()).unwrap();
    after.hlc.millis = ahead.hlc.millis + 1;
    let r = push(s, &agent, d.id(), &[ahead, after]);
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    log.add("restamped", &r);

    // What the server holds.
    let p0 = s.person(&nik_of(&n0), true).unwrap().unwrap();
    assert_eq!(p0.fields.occupation.as_deref(), Some("ojek"));
    assert_eq!(p0.registered_by.as_deref(), Some("ani"));
    assert_eq!(p0.history.as_ref().unwrap().len(), 2);
    let p1 = s.person(&nik_of(&n1), false).unwrap().unwrap();
    assert_eq!(p1.fields.status, Some(Status::Void));
    assert!(!p1.covered);
    assert!(p1.history.is_none());
    log.add("persons", [&p0, &p1]);
    assert_eq!(s.person(&nik_of(&nik("337201", 3)), false).unwrap(), None);
    let (list, more) = s.device_changes(d.id(), 0, 100).unwrap();
    assert_eq!(list.len(), 10);
    assert!(!more);
    log.add("device log", list);
    log.add("receipt", s.device_receipt(d.id()).unwrap());
    let data = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(covered(&data, "33.72"), [0, 4, 0, 0]);
    log.add("counters", area_data(&data));
    log.add("verify", verified_clean(s));
    log
}

/// Numbers are checked against the push's own changes as well as the
/// log: a push that uses a number twice, first among many, then after
/// it (PostgreSQL keeps a push's log rows in memory until it ends).
fn a_number_used_twice_in_one_push_is_a_seq_conflict(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let agent = token(s, "ani", Role::Agent, &["33.72.01"]);
    let mut d = Dev::new(1);
    let mut batch: Vec<Change> = (0..300)
        .map(|i| d.register(&nik("337201", i), "Warga", PAJANG, 1, 1))
        .collect();
    // Three more under numbers the push has already used: its first,
    // one in the middle, and the one just before.
    for (i, used) in [(300, 1), (301, 150), (302, 300)] {
        let mut again = d.register(&nik("337201", i), "Ulang", PAJANG, 1, 1);
        again.device_seq = used;
        d.d.seq -= 1;
        batch.push(again);
    }
    batch.push(d.register(&nik("337201", 303), "Akhir", PAJANG, 1, 1));
    let r = push(s, &agent, d.id(), &batch);
    let got = outcomes(&r);
    assert_eq!(got[..300], vec!["applied".to_string(); 300][..]);
    assert_eq!(
        got[300..],
        [
            "rejected seq_conflict",
            "rejected seq_conflict",
            "rejected seq_conflict",
            "applied"
        ]
    );
    assert_eq!((r.receipt.count, r.receipt.highest_seq), (301, 301));
    log.add("one push", &r);
    // The same push again: every held change a duplicate, the reused
    // numbers refused again, nothing counted twice.
    let again = push(s, &agent, d.id(), &batch);
    assert_eq!(again.receipt, r.receipt);
    let expected: Vec<&str> = (0..batch.len())
        .map(|i| match i {
            300..=302 => "rejected seq_conflict",
            _ => "duplicate",
        })
        .collect();
    assert_eq!(outcomes(&again), expected);
    log.add("again", &again);
    assert_eq!(s.person(&nik_of(&nik("337201", 301)), false).unwrap(), None);
    let data = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(covered(&data, "33.72"), [0, 301, 0, 0]);
    log.add("verify", verified_clean(s));
    log
}

fn a_later_page_waits_and_an_early_edit_is_superseded(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let ani = token(s, "agent-1", Role::Agent, &["33.72.01"]);
    let budi = token(s, "agent-2", Role::Agent, &["33.72.01"]);
    let mut d = Dev::new(1);
    let n0 = nik("337201", 0);
    let page1 = vec![
        d.register(&n0, "Budi", PAJANG, 1, 1),
        d.register(&nik("337201", 1), "Siti", PAJANG, 1, 2),
    ];
    let page2 = vec![
        d.edit(
            &n0,
            Fields {
                occupation: Some("ojek".into()),
                ..Fields::default()
            },
        ),
        d.void(&n0, "duplicate form"),
    ];
    // Page 2 first: it waits, nothing of it is held.
    let r = push(s, &ani, d.id(), &page2);
    assert_eq!(outcomes(&r), ["pending", "pending"]);
    assert_eq!(r.receipt.count, 0);
    log.add("page 2 first", &r);
    let r = push(s, &ani, d.id(), &page1);
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    log.add("page 1", &r);
    let r = push(s, &ani, d.id(), &page2);
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    assert_eq!((r.receipt.highest_seq, r.receipt.max_seq), (4, 4));
    log.add("page 2 again", &r);
    let p = s.person(&nik_of(&n0), false).unwrap().unwrap();
    assert_eq!(p.fields.status, Some(Status::Void));
    assert_eq!(p.fields.occupation.as_deref(), Some("ojek"));
    log.add("person", &p);

    // Another device's edit before the registration it edits: a partial
    // record, not counted, on the review list; the later-arriving,
    // earlier-stamped registration is superseded on that field.
    let n2 = nik("337201", 2);
    let mut a = Dev::new(2);
    let mut b = Dev::new(3);
    let reg = a.register(&n2, "Joko", PAJANG, 2, 1);
    b.d.millis = a.d.millis + 5_000;
    let edit = b.edit(
        &n2,
        Fields {
            phone: Some("081234567890".into()),
            ..Fields::default()
        },
    );
    let r = push(s, &budi, b.id(), &[edit]);
    assert_eq!(outcomes(&r), ["applied"]);
    let review = s.review(None).unwrap();
    assert_eq!(review.len(), 1, "{review:?}");
    assert_eq!(review[0].issues[0].code, "incomplete_registration");
    log.add("review", &review);
    let before = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(covered(&before, "33.72"), [0, 1, 0, 0]);
    let r = push(s, &ani, a.id(), &[reg]);
    assert_eq!(outcomes(&r), ["superseded"]);
    match &r.results[0].outcome {
        Outcome::Superseded { fields, by } => {
            assert_eq!(serde_json::to_value(fields).unwrap(), json!(["phone"]));
            assert_eq!(by, &["agent-2"]);
        }
        other => panic!("{other:?}"),
    }
    log.add("superseded", &r);
    let p = s.person(&nik_of(&n2), true).unwrap().unwrap();
    assert_eq!(p.fields.phone.as_deref(), Some("081234567890"));
    assert_eq!(p.fields.name.as_deref(), Some("Joko"));
    log.add("merged", &p);
    assert_eq!(s.review(None).unwrap(), vec![]);
    let after = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(covered(&after, "33.72"), [0, 2, 0, 0]);
    log.add("verify", verified_clean(s));

    // Two pages at once, the later first: it waits for the earlier one
    // rather than coming back pending.
    let mut c = Dev::new(4);
    let n3 = nik("337201", 3);
    let early = vec![c.register(&n3, "Lina", PAJANG, 1, 3)];
    let late = vec![c.void(&n3, "duplicate form")];
    s.claim_device(c.id(), ani.id).unwrap();
    let by = Pusher {
        gap_wait: Duration::from_secs(10),
        ..pusher(&ani)
    };
    let req = |changes: Vec<Change>| PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: c.id(),
        changes,
        pending: None,
    };
    let (r_late, r_early) = std::thread::scope(|scope| {
        let late = scope.spawn(|| s.push(&by, &req(late)).unwrap());
        std::thread::sleep(Duration::from_millis(300));
        let early = s.push(&by, &req(early)).unwrap();
        (late.join().unwrap(), early)
    });
    assert_eq!(outcomes(&r_early), ["applied"]);
    assert_eq!(outcomes(&r_late), ["applied"]);
    assert_eq!(r_late.receipt.highest_seq, 2);
    log.add("waited", (outcomes(&r_early), outcomes(&r_late)));
    log
}

/// `database_bytes` (the `sigap_database_bytes` metric) counts what the
/// server holds, on PostgreSQL as on SQLite.
fn the_database_size_grows_with_what_it_holds(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let agent = token(s, "sizes", Role::Agent, &["33.72"]);
    let before = s.database_bytes().unwrap();
    let mut dev = Dev::new(1);
    let batch: Vec<Change> = (0..2000)
        .map(|i| dev.register(&nik("337201", i), "Budi Santoso Wibowo", PAJANG, 1, 1))
        .collect();
    let r = push(s, &agent, dev.id(), &batch);
    assert!(outcomes(&r).iter().all(|o| o == "applied"), "{r:?}");
    let after = s.database_bytes().unwrap();
    assert!(before > 0 && after > before, "{before} → {after} bytes");
    log.add("held something before", before > 0);
    log.add("grew with 2,000 persons", after > before);
    log
}

fn the_feed_pages_by_cursor_and_skips_the_pulling_device(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let laweyan = token(s, "laweyan", Role::Agent, &["33.72.01"]);
    let kota = token(s, "kota", Role::Agent, &["33.72"]);
    let mut niks: Vec<String> = (0..30).map(|i| nik("337201", i)).collect();
    let shared = nik("337201", 100);
    let theirs = nik("337201", 101);
    let rolled = nik("337201", 102);
    let away = nik("337202", 0);
    niks.extend([shared.clone(), theirs.clone(), rolled.clone(), away.clone()]);
    let mut mine = Dev::new(1);
    let mut other = Dev::new(2);
    let mut batch: Vec<Change> = niks[..30]
        .iter()
        .enumerate()
        .map(|(i, n)| mine.register(n, "Budi", [PAJANG, LAWEYAN][i % 2], 1, 1))
        .collect();
    batch.push(mine.register(&shared, "Sari", PAJANG, 1, 2));
    batch.push(mine.register(&rolled, "Agus", PAJANG, 1, 3));
    let r = push(s, &laweyan, mine.id(), &batch);
    assert!(outcomes(&r).iter().all(|o| o == "applied"), "{r:?}");
    // Another device writes one of them (an older write that changes
    // nothing), one of its own and one elsewhere; the roll makes another
    // a participant.
    other.d.millis = mine.d.millis;
    let edit = other.edit(
        &shared,
        Fields {
            phone: Some("081234567890".into()),
            ..Fields::default()
        },
    );
    let reg = other.register(&theirs, "Tini", PAJANG, 2, 1);
    let far = other.register(&away, "Jauh", ELSEWHERE, 1, 1);
    let r = push(s, &kota, other.id(), &[edit, reg, far]);
    assert_eq!(outcomes(&r), ["merged", "applied", "applied"]);
    s.import_participants_as_of(
        &[RollRow {
            rw: 1,
            rt: 3,
            ..roll_row(&rolled, PAJANG, Category::Pu)
        }],
        date!(2025 - 06 - 30),
    )
    .unwrap();

    // The whole feed at once, and in pages: the same persons in order.
    let areas = [area("33.72.01")];
    let all = s.pull(Some(&areas), 0, 1000, None).unwrap();
    assert_eq!(all.persons.len(), 33);
    assert!(!all.has_more);
    assert!(all.persons.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(all.persons.iter().all(|p| p.seq <= all.next_cursor));
    log.add("whole", page(s, &all, &niks));
    let everywhere = s.pull(None, 0, 1000, None).unwrap();
    assert_eq!(everywhere.persons.len(), 34);
    log.add("everywhere", niks_in(s, &everywhere, &niks));
    let mut cursor = 0;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let p = s.pull(Some(&areas), cursor, 7, None).unwrap();
        assert!(p.persons.len() <= 7);
        assert!(p.next_cursor > cursor || !p.has_more);
        seen.extend(p.persons.iter().cloned());
        log.add(
            &format!("page {pages}"),
            (p.next_cursor, p.has_more, p.persons.len()),
        );
        cursor = p.next_cursor;
        pages += 1;
        if !p.has_more {
            break;
        }
        assert!(pages < 20);
    }
    assert_eq!(seen, all.persons);
    assert_eq!(cursor, all.next_cursor);
    let empty = s.pull(Some(&areas), cursor, 7, None).unwrap();
    assert!(empty.persons.is_empty() && !empty.has_more);
    assert_eq!(empty.next_cursor, cursor);
    let none = s.pull(Some(&[area("33.72.05")]), 0, 100, None).unwrap();
    assert!(none.persons.is_empty());
    log.add("another kecamatan", page(s, &none, &niks));
    let zero = s.pull(Some(&areas), 0, 0, None).unwrap();
    log.add("limit 0", page(s, &zero, &niks));

    // Naming the pulling device leaves out what only it has written, in
    // small pages too; the cursor still moves past them.
    let mut cursor = 0;
    let mut got = Vec::new();
    for _ in 0..40 {
        let p = s.pull(Some(&areas), cursor, 1, Some(mine.id())).unwrap();
        got.extend(niks_in(s, &p, &niks));
        assert!(p.next_cursor > cursor || !p.has_more);
        cursor = p.next_cursor;
        if !p.has_more {
            break;
        }
    }
    got.sort();
    let mut want = vec![shared.clone(), theirs.clone(), rolled.clone()];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(cursor, all.next_cursor);
    log.add("skipping mine", &got);
    let as_other = s.pull(Some(&areas), 0, 1000, Some(other.id())).unwrap();
    assert_eq!(as_other.persons.len(), 32);
    log.add("skipping the other", niks_in(s, &as_other, &niks));

    // A later write by another device sends the person again.
    let edit = other.edit(
        &niks[0],
        Fields {
            phone: Some("081234567891".into()),
            ..Fields::default()
        },
    );
    let r = push(s, &kota, other.id(), &[edit]);
    assert_eq!(outcomes(&r), ["merged"]);
    let p = s.pull(Some(&areas), cursor, 100, Some(mine.id())).unwrap();
    assert_eq!(niks_in(s, &p, &niks), [niks[0].clone()]);
    log.add("sent again", page(s, &p, &niks));
    log
}

fn conflicts_open_and_are_resolved(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let a1 = token(s, "agent-1", Role::Agent, &["33.72.01"]);
    let a2 = token(s, "agent-2", Role::Agent, &["33.72.01"]);
    let (n0, n1) = (nik("337201", 0), nik("337201", 1));
    let mut d1 = Dev::new(1);
    let mut d2 = Dev::new(2);
    let r = push(
        s,
        &a1,
        d1.id(),
        &[
            d1.register(&n0, "Budi Santoso", PAJANG, 3, 5),
            d1.register(&n1, "Siti", PAJANG, 3, 6),
        ],
    );
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    let r = push(
        s,
        &a2,
        d2.id(),
        &[
            d2.register(&n0, "Budi Susanto", PAJANG, 3, 5),
            d2.register(&n1, "Siti Aminah", PAJANG, 3, 6),
        ],
    );
    assert_eq!(outcomes(&r), ["merged", "merged"]);
    log.add("merged", &r);
    let data = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(covered(&data, "33.72"), [0, 2, 0, 0], "counted once each");

    let open = s.conflicts(Some("open")).unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(s.conflicts(None).unwrap(), open);
    assert_eq!(s.conflicts(Some("resolved")).unwrap(), vec![]);
    log.add("open", &open);
    let budi = open.iter().find(|c| c.nik.as_str() == n0).unwrap();
    assert_eq!(serde_json::to_value(&budi.fields).unwrap(), json!(["name"]));
    assert_eq!(budi.existing.fields.name.as_deref(), Some("Budi Santoso"));
    assert_eq!(budi.incoming.fields.name.as_deref(), Some("Budi Susanto"));
    assert_eq!(budi.incoming.agent.as_deref(), Some("agent-2"));
    assert_eq!(budi.status, "open");
    assert_eq!(s.conflict(budi.id).unwrap().as_ref(), Some(budi));
    log.add("unknown conflict", s.conflict(9_999).unwrap());

    // A resolution that breaks a rule is refused; a good one closes it.
    let female: Fields = serde_json::from_value(json!({"sex": "P"})).unwrap();
    let refused = answer(s.resolve_conflict(budi.id, &female, None, "sup"));
    assert_eq!(code_of(&refused), "sex_mismatch", "{refused}");
    log.add("refused", refused);
    let name = Fields {
        name: Some("Budi Santoso".into()),
        ..Fields::default()
    };
    x.set_clock(START + 60_000);
    let resolved = s
        .resolve_conflict(budi.id, &name, Some("checked the KTP"), "sup")
        .unwrap();
    assert_eq!(resolved.status, "resolved");
    assert_eq!(resolved.resolved_by.as_deref(), Some("sup"));
    assert!(resolved.resolved_at.is_some());
    log.add("resolved", &resolved);
    let again = answer(s.resolve_conflict(budi.id, &name, None, "sup"));
    assert_eq!(code_of(&again), "conflict_resolved", "{again}");
    log.add("resolved again", again);
    let missing = answer(s.resolve_conflict(9_999, &name, None, "sup"));
    assert_eq!(code_of(&missing), "not_found", "{missing}");
    log.add("no such conflict", missing);
    assert_eq!(s.conflicts(Some("open")).unwrap().len(), 1);
    assert_eq!(s.conflicts(Some("resolved")).unwrap().len(), 1);
    log.add("all", s.conflicts(None).unwrap());

    // The resolution wins over both agents' writes.
    let p = s.person(&nik_of(&n0), true).unwrap().unwrap();
    assert_eq!(p.fields.name.as_deref(), Some("Budi Santoso"));
    assert!(p.covered);
    assert_eq!(p.registered_by.as_deref(), Some("agent-1"));
    let h = p.history.as_ref().unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[2].agent, "sup");
    log.add("person", &p);
    // The same device correcting itself opens nothing.
    let n2 = nik("337201", 2);
    let r = push(
        s,
        &a1,
        d1.id(),
        &[
            d1.register(&n2, "Joko", PAJANG, 1, 1),
            d1.edit(
                &n2,
                Fields {
                    name: Some("Joko Widodo".into()),
                    ..Fields::default()
                },
            ),
        ],
    );
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    assert_eq!(s.conflicts(None).unwrap().len(), 2);
    // A supervisor's write replayed as another server would apply it.
    let hlc = sigap_shared::Hlc {
        millis: u64::try_from(START).unwrap() + 120_000,
        counter: 0,
        device: Uuid::max(),
    };
    s.resolve_at(&nik_of(&n1), &name_fields("Siti Aminah"), hlc, "sup")
        .unwrap();
    assert_eq!(s.conflicts(Some("open")).unwrap(), vec![]);
    log.add("after resolve_at", s.person(&nik_of(&n1), false).unwrap());
    log.add("verify", verified_clean(s));
    log
}

fn name_fields(name: &str) -> Fields {
    Fields {
        name: Some(name.into()),
        ..Fields::default()
    }
}

fn a_supervisor_moves_a_person(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let agent = token(s, "ani", Role::Agent, &["33.72.01"]);
    let n0 = nik("337201", 0);
    let mut d = Dev::new(1);
    let r = push(s, &agent, d.id(), &[d.register(&n0, "Budi", PAJANG, 1, 1)]);
    assert_eq!(outcomes(&r), ["applied"]);
    let before = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(covered(&before, PAJANG), [0, 1, 0, 0]);
    let to = Fields {
        kelurahan: Some(area(ELSEWHERE)),
        rw: Some(2),
        rt: Some(3),
        ..Fields::default()
    };
    x.set_clock(START + 60_000);
    let moved = s.move_person(&nik_of(&n0), &to, "sari").unwrap();
    assert_eq!(moved.fields.kelurahan, Some(area(ELSEWHERE)));
    assert_eq!((moved.fields.rw, moved.fields.rt), (Some(2), Some(3)));
    log.add("moved", &moved);
    let after = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(covered(&after, PAJANG), [0; 4]);
    assert_eq!(covered(&after, ELSEWHERE), [0, 1, 0, 0]);
    assert_eq!(covered(&after, "33.72"), [0, 1, 0, 0]);
    log.add("counters", area_data(&after));
    let p = s.person(&nik_of(&n0), true).unwrap().unwrap();
    assert_eq!(p.history.as_ref().unwrap().last().unwrap().agent, "sari");
    log.add("person", &p);
    // The feed of the old area no longer has the person (it is sent to
    // the new area's agents).
    let old = s.pull(Some(&[area("33.72.01")]), 0, 100, None).unwrap();
    let new = s.pull(Some(&[area("33.72.02")]), 0, 100, None).unwrap();
    let niks = [n0.clone()];
    log.add("feeds", (page(s, &old, &niks), page(s, &new, &niks)));
    assert_eq!(niks_in(s, &new, &niks), niks);
    // The agent may no longer write the person; an unknown person
    // cannot be moved; a move is judged as an edit.
    let r = push(
        s,
        &agent,
        d.id(),
        &[d.edit(
            &n0,
            Fields {
                occupation: Some("ojek".into()),
                ..Fields::default()
            },
        )],
    );
    assert_eq!(outcomes(&r), ["rejected area_not_assigned"]);
    let unknown = answer(s.move_person(&nik_of(&nik("337201", 9)), &to, "sari"));
    assert_eq!(code_of(&unknown), "not_found", "{unknown}");
    log.add("unknown", unknown);
    let bad = Fields {
        rt: Some(0),
        ..to.clone()
    };
    let bad = answer(s.move_person(&nik_of(&n0), &bad, "sari"));
    assert!(bad.get("refused").is_some(), "{bad}");
    log.add("bad address", bad);
    log.add("verify", verified_clean(s));
    log
}

fn an_admin_erases_a_person(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let budi = token(s, "budi", Role::Agent, &["33.72.01"]);
    let rina = token(s, "rina", Role::Agent, &["33.72.01"]);
    let n = "3372015505900002";
    let mut d1 = Dev::new(1);
    let mut a = d1.register(n, "Siti Rahayu", PAJANG, 1, 2);
    a.fields.phone = Some("081234567890".into());
    assert_eq!(outcomes(&push(s, &budi, d1.id(), &[a])), ["applied"]);
    let mut d2 = Dev::new(2);
    let mut b = d2.register(n, "Sitti Rahayoe", PAJANG, 1, 2);
    b.fields.phone = Some("085799887766".into());
    b.fields.occupation = Some("penjahit".into());
    assert_eq!(outcomes(&push(s, &rina, d2.id(), &[b])), ["merged"]);
    let before = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(s.conflicts(None).unwrap().len(), 1);

    x.set_clock(START + 60_000);
    let erased = s.erase_person(&nik_of(n), "admin", "PDP-2026-17").unwrap();
    assert!(erased.changes_scrubbed >= 2, "{erased:?}");
    assert_eq!(erased.conflicts_scrubbed, 1);
    log.add("erased", erased);
    let after = s.area_data(&area("33.72"), 2025, i32::MAX).unwrap();
    assert_eq!(area_data(&after), area_data(&before), "counted as before");
    let p = s.person(&nik_of(n), true).unwrap().unwrap();
    assert_eq!(p.fields.name.as_deref(), Some("[dihapus]"));
    assert!(p.covered);
    assert_eq!(p.history.as_ref().unwrap().last().unwrap().agent, "admin");
    let conflicts = s.conflicts(None).unwrap();
    let text = format!("{p:?} {conflicts:?} {:?}", s.review(None).unwrap());
    for gone in [
        "Siti",
        "Sitti",
        "Rahay",
        "081234567890",
        "085799887766",
        "penjahit",
    ] {
        assert!(!text.contains(gone), "{gone} is still held: {text}");
    }
    log.add("person", &p);
    log.add("conflicts", &conflicts);
    let feed = s.pull(None, 0, 100, None).unwrap();
    log.add("feed", page(s, &feed, &[n.to_string()]));
    let unknown = answer(s.erase_person(&nik_of(&nik("337201", 9)), "admin", "x"));
    assert_eq!(code_of(&unknown), "not_found", "{unknown}");
    log.add("unknown", unknown);
    // Erased twice: nothing more to scrub, still an answer.
    log.add(
        "again",
        answer(s.erase_person(&nik_of(n), "admin", "PDP-2026-17")),
    );
    log.add("verify", verified_clean(s));
    log
}

fn the_roll_is_imported_as_of_a_day(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let agent = token(s, "ani", Role::Agent, &["33.72.01"]);
    let (n0, n1, n2, n3) = (
        nik("337201", 0),
        nik("337201", 1),
        nik("337201", 2),
        nik("337201", 3),
    );
    let rows = [
        roll_row(&n0, PAJANG, Category::Pu),
        roll_row(&n1, LAWEYAN, Category::Jakon),
    ];
    let first = s
        .import_participants_as_of(&rows, date!(2024 - 12 - 31))
        .unwrap();
    assert_eq!((first.created, first.joined, first.unchanged), (2, 0, 0));
    log.add("first", first);
    let again = s
        .import_participants_as_of(&rows, date!(2024 - 12 - 31))
        .unwrap();
    assert_eq!((again.created, again.joined, again.unchanged), (0, 0, 2));
    log.add("again", again);
    // A later roll listing the same person keeps the earliest date.
    let later = s
        .import_participants_as_of(&rows[..1], date!(2025 - 01 - 05))
        .unwrap();
    log.add("later", later);

    // A person registered in the field, then listed; and the other way.
    let mut d = Dev::new(1);
    let r = push(s, &agent, d.id(), &[d.register(&n2, "Citra", PAJANG, 2, 2)]);
    assert_eq!(outcomes(&r), ["applied"]);
    let joined = s
        .import_participants_as_of(
            &[
                roll_row(&n2, PAJANG, Category::Pu),
                roll_row(&n3, PAJANG, Category::Bpu),
            ],
            date!(2025 - 06 - 30),
        )
        .unwrap();
    assert_eq!((joined.created, joined.joined), (1, 1));
    log.add("joined", joined);
    let r = push(s, &agent, d.id(), &[d.register(&n0, "Dani", PAJANG, 1, 1)]);
    assert_eq!(outcomes(&r), ["merged"]);
    log.add("registered a participant", &r);
    // A participant's field registration voided: still covered.
    let r = push(s, &agent, d.id(), &[d.void(&n0, "salah input")]);
    assert!(!outcomes(&r)[0].starts_with("rejected"), "{r:?}");
    log.add("voided a participant", &r);

    for n in [&n0, &n1, &n2, &n3] {
        let p = s.person(&nik_of(n), true).unwrap().unwrap();
        assert!(p.participant && p.covered, "{p:?}");
        log.add(&format!("person {n}"), &p);
    }
    // Counted by year: the persons covered by each year's end.
    for (year, through) in [(2024, 2024), (2025, 2025), (2026, i32::MAX)] {
        let d = s.area_data(&area("33.72.01"), year, through).unwrap();
        log.add(&format!("counters {year}"), area_data(&d));
    }
    let y2024 = s.area_data(&area("33.72.01"), 2024, 2024).unwrap();
    assert_eq!(covered(&y2024, "33.72.01").iter().sum::<u64>(), 2);
    let now = s.area_data(&area("33.72.01"), 2026, i32::MAX).unwrap();
    assert_eq!(covered(&now, "33.72.01").iter().sum::<u64>(), 4);
    let niks = [n0.clone(), n1.clone(), n2.clone(), n3.clone()];
    log.add("feed", page(s, &s.pull(None, 0, 100, None).unwrap(), &niks));
    log.add("verify", verified_clean(s));
    log
}

fn baselines_targets_and_counters_are_kept(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let baseline = |code: &str, year, n| Baseline {
        area: area(code),
        year,
        working_population: n,
    };
    let target = |bp, count| Target {
        percent: Percent(bp),
        count,
    };
    let g0 = s.data_generation().unwrap();
    s.set_baselines(&[
        baseline("33.72", 2025, 227_164),
        baseline(PAJANG, 2025, 9_000),
        baseline("33.72.01.1001/3/5", 2025, 40),
        baseline("33.71", 2025, 1),
        baseline(PAJANG, 2026, 9_100),
    ])
    .unwrap();
    let g1 = s.data_generation().unwrap();
    assert!(g1 > g0);
    // Replaced, not added; an empty set changes nothing.
    s.set_baselines(&[baseline(PAJANG, 2025, 9_500)]).unwrap();
    s.set_baselines(&[]).unwrap();
    s.set_target(&area("33.72"), 2025, target(5702, None))
        .unwrap();
    s.set_target(&area("33.72"), 2025, target(5800, Some(130_000)))
        .unwrap();
    s.set_target(&area("33.72.01.1001/3"), 2025, target(10_000, None))
        .unwrap();
    let g2 = s.data_generation().unwrap();
    assert!(g2 > g1);

    // Field registrations and roll rows in several areas and years.
    let agent = token(s, "ani", Role::Agent, &["33.72"]);
    let mut d = Dev::new(1);
    let mut changes = vec![
        d.register(&nik("337201", 0), "Ani", PAJANG, 3, 5),
        d.register(&nik("337201", 1), "Budi", PAJANG, 3, 6),
        d.register(&nik("337201", 2), "Citra", LAWEYAN, 1, 1),
        d.register(&nik("337202", 3), "Dewi", ELSEWHERE, 1, 1),
    ];
    let mut pu = d.register(&nik("337201", 4), "Eko", PAJANG, 3, 5);
    pu.fields.category = Some(Category::Pu);
    pu.fields.employer = Some("PT Batik Solo".into());
    pu.fields.programs = Some(sigap_shared::registration::parse_programs("jkk,jkm,jht").unwrap());
    changes.push(pu);
    let r = push(s, &agent, d.id(), &changes);
    assert!(outcomes(&r).iter().all(|o| o == "applied"), "{r:?}");
    let g3 = s.data_generation().unwrap();
    assert!(g3 > g2);
    s.import_participants_as_of(
        &[roll_row(&nik("337201", 5), PAJANG, Category::Pmi)],
        date!(2024 - 06 - 30),
    )
    .unwrap();
    assert!(s.data_generation().unwrap() > g3);

    for code in [
        "33",
        "33.72",
        "33.72.01",
        PAJANG,
        "33.72.01.1001/3",
        "33.72.01.1001/3/5",
        ELSEWHERE,
        "33.71",
    ] {
        for (year, through) in [(2024, 2024), (2025, 2025), (2025, i32::MAX), (2026, 0)] {
            let d = s.area_data(&area(code), year, through).unwrap();
            log.add(&format!("{code} {year} {through}"), area_data(&d));
        }
    }
    let d = s.area_data(&area("33.72"), 2025, 2025).unwrap();
    assert_eq!(d.baselines.get(&area(PAJANG)), Some(&9_500));
    assert_eq!(
        d.targets.get(&area("33.72")),
        Some(&target(5800, Some(130_000)))
    );
    assert_eq!(covered(&d, "33.72"), [1, 4, 0, 1]);
    assert_eq!(covered(&d, "33.72.01.1001/3/5"), [1, 1, 0, 0]);
    let report = s.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    assert_eq!(report.persons, 6);
    log.add("verify", report);
    log
}

fn the_review_list_follows_the_merged_records(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    let a1 = token(s, "agent-1", Role::Agent, &["33.72"]);
    let a2 = token(s, "agent-2", Role::Agent, &["33.72"]);
    let mut d1 = Dev::new(1);
    let mut d2 = Dev::new(2);
    let (n0, n1, n2) = (nik("337201", 0), nik("337201", 1), nik("337202", 2));
    // A partial record (an edit without its registration) in Pajang; a
    // PU without employer after two agents' writes; one elsewhere.
    let r = push(
        s,
        &a1,
        d1.id(),
        &[
            d1.edit(
                &n0,
                Fields {
                    name: Some("Separuh".into()),
                    kelurahan: Some(area(PAJANG)),
                    rw: Some(4),
                    rt: Some(4),
                    ..Fields::default()
                },
            ),
            d1.register(&n1, "Budi", PAJANG, 1, 1),
            d1.edit(
                &n2,
                Fields {
                    kelurahan: Some(area(ELSEWHERE)),
                    rw: Some(1),
                    rt: Some(1),
                    ..Fields::default()
                },
            ),
        ],
    );
    assert_eq!(outcomes(&r), ["applied"; 3]);
    d2.d.millis = d1.d.millis + 10_000;
    let r = push(
        s,
        &a2,
        d2.id(),
        &[d2.edit(
            &n1,
            Fields {
                category: Some(Category::Pu),
                ..Fields::default()
            },
        )],
    );
    log.add("category edit", &r);
    let all = s.review(None).unwrap();
    log.add("all", &all);
    let listed: Vec<&str> = all.iter().map(|r| r.nik.as_str()).collect();
    assert!(
        listed.contains(&n0.as_str()) && listed.contains(&n2.as_str()),
        "{all:?}"
    );
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "by NIK: {listed:?}");
    let pajang = s.review(Some(&[area(PAJANG)])).unwrap();
    assert!(pajang.iter().all(|r| r.kelurahan == Some(area(PAJANG))));
    log.add("pajang", &pajang);
    log.add("serengan", s.review(Some(&[area("33.72.02")])).unwrap());
    log.add("nowhere", s.review(Some(&[])).unwrap());
    log.add("kota", s.review(Some(&[area("33.72")])).unwrap());

    // Completed: off the list.
    let mut done = d1.register(&n0, "Separuh Lengkap", PAJANG, 4, 4);
    done.hlc.millis = d2.d.millis + 10_000;
    let r = push(s, &a1, d1.id(), &[done]);
    log.add("completed", &r);
    let after = s.review(None).unwrap();
    assert!(after.iter().all(|r| r.nik.as_str() != n0), "{after:?}");
    log.add("after", &after);
    log.add("verify", verified_clean(s));
    log
}

fn history_visits_and_activity_follow_the_days(x: &Subject<'_>) -> Log {
    let s = x.s;
    let mut log = Log::default();
    x.set_clock(DAY1);
    s.set_baselines(&[Baseline {
        area: area(PAJANG),
        year: 2026,
        working_population: 100,
    }])
    .unwrap();
    let ani = token(s, "ani", Role::Agent, &["33.72.01"]);
    let budi = token(s, "budi", Role::Agent, &["33.72.01"]);
    let mut da = Dev::new(1);
    let mut db = Dev::new(2);
    let shared = nik("337201", 7);
    let r = push(
        s,
        &ani,
        da.id(),
        &[
            da.register(&nik("337201", 1), "Ani", PAJANG, 1, 1),
            da.register(&nik("337201", 2), "Budi", PAJANG, 1, 2),
            da.register(&shared, "Sama", PAJANG, 2, 2),
        ],
    );
    assert_eq!(outcomes(&r), ["applied"; 3]);
    s.snapshot_coverage(false).unwrap();
    x.set_clock(DAY1 + DAY);
    db.d.millis = da.d.millis + 10_000;
    let r = push(
        s,
        &budi,
        db.id(),
        &[
            db.register(&nik("337201", 3), "Citra", PAJANG, 2, 1),
            db.register(&shared, "Sama Juga", PAJANG, 2, 2),
            db.void(&nik("337201", 3), "salah input"),
        ],
    );
    assert_eq!(outcomes(&r), ["applied", "merged", "applied"]);
    let mut bad = db.register(&nik("337201", 4), "Dedi", PAJANG, 2, 1);
    bad.fields.birth_date = Some(date!(1970 - 01 - 01));
    let r = push(s, &budi, db.id(), &[bad]);
    assert_eq!(outcomes(&r), ["rejected birth_date_mismatch"]);
    s.snapshot_coverage(false).unwrap();
    x.set_clock(DAY1 + 2 * DAY);
    s.snapshot_coverage(false).unwrap();
    let (from, to) = (date!(2026 - 11 - 30), date!(2026 - 12 - 03));
    let rows = s.coverage_history(&area(PAJANG), from, to).unwrap();
    log.add("pajang", history(&rows));
    let covered_by_day: Vec<u64> = rows
        .iter()
        .filter(|r| r.snapshot)
        .map(|r| r.by_category.iter().sum())
        .collect();
    assert_eq!(covered_by_day, [3, 3, 3], "{rows:?}");
    let day1 = rows
        .iter()
        .find(|r| r.day == date!(2026 - 12 - 01))
        .unwrap();
    assert_eq!(day1.registrations, 3, "{rows:?}");
    log.add(
        "kecamatan",
        history(&s.coverage_history(&area("33.72.01"), from, to).unwrap()),
    );
    log.add(
        "elsewhere",
        history(&s.coverage_history(&area("33.72.02"), from, to).unwrap()),
    );
    // A later write the same day is seen after a re-take.
    let r = push(
        s,
        &ani,
        da.id(),
        &[da.register(&nik("337201", 5), "Eka", PAJANG, 3, 1)],
    );
    assert_eq!(outcomes(&r), ["applied"]);
    s.snapshot_coverage(true).unwrap();
    let rows = s.coverage_history(&area(PAJANG), from, to).unwrap();
    assert_eq!(
        rows.last().unwrap().by_category.iter().sum::<u64>(),
        4,
        "{rows:?}"
    );
    log.add("re-taken", history(&rows));

    // Visits: stored once by id; only the device's own token's.
    let visit = |n: u128, rw, rt, at: i64| NewVisit {
        id: Uuid::from_u128(0x7000 + n),
        kelurahan: area(PAJANG),
        rw,
        rt,
        households: 3,
        note: (n == 1).then(|| "rumah kosong".to_string()),
        visited_at: at,
    };
    let visits = [visit(1, 1, 1, DAY1 + 1000), visit(2, 4, 5, DAY1 + DAY)];
    let first = s.add_visits(ani.id, "ani", da.id(), &visits).unwrap();
    assert_eq!(first, [true, true]);
    let again = s.add_visits(ani.id, "ani", da.id(), &visits).unwrap();
    assert_eq!(again, [false, false]);
    let stolen = answer(s.add_visits(budi.id, "budi", da.id(), &[visit(3, 1, 1, DAY1)]));
    assert_eq!(code_of(&stolen), "device_not_yours", "{stolen}");
    log.add("visits", (first, again, stolen));
    let b = s
        .add_visits(budi.id, "budi", db.id(), &[visit(4, 6, 6, DAY1 + DAY)])
        .unwrap();
    assert_eq!(b, [true]);

    let activity = s.activity(&area("33.72.01"), from, to).unwrap();
    let known: Vec<(String, u64)> = activity
        .known_rts
        .iter()
        .map(|(a, n)| (a.to_string(), *n))
        .collect();
    log.add(
        "activity",
        json!({"days": activity.days, "devices": activity.devices, "known_rts": known}),
    );
    let ani_days: Vec<_> = activity.days.iter().filter(|d| d.agent == "ani").collect();
    assert!(!ani_days.is_empty(), "{activity:?}");
    let budi_day = activity
        .days
        .iter()
        .find(|d| d.agent == "budi" && d.day == "2026-12-02")
        .unwrap();
    assert_eq!(
        (
            budi_day.registrations,
            budi_day.voids,
            budi_day.merged,
            budi_day.rejections
        ),
        (2, 1, 1, 1),
        "{activity:?}"
    );
    assert_eq!(activity.devices.len(), 2, "{activity:?}");
    let elsewhere = s.activity(&area("33.72.02"), from, to).unwrap();
    assert!(elsewhere.days.is_empty(), "{elsewhere:?}");
    log.add(
        "pace",
        (
            s.registrations_per_day(None, 0).unwrap(),
            s.registrations_per_day(Some(&[area("33.72.02")]), 0)
                .unwrap(),
            s.registrations_per_day(Some(&[area(PAJANG)]), DAY1 + DAY)
                .unwrap(),
        ),
    );
    log
}

/// The harness itself: a difference in a log fails the comparison, and
/// what may legitimately differ does not.
#[test]
fn the_comparison_sees_differences_and_ignores_what_may_differ() {
    let mut a = Log::default();
    let mut b = Log::default();
    a.add(
        "t",
        json!({"created_at": 1, "seq": 10, "next_cursor": 12, "change_id": "0190-x"}),
    );
    b.add(
        "t",
        json!({"created_at": 2, "seq": 20, "next_cursor": 25, "change_id": "0191-y"}),
    );
    assert_same(&a, &b);
    let mut c = Log::default();
    c.add(
        "t",
        json!({"created_at": 2, "seq": 26, "next_cursor": 25, "change_id": "0191-y"}),
    );
    let differs = std::panic::catch_unwind(|| assert_same(&a, &c));
    assert!(
        differs.is_err(),
        "a feed number out of order is a difference"
    );
    let mut d = Log::default();
    d.add(
        "t",
        json!({"created_at": 1, "seq": 10, "next_cursor": 12, "change_id": "c0000000-1"}),
    );
    assert!(std::panic::catch_unwind(|| assert_same(&a, &d)).is_err());
    // The server's own writes are stamped by the wall clock.
    let server = |millis: u64| {
        let stamp = format!("{millis:016}-0000000000{SERVER_STAMP}");
        let mut log = Log::default();
        log.add(
            "w",
            json!({"stamps": {stamp.clone(): ["rt"], "0001764000001000-0000000000-d0": ["name"]},
                   "history": [{"device_id": &SERVER_STAMP[1..], "received_at": millis, "hlc": stamp}]}),
        );
        log
    };
    assert_same(&server(1_795_968_007_803), &server(1_795_968_007_668));
}
