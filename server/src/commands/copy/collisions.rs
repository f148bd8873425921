//! What would collide with the target's rows, looked for before anything
//! is written: the copy is refused with the whole list.

use std::collections::HashMap;

use sigap_shared::Nik;
use uuid::Uuid;

use super::batched::after_int;
use super::{CHECK_CHUNK, Copier, corrupt};
use crate::commands::{CommandError, usage};

impl Copier {
    /// Everything that would collide with the target's rows, for the
    /// steps not done yet; refuses the copy with the whole list.
    pub(super) async fn precheck(
        &mut self,
        suffix: Option<&str>,
        progress: &HashMap<String, (Option<String>, bool)>,
    ) -> Result<(), CommandError> {
        let pending = |step: &str| -> (Option<String>, bool) {
            match progress.get(step) {
                Some((key, done)) => (key.clone(), !done),
                None => (None, true),
            }
        };
        let mut problems = Vec::new();
        let plan = self.plan_tokens(suffix).await?;
        if !plan.taken.is_empty() {
            let list = plan.taken.join(", ");
            problems.push(match suffix {
                None => {
                    let example = self.ctx.src.suffix_example();
                    format!(
                        "tokens named {list} are in the office and, as other tokens, in the \
                         target. A token's name is its agent's name in the change history and \
                         on the agents page, so copy does not merge or rename them on its own: \
                         run it again with --token-suffix SUFFIX (e.g. --token-suffix={example}) \
                         to copy them as {}; their secrets keep working",
                        plan.taken
                            .iter()
                            .map(|n| format!("{n}{example}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                Some(s) => format!(
                    "tokens named {list} are in the office and the target, and the names \
                     --token-suffix {s:?} gives them are taken too; choose another suffix"
                ),
            });
        }
        if let (after, true) = pending("devices") {
            let after = after
                .as_deref()
                .map(Uuid::parse_str)
                .transpose()
                .map_err(|e| corrupt(format!("copy_progress key: {e}")))?;
            let mut found = Vec::new();
            let mut from = after;
            loop {
                let ids = self
                    .ctx
                    .src
                    .page_ids("devices", "device_id", from, CHECK_CHUNK)?;
                let Some(last) = ids.last().copied() else {
                    break;
                };
                for r in self
                    .client
                    .query(
                        "SELECT device_id FROM devices WHERE device_id = ANY($1)",
                        &[&ids],
                    )
                    .await?
                {
                    found.push(r.get::<_, Uuid>(0));
                }
                from = Some(last);
            }
            if !found.is_empty() {
                problems.push(format!(
                    "{} of the office's laptops are known to the target already ({}): a laptop \
                     that synced with this office and with the target (or another office \
                     copied there). copy does not merge a laptop's two logs; give the laptop \
                     to one server only",
                    found.len(),
                    found
                        .iter()
                        .take(3)
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if let (after, true) = pending("persons") {
            let mut from = after_int(after.as_deref())?;
            let mut found: Vec<String> = Vec::new();
            loop {
                let page = self.ctx.src.page_niks(from, CHECK_CHUNK)?;
                let Some(last) = page.last().map(|p| p.0) else {
                    break;
                };
                let niks: Vec<&str> = page.iter().map(|p| p.1.as_str()).collect();
                for r in self
                    .client
                    .query("SELECT nik FROM persons WHERE nik = ANY($1)", &[&niks])
                    .await?
                {
                    found.push(r.get(0));
                }
                from = last;
            }
            if !found.is_empty() {
                let total = self.ctx.src.count("persons")?;
                found.sort();
                let shown: Vec<String> = found
                    .iter()
                    .take(5)
                    .map(|n| Nik::parse(n).map_or_else(|_| "(bad NIK)".to_string(), |n| n.masked()))
                    .collect();
                problems.push(format!(
                    "{} of the office's {total} persons are in the target already (NIK {}{}): \
                     the same people registered by another office or in the region. copy does \
                     not merge two offices' records of the same person, so nothing is copied. \
                     Copy this office into a database or schema of its own (?schema=NAME) \
                     instead",
                    found.len(),
                    shown.join(", "),
                    if found.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                ));
            }
        }
        if pending("baselines").1 {
            let theirs: HashMap<(String, i32), i64> = self
                .client
                .query("SELECT area, year, working_population FROM baselines", &[])
                .await?
                .iter()
                .map(|r| ((r.get(0), r.get(1)), r.get(2)))
                .collect();
            let differ: Vec<String> = self
                .ctx
                .src
                .baselines()?
                .into_iter()
                .filter_map(|(area, year, n)| match theirs.get(&(area.clone(), year)) {
                    Some(t) if *t != n => Some(format!("{area} {year}: office {n}, target {t}")),
                    _ => None,
                })
                .collect();
            if !differ.is_empty() {
                problems.push(format!(
                    "baselines differ ({}): make them agree with `sigap-server baseline set` \
                     on either side, then run the copy again",
                    differ.join("; ")
                ));
            }
        }
        if pending("targets").1 {
            let theirs: HashMap<(String, i32), (i32, Option<i64>)> = self
                .client
                .query("SELECT area, year, percent_bp, count FROM targets", &[])
                .await?
                .iter()
                .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
                .collect();
            let differ: Vec<String> = self
                .ctx
                .src
                .targets()?
                .into_iter()
                .filter_map(
                    |(area, year, bp, count)| match theirs.get(&(area.clone(), year)) {
                        Some(t) if *t != (bp, count) => Some(format!(
                            "{area} {year}: office {}, target {}",
                            target_text(bp, count),
                            target_text(t.0, t.1)
                        )),
                        _ => None,
                    },
                )
                .collect();
            if !differ.is_empty() {
                problems.push(format!(
                    "targets differ ({}): make them agree with `sigap-server target set` on \
                     either side, then run the copy again",
                    differ.join("; ")
                ));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let mut text = String::from("refusing to copy; nothing was copied by this run:");
        for p in problems {
            text.push_str("\n  - ");
            text.push_str(&p);
        }
        Err(usage(text))
    }
}

fn target_text(bp: i32, count: Option<i64>) -> String {
    let pct = format!("{}.{:02}%", bp / 100, bp % 100);
    match count {
        Some(c) => format!("{pct} ({c} people)"),
        None => pct,
    }
}
