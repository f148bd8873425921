#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The PostgreSQL store's reads, tokens, devices, baselines and targets
//! give the SQLite store's answers. Each test runs in a schema of its own
//! on the database of `SIGAP_TEST_DATABASE_URL` and is skipped (with a
//! notice) when that is not set.
//!
//! The reads are compared on the same data: a history made on a SQLite
//! store through its pushes, roll import and resolution is copied row by
//! row into PostgreSQL (with the same replica key), and every read is
//! asked of both.

mod common;

use std::sync::{Arc, Barrier};

use rusqlite::types::Value;
use sigap_server::store::{
    Baseline, NewToken, PersonView, PgStore, Pusher, Role, RollRow, SqliteStore, Store, StoreError,
    TokenInfo,
};
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::merge::Fields;
use sigap_shared::wire::{Change, ChangeKind, PersonState, PullPage, PushRequest};
use sigap_shared::{AreaCode, Category, Nik, Status};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use common::{Device, nik};

const PAJANG: &str = "33.72.01.1001";
const LAWEYAN: &str = "33.72.01.1002";
/// A kelurahan outside kecamatan Laweyan.
const ELSEWHERE: &str = "33.72.05.1001";

/// A schema of its own on the test database, dropped at the end.
struct Pg {
    base: String,
    schema: String,
}

impl Pg {
    fn new(test: &str) -> Option<Pg> {
        let Some(base) = std::env::var("SIGAP_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!("skipping {test}: SIGAP_TEST_DATABASE_URL is not set");
            return None;
        };
        Some(Pg {
            base,
            schema: format!("t_{}", Uuid::new_v4().simple()),
        })
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.base, self.schema)
    }

    fn open(&self) -> PgStore {
        PgStore::open(&self.url()).unwrap()
    }

    /// A plain connection into the schema, for writing rows by hand.
    fn raw(&self) -> Raw {
        Raw::connect(&self.base, &self.schema)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Best effort: a failed test may have left nothing to drop.
        if let Ok(raw) = Raw::try_connect(&self.base, "public") {
            let _ = raw.rt.block_on(
                raw.client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema)),
            );
        }
    }
}

struct Raw {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Raw {
    fn try_connect(base: &str, schema: &str) -> Result<Raw, tokio_postgres::Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut config: tokio_postgres::Config = base.parse()?;
        config.options(format!("-c search_path={schema}"));
        let client = rt.block_on(async {
            let (client, conn) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok::<_, tokio_postgres::Error>(client)
        })?;
        Ok(Raw { rt, client })
    }

    fn connect(base: &str, schema: &str) -> Raw {
        Raw::try_connect(base, schema).unwrap()
    }

    fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> u64 {
        self.rt
            .block_on(self.client.execute(sql, params))
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
    }
}

/// How a SQLite column is written into its PostgreSQL counterpart.
#[derive(Clone, Copy)]
enum Kind {
    Big,
    Int,
    Text,
    Id,
    Flag,
}

use Kind::{Big, Flag, Id, Int, Text};

/// The tables the reads look at, parents first, with their columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "tokens",
        &[
            ("id", Big),
            ("name", Text),
            ("role", Text),
            ("areas", Text),
            ("hash", Text),
            ("created_at", Big),
            ("revoked_at", Big),
            ("expires_at", Big),
        ],
    ),
    (
        "devices",
        &[
            ("device_id", Id),
            ("count", Big),
            ("highest_seq", Big),
            ("max_seq", Big),
            ("hash", Text),
            ("token_id", Big),
            ("last_push_at", Big),
            ("pending", Big),
        ],
    ),
    (
        "persons",
        &[
            ("seq", Big),
            ("nik", Text),
            ("record", Text),
            ("kelurahan", Text),
            ("participant", Flag),
            ("registered_by", Text),
            ("registered_hlc", Text),
            ("registered_at", Big),
            ("sole_device", Id),
            ("review", Text),
            ("last_changed_by", Text),
            ("claims", Text),
            ("roll_as_of", Text),
        ],
    ),
    (
        "changes",
        &[
            ("id", Id),
            ("device_id", Id),
            ("device_seq", Big),
            ("in_log", Flag),
            ("nik", Text),
            ("hlc", Text),
            ("kind", Text),
            ("fields", Text),
            ("agent", Text),
            ("received_at", Big),
            ("outcome", Text),
            ("reject_code", Text),
            ("reject_reason", Text),
        ],
    ),
    (
        "counters",
        &[
            ("area", Text),
            ("category", Text),
            ("since_year", Int),
            ("covered", Big),
        ],
    ),
    (
        "baselines",
        &[("area", Text), ("year", Int), ("working_population", Big)],
    ),
    (
        "targets",
        &[
            ("area", Text),
            ("year", Int),
            ("percent_bp", Int),
            ("count", Big),
        ],
    ),
    (
        "conflicts",
        &[
            ("id", Big),
            ("nik", Text),
            ("kelurahan", Text),
            ("fields", Text),
            ("existing", Text),
            ("incoming", Text),
            ("change_id", Id),
            ("status", Text),
            ("opened_at", Big),
            ("resolved_at", Big),
            ("resolved_by", Text),
            ("resolution", Text),
            ("note", Text),
        ],
    ),
];

