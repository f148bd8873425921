//! Issue 13 through the real binaries: RT visits synced by `sigap sync`,
//! and the supervisor's `sigap report`, `sigap conflicts` and `sigap
//! resolve`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::{Agent, FaultProxy, Server};

fn server_visits(server: &Server) -> i64 {
    let conn = rusqlite::Connection::open(server.db()).unwrap();
    conn.query_row("SELECT COUNT(*) FROM visits", [], |r| r.get(0))
        .unwrap()
}

fn unsynced_visits(agent: &Agent) -> i64 {
    let conn = rusqlite::Connection::open(agent.db()).unwrap();
    conn.query_row("SELECT COUNT(*) FROM visits WHERE synced = 0", [], |r| {
        r.get(0)
    })
    .unwrap()
}

fn visit(agent: &Agent, kel: &str, rw: &str, rt: &str) {
    agent.ok(&[
        "visit",
        "--kelurahan",
        kel,
        "--rw",
        rw,
        "--rt",
        rt,
        "--households",
        "4",
    ]);
}

#[test]
fn visits_sync_once_even_when_the_answer_is_lost() {
    let server = Server::start();
    let token = server.token("agent", "ani", &["33.72.01"]);
    let proxy = FaultProxy::start(server.port);
    let agent = Agent::new();
    agent.init(&proxy.url(), "hp-ani", &token);
    visit(&agent, "33.72.01.1001", "1", "2");
    visit(&agent, "33.72.01.1001", "1", "3");
    // The server stores the visits but its answer never arrives: the
    // client sends them again and they are answered as held.
    proxy.drop_next_push_answers(1);
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(proxy.dropped(), 1);
    assert_eq!(summary["visits"]["synced"], 2, "{summary}");
    assert_eq!(server_visits(&server), 2);
    assert_eq!(unsynced_visits(&agent), 0);
    // A later sync sends nothing again.
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["visits"]["synced"], 0, "{summary}");
    assert_eq!(server_visits(&server), 2);

    // A visit recorded by a sync that died before the answer is still
    // unsynced on the device: the next sync sends it, the server keeps one.
    let conn = rusqlite::Connection::open(agent.db()).unwrap();
    conn.execute("UPDATE visits SET synced = 0", []).unwrap();
    drop(conn);
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["visits"]["synced"], 2, "{summary}");
    assert_eq!(server_visits(&server), 2);
}

#[test]
fn a_visit_outside_the_agents_areas_is_refused_and_not_stored() {
    let server = Server::start();
    let token = server.token("agent", "ani", &["33.72.01"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-ani", &token);
    // Joyotakan lies in Serengan (33.72.02), not the agent's kecamatan.
    visit(&agent, "33.72.02.1001", "1", "1");
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    let refused = summary["visits"]["refused"].to_string();
    assert!(refused.contains("area_not_allowed"), "{summary}");
    assert_eq!(server_visits(&server), 0);
    // Kept on the device with the reason, not sent again.
    let conn = rusqlite::Connection::open(agent.db()).unwrap();
    let reason: String = conn
        .query_row("SELECT refused FROM visits", [], |r| r.get(0))
        .unwrap();
    assert!(reason.contains("outside"), "{reason}");
    let (_, summary) = agent.sync();
    assert_eq!(summary["visits"]["refused"].as_array().unwrap().len(), 0);
}
