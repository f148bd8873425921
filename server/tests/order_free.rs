#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Whatever order the same changes arrive in, the server ends with the
//! same persons, counters, open conflicts and review list: a property test
//! over random sets of registrations, edits and voids from several
//! devices, membership-roll rows and supervisors' resolutions.

mod common;

use std::collections::{BTreeMap, VecDeque};

use common::registration_fields;
use proptest::prelude::*;
use sigap_server::store::{NewToken, Pusher, Role, RollRow, SqliteStore, Store};
use sigap_shared::merge::Fields;
use sigap_shared::registration::parse_programs;
use sigap_shared::wire::{Change, ChangeKind, Outcome, PushRequest};
use sigap_shared::{AreaCode, Category, Hlc, Nik, Status};
use uuid::Uuid;

const NIKS: [&str; 3] = ["3372011203850001", "3372015204900002", "3372011505800003"];
const KELS: [&str; 2] = ["33.72.01.1001", "33.72.01.1002"];
const NAMES: [&str; 3] = ["Budi", "Budi Santoso", "Agus"];
const BASE: u64 = 1_764_000_000_000;

/// One thing that reaches the server.
#[derive(Debug, Clone)]
enum Event {
    /// A device's change; `device` indexes the test's devices.
    Push {
        device: usize,
        change: Change,
    },
    /// The n-th roll import: imports are an admin's acts one after the
    /// other (a later import wins), so they keep their order.
    Roll(usize, RollRow),
    Resolve {
        nik: Nik,
        fields: Fields,
        hlc: Hlc,
    },
}

/// What one device does, before numbering and stamping.
#[derive(Debug, Clone)]
enum Op {
    Register {
        nik: usize,
        name: usize,
        kel: usize,
        rt: u16,
        pu: bool,
    },
    Edit(usize, Fields),
    Void(usize),
}

fn arb_edit() -> impl Strategy<Value = Fields> {
    (
        proptest::option::of(0..NAMES.len()),
        proptest::option::of(prop_oneof!["ojek", "pedagang"].prop_map(String::from)),
        proptest::option::of(prop_oneof![Just(Category::Pu), Just(Category::Bpu)]),
        proptest::option::of(prop_oneof!["", "PT Batik Solo"].prop_map(String::from)),
        proptest::option::of(1u16..4),
        proptest::option::of(0..KELS.len()),
        any::<bool>(),
    )
        .prop_map(
            |(name, occupation, category, employer, rt, kel, revive)| Fields {
                name: name.map(|i| NAMES[i].to_string()),
                occupation,
                category,
                employer,
                rt,
                kelurahan: kel.map(|i| AreaCode::parse(KELS[i]).unwrap()),
                status: revive.then_some(Status::Registered),
                ..Fields::default()
            },
        )
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..NIKS.len(), 0..NAMES.len(), 0..KELS.len(), 1u16..4, any::<bool>())
            .prop_map(|(nik, name, kel, rt, pu)| Op::Register { nik, name, kel, rt, pu }),
        3 => (0..NIKS.len(), arb_edit()).prop_map(|(n, f)| Op::Edit(n, f)),
        1 => (0..NIKS.len()).prop_map(Op::Void),
    ]
}

