//! Two agents register overlapping people offline; whatever order they
//! sync in, the server ends with one person per NIK, one conflict for the
//! differing spelling, and the same coverage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigap_e2e::{Agent, Backend, Server, on_both_backends, people::person, registrations_csv};

/// Runs the scenario with the agents syncing in `order`; returns the
/// coverage tree and the conflicts the supervisor sees.
fn scenario(backend: Backend, order: [usize; 2]) -> (Value, Value, Vec<Value>) {
    let server = Server::start_on(backend);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agents: Vec<Agent> = (0..2).map(|_| Agent::new()).collect();
    for (i, a) in agents.iter().enumerate() {
        let token = server.token("agent", &format!("agent-{i}"), &["33.72"]);
        a.init(&server.url(), &format!("hp-{i}"), &token);
    }
    // Agent 0: people 0..30. Agent 1: people 20..50, person 25 spelled
    // differently.
    assert!(agents[0].import(&registrations_csv(0..30)).status.success());
    let csv =
        registrations_csv(20..50).replace(&format!("{},", person(25).name), "Warga Dua Lima,");
    assert!(agents[1].import(&csv).status.success());

    for i in order {
        let (code, summary) = agents[i].sync();
        assert_eq!(code, Some(0), "agent {i}: {summary}");
    }
    // Both pull again so each replica sees the other's people.
    for a in &agents {
        assert_eq!(a.sync().0, Some(0));
    }
    // Agent 0 finds agent 1's person offline, by the NIK's lookup hash,
    // and sees the name only masked.
    let other = person(45);
    let out = agents[0].run(&["lookup", &other.nik]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("is already covered: registered by agent-1"),
        "{text}"
    );
    assert!(text.contains("W**** "), "{text}");
    assert!(!text.contains(&other.name), "{text}");
    let coverage = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 2);
    let (status, conflicts) = server.get(&sup, "/api/v1/conflicts");
    assert_eq!(status, 200, "{conflicts}");
    let persons: Vec<Value> = (0..50)
        .map(|n| {
            let (status, p) = server.get(&sup, &format!("/api/v1/persons/{}", person(n).nik));
            assert_eq!(status, 200, "person {n}: {p}");
            p
        })
        .collect();
    (coverage, conflicts, persons)
}

fn conflict_list(v: &Value) -> Vec<Value> {
    v["conflicts"].as_array().cloned().unwrap_or_default()
}

fn overlapping_agents_give_one_person_per_nik_in_either_order(backend: Backend) {
    let (cov_a, conf_a, persons_a) = scenario(backend, [0, 1]);
    let (cov_b, conf_b, persons_b) = scenario(backend, [1, 0]);

    assert_eq!(cov_a["figures"]["covered"], 50, "{cov_a}");
    assert_eq!(cov_a, cov_b, "coverage differs with the order of syncs");

    let (ca, cb) = (conflict_list(&conf_a), conflict_list(&conf_b));
    assert_eq!(ca.len(), 1, "{conf_a}");
    assert_eq!(cb.len(), 1, "{conf_b}");
    // The conflict is about person 25's name, both spellings kept.
    for c in [&ca[0], &cb[0]] {
        assert_eq!(c["nik"], person(25).nik.as_str(), "{c}");
        assert_eq!(c["fields"], serde_json::json!(["name"]), "{c}");
        let names = [
            &c["existing"]["fields"]["name"],
            &c["incoming"]["fields"]["name"],
        ];
        assert!(names.contains(&&Value::from("Warga Dua Lima")), "{c}");
        assert!(names.contains(&&Value::from(person(25).name)), "{c}");
    }

    // The merged fields of every person are the same in both orders.
    for (a, b) in persons_a.iter().zip(&persons_b) {
        assert_eq!(a["fields"], b["fields"]);
    }
}

on_both_backends!(overlapping_agents_give_one_person_per_nik_in_either_order);