fn pg_value(v: &Value, kind: Kind) -> Box<dyn ToSql + Sync + Send> {
    let int = || match v {
        Value::Null => None,
        Value::Integer(n) => Some(*n),
        other => panic!("not an integer: {other:?}"),
    };
    match kind {
        Big => Box::new(int()),
        Int => Box::new(int().map(|n| i32::try_from(n).unwrap())),
        Flag => Box::new(int().map(|n| n != 0)),
        Text => Box::new(match v {
            Value::Null => None,
            Value::Text(t) => Some(t.clone()),
            other => panic!("not text: {other:?}"),
        }),
        Id => Box::new(match v {
            Value::Null => None,
            Value::Blob(b) => Some(Uuid::from_slice(b).unwrap()),
            other => panic!("not a UUID: {other:?}"),
        }),
    }
}

/// Copies what the reads look at from `sqlite` into the schema of `pg`
/// (freshly migrated), with the SQLite store's replica key.
fn copy_into(sqlite: &SqliteStore, pg: &Pg) {
    let raw = pg.raw();
    for (table, cols) in TABLES {
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let names = names.join(", ");
        let rows: Vec<Vec<Value>> = sqlite
            .with_writer(|c| {
                let mut stmt = c.prepare(&format!("SELECT {names} FROM {table}"))?;
                let rows = stmt.query_map([], |r| {
                    (0..cols.len()).map(|i| r.get::<_, Value>(i)).collect()
                })?;
                rows.collect()
            })
            .unwrap();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({names}) VALUES ({})",
            marks.join(", ")
        );
        for row in rows {
            let values: Vec<Box<dyn ToSql + Sync + Send>> = row
                .iter()
                .zip(cols.iter())
                .map(|(v, (_, kind))| pg_value(v, *kind))
                .collect();
            let params: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
            raw.exec(&sql, &params);
        }
    }
    let (generation, feed, key): (i64, i64, Vec<u8>) = sqlite
        .with_writer(|c| {
            Ok((
                c.query_row(
                    "SELECT COALESCE((SELECT value FROM meta WHERE key = 'generation'), 0)",
                    [],
                    |r| r.get(0),
                )?,
                c.query_row("SELECT COALESCE(MAX(seq), 0) FROM persons", [], |r| {
                    r.get(0)
                })?,
                c.query_row(
                    "SELECT value FROM secrets WHERE name = 'replica_key'",
                    [],
                    |r| r.get(0),
                )?,
            ))
        })
        .unwrap();
    raw.exec(
        "UPDATE meta SET value = $1 WHERE key = 'generation'",
        &[&generation],
    );
    raw.exec(
        "UPDATE meta SET value = $1 WHERE key = 'feed_seq'",
        &[&feed],
    );
    raw.exec(
        "UPDATE secrets SET value = $1 WHERE name = 'replica_key'",
        &[&key],
    );
    for table in ["tokens", "conflicts"] {
        raw.exec(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            ),
            &[],
        );
    }
}

fn area(code: &str) -> AreaCode {
    AreaCode::parse(code).unwrap()
}

fn new_token(name: &str, role: Role, areas: &[&str]) -> NewToken {
    NewToken {
        name: name.into(),
        role,
        areas: areas.iter().map(|a| area(a)).collect(),
        hash: sigap_server::token::hash(&format!("secret of {name}")),
        expires_at: None,
    }
}

