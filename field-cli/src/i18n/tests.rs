//! The catalogues against each other and against the code: a message in
//! one language only, a message whose arguments differ between languages,
//! or a key the code asks for that no catalogue has, fails here rather
//! than showing an id to an agent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Command;
use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
use sigap_shared::{Issue, Lang};

use super::{help, text, try_text};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Message id → the variables it names, over every .ftl of `lang`.
fn catalogue(lang: &str) -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(ROOT).join("locales").join(lang);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no catalogue in {}", dir.display());
    let mut out = BTreeMap::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let resource = fluent_syntax::parser::parse(source.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{}: {errors:?}", file.display()));
        for entry in resource.body {
            match entry {
                Entry::Message(m) => {
                    let mut vars = BTreeSet::new();
                    if let Some(p) = &m.value {
                        pattern_vars(p, &mut vars);
                    }
                    for a in &m.attributes {
                        pattern_vars(&a.value, &mut vars);
                    }
                    let id = m.id.name.to_string();
                    assert!(
                        out.insert(id.clone(), vars).is_none(),
                        "{id} twice in {lang}"
                    );
                }
                Entry::Junk { content } => panic!("{}: cannot parse {content:?}", file.display()),
                _ => {}
            }
        }
    }
    out
}

fn pattern_vars(p: &Pattern<&str>, vars: &mut BTreeSet<String>) {
    for el in &p.elements {
        if let PatternElement::Placeable { expression } = el {
            expression_vars(expression, vars);
        }
    }
}

fn expression_vars(e: &Expression<&str>, vars: &mut BTreeSet<String>) {
    match e {
        Expression::Select { selector, variants } => {
            inline_vars(selector, vars);
            for v in variants {
                pattern_vars(&v.value, vars);
            }
        }
        Expression::Inline(i) => inline_vars(i, vars),
    }
}

fn inline_vars(i: &InlineExpression<&str>, vars: &mut BTreeSet<String>) {
    match i {
        InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_string());
        }
        InlineExpression::Placeable { expression } => expression_vars(expression, vars),
        InlineExpression::FunctionReference { arguments, .. }
        | InlineExpression::TermReference {
            arguments: Some(arguments),
            ..
        } => {
            for a in &arguments.positional {
                inline_vars(a, vars);
            }
            for a in &arguments.named {
                inline_vars(&a.value, vars);
            }
        }
        _ => {}
    }
}

#[test]
fn every_message_exists_in_both_languages_with_the_same_arguments() {
    let id = catalogue("id");
    let en = catalogue("en");
    let only = |a: &BTreeMap<String, BTreeSet<String>>, b: &BTreeMap<String, BTreeSet<String>>| {
        a.keys()
            .filter(|k| !b.contains_key(*k))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(only(&id, &en), Vec::<String>::new(), "only in Indonesian");
    assert_eq!(only(&en, &id), Vec::<String>::new(), "only in English");
    let differ: Vec<String> = id
        .iter()
        .filter(|(k, vars)| en.get(*k) != Some(*vars))
        .map(|(k, vars)| format!("{k}: id {vars:?}, en {:?}", en.get(k)))
        .collect();
    assert_eq!(differ, Vec::<String>::new(), "arguments differ");
}

#[test]
fn the_compiled_catalogues_are_the_files() {
    // Every message of the files is found in the binary, in each
    // language, and formats with its arguments.
    let files = catalogue("id");
    for (key, vars) in &files {
        let args: Vec<(&str, String)> =
            vars.iter().map(|v| (v.as_str(), "1".to_string())).collect();
        for lang in Lang::ALL {
            assert!(
                try_text(lang, key, &args).is_some(),
                "{key} missing in the binary ({lang:?})"
            );
        }
    }
}

#[test]
fn arguments_carry_no_invisible_isolation_marks() {
    let line = text(Lang::Id, "error-line", &[("message", "NIK 3372".into())]);
    assert_eq!(line, "kesalahan: NIK 3372");
    assert_eq!(
        text(Lang::En, "error-line", &[("message", "x".into())]),
        "error: x"
    );
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            out.push((p, text));
        }
    }
}

/// The string literal that follows each `marker` in `text` (after
/// blanks), e.g. the key of every `t!(`.
fn literals_after(text: &str, marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(marker) {
        // `t!(` itself, not the end of `format!(`.
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = text[at + marker.len()..].trim_start();
        if let Some(body) = rest.strip_prefix('"')
            && let Some(end) = body.find('"')
        {
            out.push(body[..end].to_string());
        }
    }
    out
}

