//! Merge throughput on a realistic mix of changes (issue 16), beside the
//! new-persons-only push of the same size measured in the same run.
//!
//! One device A pushes `rows` changes, in blocks of 20: 12 registrations
//! of new persons (60 %), 4 edits of persons A registered earlier in the
//! stream (20 %: a phone and occupation, or a move to another RT),
//! 2 registrations of persons device B already holds (10 %: merges, every
//! other one under another name, which opens an identity conflict),
//! 1 void of a person A registered (5 %), and 1 edit of a person whose
//! identity conflict between A and B a supervisor has resolved (5 %: a
//! phone, or the resolved name written again).
//!
//! Set-up, before the clock starts: B registers the persons of the merges
//! and of the resolutions; A registers the latter under another name
//! (one conflict each); the supervisor resolves every conflict through
//! `POST /api/v1/conflicts/{id}/resolve`. The timed part pushes the
//! mixed stream exactly as the new-persons row does: pages of
//! `MAX_PUSH_CHANGES`, two in flight.
//!
//! Checked after: every change's answer is the one its kind must get
//! (`applied`, or `merged` for another source's person), the persons,
//! voided persons, open and resolved conflicts and covered count are
//! what the generator made, a sample of each kind reads back as written,
//! A's receipt counts its whole log, and `coverage verify` is clean.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sigap_shared::merge::Fields;
use sigap_shared::wire::{ChangeKind, MAX_PUSH_CHANGES, PROTOCOL_HEADER, PROTOCOL_VERSION};
use sigap_shared::{Change, HlcClock, Status};
use uuid::Uuid;

use super::common::{self, Pushed, assert_outcomes, db_count, outcome_name, verify_clean};
use super::{Row, Scale, per_sec, row};
use crate::measure::secs;
use crate::people::{change, person};
use crate::procs::Server;

/// Changes per block of the stream, and how many of each kind a block
/// holds.
const BLOCK: u64 = 20;
const NEW: u64 = 12;
const OWN_EDITS: u64 = 4;
const MERGES: u64 = 2;
const VOIDS: u64 = 1;
const AFTER_RESOLUTION: u64 = 1;

/// What a change of the stream is, for the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    New,
    OwnEdit,
    Merge,
    MergeConflict,
    Void,
    AfterResolution,
}

impl Kind {
    /// The answer the server must give.
    fn expected(self) -> &'static str {
        match self {
            Kind::New | Kind::OwnEdit | Kind::Void => "applied",
            Kind::Merge | Kind::MergeConflict | Kind::AfterResolution => "merged",
        }
    }
}

/// The name device A gives a person it disagrees with B about.
fn other_name(n: u64) -> String {
    format!("{} Lain", person(n).name)
}

fn nik(n: u64) -> sigap_shared::Nik {
    sigap_shared::Nik::parse(&person(n).nik).expect("valid NIK")
}

/// A change of person `n` by `device`, its `seq`-th, stamped by `clock`.
fn write(
    n: u64,
    device: Uuid,
    seq: u64,
    clock: &mut HlcClock,
    kind: ChangeKind,
    fields: Fields,
) -> Change {
    Change {
        id: Uuid::now_v7(),
        device_id: device,
        device_seq: seq,
        nik: nik(n),
        hlc: clock.now(),
        kind,
        fields,
    }
}

/// A registration of person `n`, under `name` if given.
fn register(n: u64, device: Uuid, seq: u64, clock: &mut HlcClock, name: Option<String>) -> Change {
    let mut c = change(n, device, seq);
    c.hlc = clock.now();
    if let Some(name) = name {
        c.fields.name = Some(name);
    }
    c
}

/// Where the generator put its persons (person numbers).
struct Plan {
    blocks: u64,
    /// A's new persons: `0..new`.
    new: u64,
    /// Persons B holds whom A registers in the stream.
    merge_base: u64,
    /// Persons of the resolved conflicts.
    resolved_base: u64,
}

