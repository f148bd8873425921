//! The real binaries as processes: a server on its own SQLite file, and
//! agents each with their own local database.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Path of a workspace binary, next to the test executable's `deps/`.
/// `SIGAP_BIN_DIR` overrides the folder.
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("SIGAP_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            // Test executables live in target/<profile>/deps, binaries
            // such as sigap-bench in target/<profile>.
            let exe = std::env::current_exe().expect("executable path");
            let dir = exe.parent().expect("executable folder");
            if dir.ends_with("deps") {
                dir.parent().expect("profile folder").to_path_buf()
            } else {
                dir.to_path_buf()
            }
        }
    };
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} not found; build the binaries first: cargo build --workspace --bins",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1 (free when asked; tests that restart a
/// server keep the same port so agents need no new configuration).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `sigap-server serve` on a database in its own folder.
pub struct Server {
    dir: TempDir,
    child: Option<Child>,
    pub port: u16,
    /// `RUST_LOG` for a server whose log goes to [`Server::log_file`].
    log_level: Option<String>,
    /// The database as `--database-url` (PostgreSQL) instead of the file
    /// [`Server::db`].
    database_url: Option<String>,
    /// The PostgreSQL schema to drop once the server is stopped.
    _schema: Option<crate::pg::Schema>,
}

impl Server {
    /// Starts a server on a new database and a fixed free port.
    pub fn start() -> Server {
        Server::start_with_log(None)
    }

    /// Starts a server that logs at `level` (a `RUST_LOG` value) into
    /// [`Server::log_file`] instead of the test's stderr.
    pub fn start_logging(level: &str) -> Server {
        Server::start_with_log(Some(level.to_string()))
    }

    fn start_with_log(log_level: Option<String>) -> Server {
        Server::start_with(log_level, None, None)
    }

    fn start_with(
        log_level: Option<String>,
        database_url: Option<String>,
        schema: Option<crate::pg::Schema>,
    ) -> Server {
        let mut s = Server {
            dir: TempDir::new().unwrap(),
            child: None,
            port: free_port(),
            log_level,
            database_url,
            _schema: schema,
        };
        s.restart();
        s
    }

    /// Starts a server on a new database of `backend`: for PostgreSQL, a
    /// schema of its own on `SIGAP_TEST_DATABASE_URL` (which must be set;
    /// see [`crate::pg::postgres_available`]), dropped with the server.
    pub fn start_on(backend: crate::Backend) -> Server {
        match backend {
            crate::Backend::Sqlite => Server::start(),
            crate::Backend::Postgres => {
                let schema = crate::pg::Schema::new().expect("SIGAP_TEST_DATABASE_URL is set");
                Server::start_with(None, Some(schema.url()), Some(schema))
            }
        }
    }

    /// Starts a server on the database at `url` (`--database-url`, e.g.
    /// `postgres://…?schema=NAME`), which the caller keeps and clears.
    pub fn start_on_database_url(url: &str) -> Server {
        Server::start_with(None, Some(url.to_string()), None)
    }

    /// The backend the server runs on.
    pub fn backend(&self) -> crate::Backend {
        match &self.database_url {
            Some(url) if url.starts_with("postgres") => crate::Backend::Postgres,
            _ => crate::Backend::Sqlite,
        }
    }

    /// `--database-url` of a server not on [`Server::db`].
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// `sigap-server` on this server's database.
    fn command(&self) -> Command {
        let mut c = Command::new(bin("sigap-server"));
        c.arg("--db").arg(self.db());
        if let Some(url) = &self.database_url {
            c.arg("--database-url").arg(url);
        }
        c
    }