#[test]
fn every_key_the_code_asks_for_is_in_the_catalogue() {
    let en = catalogue("en");
    let mut files = Vec::new();
    sources(&Path::new(ROOT).join("src"), &mut files);
    let mut asked = BTreeSet::new();
    for (path, source) in &files {
        if path.ends_with("i18n/tests.rs") {
            continue;
        }
        for key in literals_after(source, "t!(")
            .into_iter()
            .chain(literals_after(source, "both("))
            .chain(second_literals(source, "text("))
        {
            asked.insert(key);
        }
    }
    // The problems of typed values: the CLI's own, and those of the
    // shared parsers of typed fields (`sigap_shared::import_row`).
    let mut shared = Vec::new();
    sources(&Path::new(ROOT).join("../shared/src"), &mut shared);
    for (path, source) in files.iter().chain(&shared) {
        if path.ends_with("i18n/tests.rs") {
            continue;
        }
        // The NIK's codes are written whole, `("invalid_nik_length", …)`.
        let nik_codes = source
            .match_indices("(\"invalid_nik_")
            .map(|(at, _)| &source[at + 2..])
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string);
        for code in literals_after(source, "Problem::new(")
            .into_iter()
            .chain(nik_codes)
        {
            asked.insert(format!("issue-{code}"));
        }
    }
    for code in [
        "required",
        "invalid_birth_date",
        "ambiguous_kelurahan",
        "invalid_nik_serial",
    ] {
        assert!(
            asked.contains(&format!("issue-{code}")),
            "the scan missed issue-{code}"
        );
    }
    assert!(
        asked.len() > 50,
        "found only {} keys: is the scan broken?",
        asked.len()
    );
    let missing: Vec<&String> = asked.iter().filter(|k| !en.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "asked for but not in the catalogue: {missing:?}"
    );
}

/// The string literal given as the second argument of each `marker`
/// call in `text` (`i18n::text(lang, "key", …)`, `Issue::new(field,
/// "code", …)`).
fn second_literals(text: &str, marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(marker) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[at + marker.len()..];
        let mut depth = 0;
        let comma = rest.char_indices().find(|&(_, c)| {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                _ => {}
            }
            c == ',' && depth == 0
        });
        let Some((comma, _)) = comma else { continue };
        let second = rest[comma + 1..].trim_start();
        if let Some(body) = second.strip_prefix('"')
            && let Some(end) = body.find('"')
        {
            out.push(body[..end].to_string());
        }
    }
    out
}

