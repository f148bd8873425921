#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

#[test]
fn an_edit_is_a_new_change_and_history_keeps_both() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&[
        "edit",
        BUDI,
        "--occupation",
        "ojek",
        "--phone",
        "0812-3456-7890",
    ])
    .code(0)
    .stdout_has("saved: 3372011203850001 Budi Santoso (change 2)");
    let shown = env
        .run(&["show", BUDI, "--history", "--json"])
        .code(0)
        .json();
    assert_eq!(shown["occupation"], "ojek");
    let h = shown["history"].as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1]["kind"], "edit");
    assert_eq!(h[1]["fields"]["occupation"], "ojek");
    assert!(
        h[1]["fields"].get("name").is_none(),
        "an edit writes only what changed"
    );
    assert_ne!(h[0]["id"], h[1]["id"]);
    assert!(h[0]["hlc"].as_str() < h[1]["hlc"].as_str(), "the HLC rises");
    env.run(&["show", BUDI, "--history"])
        .code(0)
        .stdout_has("occupation=ojek");
}

#[test]
fn an_edit_that_breaks_a_rule_is_refused_and_nothing_saved() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&["edit", BUDI, "--category", "pu"])
        .code(2)
        .stderr_has("employer: employer is required for category pu");
    env.run(&["edit", BUDI, "--rw", "abc"])
        .code(2)
        .stderr_has("RW \"abc\" is not valid");
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 1);
    env.run(&["edit", BUDI, "--category", "pu", "--employer", "PT Sritex"])
        .code(0);
}

#[test]
fn an_edit_without_fields_or_of_an_unknown_nik_is_refused() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&["edit", BUDI])
        .code(2)
        .stderr_has("nothing to change");
    env.run(&["edit", SITI, "--name", "X"])
        .code(2)
        .stderr_has("is not registered on this device");
}

#[test]
fn a_void_needs_a_reason_and_stays_in_the_history() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&["void", BUDI]).code(2).stderr_has("--reason");
    env.run(&["void", BUDI, "--reason", "duplicate form"])
        .code(0)
        .stdout_has("voided: 3372011203850001");
    env.run(&["void", BUDI, "--reason", "again"])
        .code(2)
        .stderr_has("already void");
    let shown = env
        .run(&["show", BUDI, "--history", "--json"])
        .code(0)
        .json();
    assert_eq!(shown["status"], "void");
    assert_eq!(shown["void_reason"], "duplicate form");
    assert_eq!(shown["history"][1]["kind"], "void");
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 1);
}

#[test]
fn the_device_sequence_is_contiguous() {
    let env = Env::new();
    env.register_budi().code(0);
    env.run(&siti_args()).code(0);
    env.run(&["edit", BUDI, "--rt", "6"]).code(0);
    env.run(&["void", SITI, "--reason", "moved"]).code(0);
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 4);
    assert_eq!(env.count("SELECT MAX(device_seq) FROM changes"), 4);
}