impl Plan {
    fn new(rows: u64) -> Plan {
        let blocks = (rows / BLOCK).max(1);
        Plan {
            blocks,
            new: NEW * blocks,
            merge_base: NEW * blocks,
            resolved_base: (NEW + MERGES) * blocks,
        }
    }
    fn changes(&self) -> u64 {
        self.blocks * BLOCK
    }
    fn merges(&self) -> u64 {
        self.blocks * MERGES
    }
    fn resolved(&self) -> u64 {
        self.blocks * AFTER_RESOLUTION
    }
    fn voids(&self) -> u64 {
        self.blocks * VOIDS
    }
    /// The new person edited by A's `j`-th own edit (registered earlier
    /// in the same block).
    fn edited(j: u64) -> u64 {
        3 * j
    }
    /// The new person voided by the void of block `b`.
    fn voided(b: u64) -> u64 {
        NEW * b + 10
    }
}

/// The timed stream, from A's number `first_seq` on, with each change's
/// kind by id.
fn stream(
    plan: &Plan,
    device: Uuid,
    first_seq: u64,
    clock: &mut HlcClock,
) -> (Vec<Change>, HashMap<Uuid, Kind>) {
    let mut out = Vec::with_capacity(plan.changes() as usize);
    let mut kinds = HashMap::with_capacity(plan.changes() as usize);
    let mut seq = first_seq;
    let mut push = |c: Change, k: Kind, out: &mut Vec<Change>| {
        kinds.insert(c.id, k);
        out.push(c);
    };
    for b in 0..plan.blocks {
        for i in 0..NEW {
            let c = register(NEW * b + i, device, seq, clock, None);
            seq += 1;
            push(c, Kind::New, &mut out);
        }
        for e in 0..OWN_EDITS {
            let j = OWN_EDITS * b + e;
            let n = Plan::edited(j);
            let fields = if j.is_multiple_of(2) {
                Fields {
                    phone: Some(format!("0812{:08}", j % 100_000_000)),
                    occupation: Some("penjahit".into()),
                    ..Fields::default()
                }
            } else {
                // A move to the next RT of the same RW: the coverage
                // counters of two RTs change, the totals do not.
                Fields {
                    rt: Some(person(n).rt % 13 + 1),
                    ..Fields::default()
                }
            };
            let c = write(n, device, seq, clock, ChangeKind::Edit, fields);
            seq += 1;
            push(c, Kind::OwnEdit, &mut out);
        }
        for m in 0..MERGES {
            let j = MERGES * b + m;
            let n = plan.merge_base + j;
            let (name, kind) = if !j.is_multiple_of(2) {
                (Some(other_name(n)), Kind::MergeConflict)
            } else {
                (None, Kind::Merge)
            };
            let c = register(n, device, seq, clock, name);
            seq += 1;
            push(c, kind, &mut out);
        }
        for _ in 0..VOIDS {
            let fields = Fields {
                status: Some(Status::Void),
                void_reason: Some("terdaftar ganda".into()),
                ..Fields::default()
            };
            let c = write(
                Plan::voided(b),
                device,
                seq,
                clock,
                ChangeKind::Void,
                fields,
            );
            seq += 1;
            push(c, Kind::Void, &mut out);
        }
        for _ in 0..AFTER_RESOLUTION {
            let j = b;
            let n = plan.resolved_base + j;
            let fields = if j.is_multiple_of(2) {
                Fields {
                    phone: Some(format!("0857{:08}", j % 100_000_000)),
                    ..Fields::default()
                }
            } else {
                // The name the supervisor chose, now written by A too.
                Fields {
                    name: Some(person(n).name),
                    ..Fields::default()
                }
            };
            let c = write(n, device, seq, clock, ChangeKind::Edit, fields);
            seq += 1;
            push(c, Kind::AfterResolution, &mut out);
        }
    }
    (out, kinds)
}

/// The conflicts a supervisor sees with `status`.
fn conflicts(server: &Server, sup: &str, status: &str) -> Vec<Value> {
    let (code, body) = server.get(sup, &format!("/api/v1/conflicts?status={status}"));
    assert_eq!(code, 200, "conflicts: {body}");
    body["conflicts"].as_array().cloned().unwrap_or_default()
}