fn push(store: &dyn Store, token: &TokenInfo, device: Uuid, changes: &[Change]) -> Vec<String> {
    let by = Pusher {
        token_id: token.id,
        token_name: &token.name,
        areas: Some(token.areas.as_slice()),
        max_skew_millis: sigap_server::store::DEFAULT_MAX_CLOCK_SKEW_MILLIS,
        gap_wait: std::time::Duration::from_millis(10),
    };
    let req = PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: device,
        changes: changes.to_vec(),
        pending: None,
    };
    store
        .push(&by, &req)
        .unwrap()
        .results
        .into_iter()
        .map(|r| {
            serde_json::to_value(&r.outcome).unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn push_log(s: &dyn Store, d: Uuid) -> Vec<String> {
    s.device_changes(d, 0, 100)
        .unwrap()
        .0
        .into_iter()
        .map(|c| format!("{} {:?}", c.outcome, c.reason))
        .collect()
}

/// A history with every kind of row the reads show: registrations in two
/// kelurahan and another kecamatan, edits, a void, a rejection, a partial
/// record to review, identity conflicts, roll participants (dated and
/// not), baselines and targets. Made once, replayed on each store.
struct Script {
    niks: Vec<Nik>,
    ani: Uuid,
    budi: Uuid,
    by_ani: Vec<Change>,
    by_budi: Vec<Change>,
}

fn script() -> Script {
    let niks: Vec<String> = (0..12).map(|i| nik("337201", i)).collect();
    let mut da = Device::new();
    let mut db = Device::new();
    let mut by_ani = Vec::new();
    let names = [
        "Ani Satu",
        "Ani Dua",
        "Ani Tiga",
        "Ani Empat",
        "Ani Lima",
        "Ani Enam",
    ];
    for (i, n) in niks[..6].iter().enumerate() {
        let kel = if i % 2 == 0 { PAJANG } else { LAWEYAN };
        let rw = u16::try_from(1 + i % 3).unwrap();
        by_ani.push(da.register(n, names[i], kel, rw, 2));
    }
    // An edit, a void (with a reason) and a write outside ani's areas.
    by_ani.push(da.change(
        &niks[0],
        ChangeKind::Edit,
        Fields {
            phone: Some("081234567890".into()),
            ..Fields::default()
        },
    ));
    by_ani.push(da.change(
        &niks[1],
        ChangeKind::Void,
        Fields {
            status: Some(Status::Void),
            void_reason: Some("pindah ke luar kota".into()),
            ..Fields::default()
        },
    ));
    by_ani.push(da.register(&niks[6], "Warga Jauh", ELSEWHERE, 1, 1));
    // An edit without its registration: a partial record to review.
    by_ani.push(da.change(
        &niks[7],
        ChangeKind::Edit,
        Fields {
            name: Some("Separuh".into()),
            kelurahan: Some(area(PAJANG)),
            rw: Some(4),
            rt: Some(4),
            ..Fields::default()
        },
    ));
    // Budi registers elsewhere, and two of ani's persons under other
    // names: two identity conflicts.
    let mut by_budi = vec![
        db.register(&niks[8], "Warga Budi", ELSEWHERE, 2, 3),
        db.register(&niks[9], "Warga Budi Lagi", ELSEWHERE, 2, 3),
        db.register(&niks[2], "Nama Lain", PAJANG, 1, 2),
        db.register(&niks[3], "Nama Lain Juga", LAWEYAN, 2, 2),
    ];
    by_budi.push(db.change(
        &niks[4],
        ChangeKind::Edit,
        Fields {
            occupation: Some("tukang".into()),
            ..Fields::default()
        },
    ));
    Script {
        niks: niks.iter().map(|n| Nik::parse(n).unwrap()).collect(),
        ani: da.id,
        budi: db.id,
        by_ani,
        by_budi,
    }
}

/// Plays `sc` on `s`; with `resolve`, a supervisor resolves one of the
/// conflicts (at the wall clock's time).
fn replay(s: &dyn Store, sc: &Script, resolve: bool) -> Vec<u64> {
    let mut generations = vec![s.data_generation().unwrap()];
    let ani = s
        .create_token(&new_token("ani", Role::Agent, &["33.72.01"]))
        .unwrap();
    let budi = s
        .create_token(&new_token("budi", Role::Agent, &["33.72"]))
        .unwrap();
    s.create_token(&new_token("sari", Role::Supervisor, &["33.72"]))
        .unwrap();
    s.create_token(&new_token("root", Role::Admin, &[]))
        .unwrap();
    let old = s
        .create_token(&new_token("old", Role::Agent, &[PAJANG]))
        .unwrap();
    s.revoke_token(&old.name).unwrap();
    s.claim_device(sc.ani, ani.id).unwrap();
    s.claim_device(sc.budi, budi.id).unwrap();

    let out = push(s, &ani, sc.ani, &sc.by_ani);
    assert_eq!(out[8], "rejected", "{out:?}");
    assert_eq!(
        out.iter().filter(|o| *o == "rejected").count(),
        1,
        "{:?}",
        push_log(s, sc.ani)
    );
    generations.push(s.data_generation().unwrap());
    push(s, &budi, sc.budi, &sc.by_budi);
    generations.push(s.data_generation().unwrap());
    let open = s.conflicts(Some("open")).unwrap();
    assert_eq!(open.len(), 2, "{:?}", push_log(s, sc.budi));
    if resolve {
        s.resolve_conflict(
            open[0].id,
            &open[0].existing.fields,
            Some("cek KTP"),
            "sari",
        )
        .unwrap();
    }

    // Roll participants: one already registered, one new, dated and not.
    let row = |n: &Nik, kel: &str| RollRow {
        nik: n.clone(),
        kelurahan: area(kel),
        rw: 1,
        rt: 1,
        category: Category::Pu,
    };
    s.import_participants_as_of(
        &[row(&sc.niks[5], LAWEYAN), row(&sc.niks[10], PAJANG)],
        time::macros::date!(2025 - 06 - 30),
    )
    .unwrap();
    generations.push(s.data_generation().unwrap());
    s.import_participants(&[row(&sc.niks[11], ELSEWHERE)])
        .unwrap();
    generations.push(s.data_generation().unwrap());

    s.set_baselines(&[
        Baseline {
            area: area("33.72"),
            year: 2025,
            working_population: 227_164,
        },
        Baseline {
            area: area(PAJANG),
            year: 2025,
            working_population: 9_000,
        },
        Baseline {
            area: area(PAJANG),
            year: 2026,
            working_population: 9_100,
        },
    ])
    .unwrap();
    s.set_target(
        &area("33.72"),
        2025,
        Target {
            percent: Percent(5702),
            count: None,
        },
    )
    .unwrap();
    s.set_target(
        &area(PAJANG),
        2025,
        Target {
            percent: Percent(6000),
            count: Some(5_400),
        },
    )
    .unwrap();
    generations.push(s.data_generation().unwrap());
    generations
}

/// Tokens without their times (the wall clock's, different in each
/// store), whether revoked kept.
fn timeless(tokens: Vec<TokenInfo>) -> Vec<TokenInfo> {
    tokens
        .into_iter()
        .map(|t| TokenInfo {
            created_at: 0,
            revoked_at: t.revoked_at.map(|_| 1),
            ..t
        })
        .collect()
}

fn error_text(e: &StoreError) -> (String, String) {
    match e {
        StoreError::Invalid { code, message } => (format!("invalid {code}"), message.clone()),
        StoreError::Denied { code, message } => (format!("denied {code}"), message.clone()),
        other => (format!("{other:?}"), other.to_string()),
    }
}

/// Asks `a` and `b` every read over the history of `sc` and asserts the
/// same answers (as `Debug` text). Without `same_seq`, the stores may
/// have numbered their feeds differently: the feed is compared without
/// its numbers (and paged through on each store on its own).
fn assert_same_reads(a: &dyn Store, b: &dyn Store, sc: &Script, same_seq: bool) {
    macro_rules! same {
        ($($call:tt)*) => {{
            let x = a.$($call)*;
            let y = b.$($call)*;
            assert_eq!(
                format!("{x:?}"),
                format!("{y:?}"),
                "{} differs",
                stringify!($($call)*)
            );
            x
        }};
    }
    assert_eq!(
        a.replica_key().unwrap().to_hex(),
        b.replica_key().unwrap().to_hex()
    );

    // Tokens.
    let tokens = a.list_tokens().unwrap();
    assert_eq!(timeless(tokens.clone()), timeless(b.list_tokens().unwrap()));
    assert_eq!(tokens.len(), 5);
    for t in &tokens {
        let found = (
            a.find_token(&t.hash_of()).unwrap(),
            b.find_token(&t.hash_of()).unwrap(),
        );
        assert_eq!(found.0.is_some(), t.revoked_at.is_none(), "{t:?}");
        assert_eq!(
            timeless(found.0.into_iter().collect()),
            timeless(found.1.into_iter().collect())
        );
    }
    same!(find_token("nothing").unwrap());

    // The feed: every area filter, page size and skip.
    let kota = area("33.72");
    let filters: Vec<Option<Vec<AreaCode>>> = vec![
        None,
        Some(vec![]),
        Some(vec![area(PAJANG)]),
        Some(vec![area(PAJANG), area(ELSEWHERE)]),
        Some(vec![area("33.72.01")]),
        Some(vec![kota]),
        Some(vec![area("33.72.05"), area(LAWEYAN)]),
        Some(vec![area("33.71")]),
    ];
    for areas in &filters {
        for skip in [None, Some(sc.ani), Some(sc.budi), Some(Uuid::nil())] {
            let full = [a, b].map(|s| s.pull(areas.as_deref(), 0, 1000, skip).unwrap());
            if same_seq {
                assert_eq!(full[0], full[1]);
            } else {
                assert_eq!(
                    unnumbered(&full[0]),
                    unnumbered(&full[1]),
                    "{areas:?} {skip:?}"
                );
            }
            for limit in [0, 1, 2, 3, 100] {
                let mut cursor = 0;
                let mut pages = 0;
                let mut seen = [Vec::new(), Vec::new()];
                loop {
                    let page =
                        [a, b].map(|s| s.pull(areas.as_deref(), cursor, limit, skip).unwrap());
                    if same_seq {
                        assert_eq!(page[0], page[1], "{areas:?} {skip:?} {limit} {cursor}");
                    }
                    for (seen, page) in seen.iter_mut().zip(&page) {
                        seen.extend(page.persons.clone());
                    }
                    pages += 1;
                    if !page[1].has_more || pages > 40 {
                        break;
                    }
                    cursor = page[1].next_cursor;
                    if !same_seq {
                        // Page through each store on its own numbers.
                        break;
                    }
                }
                if limit > 0 && (same_seq || limit == 100) {
                    assert_eq!(seen[1], full[1].persons, "{areas:?} {skip:?} {limit}");
                }
            }
            // Paging through each store on its own gives its whole feed.
            for (s, full) in [a, b].iter().zip(&full) {
                for limit in [1, 2, 3] {
                    let mut cursor = 0;
                    let mut seen = Vec::new();
                    for _ in 0..40 {
                        let page = s.pull(areas.as_deref(), cursor, limit, skip).unwrap();
                        seen.extend(page.persons);
                        cursor = page.next_cursor;
                        if !page.has_more {
                            break;
                        }
                    }
                    assert_eq!(&seen, &full.persons, "{areas:?} {skip:?} {limit}");
                }
            }
        }
    }
    let all = b.pull(None, 0, 100, None).unwrap();
    assert_eq!(all.persons.len(), 11, "{all:?}");
    assert!(all.persons.iter().any(|p| p.voided_at.is_some()));
    assert!(!b.pull(None, all.next_cursor, 100, None).unwrap().has_more);
    assert!(
        b.pull(None, all.next_cursor, 100, None)
            .unwrap()
            .persons
            .is_empty()
    );
    same!(pull(None, u64::MAX, 100, None).unwrap());

    // Devices.
    for d in [sc.ani, sc.budi, Uuid::nil(), Uuid::new_v4()] {
        same!(device_receipt(d).unwrap());
        for (after, limit) in [(0, 100), (0, 0), (0, 3), (3, 3), (9, 3), (100, 3)] {
            same!(device_changes(d, after, limit).unwrap());
        }
    }
    let (log, _) = b.device_changes(sc.ani, 0, 100).unwrap();
    assert_eq!(log.len(), 10);
    assert!(log.iter().any(|c| c.code.is_some() && c.reason.is_some()));

    // Coverage data (the generation's number is the writers').
    if same_seq {
        same!(data_generation().unwrap());
    }
    for code in [
        "33",
        "33.72",
        "33.72.01",
        PAJANG,
        "33.72.01.1001/1",
        "33.72.01.1001/1/2",
        ELSEWHERE,
        "33.71",
    ] {
        for (year, through) in [(2025, 2025), (2026, i32::MAX), (2024, 2024), (2025, 0)] {
            let (x, y) = (
                a.area_data(&area(code), year, through).unwrap(),
                b.area_data(&area(code), year, through).unwrap(),
            );
            assert_eq!(x.counters, y.counters, "{code} {year}");
            assert_eq!(x.baselines, y.baselines, "{code} {year}");
            assert_eq!(x.targets, y.targets, "{code} {year}");
        }
    }
    let d = b.area_data(&kota, 2025, i32::MAX).unwrap();
    assert!(!d.counters.is_empty() && !d.baselines.is_empty() && !d.targets.is_empty());
    let report = same!(verify_counters().unwrap());
    assert!(report.differences.is_empty(), "{report:?}");
    assert_eq!(report.persons, 11);

    // Conflicts.
    let conflicts = same!(conflicts(None).unwrap());
    assert_eq!(conflicts.len(), 2);
    same!(conflicts(Some("open")).unwrap());
    same!(conflicts(Some("resolved")).unwrap());
    same!(conflicts(Some("nonsense")).unwrap());
    for c in &conflicts {
        same!(conflict(c.id).unwrap());
    }
    same!(conflict(9_999).unwrap());

    // Persons, review, pace.
    let unseq = |p: Option<PersonView>| {
        p.map(|p| PersonView {
            seq: if same_seq { p.seq } else { 0 },
            ..p
        })
    };
    for n in &sc.niks {
        for history in [false, true] {
            let x = unseq(a.person(n, history).unwrap());
            let y = unseq(b.person(n, history).unwrap());
            assert_eq!(x, y, "{n:?} {history}");
            if let Some(p) = x {
                assert_eq!(p.history.is_some(), history);
            }
        }
    }
    same!(person(&Nik::parse(&nik("337201", 500)).unwrap(), true).unwrap());
    let review = same!(review(None).unwrap());
    assert!(!review.is_empty());
    for areas in &filters {
        same!(review(areas.as_deref()).unwrap());
        for from in [0, i64::try_from(common::NOW).unwrap(), i64::MAX] {
            same!(registrations_per_day(areas.as_deref(), from).unwrap());
        }
    }
    assert!(!b.registrations_per_day(None, 0).unwrap().is_empty());
}

/// A feed page's persons without their feed numbers, in a fixed order.
fn unnumbered(page: &PullPage) -> Vec<String> {
    let mut out: Vec<String> = page
        .persons
        .iter()
        .map(|p| {
            format!(
                "{:?}",
                PersonState {
                    seq: 0,
                    ..p.clone()
                }
            )
        })
        .collect();
    out.sort();
    out
}

/// A store's clock that stands still an hour after the script's changes.
fn still_clock() -> sigap_server::store::sqlite::Clock {
    Arc::new(|| i64::try_from(common::NOW).unwrap() + 3_600_000)
}

#[test]
fn every_read_answers_as_on_sqlite_over_the_same_rows() {
    let Some(pg) = Pg::new("every_read_answers_as_on_sqlite_over_the_same_rows") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let sc = script();
    let _ = replay(&sqlite, &sc, true);
    // Migrate, copy, then open again to read the copied replica key.
    drop(pg.open());
    copy_into(&sqlite, &pg);
    let pgs = pg.open();
    assert_same_reads(&sqlite, &pgs, &sc, true);

    // A counter gone wrong shows the same way.
    let bad = "UPDATE counters SET covered = covered + 2 WHERE area = '33.72' AND category = 'bpu'";
    sqlite.with_writer(|c| c.execute(bad, [])).unwrap();
    pg.raw().exec(bad, &[]);
    let (x, y) = (
        sqlite.verify_counters().unwrap(),
        pgs.verify_counters().unwrap(),
    );
    assert_eq!(x, y);
    assert_eq!(x.differences.len(), 1, "{x:?}");
}

/// The reads over what the PostgreSQL writer stored give what SQLite's
/// give over its own, for the same pushes and imports.
#[test]
fn the_same_pushes_read_back_the_same_on_both_stores() {
    let Some(pg) = Pg::new("the_same_pushes_read_back_the_same_on_both_stores") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("s.db"))
        .unwrap()
        .with_clock(still_clock());
    // The same replica key, so that the feeds' lookup hashes agree.
    drop(pg.open());
    let key = sqlite.replica_key().unwrap();
    pg.raw().exec(
        "UPDATE secrets SET value = $1 WHERE name = 'replica_key'",
        &[&key.as_bytes().as_slice()],
    );
    let pgs = pg.open().with_clock(still_clock());
    let sc = script();
    let generations = [replay(&sqlite, &sc, false), replay(&pgs, &sc, false)];
    // Each write that changes coverage data moves the generation on.
    for g in &generations {
        assert!(g.windows(2).all(|w| w[1] > w[0]), "{generations:?}");
    }
    assert_same_reads(&sqlite, &pgs, &sc, false);
}

#[test]
fn tokens_are_made_found_listed_and_revoked_as_on_sqlite() {
    let Some(pg) = Pg::new("tokens_are_made_found_listed_and_revoked_as_on_sqlite") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let pgs = pg.open();
    let stores: [&dyn Store; 2] = [&sqlite, &pgs];
    let mut answers: Vec<Vec<String>> = Vec::new();
    for s in stores {
        let mut out = Vec::new();
        let before = i64::try_from(sigap_shared::hlc::wall_millis()).unwrap();
        let a = s
            .create_token(&new_token("ani", Role::Agent, &[PAJANG, LAWEYAN]))
            .unwrap();
        assert!(a.created_at >= before);
        let mut expiring = new_token("sari", Role::Supervisor, &["33.72"]);
        expiring.expires_at = Some(1_900_000_000_000);
        let b = s.create_token(&expiring).unwrap();
        let c = s
            .create_token(&new_token("root", Role::Admin, &[]))
            .unwrap();
        out.push(format!(
            "{:?}",
            timeless(vec![a.clone(), b.clone(), c.clone()])
        ));
        let listed = s.list_tokens().unwrap();
        assert_eq!(listed, vec![a.clone(), b.clone(), c.clone()]);
        // A taken name.
        let mut again = new_token("ani", Role::Admin, &[]);
        again.hash = "another hash".into();
        let e = s.create_token(&again).unwrap_err();
        out.push(format!("{:?}", error_text(&e)));
        assert_eq!(s.list_tokens().unwrap().len(), 3);
        // Found by hash until revoked (by name, then by id).
        assert_eq!(s.find_token(&a.hash_of()).unwrap(), Some(a.clone()));
        assert_eq!(s.find_token(&b.hash_of()).unwrap(), Some(b.clone()));
        let r = s.revoke_token("ani").unwrap().unwrap();
        assert!(r.revoked_at.is_some());
        assert_eq!(s.find_token(&a.hash_of()).unwrap(), None);
        let r2 = s.revoke_token(&a.id.to_string()).unwrap().unwrap();
        assert_eq!(
            r2.revoked_at, r.revoked_at,
            "a second revocation keeps the time"
        );
        let by_id = s.revoke_token(&c.id.to_string()).unwrap().unwrap();
        assert_eq!(by_id.name, "root");
        out.push(format!("{:?}", timeless(vec![r, r2, by_id])));
        out.push(format!("{:?}", s.revoke_token("nobody").unwrap()));
        out.push(format!("{:?}", s.revoke_token("99").unwrap()));
        out.push(format!("{:?}", timeless(s.list_tokens().unwrap())));
        // A token named like another's id: the name wins.
        let named = s
            .create_token(&new_token(&b.id.to_string(), Role::Agent, &[PAJANG]))
            .unwrap();
        let r = s.revoke_token(&b.id.to_string()).unwrap().unwrap();
        assert_eq!(r.id, named.id);
        assert!(s.find_token(&b.hash_of()).unwrap().is_some());
        out.push(format!("{:?}", timeless(s.list_tokens().unwrap())));
        answers.push(out);
    }
    assert_eq!(answers[0], answers[1]);
}

trait HashOf {
    fn hash_of(&self) -> String;
}

impl HashOf for TokenInfo {
    fn hash_of(&self) -> String {
        sigap_server::token::hash(&format!("secret of {}", self.name))
    }
}

#[test]
fn baselines_targets_and_the_generation_are_kept_as_on_sqlite() {
    let Some(pg) = Pg::new("baselines_targets_and_the_generation_are_kept_as_on_sqlite") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let pgs = pg.open();
    let mut seen = Vec::new();
    for s in [&sqlite as &dyn Store, &pgs] {
        let g0 = s.data_generation().unwrap();
        s.set_baselines(&[
            Baseline {
                area: area("33.72"),
                year: 2025,
                working_population: 227_164,
            },
            Baseline {
                area: area(PAJANG),
                year: 2025,
                working_population: 9_000,
            },
            Baseline {
                area: area("33.72.01.1001/3/5"),
                year: 2025,
                working_population: 40,
            },
            Baseline {
                area: area("33.71"),
                year: 2025,
                working_population: 1,
            },
        ])
        .unwrap();
        let g1 = s.data_generation().unwrap();
        assert!(g1 > g0);
        // Replaced, not added.
        s.set_baselines(&[Baseline {
            area: area(PAJANG),
            year: 2025,
            working_population: 9_500,
        }])
        .unwrap();
        s.set_baselines(&[]).unwrap();
        s.set_target(
            &area("33.72"),
            2025,
            Target {
                percent: Percent(5702),
                count: None,
            },
        )
        .unwrap();
        s.set_target(
            &area("33.72"),
            2025,
            Target {
                percent: Percent(5800),
                count: Some(130_000),
            },
        )
        .unwrap();
        s.set_target(
            &area("33.72.01.1001/3"),
            2025,
            Target {
                percent: Percent(10_000),
                count: None,
            },
        )
        .unwrap();
        let g2 = s.data_generation().unwrap();
        assert!(g2 > g1);
        let mut out = vec![format!("{}", g2 - g0)];
        for a in [
            "33",
            "33.72",
            "33.72.01",
            PAJANG,
            "33.72.01.1001/3",
            "33.72.01.1001/3/5",
            "33.71",
        ] {
            for year in [2024, 2025] {
                let d = s.area_data(&area(a), year, year).unwrap();
                let mut b: Vec<_> = d.baselines.into_iter().collect();
                b.sort();
                let mut t: Vec<_> = d
                    .targets
                    .into_iter()
                    .map(|(a, t)| (a, t.percent.0, t.count))
                    .collect();
                t.sort();
                assert!(d.counters.is_empty());
                out.push(format!("{a} {year}: {b:?} {t:?}"));
            }
        }
        let d = s.area_data(&area("33.72"), 2025, 2025).unwrap();
        assert_eq!(d.baselines.get(&area(PAJANG)), Some(&9_500));
        assert_eq!(d.baselines.len(), 3);
        assert_eq!(
            d.targets.get(&area("33.72")),
            Some(&Target {
                percent: Percent(5800),
                count: Some(130_000)
            })
        );
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1]);
    // Another server on the same database sees the same generation.
    let other = pg.open();
    assert_eq!(
        other.data_generation().unwrap(),
        pgs.data_generation().unwrap()
    );
}

