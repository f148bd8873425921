//! Helpers shared by the integration tests: a temporary database and a way
//! to run the real `sigap` binary against it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fake_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_sigap");

/// The passphrase of every test database (`SIGAP_PASSPHRASE`).
pub const PASSPHRASE: &str = "sandi uji lapangan";

/// The `sigap` binary with the test passphrase and no database chosen.
pub fn sigap() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("SIGAP_PASSPHRASE", PASSPHRASE)
        .env_remove("SIGAP_NEW_PASSPHRASE")
        .env_remove("SIGAP_DB")
        .env_remove("SIGAP_TOKEN");
    cmd
}

/// The key `sigap` derives from `passphrase` for the database at `db`,
/// from the settings kept beside it, as SQLCipher's `PRAGMA key` value.
pub fn pragma_key(db: &Path, passphrase: &str) -> String {
    let mut header_path = db.as_os_str().to_owned();
    header_path.push(".salt");
    let header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(header_path).unwrap()).unwrap();
    let num = |k: &str| u32::try_from(header[k].as_u64().unwrap()).unwrap();
    let salt: Vec<u8> = (0..header["salt"].as_str().unwrap().len() / 2)
        .map(|i| {
            u8::from_str_radix(&header["salt"].as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap()
        })
        .collect();
    let params =
        argon2::Params::new(num("m_cost"), num("t_cost"), num("p_cost"), Some(32)).unwrap();
    let mut key = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, &mut key)
        .unwrap();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"x'{hex}'\"")
}

/// SQLCipher's name of the page HMAC kept beside `db` (`page_hmac`;
/// SHA-512, SQLCipher's default, when it is not there).
pub fn page_hmac(db: &Path) -> &'static str {
    let mut header_path = db.as_os_str().to_owned();
    header_path.push(".salt");
    let header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(header_path).unwrap()).unwrap();
    match header["page_hmac"].as_str() {
        None | Some("sha512") => "HMAC_SHA512",
        Some("sha256") => "HMAC_SHA256",
        Some(other) => panic!("page_hmac {other:?}"),
    }
}

/// The test database at `db` opened directly (SQLCipher, test passphrase).
pub fn open_db(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = {}; PRAGMA cipher_hmac_algorithm = {};",
        pragma_key(db, PASSPHRASE),
        page_hmac(db)
    ))
    .unwrap();
    conn
}

/// A man born 1985-03-12, issued in Laweyan (33.72.01).
pub const BUDI: &str = "3372011203850001";
/// A woman born 1990-03-12 (day + 40), issued in Laweyan.
pub const SITI: &str = "3372015203900002";

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `cmd` to the end.
    pub fn of(cmd: &mut Command) -> Run {
        Run::from(cmd.output().unwrap())
    }

    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stdout_has(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Env {
    /// A fresh database, not initialised.
    pub fn bare() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sigap.db");
        Env { dir, db }
    }

    /// A fresh database with the device set up.
    pub fn new() -> Env {
        Env::with_server("http://127.0.0.1:9")
    }

    pub fn with_server(url: &str) -> Env {
        let env = Env::bare();
        env.run(&[
            "init",
            "--server",
            url,
            "--device-name",
            "laptop-test",
            "--token",
            "t0ken",
        ])
        .code(0);
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = sigap();
        cmd.arg("--db")
            .arg(&self.db)
            .args(args)
            .env("SIGAP_RETRY_LIMIT", "3")
            .env("SIGAP_RETRY_BASE_MS", "5")
            // These tests read English messages; the language tests
            // (language.rs) set their own.
            .env("SIGAP_LANG", "en")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("LANG")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    pub fn run_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        Run::from(cmd.output().unwrap())
    }

    /// Registers Budi (bpu, Pajang RW 3 RT 5) with flags.
    pub fn register_budi(&self) -> Run {
        self.run(&budi_args())
    }

    pub fn count(&self, sql: &str) -> i64 {
        count(&self.db, sql)
    }
}

pub fn count(db: &Path, sql: &str) -> i64 {
    let conn = open_db(db);
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

pub fn budi_args() -> Vec<&'static str> {
    vec![
        "register",
        "--nik",
        BUDI,
        "--name",
        "Budi Santoso",
        "--birth-date",
        "1985-03-12",
        "--sex",
        "L",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "3",
        "--rt",
        "5",
        "--category",
        "bpu",
        "--occupation",
        "pedagang",
    ]
}

pub fn siti_args() -> Vec<&'static str> {
    vec![
        "register",
        "--nik",
        SITI,
        "--name",
        "Siti Aminah",
        "--birth-date",
        "12-03-1990",
        "--sex",
        "P",
        "--kelurahan",
        "33.72.01.1002",
        "--rw",
        "1",
        "--rt",
        "2",
        "--category",
        "pu",
        "--occupation",
        "buruh",
        "--employer",
        "PT Batik Solo",
        "--programs",
        "jkk,jkm,jht",
    ]
}

/// Replaces the value after `flag` in `args`.
pub fn with(mut args: Vec<&'static str>, flag: &str, value: &'static str) -> Vec<&'static str> {
    match args.iter().position(|a| *a == flag) {
        Some(i) => args[i + 1] = value,
        None => {
            args.push(Box::leak(flag.to_string().into_boxed_str()));
            args.push(value);
        }
    }
    args
}

/// Removes `flag` and its value from `args`.
pub fn without(mut args: Vec<&'static str>, flag: &str) -> Vec<&'static str> {
    if let Some(i) = args.iter().position(|a| *a == flag) {
        args.drain(i..i + 2);
    }
    args
}

pub const CSV_HEADER: &str =
    "nik,name,birth_date,sex,kelurahan,rw,rt,category,occupation,employer,phone,programs\n";

/// A valid CSV row for row number `i` (distinct NIKs up to ~400k rows).
pub fn csv_row(i: usize) -> String {
    let serial = i % 9999 + 1;
    let k = i / 9999;
    let (day, month, yy) = (1 + k % 28, 1 + (k / 28) % 12, 60 + k / 336);
    let mut name = String::new();
    let mut n = i;
    loop {
        name.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            break;
        }
    }
    format!(
        "337201{day:02}{month:02}{yy:02}{serial:04},Warga {name},19{yy:02}-{month:02}-{day:02},L,33.72.01.1001,{},{},bpu,pedagang,,,\"jkk,jkm\"\n",
        1 + i % 9,
        1 + i % 15
    )
}

pub fn write_csv(path: &Path, rows: usize) {
    let mut text = String::from(CSV_HEADER);
    for i in 0..rows {
        text.push_str(&csv_row(i));
    }
    std::fs::write(path, text).unwrap();
}
