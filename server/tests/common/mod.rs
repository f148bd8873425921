//! Test helpers: a real server on an ephemeral port over a fresh database,
//! tokens, and valid registrations.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use sigap_server::store::{NewToken, Role, SqliteStore, Store, TokenInfo};
use sigap_server::{AppState, app};
use sigap_shared::merge::Fields;
use sigap_shared::registration::parse_programs;
use sigap_shared::wire::{Change, ChangeKind, PushRequest};
use sigap_shared::{AreaCode, Category, Hlc, Nik, Status};
use uuid::Uuid;

pub struct Server {
    pub url: String,
    /// The store the server serves, whichever the backend.
    pub store: Arc<dyn Store>,
    /// The same store when it is SQLite (see [`Server::sqlite`]).
    sqlite: Option<Arc<SqliteStore>>,
    pub backend: Backend,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    /// The PostgreSQL schema of a server on PostgreSQL, dropped with the
    /// server when the test is done.
    pg: Option<PgSchema>,
}

/// The storage backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("test.db")).unwrap());
    serve_in(store, dir).await
}

/// A server on a fresh database of `backend` (for PostgreSQL, a schema of
/// its own under `SIGAP_TEST_DATABASE_URL`, which must be set: see
/// [`postgres_available`]).
pub async fn start_on(backend: Backend) -> Server {
    start_on_with(backend, |_| {}).await
}

/// [`start_on`] with settings changed by `set`.
pub async fn start_on_with(backend: Backend, set: impl FnOnce(&mut AppState)) -> Server {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(SqliteStore::open(&dir.path().join("test.db")).unwrap());
            serve_state(store, dir, set).await
        }
        Backend::Postgres => {
            let schema = PgSchema::new().expect("SIGAP_TEST_DATABASE_URL is set");
            let store: Arc<dyn Store> =
                Arc::new(sigap_server::store::PgStore::open(&schema.url()).unwrap());
            serve_dyn(
                store,
                None,
                Backend::Postgres,
                tempfile::tempdir().unwrap(),
                Some(schema),
                set,
            )
            .await
        }
    }
}

/// Serves an existing store.
pub async fn serve(store: Arc<SqliteStore>) -> Server {
    serve_in(store, tempfile::tempdir().unwrap()).await
}

/// Serves an existing store with settings changed by `set`.
pub async fn serve_with(store: Arc<SqliteStore>, set: impl FnOnce(&mut AppState)) -> Server {
    serve_state(store, tempfile::tempdir().unwrap(), set).await
}

async fn serve_in(store: Arc<SqliteStore>, dir: tempfile::TempDir) -> Server {
    serve_state(store, dir, |_| {}).await
}

async fn serve_state(
    store: Arc<SqliteStore>,
    dir: tempfile::TempDir,
    set: impl FnOnce(&mut AppState),
) -> Server {
    serve_dyn(store.clone(), Some(store), Backend::Sqlite, dir, None, set).await
}

async fn serve_dyn(
    store: Arc<dyn Store>,
    sqlite: Option<Arc<SqliteStore>>,
    backend: Backend,
    dir: tempfile::TempDir,
    pg: Option<PgSchema>,
    set: impl FnOnce(&mut AppState),
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut state = AppState::new(store.clone());
    set(&mut state);
    tokio::spawn(async move {
        axum::serve(listener, app(state)).await.unwrap();
    });
    Server {
        url: format!("http://{addr}"),
        store,
        sqlite,
        backend,
        client: reqwest::Client::new(),
        _dir: dir,
        pg,
    }
}

impl Server {
    /// The SQLite store of a server started on SQLite, for what only
    /// SQLite has (`with_writer`, `path`, …).
    pub fn sqlite(&self) -> &Arc<SqliteStore> {
        self.sqlite
            .as_ref()
            .expect("this test reads SQLite's own tables: run it on SQLite only")
    }

    /// The server's database opened again, as another process (an admin
    /// command, another server) would.
    pub fn another_store(&self) -> Box<dyn Store> {
        match (&self.sqlite, &self.pg) {
            (Some(s), _) => Box::new(SqliteStore::open(s.path()).unwrap()),
            (None, Some(pg)) => Box::new(sigap_server::store::PgStore::open(&pg.url()).unwrap()),
            (None, None) => unreachable!("a server has a database"),
        }
    }
}

