//! Resumability: the copy's progress kept in the target (tables
//! `copy_sources` and `copy_progress`), the office's fingerprint that a
//! second run must find again, and the advisory lock that lets one copy
//! of an office run at a time.

use std::collections::HashMap;

use tokio_postgres::Transaction;

use super::{Copier, len_i64, now_millis};
use crate::commands::{CommandError, usage};

/// How often the office's lock is tried, 200 ms apart.
const LOCK_TRIES: u32 = 25;

/// The steps, in the order they run.
const STEPS: &[&str] = &[
    "tokens",
    "baselines",
    "targets",
    "devices",
    "persons",
    "changes",
    "conflicts",
    "visits",
    "unlogged_rejections",
    "coverage_history",
    "meta",
    "feed",
];

/// Where the copy keeps its progress, in the target's schema.
const PROGRESS_TABLES: &str = "
CREATE TABLE IF NOT EXISTS copy_sources (
    source TEXT PRIMARY KEY,        -- the office: a hash of its replica key
    file TEXT NOT NULL,             -- where it was first read from
    fingerprint TEXT NOT NULL,      -- what it held then
    token_suffix TEXT,
    temp_base BIGINT NOT NULL,      -- persons wait at seq -(temp_base + 1 + office seq)
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE TABLE IF NOT EXISTS copy_progress (
    source TEXT NOT NULL,
    step TEXT NOT NULL,
    last_key TEXT,                  -- the last office key copied
    copied BIGINT NOT NULL DEFAULT 0,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (source, step)
);";

/// Records that a batch of `step` up to `last` committed (inside its
/// transaction).
pub(super) async fn advance(
    tx: &Transaction<'_>,
    source: &str,
    step: &str,
    last: &str,
    rows: usize,
) -> Result<(), CommandError> {
    tx.execute(
        "UPDATE copy_progress SET last_key = $3, copied = copied + $4
         WHERE source = $1 AND step = $2",
        &[&source, &step, &last, &len_i64(rows)],
    )
    .await?;
    Ok(())
}

pub(super) async fn mark_done(
    tx: &Transaction<'_>,
    source: &str,
    step: &str,
) -> Result<(), CommandError> {
    tx.execute(
        "UPDATE copy_progress SET done = TRUE WHERE source = $1 AND step = $2",
        &[&source, &step],
    )
    .await?;
    Ok(())
}

impl Copier {
    pub(super) async fn copy(&mut self, suffix: Option<&str>) -> Result<(), CommandError> {
        self.client.batch_execute(PROGRESS_TABLES).await?;
        let id = self.ctx.src.id.clone();
        // One copy of an office into a database at a time.
        let lock_key = i64::from_str_radix(&id[..15], 16).unwrap_or(0);
        // A copy that just stopped may still hold the lock for a moment,
        // until the database notices its connection closed: wait a little
        // before telling the admin another copy runs.
        let mut locked = false;
        for _ in 0..LOCK_TRIES {
            locked = self
                .client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key])
                .await?
                .get(0);
            if locked {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        if !locked {
            return Err(usage(
                "another copy of this office into this database is running; wait for it to end",
            ));
        }
        let Some(row) = self
            .client
            .query_opt(
                "SELECT fingerprint, token_suffix, temp_base, started_at, finished_at
                 FROM copy_sources WHERE source = $1",
                &[&id],
            )
            .await?
        else {
            return self.first_run(suffix).await;
        };
        let fingerprint: String = row.get(0);
        let was_suffix: Option<String> = row.get(1);
        self.ctx.temp_base = row.get(2);
        let started: i64 = row.get(3);
        let finished: Option<i64> = row.get(4);
        let since = crate::time_text::format_time(started);
        if fingerprint != self.ctx.src.fingerprint {
            return Err(usage(if finished.is_some() {
                format!(
                    "this office was copied into this database on {since} and has changed since \
                     (its server kept running?); copying it again would copy it twice. What its \
                     laptops sent since reaches the target when they sync with the regional \
                     server (each resends what the target lacks); redo there any roll import, \
                     baseline or resolution made at the office since. (Then: {fingerprint}; \
                     now: {})",
                    self.ctx.src.fingerprint
                )
            } else {
                format!(
                    "the copy of this office into this database began on {since} from other \
                     data than the file holds now (its server ran in between?), so it cannot \
                     go on: the rows copied so far would not fit the rest. Copy from the file \
                     as it was, or into a new database or schema (?schema=NAME). (Then: \
                     {fingerprint}; now: {})",
                    self.ctx.src.fingerprint
                )
            }));
        }
        // Once the tokens are copied, their names are settled.
        if was_suffix.as_deref() != suffix && !self.step_done("tokens").await? {
            return Err(usage(format!(
                "the copy of this office began with {}; run it again with the same",
                match &was_suffix {
                    Some(s) => format!("--token-suffix {s:?}"),
                    None => "no --token-suffix".to_string(),
                }
            )));
        }
        if finished.is_some() {
            self.plan_and_map_tokens(suffix, true).await?;
            self.note_renames();
            self.notes.push(format!(
                "this office was copied into this database on {since}: nothing left to copy"
            ));
            return Ok(());
        }
        self.notes
            .push(format!("went on with the copy begun on {since}"));
        self.run_steps(suffix, false).await
    }

    async fn first_run(&mut self, suffix: Option<&str>) -> Result<(), CommandError> {
        // Refused before anything is written.
        self.precheck(suffix, &HashMap::new()).await?;
        let id = self.ctx.src.id.clone();
        let n = self.ctx.src.max_seq + 1;
        let tx = self.client.transaction().await?;
        let value: i64 = tx
            .query_one(
                "INSERT INTO meta (key, value) VALUES ('copy_temp_seq', $1)
                 ON CONFLICT (key) DO UPDATE SET value = meta.value + excluded.value
                 RETURNING value",
                &[&n],
            )
            .await?
            .get(0);
        self.ctx.temp_base = value - n;
        let file = std::fs::canonicalize(self.ctx.src.conn.path().unwrap_or_default())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tx.execute(
            "INSERT INTO copy_sources (source, file, fingerprint, token_suffix, temp_base,
                                       started_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &id,
                &file,
                &self.ctx.src.fingerprint,
                &suffix,
                &self.ctx.temp_base,
                &now_millis(),
            ],
        )
        .await?;
        for step in STEPS {
            tx.execute(
                "INSERT INTO copy_progress (source, step) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&id, step],
            )
            .await?;
        }
        tx.commit().await?;
        self.run_steps(suffix, true).await
    }

    /// Each step's last key and whether it is done.
    pub(super) async fn progress(
        &self,
    ) -> Result<HashMap<String, (Option<String>, bool)>, CommandError> {
        let rows = self
            .client
            .query(
                "SELECT step, last_key, done FROM copy_progress WHERE source = $1",
                &[&self.ctx.src.id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), (r.get(1), r.get(2))))
            .collect())
    }

    /// Whether a one-transaction step is done.
    pub(super) async fn step_done(&self, step: &str) -> Result<bool, CommandError> {
        Ok(self
            .client
            .query_opt(
                "SELECT done FROM copy_progress WHERE source = $1 AND step = $2",
                &[&self.ctx.src.id, &step],
            )
            .await?
            .is_some_and(|r| r.get(0)))
    }
}
