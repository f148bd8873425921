//! Personal data stays out of the server's log: a full sync, failed
//! requests and refused changes, logged at the most verbose level, show
//! no full NIK, name, phone number or token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::{Agent, Server};

#[test]
fn a_full_sync_and_failed_requests_log_no_nik_name_phone_or_token() {
    let server = Server::start_logging("trace");
    let token = server.token("agent", "agent-laweyan", &["33.72.01"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-1", &token);
    let people = [
        (
            "3372011203850001",
            "Budi Santoso",
            "1985-03-12",
            "L",
            "081234567890",
        ),
        (
            "3372015505900002",
            "Siti Rahayu",
            "1990-05-15",
            "P",
            "085799887766",
        ),
    ];
    for (nik, name, born, sex, phone) in people {
        agent.ok(&[
            "register",
            "--nik",
            nik,
            "--name",
            name,
            "--birth-date",
            born,
            "--sex",
            sex,
            "--phone",
            phone,
            "--kelurahan",
            "33.72.01.1001",
            "--rw",
            "1",
            "--rt",
            "2",
            "--category",
            "bpu",
            "--occupation",
            "pedagang",
        ]);
    }
    // Refused by the server: outside the agent's area.
    agent.ok(&[
        "register",
        "--nik",
        "3372051111800003",
        "--name",
        "Joko Widodo",
        "--birth-date",
        "1980-11-11",
        "--sex",
        "L",
        "--phone",
        "081311112222",
        "--kelurahan",
        "33.72.05.1001",
        "--rw",
        "1",
        "--rt",
        "1",
        "--category",
        "bpu",
        "--occupation",
        "tukang",
    ]);
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(1), "{summary}");
    agent.ok(&["edit", "3372011203850001", "--name", "Budi Santosa"]);
    let (code, _) = agent.sync();
    assert_eq!(code, Some(1));

    // Failed requests: an unknown token, a NIK in a path, a bad body.
    let (status, _) = server.get("sigap_notatoken", "/api/v1/persons/3372011203850001");
    assert_eq!(status, 401);
    let (status, _) = server.get(&token, "/api/v1/persons/3372015505900002");
    assert_eq!(status, 403);
    let (status, body) = server.get(&sup, "/api/v1/persons/3372015505900002");
    assert_eq!(status, 200, "{body}");
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/sync/push", server.url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"protocol":2,"changes":[{"nik":"3372011203850001","name":"Budi Santoso"}]}"#)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);

    let log = std::fs::read_to_string(server.log_file()).unwrap();
    assert!(log.lines().count() > 20, "the log is there:\n{log}");
    assert!(
        log.contains("3372**********01"),
        "NIKs appear masked:\n{log}"
    );
    let secrets = [
        "3372011203850001",
        "3372015505900002",
        "3372051111800003",
        "Budi",
        "Santos",
        "Siti",
        "Rahayu",
        "Joko",
        "Widodo",
        "081234567890",
        "085799887766",
        "081311112222",
        token.as_str(),
        sup.as_str(),
        "sigap_notatoken",
    ];
    for secret in secrets {
        if let Some(line) = log.lines().find(|l| l.contains(secret)) {
            panic!("{secret:?} is in the server's log: {line}");
        }
    }
}
