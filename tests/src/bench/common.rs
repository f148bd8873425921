//! What the SQLite scenarios share: pushing over HTTP as `sigap sync`
//! does (pages of [`MAX_PUSH_CHANGES`], two in flight) with every answer
//! kept for the checks after the clock stops, and the checks every
//! scenario ends with (`coverage verify`, counts read from the server).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sigap_shared::Change;
use sigap_shared::wire::{
    ChangeResult, Outcome, PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest, PushResponse, Receipt,
};

use crate::procs::{Server, bin};

/// Everything the server answered to a run of pushes.
#[derive(Debug, Default)]
pub struct Pushed {
    /// From the first request sent to the last answer received.
    pub wall: Duration,
    /// Each push's latency, request to the answer's last byte.
    pub latencies: Vec<Duration>,
    /// Every change's answer (in no particular order when pages were in
    /// flight together).
    pub results: Vec<ChangeResult>,
    /// Each push's receipt.
    pub receipts: Vec<Receipt>,
}

impl Pushed {
    /// How many answers of each kind: `applied`, `merged`, …, and
    /// `rejected:CODE` per rejection code.
    pub fn outcomes(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in &self.results {
            *out.entry(outcome_name(&r.outcome)).or_insert(0) += 1;
        }
        out
    }

    /// The receipt that counts the most changes (the last one committed).
    pub fn last_receipt(&self) -> Option<&Receipt> {
        self.receipts.iter().max_by_key(|r| r.count)
    }

    /// Checks that every device pushed once and its receipt counts its
    /// `per_device` changes, all held in order.
    pub fn assert_each_device_holds(&self, devices: u64, per_device: u64) {
        assert_eq!(self.receipts.len() as u64, devices, "one push per device");
        assert!(
            self.receipts
                .iter()
                .all(|r| r.count == per_device && r.highest_seq == per_device),
            "a device's receipt does not count its {per_device} changes"
        );
    }
}

/// An answer as one word (`rejected:CODE` for a rejection).
pub fn outcome_name(o: &Outcome) -> String {
    match o {
        Outcome::Applied => "applied".into(),
        Outcome::Merged => "merged".into(),
        Outcome::Duplicate => "duplicate".into(),
        Outcome::Superseded { .. } => "superseded".into(),
        Outcome::Pending => "pending".into(),
        Outcome::Rejected { code, .. } => format!("rejected:{code}"),
    }
}

/// A push's request body, made before it is sent: an agent's device
/// encodes its own pages, so the harness does it before the clock runs
/// rather than on the cores the server is measured on.
pub struct Body {
    json: Vec<u8>,
    changes: usize,
}

impl Body {
    /// The push of `changes` (one device's, in order).
    pub fn of(changes: Vec<Change>) -> Body {
        let req = PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: changes[0].device_id,
            changes,
            pending: None,
        };
        let json = serde_json::to_vec(&req).expect("push request as JSON");
        Body {
            json,
            changes: req.changes.len(),
        }
    }
}

/// A push's answer as it arrived, decoded after the clock stops.
struct Answer {
    sent_at: Instant,
    answered_at: Instant,
    bytes: Vec<u8>,
    changes: usize,
}

impl Answer {
    fn took(&self) -> Duration {
        self.answered_at - self.sent_at
    }

    fn decode(self) -> (Duration, PushResponse) {
        let body: PushResponse = serde_json::from_slice(&self.bytes).expect("push response");
        assert_eq!(body.results.len(), self.changes, "one answer per change");
        (self.took(), body)
    }
}

/// Sends `body` and waits for the whole answer; its latency runs from
/// the request to the answer's last byte.
fn send(client: &reqwest::blocking::Client, url: &str, token: &str, body: Body) -> Answer {
    let changes = body.changes;
    let sent_at = Instant::now();
    let resp = client
        .post(format!("{url}/api/v1/sync/push"))
        .bearer_auth(token)
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.json)
        .send()
        .expect("push");
    assert!(
        resp.status().is_success(),
        "push answered {}",
        resp.status()
    );
    let bytes = resp.bytes().expect("push response").to_vec();
    Answer {
        sent_at,
        answered_at: Instant::now(),
        bytes,
        changes,
    }
}

/// One push of `changes` (one device's, in order); its latency (request
/// to the answer's last byte) and answer.
pub fn push_page(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    changes: Vec<Change>,
) -> (Duration, PushResponse) {
    send(client, url, token, Body::of(changes)).decode()
}

