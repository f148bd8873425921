//! The office's tokens in the target: which it has already, which are
//! new and under what name (`--token-suffix`), and the renames applied to
//! every token name the office's rows carry.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::progress::{advance, mark_done};
use super::{Copier, corrupt, now_millis};
use crate::commands::CommandError;

pub(super) struct TokenRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) role: String,
    pub(super) areas: String,
    pub(super) hash: String,
    pub(super) created_at: i64,
    pub(super) revoked_at: Option<i64>,
    pub(super) expires_at: Option<i64>,
}

/// Token names of the office that the target knows by another name
/// (`--token-suffix`), applied to every name the office's rows carry.
#[derive(Debug, Default)]
pub(super) struct Names {
    renamed: HashMap<String, String>,
}

impl Names {
    /// A token name, or an author such as `supervisor NAME`.
    pub(super) fn name(&self, text: &str) -> String {
        if let Some(new) = self.renamed.get(text) {
            return new.clone();
        }
        if let Some(rest) = text.strip_prefix("supervisor ")
            && let Some(new) = self.renamed.get(rest)
        {
            return format!("supervisor {new}");
        }
        text.to_string()
    }

    pub(super) fn opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.name(&t))
    }

    /// JSON whose `agent` members name tokens (claims, conflict sides);
    /// the same text when nothing is renamed.
    pub(super) fn json(&self, text: &str) -> Result<String, CommandError> {
        if self.renamed.is_empty() {
            return Ok(text.to_string());
        }
        let mut v: Value = serde_json::from_str(text)
            .map_err(|e| corrupt(format!("JSON in the office database: {e}")))?;
        if !self.rename_in(&mut v) {
            return Ok(text.to_string());
        }
        serde_json::to_string(&v).map_err(corrupt)
    }

    pub(super) fn opt_json(&self, text: Option<String>) -> Result<Option<String>, CommandError> {
        text.map(|t| self.json(&t)).transpose()
    }

    fn rename_in(&self, v: &mut Value) -> bool {
        let mut changed = false;
        match v {
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    if k == "agent"
                        && let Value::String(s) = item
                    {
                        let new = self.name(s);
                        if new != *s {
                            *s = new;
                            changed = true;
                        }
                    } else {
                        changed |= self.rename_in(item);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    changed |= self.rename_in(item);
                }
            }
            _ => {}
        }
        changed
    }
}

/// The office's token ids → the target's.
#[derive(Debug, Default)]
pub(super) struct TokenMap {
    pub(super) ids: HashMap<i64, i64>,
}

/// What running a token step would do.
#[derive(Debug, Default)]
pub(super) struct TokenPlan {
    /// Office token id → target token id, for tokens the target has.
    known: Vec<(i64, i64, String)>,
    /// Office tokens to insert, under the name they get.
    new: Vec<(usize, String)>,
    /// Names taken in the target by other tokens.
    pub(super) taken: Vec<String>,
}

impl Copier {
    /// Which office tokens the target has (by their hash, the token
    /// itself), which are new and under what name, and which names
    /// collide.
    pub(super) async fn plan_tokens(
        &self,
        suffix: Option<&str>,
    ) -> Result<TokenPlan, CommandError> {
        let ours = self.ctx.src.tokens()?;
        let mut by_hash: HashMap<String, (i64, String)> = HashMap::new();
        let mut names: HashSet<String> = HashSet::new();
        for r in self
            .client
            .query("SELECT id, name, hash FROM tokens", &[])
            .await?
        {
            let name: String = r.get(1);
            names.insert(name.clone());
            by_hash.insert(r.get(2), (r.get(0), name));
        }
        let mut plan = TokenPlan::default();
        // Names the office keeps, then the renamed ones must avoid them too.
        let mut used: HashSet<String> = names.clone();
        for t in &ours {
            if !by_hash.contains_key(&t.hash) && !names.contains(&t.name) {
                used.insert(t.name.clone());
            }
        }
        for (i, t) in ours.iter().enumerate() {
            if let Some((id, name)) = by_hash.get(&t.hash) {
                plan.known.push((t.id, *id, name.clone()));
            } else if !names.contains(&t.name) {
                plan.new.push((i, t.name.clone()));
            } else if let Some(s) = suffix
                && !used.contains(&format!("{}{s}", t.name))
            {
                let new = format!("{}{s}", t.name);
                used.insert(new.clone());
                plan.new.push((i, new));
            } else {
                plan.taken.push(t.name.clone());
            }
        }
        Ok(plan)
    }

