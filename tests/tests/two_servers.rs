//! Two `sigap-server` processes on one PostgreSQL database, as a region
//! runs them: agents sync through both at once, registering and editing
//! the same persons; one server is killed (SIGKILL) in the middle of the
//! pushes, and its agents go on through the other server or through it
//! once restarted. In the end both servers answer alike, and the same as
//! one SQLite server that received the same changes (each laptop's
//! database, copied, syncing there): persons, conflicts, coverage and
//! every laptop's receipt.
//!
//! Skipped (with a notice) when `SIGAP_TEST_DATABASE_URL` is not set;
//! under `CI` that fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use sigap_e2e::people::{letters, person, registrations_csv};
use sigap_e2e::pg::Schema;
use sigap_e2e::{Agent, Server};

const AGENTS: usize = 6;
/// Agent i registers persons `i * STEP .. i * STEP + EACH`: every person
/// but the last agent's upper half by two agents.
const STEP: u64 = 600;
const EACH: u64 = 1200;

fn range(i: usize) -> Range<u64> {
    let first = i as u64 * STEP;
    first..first + EACH
}

/// Odd agents spell some of their persons otherwise: an identity
/// conflict wherever an even agent registered them too.
fn other_spelling(i: usize, n: u64) -> Option<String> {
    (i % 2 == 1 && n % 100 == 7).then(|| format!("Nama Lain {}", letters(n)))
}

fn registrations(i: usize) -> String {
    let mut csv = registrations_csv(range(i));
    for n in range(i) {
        if let Some(name) = other_spelling(i, n) {
            csv = csv.replace(&format!(",{},", person(n).name), &format!(",{name},"));
        }
    }
    csv
}

/// The second round: both agents of a shared person give it another
/// occupation (the later write wins), and each voids a few of its own.
fn edits(i: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for n in range(i).filter(|n| n.is_multiple_of(97)) {
        out.push(vec![
            "edit".into(),
            person(n).nik,
            "--occupation".into(),
            format!("ojek {}", letters(i as u64)),
        ]);
    }
    for n in range(i).filter(|n| n % 293 == i as u64) {
        out.push(vec![
            "void".into(),
            person(n).nik,
            "--reason".into(),
            "pindah".into(),
        ]);
    }
    out
}

fn device_id(agent: &Agent) -> String {
    agent.status()["device_id"].as_str().unwrap().to_string()
}

/// Syncs until the agent reports nothing left, at most `tries` times.
fn sync_until_clean(agent: &Agent, tries: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..tries {
        let (code, summary) = agent.sync();
        if code == Some(0) {
            return summary;
        }
        last = summary;
        thread::sleep(Duration::from_millis(300));
    }
    panic!("sync never completed: {last}");
}

/// GETs with one client, for many requests.
struct Api {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(server: &Server, token: &str) -> Api {
        Api {
            client: reqwest::blocking::Client::new(),
            base: server.url(),
            token: token.to_string(),
        }
    }

    fn get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(
                sigap_shared::wire::PROTOCOL_HEADER,
                sigap_shared::PROTOCOL_VERSION.to_string(),
            )
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.json().unwrap()
    }
}

