#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A roll import longer than the part a PostgreSQL store reads ahead and
//! writes at a time (`protocol::IMPORT_CHUNK`), with the same person
//! listed in two parts, ends as on SQLite: same persons, same counters,
//! every person once in the feed.
//!
//! The store reads each part before it writes the part before it, and
//! does not wait for that write: a person listed at the end of one part
//! and again in the next is read before the first row is written, and
//! must be taken as that row left it. A write the database refuses
//! undoes the whole import, and is what the error names.

mod common;

use std::collections::BTreeSet;

use common::PgTestStore;
use sigap_server::protocol::IMPORT_CHUNK;
use sigap_server::store::{RollRow, SqliteStore, Store};
use sigap_shared::{AreaCode, Category, Nik};

/// A person of the roll: `i` is the NIK's number, `rt` where the row puts
/// them.
fn roll_row(i: u32, rt: u16) -> RollRow {
    let kels = ["33.72.01.1001", "33.72.01.1002", "33.72.02.1001"];
    RollRow {
        nik: Nik::parse(&common::nik("337201", i)).unwrap(),
        kelurahan: AreaCode::parse(kels[i as usize % kels.len()]).unwrap(),
        rw: 1 + (i % 4) as u16,
        rt,
        category: [Category::Pu, Category::Bpu, Category::Jakon][i as usize % 3],
    }
}

/// The persons at the end of the second part, listed again at the start
/// of the third.
fn across_parts() -> std::ops::Range<u32> {
    let part = u32::try_from(IMPORT_CHUNK).unwrap();
    2 * part - 40..2 * part
}

fn roll() -> Vec<RollRow> {
    let n = u32::try_from(IMPORT_CHUNK).unwrap() * 2;
    let mut rows: Vec<RollRow> = (0..n).map(|i| roll_row(i, 1)).collect();
    // Listed again in the next part, at another RT: the later row wins.
    rows.extend(across_parts().map(|i| roll_row(i, 7)));
    rows.extend((n..n + 500).map(|i| roll_row(i, 1)));
    // Listed again two parts later, at another RT.
    rows.extend((0..700).map(|i| roll_row(i * 3, 9)));
    rows
}

fn state(store: &dyn Store) -> serde_json::Value {
    let report = store.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    let data = store
        .area_data(&AreaCode::parse("33.72").unwrap(), 2025, i32::MAX)
        .unwrap();
    let mut counters: Vec<(String, [u64; 4])> = data
        .counters
        .into_iter()
        .map(|(a, c)| (a.to_string(), c))
        .collect();
    counters.sort();
    let sample: Vec<serde_json::Value> = [0u32, 3, 2099, 19_961, 19_999, 20_001]
        .iter()
        .map(|i| {
            let p = store
                .person(&Nik::parse(&common::nik("337201", *i)).unwrap(), false)
                .unwrap()
                .unwrap();
            serde_json::json!([p.fields, p.participant, p.covered])
        })
        .collect();
    serde_json::json!({"persons": report.persons, "counters": counters, "sample": sample})
}

#[test]
fn a_long_roll_import_ends_as_on_sqlite() {
    let Some(pg) = common::pg_store() else { return };
    let rows = roll();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let expected = sqlite.import_participants(&rows).unwrap();
    let summary = pg.import_participants(&rows).unwrap();
    assert_eq!(summary, expected);
    // Each person listed twice was created by the first row and moved by
    // the second.
    assert_eq!(expected.joined, 740);
    assert_eq!(state(&pg), state(&sqlite));
    // Every person once in the feed, in feed order.
    let (mut cursor, mut seen, mut seqs) = (0, BTreeSet::new(), Vec::new());
    loop {
        let page = pg.pull(None, cursor, 5_000, None).unwrap();
        for p in &page.persons {
            assert!(
                seen.insert(p.nik_hash.clone()),
                "a person twice in the feed"
            );
            seqs.push(p.seq);
        }
        cursor = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seen.len() as u64, expected.created);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn persons_known_before_the_import_and_listed_in_two_parts_end_as_on_sqlite() {
    let Some(pg) = common::pg_store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    // Known before: listed by an earlier roll, at RT 3, so that the long
    // roll updates rows that exist where it lists them twice.
    let earlier: Vec<RollRow> = across_parts().map(|i| roll_row(i, 3)).collect();
    for store in [&pg as &dyn Store, &sqlite] {
        store.import_participants(&earlier).unwrap();
    }
    let rows = roll();
    let expected = sqlite.import_participants(&rows).unwrap();
    assert_eq!(pg.import_participants(&rows).unwrap(), expected);
    assert_eq!(expected.created, 20_500 - 40);
    assert_eq!(state(&pg), state(&sqlite));
    let moved = pg
        .person(&Nik::parse(&common::nik("337201", 19_999)).unwrap(), false)
        .unwrap()
        .unwrap();
    assert_eq!(moved.fields.rt, Some(7), "the later row wins");
}

#[test]
fn a_part_the_database_refuses_undoes_the_import_and_is_named_as_its_cause() {
    let Some(t) = PgTestStore::new() else { return };
    let rows = roll();
    // A person of the first part, which is written while the second is
    // worked out: the error is met when the third part is read, which
    // PostgreSQL answers "current transaction is aborted".
    let refused = rows[17].nik.as_str().to_string();
    let (rt, client) = common::pg_raw(&t.schema.name);
    rt.block_on(client.batch_execute(&format!(
        "ALTER TABLE persons ADD CONSTRAINT no_such_nik CHECK (nik <> '{refused}')"
    )))
    .unwrap();

    let err = t.store.import_participants(&rows).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("23514") && text.contains("no_such_nik"),
        "the refused write's own error is returned, not an echo: {text}"
    );
    assert!(!text.contains("25P02"), "{text}");
    let count = |sql: &str| -> i64 { rt.block_on(client.query_one(sql, &[])).unwrap().get(0) };
    // Nothing of the import is kept: not the first part, written before.
    assert_eq!(count("SELECT count(*) FROM persons"), 0);
    assert_eq!(
        count("SELECT COALESCE(SUM(covered), 0)::bigint FROM counters"),
        0
    );

    // With the database fixed, the same roll goes in whole.
    rt.block_on(client.batch_execute("ALTER TABLE persons DROP CONSTRAINT no_such_nik"))
        .unwrap();
    let summary = t.store.import_participants(&rows).unwrap();
    assert_eq!(summary.created, 20_500);
    assert_eq!(count("SELECT count(*) FROM persons"), 20_500);
    assert!(t.store.verify_counters().unwrap().differences.is_empty());
}
