#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A roll import longer than the part a PostgreSQL store reads ahead and
//! writes at a time (`protocol::IMPORT_CHUNK`), with the same person
//! listed in two parts, ends as on SQLite: same persons, same counters,
//! every person once in the feed.

mod common;

use std::collections::BTreeSet;

use sigap_server::protocol::IMPORT_CHUNK;
use sigap_server::store::{RollRow, SqliteStore, Store};
use sigap_shared::{AreaCode, Category, Nik};

fn roll() -> Vec<RollRow> {
    let kels = ["33.72.01.1001", "33.72.01.1002", "33.72.02.1001"];
    let row = |i: u32, rt: u16| RollRow {
        nik: Nik::parse(&common::nik("337201", i)).unwrap(),
        kelurahan: AreaCode::parse(kels[i as usize % kels.len()]).unwrap(),
        rw: 1 + (i % 4) as u16,
        rt,
        category: [Category::Pu, Category::Bpu, Category::Jakon][i as usize % 3],
    };
    let n = u32::try_from(IMPORT_CHUNK).unwrap() * 2 + 500;
    let mut rows: Vec<RollRow> = (0..n).map(|i| row(i, 1)).collect();
    // Listed again in a later part, at another RT: the later row wins.
    rows.extend((0..700).map(|i| row(i * 3, 9)));
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
    let sample: Vec<serde_json::Value> = [0u32, 3, 2099, 20_001]
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
