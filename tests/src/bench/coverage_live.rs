//! Coverage to RT depth while an agent pushes (issue 16): the answers a
//! supervisor gets while the data changes, not only those served from the
//! server's cache.
//!
//! The server keeps each serialised answer until anything it is built
//! from changes (a data generation bumped by every write to counters,
//! baselines or targets), and the answer does not say whether it was
//! built or served. So the harness tells them apart from what it knows:
//!
//! - a background thread pushes 100 changes/s as one agent (10 new
//!   registrations every 100 ms, each push timed from send to answer);
//! - the measuring loop waits until a push *sent after its previous answer
//!   had arrived* has been acknowledged, then asks (this answer must be
//!   built: the push committed, and bumped the generation, after the
//!   cached answer was kept), then asks again at once;
//! - an answer is counted as **built** when its covered figure differs
//!   from the previous answer's (the previous answer is what the cache
//!   held, so different bytes were built), and as **cached** when no push
//!   was in flight from the previous request's start to this answer's end
//!   (nothing can have changed the generation); anything else (a push
//!   committed meanwhile and the figure did not show it) is left out and
//!   counted.
//!
//! Every answer, either kind, must count at least the persons of every
//! push acknowledged before it was asked and at most those of every push
//! sent before it arrived: a stale cached answer fails the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::common::{self, Asked, CoverageAsker, outcome_name, push_page};
use crate::people::change;
use crate::procs::Server;

/// Changes per push and time between pushes: 100 changes/s.
const PER_PUSH: u64 = 10;
const EVERY: Duration = Duration::from_millis(100);

/// What the pusher has done so far.
#[derive(Default)]
struct Timeline {
    /// Pushes answered: when each was sent and answered.
    done: Vec<(Instant, Instant)>,
    /// The push on its way, since when.
    in_flight: Option<Instant>,
    /// Changes acknowledged, and sent.
    acked: u64,
    sent: u64,
}

impl Timeline {
    /// Whether any push was on its way at some moment of `from..to`.
    fn push_during(&self, from: Instant, to: Instant) -> bool {
        self.in_flight.is_some_and(|s| s <= to)
            || self.done.iter().any(|(s, a)| *s <= to && *a >= from)
    }
}

/// The live answers, by kind.
pub struct Live {
    pub built: Vec<Duration>,
    pub cached: Vec<Duration>,
    /// Answers that could not be told apart (left out of both).
    pub unsure: usize,
    /// Changes the agent pushed while the loop ran.
    pub pushed: u64,
    /// The pushes' own latency.
    pub push_latencies: Vec<Duration>,
}

/// Asks for the coverage of Kota Surakarta to RT depth once.
fn ask(asker: &CoverageAsker, url: &str, sup: &str, year: &str) -> Asked {
    asker.ask(url, sup, &format!("area=33.72&year={year}&depth=4"))
}

/// Asks for the coverage while one agent pushes 100 changes/s, until
/// `reps` built answers and `reps` cached ones are in (or a minute and a
/// half has gone by; fewer then are reported as they are). `persons` is
/// the number covered before; the pushed persons are numbered from
/// `first_person` on (none of them known to the server).
pub fn measure(server: &Server, persons: u64, first_person: u64, reps: usize) -> Live {
    let url = server.url();
    let sup = server.token("supervisor", "spv-live", &["33.72"]);
    let agent = server.token("agent", "live", &["33.72"]);
    let year = crate::this_year().to_string();
    let timeline = Arc::new(Mutex::new(Timeline::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (acks, acked) = mpsc::channel::<Instant>();

    let pusher = {
        let (timeline, stop, url) = (timeline.clone(), stop.clone(), url.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let device = uuid::Uuid::now_v7();
            let start = Instant::now();
            let mut latencies = Vec::new();
            let mut k = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let due = start + EVERY * u32::try_from(k).unwrap_or(u32::MAX);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let page: Vec<_> = (0..PER_PUSH)
                    .map(|i| {
                        let j = k * PER_PUSH + i;
                        change(first_person + j, device, j + 1)
                    })
                    .collect();
                let sent = Instant::now();
                {
                    let mut t = timeline.lock().expect("timeline");
                    t.in_flight = Some(sent);
                    t.sent += PER_PUSH;
                }
                let (took, body) = push_page(&client, &url, &agent, page);
                let answered = Instant::now();
                assert!(
                    body.results
                        .iter()
                        .all(|r| outcome_name(&r.outcome) == "applied"),
                    "live pusher: a registration not applied: {:?}",
                    body.results
                );
                {
                    let mut t = timeline.lock().expect("timeline");
                    t.in_flight = None;
                    t.done.push((sent, answered));
                    t.acked += PER_PUSH;
                }
                latencies.push(took);
                let _ = acks.send(sent);
                k += 1;
            }
            (k * PER_PUSH, latencies)
        })
    };

    let asker = CoverageAsker::default();
    let (mut built, mut cached, mut unsure) = (Vec::new(), Vec::new(), 0usize);
    let deadline = Instant::now() + Duration::from_secs(90);
    // The first answer fills the cache; it is not counted.
    let mut prev = ask(&asker, &url, &sup, &year);
    let classify = |prev: &Asked,
                    a: &Asked,
                    acked_before: u64,
                    sent_after: u64,
                    built: &mut Vec<Duration>,
                    cached: &mut Vec<Duration>,
                    unsure: &mut usize| {
        assert!(
            (persons + acked_before..=persons + sent_after).contains(&a.covered),
            "a coverage answer counts {} persons, but {} were acknowledged before it was asked and {} sent before it arrived",
            a.covered,
            persons + acked_before,
            persons + sent_after
        );
        if a.covered != prev.covered {
            built.push(a.took());
        } else if !timeline
            .lock()
            .expect("timeline")
            .push_during(prev.sent, a.end)
        {
            cached.push(a.took());
        } else {
            *unsure += 1;
        }
    };
    while (built.len() < reps || cached.len() < reps) && Instant::now() < deadline {
        // Wait for a push sent after the previous answer arrived to be
        // acknowledged.
        loop {
            match acked.recv_timeout(Duration::from_secs(10)) {
                Ok(sent) if sent > prev.end => break,
                Ok(_) => {}
                Err(e) => panic!("the live pusher stopped: {e}"),
            }
        }
        for _ in 0..2 {
            let before = timeline.lock().expect("timeline").acked;
            let a = ask(&asker, &url, &sup, &year);
            let after = timeline.lock().expect("timeline").sent;
            classify(
                &prev,
                &a,
                before,
                after,
                &mut built,
                &mut cached,
                &mut unsure,
            );
            prev = a;
        }
    }
    stop.store(true, Ordering::SeqCst);
    drop(acked);
    let (pushed, push_latencies) = pusher.join().expect("the live pusher failed");
    let sup_final = common::covered(server, &sup);
    assert_eq!(sup_final, persons + pushed, "covered after the live pushes");
    Live {
        built,
        cached,
        unsure,
        pushed,
        push_latencies,
    }
}
