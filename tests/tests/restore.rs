//! A field laptop restored from an old backup: its database has forgotten
//! changes the server holds from it, so its next changes would reuse their
//! numbers. `sigap sync` sees it from the device receipt, says so, and
//! renumbers what it has not sent: nothing rejected, lost or doubled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use sigap_e2e::{Agent, Backend, Server, on_both_backends, registrations_csv};

/// Copies the device's database files (the database and its WAL, if
/// any) from one folder to another, while no `sigap` runs.
fn copy_db(agent: &Agent, from: &Path, to: &Path) {
    let name = agent
        .db()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name().to_string_lossy().to_string();
        if file.starts_with(&name) {
            std::fs::copy(entry.path(), to.join(&file)).unwrap();
        }
    }
}

fn a_laptop_restored_from_an_old_backup_syncs_without_rejections(backend: Backend) {
    let server = Server::start_on(backend);
    let token = server.token("agent", "agent-1", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-1", &token);
    assert!(agent.import(&registrations_csv(0..3)).status.success());
    let (code, _) = agent.sync();
    assert_eq!(code, Some(0));

    // The backup, taken here.
    let backup = tempfile::tempdir().unwrap();
    copy_db(&agent, agent.dir(), backup.path());
    // Work after the backup reaches the server: numbers 4 and 5.
    assert!(agent.import(&registrations_csv(3..5)).status.success());
    let (code, _) = agent.sync();
    assert_eq!(code, Some(0));

    // The laptop is restored, and the agent goes on registering: its
    // database numbers the new changes 4, 5 and 6 again.
    for entry in std::fs::read_dir(agent.dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with("agent.db") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    copy_db(&agent, backup.path(), agent.dir());
    assert!(agent.import(&registrations_csv(5..8)).status.success());

    let out = agent.run(&["sync", "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{summary}\n{stderr}");
    assert_eq!(summary["rejected"], serde_json::json!([]), "{summary}");
    assert!(
        stderr.contains("backup"),
        "the agent is told about the restore: {stderr}"
    );
    let device = agent.status()["device_id"].as_str().unwrap().to_string();
    let (_, r) = server.get(&token, &format!("/api/v1/sync/device/{device}"));
    assert_eq!(r["receipt"]["count"], 8, "{r}");
    assert_eq!(r["receipt"]["highest_seq"], 8, "{r}");
    let cov = server.coverage(&sup, "33.72", 2026, 0);
    assert_eq!(cov["figures"]["covered"], 8, "{cov}");
    // A second sync has nothing left to do.
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["sent"], 0, "{summary}");
}

on_both_backends!(a_laptop_restored_from_an_old_backup_syncs_without_rejections);

/// The office's server restored from a backup older than what laptops
/// sent it: the next `sigap sync` sees from the device receipt that the
/// server lost changes it had acknowledged, sends them again, and the
/// agent's new work is not held up behind the gap. (SQLite: the backup
/// is `sigap-server backup` and a copy of the file.)
#[test]
fn a_server_restored_from_a_backup_gets_the_lost_changes_again() {
    let mut server = Server::start();
    let token = server.token("agent", "agent-1", &["33.72"]);
    let sup = server.token("supervisor", "spv", &["33.72"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-1", &token);
    assert!(agent.import(&registrations_csv(0..3)).status.success());
    let (code, _) = agent.sync();
    assert_eq!(code, Some(0));

    // The nightly backup, taken while the server serves.
    let backup_dir = tempfile::tempdir().unwrap();
    let backup = backup_dir.path().join("office.db");
    server.admin_ok(&["backup", backup.to_str().unwrap()]);
    // The next day's work reaches the server: numbers 4 and 5.
    assert!(agent.import(&registrations_csv(3..5)).status.success());
    let (code, _) = agent.sync();
    assert_eq!(code, Some(0));

    // The server's disk fails; the office restores last night's backup.
    server.kill();
    let db = server.db();
    for suffix in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    std::fs::copy(&backup, &db).unwrap();
    server.restart();
    let cov = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 0);
    assert_eq!(cov["figures"]["covered"], 3, "{cov}");

    // The agent goes on working and syncs as usual.
    assert!(agent.import(&registrations_csv(5..6)).status.success());
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    let device = agent.status()["device_id"].as_str().unwrap().to_string();
    let (_, r) = server.get(&token, &format!("/api/v1/sync/device/{device}"));
    assert_eq!(r["receipt"]["count"], 6, "{r}");
    let cov = server.coverage(&sup, "33.72", sigap_e2e::this_year(), 0);
    assert_eq!(cov["figures"]["covered"], 6, "{cov}");
}
