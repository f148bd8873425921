#![allow(clippy::unwrap_used, clippy::expect_used)]
//! PostgreSQL keeps each covered count in stripes (a row per count and
//! stripe, `migrations/0002_counter_stripes.sql`), so concurrent pushes
//! add to rows of their own. Whatever the split, every read gives the
//! sum: coverage, `coverage verify`, the history; a stripe that is off
//! shows in verify; and a database of schema version 1 keeps its counts.

mod common;

use std::time::Duration;

use common::Device;
use sigap_server::store::{DEFAULT_MAX_CLOCK_SKEW_MILLIS, PgStore, Pusher, Store, TokenInfo};
use sigap_shared::AreaCode;
use sigap_shared::wire::{Change, Outcome, PushRequest};

const KELS: [&str; 2] = ["33.72.01.1001", "33.72.02.1003"];

/// A plain connection into a schema, for writing rows by hand.
struct Raw {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Raw {
    fn connect(schema: &str) -> Raw {
        let (rt, client) = common::pg_raw(schema);
        Raw { rt, client }
    }

    fn batch(&self, sql: &str) {
        self.rt
            .block_on(self.client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    fn rows(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        self.rt
            .block_on(self.client.query(sql, &[]))
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
    }
}

/// Pushes `changes` of `device` as `token`'s agent; every one applied.
fn push(store: &PgStore, token: &TokenInfo, device: &Device, changes: Vec<Change>) {
    let by = Pusher {
        token_id: token.id,
        token_name: &token.name,
        areas: Some(&token.areas),
        max_skew_millis: DEFAULT_MAX_CLOCK_SKEW_MILLIS * 10_000,
        gap_wait: Duration::ZERO,
    };
    let req = PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: device.id,
        changes,
        pending: None,
    };
    for r in store.push(&by, &req).unwrap().results {
        assert_eq!(r.outcome, Outcome::Applied, "{r:?}");
    }
}

/// Registers `n` persons across two kecamatan, one push.
fn register(store: &PgStore, token: &TokenInfo, n: u32) {
    let mut device = Device::new();
    let changes = (0..n)
        .map(|i| {
            let nik = common::nik("337201", i);
            device.register(
                &nik,
                "Siti Rahayu",
                KELS[i as usize % 2],
                1,
                1 + i as u16 % 3,
            )
        })
        .collect();
    push(store, token, &device, changes);
}

/// What a supervisor reads: the city's coverage down to RT, and today's
/// history of a kecamatan.
fn figures(store: &PgStore) -> String {
    let city = AreaCode::parse("33.72").unwrap();
    let data = store.area_data(&city, 2025, i32::MAX).unwrap();
    let mut counters: Vec<String> = data
        .counters
        .iter()
        .map(|(a, c)| format!("{a} {c:?}"))
        .collect();
    counters.sort();
    let today = time::OffsetDateTime::now_utc().date();
    let history = store
        .coverage_history(&AreaCode::parse("33.72.01").unwrap(), today, today)
        .unwrap();
    format!("{counters:?} {history:?}")
}

#[test]
fn a_count_is_the_sum_of_its_stripes_in_every_read() {
    let Some(pg) = common::PgTestStore::new() else {
        return;
    };
    let store = &pg.store;
    let token = common::kota_agent(store, "budi");
    register(store, &token, 12);
    // One push at a time: everything is in stripe 0.
    let raw = Raw::connect(&pg.schema.name);
    let stripes = raw.rows("SELECT DISTINCT stripe FROM counters");
    assert_eq!(stripes.len(), 1);
    assert_eq!(stripes[0].get::<_, i16>(0), 0);
    let before = figures(store);
    assert!(before.contains("33.72.01.1001"), "{before}");
    let report = store.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");

    // The same counts split as concurrent pushes leave them: part in
    // other stripes, and a stripe below zero where a person left an area
    // another stripe counted them in.
    raw.batch(
        "INSERT INTO counters (area, category, since_year, covered, stripe)
             SELECT area, category, since_year, 1, 3 FROM counters WHERE stripe = 0;
         UPDATE counters SET covered = covered - 1 WHERE stripe = 0;
         INSERT INTO counters (area, category, since_year, covered, stripe)
             SELECT area, category, since_year, 2, 15 FROM counters WHERE stripe = 0;
         UPDATE counters SET covered = covered - 2 WHERE stripe = 0;
         UPDATE meta SET value = value + 1 WHERE key = 'generation';",
    );
    let negative = raw.rows("SELECT count(*) FROM counters WHERE covered < 0");
    assert!(negative[0].get::<_, i64>(0) > 0, "a stripe below zero");
    assert_eq!(figures(store), before);
    let report = store.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");

    // One stripe off by one: verify names that count with its sum.
    raw.batch(
        "INSERT INTO counters (area, category, since_year, covered, stripe)
             SELECT area, category, since_year, 1, 9 FROM counters
             WHERE area = '33.72.02' AND stripe = 0 LIMIT 1",
    );
    let report = store.verify_counters().unwrap();
    assert_eq!(report.differences.len(), 1, "{report:?}");
    let d = &report.differences[0];
    assert_eq!(d.area, "33.72.02");
    assert_eq!(d.stored, d.expected + 1, "{d:?}");
}

#[test]
fn a_version_1_database_keeps_its_counts_in_stripe_0() {
    let Some(schema) = common::PgSchema::new() else {
        return;
    };
    // The schema as a server of version 1 left it, with counts.
    let raw = Raw::connect(&schema.name);
    raw.batch(&format!("CREATE SCHEMA {}", schema.name));
    raw.batch(include_str!(
        "../src/store/postgres/migrations/0001_schema.sql"
    ));
    raw.batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 0);
         INSERT INTO counters (area, category, since_year, covered) VALUES
             ('33.72', 'pu', 2024, 7), ('33.72.01', 'pu', 2024, 7),
             ('33.72', 'bpu', 2025, 2), ('33.72.01', 'bpu', 2025, 2);",
    );

