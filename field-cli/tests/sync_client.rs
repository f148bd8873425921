#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use common::fake_server::{FakeServer, Request};
use common::*;
use serde_json::json;
use sigap_shared::wire::{
    ChangeResult, DeviceStatus, PersonState, PullPage, PushRequest, PushResponse, Receipt,
    ReceiptHash,
};
use sigap_shared::{Field, Nik, Outcome, ReplicaKey};
use uuid::Uuid;

/// The fake deployment's replica key.
const KEY: ReplicaKey = ReplicaKey::from_bytes([9; 32]);

/// The server's allowed clock skew: changes stamped further ahead of its
/// clock are refused (`clock_ahead`) and not held.
const MAX_AHEAD_MS: i64 = 24 * 3600 * 1000;

/// A fake server that follows protocol 3's push rules for one device: a
/// device's changes are held in number order (later ones wait as
/// `pending`), a stamp far ahead of its clock is refused without being
/// held, NIKs in `reject` are rejected (held), NIKs in `supersede` are
/// answered `superseded`. It serves `persons` on pull and binds the device
/// to the first token that uses it.
#[derive(Default)]
struct State {
    held: BTreeMap<u64, Uuid>,
    /// Where each held id is, and the answer given for it.
    ids: HashMap<Uuid, (u64, Outcome)>,
    reject: HashSet<String>,
    supersede: HashMap<String, (Vec<Field>, Vec<String>)>,
    persons: Vec<PersonState>,
    fail_next: usize,
    /// The server's clock, in seconds from the real time (see `set_clock`).
    clock_offset_secs: i64,
    /// Drop the push of the earliest unheld page until a later page has
    /// been answered: the server receives page 2 before page 1.
    reorder: bool,
    owner: Option<String>,
    /// Another replica key than [`KEY`] (another deployment).
    key: Option<ReplicaKey>,
    /// Pull pages of at most this many persons (all of them without).
    page_size: Option<usize>,
    /// Pulls from this cursor on fail with 503 (a connection lost halfway).
    cut_pull_at: Option<u64>,
    /// The first pull from this cursor on is answered this late (a
    /// connection that stalls).
    slow_pull_at: Option<(u64, std::time::Duration)>,
    /// What the pull answers' `x-sigap-pull-next` header says.
    pull_header: PullHeader,
    /// The last pull page's next cursor and `has_more`.
    last_page: Option<(u64, bool)>,
}

/// The next-cursor header of the fake's pull answers.
#[derive(Default, Clone, Copy, PartialEq)]
enum PullHeader {
    /// What the body says, as `sigap-server` sends it.
    #[default]
    Agrees,
    /// None: a server older than the header.
    Absent,
    /// From this cursor on, a next cursor one past the body's.
    WrongFrom(u64),
}

/// The answer to `GET /api/v1/sync/device/{id}/key`.
fn key_answer(key: &Option<ReplicaKey>) -> String {
    json!({"protocol": sigap_shared::PROTOCOL_VERSION,
        "key": key.as_ref().unwrap_or(&KEY).to_hex()})
    .to_string()
}

/// Sets the fake server's clock, in its `Date` header and in its checks.
fn set_clock(server: &FakeServer, state: &Arc<Mutex<State>>, offset_secs: i64) {
    server.set_clock_offset(offset_secs);
    state.lock().unwrap().clock_offset_secs = offset_secs;
}

/// Numbers held without a gap from 1.
fn highest(st: &State) -> u64 {
    let mut h = 0;
    while st.held.contains_key(&(h + 1)) {
        h += 1;
    }
    h
}

fn receipt(st: &State, device: Uuid) -> Receipt {
    Receipt {
        device_id: device,
        count: st.held.len() as u64,
        highest_seq: highest(st),
        max_seq: st.held.keys().last().copied().unwrap_or(0),
        hash: ReceiptHash::of(st.held.values()).to_hex(),
    }
}

fn query(path: &str, name: &str) -> Option<u64> {
    let q = path.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

fn push(st: &mut State, push: &PushRequest) -> Option<PushResponse> {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp() + st.clock_offset_secs) * 1000;
    let first = push.changes.first().map(|c| c.device_seq).unwrap_or(0);
    if st.reorder {
        if first == highest(st) + 1 {
            return None;
        }
        st.reorder = false;
    }
    let mut results = Vec::new();
    let mut highest = highest(st);
    for c in &push.changes {
        let not_held = |code: &str| Outcome::Rejected {
            code: code.into(),
            reason: format!("{code} (fake server)"),
        };
        let outcome = if let Some((seq, answer)) = st.ids.get(&c.id) {
            match answer {
                _ if *seq != c.device_seq => not_held("id_reused"),
                Outcome::Rejected { .. } => answer.clone(),
                _ => Outcome::Duplicate,
            }
        } else if st.held.contains_key(&c.device_seq) {
            not_held("seq_conflict")
        } else if c.device_seq != highest + 1 {
            Outcome::Pending
        } else if i64::try_from(c.hlc.millis).unwrap() > now_ms + MAX_AHEAD_MS {
            Outcome::Rejected {
                code: "clock_ahead".into(),
                reason: "the change is stamped 3652 days ahead of the server's clock; fix the laptop's clock".into(),
            }
        } else {
            let outcome = if st.reject.contains(c.nik.as_str()) {
                Outcome::Rejected {
                    code: "area_not_assigned".into(),
                    reason: "kelurahan 33.72.01.1001 is not in your areas".into(),
                }
            } else if let Some((fields, by)) = st.supersede.get(c.nik.as_str()) {
                Outcome::Superseded {
                    fields: fields.clone(),
                    by: by.clone(),
                }
            } else {
                Outcome::Applied
            };
            st.held.insert(c.device_seq, c.id);
            st.ids.insert(c.id, (c.device_seq, outcome.clone()));
            while st.held.contains_key(&(highest + 1)) {
                highest += 1;
            }
            outcome
        };
        results.push(ChangeResult {
            id: c.id,
            device_seq: c.device_seq,
            outcome,
        });
    }
    Some(PushResponse {
        protocol: sigap_shared::PROTOCOL_VERSION,
        results,
        receipt: receipt(st, push.device_id),
    })
}

fn fake(state: Arc<Mutex<State>>) -> FakeServer {
    let pull_header = {
        let state = state.clone();
        move |req: &Request| -> Vec<(String, String)> {
            let Some(cursor) = query(&req.path, "cursor") else {
                return Vec::new();
            };
            let st = state.lock().unwrap();
            let Some((next, more)) = st.last_page else {
                return Vec::new();
            };
            let next = match st.pull_header {
                PullHeader::Absent => return Vec::new(),
                PullHeader::Agrees => next,
                PullHeader::WrongFrom(from) if cursor >= from => next + 1,
                PullHeader::WrongFrom(_) => next,
            };
            vec![(
                sigap_shared::wire::PULL_NEXT_HEADER.to_string(),
                sigap_shared::wire::pull_next_value(next, more),
            )]
        }
    };
    let mut answer = fake_answer(state);
    FakeServer::start_with_headers(Box::new(move |req: &Request| {
        let (status, body) = answer(req);
        let headers = if status == 200 && req.path.starts_with("/api/v1/sync/pull") {
            pull_header(req)
        } else {
            Vec::new()
        };
        (status, headers, body)
    }))
}