#[test]
fn devices_are_claimed_and_assigned_as_on_sqlite() {
    let Some(pg) = Pg::new("devices_are_claimed_and_assigned_as_on_sqlite") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let pgs = pg.open();
    let mut seen = Vec::new();
    for s in [&sqlite as &dyn Store, &pgs] {
        let mut out = Vec::new();
        let ani = s
            .create_token(&new_token("ani", Role::Agent, &[PAJANG]))
            .unwrap();
        let budi = s
            .create_token(&new_token("budi", Role::Agent, &[PAJANG]))
            .unwrap();
        let laptop = Uuid::from_u128(0x1234);
        let unknown = Uuid::from_u128(0x9999);
        // An unknown device: an empty receipt.
        let r = s.device_receipt(unknown).unwrap();
        assert_eq!((r.count, r.highest_seq, r.max_seq), (0, 0, 0));
        out.push(format!("{r:?}"));
        out.push(format!("{:?}", s.device_changes(unknown, 0, 10).unwrap()));
        // Claimed once, again by the holder, refused to another token.
        s.claim_device(laptop, ani.id).unwrap();
        s.claim_device(laptop, ani.id).unwrap();
        let e = s.claim_device(laptop, budi.id).unwrap_err();
        assert!(matches!(&e, StoreError::Denied { code, .. } if code == "device_not_yours"));
        assert!(e.to_string().contains("(ani)"), "{e}");
        out.push(format!("{:?}", error_text(&e)));
        out.push(format!("{:?}", s.device_receipt(laptop).unwrap()));
        // An admin gives it to budi: now ani is refused.
        s.assign_device(laptop, budi.id).unwrap();
        s.claim_device(laptop, budi.id).unwrap();
        let e = s.claim_device(laptop, ani.id).unwrap_err();
        out.push(format!("{:?}", error_text(&e)));
        // Assigning a device the server never saw makes its row.
        let spare = Uuid::from_u128(0x5555);
        s.assign_device(spare, ani.id).unwrap();
        let e = s.claim_device(spare, budi.id).unwrap_err();
        out.push(format!("{:?}", error_text(&e)));
        out.push(format!("{:?}", s.device_receipt(spare).unwrap()));
        // A token that does not exist cannot hold a device.
        assert!(s.claim_device(Uuid::from_u128(0x7777), 4242).is_err());
        assert!(s.assign_device(laptop, 4242).is_err());
        s.claim_device(laptop, budi.id).unwrap();
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn two_servers_never_both_win_one_device() {
    let Some(pg) = Pg::new("two_servers_never_both_win_one_device") else {
        return;
    };
    let servers = [Arc::new(pg.open()), Arc::new(pg.open())];
    let tokens: Vec<TokenInfo> = (0..8)
        .map(|i| {
            servers[0]
                .create_token(&new_token(&format!("agent{i}"), Role::Agent, &[PAJANG]))
                .unwrap()
        })
        .collect();
    for round in 0..20u128 {
        let device = Uuid::from_u128(0xabc0 + round);
        let barrier = Arc::new(Barrier::new(tokens.len()));
        let handles: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let store = servers[i % 2].clone();
                let barrier = barrier.clone();
                let id = t.id;
                std::thread::spawn(move || {
                    barrier.wait();
                    store.claim_device(device, id).map(|()| id)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<i64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .copied()
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for r in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, StoreError::Denied { code, .. } if code == "device_not_yours"),
                    "{e:?}"
                );
            }
        }
        // The winner holds it, seen from either server.
        for s in &servers {
            s.claim_device(device, winners[0]).unwrap();
        }
    }
}