    let store = PgStore::open(&schema.url()).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    // Version 4 says how a person's record may hold its stamps.
    let comment = raw.rows(&format!(
        "SELECT col_description(attrelid, attnum) FROM pg_attribute
         WHERE attrelid = '{}.persons'::regclass AND attname = 'record'",
        schema.name
    ));
    let comment = comment[0].get::<_, Option<String>>(0).unwrap_or_default();
    assert!(comment.contains("bit mask"), "{comment:?}");
    // Version 3 leaves half of each counters page for updated rows.
    let options = raw.rows(&format!(
        "SELECT array_to_string(reloptions, ',') FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = '{}' AND c.relname = 'counters'",
        schema.name
    ));
    assert_eq!(
        options[0].get::<_, Option<String>>(0).as_deref(),
        Some("fillfactor=50")
    );
    let rows = raw.rows("SELECT area, category, since_year, covered, stripe FROM counters");
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.get::<_, i16>(4) == 0));
    let data = store
        .area_data(&AreaCode::parse("33.72").unwrap(), 2025, i32::MAX)
        .unwrap();
    let city = data
        .counters
        .get(&AreaCode::parse("33.72").unwrap())
        .copied()
        .unwrap_or_default();
    assert_eq!(city.iter().sum::<u64>(), 9, "{city:?}");
    // A count takes one row per stripe, and no more.
    raw.batch(
        "INSERT INTO counters (area, category, since_year, covered, stripe)
         VALUES ('33.72', 'pu', 2024, 1, 1)",
    );
    let twice = raw.rt.block_on(raw.client.batch_execute(
        "INSERT INTO counters (area, category, since_year, covered, stripe)
         VALUES ('33.72', 'pu', 2024, 1, 1)",
    ));
    assert!(twice.is_err(), "a second row for one count and stripe");
    drop(store);
}

#[test]
fn servers_on_one_schema_add_to_stripes_of_their_own() {
    let Some(pg) = common::PgTestStore::new() else {
        return;
    };
    let token = common::kota_agent(&pg.store, "budi");
    // Four more servers on the same schema, while the first runs: the
    // fifth finds every block held and shares block 0.
    let others: Vec<PgStore> = (0..4)
        .map(|_| PgStore::open(&pg.schema.url()).unwrap())
        .collect();
    let servers: Vec<&PgStore> = std::iter::once(&pg.store).chain(&others).collect();
    let mut device = Device::new();
    for (i, store) in servers.iter().enumerate() {
        let nik = common::nik("337201", 100 + i as u32);
        let change = device.register(&nik, "Siti Rahayu", KELS[0], 1, 1);
        push(store, &token, &device, vec![change]);
    }
    // Each server's one push at a time: the first stripe of its block.
    let raw = Raw::connect(&pg.schema.name);
    let stripes: Vec<(i16, i64)> = raw
        .rows(
            "SELECT stripe, covered FROM counters WHERE area = '33.72' AND category = 'bpu'
             ORDER BY stripe",
        )
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(stripes, [(0, 2), (16, 1), (32, 1), (48, 1)]);
    for store in &servers {
        let report = store.verify_counters().unwrap();
        assert!(report.differences.is_empty(), "{report:?}");
    }
}
