#![allow(clippy::unwrap_used, clippy::expect_used)]
//! "Covered means covered": who counts towards coverage, and for which
//! year (DESIGN.md, "Coverage"). The server over real HTTP, the roll and
//! `coverage verify` through the real `sigap-server` binary on the same
//! database file.

mod common;

use common::cli;

use std::sync::Arc;

use common::{Device, outcomes};
use serde_json::Value;
use sigap_server::store::{Role, SqliteStore};
use sigap_shared::merge::Fields;
use sigap_shared::{ChangeKind, Status};

/// 2024-03-01T00:00:00Z.
const MARCH_2024: u64 = 1_709_251_200_000;
/// 2024-12-31T23:59:59Z: still 2024.
const LAST_SECOND_OF_2024: u64 = 1_735_689_599_000;
/// 2026-02-01T00:00:00Z.
const FEBRUARY_2026: u64 = 1_769_904_000_000;

const PAJANG: &str = "33.72.01.1001";
const LAWEYAN: &str = "33.72.01.1002";

/// A server on a database file the CLI can open too.
async fn start() -> (common::Server, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cov.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    (common::serve(store).await, dir, db)
}

/// Imports roll rows (`nik,kelurahan,rw,rt,category`) as of `as_of`.
fn import_roll(db: &std::path::Path, rows: &[&str], as_of: &str) -> String {
    let csv = db.with_file_name(format!("roll-{as_of}.csv"));
    let mut text = String::from("nik,kelurahan,rw,rt,category\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap();
    let (code, _, err) = cli(
        db,
        &[
            "participants",
            "import",
            "--as-of",
            as_of,
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    err
}

/// `coverage verify` passes: every year's buckets match a recount.
fn assert_verified(db: &std::path::Path) {
    let (code, out, err) = cli(db, &["coverage", "verify", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(v["ok"], true, "{v}");
}

fn this_year() -> i32 {
    sigap_shared::today().year()
}

async fn covered(s: &common::Server, sup: &str, area: &str, year: i32) -> Value {
    let (status, cov) = s
        .get(sup, &format!("/api/v1/coverage?area={area}&year={year}"))
        .await;
    assert_eq!(status, 200, "{cov}");
    cov
}

/// Every change of a push answer was taken: applied, merged into a
/// person another source wrote, or superseded (taken, some fields kept
/// from a later write).
fn assert_accepted(r: &Value) {
    assert!(
        outcomes(r)
            .iter()
            .all(|o| ["applied", "merged", "superseded"].contains(&o.as_str())),
        "{r}"
    );
}

fn void_fields() -> Fields {
    Fields {
        status: Some(Status::Void),
        void_reason: Some("duplicate form".into()),
        ..Fields::default()
    }
}

#[tokio::test]
async fn a_roll_participant_whose_field_registration_is_voided_stays_covered() {
    let (s, _dir, db) = start().await;
    let agent = s.token(Role::Agent, "agent-budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let participant = "3372011203850001";
    let newcomer = "3372015204900002";
    // The roll lists the participant at Pajang 3/5 as a wage earner.
    import_roll(
        &db,
        &[&format!("{participant},{PAJANG},3,5,pu")],
        "2024-06-30",
    );
    assert_verified(&db);

    // An agent registers them (and a newcomer) where they live now,
    // Laweyan 1/2, as informal workers; the field writes win the merge.
    let mut d = Device::new();
    let reg = d.register(participant, "Budi Santoso", LAWEYAN, 1, 2);
    let new = d.register(newcomer, "Siti Aminah", LAWEYAN, 1, 2);
    let (_, r) = s.push(&agent, &d, &[reg, new]).await;
    assert_eq!(outcomes(&r), ["merged", "applied"], "{r}");
    let cov = covered(&s, &sup, "33.72", this_year()).await;
    assert_eq!(cov["figures"]["covered"], 2, "{cov}");
    assert_verified(&db);

    // Both field registrations voided as made in error.
    let void_p = d.change(participant, ChangeKind::Void, void_fields());
    let void_n = d.change(newcomer, ChangeKind::Void, void_fields());
    let (_, r) = s.push(&agent, &d, &[void_p, void_n]).await;
    assert_accepted(&r);

    // The participant still counts, at the merged address and category;
    // the newcomer, in no roll, does not.
    for year in [2024, 2025, this_year()] {
        let kota = covered(&s, &sup, "33.72", year).await;
        assert_eq!(kota["figures"]["covered"], 1, "{year}: {kota}");
        let rt = covered(&s, &sup, &format!("{LAWEYAN}/1/2"), year).await;
        assert_eq!(rt["figures"]["covered"], 1, "{year}: {rt}");
        assert_eq!(rt["by_category"]["bpu"], 1, "{year}: {rt}");
        let old = covered(&s, &sup, PAJANG, year).await;
        assert_eq!(old["figures"]["covered"], 0, "{year}: {old}");
    }
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{participant}")).await;
    assert_eq!(p["fields"]["status"], "void", "{p}");
    assert_eq!(p["covered"], true, "{p}");
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{newcomer}")).await;
    assert_eq!(p["covered"], false, "{p}");
    assert_verified(&db);
}

#[tokio::test]
async fn a_partial_record_does_not_count_as_a_field_registration() {
    // Edits that arrive before their registration are kept as partial
    // records (listed for review). They must not count: neither for a NIK
    // nobody registered, nor as a field registration that would date a
    // roll participant's coverage back to the edit.
    let (s, _dir, db) = start().await;
    let agent = s.token(Role::Agent, "agent-budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let participant = "3372011203850001";
    let stranger = "3372011203850002";
    import_roll(
        &db,
        &[&format!("{participant},{PAJANG},3,5,pu")],
        "2026-01-05",
    );
    let mut d = Device::new();
    d.millis = MARCH_2024;
    let address = Fields {
        kelurahan: Some(sigap_shared::AreaCode::parse(PAJANG).unwrap()),
        rw: Some(1),
        rt: Some(1),
        category: Some(sigap_shared::Category::Bpu),
        occupation: Some("ojek".into()),
        ..Fields::default()
    };
    let edits = [
        d.change(participant, ChangeKind::Edit, address.clone()),
        d.change(stranger, ChangeKind::Edit, address),
    ];
    let (status, r) = s.push(&agent, &d, &edits).await;
    assert_eq!(status, 200, "{r}");
    assert_accepted(&r);
    let past = covered(&s, &sup, "33.72", 2024).await;
    assert_eq!(past["figures"]["covered"], 0, "{past}");
    // The participant counts by the roll (2026), at the merged address and
    // category, which the edit's later stamps won.
    let now = covered(&s, &sup, "33.72", this_year()).await;
    assert_eq!(now["figures"]["covered"], 1, "{now}");
    assert_eq!(now["by_category"]["bpu"], 1, "{now}");
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{stranger}")).await;
    assert_eq!(p["covered"], false, "{p}");
    assert_verified(&db);

    // Once the stranger's registration arrives (made in 2024, before the
    // edit), they count from 2024.
    let mut late = Device::new();
    late.millis = MARCH_2024 - 60_000;
    let reg = late.register(stranger, "Rina", PAJANG, 1, 1);
    let (_, r) = s.push(&agent, &late, &[reg]).await;
    assert_accepted(&r);
    let past = covered(&s, &sup, "33.72", 2024).await;
    assert_eq!(past["figures"]["covered"], 1, "{past}");
    assert_verified(&db);
}

#[tokio::test]
async fn a_past_year_counts_who_was_covered_by_its_end() {
    let (s, _dir, db) = start().await;
    let agent = s.token(Role::Agent, "agent-budi", &["33.72"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    for (year, pop) in [("2024", "1000"), ("2025", "1000")] {
        let (code, _, err) = cli(
            &db,
            &[
                "baseline",
                "set",
                "--area",
                "33.72",
                "--year",
                year,
                "--working-population",
                pop,
            ],
        );
        assert_eq!(code, 0, "{err}");
    }
    let in_2024 = "3372011203850001";
    let on_new_years_eve = "3372011203850002";
    let in_2026 = "3372011203850003";
    let roll_2026 = "3372011203850004";
    let roll_2024 = "3372011203850005";
    let roll_both = "3372011203850006";
    let roll_2026_field_2024 = "3372011203850007";

    // Field registrations, dated by their clocks.
    let mut old = Device::new();
    old.millis = MARCH_2024;
    let a = old.register(in_2024, "Budi", PAJANG, 1, 1);
    let b = old.register(roll_2026_field_2024, "Joko", PAJANG, 1, 1);
    let mut eve = Device::new();
    eve.millis = LAST_SECOND_OF_2024 - 1000; // the change adds a second
    let c = eve.register(on_new_years_eve, "Sari", PAJANG, 1, 1);
    let mut recent = Device::new();
    recent.millis = FEBRUARY_2026;
    let d = recent.register(in_2026, "Rina", PAJANG, 1, 1);
    for (dev, changes) in [(&old, vec![a, b]), (&eve, vec![c]), (&recent, vec![d])] {
        let (_, r) = s.push(&agent, dev, &changes).await;
        assert_eq!(outcomes(&r), vec!["applied"; changes.len()], "{r}");
    }
    assert_verified(&db);

    // Rolls, each standing for its date. A person keeps the earliest.
    let row = |nik: &str| format!("{nik},{LAWEYAN},2,2,pu");
    import_roll(
        &db,
        &[&row(roll_2026), &row(roll_both), &row(roll_2026_field_2024)],
        "2026-01-05",
    );
    assert_verified(&db);
    let out = import_roll(&db, &[&row(roll_2024), &row(roll_both)], "2024-06-30");
    assert!(out.contains("as of 2024-06-30"), "{out}");
    assert_verified(&db);
    // Listed again later: the 2024 date stays.
    import_roll(&db, &[&row(roll_2024)], "2026-01-05");
    assert_verified(&db);

    // 2024 and 2025: the 2024 registrations (the one stamped at
    // 23:59:59 UTC on 31 December too), the person in the 2026 roll whom an
    // agent registered in 2024, the 2024 roll, the person in both rolls;
    // not the 2026 registration nor the 2026 roll.
    for year in [2024, 2025] {
        let cov = covered(&s, &sup, "33.72", year).await;
        assert_eq!(cov["figures"]["covered"], 5, "{year}: {cov}");
        assert_eq!(cov["figures"]["working_population"], 1000);
        assert_eq!(cov["figures"]["coverage"], "0.50%", "{year}: {cov}");
        // Field registrations are bpu; Joko's field write outranks the
        // roll's pu.
        assert_eq!(cov["by_category"]["bpu"], 3, "{year}: {cov}");
        assert_eq!(cov["by_category"]["pu"], 2, "{year}: {cov}");
    }
    let before = covered(&s, &sup, "33.72", 2023).await;
    assert_eq!(before["figures"]["covered"], 0, "{before}");
    // The current year counts everyone covered now.
    let now = covered(&s, &sup, "33.72", this_year()).await;
    assert_eq!(now["figures"]["covered"], 7, "{now}");
    let default_year = s.get(&sup, "/api/v1/coverage?area=33.72").await.1;
    assert_eq!(default_year["figures"]["covered"], 7, "{default_year}");

    // The admin command reads the same figures.
    let (code, out, _) = cli(
        &db,
        &[
            "coverage", "show", "--area", "33.72", "--year", "2024", "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["figures"]["covered"], 5, "{v}");

    // A count moved from the 2024 bucket to the 2026 one: the totals of
    // today are unchanged, but 2024's and 2025's figures are wrong.
    // Verify checks every year's bucket, names them, and fails.
    let tamper = SqliteStore::open(&db).unwrap();
    tamper
        .with_writer(|c| {
            c.execute_batch(
                "UPDATE counters SET covered = covered - 1
                 WHERE area = '33.72.01' AND category = 'pu' AND since_year = 2024;
                 UPDATE counters SET covered = covered + 1
                 WHERE area = '33.72.01' AND category = 'pu' AND since_year = 2026;",
            )
        })
        .unwrap();
    drop(tamper);
    let (code, out, _) = cli(&db, &["coverage", "verify", "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    let diffs: Vec<(i64, i64, i64)> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["area"], "33.72.01", "{v}");
            assert_eq!(d["category"], "pu", "{v}");
            let n = |k: &str| d[k].as_i64().unwrap();
            (n("since_year"), n("stored"), n("expected"))
        })
        .collect();
    assert_eq!(diffs, [(2024, 1, 2), (2026, 2, 1)], "{v}");
    let (code, out, _) = cli(&db, &["coverage", "verify"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("33.72.01 pu (covered since 2026): stored 2 but recount gives 1"),
        "{out}"
    );
}

#[tokio::test]
async fn a_void_applies_to_every_year_and_a_move_to_every_year() {
    // A void corrects a registration made in error, and the address is
    // where the person lives: past years follow both.
    let (s, _dir, db) = start().await;
    let agent = s.token(Role::Agent, "agent-budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let mut d = Device::new();
    d.millis = MARCH_2024;
    let moved = "3372011203850001";
    let voided = "3372011203850002";
    let a = d.register(moved, "Budi", PAJANG, 1, 1);
    let b = d.register(voided, "Sari", PAJANG, 1, 1);
    let (_, r) = s.push(&agent, &d, &[a, b]).await;
    assert_eq!(outcomes(&r), ["applied", "applied"], "{r}");
    let cov = covered(&s, &sup, PAJANG, 2024).await;
    assert_eq!(cov["figures"]["covered"], 2, "{cov}");
    // Two years later: one moved to Laweyan, the other voided.
    d.millis = FEBRUARY_2026;
    let mv = d.change(
        moved,
        ChangeKind::Edit,
        Fields {
            kelurahan: Some(sigap_shared::AreaCode::parse(LAWEYAN).unwrap()),
            ..Fields::default()
        },
    );
    let void = d.change(voided, ChangeKind::Void, void_fields());
    let (_, r) = s.push(&agent, &d, &[mv, void]).await;
    assert_eq!(outcomes(&r), ["applied", "applied"], "{r}");
    for year in [2024, 2025, this_year()] {
        let old = covered(&s, &sup, PAJANG, year).await;
        assert_eq!(old["figures"]["covered"], 0, "{year}: {old}");
        let new = covered(&s, &sup, LAWEYAN, year).await;
        assert_eq!(new["figures"]["covered"], 1, "{year}: {new}");
    }
    assert_verified(&db);
}

#[test]
fn participants_import_refuses_a_bad_as_of_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asof.db");
    let csv = dir.path().join("roll.csv");
    std::fs::write(
        &csv,
        format!("nik,kelurahan,rw,rt,category\n3372011203850001,{PAJANG},3,5,pu\n"),
    )
    .unwrap();
    let tomorrow = sigap_shared::today().next_day().unwrap().to_string();
    for (bad, says) in [
        (
            "2024-13-01",
            "--as-of \"2024-13-01\" is not a date; write the day the roll stands for as YYYY-MM-DD, e.g. --as-of 2024-12-31",
        ),
        (
            "31-12-2024",
            "is not a date; write the day the roll stands for as YYYY-MM-DD",
        ),
        ("2024-02-30", "is not a date"),
        ("1024-06-30", "the year 1024 is too early"),
        (tomorrow.as_str(), "is after today"),
    ] {
        let (code, out, err) = cli(
            &db,
            &[
                "participants",
                "import",
                "--as-of",
                bad,
                csv.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert!(err.contains(says), "{bad}: {err}");
        assert!(!err.contains("imported"), "{bad}: {err}");
    }
    // Nothing was imported.
    let (_, out, _) = cli(&db, &["coverage", "show", "--area", "33.72", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["figures"]["covered"], 0, "{v}");
    // Without --as-of the roll stands for today: it counts this year.
    let (code, _, err) = cli(&db, &["participants", "import", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("as of {}", sigap_shared::today())),
        "{err}"
    );
    let (_, out, _) = cli(&db, &["coverage", "show", "--area", "33.72", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["figures"]["covered"], 1, "{v}");
    let last_year = (sigap_shared::today().year() - 1).to_string();
    let (_, out, _) = cli(
        &db,
        &[
            "coverage", "show", "--area", "33.72", "--year", &last_year, "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["figures"]["covered"], 0, "{v}");
}