/// The events of a scenario: each device's ops numbered and stamped in
/// its order (clocks of different devices interleave and may tie), roll
/// rows and resolutions.
fn arb_events() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(proptest::collection::vec((arb_op(), 0u64..3), 0..6), 3),
        proptest::collection::vec((0..NIKS.len(), 0..KELS.len(), any::<bool>()), 0..3),
        proptest::collection::vec((0..NIKS.len(), 0..NAMES.len(), 0u64..12), 0..3),
    )
        .prop_map(|(devices, roll, resolutions)| {
            let mut events = Vec::new();
            for (d, ops) in devices.into_iter().enumerate() {
                let device = Uuid::from_u128(0x1000 + d as u128);
                let mut millis = BASE;
                for (seq, (op, step)) in ops.into_iter().enumerate() {
                    millis += step;
                    let (nik, kind, fields) = match op {
                        Op::Register {
                            nik,
                            name,
                            kel,
                            rt,
                            pu,
                        } => {
                            let mut f =
                                registration_fields(NIKS[nik], NAMES[name], KELS[kel], 1, rt);
                            if pu {
                                f.category = Some(Category::Pu);
                                f.employer = Some("PT Batik Solo".into());
                                f.programs = Some(parse_programs("jkk,jkm,jht").unwrap());
                            }
                            (nik, ChangeKind::Register, f)
                        }
                        Op::Edit(nik, f) => (nik, ChangeKind::Edit, f),
                        Op::Void(nik) => (
                            nik,
                            ChangeKind::Void,
                            Fields {
                                status: Some(Status::Void),
                                void_reason: Some("duplicate form".into()),
                                ..Fields::default()
                            },
                        ),
                    };
                    // A device never issues the same stamp twice.
                    let hlc = Hlc {
                        millis,
                        counter: seq as u32,
                        device,
                    };
                    let id = Uuid::from_u128((0x1000 + d as u128) << 64 | seq as u128);
                    events.push(Event::Push {
                        device: d,
                        change: Change {
                            id,
                            device_id: device,
                            device_seq: seq as u64 + 1,
                            nik: Nik::parse(NIKS[nik]).unwrap(),
                            hlc,
                            kind,
                            fields,
                        },
                    });
                }
            }
            for (n, (nik, kel, pu)) in roll.into_iter().enumerate() {
                events.push(Event::Roll(
                    n,
                    RollRow {
                        nik: Nik::parse(NIKS[nik]).unwrap(),
                        kelurahan: AreaCode::parse(KELS[kel]).unwrap(),
                        rw: 1,
                        rt: 1,
                        category: if pu { Category::Pu } else { Category::Bpu },
                    },
                ));
            }
            for (nik, name, step) in resolutions {
                events.push(Event::Resolve {
                    nik: Nik::parse(NIKS[nik]).unwrap(),
                    fields: Fields {
                        name: Some(NAMES[name].to_string()),
                        ..Fields::default()
                    },
                    hlc: Hlc {
                        millis: BASE + step,
                        counter: 0,
                        device: Uuid::max(),
                    },
                });
            }
            events
        })
}

/// Everything a supervisor's figures rest on, in comparable form.
#[derive(Debug, PartialEq)]
struct Outcome_ {
    persons: BTreeMap<String, serde_json::Value>,
    counters: Vec<(String, [u64; 4])>,
    conflicts: Vec<serde_json::Value>,
    review: serde_json::Value,
}

/// Delivers `events` in the given order, as devices would: a change
/// answered `pending` is sent again after the others, until all are held.
fn run(events: &[Event]) -> Outcome_ {
    let dir = tempfile::tempdir().unwrap();
    run_on(
        &SqliteStore::open(&dir.path().join("s.db")).unwrap(),
        events,
    )
}

