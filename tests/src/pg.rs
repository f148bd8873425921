//! The end-to-end tests on PostgreSQL as well as SQLite: which backend a
//! server runs on, a schema of its own for each server on the database of
//! `SIGAP_TEST_DATABASE_URL`, and [`on_both_backends!`](crate::on_both_backends)
//! to run a test on each.

use uuid::Uuid;

/// The storage backend a test's server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `--db FILE`, the default.
    Sqlite,
    /// `--database-url postgres://…?schema=…` on `SIGAP_TEST_DATABASE_URL`.
    Postgres,
}

/// The PostgreSQL database the tests may use (`SIGAP_TEST_DATABASE_URL`,
/// e.g. `postgres://postgres@127.0.0.1:5432/test`), or `None` when it is
/// not set: then the PostgreSQL runs are skipped with a notice, but never
/// in CI, where `.ci/run` sets it and its absence fails the test.
pub fn base_url() -> Option<String> {
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

/// Whether the PostgreSQL runs can go ahead (see [`base_url`]).
pub fn postgres_available() -> bool {
    base_url().is_some()
}

/// A schema of its own on the test database (the server creates it on
/// start), dropped when done; kept for a look when the test failed.
#[derive(Debug)]
pub struct Schema {
    base: String,
    pub name: String,
}

impl Schema {
    /// `None` when `SIGAP_TEST_DATABASE_URL` is not set (see [`base_url`]).
    pub fn new() -> Option<Schema> {
        base_url().map(|base| Schema {
            base,
            name: format!("e2e_{}", Uuid::new_v4().simple()),
        })
    }

    /// The URL to give `sigap-server --database-url`.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.base, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "PostgreSQL schema {} kept for a look at the failed test",
                self.name
            );
            return;
        }
        let (base, name) = (self.base.clone(), self.name.clone());
        // On a thread of its own: the caller may be inside a runtime.
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

/// Runs each named `fn NAME(backend: Backend)` on both backends, as the
/// tests `NAME::sqlite` (always) and `NAME::postgres` (skipped with a
/// notice when `SIGAP_TEST_DATABASE_URL` is not set; failing in CI then).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                if $crate::pg::postgres_available() {
                    super::$name($crate::Backend::Postgres);
                }
            }
        }
    )*};
}