/// The fake's answers' status and body.
fn fake_answer(state: Arc<Mutex<State>>) -> impl FnMut(&Request) -> (u16, String) {
    move |req: &Request| {
        let mut st = state.lock().unwrap();
        if st.fail_next > 0 {
            st.fail_next -= 1;
            return (
                503,
                r#"{"error":{"code":"unavailable","message":"busy"}}"#.into(),
            );
        }
        let token = req.header("authorization").unwrap_or("").to_string();
        let owns = |st: &mut State| match &st.owner {
            Some(o) => *o == token,
            None => {
                st.owner = Some(token.clone());
                true
            }
        };
        let not_yours = || {
            (
                403,
                r#"{"error":{"code":"device_not_yours","message":"device 0190… belongs to another token (agent-rina)"}}"#.into(),
            )
        };
        if req.path == "/api/v1/sync/push" {
            if !owns(&mut st) {
                return not_yours();
            }
            let request: PushRequest = serde_json::from_str(&req.body).unwrap();
            return match push(&mut st, &request) {
                Some(resp) => (200, serde_json::to_string(&resp).unwrap()),
                None => (0, String::new()),
            };
        }
        if req.path.starts_with("/api/v1/sync/pull") {
            let cursor = query(&req.path, "cursor").unwrap();
            if let Some((from, late)) = st.slow_pull_at
                && cursor >= from
            {
                st.slow_pull_at = None;
                std::thread::sleep(late);
            }
            if st.cut_pull_at.is_some_and(|c| cursor >= c) {
                return (
                    503,
                    r#"{"error":{"code":"unavailable","message":"gone"}}"#.into(),
                );
            }
            let mut persons: Vec<PersonState> = st
                .persons
                .iter()
                .filter(|p| p.seq > cursor)
                .cloned()
                .collect();
            persons.sort_by_key(|p| p.seq);
            let size = st.page_size.unwrap_or(persons.len());
            let has_more = persons.len() > size;
            persons.truncate(size);
            let next = persons.iter().map(|p| p.seq).max().unwrap_or(cursor);
            st.last_page = Some((next, has_more));
            let page = PullPage {
                protocol: sigap_shared::PROTOCOL_VERSION,
                persons,
                next_cursor: next,
                has_more,
            };
            return (200, serde_json::to_string(&page).unwrap());
        }
        if let Some(rest) = req.path.strip_prefix("/api/v1/sync/device/") {
            if !owns(&mut st) {
                return not_yours();
            }
            let device: Uuid = rest.split(['/', '?']).next().unwrap().parse().unwrap();
            if rest.ends_with("/key") {
                return (200, key_answer(&st.key));
            }
            if rest.contains("/changes") {
                let after = query(&req.path, "after_seq").unwrap_or(0);
                let limit = query(&req.path, "limit").unwrap_or(500) as usize;
                let all: Vec<_> = st.held.range(after + 1..).collect();
                let changes: Vec<_> = all
                    .iter()
                    .take(limit)
                    .map(|(s, id)| json!({"device_seq": s, "id": id, "outcome": "applied"}))
                    .collect();
                return (
                    200,
                    json!({"protocol": sigap_shared::PROTOCOL_VERSION, "changes": changes,
                        "has_more": all.len() > limit})
                    .to_string(),
                );
            }
            let status = DeviceStatus {
                protocol: sigap_shared::PROTOCOL_VERSION,
                receipt: receipt(&st, device),
            };
            return (200, serde_json::to_string(&status).unwrap());
        }
        (
            404,
            r#"{"error":{"code":"not_found","message":"no such path"}}"#.into(),
        )
    }
}

/// A person as the server's pull sends it: masked, keyed by the lookup hash.
fn person(nik: &str, participant: bool, seq: u64) -> PersonState {
    let nik = Nik::parse(nik).unwrap();
    let fields = sigap_shared::Fields {
        // The roll has no names; a field registration does.
        name: (!participant).then(|| "Agus Salim".to_string()),
        kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1003").unwrap()),
        rw: Some(2),
        rt: Some(4),
        category: Some(sigap_shared::Category::Bpu),
        status: Some(sigap_shared::Status::Registered),
        ..Default::default()
    };
    PersonState {
        participant,
        registered_by: (!participant).then(|| "agent-rina".to_string()),
        registered_at: Some(1_764_000_000_000),
        seq,
        ..PersonState::masked(&KEY, &nik, &fields)
    }
}

/// A server whose feed holds two persons others wrote: one registered by
/// another agent, one from the membership roll.
fn fake_with_others() -> FakeServer {
    let state = Arc::new(Mutex::new(State::default()));
    state.lock().unwrap().persons = vec![
        person("3372011505800003", false, 1),
        person("3372012006700004", true, 2),
    ];
    fake(state)
}

