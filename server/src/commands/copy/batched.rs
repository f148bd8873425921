//! Tables copied in batches keyed by the office's primary keys: the
//! [`Batched`] trait the per-table copiers implement, and the loop that
//! commits each batch with its step's progress, run again when it lost
//! a race with a server's transaction.

use std::time::Duration;

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::progress::advance;
use super::{Copier, Ctx, corrupt};
use crate::commands::{CommandError, usage};
use crate::store::StoreError;

/// Attempts at a batch that lost a race with a server's transaction.
pub(super) const MAX_ATTEMPTS: u32 = 8;

/// Whether a failure is a lost race worth running the batch again for.
pub(super) fn retryable(r: &Result<(), CommandError>) -> bool {
    matches!(r, Err(CommandError::Store(StoreError::Retry(_))))
}

pub(super) async fn pause(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 25)).await;
}

/// A table copied in batches by its primary key.
pub(super) trait Batched {
    const STEP: &'static str;
    type Row;
    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<Self::Row>, CommandError>;
    fn key(row: &Self::Row) -> String;
    async fn write(ctx: &Ctx, tx: &Transaction<'_>, rows: &[Self::Row])
    -> Result<(), CommandError>;
}

pub(super) fn after_id(after: Option<&str>) -> Result<Vec<u8>, CommandError> {
    Ok(match after {
        Some(text) => Uuid::parse_str(text)
            .map_err(|e| corrupt(format!("copy_progress key {text:?}: {e}")))?
            .as_bytes()
            .to_vec(),
        None => Vec::new(),
    })
}

pub(super) fn after_int(after: Option<&str>) -> Result<i64, CommandError> {
    match after {
        Some(text) => text
            .parse()
            .map_err(|e| corrupt(format!("copy_progress key {text:?}: {e}"))),
        None => Ok(i64::MIN),
    }
}

/// Fails when a batch inserted fewer rows than it held: another writer
/// has some of its keys.
pub(super) fn all_written(n: u64, rows: usize, what: &str) -> Result<(), CommandError> {
    if usize::try_from(n).ok() == Some(rows) {
        return Ok(());
    }
    Err(usage(format!(
        "{} of {rows} {what} of this batch are already in the target: something wrote them \
         there while the copy ran (a server of the target, or another copy of the same office). \
         Nothing of this batch was written; find out who, then run the copy again",
        rows.saturating_sub(usize::try_from(n).unwrap_or(0))
    )))
}

impl Copier {
    /// Copies `T`'s rows after the step's last key, a batch per
    /// transaction with the step's progress.
    pub(super) async fn batched<T: Batched>(&mut self) -> Result<(), CommandError> {
        let (mut after, done) = self
            .progress()
            .await?
            .remove(T::STEP)
            .unwrap_or((None, false));
        if done {
            return Ok(());
        }
        loop {
            let rows = T::read(&self.ctx, after.as_deref())?;
            let Some(last) = rows.last().map(T::key) else {
                break;
            };
            let mut attempt = 0;
            loop {
                attempt += 1;
                let result = async {
                    let tx = self.client.transaction().await?;
                    T::write(&self.ctx, &tx, &rows).await?;
                    advance(&tx, &self.ctx.src.id, T::STEP, &last, rows.len()).await?;
                    tx.commit().await?;
                    Ok::<(), CommandError>(())
                }
                .await;
                if retryable(&result) && attempt < MAX_ATTEMPTS {
                    pause(attempt).await;
                    continue;
                }
                result?;
                break;
            }
            self.ctx.batch_done()?;
            after = Some(last);
        }
        self.client
            .execute(
                "UPDATE copy_progress SET done = TRUE WHERE source = $1 AND step = $2",
                &[&self.ctx.src.id, &T::STEP],
            )
            .await?;
        Ok(())
    }
}
