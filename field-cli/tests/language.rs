//! The agent's language: Bahasa Indonesia unless `--lang`, `SIGAP_LANG` or
//! the system locale says English; numbers and dates in its style; JSON
//! the same in both.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::process::Command;

use common::*;

/// The binary on `env`'s database with no language set anywhere: the
/// helper's `SIGAP_LANG=en` and the locale variables removed.
fn bare(env: &Env, args: &[&str]) -> Command {
    let mut cmd = env.command(args);
    cmd.env_remove("SIGAP_LANG");
    cmd
}

fn run(mut cmd: Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn with_env(mut cmd: Command, vars: &[(&str, &str)]) -> Command {
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn a_wrong_nik_is_refused_in_indonesian_by_default_and_in_english_on_request() {
    let env = Env::new();
    let args = with(budi_args(), "--nik", "33720112038500");
    run(bare(&env, &args))
        .code(2)
        .stderr_has("kesalahan: nik: NIK harus 16 digit, ini 14 digit (NIK \"33720112038500\")");
    let mut en = vec!["--lang", "en"];
    en.extend(&args);
    run(bare(&env, &en))
        .code(2)
        .stderr_has("error: nik: NIK must be 16 digits, got 14 digits");
    // A wrong region says which part, in each language.
    let region = with(budi_args(), "--nik", "0072011203850001");
    run(bare(&env, &region))
        .code(2)
        .stderr_has("kode provinsi 00 bukan provinsi (harus 11 sampai 99)");
    assert_eq!(env.count("SELECT COUNT(*) FROM records"), 0);
}

#[test]
fn a_validation_issue_is_worded_in_indonesian_with_its_dates() {
    let env = Env::new();
    let run = run(bare(&env, &with(budi_args(), "--birth-date", "1985-03-13")));
    run.code(2)
        .stderr_has("kesalahan: pendaftaran ini tidak disimpan:")
        .stderr_has(
            "birth_date: tanggal lahir 13 Maret 1985 tidak cocok dengan NIK, yang menyebut 12 Maret 1985; periksa keduanya",
        );
    assert!(!run.stderr.contains("does not match"), "{}", run.stderr);
}

#[test]
fn sigap_lang_chooses_english_and_the_flag_beats_it() {
    let env = Env::new();
    run(with_env(
        bare(&env, &["lookup", BUDI]),
        &[("SIGAP_LANG", "en")],
    ))
    .code(0)
    .stdout_has("unknown: NIK 3372011203850001 is not registered on this device");
    run(with_env(
        bare(&env, &["--lang", "id", "lookup", BUDI]),
        &[("SIGAP_LANG", "en")],
    ))
    .code(0)
    .stdout_has("tidak diketahui: NIK 3372011203850001 tidak terdaftar di perangkat ini");
}

#[test]
fn an_english_locale_with_nothing_else_gives_english() {
    let env = Env::new();
    run(with_env(
        bare(&env, &["lookup", BUDI]),
        &[("LANG", "en_US.UTF-8")],
    ))
    .code(0)
    .stdout_has("unknown: NIK");
    // LC_ALL wins over LANG, as POSIX has it.
    run(with_env(
        bare(&env, &["lookup", BUDI]),
        &[("LANG", "en_US.UTF-8"), ("LC_ALL", "id_ID.UTF-8")],
    ))
    .code(0)
    .stdout_has("tidak diketahui: NIK");
    // A locale that names no language says nothing: Indonesian.
    run(with_env(bare(&env, &["lookup", BUDI]), &[("LANG", "C")]))
        .code(0)
        .stdout_has("tidak diketahui: NIK");
}

#[test]
fn an_unknown_language_is_refused_in_both_languages_before_anything_is_opened() {
    let env = Env::bare();
    let r = run(bare(&env, &["--lang", "xx", "status"]));
    r.code(2)
        .stderr_has("bahasa \"xx\" (dari --lang) tidak tersedia: pakai id (Bahasa Indonesia) atau en (English)")
        .stderr_has("language \"xx\" (from --lang) is not available");
    assert!(!env.db.exists(), "the database was created");
    run(with_env(bare(&env, &["status"]), &[("SIGAP_LANG", "fr")]))
        .code(2)
        .stderr_has("(from SIGAP_LANG) is not available");
}

#[test]
fn help_is_in_indonesian_by_default_and_in_english_on_request() {
    let env = Env::bare();
    run(bare(&env, &["--help"]))
        .code(0)
        .stdout_has("Pemakaian: sigap")
        .stdout_has("Daftarkan seorang pekerja")
        .stdout_has("Kode keluar:")
        .stdout_has("2  masukan salah");
    run(bare(&env, &["register", "--help"]))
        .code(0)
        .stdout_has("NIK 16 digit dari KTP.")
        .stdout_has("Nama lengkap sesuai KTP.");
    let en = run(bare(&env, &["--lang", "en", "register", "--help"]));
    en.code(0)
        .stdout_has("Usage: sigap register")
        .stdout_has("The 16-digit NIK from the KTP.");
    assert!(!en.stdout.contains("NIK 16 digit"), "{}", en.stdout);
    run(with_env(bare(&env, &["--help"]), &[("SIGAP_LANG", "en")]))
        .code(0)
        .stdout_has("Exit status:");
    // No invisible Unicode isolation marks around Fluent's arguments.
    let out = run(bare(&env, &["--lang", "xx"]));
    assert!(!out.stderr.contains('\u{2068}') && !out.stderr.contains('\u{2069}'));
}

#[test]
fn a_mistyped_command_line_is_explained_in_the_language_with_a_suggestion() {
    let env = Env::bare();
    run(bare(&env, &["list", "--pendng"]))
        .code(2)
        .stderr_has("kesalahan: opsi --pendng tidak dikenal; mungkin maksud Anda --pending?")
        .stderr_has("lihat `sigap --help`");
    run(bare(&env, &["--lang", "en", "completions", "tcsh"]))
        .code(2)
        .stderr_has("error: \"tcsh\" is not a valid value for <SHELL>; use one of: bash, elvish, fish, powershell, zsh");
    run(bare(&env, &["sync", "--full", "--verify"]))
        .code(2)
        .stderr_has("--full tidak dapat dipakai bersama --verify");
    assert!(!env.db.exists());
}

#[test]
fn the_man_page_is_in_the_chosen_language() {
    let env = Env::bare();
    run(bare(&env, &["man"]))
        .code(0)
        .stdout_has(".SH CATATAN")
        .stdout_has("Kode keluar:")
        .stdout_has("Daftarkan seorang pekerja");
    run(bare(&env, &["--lang", "en", "man"]))
        .code(0)
        .stdout_has("Exit status:");
}

#[test]
fn status_and_progress_write_numbers_the_indonesian_way() {
    let env = Env::new();
    let file = env.path("batch.csv");
    write_csv(&file, 1_001);
    run(bare(&env, &["import", file.to_str().unwrap()]))
        .code(0)
        .stdout_has("diimpor 1.001, ditolak 0");
    run(bare(&env, &["status"]))
        .code(0)
        .stdout_has("pendaftaran: 1.001")
        .stdout_has("perubahan tertunda: 1.001");
    run(bare(&env, &["--lang", "en", "status"]))
        .code(0)
        .stdout_has("records: 1,001");
    run(bare(
        &env,
        &[
            "visit",
            "--kelurahan",
            "pajang",
            "--rw",
            "1",
            "--rt",
            "1",
            "--households",
            "1500",
        ],
    ))
    .code(0)
    .stdout_has("tersimpan: kunjungan ke")
    .stdout_has("1.500 rumah tangga");
    let progress = run(bare(&env, &["progress"]));
    progress
        .code(0)
        .stdout_has("Kunjungan")
        .stdout_has("Rumah tangga")
        .stdout_has("1.500");
}

#[test]
fn json_output_is_the_same_in_both_languages() {
    let env = Env::new();
    // A warning (NIK issued in Laweyan, address in Jebres): its message
    // stays English in the JSON, whatever the language.
    let args = with(budi_args(), "--kelurahan", "33.72.04.1001");
    let mut json = vec!["--json"];
    json.extend(&args);
    let id = run(bare(&env, &json));
    id.code(0);
    let v = id.json();
    assert_eq!(v["saved"], true);
    assert_eq!(v["warnings"][0]["code"], "nik_other_kecamatan");
    let message = v["warnings"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the NIK was issued in kecamatan"),
        "{message}"
    );
    // The values of the finding come along for any client to word it.
    assert!(v["warnings"][0]["args"]["issued_in"].is_string(), "{v}");
    // People read the warning in Indonesian on stderr.
    let people = Env::new();
    run(bare(&people, &args))
        .code(0)
        .stderr_has("peringatan: nik: NIK diterbitkan di kecamatan")
        .stdout_has("tersimpan: 3372011203850001 Budi Santoso");
    // Dates as each language writes them.
    run(bare(&people, &["show", BUDI]))
        .code(0)
        .stdout_has("Tanggal lahir")
        .stdout_has("12 Maret 1985");
    run(bare(&people, &["--lang", "en", "show", BUDI]))
        .code(0)
        .stdout_has("12 March 1985");
    let en = run(bare(&env, &["--json", "--lang", "en", "lookup", BUDI]));
    let id = run(bare(&env, &["--json", "lookup", BUDI]));
    assert_eq!(en.json(), id.json());
}

/// A fake server for a supervisor: the token is sri's (supervisor of
/// Laweyan), and the coverage of Laweyan has four-digit figures.
fn supervisor_server() -> common::fake_server::FakeServer {
    common::fake_server::FakeServer::start(Box::new(|req| {
        let path = req.path.split('?').next().unwrap_or("");
        match path {
            "/api/v1/me" => (
                200,
                r#"{"name":"sri","role":"supervisor","areas":["33.72.01"]}"#.to_string(),
            ),
            "/api/v1/coverage" => (
                200,
                serde_json::json!({
                    "area": "33.72.01",
                    "name": "Laweyan",
                    "figures": {
                        "covered": 1234, "working_population": 5000, "uncovered": 3766,
                        "coverage_bp": 2468, "coverage": "24.68%",
                        "target_percent": "57.02", "gap_bp": 3234,
                        "gap_points": "32.34", "additional_needed": 1617
                    },
                    "baseline_set": true,
                    "by_category": {"pu": 0, "bpu": 1234, "jakon": 0, "pmi": 0},
                    "children": []
                })
                .to_string(),
            ),
            _ => (
                404,
                r#"{"error":"not_found","message":"not found"}"#.to_string(),
            ),
        }
    }))
}

#[test]
fn report_numbers_follow_the_language_and_json_stays_raw() {
    let server = supervisor_server();
    let env = Env::with_server(&server.url);
    let row = |r: &Run| {
        r.stdout
            .lines()
            .find(|l| l.contains("33.72.01 "))
            .unwrap_or_else(|| panic!("no Laweyan row:\n{}", r.stdout))
            .to_string()
    };
    let id = run(bare(&env, &["report"]));
    id.code(0);
    let line = row(&id);
    for cell in ["1.234", "5.000", "24,68%", "57,02%", "32,34", "1.617"] {
        assert!(line.contains(cell), "{cell:?} not in {line}");
    }
    let en = run(bare(&env, &["--lang", "en", "report"]));
    en.code(0).stdout_has("Coverage by area");
    let line = row(&en);
    for cell in ["1,234", "5,000", "24.68%", "57.02%", "32.34", "1,617"] {
        assert!(line.contains(cell), "{cell:?} not in {line}");
    }
    assert!(!line.contains("1.234") && !line.contains("24,68"), "{line}");
    // The CSV file is written as the table reads, in English style too.
    let csv = env.path("report.csv");
    run(bare(
        &env,
        &["--lang", "en", "report", "--csv", csv.to_str().unwrap()],
    ))
    .code(0);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("\"1,234\",\"5,000\",24.68%"), "{text}");
    // --json: the server's raw numbers, the same in both languages.
    let json_en = run(bare(&env, &["--lang", "en", "--json", "report"]));
    let json_id = run(bare(&env, &["--json", "report"]));
    assert_eq!(json_en.json(), json_id.json());
    assert_eq!(json_en.json()["figures"]["covered"], 1234);
    assert_eq!(json_en.json()["figures"]["coverage"], "24.68%");
}

#[test]
fn what_a_request_was_for_is_named_in_the_language() {
    // A server whose coverage answer is not JSON.
    let server = common::fake_server::FakeServer::start(Box::new(|req| {
        match req.path.split('?').next().unwrap_or("") {
            "/api/v1/me" => (
                200,
                r#"{"name":"sri","role":"supervisor","areas":["33.72.01"]}"#.to_string(),
            ),
            _ => (200, "<html>portal wifi</html>".to_string()),
        }
    }));
    let env = Env::with_server(&server.url);
    let id = run(bare(&env, &["report", "--history"]));
    id.code(5)
        .stderr_has("untuk riwayat cakupan tidak dapat dibaca")
        .stderr_has("apakah itu server SIGAP?");
    assert!(!id.stderr.contains("coverage history"), "{}", id.stderr);
    run(bare(&env, &["--lang", "en", "report", "--history"]))
        .code(5)
        .stderr_has("to coverage history could not be read");
}