#[test]
fn sync_pushes_pulls_and_reports_then_lookup_answers_offline() {
    let server = fake_with_others();
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["sent"], 2);
    assert_eq!(s["applied"], 2);
    assert_eq!(s["received"], 2);
    assert_eq!(s["pending_left"], 0);
    assert_eq!(s["receipt"]["count"], 2);
    // Every request carries the protocol version and the token.
    for r in server.requests() {
        assert_eq!(
            r.header("x-sigap-protocol"),
            Some(sigap_shared::PROTOCOL_VERSION.to_string().as_str()),
            "{}",
            r.path
        );
        assert_eq!(r.header("authorization"), Some("Bearer t0ken"));
    }
    // The pulled persons carry no NIK, and the replica keeps none.
    for r in server.requests() {
        assert!(!r.path.contains("3372011505800003"), "{}", r.path);
    }
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM replica WHERE (nik_hash || nik_masked || COALESCE(name_masked, '')
                || COALESCE(registered_by, '')) LIKE '%3372011505800003%'
                OR (nik_masked || COALESCE(name_masked, '')) LIKE '%Agus%'"
        ),
        0
    );
    env.run(&["lookup", "3372011505800003"])
        .code(0)
        .stdout_has(
            "NIK 3372011505800003 is already covered: registered by agent-rina on 24 November 2025 (A*** S****, Bumi (33.72.01.1003))",
        );
    env.run(&["lookup", "3372012006700004"])
        .code(0)
        .stdout_has("already a participant (membership roll), Bumi (33.72.01.1003)");
    let j = env
        .run(&["lookup", "3372011505800003", "--json"])
        .code(0)
        .json();
    assert_eq!(j["answer"], "covered");
    assert_eq!(j["replica"]["nik_masked"], "**************03");
    assert_eq!(j["replica"]["name_masked"], "A*** S****");
    assert_eq!(j["replica"]["registered_by"], "agent-rina");
    assert!(j["replica"].get("nik").is_none());
    assert!(!j.to_string().contains("Agus"), "{j}");
    let j = env
        .run(&["lookup", "3372012006700004", "--json"])
        .code(0)
        .json();
    assert_eq!(j["answer"], "participant");
    // Own registrations answer from the local records, in full.
    env.run(&["lookup", BUDI])
        .code(0)
        .stdout_has("registered on this device: Budi Santoso");
    env.run(&["lookup", "3372011505800005"])
        .code(0)
        .stdout_has("unknown: NIK 3372011505800005 is not registered");
    // The replica makes register refuse a known NIK.
    env.run(&[
        "register",
        "--nik",
        "3372011505800003",
        "--name",
        "Agus",
        "--birth-date",
        "1980-05-15",
        "--sex",
        "L",
        "--kelurahan",
        "33.72.01.1003",
        "--rw",
        "1",
        "--rt",
        "1",
        "--category",
        "bpu",
        "--occupation",
        "tukang",
    ])
    .code(2)
    .stderr_has("already covered: registered by agent-rina")
    .stderr_has("(A*** S****, Bumi (33.72.01.1003))");
    // And import refuses the rows of known persons, found by their hash.
    let csv = env.path("forms.csv");
    std::fs::write(
        &csv,
        format!(
            "{CSV_HEADER}{}{}",
            "3372011505800003,Agus,1980-05-15,L,33.72.01.1003,1,1,bpu,tukang,,,\"jkk,jkm\"\n",
            "3372012006700004,Wati,1970-06-20,L,33.72.01.1003,1,1,bpu,tukang,,,\"jkk,jkm\"\n",
        ),
    )
    .unwrap();
    env.run(&["import", csv.to_str().unwrap()])
        .code(1)
        .stdout_has("imported 0, rejected 2")
        .stderr_has(
            "line 2: nik: NIK 3372011505800003 is already covered: registered by agent-rina",
        )
        .stderr_has("line 3: nik: NIK 3372012006700004 is already a participant (membership roll)");
    let st = env.run(&["status", "--json"]).json();
    assert_eq!(st["pending_changes"], 0);
    assert!(st["last_sync_at"].is_string());
    // A second sync sends nothing and pulls from the stored cursor.
    let again = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(
        (again["sent"].as_u64(), again["received"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(server.requests().last().unwrap().path.contains("cursor=2"));
}

#[test]
fn a_stalled_pull_does_not_keep_a_registration_waiting() {
    // Pages of two; the second comes 8 s late. What came before the stall
    // is committed within two seconds, and the write lock is free while
    // the pull waits: a registration in another terminal goes through.
    let state = Arc::new(Mutex::new(State {
        page_size: Some(2),
        slow_pull_at: Some((2, std::time::Duration::from_secs(8))),
        ..State::default()
    }));
    state.lock().unwrap().persons = vec![
        person("3372012006700004", true, 1),
        person("3372012006700005", true, 2),
        person("3372012006700006", true, 3),
    ];
    let server = fake(state);
    let env = Env::with_server(&server.url);
    let mut sync = env
        .command(&["sync"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let start = std::time::Instant::now();
    env.register_budi().code(0);
    let waited = start.elapsed();
    assert!(
        sync.try_wait().unwrap().is_none(),
        "the pull should still be waiting for its second page"
    );
    assert!(
        waited < std::time::Duration::from_secs(3),
        "the registration waited {waited:?} for the pull's lock"
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 2);
    // The pull finishes; the registration made meanwhile waits for the
    // next sync, as the sync says (exit 1: changes still pending).
    let out = sync.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("received 3") && said.contains("1 change(s) still pending"),
        "{said}"
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 3);
}

#[test]
fn a_pull_cut_between_pages_keeps_what_came_and_resumes_without_doubling_anyone() {
    // Pages of two; Agus is written again (voided) during the pull, so the
    // feed holds him twice.
    let state = Arc::new(Mutex::new(State {
        page_size: Some(2),
        cut_pull_at: Some(4),
        ..State::default()
    }));
    state.lock().unwrap().persons = vec![
        person("3372011505800003", false, 1),
        person("3372012006700004", true, 2),
        person("3372012006700005", true, 3),
        person("3372012006700006", true, 4),
        person("3372012006700007", true, 5),
        voided("3372011505800003", false, 6),
    ];
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    // The connection is lost after the second page: the sync fails, but
    // the two pages it received are kept, with their cursor.
    env.run(&["sync"]).code(4);
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 4);
    env.run(&["lookup", "3372012006700006"])
        .code(0)
        .stdout_has("participant");
    env.run(&["lookup", "3372012006700007"])
        .code(0)
        .stdout_has("is not registered");
    state.lock().unwrap().cut_pull_at = None;
    let before = server.requests().len();
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["received"], 2);
    let first_pull = server.requests()[before..]
        .iter()
        .find(|r| r.path.starts_with("/api/v1/sync/pull"))
        .map(|r| r.path.clone())
        .unwrap();
    assert!(first_pull.contains("cursor=4"), "{first_pull}");
    // Each person once, Agus as he was last written.
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 5);
    assert_eq!(env.count("SELECT COUNT(*) FROM replica_collisions"), 0);
    let agus = env
        .run(&["lookup", "3372011505800003", "--json"])
        .code(0)
        .json();
    assert_eq!(agus["replica"]["status"], "void", "{agus}");
    assert_eq!(agus["replica"]["seq"], 6, "{agus}");
}

/// A feed of `n` roll persons at seq 1..=n, served in pages of `size`.
fn paged_feed(n: u64, size: usize, header: PullHeader) -> (Arc<Mutex<State>>, FakeServer) {
    let state = Arc::new(Mutex::new(State {
        page_size: Some(size),
        pull_header: header,
        ..State::default()
    }));
    state.lock().unwrap().persons = (1..=n)
        .map(|i| person(&format!("33720120067{i:05}"), true, i))
        .collect();
    let server = fake(state.clone());
    (state, server)
}

/// The cursors the pulls after request `from` asked from.
fn pull_cursors(server: &FakeServer, from: usize) -> Vec<u64> {
    server.requests()[from..]
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/sync/pull"))
        .map(|r| query(&r.path, "cursor").unwrap())
        .collect()
}

#[test]
fn a_pull_asks_from_each_pages_header_and_keeps_every_person_once_whether_the_server_sends_it_or_not()
 {
    for header in [PullHeader::Agrees, PullHeader::Absent] {
        let (_, server) = paged_feed(7, 2, header);
        let env = Env::with_server(&server.url);
        let s = env.run(&["sync", "--json"]).code(0).json();
        assert_eq!(s["received"], 7, "{s}");
        assert_eq!(s["pull_cursor"], 7, "{s}");
        // Each page asked once, from the cursor the one before led to.
        assert_eq!(pull_cursors(&server, 0), [0, 2, 4, 6]);
        assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 7);
        env.run(&["lookup", "3372012006700005"])
            .code(0)
            .stdout_has("participant");
        let again = env.run(&["sync", "--json"]).code(0).json();
        assert_eq!(again["received"], 0, "{again}");
    }
}

#[test]
fn a_page_whose_header_disagrees_with_its_body_is_refused_and_the_pages_before_it_are_kept() {
    // Pages of two; the third page's header says 7 where its body says 6:
    // the page asked from the header's cursor would skip the person at 7.
    let (state, server) = paged_feed(9, 2, PullHeader::WrongFrom(4));
    let env = Env::with_server(&server.url);
    env.run(&["sync"])
        .code(5)
        .stderr_has("is not the one its header gave");
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 4);
    env.run(&["lookup", "3372012006700005"])
        .code(0)
        .stdout_has("is not registered");
    // Once the server says the same in both, the pull resumes after the
    // pages it kept and misses nobody.
    state.lock().unwrap().pull_header = PullHeader::Agrees;
    let before = server.requests().len();
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["received"], 5, "{s}");
    assert_eq!(pull_cursors(&server, before)[0], 4);
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 9);
}

