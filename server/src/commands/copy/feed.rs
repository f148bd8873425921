//! The last step: the office's persons, waiting at negative positions,
//! numbered after the target's feed under its lock.

use super::batched::{MAX_ATTEMPTS, pause, retryable};
use super::progress::{advance, mark_done};
use super::{Copier, len_i64};
use crate::commands::CommandError;

impl Copier {
    /// Gives the office's waiting persons their places in the target's
    /// feed, in their old order, a batch per transaction: each takes its
    /// positions under the row lock of `meta('feed_seq')`, held to
    /// commit, as the servers' writes do, so a pull never skips one.
    pub(super) async fn feed(&mut self) -> Result<(), CommandError> {
        if self.step_done("feed").await? {
            return Ok(());
        }
        let (lo, hi) = self.ctx.temp_range();
        let limit = len_i64(self.ctx.batch);
        loop {
            let mut attempt = 0;
            let mut numbered = 0usize;
            loop {
                attempt += 1;
                let result = async {
                    let tx = self.client.transaction().await?;
                    let niks: Vec<String> = tx
                        .query(
                            "SELECT nik FROM persons WHERE seq BETWEEN $1 AND $2
                             ORDER BY seq DESC LIMIT $3",
                            &[&lo, &hi, &limit],
                        )
                        .await?
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    if niks.is_empty() {
                        mark_done(&tx, &self.ctx.src.id, "feed").await?;
                        tx.commit().await?;
                        return Ok::<usize, CommandError>(0);
                    }
                    // Locked in NIK order, as pushes lock persons; a push
                    // may have given some a place meanwhile.
                    let mut waiting: Vec<(String, i64)> = tx
                        .query(
                            "SELECT nik, seq FROM persons WHERE nik = ANY($1)
                             ORDER BY nik FOR UPDATE",
                            &[&niks],
                        )
                        .await?
                        .iter()
                        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
                        .filter(|(_, seq)| (lo..=hi).contains(seq))
                        .collect();
                    // Old order: the waiting position counts down.
                    waiting.sort_by_key(|w| std::cmp::Reverse(w.1));
                    let n = len_i64(waiting.len());
                    if n > 0 {
                        let last: i64 = tx
                            .query_one(
                                "UPDATE meta SET value = value + $1 WHERE key = 'feed_seq'
                                 RETURNING value",
                                &[&n],
                            )
                            .await?
                            .get(0);
                        let seqs: Vec<i64> = (last - n + 1..=last).collect();
                        let niks: Vec<&str> = waiting.iter().map(|w| w.0.as_str()).collect();
                        tx.execute(
                            "UPDATE persons p SET seq = v.seq
                             FROM UNNEST($1::text[], $2::bigint[]) AS v(nik, seq)
                             WHERE p.nik = v.nik",
                            &[&niks, &seqs],
                        )
                        .await?;
                        advance(
                            &tx,
                            &self.ctx.src.id,
                            "feed",
                            &last.to_string(),
                            waiting.len(),
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(niks.len())
                }
                .await;
                let result: Result<(), CommandError> = match result {
                    Ok(n) => {
                        numbered = n;
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                if retryable(&result) && attempt < MAX_ATTEMPTS {
                    pause(attempt).await;
                    continue;
                }
                result?;
                break;
            }
            if numbered == 0 {
                return Ok(());
            }
            self.ctx.batch_done()?;
        }
    }
}
