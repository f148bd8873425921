#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::process::{Command, Stdio};

use common::*;

const SUBCOMMANDS: &[&str] = &["init", "register", "list", "sync", "status", "lookup"];

#[test]
fn completions_print_a_script_for_each_shell_without_a_database() {
    let env = Env::bare();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = env.run(&["completions", shell]);
        run.code(0).stdout_has("sigap").stdout_has("register");
        assert!(run.stdout.len() > 500, "{shell}: script too short");
        assert!(run.stderr.is_empty(), "{shell}: stderr {:?}", run.stderr);
    }
    assert!(!env.db.exists(), "completions created {}", env.db.display());
    assert!(!env.dir.path().join("sigap.db-wal").exists());
}

#[test]
fn bash_completion_completes_subcommands() {
    let env = Env::bare();
    let script = env.path("sigap.bash");
    std::fs::write(
        &script,
        env.run(&["completions", "bash"]).code(0).stdout.as_bytes(),
    )
    .unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && COMP_WORDS=(sigap reg) COMP_CWORD=1 COMP_LINE='sigap reg' COMP_POINT=9 \
             && _sigap sigap reg sigap && echo \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "register");
}

#[test]
fn an_unknown_shell_is_refused_with_the_valid_ones() {
    let env = Env::bare();
    env.run(&["completions", "tcsh"])
        .code(2)
        .stderr_has("tcsh")
        .stderr_has("bash")
        .stderr_has("powershell");
    assert!(!env.db.exists());
}

#[test]
fn man_prints_one_page_with_every_command() {
    let env = Env::bare();
    let run = env.run(&["man"]);
    run.code(0);
    let th = run
        .stdout
        .lines()
        .find(|l| l.starts_with('.') && !l.starts_with(".ie") && !l.starts_with(".el"));
    assert!(
        th.is_some_and(|l| l.starts_with(".TH sigap 1")),
        "no .TH first:\n{}",
        run.stdout
    );
    for sub in SUBCOMMANDS {
        run.stdout_has(&format!(".SS \"sigap {sub}\""));
    }
    // The options of a command and the exit status are on the page.
    run.stdout_has("birth\\-date").stdout_has("Exit status:");
    assert!(
        !run.stdout.contains("sigap\\-init(1)"),
        "refers to pages not installed"
    );
    assert!(!env.db.exists(), "man created {}", env.db.display());
}

#[test]
fn neither_touches_the_database_named_by_sigap_db_or_the_data_folder() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("data").join("sigap.db");
    for (args, with_env) in [
        (&["man"][..], true),
        (&["completions", "zsh"][..], true),
        (&["man"][..], false),
        (&["completions", "fish"][..], false),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("xdg"))
            .env_remove("SIGAP_DB")
            .stdin(Stdio::null());
        if with_env {
            cmd.env("SIGAP_DB", &db);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty());
    }
    assert!(!db.exists());
    let left: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "files created in the data folders: {left:?}"
    );
}