#[test]
fn a_page_with_an_unreadable_hash_is_refused_and_the_pages_before_it_are_kept() {
    // Pages of two; the person at 6 comes with a hash that is not 64
    // hexadecimal digits, so the third page cannot be written.
    let (state, server) = paged_feed(9, 2, PullHeader::Agrees);
    let good = state.lock().unwrap().persons[5].nik_hash.clone();
    state.lock().unwrap().persons[5].nik_hash = "not-a-hash".into();
    let env = Env::with_server(&server.url);
    env.run(&["sync"])
        .code(5)
        .stderr_has("nik_hash is not 64 hexadecimal digits");
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 4);
    env.run(&["lookup", "3372012006700004"])
        .code(0)
        .stdout_has("participant");
    // Once the server sends it right, the pull resumes after the pages it
    // kept and misses nobody.
    state.lock().unwrap().persons[5].nik_hash = good;
    let before = server.requests().len();
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["received"], 5, "{s}");
    assert_eq!(pull_cursors(&server, before)[0], 4);
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 9);
    env.run(&["lookup", "3372012006700006"])
        .code(0)
        .stdout_has("participant");
}

/// `person` voided by a supervisor.
fn voided(nik: &str, participant: bool, seq: u64) -> PersonState {
    PersonState {
        status: Some(sigap_shared::Status::Void),
        voided_at: Some(1_764_100_000_000),
        void_reason: Some("moved to Jakarta".into()),
        last_changed_by: Some("supervisor sari".into()),
        ..person(nik, participant, seq)
    }
}

/// `register` flags for a NIK of Bumi (a kelurahan of the fake feed).
fn register_in_bumi(nik: &'static str) -> Vec<&'static str> {
    with(
        with(
            with(budi_args(), "--nik", nik),
            "--birth-date",
            if nik == AGUS {
                "1980-05-15"
            } else {
                "1970-06-20"
            },
        ),
        "--kelurahan",
        "33.72.01.1003",
    )
}

const AGUS: &str = "3372011505800003";
const WATI: &str = "3372012006700004";

#[test]
fn a_voided_registration_covers_nobody_but_a_voided_participant_stays_one() {
    let state = Arc::new(Mutex::new(State::default()));
    state.lock().unwrap().persons = vec![
        voided(AGUS, false, 1),
        voided(WATI, true, 2),
        voided("3372011505800005", false, 3),
    ];
    let server = fake(state);
    let env = Env::with_server(&server.url);
    env.run(&["sync"]).code(0);
    env.run(&["lookup", AGUS]).code(0).stdout_has(
        "NIK 3372011505800003 was registered by agent-rina on 24 November 2025, then voided on 25 November 2025 (moved to Jakarta)",
    );
    let j = env.run(&["lookup", AGUS, "--json"]).code(0).json();
    assert_eq!(j["answer"], "voided");
    assert_eq!(j["replica"]["void_reason"], "moved to Jakarta");
    // The roll participant is still covered, voided field registration or not.
    env.run(&["lookup", WATI])
        .code(0)
        .stdout_has("NIK 3372012006700004 is already a participant (membership roll)");
    env.run(&register_in_bumi(WATI))
        .code(2)
        .stderr_has("is already a participant")
        .stderr_has("nothing saved");
    // The voided person is registered again without --force, with a note.
    env.run(&register_in_bumi(AGUS))
        .code(0)
        .stdout_has("saved: 3372011505800003")
        .stderr_has("note: NIK 3372011505800003 was registered by agent-rina on 24 November 2025, then voided on 25 November 2025 (moved to Jakarta); registered again here");
    // So is an import row of another voided person.
    let csv = env.path("forms.csv");
    std::fs::write(
        &csv,
        format!(
            "{CSV_HEADER}{}{}",
            "3372011505800005,Eko,1980-05-15,L,33.72.01.1003,1,1,bpu,tukang,,,\"jkk,jkm\"\n",
            "3372012006700004,Wati,1970-06-20,L,33.72.01.1003,1,1,bpu,tukang,,,\"jkk,jkm\"\n",
        ),
    )
    .unwrap();
    env.run(&["import", csv.to_str().unwrap()])
        .code(1)
        .stdout_has("imported 1, rejected 1")
        .stderr_has("line 3: nik: NIK 3372012006700004 is already a participant");
}

#[test]
fn rejected_changes_are_set_aside_corrected_by_edit_and_sent_again() {
    let state = Arc::new(Mutex::new(State::default()));
    state.lock().unwrap().reject.insert(BUDI.into());
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    env.run(&["sync"])
        .code(1)
        .stdout_has("rejected #1 3372011203850001: kelurahan 33.72.01.1001 is not in your areas (area_not_assigned)");
    env.run(&["status"])
        .code(0)
        .stdout_has("rejected changes to correct: 1")
        .stdout_has("area_not_assigned")
        .stdout_has("sigap edit NIK");
    state.lock().unwrap().reject.clear();
    env.run(&["edit", BUDI, "--kelurahan", "33.72.01.1003"])
        .code(0)
        .stdout_has("corrects 1 rejected change(s)");
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["sent"], 1);
    assert_eq!(s["rejected_outstanding"], 0);
    let push: PushRequest = serde_json::from_str(
        &server
            .requests()
            .iter()
            .rev()
            .find(|r| r.path.ends_with("/push"))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        push.changes[0].kind,
        sigap_shared::ChangeKind::Register,
        "the whole record is sent again"
    );
    assert!(push.changes[0].fields.name.is_some());
}

#[test]
fn a_known_rejection_is_worded_in_indonesian_and_an_unknown_one_keeps_the_servers_reason() {
    let state = Arc::new(Mutex::new(State::default()));
    state.lock().unwrap().reject.insert(BUDI.into());
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    let id = [("SIGAP_LANG", "id")];
    let sync = env.run_env(&["sync"], &id);
    sync.code(1)
        .stdout_has("ditolak #1 3372011203850001: kelurahan orang ini tidak termasuk wilayah Anda; minta admin menugaskannya, atau minta supervisor memindahkan orang ini (area_not_assigned)")
        .stdout_has("1 perubahan ditolak perlu diperbaiki");
    assert!(
        !sync.stdout.contains("is not in your areas"),
        "{}",
        sync.stdout
    );
    env.run_env(&["status"], &id)
        .code(0)
        .stdout_has("perubahan ditolak yang perlu diperbaiki: 1")
        .stdout_has("#1 daftar 3372011203850001: kelurahan orang ini tidak termasuk wilayah Anda");
    // The JSON keeps the server's code and reason as they came.
    let s = env.run_env(&["status", "--json"], &id).code(0).json();
    assert_eq!(
        s["rejected_changes"][0]["reason"],
        "kelurahan 33.72.01.1001 is not in your areas"
    );
    // A code this sigap does not know shows the server's own reason.
    let c = common::open_db(&env.db);
    c.execute(
        "UPDATE changes SET reject_code = 'new_rule', reject_reason = 'a rule of a newer server'",
        [],
    )
    .unwrap();
    env.run_env(&["status"], &id)
        .code(0)
        .stdout_has("#1 daftar 3372011203850001: a rule of a newer server (new_rule)");
}

#[test]
fn server_errors_are_retried_then_the_sync_succeeds() {
    let state = Arc::new(Mutex::new(State {
        fail_next: 2,
        ..State::default()
    }));
    let server = fake(state);
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&["sync"]).code(0).stdout_has("sent 1 (applied 1");
}

