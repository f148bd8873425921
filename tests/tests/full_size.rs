//! The full Kota Surakarta run: the 2025 baseline, the existing membership
//! roll of 100,512, and several agents registering the 49,095 workers still
//! needed, spread over the 54 kelurahan. The server must then report the
//! 2025 target of 57.02% met: 149,607 covered on a 262,376 baseline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::{Agent, Server, registrations_csv, roll_csv};

const ROLL: u64 = 100_512;
const NEW: u64 = 49_095;
const AGENTS: u64 = 4;

#[test]
fn surakarta_reaches_its_2025_target() {
    let server = Server::start();
    server.admin_ok(&[
        "baseline",
        "set",
        "--area",
        "33.72",
        "--year",
        "2025",
        "--working-population",
        "262376",
    ]);
    server.admin_ok(&[
        "target",
        "set",
        "--area",
        "33.72",
        "--year",
        "2025",
        "--percent",
        "57.02",
    ]);
    let roll = server.db().with_file_name("roll.csv");
    std::fs::write(&roll, roll_csv(0..ROLL)).unwrap();
    server.admin_ok(&["participants", "import", roll.to_str().unwrap()]);
    let sup = server.token("supervisor", "spv", &["33.72"]);

    let before = server.coverage(&sup, "33.72", 2025, 0);
    assert_eq!(before["figures"]["covered"], ROLL, "{before}");
    assert_eq!(before["figures"]["additional_needed"], NEW, "{before}");

    // Agents register the people after the roll; each takes a slice.
    let agents: Vec<Agent> = (0..AGENTS).map(|_| Agent::new()).collect();
    let per = NEW.div_ceil(AGENTS);
    for (i, a) in agents.iter().enumerate() {
        let token = server.token("agent", &format!("agent-{i}"), &["33.72"]);
        a.init(&server.url(), &format!("hp-{i}"), &token);
        let from = ROLL + i as u64 * per;
        let to = (from + per).min(ROLL + NEW);
        let out = a.import(&registrations_csv(from..to));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for a in &agents {
        let (code, summary) = a.sync();
        assert_eq!(code, Some(0), "{summary}");
    }

    let after = server.coverage(&sup, "33.72", 2025, 2);
    let f = &after["figures"];
    assert_eq!(f["covered"], 149_607, "{after}");
    assert_eq!(f["working_population"], 262_376);
    assert_eq!(f["coverage"], "57.02%");
    assert_eq!(f["target_count"], 149_607);
    assert_eq!(f["additional_needed"], 0);
    assert_eq!(f["target_met"], true);
    // Every kelurahan has its share.
    let kecamatan = after["children"].as_array().unwrap();
    assert_eq!(kecamatan.len(), 5);
    let kelurahan: usize = kecamatan
        .iter()
        .map(|k| k["children"].as_array().unwrap().len())
        .sum();
    assert_eq!(kelurahan, 54);
}