impl Server {
    pub fn token(&self, role: Role, name: &str, areas: &[&str]) -> String {
        let secret = sigap_server::token::generate();
        self.store
            .create_token(&NewToken {
                name: name.into(),
                role,
                areas: areas.iter().map(|a| AreaCode::parse(a).unwrap()).collect(),
                hash: sigap_server::token::hash(&secret),
                expires_at: None,
            })
            .unwrap();
        secret
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn push(
        &self,
        token: &str,
        device: &Device,
        changes: &[Change],
    ) -> (StatusCode, Value) {
        let req = PushRequest {
            protocol: sigap_shared::PROTOCOL_VERSION,
            device_id: device.id,
            changes: changes.to_vec(),
            pending: None,
        };
        self.post(
            token,
            "/api/v1/sync/push",
            &serde_json::to_value(&req).unwrap(),
        )
        .await
    }
}

/// A device issuing changes with rising sequence numbers and clocks.
pub struct Device {
    pub id: Uuid,
    pub seq: u64,
    pub millis: u64,
}

pub const NOW: u64 = 1_764_000_000_000; // 2025-11-24

impl Device {
    pub fn new() -> Device {
        Device {
            id: Uuid::now_v7(),
            seq: 0,
            millis: NOW,
        }
    }

    pub fn change(&mut self, nik: &str, kind: ChangeKind, fields: Fields) -> Change {
        self.seq += 1;
        self.millis += 1000;
        Change {
            id: Uuid::now_v7(),
            device_id: self.id,
            device_seq: self.seq,
            nik: Nik::parse(nik).unwrap(),
            hlc: Hlc {
                millis: self.millis,
                counter: 0,
                device: self.id,
            },
            kind,
            fields,
        }
    }