#[test]
fn two_servers_never_make_two_tokens_of_one_name() {
    let Some(pg) = Pg::new("two_servers_never_make_two_tokens_of_one_name") else {
        return;
    };
    let servers = [Arc::new(pg.open()), Arc::new(pg.open())];
    for round in 0..10 {
        let barrier = Arc::new(Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let store = servers[i % 2].clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut t = new_token(&format!("agent{round}"), Role::Agent, &[PAJANG]);
                    t.hash = format!("hash {round} {i}");
                    barrier.wait();
                    store.create_token(&t)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        for r in results {
            if let Err(e) = r {
                assert_eq!(error_text(&e).0, "invalid token_name_taken", "{e:?}");
            }
        }
    }
    assert_eq!(servers[1].list_tokens().unwrap().len(), 10);
}

/// The store blocks on its own runtime from every kind of thread a caller
/// has: none (the CLI), the server's blocking threads, a multi-threaded
/// runtime's worker, and a current-thread runtime (which cannot lend its
/// thread, so the call waits on one of its own). Each path of
/// `PgStore::block_on`; using the wrong one for a thread panics.
#[test]
fn the_store_answers_from_every_kind_of_thread() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let pg = Arc::new(PgStore::open(&url).unwrap());
    let want = pg.schema_version().unwrap();

    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (on_worker, on_blocking) = multi.block_on({
        let pg = pg.clone();
        async move {
            let worker = {
                let pg = pg.clone();
                tokio::spawn(async move { pg.schema_version().unwrap() })
                    .await
                    .unwrap()
            };
            let blocking = tokio::task::spawn_blocking(move || pg.schema_version().unwrap())
                .await
                .unwrap();
            (worker, blocking)
        }
    });
    assert_eq!(on_worker, want, "from a multi-threaded runtime's worker");
    assert_eq!(on_blocking, want, "from a blocking thread");

    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let on_current = current.block_on(async { pg.schema_version().unwrap() });
    assert_eq!(on_current, want, "from a current-thread runtime");
}
