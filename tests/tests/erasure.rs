//! An admin's erasure of a person (a PDP request) reaches the laptop of
//! the agent who registered them, through the real binaries: after the
//! next `sigap sync` neither `sigap show`, `sigap list` nor the laptop's
//! database holds the name, phone, occupation or employer, while a change
//! the agent has not sent yet is kept, and overwritten once the server
//! has answered it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use sigap_e2e::procs::open_agent_db;
use sigap_e2e::{Agent, Server};

const SITI: &str = "3372015505900002";
const BUDI: &str = "3372011203850001";
/// What the agent typed about Siti, all of it to be erased.
const PERSONAL: [&str; 5] = [
    "Siti Rahayu",
    "Rahayu",
    "081234567890",
    "penjahit",
    "Konveksi Laweyan",
];
/// A phone the agent types after the first sync and has not sent when
/// the erasure is pulled.
const NEW_PHONE: &str = "089911112222";

fn register(agent: &Agent, args: &[&str]) {
    let mut all = vec![
        "register",
        "--no-input",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "1",
        "--rt",
        "2",
    ];
    all.extend_from_slice(args);
    agent.ok(&all);
}

fn post(server: &Server, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .header(
            sigap_shared::wire::PROTOCOL_HEADER,
            sigap_shared::PROTOCOL_VERSION.to_string(),
        )
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// Every text value of every table of the laptop's database that holds
/// `needle`, as `table.column` (the changes table by state).
fn held_in_database(agent: &Agent, needle: &str) -> Vec<String> {
    let conn = open_agent_db(&agent.db());
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut found = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let state = names.iter().position(|n| n == "state" && t == "changes");
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for (i, name) in names.iter().enumerate() {
                let v: rusqlite::types::Value = r.get(i).unwrap();
                if let rusqlite::types::Value::Text(text) = v
                    && text.contains(needle)
                {
                    let state: Option<String> = state.map(|s| r.get(s).unwrap());
                    found.push(match state {
                        Some(s) => format!("{t}.{name} ({s})"),
                        None => format!("{t}.{name}"),
                    });
                }
            }
        }
    }
    found
}

#[test]
fn an_erasure_on_the_server_reaches_the_laptop_that_registered_the_person() {
    let server = Server::start();
    let token = server.token("agent", "ani", &["33.72.01"]);
    let admin = server.token("admin", "admin", &[]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-ani", &token);
    register(
        &agent,
        &[
            "--nik",
            SITI,
            "--name",
            "Siti Rahayu",
            "--birth-date",
            "1990-05-15",
            "--sex",
            "P",
            "--category",
            "pu",
            "--occupation",
            "penjahit",
            "--employer",
            "Konveksi Laweyan",
            "--phone",
            "081234567890",
            "--programs",
            "jkk,jkm",
        ],
    );
    // Someone else, who stays as typed.
    register(
        &agent,
        &[
            "--nik",
            BUDI,
            "--name",
            "Budi Santoso",
            "--birth-date",
            "1985-03-12",
            "--sex",
            "L",
            "--category",
            "bpu",
            "--occupation",
            "ojek",
        ],
    );
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["applied"], 2, "{summary}");

    // A new phone, typed before the erasure and not sent when it is
    // pulled: a gap in the numbers keeps it waiting on this laptop (the
    // server holds a device's changes in number order).
    agent.ok(&["edit", SITI, "--phone", NEW_PHONE]);
    let conn = open_agent_db(&agent.db());
    let moved = conn
        .execute(
            "UPDATE changes SET device_seq = 4 WHERE device_seq = 3 AND state = 'pending'",
            [],
        )
        .unwrap();
    assert_eq!(moved, 1);
    drop(conn);

    // The admin erases her on the server.
    let (st, body) = post(
        &server,
        &admin,
        &format!("/api/v1/persons/{SITI}/erase"),
        &json!({"reason": "PDP-2026-17"}),
    );
    assert_eq!(st, 200, "{body}");

    let (code, summary) = agent.sync();
    // Partial (exit 1): the edit still waits for its missing predecessor.
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(summary["waiting"], 1, "{summary}");
    assert_eq!(summary["erased"], 1, "{summary}");

    // Nothing she told the agent is left in what the laptop shows...
    let shown = agent.ok(&["show", SITI, "--json", "--history"]);
    let list = agent.ok(&["list", "--json"]);
    for gone in PERSONAL {
        assert!(!shown.contains(gone), "{gone} in {shown}");
        assert!(!list.contains(gone), "{gone} in {list}");
    }
    let record: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(record["name"], "[dihapus]");
    assert_eq!(record["occupation"], "[dihapus]");
    assert_eq!(record["employer"], "[dihapus]");
    // ...but what the coverage count needs, and the unsent phone.
    assert_eq!(record["kelurahan"], "33.72.01.1001");
    assert_eq!(record["category"], "pu");
    assert_eq!(record["birth_date"], "1990-05-15");
    assert_eq!(record["phone"], NEW_PHONE);
    assert_eq!(record["sync_state"], "pending");
    assert!(
        record["erased_on_server_at"]
            .as_str()
            .is_some_and(|t| t.starts_with(&sigap_e2e::this_year().to_string())),
        "{record}"
    );
    assert!(list.contains("Budi Santoso"), "{list}");
    let text = agent.ok(&["show", SITI]);
    assert!(
        text.contains("personal data erased on the server on"),
        "{text}"
    );
    assert!(!agent.ok(&["show", BUDI]).contains("erased"));

    // ...nor in the laptop's database: not in its records, not in the
    // changes it sent. The pending change keeps what it writes.
    for gone in PERSONAL {
        let left = held_in_database(&agent, gone);
        assert!(left.is_empty(), "{gone} still held in {left:?}");
    }
    let kept = held_in_database(&agent, NEW_PHONE);
    assert!(
        kept.contains(&"changes.fields (pending)".to_string())
            && kept
                .iter()
                .all(|w| w == "changes.fields (pending)" || w == "records.fields"),
        "the unsent edit and the record it made are kept: {kept:?}"
    );
    assert!(!held_in_database(&agent, "Budi Santoso").is_empty());

    // The gap closed, the edit goes: written before the erasure, it
    // loses to it on the server, and is overwritten here once answered.
    let conn = open_agent_db(&agent.db());
    conn.execute("UPDATE changes SET device_seq = 3 WHERE device_seq = 4", [])
        .unwrap();
    drop(conn);
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        summary["superseded"][0]["fields"],
        json!(["phone"]),
        "{summary}"
    );
    assert_eq!(summary["erased"], 1, "{summary}");
    assert!(held_in_database(&agent, NEW_PHONE).is_empty());
    let record: Value = serde_json::from_str(&agent.ok(&["show", SITI, "--json"])).unwrap();
    assert_eq!(record["phone"], "");
    assert_eq!(record["sync_state"], "synced");
    // A later sync finds nothing more to do.
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["erased"], 0, "{summary}");
}
