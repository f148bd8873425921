//! A change the server refuses is set aside with its reason; it does not
//! block the rest of the queue, and once corrected it goes through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::people::{person, registrations_csv_of};
use sigap_e2e::{Agent, Server, registrations_csv};

#[test]
fn rejected_change_does_not_block_ten_thousand_others() {
    let server = Server::start();
    // This agent works in Laweyan (33.72.01) only.
    let token = server.token("agent", "agent-laweyan", &["33.72.01"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-1", &token);

    // Person n lives in kelurahan n % 54; the first 11 are in Laweyan.
    let laweyan: Vec<u64> = (0..60_000u64)
        .filter(|n| n % 54 < 11)
        .take(10_000)
        .collect();
    let csv = registrations_csv_of(laweyan);
    assert!(agent.import(&csv).status.success());
    // One person in Banjarsari, outside the agent's areas.
    let outsider = person(53);
    assert!(outsider.kelurahan.starts_with("33.72.05"));
    assert!(agent.import(&registrations_csv(53..54)).status.success());

    let (code, summary) = agent.sync();
    assert_eq!(
        code,
        Some(1),
        "a rejection must show in the exit status: {summary}"
    );
    let text = summary.to_string();
    assert!(text.contains("area_not_assigned"), "{summary}");
    let cov = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 0);
    assert_eq!(cov["figures"]["covered"], 10_000, "{cov}");

    // The agent sees the reason and corrects the address.
    let status = agent.status();
    assert!(status.to_string().contains("area_not_assigned"), "{status}");
    agent.ok(&["edit", &outsider.nik, "--kelurahan", "33.72.01.1001"]);
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    let cov = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 0);
    assert_eq!(cov["figures"]["covered"], 10_001, "{cov}");
}