    /// The token maps from the target's tokens (for a copy whose tokens
    /// step is done).
    pub(super) async fn plan_and_map_tokens(
        &mut self,
        suffix: Option<&str>,
        done: bool,
    ) -> Result<TokenPlan, CommandError> {
        let plan = self.plan_tokens(suffix).await?;
        let ours = self.ctx.src.tokens()?;
        let by_id: HashMap<i64, &TokenRow> = ours.iter().map(|t| (t.id, t)).collect();
        if done && !plan.new.is_empty() {
            return Err(corrupt(format!(
                "{} of the office's tokens were copied but are gone from the target (deleted \
                 by hand?)",
                plan.new.len()
            )));
        }
        for (office, target, name) in &plan.known {
            self.ctx.tokens.ids.insert(*office, *target);
            if let Some(t) = by_id.get(office)
                && t.name != *name
            {
                self.ctx.names.renamed.insert(t.name.clone(), name.clone());
            }
        }
        Ok(plan)
    }

    pub(super) async fn tokens(&mut self, suffix: Option<&str>) -> Result<(), CommandError> {
        let progress = self.progress().await?;
        let done = progress.get("tokens").is_some_and(|p| p.1);
        let plan = self.plan_and_map_tokens(suffix, done).await?;
        if done {
            self.note_renames();
            return Ok(());
        }
        let ours = self.ctx.src.tokens()?;
        let now = now_millis();
        let mut revoked = Vec::new();
        let mut renamed = Vec::new();
        let tx = self.client.transaction().await?;
        for (i, name) in &plan.new {
            let Some(t) = ours.get(*i) else {
                continue;
            };
            // An office's admin would be an admin of every area here.
            let revoked_at = match (t.role.as_str(), t.revoked_at) {
                ("admin", None) => {
                    revoked.push(name.clone());
                    Some(now)
                }
                (_, r) => r,
            };
            let id: i64 = tx
                .query_one(
                    "INSERT INTO tokens (name, role, areas, hash, created_at, revoked_at,
                                         expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        name,
                        &t.role,
                        &t.areas,
                        &t.hash,
                        &t.created_at,
                        &revoked_at,
                        &t.expires_at,
                    ],
                )
                .await?
                .get(0);
            self.ctx.tokens.ids.insert(t.id, id);
            if *name != t.name {
                renamed.push(format!("{} → {name}", t.name));
                self.ctx.names.renamed.insert(t.name.clone(), name.clone());
            }
        }
        advance(&tx, &self.ctx.src.id, "tokens", "", plan.new.len()).await?;
        mark_done(&tx, &self.ctx.src.id, "tokens").await?;
        tx.commit().await?;
        self.ctx.batch_done()?;
        if !renamed.is_empty() {
            self.notes.push(format!(
                "tokens renamed (--token-suffix), also in the office's history: {}",
                renamed.join(", ")
            ));
        }
        if !revoked.is_empty() {
            self.notes.push(format!(
                "admin tokens copied revoked (an office's admin would be an admin of every \
                 area here; make regional admins with `token create --role admin`): {}",
                revoked.join(", ")
            ));
        }
        Ok(())
    }

    /// Says which tokens a copy begun earlier renamed.
    pub(super) fn note_renames(&mut self) {
        let mut renamed: Vec<String> = self
            .ctx
            .names
            .renamed
            .iter()
            .map(|(a, b)| format!("{a} → {b}"))
            .collect();
        renamed.sort();
        if !renamed.is_empty() {
            self.notes.push(format!(
                "tokens renamed (--token-suffix), also in the office's history: {}",
                renamed.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn renamed_tokens_are_renamed_wherever_a_name_is_written() {
        let mut names = Names::default();
        names.renamed.insert("budi".into(), "budi-solo".into());
        assert_eq!(names.name("budi"), "budi-solo");
        assert_eq!(names.name("supervisor budi"), "supervisor budi-solo");
        assert_eq!(names.name("membership roll"), "membership roll");
        assert_eq!(names.name("budiman"), "budiman");
        let json =
            r#"{"a":{"agent":"budi","name":{"value":"budi","hlc":"x"}},"b":{"agent":"ani"}}"#;
        let out: Value = serde_json::from_str(&names.json(json).unwrap()).unwrap();
        assert_eq!(out["a"]["agent"], "budi-solo");
        assert_eq!(out["a"]["name"]["value"], "budi");
        assert_eq!(out["b"]["agent"], "ani");
        // Untouched text stays byte for byte.
        let other = r#"{"b": {"agent": "ani"}}"#;
        assert_eq!(names.json(other).unwrap(), other);
    }
}