/// Each call of `marker` in `text` whose first or second argument is a
/// literal key, with the argument names it passes: `name = value` for
/// `t!`, `("name", value)` for `text(…)` and `both(…)`.
fn calls_with_args(text: &str, marker: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(marker) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        // The call's text up to its closing bracket.
        let rest = &text[at + marker.len()..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' | '[' => depth += 1,
                    ')' | ']' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let call = &rest[..end];
        let key = call.split(',').take(2).find_map(|part| {
            let part = part.trim();
            let body = part.strip_prefix('"')?;
            Some(body[..body.find('"')?].to_string())
        });
        let Some(key) = key else { continue };
        let mut names = BTreeSet::new();
        // `name = value` (not `==`).
        let bytes = call.as_bytes();
        for (i, _) in call.match_indices(" = ") {
            if bytes.get(i + 3) == Some(&b'=') {
                continue;
            }
            let name: String = call[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
        // `("name", value)`.
        for (i, _) in call.match_indices("(\"") {
            let body = &call[i + 2..];
            if let Some(end) = body.find('"')
                && body[end + 1..].trim_start().starts_with(',')
            {
                names.insert(body[..end].to_string());
            }
        }
        out.push((key, names));
    }
    out
}

#[test]
fn every_call_passes_the_arguments_its_message_names() {
    let en = catalogue("en");
    let mut files = Vec::new();
    sources(&Path::new(ROOT).join("src"), &mut files);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (path, source) in &files {
        if path.ends_with("i18n/tests.rs") {
            continue;
        }
        for marker in ["t!(", "both(", "text("] {
            for (key, passed) in calls_with_args(source, marker) {
                let Some(wanted) = en.get(&key) else { continue };
                checked += 1;
                let missing: Vec<&String> = wanted.difference(&passed).collect();
                if !missing.is_empty() {
                    wrong.push(format!("{}: {key} lacks {missing:?}", path.display()));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "checked only {checked} calls: is the scan broken?"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Every issue code `sigap-shared` can produce, read from its source: the
/// code is the second argument of each `Issue::new(`.
fn shared_issue_codes() -> BTreeSet<String> {
    let mut files = Vec::new();
    sources(&Path::new(ROOT).join("../shared/src"), &mut files);
    let mut codes = BTreeSet::new();
    for (_, source) in &files {
        codes.extend(second_literals(source, "Issue::new("));
    }
    codes
}

#[test]
fn every_issue_code_of_shared_has_a_message_and_a_refusal() {
    let codes = shared_issue_codes();
    assert!(
        codes.contains("too_young") && codes.contains("incomplete_registration"),
        "{codes:?}"
    );
    let en = catalogue("en");
    for code in &codes {
        assert!(en.contains_key(&format!("issue-{code}")), "no issue-{code}");
    }
    // Warnings never refuse a change; every error may come back as the
    // server's refusal.
    let warnings = ["nik_other_kecamatan", "unknown_kelurahan"];
    for code in codes.iter().filter(|c| !warnings.contains(&c.as_str())) {
        assert!(
            en.contains_key(&format!("reject-{code}")),
            "no reject-{code}"
        );
    }
}

#[test]
fn an_issue_is_worded_in_the_agents_language_from_its_code_and_values() {
    let reg = sigap_shared::Registration {
        nik: sigap_shared::Nik::parse("3372011203850001").unwrap(),
        name: "Budi".into(),
        birth_date: time::macros::date!(1985 - 03 - 13),
        sex: sigap_shared::Sex::L,
        phone: None,
        kelurahan: sigap_shared::AreaCode::parse("33.72.01.1001").unwrap(),
        rw: 3,
        rt: 5,
        category: sigap_shared::Category::Bpu,
        occupation: "pedagang".into(),
        employer: None,
        programs: sigap_shared::Category::Bpu
            .required_programs()
            .iter()
            .copied()
            .collect(),
        status: sigap_shared::Status::Registered,
        void_reason: None,
    };
    let v = reg.validate(time::macros::date!(2026 - 11 - 25));
    let issue: &Issue = v
        .errors
        .iter()
        .find(|i| i.code == "birth_date_mismatch")
        .unwrap();
    assert_eq!(
        super::issues::message(Lang::Id, issue),
        "tanggal lahir 13 Maret 1985 tidak cocok dengan NIK, yang menyebut 12 Maret 1985; periksa keduanya"
    );
    assert!(super::issues::message(Lang::En, issue).starts_with("birth date 13 March 1985"));
    // An issue without the values (stored by an older version) keeps its
    // own message.
    let bare = Issue {
        args: Default::default(),
        ..issue.clone()
    };
    assert_eq!(super::issues::message(Lang::Id, &bare), issue.message);
}

#[test]
fn a_known_refusal_is_worded_in_indonesian_and_an_unknown_keeps_the_servers_reason() {
    use super::issues::rejection;
    assert!(rejection(Lang::Id, "clock_ahead", "stamped 2030").contains("jam laptop"));
    assert_eq!(
        rejection(Lang::En, "clock_ahead", "stamped 2030"),
        "stamped 2030"
    );
    assert_eq!(rejection(Lang::Id, "new_rule", "a new rule"), "a new rule");
}

/// Every command of `cmd` (itself included), with its key name.
fn commands(cmd: &Command, name: &str, out: &mut Vec<(String, Command)>) {
    out.push((name.to_string(), cmd.clone()));
    for sub in cmd.get_subcommands() {
        commands(sub, sub.get_name(), out);
    }
}

#[test]
fn every_command_and_argument_has_help_in_both_languages() {
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut all = Vec::new();
    commands(&cmd, "sigap", &mut all);
    let mut missing = Vec::new();
    for lang in Lang::ALL {
        for (name, c) in &all {
            let (about, _) = help::about_ids(name);
            if try_text(lang, &about, &[]).is_none() {
                missing.push(format!("{lang:?} {about}"));
            }
            for a in c.get_arguments() {
                let ids = help::arg_ids(name, a.get_id().as_str());
                if ids.iter().all(|id| try_text(lang, id, &[]).is_none()) {
                    missing.push(format!("{lang:?} {}", ids[0]));
                }
            }
        }
    }
    assert!(missing.is_empty(), "no help for: {missing:?}");
}

#[test]
fn help_comes_out_in_the_language_asked() {
    let mut id = help::command(Lang::Id);
    let text = id.render_help().to_string();
    assert!(
        text.contains("Pemakaian:") && text.contains("Daftarkan seorang pekerja"),
        "{text}"
    );
    assert!(text.contains("Kode keluar:"), "{text}");
    let mut en = help::command(Lang::En);
    let text = en
        .find_subcommand_mut("register")
        .unwrap()
        .render_help()
        .to_string();
    assert!(text.contains("The 16-digit NIK from the KTP."), "{text}");
    assert!(!text.contains("NIK 16 digit"), "{text}");
}

#[test]
fn every_catalogue_file_is_compiled_in() {
    for lang in Lang::ALL {
        let mut files: Vec<String> =
            std::fs::read_dir(Path::new(ROOT).join("locales").join(lang.tag()))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".ftl"))
                .collect();
        files.sort();
        let mut compiled: Vec<String> = super::catalogue::files(lang)
            .iter()
            .map(|(name, _)| name.to_string())
            .collect();
        compiled.sort();
        assert_eq!(files, compiled, "{lang:?}: list each .ftl in catalogue.rs");
    }
}
