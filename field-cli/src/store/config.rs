//! The device's settings, kept as keys and values in the `config` table.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Store;
use crate::error::{CliError, Result};
use crate::i18n::t;

/// Keys of the `config` table.
pub mod key {
    pub const DEVICE_ID: &str = "device_id";
    pub const DEVICE_NAME: &str = "device_name";
    pub const SERVER_URL: &str = "server_url";
    pub const TOKEN: &str = "token";
    pub const PULL_CURSOR: &str = "pull_cursor";
    pub const LAST_SYNC_AT: &str = "last_sync_at";
    pub const LAST_PULL_AT: &str = "last_pull_at";
    /// How far this laptop's clock was ahead of the server's (negative:
    /// behind), in milliseconds, as measured at the last sync.
    pub const CLOCK_SKEW_MS: &str = "clock_skew_ms";
    /// When that was measured (RFC 3339, this laptop's clock).
    pub const CLOCK_CHECKED_AT: &str = "clock_checked_at";
    /// The server's highest number from this device when this device
    /// last found it was restored from an older backup with nothing to
    /// renumber, so that it says so once.
    pub const RESTORE_NOTED_SEQ: &str = "restore_noted_seq";
    /// The deployment's replica key (hex), from the server: keys the
    /// lookup hashes of the replica. Kept here only, inside the
    /// encrypted database.
    pub const REPLICA_KEY: &str = "replica_key";
    /// The role of the token as the server said at `sigap init` (agent,
    /// supervisor, admin); absent when it could not be asked.
    pub const TOKEN_ROLE: &str = "token_role";
    /// A PEM file of the office's own certificate authority, trusted
    /// besides the system's (`sigap init --ca-cert`).
    pub const CA_CERT: &str = "ca_cert";
    /// "1" when `sigap init --insecure` allowed plain http:// to a server
    /// that is not this laptop.
    pub const INSECURE: &str = "insecure";
}

/// This device, as set up by `sigap init`.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: Uuid,
    pub name: String,
    pub server_url: Option<String>,
    pub token: Option<String>,
    /// The office's CA certificate file, when one was given.
    pub ca_cert: Option<String>,
    /// Plain http:// to another machine allowed (`--insecure`).
    pub insecure: bool,
}

impl Store {
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        get(&self.conn, key)
    }

    /// The device, or an error telling the agent to run `sigap init`.
    pub fn device(&self) -> Result<Device> {
        self.device_opt()?
            .ok_or_else(|| CliError::Input(t!("store-not-set-up")))
    }

    pub fn device_opt(&self) -> Result<Option<Device>> {
        let Some(id) = self.get(key::DEVICE_ID)? else {
            return Ok(None);
        };
        let id = Uuid::parse_str(&id)
            .map_err(|e| CliError::Local(t!("damaged-device-id", id = id, detail = e)))?;
        Ok(Some(Device {
            id,
            name: self.get(key::DEVICE_NAME)?.unwrap_or_default(),
            server_url: self.get(key::SERVER_URL)?,
            token: self.get(key::TOKEN)?,
            ca_cert: self.get(key::CA_CERT)?,
            insecure: self.get(key::INSECURE)?.as_deref() == Some("1"),
        }))
    }
}

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    // Cached: a command reads four or more keys (the device's).
    Ok(conn
        .prepare_cached("SELECT value FROM config WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO config(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Now, as stored in the database (RFC 3339, UTC).
pub fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
