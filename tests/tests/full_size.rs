//! The full Kota Surakarta run: the membership roll of 100,512 as of
//! December 2024, and several agents registering the 49,095 workers still
//! needed, spread over the 54 kelurahan. The server must report the
//! published December 2024 figures (44.24% of 227,164) for 2024, before
//! and after the agents' work, and this year's target of 57.02% met:
//! 149,607 covered on a 262,376 baseline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::{Agent, Server, registrations_csv, roll_csv};

const ROLL: u64 = 100_512;
const NEW: u64 = 49_095;
const AGENTS: u64 = 4;

fn baseline(server: &Server, year: &str, population: &str) {
    server.admin_ok(&[
        "baseline",
        "set",
        "--area",
        "33.72",
        "--year",
        year,
        "--working-population",
        population,
    ]);
    server.admin_ok(&[
        "target",
        "set",
        "--area",
        "33.72",
        "--year",
        year,
        "--percent",
        "57.02",
    ]);
}

#[test]
fn surakarta_reaches_its_target() {
    let server = Server::start();
    // The agents register today, so the target they reach is this year's.
    let this_year = u32::try_from(sigap_shared::today().year()).unwrap();
    baseline(&server, "2024", "227164");
    baseline(&server, &this_year.to_string(), "262376");
    let roll = server.db().with_file_name("roll.csv");
    std::fs::write(&roll, roll_csv(0..ROLL)).unwrap();
    server.admin_ok(&[
        "participants",
        "import",
        "--as-of",
        "2024-12-31",
        roll.to_str().unwrap(),
    ]);
    let sup = server.token("supervisor", "spv", &["33.72"]);

    let published = |when: &str| {
        let cov = server.coverage(&sup, "33.72", 2024, 0);
        let f = &cov["figures"];
        assert_eq!(f["covered"], ROLL, "{when}: {cov}");
        assert_eq!(f["coverage"], "44.24%", "{when}: {cov}");
        assert_eq!(f["uncovered"], 126_652, "{when}: {cov}");
        assert_eq!(f["gap_points"], "12.78", "{when}: {cov}");
    };
    published("before the agents");
    let before = server.coverage(&sup, "33.72", this_year, 0);
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

    // Registrations made this year leave December 2024 as published.
    published("after the agents");
    let after = server.coverage(&sup, "33.72", this_year, 2);
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
