//! The coverage history: copied area by area, and added day by day to
//! the target's for areas both hold.

use std::collections::BTreeSet;

use tokio_postgres::Transaction;

use super::Copier;
use super::batched::{MAX_ATTEMPTS, pause, retryable};
use super::progress::advance;
use crate::commands::CommandError;

/// The advisory lock the servers take the coverage history's snapshots
/// under (`HISTORY_LOCK` of store/postgres/history.rs, "hist").
const HISTORY_LOCK: i32 = 0x68_69_73_74;

/// One day of an area's coverage history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snap {
    pub(super) day: String,
    pub(super) counts: [i64; 4],
    pub(super) working_population: Option<i64>,
    pub(super) target_bp: Option<i32>,
    pub(super) target_count: Option<i64>,
    pub(super) taken_at: i64,
}

/// Merges two coverage histories of one area, each a step function (a
/// day without a row has the figures of the row before it): on every day
/// either has, the counts are the sums of both sides' figures then; the
/// baseline and target are the target's row's of that day, else ours.
fn merge_history(ours: &[Snap], theirs: &[Snap]) -> Vec<Snap> {
    let days: BTreeSet<&str> = ours.iter().chain(theirs).map(|s| s.day.as_str()).collect();
    let at = |side: &[Snap], day: &str| -> [i64; 4] {
        side.iter()
            .take_while(|s| s.day.as_str() <= day)
            .last()
            .map_or([0; 4], |s| s.counts)
    };
    days.into_iter()
        .map(|day| {
            let a = at(ours, day);
            let b = at(theirs, day);
            let own = theirs
                .iter()
                .find(|s| s.day == day)
                .or_else(|| ours.iter().find(|s| s.day == day));
            let taken = ours
                .iter()
                .chain(theirs)
                .filter(|s| s.day == day)
                .map(|s| s.taken_at)
                .max()
                .unwrap_or(0);
            Snap {
                day: day.to_string(),
                counts: [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]],
                working_population: own.and_then(|s| s.working_population),
                target_bp: own.and_then(|s| s.target_bp),
                target_count: own.and_then(|s| s.target_count),
                taken_at: taken,
            }
        })
        .collect()
}

impl Copier {
    /// The coverage history, area by area: an area the target has no
    /// history of is copied, one it has is added to it day by day.
    pub(super) async fn history(&mut self) -> Result<(), CommandError> {
        let (after, done) = self
            .progress()
            .await?
            .remove("coverage_history")
            .unwrap_or((None, false));
        if done {
            return Ok(());
        }
        let areas: Vec<(String, usize)> = self
            .ctx
            .src
            .history_areas()?
            .into_iter()
            .filter(|(a, _)| after.as_ref().is_none_or(|x| a > x))
            .collect();
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut rows_in_group = 0usize;
        for (area, n) in areas {
            match groups.last_mut() {
                Some(g) if rows_in_group + n <= self.ctx.batch => g.push(area),
                _ => {
                    groups.push(vec![area]);
                    rows_in_group = 0;
                }
            }
            rows_in_group += n;
        }
        let mut merged_areas = Vec::new();
        for group in groups {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut merged = Vec::new();
                let result = async {
                    let tx = self.client.transaction().await?;
                    // The lock the servers take a snapshot under
                    // (`HISTORY_LOCK` in store/postgres/history.rs).
                    tx.execute(
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                        &[&HISTORY_LOCK, &self.schema],
                    )
                    .await?;
                    let mut rows = 0;
                    for area in &group {
                        let ours = self.ctx.src.history_of(area)?;
                        let theirs = target_history(&tx, area).await?;
                        let snaps = if theirs.is_empty() {
                            ours
                        } else {
                            merged.push(area.clone());
                            tx.execute("DELETE FROM coverage_history WHERE area = $1", &[area])
                                .await?;
                            merge_history(&ours, &theirs)
                        };
                        rows += snaps.len();
                        insert_history(&tx, area, &snaps).await?;
                    }
                    let last = group.last().cloned().unwrap_or_default();
                    advance(&tx, &self.ctx.src.id, "coverage_history", &last, rows).await?;
                    tx.commit().await?;
                    Ok::<(), CommandError>(())
                }
                .await;
                if retryable(&result) && attempt < MAX_ATTEMPTS {
                    pause(attempt).await;
                    continue;
                }
                result?;
                merged_areas.extend(merged);
                break;
            }
            self.ctx.batch_done()?;
        }
        if !merged_areas.is_empty() {
            self.notes.push(format!(
                "coverage history added day by day to the target's for areas both hold: {}",
                merged_areas.join(", ")
            ));
        }
        self.client
            .execute(
                "UPDATE copy_progress SET done = TRUE WHERE source = $1 AND step = 'coverage_history'",
                &[&self.ctx.src.id],
            )
            .await?;
        Ok(())
    }
}