/// The merged person as a supervisor reads it.
fn person_fields(server: &Server, sup: &str, n: u64) -> Value {
    let (code, body) = server.get(sup, &format!("/api/v1/persons/{}", person(n).nik));
    assert_eq!(code, 200, "person {n}: {body}");
    body["fields"].clone()
}

/// Resolves every open conflict with B's name (the supervisor checked the
/// KTP), through the API.
fn resolve_all(server: &Server, sup: &str, plan: &Plan) {
    let open = conflicts(server, sup, "open");
    assert_eq!(
        open.len() as u64,
        plan.resolved(),
        "set-up: one open conflict per person A and B disagree on"
    );
    let by_nik: HashMap<String, u64> = (0..plan.resolved())
        .map(|j| (person(plan.resolved_base + j).nik, plan.resolved_base + j))
        .collect();
    let client = reqwest::blocking::Client::new();
    for c in &open {
        let id = c["id"].as_i64().expect("conflict id");
        let nik = c["nik"].as_str().unwrap_or_default();
        let n = *by_nik
            .get(nik)
            .unwrap_or_else(|| panic!("a conflict nobody made: {c}"));
        let resp = client
            .post(format!("{}/api/v1/conflicts/{id}/resolve", server.url()))
            .bearer_auth(sup)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .json(&json!({"fields": {"name": person(n).name}, "note": "KTP diperiksa"}))
            .send()
            .expect("resolve");
        assert!(
            resp.status().is_success(),
            "resolve {id}: {}",
            resp.text().unwrap_or_default()
        );
    }
    assert!(
        conflicts(server, sup, "open").is_empty(),
        "set-up: conflicts left open after resolving them all"
    );
}