/// Persons `niks` as a supervisor sees them, without what depends on
/// the server (feed position, history with its arrival times).
fn persons(api: &Api, niks: &[String]) -> BTreeMap<String, Value> {
    thread::scope(|s| {
        let parts: Vec<_> = niks
            .chunks(niks.len().div_ceil(4))
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|nik| {
                            let mut v = api.get(&format!("/api/v1/persons/{nik}"));
                            let o = v.as_object_mut().unwrap();
                            o.remove("seq");
                            o.remove("history");
                            (nik.clone(), v)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// Every conflict by NIK, its two sides as an unordered pair (which one
/// is "existing" depends on nothing but the sides themselves, but the
/// test needs no more than the pair).
fn conflicts(api: &Api) -> BTreeMap<String, (Value, Value, BTreeSet<String>)> {
    let list = api.get("/api/v1/conflicts?status=all");
    list["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let side = |s: &Value| format!("{} {} {}", s["source"], s["agent"], s["fields"]);
            let sides: BTreeSet<String> = [side(&c["existing"]), side(&c["incoming"])].into();
            (
                c["nik"].as_str().unwrap().to_string(),
                (c["fields"].clone(), c["status"].clone(), sides),
            )
        })
        .collect()
}

fn receipt(server: &Server, token: &str, device: &str) -> Value {
    let (status, body) = server.get(token, &format!("/api/v1/sync/device/{device}"));
    assert_eq!(status, 200, "{body}");
    body["receipt"].clone()
}

fn verify(server: &Server) {
    let out = server.admin(&["coverage", "verify"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_servers_on_one_database_agree_with_one_sqlite_server() {
    let Some(schema) = Schema::new() else {
        return;
    };
    let url = schema.url();
    let mut a = Server::start_on_database_url(&url);
    let b = Server::start_on_database_url(&url);
    let servers = [&a, &b];
    let spv = a.token("supervisor", "spv", &["33.72"]);
    let tokens: Vec<String> = (0..AGENTS)
        .map(|i| servers[i % 2].token("agent", &format!("agent-{i}"), &["33.72"]))
        .collect();
    let agents: Vec<Agent> = (0..AGENTS).map(|_| Agent::new()).collect();
    for (i, agent) in agents.iter().enumerate() {
        // Even agents sync through A, odd ones through B.
        agent.init(&servers[i % 2].url(), &format!("hp-{i}"), &tokens[i]);
        let out = agent.import(&registrations(i));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let devices: Vec<String> = agents.iter().map(device_id).collect();

    // Everyone at once; A is killed once the first push has committed.
    let first: Vec<Option<i32>> = thread::scope(|s| {
        let syncs: Vec<_> = agents
            .iter()
            .map(|ag| s.spawn(move || ag.sync().0))
            .collect();
        let api = Api::new(&b, &spv);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let cov = api.get(&format!(
                "/api/v1/coverage?area=33.72&year={}",
                sigap_e2e::this_year()
            ));
            if cov["figures"]["covered"].as_u64().unwrap_or(0) > 0 || Instant::now() > deadline {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        a.kill();
        syncs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed_on_a: Vec<usize> = (0..AGENTS)
        .filter(|i| i % 2 == 0 && first[*i] != Some(0))
        .collect();
    assert!(
        !failed_on_a.is_empty(),
        "the kill came after every push through A had finished: {first:?}"
    );
    // What the database held of each laptop after the first round: none
    // of a laptop whose push A was answering when it died.
    let held: Vec<Value> = (0..AGENTS)
        .map(|i| receipt(&b, &tokens[i], &devices[i])["count"].clone())
        .collect();
    eprintln!("after the first round the database held {held:?} changes of the laptops");

    // A's agents go on: the first through B, the others through A
    // restarted (on the same port), all at once with B's.
    let moved = 0;
    agents[moved].ok(&["init", "--server", &b.url()]);
    thread::scope(|s| {
        let first_round: Vec<_> = agents
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 1 || *i == moved)
            .map(|(_, ag)| s.spawn(move || sync_until_clean(ag, 5)))
            .collect();
        a.restart();
        let rest: Vec<_> = agents
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0 && *i != moved)
            .map(|(_, ag)| s.spawn(move || sync_until_clean(ag, 5)))
            .collect();
        for h in first_round.into_iter().chain(rest) {
            h.join().unwrap();
        }
    });

    // Second round: edits of shared persons by both their agents, and
    // voids, synced at once through both servers.
    thread::scope(|s| {
        for (i, ag) in agents.iter().enumerate() {
            s.spawn(move || {
                for args in edits(i) {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    ag.ok(&args);
                }
                sync_until_clean(ag, 5);
            });
        }
    });
    // Everyone pulls what the others did; every laptop's receipt holds.
    for ag in &agents {
        sync_until_clean(ag, 3);
        let out = ag.run(&["sync", "--verify"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // The same changes into one SQLite server: each laptop's database,
    // copied, sent there (the server holds nothing of it, so the laptop
    // sends everything again).
    let r = Server::start();
    let r_spv = r.token("supervisor", "spv", &["33.72"]);
    let r_tokens: Vec<String> = (0..AGENTS)
        .map(|i| r.token("agent", &format!("agent-{i}"), &["33.72"]))
        .collect();
    let clones: Vec<Agent> = agents
        .iter()
        .enumerate()
        .map(|(i, ag)| {
            let clone = Agent::new();
            for suffix in ["", ".salt", "-wal"] {
                let from = format!("{}{suffix}", ag.db().display());
                if std::path::Path::new(&from).exists() {
                    std::fs::copy(&from, format!("{}{suffix}", clone.db().display())).unwrap();
                }
            }
            clone.ok(&["init", "--server", &r.url(), "--token", &r_tokens[i]]);
            clone
        })
        .collect();
    thread::scope(|s| {
        for c in &clones {
            s.spawn(move || sync_until_clean(c, 5));
        }
    });

    // Both PostgreSQL servers and the SQLite one answer alike.
    let year = sigap_e2e::this_year();
    let (api_a, api_b, api_r) = (Api::new(&a, &spv), Api::new(&b, &spv), Api::new(&r, &r_spv));
    let cov = format!("/api/v1/coverage?area=33.72&year={year}&depth=4");
    let coverage = api_a.get(&cov);
    assert_eq!(coverage, api_b.get(&cov));
    assert_eq!(coverage, api_r.get(&cov), "PostgreSQL and SQLite differ");

    let last = (AGENTS - 1) as u64 * STEP + EACH;
    let voided: BTreeSet<u64> = (0..AGENTS)
        .flat_map(|i| range(i).filter(move |n| n % 293 == i as u64))
        .collect();
    assert_eq!(
        coverage["figures"]["covered"].as_u64().unwrap(),
        last - voided.len() as u64,
        "{}",
        coverage["figures"]
    );

    let expected_conflicts: BTreeSet<String> = (0..last)
        .filter(|n| {
            let names: BTreeSet<String> = (0..AGENTS)
                .filter(|i| range(*i).contains(n))
                .map(|i| other_spelling(i, *n).unwrap_or_else(|| person(*n).name))
                .collect();
            names.len() > 1
        })
        .map(|n| person(n).nik)
        .collect();
    assert!(expected_conflicts.len() >= 10, "{expected_conflicts:?}");
    let conf = conflicts(&api_a);
    assert_eq!(
        conf.keys().cloned().collect::<BTreeSet<_>>(),
        expected_conflicts
    );
    assert_eq!(conf, conflicts(&api_b));
    assert_eq!(conf, conflicts(&api_r), "PostgreSQL and SQLite differ");

    let niks: Vec<String> = (0..last).map(|n| person(n).nik).collect();
    let on_a = persons(&api_a, &niks);
    let on_r = persons(&api_r, &niks);
    for nik in &niks {
        assert_eq!(
            on_a[nik], on_r[nik],
            "person {nik}: PostgreSQL and SQLite differ"
        );
    }
    // Shared persons took the later of their two agents' edits.
    let edited = on_a
        .values()
        .filter(|p| {
            p["fields"]["occupation"]
                .as_str()
                .is_some_and(|o| o.starts_with("ojek"))
        })
        .count();
    assert!(edited > 10, "{edited}");
    eprintln!(
        "first syncs {first:?}; {} persons, {} voided, {} conflicts, {edited} edited",
        last,
        voided.len(),
        conf.len()
    );

    for (i, device) in devices.iter().enumerate() {
        let pg = receipt(&b, &tokens[i], device);
        assert_eq!(pg, receipt(&a, &tokens[i], device));
        let sent = receipt(&r, &r_tokens[i], device);
        assert_eq!(pg["count"], sent["count"], "agent {i}");
        assert_eq!(pg["hash"], sent["hash"], "agent {i}: other changes");
    }
    verify(&a);
    verify(&r);
}