async fn target_history(tx: &Transaction<'_>, area: &str) -> Result<Vec<Snap>, CommandError> {
    Ok(tx
        .query(
            "SELECT day, pu, bpu, jakon, pmi, working_population, target_bp, target_count,
                    taken_at
             FROM coverage_history WHERE area = $1 ORDER BY day FOR UPDATE",
            &[&area],
        )
        .await?
        .iter()
        .map(|r| Snap {
            day: r.get(0),
            counts: [r.get(1), r.get(2), r.get(3), r.get(4)],
            working_population: r.get(5),
            target_bp: r.get(6),
            target_count: r.get(7),
            taken_at: r.get(8),
        })
        .collect())
}

async fn insert_history(
    tx: &Transaction<'_>,
    area: &str,
    snaps: &[Snap],
) -> Result<(), CommandError> {
    if snaps.is_empty() {
        return Ok(());
    }
    let areas: Vec<&str> = snaps.iter().map(|_| area).collect();
    let days: Vec<&str> = snaps.iter().map(|s| s.day.as_str()).collect();
    let col = |i: usize| snaps.iter().map(|s| s.counts[i]).collect::<Vec<i64>>();
    let (pu, bpu, jakon, pmi) = (col(0), col(1), col(2), col(3));
    let wp: Vec<Option<i64>> = snaps.iter().map(|s| s.working_population).collect();
    let bp: Vec<Option<i32>> = snaps.iter().map(|s| s.target_bp).collect();
    let tc: Vec<Option<i64>> = snaps.iter().map(|s| s.target_count).collect();
    let taken: Vec<i64> = snaps.iter().map(|s| s.taken_at).collect();
    tx.execute(
        "INSERT INTO coverage_history (area, day, pu, bpu, jakon, pmi, working_population,
                                       target_bp, target_count, taken_at)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
                              $6::bigint[], $7::bigint[], $8::integer[], $9::bigint[],
                              $10::bigint[])",
        &[
            &areas, &days, &pu, &bpu, &jakon, &pmi, &wp, &bp, &tc, &taken,
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(day: &str, pu: i64, wp: Option<i64>) -> Snap {
        Snap {
            day: day.into(),
            counts: [pu, 0, 0, 0],
            working_population: wp,
            target_bp: None,
            target_count: None,
            taken_at: 1,
        }
    }

    #[test]
    fn histories_add_up_as_step_functions() {
        let ours = [snap("2026-01-01", 5, None), snap("2026-01-03", 7, None)];
        let theirs = [
            snap("2026-01-02", 10, Some(100)),
            snap("2026-01-03", 11, Some(100)),
        ];
        let m = merge_history(&ours, &theirs);
        let pu: Vec<(&str, i64, Option<i64>)> = m
            .iter()
            .map(|s| (s.day.as_str(), s.counts[0], s.working_population))
            .collect();
        assert_eq!(
            pu,
            [
                ("2026-01-01", 5, None),
                ("2026-01-02", 15, Some(100)),
                ("2026-01-03", 18, Some(100)),
            ]
        );
    }
}