#[test]
fn an_unreachable_server_exits_4_and_keeps_the_changes() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let env = Env::with_server(&url);
    env.register_budi().code(0);
    env.run(&["sync"])
        .code(4)
        .stderr_has(&format!("could not reach {url}"))
        .stderr_has("your changes are safe on this device");
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE state = 'pending'"),
        1
    );
}

#[test]
fn a_dropped_answer_is_resent_and_answered_as_duplicate() {
    // The server commits the push but the connection dies before the answer.
    let state = Arc::new(Mutex::new(State::default()));
    let inner = fake(state.clone());
    let drops = Arc::new(Mutex::new(1));
    let target = inner.url.clone();
    let proxy = FakeServer::start(Box::new(move |req: &Request| {
        let resp = reqwest::blocking::Client::new()
            .request(req.method.parse().unwrap(), format!("{target}{}", req.path))
            .header("authorization", req.header("authorization").unwrap_or(""))
            .body(req.body.clone())
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().unwrap();
        let mut d = drops.lock().unwrap();
        if req.path.ends_with("/push") && *d > 0 {
            *d -= 1;
            return (0, String::new());
        }
        (status, body)
    }));
    let env = Env::with_server(&proxy.url);
    env.register_budi().code(0);
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["duplicates"], 1, "{s}");
    assert_eq!(state.lock().unwrap().held.len(), 1);
}

#[test]
fn a_refused_token_exits_5_with_what_to_do() {
    let server = FakeServer::start(Box::new(|_| {
        (
            401,
            r#"{"error":{"code":"unauthorized","message":"unknown token"}}"#.into(),
        )
    }));
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    let before = server.requests().len();
    env.run(&["sync"])
        .code(5)
        .stderr_has("the server refused the token (HTTP 401")
        .stderr_has("sigap init --token");
    assert_eq!(server.requests().len() - before, 1, "401 is not retried");
}