/// Counts the answers per kind of change and checks each is the one its
/// kind must get.
fn check_answers(pushed: &Pushed, kinds: &HashMap<Uuid, Kind>) {
    assert_eq!(
        pushed.results.len(),
        kinds.len(),
        "one answer per change pushed"
    );
    let mut wrong: HashMap<(Kind, String), u64> = HashMap::new();
    for r in &pushed.results {
        let kind = *kinds
            .get(&r.id)
            .unwrap_or_else(|| panic!("an answer for a change never sent: {r:?}"));
        let got = outcome_name(&r.outcome);
        if got != kind.expected() {
            *wrong.entry((kind, got)).or_insert(0) += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "realistic mix: changes answered otherwise than their kind must be: {wrong:?}"
    );
}

/// The realistic-mix row, beside `new_only` (the same number of new
/// registrations pushed the same way in the same run).
pub fn realistic_mix(scale: Scale, new_only: Duration, log: &mut dyn FnMut(&str)) -> Row {
    let plan = Plan::new(scale.rows);
    let total = plan.changes();
    let server = Server::start();
    let tok_a = server.token("agent", "mix-a", &["33.72"]);
    let tok_b = server.token("agent", "mix-b", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let (dev_a, dev_b) = (Uuid::now_v7(), Uuid::now_v7());
    let url = server.url();

    // Set-up (not timed). B holds the merges' and the resolutions'
    // persons.
    let setup = Instant::now();
    let mut clock_b = HlcClock::new(dev_b);
    let held: Vec<Change> = (0..plan.merges() + plan.resolved())
        .map(|k| register(plan.merge_base + k, dev_b, k + 1, &mut clock_b, None))
        .collect();
    let b = common::push_changes(&url, &tok_b, held, MAX_PUSH_CHANGES, 2);
    assert_outcomes(
        "set-up, B's registrations",
        &b,
        &[("applied", plan.merges() + plan.resolved())],
    );
    // A disagrees with B about the resolutions' persons: one conflict each.
    let mut clock_a = HlcClock::new(dev_a);
    let disagreeing: Vec<Change> = (0..plan.resolved())
        .map(|j| {
            let n = plan.resolved_base + j;
            register(n, dev_a, j + 1, &mut clock_a, Some(other_name(n)))
        })
        .collect();
    let a = common::push_changes(&url, &tok_a, disagreeing, MAX_PUSH_CHANGES, 2);
    assert_outcomes(
        "set-up, A's disagreeing registrations",
        &a,
        &[("merged", plan.resolved())],
    );
    resolve_all(&server, &sup, &plan);
    // A's stream is stamped after every resolution.
    std::thread::sleep(Duration::from_millis(20));
    let (changes, kinds) = stream(&plan, dev_a, plan.resolved() + 1, &mut clock_a);
    log(&format!(
        "  realistic mix: set-up (B's {} registrations, {} conflicts made and resolved) {}",
        plan.merges() + plan.resolved(),
        plan.resolved(),
        secs(setup.elapsed())
    ));

    // The timed part: pushed exactly as the new-persons row pushes.
    let pushed = common::push_changes(&url, &tok_a, changes, MAX_PUSH_CHANGES, 2);
    let took = pushed.wall;

    // Checks.
    check_answers(&pushed, &kinds);
    let receipt = pushed.last_receipt().expect("a receipt");
    assert_eq!(
        (receipt.count, receipt.highest_seq),
        (plan.resolved() + total, plan.resolved() + total),
        "A's receipt does not count its whole log"
    );
    let persons = plan.new + plan.merges() + plan.resolved();
    let voided = plan.voids();
    let db = server.db();
    assert_eq!(
        db_count(&db, "SELECT count(*) FROM persons"),
        persons,
        "persons held"
    );
    assert_eq!(
        db_count(
            &db,
            "SELECT count(*) FROM persons WHERE json_extract(record, '$.fields.status') = 'void'"
        ),
        voided,
        "voided persons"
    );
    let open = conflicts(&server, &sup, "open").len() as u64;
    let resolved = conflicts(&server, &sup, "resolved").len() as u64;
    assert_eq!(
        (open, resolved),
        (plan.merges() / 2, plan.resolved()),
        "open and resolved conflicts"
    );
    assert_eq!(
        common::covered(&server, &sup),
        persons - voided,
        "covered after the mix"
    );
    // One person of each kind reads back as written.
    let edited_phone = person_fields(&server, &sup, Plan::edited(0));
    assert_eq!(edited_phone["phone"], "081200000000", "{edited_phone}");
    let moved = person_fields(&server, &sup, Plan::edited(1));
    assert_eq!(
        moved["rt"].as_u64(),
        Some(u64::from(person(Plan::edited(1)).rt % 13 + 1)),
        "{moved}"
    );
    let void = person_fields(&server, &sup, Plan::voided(0));
    assert_eq!(void["status"], "void", "{void}");
    let conflicting = plan.merge_base + 1;
    let named = person_fields(&server, &sup, conflicting);
    assert_eq!(named["name"], other_name(conflicting).as_str(), "{named}");
    if plan.resolved() > 1 {
        let n = plan.resolved_base + 1;
        let after = person_fields(&server, &sup, n);
        assert_eq!(after["name"], person(n).name.as_str(), "{after}");
    }
    verify_clean(&server);

    let rate = per_sec(total, took);
    let new_rate = per_sec(total, new_only);
    row(
        &format!(
            "merge throughput, realistic mix of {total} changes (60% new persons, 20% edits of the device's own, 10% registrations of persons another device holds, half of them conflicting, 5% voids, 5% edits after a supervisor's resolution; HTTP push, pages of 10,000, two in flight)"
        ),
        format!(
            "{rate:.0} changes/s ({total} in {}; push p99 {}); checked: every answer, {persons} persons, {voided} voided, {open} conflicts opened, {resolved} resolved, `coverage verify` clean",
            secs(took),
            crate::measure::ms(crate::measure::percentile(&pushed.latencies, 99.0))
        ),
        format!(
            "new persons only, same run: {new_rate:.0} changes/s ({})",
            secs(new_only)
        ),
        format!("{:.2}× the new-persons rate", rate / new_rate.max(1e-9)),
        "≥ 100,000 changes/s",
        Some(rate >= 100_000.0),
    )
}
