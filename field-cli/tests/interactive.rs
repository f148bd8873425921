#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `sigap register` as a person uses it: on a terminal (a pseudo-terminal
//! here), asked field by field. Matched on what stays the same in every
//! language: NIK digits, the word kelurahan, place names and codes.
#![cfg(unix)]

mod common;

use common::*;
use rexpect::session::PtySession;

/// Registration flags for everything but the NIK and the kelurahan, so
/// that exactly those two are asked.
const REST: &[&str] = &[
    "--name",
    "Budi Santoso",
    "--birth-date",
    "1985-03-12",
    "--sex",
    "L",
    "--rw",
    "3",
    "--rt",
    "5",
    "--category",
    "pu",
    "--occupation",
    "buruh",
    "--employer",
    "PT Batik Solo",
    "--phone",
    "081234567890",
    "--programs",
    "jkk,jkm,jht",
];

/// `sigap register ARGS` on a pseudo-terminal.
fn register_on_terminal(env: &Env, args: &[&str]) -> PtySession {
    let mut cmd = sigap();
    cmd.arg("--db")
        .arg(&env.db)
        .arg("register")
        .args(args)
        .env("SIGAP_LANG", "en")
        .env("TERM", "xterm");
    rexpect::session::spawn_command(cmd, Some(20_000)).unwrap()
}

fn registered(env: &Env) -> Vec<serde_json::Value> {
    env.run(&["list", "--json"])
        .code(0)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_wrong_nik_is_asked_again_with_the_reason_and_the_kelurahan_is_shown_by_name() {
    let env = Env::new();
    let mut p = register_on_terminal(&env, REST);
    p.exp_string("NIK").unwrap();
    // Serial 0000 does not exist: refused with the reason, asked again.
    p.send_line("3372011203850000").unwrap();
    let (_, reason) = p.exp_regex(r"0000\D[^\n]*0001").unwrap();
    assert!(!reason.contains("3372011203850000"), "{reason}");
    // Too short: the count of digits is the reason (16 wanted, 6 given).
    p.send_line("337201").unwrap();
    p.exp_regex(r"16\D+6\D").unwrap();
    p.send_line(BUDI).unwrap();
    p.exp_regex("(?i)kelurahan").unwrap();
    // By part of its name; shown back by name with its code.
    p.send_line("pajang").unwrap();
    p.exp_string("Pajang (33.72.01.1001)").unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains(BUDI), "{rest}");
    let list = registered(&env);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["nik"], BUDI);
    assert_eq!(list[0]["kelurahan"], "33.72.01.1001");
    assert_eq!(list[0]["name"], "Budi Santoso");
}

#[test]
fn ctrl_c_in_the_middle_saves_nothing() {
    let env = Env::new();
    let mut p = register_on_terminal(&env, &[&["--nik", BUDI][..], REST].concat());
    p.exp_regex("(?i)kelurahan").unwrap();
    p.send("paj").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    assert!(registered(&env).is_empty());
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 0);
    // The agent starts again; nothing of the cut attempt is in the way.
    let mut p = register_on_terminal(&env, &[&["--nik", BUDI][..], REST].concat());
    p.exp_regex("(?i)kelurahan").unwrap();
    p.send_line("33.72.01.1001").unwrap();
    p.exp_string("Pajang").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(registered(&env).len(), 1);
}

#[test]
fn a_long_import_draws_a_bar_on_a_terminal_and_none_when_captured() {
    let env = Env::new();
    let csv = env.path("rows.csv");
    write_csv(&csv, 60_000);
    // Captured (not a terminal): the result lines only.
    let run = env.run(&["import", csv.to_str().unwrap()]);
    run.code(0);
    for bar in ["%", "[=", "\r", "\u{1b}["] {
        assert!(!run.stderr.contains(bar), "{bar:?} in {:?}", run.stderr);
        assert!(!run.stdout.contains(bar), "{bar:?} in {:?}", run.stdout);
    }
    // On a terminal, the same work shows its progress.
    let again = Env::new();
    let mut cmd = sigap();
    cmd.arg("--db")
        .arg(&again.db)
        .args(["import", csv.to_str().unwrap()])
        .env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_regex(r"\[=*>? *\] +\d+%").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(again.count("SELECT COUNT(*) FROM records"), 60_000);
}
