//! The office's file: its SQLite database, read-only, in one read
//! transaction.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sha2::{Digest, Sha256};
use sigap_shared::merge::PersonRecord;
use sigap_shared::{AreaCode, Category};
use uuid::Uuid;

use super::history::Snap;
use super::tokens::TokenRow;
use super::{corrupt, len_i64};
use crate::commands::{CommandError, usage};
use crate::engine;
use crate::store::sqlite::counters::{parse_date_text, roll_since};
use crate::store::{CounterDiff, VerifyReport};

/// The SQLite schema version this build reads (schema_v1 … schema_v12).
pub const SQLITE_SCHEMA_VERSION: i64 = 12;

/// The office's tables copy knows; anything else stops it.
const KNOWN_TABLES: &[&str] = &[
    "tokens",
    "persons",
    "changes",
    "devices",
    "counters",
    "baselines",
    "targets",
    "conflicts",
    "meta",
    "secrets",
    "coverage_history",
    "visits",
    "unlogged_rejections",
];

/// The office's database, read-only, in one read transaction.
pub(super) struct Source {
    pub(super) conn: Connection,
    /// Names the office in the target: a hash of its replica key.
    pub(super) id: String,
    pub(super) fingerprint: String,
    pub(super) max_seq: i64,
}

impl Source {
    pub(super) fn open(path: &Path) -> Result<Source, CommandError> {
        let not_ours = |why: String| {
            usage(format!(
                "{} is not a sigap-server database ({why}); give the office server's --db file",
                path.display()
            ))
        };
        let cannot = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => not_ours(e.to_string()),
            _ => usage(format!(
                "cannot read {}: {e} (the file must be readable, and its folder writable \
                 for SQLite's -shm file unless one is there)",
                path.display()
            )),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(cannot)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mut tables: BTreeSet<String> = BTreeSet::new();
        {
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .map_err(cannot)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                tables.insert(r.get(0)?);
            }
        }
        if !tables.contains("persons") || !tables.contains("changes") {
            return Err(not_ours("it has no persons or changes table".into()));
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < SQLITE_SCHEMA_VERSION {
            return Err(usage(format!(
                "{} is at schema version {version}, older than this sigap-server copies \
                 ({SQLITE_SCHEMA_VERSION}); bring it up to date first: \
                 sigap-server --db {} migrate",
                path.display(),
                path.display()
            )));
        }
        if version > SQLITE_SCHEMA_VERSION {
            return Err(usage(format!(
                "{} is at schema version {version}, newer than this sigap-server knows \
                 ({SQLITE_SCHEMA_VERSION}); copy it with a newer sigap-server",
                path.display()
            )));
        }
        let unknown: Vec<&String> = tables
            .iter()
            .filter(|t| !t.starts_with("sqlite_") && !KNOWN_TABLES.contains(&t.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(usage(format!(
                "{} holds tables this sigap-server does not know ({}); copy it with the \
                 sigap-server that made them",
                path.display(),
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        // One snapshot for the whole run, even if something writes.
        conn.execute_batch("BEGIN")?;
        let key: Vec<u8> = conn
            .query_row(
                "SELECT value FROM secrets WHERE name = 'replica_key'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| not_ours("it has no replica key".into()))?;
        let mut hash = Sha256::new();
        hash.update(b"sigap office\0");
        hash.update(&key);
        let id = hex::encode(&hash.finalize()[..8]);
        let fingerprint = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM persons), (SELECT COALESCE(MAX(seq), 0) FROM persons),
                    (SELECT COUNT(*) FROM changes), (SELECT COUNT(*) FROM conflicts),
                    (SELECT COALESCE(MAX(id), 0) FROM conflicts),
                    (SELECT COUNT(*) FROM conflicts WHERE status = 'open'),
                    (SELECT COUNT(*) FROM devices), (SELECT COALESCE(SUM(count), 0) FROM devices),
                    (SELECT COUNT(*) FROM tokens), (SELECT COALESCE(MAX(id), 0) FROM tokens),
                    (SELECT COUNT(*) FROM tokens WHERE revoked_at IS NOT NULL),
                    (SELECT COUNT(*) FROM visits), (SELECT COUNT(*) FROM coverage_history),
                    (SELECT COALESCE(MAX(taken_at), 0) FROM coverage_history),
                    (SELECT COUNT(*) FROM baselines), (SELECT COUNT(*) FROM targets),
                    (SELECT COALESCE(SUM(count), 0) FROM unlogged_rejections),
                    (SELECT COALESCE((SELECT value FROM meta WHERE key = 'generation'), 0))",
            [],
            |r| {
                let names = [
                    "persons",
                    "max_seq",
                    "changes",
                    "conflicts",
                    "max_conflict",
                    "open_conflicts",
                    "devices",
                    "device_changes",
                    "tokens",
                    "max_token",
                    "revoked",
                    "visits",
                    "history",
                    "history_taken",
                    "baselines",
                    "targets",
                    "unlogged",
                    "generation",
                ];
                let mut parts = Vec::new();
                for (i, n) in names.iter().enumerate() {
                    parts.push(format!("{n}={}", r.get::<_, i64>(i)?));
                }
                Ok(parts.join(" "))
            },
        )?;
        let max_seq: i64 =
            conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM persons", [], |r| {
                r.get(0)
            })?;
        let min_seq: i64 =
            conn.query_row("SELECT COALESCE(MIN(seq), 0) FROM persons", [], |r| {
                r.get(0)
            })?;
        if min_seq < 0 {
            return Err(corrupt(format!(
                "{} holds a person at feed position {min_seq}",
                path.display()
            )));
        }
        Ok(Source {
            conn,
            id,
            fingerprint,
            max_seq,
        })
    }

    /// A `--token-suffix` to suggest: the file's name, e.g. `-solo` for
    /// solo.db.
    pub(super) fn suffix_example(&self) -> String {
        let stem: String = self
            .conn
            .path()
            .and_then(|p| Path::new(p).file_stem()?.to_str().map(str::to_lowercase))
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        if stem.is_empty() {
            "-office".to_string()
        } else {
            format!("-{stem}")
        }
    }

    pub(super) fn count(&self, table: &str) -> Result<u64, CommandError> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Up to `n` ids (16-byte UUIDs) of `table`'s `col` after `after`.
    pub(super) fn page_ids(
        &self,
        table: &str,
        col: &str,
        after: Option<Uuid>,
        n: usize,
    ) -> Result<Vec<Uuid>, CommandError> {
        let after = after.map(|u| u.as_bytes().to_vec()).unwrap_or_default();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {col} FROM {table} WHERE {col} > ?1 ORDER BY {col} LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, len_i64(n)], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(uuid_of(&r?)?);
        }
        Ok(out)
    }