/// [`run`] on a given store.
fn run_on(store: &dyn Store, events: &[Event]) -> Outcome_ {
    let tokens: Vec<i64> = (0..3)
        .map(|i| {
            store
                .create_token(&NewToken {
                    name: format!("agent-{i}"),
                    role: Role::Agent,
                    areas: vec![AreaCode::parse("33.72").unwrap()],
                    hash: format!("hash-{i}"),
                    expires_at: None,
                })
                .unwrap()
                .id
        })
        .collect();
    let areas = [AreaCode::parse("33.72").unwrap()];
    let mut queue: VecDeque<Event> = events.iter().cloned().collect();
    let mut waited = 0;
    let mut next_roll = 0;
    while let Some(e) = queue.pop_front() {
        match &e {
            Event::Push { device, change } => {
                let name = format!("agent-{device}");
                let by = Pusher {
                    token_id: tokens[*device],
                    token_name: &name,
                    areas: Some(&areas),
                    max_skew_millis: u64::MAX / 4,
                    // Each change is its own push here: one that comes
                    // before its device's earlier ones is answered at once.
                    gap_wait: std::time::Duration::ZERO,
                };
                let req = PushRequest {
                    protocol: sigap_shared::PROTOCOL_VERSION,
                    device_id: change.device_id,
                    changes: vec![change.clone()],
                    pending: None,
                };
                let resp = store.push(&by, &req).unwrap();
                if resp.results[0].outcome == Outcome::Pending {
                    waited += 1;
                    assert!(waited < 10_000, "a change never stopped waiting");
                    queue.push_back(e);
                }
            }
            Event::Roll(n, row) => {
                if *n == next_roll {
                    store
                        .import_participants(std::slice::from_ref(row))
                        .unwrap();
                    next_roll += 1;
                } else {
                    queue.push_back(e);
                }
            }
            Event::Resolve { nik, fields, hlc } => {
                // A resolution of a person the server does not hold yet
                // waits, as a supervisor could not have made it; one of a
                // person no change ever creates is never made.
                if store.person(nik, false).unwrap().is_none() {
                    let only_resolutions = queue.iter().all(|e| matches!(e, Event::Resolve { .. }));
                    if !only_resolutions {
                        queue.push_back(e);
                    }
                } else {
                    store.resolve_at(nik, fields, *hlc, "sari").unwrap();
                }
            }
        }
    }
    let verify = store.verify_counters().unwrap();
    assert!(verify.differences.is_empty(), "{verify:?}");
    let mut persons = BTreeMap::new();
    for n in NIKS {
        if let Some(p) = store.person(&Nik::parse(n).unwrap(), false).unwrap() {
            persons.insert(
                n.to_string(),
                serde_json::json!({
                    "fields": p.fields, "stamps": field_stamps(&p.stamps),
                    "participant": p.participant,
                    "covered": p.covered, "registered_by": p.registered_by,
                    "registered_at": p.registered_at,
                }),
            );
        }
    }
    let data = store
        // Everyone covered now, whatever year their coverage started.
        .area_data(&AreaCode::parse("33.72").unwrap(), 2025, i32::MAX)
        .unwrap();
    let mut counters: Vec<(String, [u64; 4])> = data
        .counters
        .into_iter()
        .filter(|(_, c)| c.iter().any(|n| *n > 0))
        .map(|(a, c)| (a.to_string(), c))
        .collect();
    counters.sort();
    // Listed newest first; which was opened first depends on arrival.
    let mut conflicts: Vec<serde_json::Value> = store
        .conflicts(Some("open"))
        .unwrap()
        .into_iter()
        .map(|c| serde_json::json!([c.nik, c.fields, c.existing, c.incoming, c.change_id]))
        .collect();
    conflicts.sort_by_key(|c| c[0].to_string());
    let review = serde_json::to_value(store.review(None).unwrap()).unwrap();
    Outcome_ {
        persons,
        counters,
        conflicts,
        review,
    }
}

/// The stamps as compared. A roll stamp's counter is the number of the
/// import that last wrote the field; an import that changes no value is
/// not saved, so the counter may be an earlier import's. Roll stamps only
/// order against later imports (always higher), so which import it was
/// cannot change any value: compared as "the roll".
fn field_stamps(stamps: &serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (hlc, fields) in stamps.as_object().unwrap() {
        let key = if hlc.ends_with("-00000000-0000-0000-0000-000000000000") {
            "roll".to_string()
        } else {
            hlc.clone()
        };
        let entry = out.entry(key).or_insert_with(|| serde_json::json!([]));
        let list = entry.as_array_mut().unwrap();
        list.extend(fields.as_array().unwrap().iter().cloned());
        list.sort_by_key(|v| v.to_string());
    }
    serde_json::Value::Object(out)
}

fn shuffled(events: &[Event], seed: u64) -> Vec<Event> {
    let mut out = events.to_vec();
    let mut s = seed;
    for i in (1..out.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.swap(i, (s >> 33) as usize % (i + 1));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_arrival_order_gives_the_same_state(events in arb_events(), seeds in proptest::array::uniform2(any::<u64>())) {
        let reference = run(&events);
        let mut reversed = events.clone();
        reversed.reverse();
        prop_assert_eq!(&run(&reversed), &reference, "reversed");
        for seed in seeds {
            prop_assert_eq!(&run(&shuffled(&events, seed)), &reference, "seed {}", seed);
        }
    }
}

proptest! {
    // Each case makes a PostgreSQL schema: fewer cases, the same property.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// PostgreSQL ends where SQLite ends, whatever the order.
    #[test]
    fn postgres_ends_where_sqlite_ends(events in arb_events(), seed in any::<u64>()) {
        // A schema of its own, dropped after the case.
        let Some(pg) = common::PgTestStore::new() else { return Ok(()) };
        let reference = run(&events);
        prop_assert_eq!(&run_on(&pg.store, &shuffled(&events, seed)), &reference, "seed {}", seed);
    }
}
