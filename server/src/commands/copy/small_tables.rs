//! The small tables, each copied in one transaction: baselines, targets,
//! the counts of refused changes and the server's counters (`meta`).

use super::Copier;
use super::progress::{advance, mark_done};
use crate::commands::CommandError;

impl Copier {
    pub(super) async fn baselines(&mut self) -> Result<(), CommandError> {
        if self.step_done("baselines").await? {
            return Ok(());
        }
        let rows = self.ctx.src.baselines()?;
        let tx = self.client.transaction().await?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let n: Vec<i64> = rows.iter().map(|r| r.2).collect();
        // The same figures may be there already (the check refused others).
        tx.execute(
            "INSERT INTO baselines (area, year, working_population)
             SELECT * FROM UNNEST($1::text[], $2::integer[], $3::bigint[])
             ON CONFLICT DO NOTHING",
            &[&areas, &years, &n],
        )
        .await?;
        tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
            &[],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "baselines", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "baselines").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }

    pub(super) async fn targets(&mut self) -> Result<(), CommandError> {
        if self.step_done("targets").await? {
            return Ok(());
        }
        let rows = self.ctx.src.targets()?;
        let tx = self.client.transaction().await?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let bp: Vec<i32> = rows.iter().map(|r| r.2).collect();
        let count: Vec<Option<i64>> = rows.iter().map(|r| r.3).collect();
        tx.execute(
            "INSERT INTO targets (area, year, percent_bp, count)
             SELECT * FROM UNNEST($1::text[], $2::integer[], $3::integer[], $4::bigint[])
             ON CONFLICT DO NOTHING",
            &[&areas, &years, &bp, &count],
        )
        .await?;
        tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
            &[],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "targets", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "targets").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }

    pub(super) async fn unlogged(&mut self) -> Result<(), CommandError> {
        if self.step_done("unlogged_rejections").await? {
            return Ok(());
        }
        let rows = self.ctx.src.unlogged()?;
        let agents: Vec<String> = rows.iter().map(|r| self.ctx.names.name(&r.0)).collect();
        let days: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        let counts: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let tx = self.client.transaction().await?;
        // Sums per agent and day.
        tx.execute(
            "INSERT INTO unlogged_rejections (agent, day, count)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (agent, day)
             DO UPDATE SET count = unlogged_rejections.count + excluded.count",
            &[&agents, &days, &counts],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "unlogged_rejections", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "unlogged_rejections").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }

    pub(super) async fn meta(&mut self) -> Result<(), CommandError> {
        if self.step_done("meta").await? {
            return Ok(());
        }
        let rows = self.ctx.src.meta()?;
        let tx = self.client.transaction().await?;
        for (key, value) in &rows {
            match key.as_str() {
                // The target's own: bumped below, or given out there.
                "generation" | "feed_seq" | "copy_temp_seq" | "history_day" => {}
                // How many roll imports ran, whether the history was
                // backfilled: the larger.
                "roll_imports" | "history_backfilled" => {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)",
                        &[key, value],
                    )
                    .await?;
                }
                _ => {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[key, value],
                    )
                    .await?;
                }
            }
        }
        // Coverage answers cached by the servers are rebuilt.
        tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
            &[],
        )
        .await?;
        advance(&tx, &self.ctx.src.id, "meta", "", rows.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "meta").await?;
        tx.commit().await?;
        self.ctx.batch_done()
    }
}
