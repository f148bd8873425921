//! Sync under faults: lost answers, a server killed mid-push, a client
//! killed mid-sync. Nothing is lost and nothing is applied twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::Value;
use sigap_e2e::{Agent, Backend, FaultProxy, Server, on_both_backends, registrations_csv};

fn device_id(agent: &Agent) -> String {
    let s = agent.status();
    s["device_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no device id in status: {s}"))
        .to_string()
}

/// What the server holds from the agent's device.
fn receipt(server: &Server, token: &str, agent: &Agent) -> Value {
    let (status, body) = server.get(token, &format!("/api/v1/sync/device/{}", device_id(agent)));
    assert_eq!(status, 200, "{body}");
    body["receipt"].clone()
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
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("sync never completed: {last}");
}

fn lost_push_answer_is_retried_and_applied_once(backend: Backend) {
    let server = Server::start_on(backend);
    let proxy = FaultProxy::start(server.port);
    let token = server.token("agent", "agent-1", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&proxy.url(), "hp-1", &token);
    assert!(agent.import(&registrations_csv(0..1200)).status.success());

    proxy.drop_next_push_answers(2);
    sync_until_clean(&agent, 3);
    assert_eq!(proxy.dropped(), 2, "the proxy lost no answer");

    let r = receipt(&server, &token, &agent);
    assert_eq!(r["count"], 1200, "{r}");
    assert_eq!(r["highest_seq"], 1200, "{r}");
    let cov = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 0);
    assert_eq!(cov["figures"]["covered"], 1200, "{cov}");
    // Nothing pending on the device, and the kept receipt matches.
    let verify = agent.run(&["sync", "--verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

fn server_killed_mid_push_loses_nothing_and_doubles_nothing(backend: Backend) {
    let mut server = Server::start_on(backend);
    let token = server.token("agent", "agent-1", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-1", &token);
    let total = 20_000u64;
    assert!(agent.import(&registrations_csv(0..total)).status.success());

    for round in 0..3u64 {
        let mut sync = agent.command(&["sync"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(150 + round * 150));
        server.kill();
        let _ = sync.wait();
        server.restart();
    }
    sync_until_clean(&agent, 3);

    let r = receipt(&server, &token, &agent);
    assert_eq!(r["count"], total, "{r}");
    assert_eq!(r["highest_seq"], total, "{r}");
    let cov = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 0);
    assert_eq!(cov["figures"]["covered"], total, "{cov}");
    let verify = server.admin(&["coverage", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

fn client_killed_mid_sync_then_next_sync_completes(backend: Backend) {
    let server = Server::start_on(backend);
    let token = server.token("agent", "agent-1", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-1", &token);
    let total = 15_000u64;
    assert!(agent.import(&registrations_csv(0..total)).status.success());

    for delay in [100u64, 300] {
        let mut sync = agent.command(&["sync"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = sync.kill();
        let _ = sync.wait();
    }
    let summary = sync_until_clean(&agent, 2);
    let status = agent.status();
    assert_eq!(status["pending_changes"], 0, "{status}\n{summary}");

    let r = receipt(&server, &token, &agent);
    assert_eq!(r["count"], total, "{r}");
    let cov = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 0);
    assert_eq!(cov["figures"]["covered"], total, "{cov}");
}

fn pages_arriving_in_reverse_order_all_take_effect(backend: Backend) {
    let server = Server::start_on(backend);
    let proxy = FaultProxy::start(server.port);
    let token = server.token("agent", "agent-1", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&proxy.url(), "hp-1", &token);
    // More than one push page (10,000 changes), then voids and edits of
    // persons registered in the first page: they travel in the second.
    assert!(agent.import(&registrations_csv(0..10_500)).status.success());
    let niks: Vec<String> = (0..5).map(|n| sigap_e2e::people::person(n).nik).collect();
    for nik in &niks[..3] {
        agent.ok(&["void", nik, "--reason", "duplicate form"]);
    }
    for nik in &niks[3..] {
        agent.ok(&["edit", nik, "--occupation", "ojek"]);
    }
    proxy.reorder_next_push();
    // One sync: the second page comes back `pending` and is sent again
    // once the first is held.
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert!(proxy.reordered(), "the proxy reordered no page");
    assert_eq!(summary["rejected"], serde_json::json!([]), "{summary}");

    let r = receipt(&server, &token, &agent);
    assert_eq!(r["count"], 10_505, "{r}");
    assert_eq!(r["highest_seq"], 10_505, "{r}");
    let cov = server.coverage(&sup, "33.72", 2026, 0);
    assert_eq!(cov["figures"]["covered"], 10_497, "{cov}");
    for nik in &niks[..3] {
        let (_, p) = server.get(&sup, &format!("/api/v1/persons/{nik}"));
        assert_eq!(p["fields"]["status"], "void", "{p}");
    }
    for nik in &niks[3..] {
        let (_, p) = server.get(&sup, &format!("/api/v1/persons/{nik}"));
        assert_eq!(p["fields"]["occupation"], "ojek", "{p}");
    }
}

on_both_backends!(
    lost_push_answer_is_retried_and_applied_once,
    server_killed_mid_push_loses_nothing_and_doubles_nothing,
    client_killed_mid_sync_then_next_sync_completes,
    pages_arriving_in_reverse_order_all_take_effect,
);
