//! Group commit on a SQLite server (several waiting pushes applied in one
//! transaction): a server killed while concurrent pushes are in flight
//! loses none that it answered, and sending everything again applies
//! each change once.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use sigap_e2e::Server;
use sigap_e2e::people::change;
use sigap_shared::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest};

fn push(url: &str, token: &str, req: &PushRequest) -> Option<serde_json::Value> {
    let resp = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .ok()?
        .post(format!("{url}/api/v1/sync/push"))
        .bearer_auth(token)
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .json(req)
        .send()
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().ok()
}

#[test]
fn a_crash_among_concurrent_pushes_loses_nothing_that_was_answered() {
    let mut server = Server::start();
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let (agents, per) = (40u64, 50u64);
    let tokens: Vec<String> = (0..agents)
        .map(|i| server.token("agent", &format!("a{i}"), &["33.72"]))
        .collect();
    let requests: Vec<PushRequest> = (0..agents)
        .map(|i| {
            let device = uuid::Uuid::now_v7();
            PushRequest {
                protocol: PROTOCOL_VERSION,
                device_id: device,
                changes: (0..per)
                    .map(|k| change(i * per + k, device, k + 1))
                    .collect(),
                pending: None,
            }
        })
        .collect();
    let url = server.url();
    let barrier = Arc::new(Barrier::new(requests.len() + 1));
    let handles: Vec<_> = requests
        .iter()
        .cloned()
        .zip(tokens.clone())
        .map(|(req, token)| {
            let (barrier, url) = (barrier.clone(), url.clone());
            std::thread::spawn(move || {
                barrier.wait();
                push(&url, &token, &req)
            })
        })
        .collect();
    barrier.wait();
    // Killed while the pushes are being applied: some answered, some not.
    std::thread::sleep(Duration::from_millis(150));
    server.kill();
    let answered: Vec<Option<serde_json::Value>> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or(None))
        .collect();
    server.restart();
    let mut acknowledged = 0;
    for ((req, token), answer) in requests.iter().zip(&tokens).zip(&answered) {
        let (status, body) = server.get(token, &format!("/api/v1/sync/device/{}", req.device_id));
        assert_eq!(status, 200, "{body}");
        let held = body["receipt"]["count"].as_u64().unwrap_or(0);
        if let Some(answer) = answer {
            acknowledged += 1;
            assert_eq!(answer["receipt"]["count"].as_u64(), Some(per), "{answer}");
            assert_eq!(held, per, "an answered push was lost in the crash");
        } else {
            // Not answered: committed whole or not at all.
            assert!(held == 0 || held == per, "a push half applied: {held}");
        }
    }
    eprintln!("{acknowledged} of {agents} pushes answered before the kill");
    // Everything again: each change applied once.
    for ((req, token), answer) in requests.iter().zip(&tokens).zip(&answered) {
        let again = push(&server.url(), token, req).expect("push again");
        let outcomes: Vec<&str> = again["results"]
            .as_array()
            .map(|r| r.iter().filter_map(|c| c["outcome"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(outcomes.len() as u64, per);
        if answer.is_some() {
            assert!(outcomes.iter().all(|o| *o == "duplicate"), "{outcomes:?}");
        } else {
            assert!(
                outcomes.iter().all(|o| *o == "duplicate")
                    || outcomes.iter().all(|o| *o == "applied"),
                "{outcomes:?}"
            );
        }
        assert_eq!(again["receipt"]["count"].as_u64(), Some(per));
    }
    let year = sigap_e2e::this_year();
    let covered = server.coverage(&sup, "33.72", year, 0)["figures"]["covered"].as_u64();
    assert_eq!(covered, Some(agents * per));
}
