#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The coverage history, synced visits and agents' activity on PostgreSQL
//! give the SQLite store's answers, and stay right with several servers
//! on one database. Each test runs in a schema of its own on the database
//! of `SIGAP_TEST_DATABASE_URL` and is skipped (with a notice) when that
//! is not set.
//!
//! Most tests drive a SQLite server and a PostgreSQL server in lockstep
//! over HTTP, on one test clock, with the same tokens and the same
//! changes, and compare every answer.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Barrier};

use common::{Device, nik};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::{
    Baseline, HistoryRow, NewToken, PgStore, Pusher, Role, RollRow, SqliteStore, Store, TokenInfo,
};
use sigap_server::{AppState, app};
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::wire::{Change, PushRequest};
use sigap_shared::{AreaCode, Category, Nik};
use time::macros::date;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// 2026-12-01 10:00 UTC, and a day.
const DAY1: i64 = 1_796_119_200_000;
const DAY: i64 = 86_400_000;
const PAJANG: &str = "33.72.01.1001";

fn area(code: &str) -> AreaCode {
    AreaCode::parse(code).unwrap()
}

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
            eprintln!("skipped {test}: SIGAP_TEST_DATABASE_URL is not set");
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

    /// Opens a store (a server process of its own) on the schema.
    fn open(&self, clock: &Arc<AtomicI64>) -> PgStore {
        let c = clock.clone();
        PgStore::open(&self.url())
            .unwrap()
            .with_clock(Arc::new(move || c.load(Ordering::SeqCst)))
    }

    /// A plain connection into the schema, for reading and writing rows
    /// by hand (on the caller's runtime).
    async fn raw(&self) -> tokio_postgres::Client {
        let mut config: tokio_postgres::Config = self.base.parse().unwrap();
        config.options(format!("-c search_path={}", self.schema));
        let (client, conn) = config.connect(NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // On a thread of its own: the tests run inside a runtime.
        let (base, schema) = (self.base.clone(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(&base, NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Serves `store` on an ephemeral port; its address.
async fn serve(store: Arc<dyn Store>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(store);
    tokio::spawn(async move {
        axum::serve(listener, app(state)).await.unwrap();
    });
    format!("http://{addr}")
}

/// A SQLite server and a PostgreSQL server on one clock, driven alike.
struct Pair {
    sqlite: Arc<SqliteStore>,
    pg: Arc<PgStore>,
    urls: [String; 2],
    http: reqwest::Client,
    clock: Arc<AtomicI64>,
    db: Pg,
    dir: tempfile::TempDir,
}

impl Pair {
    async fn start(test: &str, millis: i64) -> Option<Pair> {
        let db = Pg::new(test)?;
        let clock = Arc::new(AtomicI64::new(millis));
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(open_sqlite(&dir, &clock));
        let pg = Arc::new(db.open(&clock));
        let urls = [serve(sqlite.clone()).await, serve(pg.clone()).await];
        Some(Pair {
            sqlite,
            pg,
            urls,
            http: reqwest::Client::new(),
            clock,
            db,
            dir,
        })
    }

    /// Opens both databases again, as after a restart of both servers.
    async fn restart(&mut self) {
        self.sqlite = Arc::new(open_sqlite(&self.dir, &self.clock));
        self.pg = Arc::new(self.db.open(&self.clock));
        self.urls = [
            serve(self.sqlite.clone()).await,
            serve(self.pg.clone()).await,
        ];
    }

    fn stores(&self) -> [&dyn Store; 2] {
        [&*self.sqlite, &*self.pg]
    }

    fn set_clock(&self, millis: i64) {
        self.clock.store(millis, Ordering::SeqCst);
    }

    /// The same token (one secret) on both servers.
    fn token(&self, role: Role, name: &str, areas: &[&str]) -> String {
        let secret = sigap_server::token::generate();
        for s in self.stores() {
            s.create_token(&NewToken {
                name: name.into(),
                role,
                areas: areas.iter().map(|a| area(a)).collect(),
                hash: sigap_server::token::hash(&secret),
                expires_at: None,
            })
            .unwrap();
        }
        secret
    }

    fn baseline(&self, code: &str, year: i32, n: u64) {
        for s in self.stores() {
            s.set_baselines(&[Baseline {
                area: area(code),
                year,
                working_population: n,
            }])
            .unwrap();
        }
    }

    /// Sends one request to both servers: their answers, SQLite's first.
    async fn send_both(
        &self,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> [(StatusCode, Value); 2] {
        let mut out = Vec::new();
        for url in &self.urls {
            let req = match body {
                Some(b) => self.http.post(format!("{url}{path}")).json(b),
                None => self.http.get(format!("{url}{path}")),
            };
            let r = req.bearer_auth(token).send().await.unwrap();
            let status = r.status();
            out.push((status, r.json().await.unwrap_or(Value::Null)));
        }
        out.try_into().unwrap()
    }

    /// Sends one request to both servers, checks they answer alike, and
    /// returns the answer.
    async fn same(&self, token: &str, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let [a, b] = self.send_both(token, path, body).await;
        assert_eq!(a, b, "SQLite and PostgreSQL answer {path} differently");
        a
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.same(token, path, None).await
    }

    async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        self.same(token, path, Some(body)).await
    }

    /// Pushes to both servers: the outcomes, which must be alike (the
    /// rest of the answer is the write path's, tested elsewhere).
    async fn push(&self, token: &str, body: &Value) -> Vec<String> {
        let [(sa, a), (sb, b)] = self.send_both(token, "/api/v1/sync/push", Some(body)).await;
        assert_eq!(sa, StatusCode::OK, "{a}");
        assert_eq!(sb, StatusCode::OK, "{b}");
        let (oa, ob) = (common::outcomes(&a), common::outcomes(&b));
        assert_eq!(oa, ob, "{a}\n{b}");
        oa
    }

    async fn push_changes(&self, token: &str, d: &Device, changes: &[Change]) -> Vec<String> {
        self.push(token, &push_body(d, changes, None)).await
    }

    /// Runs the same SQL (without parameters) on both databases.
    async fn exec_both(&self, sql: &str) {
        self.sqlite.with_writer(|c| c.execute_batch(sql)).unwrap();
        self.db.raw().await.batch_execute(sql).await.unwrap();
    }

    /// Asks both stores for the history of each of `areas`; they must be
    /// alike. SQLite's answers.
    fn histories(&self, areas: &[&str], from: time::Date, to: time::Date) -> Vec<Vec<HistoryRow>> {
        areas
            .iter()
            .map(|a| {
                let s = self.sqlite.coverage_history(&area(a), from, to).unwrap();
                let p = self.pg.coverage_history(&area(a), from, to).unwrap();
                assert_eq!(s, p, "history of {a}");
                s
            })
            .collect()
    }

    /// Every stored snapshot row of both databases; they must be alike.
    async fn snapshot_rows(&self) -> Vec<Vec<Option<i64>>> {
        let s = sqlite_snapshot_rows(&self.sqlite);
        let p = pg_snapshot_rows(&self.db.raw().await).await;
        assert_eq!(s, p, "coverage_history differs");
        s
    }
}

fn open_sqlite(dir: &tempfile::TempDir, clock: &Arc<AtomicI64>) -> SqliteStore {
    let c = clock.clone();
    SqliteStore::open(&dir.path().join("h.db"))
        .unwrap()
        .with_clock(Arc::new(move || c.load(Ordering::SeqCst)))
}

const SNAPSHOT_ROWS: &str = "SELECT area, day, pu, bpu, jakon, pmi, working_population,
        target_bp, target_count, taken_at FROM coverage_history ORDER BY day, area";

/// A snapshot row with its texts as numbers (area codes and days keep
/// their digits), for comparing the two databases.
fn digits(text: &str) -> Option<i64> {
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn sqlite_snapshot_rows(s: &SqliteStore) -> Vec<Vec<Option<i64>>> {
    s.with_writer(|c| {
        let mut stmt = c.prepare(SNAPSHOT_ROWS)?;
        let rows = stmt.query_map([], |r| {
            let mut row = vec![
                digits(&r.get::<_, String>(0)?),
                digits(&r.get::<_, String>(1)?),
            ];
            for i in 2..10 {
                row.push(r.get::<_, Option<i64>>(i)?);
            }
            Ok(row)
        })?;
        rows.collect()
    })
    .unwrap()
}

async fn pg_snapshot_rows(raw: &tokio_postgres::Client) -> Vec<Vec<Option<i64>>> {
    let sql = SNAPSHOT_ROWS.replace("ORDER BY day, area", "ORDER BY day, area COLLATE \"C\"");
    raw.query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let mut row = vec![digits(r.get::<_, &str>(0)), digits(r.get::<_, &str>(1))];
            for i in 2..10 {
                row.push(if i == 7 {
                    r.get::<_, Option<i32>>(i).map(i64::from)
                } else {
                    r.get::<_, Option<i64>>(i)
                });
            }
            row
        })
        .collect()
}

fn push_body(d: &Device, changes: &[Change], pending: Option<u64>) -> Value {
    serde_json::to_value(PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: d.id,
        changes: changes.to_vec(),
        pending,
    })
    .unwrap()
}

fn days(v: &Value) -> Vec<(String, u64, u64, u64)> {
    v["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["covered"].as_u64().unwrap(),
                d["coverage_bp"].as_u64().unwrap(),
                d["registrations"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Pushes straight into a store, as a server does for an agent's token.
fn push_to(store: &dyn Store, token: &TokenInfo, d: &Device, changes: &[Change]) {
    let by = Pusher {
        token_id: token.id,
        token_name: &token.name,
        areas: Some(&token.areas),
        max_skew_millis: sigap_server::store::DEFAULT_MAX_CLOCK_SKEW_MILLIS,
        gap_wait: std::time::Duration::from_millis(10),
    };
    let req = PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: d.id,
        changes: changes.to_vec(),
        pending: None,
    };
    store.push(&by, &req).unwrap();
}

fn agent_token(store: &dyn Store, name: &str) -> TokenInfo {
    store
        .create_token(&NewToken {
            name: name.into(),
            role: Role::Agent,
            areas: vec![area("33.72.01")],
            hash: sigap_server::token::hash(&format!("secret of {name}")),
            expires_at: None,
        })
        .unwrap()
}

/// Covered persons of `code` on `day` in a store's stored snapshot.
fn covered_on(store: &dyn Store, code: &str, day: time::Date) -> Option<u64> {
    store
        .coverage_history(&area(code), day, day)
        .unwrap()
        .into_iter()
        .find(|r| r.day == day && r.snapshot)
        .map(|r| r.by_category.iter().sum())
}

#[tokio::test(flavor = "multi_thread")]
async fn history_grows_alike_as_pushes_arrive_on_different_days() {
    let Some(p) = Pair::start("history_grows_alike", DAY1).await else {
        return;
    };
    p.baseline(PAJANG, 2026, 100);
    p.baseline("33.72.01", 2026, 1000);
    for s in p.stores() {
        s.set_target(
            &area("33.72.01"),
            2026,
            Target {
                percent: Percent(5702),
                count: Some(571),
            },
        )
        .unwrap();
    }
    let agent = p.token(Role::Agent, "ani", &["33.72.01"]);
    let sup = p.token(Role::Supervisor, "sri", &["33.72.01"]);
    let mut d = Device::new();
    let a = d.register(&nik("337201", 1), "Ani", PAJANG, 1, 1);
    let b = d.register(&nik("337201", 2), "Budi", PAJANG, 1, 2);
    assert_eq!(
        p.push_changes(&agent, &d, &[a, b]).await,
        ["applied", "applied"]
    );
    p.set_clock(DAY1 + DAY);
    let c = d.register(&nik("337201", 3), "Citra", "33.72.01.1002", 2, 1);
    p.push_changes(&agent, &d, &[c]).await;
    p.set_clock(DAY1 + 2 * DAY);
    let path = "/api/v1/coverage/history?area=33.72.01.1001&from=2026-11-30&to=2026-12-03";
    let (st, h) = p.get(&sup, path).await;
    assert_eq!(st, StatusCode::OK, "{h}");
    assert_eq!(
        days(&h),
        vec![
            ("2026-12-01".into(), 2, 200, 2),
            ("2026-12-02".into(), 2, 200, 0),
            ("2026-12-03".into(), 2, 200, 0),
        ],
        "{h}"
    );
    let kec = "/api/v1/coverage/history?area=33.72.01&from=2026-11-28&to=2026-12-03";
    let (_, k) = p.get(&sup, kec).await;
    assert_eq!(k["days"][1]["covered"], 3, "{k}");
    assert_eq!(k["days"][1]["registrations"], 1, "{k}");

    // A later write the same day is seen by the next read (a re-take).
    let e = d.register(&nik("337201", 4), "Dewi", PAJANG, 2, 2);
    p.push_changes(&agent, &d, &[e]).await;
    let (_, h) = p.get(&sup, path).await;
    assert_eq!(days(&h)[2], ("2026-12-03".into(), 3, 300, 1));
    p.get(&sup, kec).await;
    let wide = [
        "33",
        "33.72",
        "33.72.01",
        PAJANG,
        "33.72.01.1002",
        "33.72.02",
    ];
    p.histories(&wide, date!(2026 - 11 - 01), date!(2026 - 12 - 31));
    // Every stored row alike, and one per area and day.
    let rows = p.snapshot_rows().await;
    assert!(!rows.is_empty());
    let mut keys: Vec<_> = rows.iter().map(|r| (r[0], r[1])).collect();
    keys.dedup();
    assert_eq!(keys.len(), rows.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_history_is_backfilled_alike_from_when_coverage_started() {
    // 2025-03-20 10:00 UTC.
    let Some(mut p) = Pair::start("backfilled_alike", 1_742_464_800_000).await else {
        return;
    };
    p.baseline(PAJANG, 2025, 10);
    let agent = p.token(Role::Agent, "ani", &["33.72.01"]);
    let mut d = Device::new();
    // Registered in the field on 10 and 12 March 2025 (device clocks).
    d.millis = 1_741_600_000_000; // 2025-03-10 09:46 UTC
    let a = d.register(&nik("337201", 1), "Ani", PAJANG, 1, 1);
    d.millis += 2 * DAY as u64;
    let b = d.register(&nik("337201", 2), "Budi", PAJANG, 1, 2);
    assert_eq!(
        p.push_changes(&agent, &d, &[a, b]).await,
        ["applied", "applied"]
    );
    // A roll participant as of 11 March, and one of the field persons.
    let roll = |i: u32| RollRow {
        nik: Nik::parse(&nik("337201", i)).unwrap(),
        kelurahan: area(PAJANG),
        rw: 3,
        rt: 1,
        category: Category::Pu,
    };
    for s in p.stores() {
        s.import_participants_as_of(&[roll(5), roll(2)], date!(2025 - 03 - 11))
            .unwrap();
    }
    // As a deployment from before the history was kept.
    p.exec_both("DELETE FROM coverage_history; DELETE FROM meta WHERE key = 'history_backfilled';")
        .await;
    p.restart().await;
    let sup = p.token(Role::Supervisor, "sri", &["33.72"]);
    let (st, h) = p
        .get(
            &sup,
            "/api/v1/coverage/history?area=33.72.01.1001&from=2025-03-09&to=2025-03-13",
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{h}");
    assert_eq!(
        days(&h),
        vec![
            ("2025-03-10".into(), 1, 1000, 0),
            ("2025-03-11".into(), 3, 3000, 0),
            ("2025-03-12".into(), 3, 3000, 0),
            ("2025-03-13".into(), 3, 3000, 0),
        ],
        "{h}"
    );
    p.get(
        &sup,
        "/api/v1/coverage/history?area=33.72&from=2025-03-01&to=2025-03-31",
    )
    .await;
    // The backfilled days (taken at 0) and today's take, row for row.
    let rows = p.snapshot_rows().await;
    assert!(rows.iter().any(|r| r[9] == Some(0)));
    assert!(rows.iter().any(|r| r[9] != Some(0)));
    // Once per database: nothing is backfilled again.
    p.exec_both("DELETE FROM coverage_history WHERE day = '2025-03-10';")
        .await;
    p.restart().await;
    assert_eq!(covered_on(&*p.pg, PAJANG, date!(2025 - 03 - 10)), None);
    p.histories(
        &["33.72", PAJANG],
        date!(2025 - 03 - 01),
        date!(2025 - 03 - 31),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_starting_at_once_backfill_the_history_once() {
    let Some(db) = Pg::new("backfill_once") else {
        return;
    };
    // A store backfills when it opens, by the wall clock: the persons
    // were registered in the past, every 6 hours from 1 November 2025.
    let first = date!(2025 - 11 - 01);
    let first_millis = snapshot_millis(first) + 10 * 3_600_000;
    let clock = Arc::new(AtomicI64::new(first_millis + 10 * DAY));
    let pg = db.open(&clock);
    let agent = agent_token(&pg, "ani");
    let mut d = Device::new();
    d.millis = u64::try_from(first_millis).unwrap();
    let mut changes = Vec::new();
    for i in 0..20 {
        changes.push(d.register(&nik("337201", i), "Warga", PAJANG, 1, 1 + (i % 5) as u16));
        d.millis += DAY as u64 / 4;
    }
    push_to(&pg, &agent, &d, &changes);
    drop(pg);
    let raw = db.raw().await;
    raw.batch_execute(
        "DELETE FROM coverage_history; DELETE FROM meta WHERE key = 'history_backfilled';",
    )
    .await
    .unwrap();
    let servers = 4;
    let barrier = Arc::new(Barrier::new(servers));
    let url = db.url();
    let opened: Vec<_> = (0..servers)
        .map(|_| {
            let (barrier, url) = (barrier.clone(), url.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PgStore::open(&url).map(|_| ())
            })
        })
        .collect();
    for t in opened {
        t.join().unwrap().unwrap();
    }
    let today = time::OffsetDateTime::now_utc().date();
    let rows = pg_snapshot_rows(&raw).await;
    // Every day from the first registration to yesterday, for the
    // kelurahan, kecamatan, kota and province, once each.
    let days = usize::try_from((today - first).whole_days()).unwrap();
    assert_eq!(rows.len(), days * 4, "{rows:?}");
    assert!(rows.iter().all(|r| r[9] == Some(0)));
    let pajang = |day: time::Date| {
        let text = format!("{day}");
        rows.iter()
            .find(|r| r[0] == digits(PAJANG) && r[1] == digits(&text))
            .unwrap()[3]
    };
    assert_eq!(pajang(first), Some(3));
    assert_eq!(pajang(date!(2025 - 11 - 06)), Some(20));
    assert_eq!(pajang(today.previous_day().unwrap()), Some(20));
    let done = raw
        .query_one(
            "SELECT value FROM meta WHERE key = 'history_backfilled'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(done, 1);
}

/// Unix milliseconds at the start (UTC) of `day`.
fn snapshot_millis(day: time::Date) -> i64 {
    i64::try_from(day.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_taking_the_same_day_at_once_keep_one_row_per_area_and_day() {
    let Some(db) = Pg::new("takes_at_once") else {
        return;
    };
    let clock = Arc::new(AtomicI64::new(DAY1));
    let servers: Vec<Arc<PgStore>> = (0..4).map(|_| Arc::new(db.open(&clock))).collect();
    let agent = agent_token(&*servers[0], "ani");
    let rounds = 15;
    let barrier = Arc::new(Barrier::new(servers.len() + 1));
    let mut threads = Vec::new();
    for s in &servers {
        let (s, barrier) = (s.clone(), barrier.clone());
        threads.push(std::thread::spawn(move || {
            barrier.wait();
            for _ in 0..rounds {
                s.snapshot_coverage(true).unwrap();
            }
        }));
    }
    {
        let (s, barrier, agent) = (servers[1].clone(), barrier.clone(), agent.clone());
        threads.push(std::thread::spawn(move || {
            let mut d = Device::new();
            barrier.wait();
            for i in 0..rounds {
                let c = d.register(&nik("337201", i), "Warga", PAJANG, 1, 1);
                push_to(&*s, &agent, &d, &[c]);
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    // The last take of each server may be older than the last push: a
    // read re-takes.
    assert_eq!(
        covered_on(&*servers[2], PAJANG, date!(2026 - 12 - 01)),
        Some(u64::from(rounds))
    );
    // The kelurahan, kecamatan, kota and province, today.
    let rows = pg_snapshot_rows(&db.raw().await).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_leaves_alone_a_day_another_server_closed() {
    let Some(db) = Pg::new("day_closed_elsewhere") else {
        return;
    };
    let clock = Arc::new(AtomicI64::new(DAY1));
    let a = db.open(&clock);
    let b = db.open(&clock);
    let dir = tempfile::tempdir().unwrap();
    let one = open_sqlite(&dir, &clock);
    let (agent_b, agent_one) = (agent_token(&b, "ani"), agent_token(&one, "ani"));
    let mut d = Device::new();
    let day1: Vec<Change> = (1..=2)
        .map(|i| d.register(&nik("337201", i), "Warga", PAJANG, 1, 1))
        .collect();
    let day2 = d.register(&nik("337201", 3), "Warga", PAJANG, 1, 1);

    // Server A takes day 1 (with nothing in it yet); server B takes the
    // day's writes. One SQLite server does both.
    a.snapshot_coverage(true).unwrap();
    one.snapshot_coverage(true).unwrap();
    push_to(&b, &agent_b, &d, &day1);
    push_to(&one, &agent_one, &d, &day1);
    // Day 2: B's first push closes day 1, then writes.
    clock.store(DAY1 + DAY, Ordering::SeqCst);
    push_to(&b, &agent_b, &d, std::slice::from_ref(&day2));
    push_to(&one, &agent_one, &d, &[day2]);
    // A's first take of day 2 must not close day 1 again with day 2's
    // figures.
    a.snapshot_coverage(false).unwrap();
    let (d1, d2) = (date!(2026 - 12 - 01), date!(2026 - 12 - 02));
    assert_eq!(covered_on(&a, PAJANG, d1), Some(2));
    assert_eq!(covered_on(&a, PAJANG, d2), Some(3));
    assert_eq!(
        a.coverage_history(&area(PAJANG), d1, d2).unwrap(),
        one.coverage_history(&area(PAJANG), d1, d2).unwrap()
    );
}

fn visit(id: Uuid, kel: &str, rw: u16, rt: u16, at: &str) -> Value {
    json!({"id": id, "kelurahan": kel, "rw": rw, "rt": rt, "households": 3, "visited_at": at})
}

fn visits_body(d: &Device, visits: Vec<Value>) -> Value {
    json!({"protocol": sigap_shared::PROTOCOL_VERSION, "device_id": d.id, "visits": visits})
}

async fn stored_visits(p: &Pair) -> [i64; 2] {
    let s = p
        .sqlite
        .with_writer(|c| c.query_row("SELECT COUNT(*) FROM visits", [], |r| r.get(0)))
        .unwrap();
    let raw = p.db.raw().await;
    let g = raw
        .query_one("SELECT COUNT(*) FROM visits", &[])
        .await
        .unwrap()
        .get(0);
    [s, g]
}

#[tokio::test(flavor = "multi_thread")]
async fn visits_are_stored_once_alike_and_only_from_the_agents_device() {
    let Some(p) = Pair::start("visits_alike", DAY1).await else {
        return;
    };
    let agent = p.token(Role::Agent, "ani", &["33.72.01"]);
    let other = p.token(Role::Agent, "budi", &["33.72.02"]);
    let d = Device::new();
    let id = Uuid::now_v7();
    let body = visits_body(&d, vec![visit(id, PAJANG, 1, 2, "2026-11-28T03:00:00Z")]);
    let (st, r) = p.post(&agent, "/api/v1/visits", &body).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["outcome"], "stored");
    let (_, r) = p.post(&agent, "/api/v1/visits", &body).await;
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    assert_eq!(stored_visits(&p).await, [1, 1]);

    // Twice in one batch, with a new one between and a note: stored once.
    let twice = Uuid::now_v7();
    let mut noted = visit(Uuid::now_v7(), PAJANG, 2, 1, "2026-11-29T03:00:00Z");
    noted["note"] = json!("rumah kosong");
    let body = visits_body(
        &d,
        vec![
            visit(twice, PAJANG, 1, 3, "2026-11-29T03:00:00Z"),
            noted,
            visit(twice, PAJANG, 1, 3, "2026-11-29T03:00:00Z"),
            visit(id, PAJANG, 1, 2, "2026-11-28T03:00:00Z"),
        ],
    );
    let (_, r) = p.post(&agent, "/api/v1/visits", &body).await;
    let outcomes: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["stored", "stored", "duplicate", "duplicate"],
        "{r}"
    );
    assert_eq!(stored_visits(&p).await, [3, 3]);
    let raw = p.db.raw().await;
    let note: Option<String> = raw
        .query_one("SELECT note FROM visits WHERE rw = 2", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(note.as_deref(), Some("rumah kosong"));

    // Outside the token's areas: refused, nothing kept.
    let body = visits_body(
        &d,
        vec![visit(
            Uuid::now_v7(),
            "33.72.02.1001",
            1,
            1,
            "2026-11-28T03:00:00Z",
        )],
    );
    let (_, r) = p.post(&agent, "/api/v1/visits", &body).await;
    assert_eq!(r["results"][0]["code"], "area_not_allowed");
    assert_eq!(stored_visits(&p).await, [3, 3]);

    // Another agent's device: refused like a push, on both.
    let (st, r) = p
        .post(&other, "/api/v1/visits", &visits_body(&d, vec![]))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(r["error"]["code"], "device_not_yours");
    // The visits count where they were.
    for s in p.stores() {
        let a = s
            .activity(
                &area("33.72.01"),
                date!(2026 - 11 - 28),
                date!(2026 - 11 - 29),
            )
            .unwrap();
        assert_eq!(a.days.len(), 2);
        assert_eq!(
            a.days[1].rts_visited,
            ["33.72.01.1001/1/3", "33.72.01.1001/2/1"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_activity_is_alike_per_day_and_area() {
    let Some(p) = Pair::start("activity_alike", DAY1).await else {
        return;
    };
    let ani = p.token(Role::Agent, "ani", &["33.72.01"]);
    let budi = p.token(Role::Agent, "budi", &["33.72.01"]);
    let sup = p.token(Role::Supervisor, "sri", &["33.72.01"]);
    let elsewhere = p.token(Role::Supervisor, "eko", &["33.72.02"]);
    let city = p.token(Role::Supervisor, "kota", &["33.72"]);
    let shared_nik = nik("337201", 7);
    let mut da = Device::new();
    let a1 = da.register(&nik("337201", 1), "Ani", PAJANG, 1, 1);
    let a2 = da.register(&shared_nik, "Sama", PAJANG, 1, 2);
    p.push(&ani, &push_body(&da, &[a1, a2], Some(4))).await;
    let edit = da.change(
        &nik("337201", 1),
        sigap_shared::ChangeKind::Edit,
        sigap_shared::Fields {
            occupation: Some("ojek".into()),
            ..Default::default()
        },
    );
    let void = da.change(
        &nik("337201", 1),
        sigap_shared::ChangeKind::Void,
        sigap_shared::Fields {
            status: Some(sigap_shared::Status::Void),
            void_reason: Some("double form".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        p.push_changes(&ani, &da, &[edit, void]).await,
        ["applied", "applied"]
    );
    let v = visits_body(
        &da,
        vec![
            visit(Uuid::now_v7(), PAJANG, 1, 1, "2026-12-01T11:00:00Z"),
            visit(Uuid::now_v7(), PAJANG, 1, 2, "2026-12-01T12:00:00Z"),
            visit(Uuid::now_v7(), PAJANG, 1, 2, "2026-12-01T13:00:00Z"),
            visit(
                Uuid::now_v7(),
                "33.72.01.1002",
                4,
                4,
                "2026-12-02T09:00:00Z",
            ),
        ],
    );
    p.post(&ani, "/api/v1/visits", &v).await;

    p.set_clock(DAY1 + DAY);
    let mut db = Device::new();
    let b1 = db.register(&shared_nik, "Sama", PAJANG, 1, 2);
    let b2 = db.register(&nik("337201", 9), "Di luar", "33.72.02.1001", 1, 1);
    // Stamped with another device: refused before the log, counted apart.
    let mut b3 = db.register(&nik("337201", 10), "Salah", PAJANG, 1, 3);
    b3.device_id = Uuid::now_v7();
    let outcomes = p.push_changes(&budi, &db, &[b1, b2, b3]).await;
    assert_eq!(outcomes, ["merged", "rejected", "rejected"]);
    // Ani's device reports its queue emptied.
    p.push(&ani, &push_body(&da, &[], Some(0))).await;

    let (st, a) = p
        .get(
            &sup,
            "/api/v1/agents?area=33.72.01&from=2026-12-01&to=2026-12-02",
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let agents = a["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "{a}");
    assert_eq!(agents[0]["agent"], "ani");
    assert_eq!(agents[0]["days"][0]["registrations"], 2);
    assert_eq!(agents[0]["days"][0]["edits"], 1);
    assert_eq!(agents[0]["days"][0]["voids"], 1);
    assert_eq!(
        agents[0]["days"][0]["rts_visited"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(agents[0]["devices"][0]["pending"], 0);
    assert_eq!(agents[1]["agent"], "budi");
    assert_eq!(agents[1]["days"][0]["merged"], 1);
    p.get(
        &sup,
        "/api/v1/agents?area=33.72.01.1001&from=2026-11-30&to=2026-12-05",
    )
    .await;
    p.get(
        &elsewhere,
        "/api/v1/agents?area=33.72.02&from=2026-12-01&to=2026-12-02",
    )
    .await;
    p.get(
        &city,
        "/api/v1/agents?area=33.72&from=2026-12-01&to=2026-12-02",
    )
    .await;
    p.get(
        &city,
        "/api/v1/agents?area=33.72&from=2026-12-02&to=2026-12-02",
    )
    .await;
    // The store's own answers, devices and known RTs included.
    for code in [
        "33",
        "33.72",
        "33.72.01",
        PAJANG,
        "33.72.01.1002",
        "33.72.02",
    ] {
        let (from, to) = (date!(2026 - 11 - 30), date!(2026 - 12 - 03));
        let s = p.sqlite.activity(&area(code), from, to).unwrap();
        let g = p.pg.activity(&area(code), from, to).unwrap();
        assert_eq!(s, g, "activity of {code}");
    }
    let all =
        p.pg.activity(&area("33.72"), date!(2026 - 12 - 01), date!(2026 - 12 - 02))
            .unwrap();
    let budi_day = all.days.iter().find(|d| d.agent == "budi").unwrap();
    // One refusal logged (where the change said), one counted apart.
    assert_eq!(budi_day.rejections, 2, "{all:?}");
    let unlogged: i64 =
        p.db.raw()
            .await
            .query_one("SELECT SUM(count)::BIGINT FROM unlogged_rejections", &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(unlogged, 1);
    assert_eq!(
        all.known_rts,
        [(area(PAJANG), 2), (area("33.72.01.1002"), 1)]
    );
}