/// Everything answered to `answers`, decoded, with the wall time from
/// the first request to the last answer.
fn collect(answers: Vec<Answer>) -> Pushed {
    let first = answers.iter().map(|a| a.sent_at).min();
    let last = answers.iter().map(|a| a.answered_at).max();
    let mut all = Pushed {
        wall: match (first, last) {
            (Some(f), Some(l)) => l - f,
            _ => Duration::ZERO,
        },
        ..Pushed::default()
    };
    for a in answers {
        let (took, body) = a.decode();
        all.latencies.push(took);
        all.results.extend(body.results);
        all.receipts.push(body.receipt);
    }
    all
}

/// Pushes `pages` pages, page `i` made by `make(i)` when a connection is
/// free to send it, `in_flight` connections each sending its next page
/// when its last is answered, as `sigap sync` does. Pages are made on the
/// pushing threads (the harness never holds more than `in_flight` of
/// them), outside the push's latency.
pub fn push_pages(
    url: &str,
    token: &str,
    pages: usize,
    make: &(dyn Fn(usize) -> Vec<Change> + Sync),
    in_flight: usize,
) -> Pushed {
    push_bodies(url, token, pages, &|i| Body::of(make(i)), in_flight)
}

/// [`push_pages`] of bodies made by `make`.
fn push_bodies(
    url: &str,
    token: &str,
    pages: usize,
    make: &(dyn Fn(usize) -> Body + Sync),
    in_flight: usize,
) -> Pushed {
    let next = Mutex::new(0usize);
    let answers = Mutex::new(Vec::with_capacity(pages));
    let clients: Vec<reqwest::blocking::Client> = (0..in_flight.max(1))
        .map(|_| reqwest::blocking::Client::new())
        .collect();
    std::thread::scope(|scope| {
        // One connection per worker, kept for all its pages.
        for client in &clients {
            let (next, answers) = (&next, &answers);
            scope.spawn(move || {
                loop {
                    // The page is made while its number is held, so
                    // pages leave in order.
                    let body = {
                        let mut n = next.lock().expect("next page");
                        if *n >= pages {
                            break;
                        }
                        *n += 1;
                        make(*n - 1)
                    };
                    let answer = send(client, url, token, body);
                    answers.lock().expect("answers").push(answer);
                }
            });
        }
    });
    collect(answers.into_inner().expect("answers"))
}

/// Pushes `changes` (one device's, built beforehand) in pages of `page`,
/// `in_flight` at a time. Every page is encoded before the first is
/// sent; [`Pushed::wall`] runs from the first request to the last answer.
pub fn push_changes(
    url: &str,
    token: &str,
    changes: Vec<Change>,
    page: usize,
    in_flight: usize,
) -> Pushed {
    let mut pages: Vec<Mutex<Option<Body>>> = Vec::new();
    let mut rest = changes.into_iter();
    loop {
        let next: Vec<Change> = rest.by_ref().take(page.max(1)).collect();
        if next.is_empty() {
            break;
        }
        pages.push(Mutex::new(Some(Body::of(next))));
    }
    push_bodies(
        url,
        token,
        pages.len(),
        &|i| {
            pages[i]
                .lock()
                .expect("page")
                .take()
                .expect("each page is sent once")
        },
        in_flight,
    )
}

/// Pushes each device's changes in one push, all devices at once (one
/// thread each, released together by a barrier once every connection's
/// client is built and every body encoded). [`Pushed::wall`] runs from
/// the first request to the last answer.
pub fn push_at_once(url: &str, batches: Vec<(String, Vec<Change>)>) -> Pushed {
    push_at_once_to(
        batches
            .into_iter()
            .map(|(token, changes)| (url.to_string(), token, changes))
            .collect(),
    )
}

/// [`push_at_once`] with each push's server: (url, token, changes).
pub fn push_at_once_to(pushes: Vec<(String, String, Vec<Change>)>) -> Pushed {
    let barrier = std::sync::Barrier::new(pushes.len());
    let answers = Mutex::new(Vec::with_capacity(pushes.len()));
    std::thread::scope(|scope| {
        for (url, token, changes) in pushes {
            let (barrier, answers) = (&barrier, &answers);
            scope.spawn(move || {
                let client = reqwest::blocking::Client::new();
                let body = Body::of(changes);
                barrier.wait();
                let answer = send(&client, &url, &token, body);
                answers.lock().expect("answers").push(answer);
            });
        }
    });
    collect(answers.into_inner().expect("answers"))
}

/// `sigap-server coverage verify` (a full recount of every person
/// against the counters) on `server`'s database, which must come out
/// clean; returns how long it took.
pub fn verify_clean(server: &Server) -> Duration {
    let start = Instant::now();
    let out = std::process::Command::new(bin("sigap-server"))
        .arg("--db")
        .arg(server.db())
        .args(["coverage", "verify", "--json"])
        .stderr(Stdio::piped())
        .output()
        .expect("coverage verify");
    let took = start.elapsed();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success() && report["ok"] == Value::Bool(true),
        "coverage verify found differences: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// A count read from the server's SQLite database (read-only, beside the
/// running server).
pub fn db_count(db: &Path, sql: &str) -> u64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("server database");
    let n: i64 = conn
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    u64::try_from(n).unwrap_or(0)
}