    /// Up to `n` persons' (seq, NIK) after feed position `after`.
    pub(super) fn page_niks(
        &self,
        after: i64,
        n: usize,
    ) -> Result<Vec<(i64, String)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, nik FROM persons WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after, len_i64(n)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn tokens(&self) -> Result<Vec<TokenRow>, CommandError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, role, areas, hash, created_at, revoked_at, expires_at
             FROM tokens ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                areas: r.get(3)?,
                hash: r.get(4)?,
                created_at: r.get(5)?,
                revoked_at: r.get(6)?,
                expires_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn baselines(&self) -> Result<Vec<(String, i32, i64)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT area, year, working_population FROM baselines ORDER BY area, year")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn targets(&self) -> Result<Vec<(String, i32, i32, Option<i64>)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT area, year, percent_bp, count FROM targets ORDER BY area, year")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn unlogged(&self) -> Result<Vec<(String, String, i64)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT agent, day, count FROM unlogged_rejections ORDER BY agent, day")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn meta(&self) -> Result<Vec<(String, i64)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM meta ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn counters(&self) -> Result<Vec<(String, String, i32, i64)>, CommandError> {
        let mut stmt = self.conn.prepare(
            "SELECT area, category, since_year, covered FROM counters
             ORDER BY area, category, since_year",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Areas of the coverage history with their row counts, by area.
    pub(super) fn history_areas(&self) -> Result<Vec<(String, usize)>, CommandError> {
        let mut stmt = self
            .conn
            .prepare("SELECT area, COUNT(*) FROM coverage_history GROUP BY area ORDER BY area")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn history_of(&self, area: &str) -> Result<Vec<Snap>, CommandError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, pu, bpu, jakon, pmi, working_population, target_bp, target_count, taken_at
             FROM coverage_history WHERE area = ?1 ORDER BY day",
        )?;
        let rows = stmt.query_map([area], |r| {
            Ok(Snap {
                day: r.get(0)?,
                counts: [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                working_population: r.get(5)?,
                target_bp: r.get(6)?,
                target_count: r.get(7)?,
                taken_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `coverage verify` on the office, read-only: the counters against a
    /// recount of the persons by the rule the writes follow.
    pub(super) fn recount(&self) -> Result<VerifyReport, CommandError> {
        let mut buckets: HashMap<(AreaCode, Category, i32), i64> = HashMap::new();
        let mut report = VerifyReport::default();
        let mut stmt = self
            .conn
            .prepare("SELECT record, participant, roll_as_of, registered_at FROM persons")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            report.persons += 1;
            let key = coverage_key(
                &r.get::<_, String>(0)?,
                r.get(1)?,
                r.get::<_, Option<String>>(2)?.as_deref(),
                r.get(3)?,
            )?;
            engine::add_deltas(&mut buckets, &None, &key);
        }
        type Key = (String, String, i32);
        let expected: HashMap<Key, i64> = buckets
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((a, c, y), n)| ((a.to_string(), c.as_str().to_string(), y), n))
            .collect();
        let stored: HashMap<Key, i64> = self
            .counters()?
            .into_iter()
            .map(|(a, c, y, n)| ((a, c, y), n))
            .collect();
        let mut keys: Vec<&Key> = expected.keys().chain(stored.keys()).collect();
        keys.sort();
        keys.dedup();
        report.counters = u64::try_from(keys.len()).unwrap_or(u64::MAX);
        for k in keys {
            let s = stored.get(k).copied().unwrap_or(0);
            let e = expected.get(k).copied().unwrap_or(0);
            if s != e {
                report.differences.push(CounterDiff {
                    area: k.0.clone(),
                    category: k.1.clone(),
                    since_year: k.2,
                    stored: s,
                    expected: e,
                });
            }
        }
        Ok(report)
    }
}

pub(super) fn uuid_of(bytes: &[u8]) -> Result<Uuid, CommandError> {
    Uuid::from_slice(bytes).map_err(|e| corrupt(format!("an id in the office database: {e}")))
}

pub(super) fn opt_uuid(bytes: Option<Vec<u8>>) -> Result<Option<Uuid>, CommandError> {
    bytes.as_deref().map(uuid_of).transpose()
}

/// Where a stored person counts, by [`engine::coverage_key`].
pub(super) fn coverage_key(
    record: &str,
    participant: bool,
    roll_as_of: Option<&str>,
    registered_at: Option<i64>,
) -> Result<engine::CoverageKey, CommandError> {
    let record: PersonRecord = serde_json::from_str(record)
        .map_err(|e| corrupt(format!("a person record in the office database: {e}")))?;
    let as_of = roll_as_of.map(parse_date_text).transpose()?;
    Ok(engine::coverage_key(
        &record,
        roll_since(participant, as_of),
        registered_at,
    ))
}