#[test]
fn a_protocol_mismatch_is_a_clear_message_not_a_decode_error() {
    let server = FakeServer::start(Box::new(|_| {
        (426, r#"{"error":{"code":"protocol_too_old","message":"this server needs SIGAP protocol 2"}}"#.into())
    }));
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&["sync"]).code(5).stderr_has("upgrade sigap");
    let server = FakeServer::start(Box::new(|_| {
        (400, r#"{"error":{"code":"protocol_too_new","message":"this server speaks SIGAP protocol 0"}}"#.into())
    }));
    env.run(&["init", "--server", &server.url]).code(0);
    env.run(&["sync"])
        .code(5)
        .stderr_has("upgrade sigap-server");
}

#[test]
fn verify_matches_then_detects_changes_the_server_lost() {
    let state = Arc::new(Mutex::new(State::default()));
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    env.run(&["sync"]).code(0);
    env.run(&["sync", "--verify"])
        .code(0)
        .stdout_has("verified: the server holds 2 change(s) from this device, hash matches");
    // The server restores an old backup: change 2 is gone.
    {
        let mut st = state.lock().unwrap();
        let lost = st.held.remove(&2).unwrap();
        st.ids.remove(&lost);
    }
    let r = env.run(&["sync", "--verify", "--json"]).code(1).json();
    assert_eq!(r["requeued"], json!([2]));
    env.run(&["sync"]).code(0).stdout_has("sent 1 (applied 1");
    env.run(&["sync", "--verify"])
        .code(0)
        .stdout_has("verified");
}

#[test]
fn sync_needs_a_server_and_token() {
    let env = Env::bare();
    env.run(&[
        "init",
        "--server",
        "http://127.0.0.1:9",
        "--device-name",
        "x",
    ])
    .code(0);
    env.run(&["sync"]).code(2).stderr_has("no token is set");
}

#[test]
fn sync_names_its_device_when_pulling_and_full_pulls_everything_again() {
    let server = fake_with_others();
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    let first = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(first["received"], 2);
    let again = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(again["received"], 0);
    let device = env.run(&["status", "--json"]).code(0).json()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let pulls = |from: usize| -> Vec<String> {
        server
            .requests()
            .into_iter()
            .skip(from)
            .filter(|r| r.path.starts_with("/api/v1/sync/pull"))
            .map(|r| r.path)
            .collect()
    };
    let normal = pulls(0);
    assert!(!normal.is_empty());
    for p in &normal {
        assert!(p.contains(&format!("&device={device}")), "{p}");
    }
    // --full: from the start, without the device, so the server sends
    // this device's own persons too.
    let before = server.requests().len();
    let full = env.run(&["sync", "--full", "--json"]).code(0).json();
    assert_eq!(full["received"], 2);
    let full_pulls = pulls(before);
    assert!(full_pulls[0].contains("cursor=0"), "{full_pulls:?}");
    assert!(
        full_pulls.iter().all(|p| !p.contains("device=")),
        "{full_pulls:?}"
    );
    env.run(&["sync", "--full", "--verify"])
        .code(2)
        .stderr_has("cannot be used with");
}

#[test]
fn a_page_that_reaches_the_server_before_an_earlier_one_is_sent_again_in_the_same_sync() {
    // Two pages: 10,000 changes and 5. The server receives the second
    // first, so it holds none of it yet (`pending`).
    let env = Env::new();
    let csv = env.path("forms.csv");
    write_csv(&csv, 10_005);
    env.run(&["import", csv.to_str().unwrap()]).code(0);
    let state = Arc::new(Mutex::new(State {
        reorder: true,
        ..State::default()
    }));
    let server = fake(state.clone());
    env.run(&["init", "--server", &server.url]).code(0);
    let s = env
        .run_env(
            &["sync", "--json"],
            &[("SIGAP_RETRY_LIMIT", "50"), ("SIGAP_RETRY_BASE_MS", "20")],
        )
        .code(0)
        .json();
    assert_eq!(s["sent"], 10_005, "{s}");
    assert_eq!(s["applied"], 10_005);
    assert_eq!(
        (s["waiting"].as_i64(), s["pending_left"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(s["rounds"], 2);
    assert_eq!(state.lock().unwrap().held.len(), 10_005);
    // The second page went twice: first answered `pending`, then held.
    let pushes: Vec<PushRequest> = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/push"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let tail: Vec<u64> = (10_001..=10_005).collect();
    let sent_tail = pushes
        .iter()
        .filter(|p| {
            p.changes
                .iter()
                .map(|c| c.device_seq)
                .eq(tail.iter().copied())
        })
        .count();
    assert_eq!(sent_tail, 2);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE state <> 'acked'"),
        0
    );
}

#[test]
fn a_sync_off_a_terminal_prints_its_summary_and_no_line_per_page() {
    // Two pages to push (10,000 changes and 1) and persons to pull. The
    // test's stderr is a pipe, not a terminal: no bar, and no line per
    // page either, in either language; the summary says what was done.
    let env = Env::new();
    let csv = env.path("forms.csv");
    write_csv(&csv, 10_001);
    env.run(&["import", csv.to_str().unwrap()]).code(0);
    let server = fake_with_others();
    env.run(&["init", "--server", &server.url]).code(0);
    let run = env.run(&["sync"]);
    run.code(0)
        .stdout_has("sent 10,001 (applied 10,001,")
        .stdout_has("received 2");
    let pushes = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/push"))
        .count();
    // Two pages at least: the second, reaching the server before the
    // first, may wait and go again.
    assert!(pushes >= 2, "{pushes} page(s) pushed");
    assert!(
        run.stderr.trim().is_empty(),
        "per-page lines on stderr:\n{}",
        run.stderr
    );
    assert!(!run.stdout.contains("10,000 of"), "{}", run.stdout);
    // The same in Indonesian, with one change to send.
    env.run(&with(budi_args(), "--nik", "3372011203850009"))
        .code(0);
    let mut id = env.command(&["sync"]);
    id.env("SIGAP_LANG", "id");
    let run = Run::of(&mut id);
    run.code(0).stdout_has("terkirim 1 (diterapkan 1,");
    assert!(
        run.stderr.trim().is_empty(),
        "per-page lines on stderr:\n{}",
        run.stderr
    );
}

#[test]
fn changes_left_waiting_are_reported_and_the_sync_does_not_loop() {
    // A server that never holds anything (always `pending`).
    let server = FakeServer::start(Box::new(|req: &Request| {
        if req.path.ends_with("/push") {
            let push: PushRequest = serde_json::from_str(&req.body).unwrap();
            let resp = PushResponse {
                protocol: sigap_shared::PROTOCOL_VERSION,
                results: push
                    .changes
                    .iter()
                    .map(|c| ChangeResult {
                        id: c.id,
                        device_seq: c.device_seq,
                        outcome: Outcome::Pending,
                    })
                    .collect(),
                receipt: receipt(&State::default(), push.device_id),
            };
            return (200, serde_json::to_string(&resp).unwrap());
        }
        if req.path.starts_with("/api/v1/sync/pull") {
            return (
                200,
                json!({"protocol": sigap_shared::PROTOCOL_VERSION, "persons": [],
                    "next_cursor": 0, "has_more": false})
                .to_string(),
            );
        }
        if req.path.ends_with("/key") {
            return (200, key_answer(&None));
        }
        let device = Uuid::nil();
        (
            200,
            serde_json::to_string(&DeviceStatus {
                protocol: sigap_shared::PROTOCOL_VERSION,
                receipt: receipt(&State::default(), device),
            })
            .unwrap(),
        )
    }));
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    env.run(&["sync"])
        .code(1)
        .stdout_has("sent 0 (applied 0")
        .stdout_has("2 change(s) still waiting for earlier ones");
    let pushes = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/push"))
        .count();
    assert_eq!(pushes, 1, "no progress: not sent again");
    env.run(&["status"])
        .code(0)
        .stdout_has("waiting for earlier changes: 2");
    // Kept, never set aside.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE state = 'pending'"),
        2
    );
}

const TEN_YEARS_SECS: i64 = 3652 * 24 * 3600;

/// The stored stamp of change `seq`.
fn stamp(env: &Env, seq: i64) -> sigap_shared::Hlc {
    let conn = open_db(&env.db);
    let text: String = conn
        .query_row(
            "SELECT hlc FROM changes WHERE device_seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .unwrap();
    sigap_shared::Hlc::from_sortable(&text).unwrap()
}

fn wall() -> u64 {
    sigap_shared::hlc::wall_millis()
}

#[test]
fn changes_refused_for_a_clock_ahead_stay_and_go_again_stamped_anew_once_the_clock_is_right() {
    let state = Arc::new(Mutex::new(State::default()));
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    // Budi was registered while the laptop's clock was ten years ahead.
    let ahead = sigap_shared::Hlc {
        millis: stamp(&env, 1).millis + TEN_YEARS_SECS as u64 * 1000,
        ..stamp(&env, 1)
    };
    open_db(&env.db)
        .execute(
            "UPDATE changes SET hlc = ?1 WHERE device_seq = 1",
            [ahead.to_sortable()],
        )
        .unwrap();
    // The device's clock resumes from its newest stamp: Siti's change is
    // stamped ten years ahead as well.
    env.run(&siti_args()).code(0);
    assert!(stamp(&env, 2) > ahead);
    let local_ids = |env: &Env| -> Vec<(i64, String)> {
        let conn = open_db(&env.db);
        conn.prepare("SELECT device_seq, id FROM changes ORDER BY device_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let ids = local_ids(&env);

    // At the office the server sees the laptop ten years ahead.
    set_clock(&server, &state, -TEN_YEARS_SECS);
    env.run(&["sync"])
        .code(1)
        .stderr_has("warning: this laptop's clock is 3,652 day(s) 0 h ahead of the server's: fix the laptop's clock")
        .stdout_has("not taken #1 3372011203850001: the change is stamped 3652 days ahead of the server's clock; fix the laptop's clock (clock_ahead)")
        .stdout_has("1 change(s) not taken by the server stay on this laptop (see `sigap status`); fix the laptop's clock (date, time and time zone), then run `sigap sync`")
        .stdout_has("1 change(s) still waiting for earlier ones");
    assert!(state.lock().unwrap().held.is_empty());
    // Nothing lost: both stay, with the reason, and status repeats the
    // clock warning offline.
    let status = env.run(&["status"]);
    status
        .code(0)
        .stdout_has("pending changes: 2")
        .stdout_has("not taken by the server, kept here to send again: 1")
        .stdout_has("#1 register 3372011203850001: the change is stamped 3652 days ahead")
        .stdout_has("waiting for earlier changes: 1")
        .stderr_has("warning: at the last sync (")
        .stderr_has(
            "this laptop's clock was 3,652 day(s) 0 h ahead of the server's: fix the laptop's clock",
        );
    let st = env.run(&["status", "--json"]).code(0).json();
    assert!(st["clock"]["skew_ms"].as_i64().unwrap() > 3651 * 86_400_000);
    assert!(st["clock"]["warning"].is_string());
    env.run(&["show", BUDI, "--history"])
        .code(0)
        .stdout_has("not taken: the change is stamped 3652 days");
    // Still wrong, the clock corrects nothing: the same refusal, for scripts.
    let j = env.run(&["sync", "--json"]).code(1).json();
    assert_eq!(j["not_taken"][0]["code"], "clock_ahead", "{j}");
    assert_eq!(j["not_taken"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            j["not_taken_left"].as_i64(),
            j["waiting"].as_i64(),
            j["restamped"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert!(
        j["clock"]["warning"]
            .as_str()
            .unwrap()
            .contains("3,652 day(s) 0 h ahead")
    );
    assert_eq!(stamp(&env, 1), ahead);

    // The laptop's clock is set right: the next sync stamps both again
    // (same ids, same numbers) and the server takes them.
    set_clock(&server, &state, 0);
    let before = wall();
    let s = env.run(&["sync", "--json"]).code(0).json();
    let after = wall();
    assert_eq!(s["restamped"], 2, "{s}");
    assert_eq!(s["applied"], 2);
    assert!(s["clock"]["warning"].is_null(), "{s}");
    assert_eq!(local_ids(&env), ids);
    let last_push: PushRequest = serde_json::from_str(
        &server
            .requests()
            .iter()
            .rev()
            .find(|r| r.path.ends_with("/push"))
            .unwrap()
            .body,
    )
    .unwrap();
    let sent: Vec<(i64, String)> = last_push
        .changes
        .iter()
        .map(|c| (c.device_seq as i64, c.id.to_string()))
        .collect();
    assert_eq!(sent, ids);
    for c in &last_push.changes {
        assert!(
            (before..=after).contains(&c.hlc.millis),
            "#{} stamped {} outside {before}..{after}",
            c.device_seq,
            c.hlc.millis
        );
    }
    assert!(last_push.changes[0].hlc < last_push.changes[1].hlc);
    let status = env.run(&["status", "--json"]);
    status.code(0);
    assert!(!status.stderr.contains("warning"), "{}", status.stderr);
    assert!(status.json()["clock"]["warning"].is_null());
    // The device's clock resumes from the corrected time.
    env.run(&with(
        with(budi_args(), "--nik", "3372011203850003"),
        "--name",
        "Joko",
    ))
    .code(0);
    assert!(stamp(&env, 3).millis <= wall());
}

#[test]
fn a_clock_off_by_minutes_is_warned_about_and_within_five_minutes_it_is_not() {
    let state = Arc::new(Mutex::new(State::default()));
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    // The server's clock is 20 minutes ahead: this laptop is behind.
    set_clock(&server, &state, 20 * 60);
    let r = env.run(&["sync", "--json"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("warning: this laptop's clock is 20 min behind the server's")
            || r.stderr
                .contains("warning: this laptop's clock is 19 min behind the server's"),
        "{}",
        r.stderr
    );
    let s = r.json();
    assert!(
        s["clock"]["warning"]
            .as_str()
            .unwrap()
            .contains("fix the laptop's clock")
    );
    set_clock(&server, &state, 2 * 60);
    let r = env.run(&["sync"]);
    r.code(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

/// Copies the database as the agent would (`sigap backup`: consistent,
/// WAL included, encrypted as the database is).
fn backup(env: &Env, to: &std::path::Path) {
    env.run(&["backup", to.to_str().unwrap()]).code(0);
}

/// Puts a backup back in place of the database.
fn restore(env: &Env, from: &std::path::Path) {
    for ext in ["-wal", "-shm"] {
        let mut p = env.db.as_os_str().to_owned();
        p.push(ext);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    std::fs::copy(from, &env.db).unwrap();
}

fn register_nik(env: &Env, nik: &'static str) {
    env.run(&with(
        with(budi_args(), "--nik", nik),
        "--name",
        "Warga Baru",
    ))
    .code(0);
}

fn id_of(env: &Env, seq: i64) -> Uuid {
    let conn = open_db(&env.db);
    let id: String = conn
        .query_row("SELECT id FROM changes WHERE device_seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    id.parse().unwrap()
}

#[test]
fn a_laptop_restored_from_an_old_backup_renumbers_its_unsent_changes_and_loses_nothing() {
    let state = Arc::new(Mutex::new(State::default()));
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&["sync"]).code(0);
    let saved = env.path("backup.db");
    backup(&env, &saved);
    // After the backup: two more registrations, synced (server: 1 to 3).
    env.run(&siti_args()).code(0);
    register_nik(&env, "3372011203850003");
    env.run(&["sync"]).code(0);
    // The laptop is restored from the backup; the agent goes on working,
    // and the new changes get numbers 2 and 3 again.
    restore(&env, &saved);
    register_nik(&env, "3372011203850004");
    register_nik(&env, "3372011203850005");
    let new_ids = [id_of(&env, 2), id_of(&env, 3)];
    let before = server.requests().len();
    let r = env.run(&["sync", "--json"]);
    r.code(0).stderr_has(
        "this laptop's database is older than what the server holds from it (restored from a backup?): 2 unsent change(s) renumbered after #3",
    );
    let s = r.json();
    assert_eq!(s["restored"]["renumbered"], 2, "{s}");
    assert_eq!(s["restored"]["after_seq"], 3);
    assert_eq!(s["applied"], 2);
    assert_eq!(s["rejected"], json!([]));
    assert_eq!(s["pending_left"], 0);
    // Nothing rejected, lost or doubled: the server holds all five, the
    // new ones under their own ids after its own numbers.
    {
        let st = state.lock().unwrap();
        assert_eq!(st.held.len(), 5);
        assert_eq!((st.held[&4], st.held[&5]), (new_ids[0], new_ids[1]));
    }
    assert_eq!((id_of(&env, 4), id_of(&env, 5)), (new_ids[0], new_ids[1]));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE state <> 'acked'"),
        0
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE device_seq IN (2, 3)"),
        0
    );
    // Its areas are pulled afresh, this device's own persons included (the
    // lost registrations come back to the replica).
    let pulls: Vec<String> = server.requests()[before..]
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/sync/pull"))
        .map(|r| r.path.clone())
        .collect();
    assert!(
        pulls[0].contains("cursor=0") && !pulls[0].contains("device="),
        "{pulls:?}"
    );
    // The next change follows, and a later sync has nothing to say.
    register_nik(&env, "3372011203850006");
    let r = env.run(&["sync", "--json"]);
    r.code(0);
    assert!(!r.stderr.contains("older than"), "{}", r.stderr);
    assert_eq!(state.lock().unwrap().held.len(), 6);
    assert_eq!(id_of(&env, 6), state.lock().unwrap().held[&6]);
}

#[test]
fn a_restored_laptop_with_nothing_unsent_is_told_once_and_renumbers_what_it_writes_next() {
    let state = Arc::new(Mutex::new(State::default()));
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&["sync"]).code(0);
    let saved = env.path("backup.db");
    backup(&env, &saved);
    env.run(&siti_args()).code(0);
    env.run(&["sync"]).code(0);
    restore(&env, &saved);
    env.run(&["sync"]).code(0).stderr_has(
        "(restored from a backup?): no unsent change needed a new number; every person of your areas is pulled again",
    );
    let r = env.run(&["sync"]);
    r.code(0);
    assert!(!r.stderr.contains("older than"), "{}", r.stderr);
    // Written after the restore, numbered 2 here: the server holds its
    // own 2, so it goes as 3.
    register_nik(&env, "3372011203850004");
    env.run(&["sync"])
        .code(0)
        .stderr_has("1 unsent change(s) renumbered after #2");
    assert_eq!(state.lock().unwrap().held.len(), 3);
    assert_eq!(state.lock().unwrap().held[&3], id_of(&env, 3));
}

#[test]
fn a_device_belongs_to_the_token_that_enrolled_it() {
    let state = Arc::new(Mutex::new(State::default()));
    let server = fake(state.clone());
    let env = Env::bare();
    let init = |token: &str| {
        env.run(&[
            "init",
            "--server",
            &server.url,
            "--device-name",
            "laptop-budi",
            "--token",
            token,
        ])
    };
    init("t0ken")
        .code(0)
        .stdout_has("enrolment: enrolled: the server knows this device under your token");
    assert_eq!(state.lock().unwrap().owner.as_deref(), Some("Bearer t0ken"));
    env.register_budi().code(0);
    // Another agent's token on this laptop: init still saves it, and says
    // the server refuses the device to it.
    init("other-token")
        .code(0)
        .stderr_has("warning: not enrolled: the server refused this device (HTTP 403");
    env.run(&["sync"])
        .code(5)
        .stderr_has("the server refused this device (HTTP 403 Forbidden device_not_yours: device 0190… belongs to another token (agent-rina))")
        .stderr_has("it is enrolled under another agent's token; ask your supervisor or an admin");
    // Nothing sent, nothing lost.
    assert!(state.lock().unwrap().held.is_empty());
    assert_eq!(
        env.count("SELECT COUNT(*) FROM changes WHERE state = 'pending'"),
        1
    );
    init("t0ken").code(0).stdout_has("enrolment: enrolled");
    env.run(&["sync"]).code(0).stdout_has("sent 1 (applied 1");
}

#[test]
fn init_offline_still_sets_up_the_device_and_says_it_is_not_enrolled_yet() {
    let env = Env::bare();
    env.run(&[
        "init",
        "--server",
        "http://127.0.0.1:9",
        "--device-name",
        "laptop-budi",
        "--token",
        "t0ken",
    ])
    .code(0)
    .stdout_has("device set up: laptop-budi")
    .stdout_has("enrolment: not yet: http://127.0.0.1:9 could not be reached; the first `sigap sync` enrols this device");
    let j = env
        .run(&["init", "--token", "t0ken", "--json"])
        .code(0)
        .json();
    assert_eq!(j["enrolled"], false);
    // Without a new token there is nothing to enrol.
    let j = env
        .run(&["init", "--device-name", "laptop-2", "--json"])
        .code(0)
        .json();
    assert!(j["enrolled"].is_null(), "{j}");
}

#[test]
fn show_marks_fields_the_server_holds_differently_and_who_changed_them() {
    let state = Arc::new(Mutex::new(State::default()));
    state.lock().unwrap().supersede.insert(
        BUDI.into(),
        (vec![Field::Rw, Field::Rt], vec!["supervisor sari".into()]),
    );
    // Another agent moved Siti to RW 4 after this device registered her.
    let siti = Nik::parse(SITI).unwrap();
    let mut theirs = sigap_shared::Fields {
        name: Some("Siti Aminah".into()),
        kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1002").unwrap()),
        rw: Some(4),
        rt: Some(2),
        category: Some(sigap_shared::Category::Pu),
        status: Some(sigap_shared::Status::Registered),
        ..Default::default()
    };
    state.lock().unwrap().persons = vec![PersonState {
        registered_by: Some("budi".into()),
        registered_at: Some(1_764_000_000_000),
        last_changed_by: Some("agent-rina".into()),
        seq: 1,
        ..PersonState::masked(&KEY, &siti, &theirs)
    }];
    let server = fake(state.clone());
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    env.run(&["sync"])
        .code(0)
        .stdout_has("rejected 0, superseded 1)")
        .stdout_has("#1 3372011203850001: rw, rt held differently on the server (changed by supervisor sari); see `sigap show 3372011203850001`");
    // The push's answer: which fields, by whom (the replica has no copy
    // of Budi, whom only this device wrote).
    env.run(&["show", BUDI])
        .code(0)
        .stdout_has("held differently on the server (changed by supervisor sari)")
        .stdout_has("the server keeps what others wrote later");
    let j = env.run(&["show", BUDI, "--json"]).code(0).json();
    assert_eq!(
        j["held_differently"],
        json!([
            {"field": "rw", "server_value": null, "changed_by": ["supervisor sari"]},
            {"field": "rt", "server_value": null, "changed_by": ["supervisor sari"]},
        ])
    );
    // The pulled person: what differs from this device's record, and who
    // wrote last; the fields that agree are not marked.
    let j = env.run(&["show", SITI, "--json"]).code(0).json();
    assert_eq!(
        j["held_differently"],
        json!([{"field": "rw", "server_value": "4", "changed_by": [],
                "person_last_changed_by": "agent-rina"}])
    );
    // The feed names only the person's latest writer, said as such.
    let shown = env.run(&["show", SITI]);
    shown.code(0).stdout_has(
        "held differently on the server: RW 4 (the person's latest change: agent-rina)",
    );
    // Written again here: not marked while the server has not seen it, and
    // not after it takes it.
    env.run(&["edit", BUDI, "--rw", "7"]).code(0);
    let j = env.run(&["show", BUDI, "--json"]).code(0).json();
    assert_eq!(
        j["held_differently"],
        json!([{"field": "rt", "server_value": null, "changed_by": ["supervisor sari"]}])
    );
    state.lock().unwrap().supersede.clear();
    // Meanwhile a supervisor voided Siti on the server.
    theirs.status = Some(sigap_shared::Status::Void);
    theirs.void_reason = Some("duplicate".into());
    state.lock().unwrap().persons = vec![PersonState {
        last_changed_by: Some("supervisor sari".into()),
        seq: 2,
        ..PersonState::masked(&KEY, &siti, &theirs)
    }];
    env.run(&["sync"]).code(0);
    let j = env.run(&["show", BUDI, "--json"]).code(0).json();
    assert_eq!(
        j["held_differently"],
        json!([{"field": "rt", "server_value": null, "changed_by": ["supervisor sari"]}])
    );
    let j = env.run(&["show", SITI, "--json"]).code(0).json();
    assert_eq!(
        j["held_differently"],
        json!([
            {"field": "rw", "server_value": "4", "changed_by": [],
             "person_last_changed_by": "supervisor sari"},
            {"field": "status", "server_value": "void (duplicate)", "changed_by": [],
             "person_last_changed_by": "supervisor sari"},
        ])
    );
}

#[test]
fn visits_wait_on_the_laptop_for_a_server_that_takes_none() {
    // The fake answers 404 for /api/v1/visits, like a server before it.
    let server = fake_with_others();
    let env = Env::with_server(&server.url);
    env.register_budi().code(0);
    env.run(&[
        "visit",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "3",
        "--rt",
        "5",
        "--households",
        "7",
    ])
    .code(0);
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["applied"], 1);
    assert_eq!(s["visits"]["synced"], 0);
    assert_eq!(s["visits"]["kept_for_newer_server"], 1);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM visits WHERE synced = 0 AND uid IS NOT NULL"),
        1
    );
    env.run(&["sync"])
        .code(0)
        .stdout_has("1 RT visit(s) stay on this laptop");
    // The push said how many changes were still queued after it.
    let push = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/sync/push")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&push.body).unwrap();
    assert_eq!(body["pending"], 0);
}

#[test]
fn the_replica_is_found_only_with_the_deployments_key_and_a_new_key_pulls_afresh() {
    let state = Arc::new(Mutex::new(State::default()));
    state.lock().unwrap().persons = vec![person("3372011505800003", false, 1)];
    let server = fake(state.clone());
    // `sigap init` enrols the device and keeps the key it is given.
    let env = Env::with_server(&server.url);
    let asked: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert!(asked.iter().any(|p| p.ends_with("/key")), "{asked:?}");
    env.run(&["sync"]).code(0);
    env.run(&["lookup", "3372011505800003"])
        .code(0)
        .stdout_has("is already covered");

    // The server is another deployment now (its own key, its own hashes):
    // the old rows could not be found, so they are replaced.
    let other = ReplicaKey::from_bytes([4; 32]);
    {
        let mut st = state.lock().unwrap();
        st.key = Some(other.clone());
        let mut p = person("3372011505800003", false, 1);
        p.nik_hash =
            sigap_shared::nik_lookup_hash(&other, &Nik::parse("3372011505800003").unwrap());
        st.persons = vec![p];
    }
    let s = env.run(&["sync", "--json"]).code(0).json();
    assert_eq!(s["received"], 1, "{s}");
    env.run(&["lookup", "3372011505800003"])
        .code(0)
        .stdout_has("is already covered");
    assert_eq!(env.count("SELECT COUNT(*) FROM replica"), 1);
    // A feed hashed with a key this device was not given finds nobody.
    state.lock().unwrap().persons = vec![PersonState {
        seq: 5,
        ..person("3372012006700004", true, 5)
    }];
    env.run(&["sync"]).code(0);
    let j = env
        .run(&["lookup", "3372012006700004", "--json"])
        .code(0)
        .json();
    assert_eq!(j["answer"], "unknown", "{j}");
}