/// Persons covered in Kota Surakarta this year, as a supervisor asks.
pub fn covered(server: &Server, sup: &str) -> u64 {
    server.coverage(sup, "33.72", crate::this_year(), 0)["figures"]["covered"]
        .as_u64()
        .unwrap_or(0)
}

/// Checks that every change was answered as `expected` says, and nothing
/// else was answered.
pub fn assert_outcomes(what: &str, pushed: &Pushed, expected: &[(&str, u64)]) {
    let got = pushed.outcomes();
    let want: BTreeMap<String, u64> = expected
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), *n))
        .collect();
    assert_eq!(got, want, "{what}: the answers differ from what was sent");
}

/// Asks for coverage answers as the coverage rows time them: one kept
/// connection driven on the asking thread (a current-thread runtime),
/// each answer timed from the request to its last byte, and its covered
/// figure read without building the answer's JSON tree.
///
/// Not `reqwest::blocking` and a `Value`: the blocking client hands each
/// chunk of a 1.4 MB answer from its own runtime thread to the caller,
/// and a `Value` of that answer is tens of thousands of small
/// allocations, whose release glibc consolidates inside the next timed
/// request. Together they were most of what the cached rows measured
/// (BENCHMARKS.md, issue 16: p50 ~2 ms against the server's ~0.8 ms).
pub struct CoverageAsker {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// One coverage answer: when it was asked, when its last byte arrived,
/// and the persons it counts.
pub struct Asked {
    pub sent: Instant,
    pub end: Instant,
    pub covered: u64,
}

impl Asked {
    pub fn took(&self) -> Duration {
        self.end - self.sent
    }
}

/// The one figure every coverage check reads; the rest of the answer is
/// parsed (it must be JSON) and skipped.
#[derive(serde::Deserialize)]
struct CoverageFigures {
    figures: Covered,
}

#[derive(serde::Deserialize)]
struct Covered {
    covered: u64,
}

impl Default for CoverageAsker {
    fn default() -> CoverageAsker {
        CoverageAsker {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the coverage asks"),
            client: reqwest::Client::new(),
        }
    }
}

impl CoverageAsker {
    /// `GET {base}/api/v1/coverage?{query}` with `token`.
    pub fn ask(&self, base: &str, token: &str, query: &str) -> Asked {
        let url = format!("{base}/api/v1/coverage?{query}");
        let sent = Instant::now();
        let body = self.runtime.block_on(async {
            let resp = self
                .client
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .expect("coverage");
            assert!(resp.status().is_success(), "coverage: {}", resp.status());
            resp.bytes().await.expect("coverage body")
        });
        let end = Instant::now();
        let answer: CoverageFigures =
            serde_json::from_slice(&body).expect("a coverage answer with figures.covered");
        Asked {
            sent,
            end,
            covered: answer.figures.covered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(sent_ms: u64, answered_ms: u64, base: Instant, device: uuid::Uuid) -> Answer {
        let response = PushResponse {
            protocol: PROTOCOL_VERSION,
            results: Vec::new(),
            receipt: Receipt {
                device_id: device,
                count: 0,
                highest_seq: 0,
                max_seq: 0,
                hash: String::new(),
            },
        };
        Answer {
            sent_at: base + Duration::from_millis(sent_ms),
            answered_at: base + Duration::from_millis(answered_ms),
            bytes: serde_json::to_vec(&response).expect("response"),
            changes: 0,
        }
    }

    #[test]
    fn the_wall_runs_from_the_first_request_to_the_last_answer() {
        let base = Instant::now();
        let device = uuid::Uuid::nil();
        // Answers arrive out of order: the wall is not the last one's
        // latency, nor the sum of the latencies.
        let pushed = collect(vec![
            answer(30, 90, base, device),
            answer(10, 50, base, device),
            answer(20, 140, base, device),
        ]);
        assert_eq!(pushed.wall, Duration::from_millis(130));
        let mut latencies = pushed.latencies.clone();
        latencies.sort();
        assert_eq!(
            latencies,
            [40, 60, 120].map(Duration::from_millis).to_vec(),
            "each push's latency is its own request to its own answer"
        );
        assert_eq!(pushed.receipts.len(), 3);
        assert_eq!(collect(Vec::new()).wall, Duration::ZERO);
    }

    #[test]
    #[should_panic(expected = "one answer per change")]
    fn an_answer_that_leaves_changes_unanswered_stops_the_run() {
        let base = Instant::now();
        let mut short = answer(0, 1, base, uuid::Uuid::nil());
        short.changes = 2;
        collect(vec![short]);
    }
}