    pub fn register(&mut self, nik: &str, name: &str, kel: &str, rw: u16, rt: u16) -> Change {
        let fields = registration_fields(nik, name, kel, rw, rt);
        self.change(nik, ChangeKind::Register, fields)
    }
}

/// All fields of a valid bpu registration; birth date and sex from the NIK.
pub fn registration_fields(nik: &str, name: &str, kel: &str, rw: u16, rt: u16) -> Fields {
    let n = Nik::parse(nik).unwrap();
    Fields {
        name: Some(name.into()),
        birth_date: Some(n.birth_date()),
        sex: Some(n.sex()),
        phone: Some(String::new()),
        kelurahan: Some(AreaCode::parse(kel).unwrap()),
        rw: Some(rw),
        rt: Some(rt),
        category: Some(Category::Bpu),
        occupation: Some("pedagang".into()),
        employer: Some(String::new()),
        programs: Some(parse_programs("jkk,jkm").unwrap()),
        status: Some(Status::Registered),
        void_reason: Some(String::new()),
    }
}

/// The i-th of many distinct valid NIKs issued in kecamatan `kec6`
/// (e.g. "337201").
pub fn nik(kec6: &str, i: u32) -> String {
    let day = 1 + i % 28;
    let month = 1 + (i / 28) % 12;
    let year = 70 + (i / 336) % 20;
    let serial = 1 + i / 6720;
    format!("{kec6}{day:02}{month:02}{year:02}{serial:04}")
}

pub fn outcomes(resp: &Value) -> Vec<String> {
    resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect()
}

/// Runs the real `sigap-server` binary on database `db`: exit code,
/// stdout, stderr.
pub fn cli(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sigap-server"))
        .args(args)
        .env("SIGAP_SERVER_DB", db)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The dashboard as a browser without JavaScript sees it: a client that
/// does not follow redirects, so a test sees each 303 itself.
pub fn web_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Server {
    /// GET a dashboard page with `token` as the session cookie (none when
    /// empty): status, `Location` and body.
    pub async fn page(&self, token: &str, path: &str) -> (StatusCode, String, String) {
        let mut req = web_client().get(format!("{}{path}", self.url));
        if !token.is_empty() {
            req = req.header("cookie", format!("sigap_session={token}"));
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, location, r.text().await.unwrap_or_default())
    }
}

/// Every `.route("PATH", method(...).method(...))` of the server's source.
pub fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(p);
            }
        }
    }
    let mut routes = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            let after = &rest[at + ".route(".len()..];
            // The call, up to its balanced closing parenthesis.
            let mut depth = 1;
            let mut end = after.len();
            for (i, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &after[..end];
            rest = &after[end..];
            let Some(open) = call.find('"') else { continue };
            let Some(len) = call[open + 1..].find('"') else {
                continue;
            };
            let path = &call[open + 1..open + 1 + len];
            let methods = &call[open + 1 + len..];
            for m in ["get", "post", "put", "patch", "delete"] {
                let called = methods.match_indices(&format!("{m}(")).any(|(i, _)| {
                    i == 0
                        || !methods.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && methods.as_bytes()[i - 1] != b'_'
                });
                if called {
                    routes.insert((m.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    routes
}

/// The PostgreSQL database the tests may use (`SIGAP_TEST_DATABASE_URL`),
/// or `None` when it is not set (then the PostgreSQL runs are skipped,
/// with a notice, but never in CI: there `.ci/run` sets it, and its
/// absence fails the test).
pub fn pg_base_url() -> Option<String> {
    match std::env::var("SIGAP_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SIGAP_TEST_DATABASE_URL is not set in CI: the PostgreSQL tests would be skipped"
            );
            eprintln!("SIGAP_TEST_DATABASE_URL is not set: PostgreSQL run skipped");
            None
        }
    }
}

/// Whether the PostgreSQL runs can go ahead (see [`pg_base_url`]).
pub fn postgres_available() -> bool {
    pg_base_url().is_some()
}

/// A fresh PostgreSQL schema's URL under `SIGAP_TEST_DATABASE_URL`, or
/// `None` when it is not set (see [`pg_base_url`]). The schema is kept;
/// [`PgSchema`] drops its own.
pub fn pg_url() -> Option<String> {
    pg_base_url().map(|url| schema_url(&url, &format!("t_{}", Uuid::new_v4().simple())))
}

fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={schema}")
}

/// A plain connection to the test database with `schema` first on its
/// search path, for reading and writing rows by hand; with the runtime
/// that drives it.
pub fn pg_raw(schema: &str) -> (tokio::runtime::Runtime, tokio_postgres::Client) {
    let base = pg_base_url().expect("SIGAP_TEST_DATABASE_URL is set");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config: tokio_postgres::Config = base.parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    let client = rt.block_on(async {
        let (client, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    });
    (rt, client)
}

/// A fresh PostgreSQL store (see [`pg_url`]).
pub fn pg_store() -> Option<sigap_server::store::PgStore> {
    pg_url().map(|url| sigap_server::store::PgStore::open(&url).unwrap())
}

/// A schema of its own on the test database (`SIGAP_TEST_DATABASE_URL`),
/// dropped when the test is done; kept for a look when the test failed.
pub struct PgSchema {
    base: String,
    pub name: String,
}

impl PgSchema {
    /// `None` when `SIGAP_TEST_DATABASE_URL` is not set (see
    /// [`pg_base_url`]).
    pub fn new() -> Option<PgSchema> {
        pg_base_url().map(|base| PgSchema {
            base,
            name: format!("t_{}", Uuid::new_v4().simple()),
        })
    }

    /// The database URL of the schema (`PgStore` creates it).
    pub fn url(&self) -> String {
        schema_url(&self.base, &self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "PostgreSQL schema {} kept for a look at the failed test",
                self.name
            );
            return;
        }
        // On a thread of its own: the test may be inside a runtime.
        let (base, name) = (self.base.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop PostgreSQL schema {}: {e}", self.name);
        }
    }
}

/// A PostgreSQL store in a schema of its own, dropped with it.
pub struct PgTestStore {
    /// Dropped before the schema.
    pub store: sigap_server::store::PgStore,
    pub schema: PgSchema,
}

impl PgTestStore {
    /// `None` when `SIGAP_TEST_DATABASE_URL` is not set (see
    /// [`pg_base_url`]).
    pub fn new() -> Option<PgTestStore> {
        let schema = PgSchema::new()?;
        let store = sigap_server::store::PgStore::open(&schema.url()).unwrap();
        Some(PgTestStore { store, schema })
    }
}

/// Runs each of the named `async fn NAME(backend: Backend)` tests on
/// both backends, as `NAME::sqlite` (always) and `NAME::postgres`
/// (skipped with a notice when `SIGAP_TEST_DATABASE_URL` is not set;
/// failing in CI then).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::common::postgres_available() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            }
        }
    )*};
}

/// An agent token named `name` for the whole of Kota Surakarta, made
/// straight in `store` (tests that push through the store, not HTTP).
pub fn kota_agent<S: Store + ?Sized>(store: &S, name: &str) -> TokenInfo {
    store
        .create_token(&NewToken {
            name: name.into(),
            role: Role::Agent,
            areas: vec![AreaCode::parse("33.72").unwrap()],
            hash: format!("h-{name}"),
            expires_at: None,
        })
        .unwrap()
}
