//! `sigap doctor`: one look at whether the laptop is ready.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn offline_and_never_synced_is_not_ready_and_says_why() {
    let env = Env::new();
    env.register_budi().code(0);
    let run = env.run(&["doctor"]);
    run.code(1)
        .stdout_has("✓ database: intact")
        .stdout_has("1 waiting to be sent, none refused")
        .stdout_has("✗ people known from the server: never pulled")
        .stdout_has("not reachable now")
        .stdout_has("verdict: something needs attention");
    let j = env.run(&["doctor", "--json"]).code(1).json();
    assert_eq!(j["healthy"], false);
    let database = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "database")
        .unwrap();
    assert_eq!(database["ok"], true);
    // In the agent's language by default.
    env.run_env(&["doctor"], &[("SIGAP_LANG", "id")])
        .code(1)
        .stdout_has("basis data: utuh");
}