    /// Where a server started with [`Server::start_logging`] logs.
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("server.db")
    }

    /// A freshly migrated, empty server database (no process kept).
    pub fn fresh_db() -> (TempDir, PathBuf) {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("server.db");
        let out = Command::new(bin("sigap-server"))
            .arg("--db")
            .arg(&db)
            .args(["token", "list"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (dir, db)
    }

    /// The server process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same database and port; waits until ready.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stderr = match &self.log_level {
                Some(_) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(self.log_file())
                        .unwrap(),
                ),
                None => Stdio::inherit(),
            };
            let mut child = self
                .command()
                .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
                .env("RUST_LOG", self.log_level.as_deref().unwrap_or("warn"))
                .stdout(Stdio::piped())
                .stderr(stderr)
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            if line.contains("listening on") {
                self.child = Some(child);
                return;
            }
            // The port may still be held by the killed process for a moment.
            let _ = child.wait();
            assert!(Instant::now() < deadline, "server did not start: {line:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGKILL: no graceful shutdown, as a power cut or crash would do.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs an admin command on the server's database.
    pub fn admin(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs an admin command that must succeed and returns its stdout.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "sigap-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Creates a token and returns it.
    pub fn token(&self, role: &str, name: &str, areas: &[&str]) -> String {
        let mut args = vec!["token", "create", "--role", role, "--name", name];
        for a in areas {
            args.extend(["--area", a]);
        }
        self.admin_ok(&args).trim().to_string()
    }

    /// GET an API path with a token; returns (status, JSON body).
    pub fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .header(
                sigap_shared::wire::PROTOCOL_HEADER,
                sigap_shared::PROTOCOL_VERSION.to_string(),
            )
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    /// The coverage figures for an area and year, as a supervisor sees them.
    pub fn coverage(&self, token: &str, area: &str, year: u32, depth: u32) -> Value {
        let (status, body) = self.get(
            token,
            &format!("/api/v1/coverage?area={area}&year={year}&depth={depth}"),
        );
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A field agent's device: its own local database.
pub struct Agent {
    dir: TempDir,
}

/// The passphrase of every test agent's encrypted database.
pub const AGENT_PASSPHRASE: &str = "sandi uji lapangan";

/// An agent's database opened directly, with the key `sigap` derives from
/// [`AGENT_PASSPHRASE`] and the settings kept beside the file (SQLCipher).
pub fn open_agent_db(db: &Path) -> rusqlite::Connection {
    let mut header_path = db.as_os_str().to_owned();
    header_path.push(".salt");
    let header: Value =
        serde_json::from_str(&std::fs::read_to_string(header_path).unwrap()).unwrap();
    let num = |k: &str| u32::try_from(header[k].as_u64().unwrap()).unwrap();
    let salt_hex = header["salt"].as_str().unwrap();
    let salt: Vec<u8> = (0..salt_hex.len() / 2)
        .map(|i| u8::from_str_radix(&salt_hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let params =
        argon2::Params::new(num("m_cost"), num("t_cost"), num("p_cost"), Some(32)).unwrap();
    let mut key = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(AGENT_PASSPHRASE.as_bytes(), &salt, &mut key)
        .unwrap();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    // SQLCipher's default HMAC when the settings do not name one.
    let hmac = match header["page_hmac"].as_str() {
        None | Some("sha512") => "HMAC_SHA512",
        Some("sha256") => "HMAC_SHA256",
        Some(other) => panic!("page_hmac {other:?}"),
    };
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{hex}'\"; PRAGMA cipher_hmac_algorithm = {hmac};"
    ))
    .unwrap();
    conn
}

impl Default for Agent {
    fn default() -> Self {
        Agent::new()
    }
}

impl Agent {
    pub fn new() -> Agent {
        Agent {
            dir: TempDir::new().unwrap(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("agent.db")
    }

    /// The `sigap` command for this device, with fast retries for tests.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("sigap"));
        c.arg("--db")
            .arg(self.db())
            .args(args)
            .env("SIGAP_RETRY_LIMIT", "4")
            .env("SIGAP_RETRY_BASE_MS", "50")
            // The tests read English messages.
            .env("SIGAP_LANG", "en")
            .env("SIGAP_PASSPHRASE", AGENT_PASSPHRASE)
            .env_remove("SIGAP_TOKEN")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "sigap {args:?} exited {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Configures the device for a server and token.
    pub fn init(&self, server_url: &str, name: &str, token: &str) {
        self.ok(&[
            "init",
            "--server",
            server_url,
            "--device-name",
            name,
            "--token",
            token,
        ]);
    }

    /// Imports registrations from CSV text; returns the process output.
    pub fn import(&self, csv: &str) -> Output {
        let path = self.dir().join(format!("import-{}.csv", rand_suffix()));
        std::fs::write(&path, csv).unwrap();
        self.run(&["import", path.to_str().unwrap()])
    }

    /// `sigap sync --json`: exit code and the parsed summary (Null when
    /// the command printed no JSON, e.g. on a network failure).
    pub fn sync(&self) -> (Option<i32>, Value) {
        let out = self.run(&["sync", "--json"]);
        let body = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), body)
    }

    /// `sigap status --json`.
    pub fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
