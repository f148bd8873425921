//! Identity claims: what each source (a device, or a supervisor's
//! resolution) last said a person is. Conflicts are worked out from them,
//! not from the order in which changes arrived, so every server that holds
//! the same changes lists the same open conflicts.
//!
//! A person written by one source only keeps no claims (the record itself
//! is that source's claim); they are made when a second source writes an
//! identity field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sigap_shared::merge::{Field, Fields, PersonRecord};
use sigap_shared::registration::normalize_name;
use sigap_shared::{Hlc, Sex};
use time::Date;
use uuid::Uuid;

use crate::engine::{ROLL_DEVICE, SERVER_DEVICE};

/// A value with the clock of the write that made it (sortable text form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub value: T,
    pub hlc: String,
}

/// One source's latest identity values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Stamped<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<Stamped<Date>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Stamped<Sex>>,
    /// The source's latest change that wrote an identity field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Uuid>,
    /// Who the source is, as people name it (token name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Clock of `change`.
    #[serde(default)]
    pub last: String,
}

fn keep_later<T: Clone>(slot: &mut Option<Stamped<T>>, value: &Option<T>, hlc: &str) {
    if let Some(v) = value
        && slot.as_ref().is_none_or(|s| s.hlc.as_str() < hlc)
    {
        *slot = Some(Stamped {
            value: v.clone(),
            hlc: hlc.to_string(),
        });
    }
}

impl Claim {
    fn hlc_of(&self, f: Field) -> Option<&str> {
        match f {
            Field::Name => self.name.as_ref().map(|s| s.hlc.as_str()),
            Field::BirthDate => self.birth_date.as_ref().map(|s| s.hlc.as_str()),
            Field::Sex => self.sex.as_ref().map(|s| s.hlc.as_str()),
            _ => None,
        }
    }

    /// The value compared for `f`: names after [`normalize_name`].
    fn key_of(&self, f: Field) -> Option<String> {
        match f {
            Field::Name => self.name.as_ref().map(|s| normalize_name(&s.value)),
            Field::BirthDate => self.birth_date.as_ref().map(|s| s.value.to_string()),
            Field::Sex => self.sex.as_ref().map(|s| s.value.to_string()),
            _ => None,
        }
    }

    /// The claim's values of `fields`.
    pub fn values(&self, fields: &[Field]) -> Fields {
        Fields {
            name: fields
                .contains(&Field::Name)
                .then(|| self.name.as_ref().map(|s| s.value.clone()))
                .flatten(),
            birth_date: fields
                .contains(&Field::BirthDate)
                .then(|| self.birth_date.as_ref().map(|s| s.value))
                .flatten(),
            sex: fields
                .contains(&Field::Sex)
                .then(|| self.sex.as_ref().map(|s| s.value))
                .flatten(),
            ..Fields::default()
        }
    }
}

/// Every source's claim, by source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims(pub BTreeMap<Uuid, Claim>);

/// Whether `fields` writes any identity field.
pub fn writes_identity(fields: &Fields) -> bool {
    fields.name.is_some() || fields.birth_date.is_some() || fields.sex.is_some()
}

/// The sources whose writes the record holds for identity fields.
pub fn identity_sources(record: &PersonRecord) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Field::IDENTITY
        .iter()
        .filter_map(|f| record.stamps.0.get(f).map(|s| s.device))
        .filter(|d| *d != ROLL_DEVICE)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// An identity conflict as the claims show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    pub fields: Vec<Field>,
    /// The earliest and the latest disagreeing claims.
    pub first: (Uuid, Claim),
    pub last: (Uuid, Claim),
}

impl Claims {
    /// The claims a record holds when the sources of its identity fields
    /// are known only through its stamps (before a second source wrote).
    /// `written_by` names the agent and change that wrote a stamp.
    pub fn from_record<E>(
        record: &PersonRecord,
        mut written_by: impl FnMut(&Hlc) -> Result<Option<(String, Uuid)>, E>,
    ) -> Result<Claims, E> {
        let mut out = Claims::default();
        for f in Field::IDENTITY {
            let Some(stamp) = record.stamps.0.get(&f) else {
                continue;
            };
            if stamp.device == ROLL_DEVICE {
                continue;
            }
            let only = |x: Field| (x == f).then_some(());
            let fields = Fields {
                name: only(Field::Name).and(record.fields.name.clone()),
                birth_date: only(Field::BirthDate).and(record.fields.birth_date),
                sex: only(Field::Sex).and(record.fields.sex),
                ..Fields::default()
            };
            let (agent, change) =
                written_by(stamp)?.map_or((None, None), |(a, c)| (Some(a), Some(c)));
            out.add(stamp.device, &fields, stamp, change, agent.as_deref());
        }
        Ok(out)
    }

    /// Takes `source`'s write of `fields` at `hlc` into account; the later
    /// write of each field wins, whatever the order they come in.
    pub fn add(
        &mut self,
        source: Uuid,
        fields: &Fields,
        hlc: &Hlc,
        change: Option<Uuid>,
        agent: Option<&str>,
    ) {
        let text = hlc.to_sortable();
        let claim = self.0.entry(source).or_default();
        keep_later(&mut claim.name, &fields.name, &text);
        keep_later(&mut claim.birth_date, &fields.birth_date, &text);
        keep_later(&mut claim.sex, &fields.sex, &text);
        if writes_identity(fields) && claim.last < text {
            claim.last = text;
            claim.change = change.or(claim.change);
            if let Some(a) = agent {
                claim.agent = Some(a.to_string());
            }
        }
    }

    /// The identity fields on which sources disagree, past the latest
    /// resolution of each field (a supervisor's resolution settles the
    /// claims older than it), with the earliest and latest of the claims
    /// that disagree.
    pub fn open(&self) -> Option<Open> {
        let mut fields = Vec::new();
        let mut involved: Vec<&Uuid> = Vec::new();
        for f in Field::IDENTITY {
            let settled = self.0.get(&SERVER_DEVICE).and_then(|c| c.hlc_of(f));
            let live: Vec<(&Uuid, String)> = self
                .0
                .iter()
                .filter(|(src, _)| **src != SERVER_DEVICE)
                .filter(|(_, c)| c.hlc_of(f).is_some_and(|h| settled.is_none_or(|s| h > s)))
                .filter_map(|(src, c)| c.key_of(f).map(|k| (src, k)))
                .collect();
            let first = live.first().map(|(_, k)| k.clone());
            if live.iter().any(|(_, k)| Some(k) != first.as_ref()) {
                fields.push(f);
                involved.extend(live.iter().map(|(src, _)| *src));
            }
        }
        if fields.is_empty() {
            return None;
        }
        let by_last = |src: &&&Uuid| self.0.get(**src).map(|c| (c.last.clone(), ***src));
        let first = **involved.iter().min_by_key(by_last)?;
        let last = **involved.iter().max_by_key(by_last)?;
        Some(Open {
            fields,
            first: (first, self.0.get(&first)?.clone()),
            last: (last, self.0.get(&last)?.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hlc(millis: u64, device: u128) -> Hlc {
        Hlc {
            millis,
            counter: 0,
            device: Uuid::from_u128(device),
        }
    }

    fn named(n: &str) -> Fields {
        Fields {
            name: Some(n.into()),
            ..Fields::default()
        }
    }

    #[test]
    fn disagreement_opens_and_a_resolution_settles_what_came_before_it() {
        let writes = [
            (1u128, "Budi", 10u64),
            (2, "Budi Santoso", 20),
            (1, "budi  santoso", 30),
        ];
        // Every order of the same writes gives the same claims.
        let mut seen = None;
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [1, 2, 0]] {
            let mut c = Claims::default();
            for i in order {
                let (d, n, m) = writes[i];
                c.add(Uuid::from_u128(d), &named(n), &hlc(m, d), None, None);
            }
            assert!(seen.as_ref().is_none_or(|s| *s == c));
            seen = Some(c);
        }
        // Device 1 came round to device 2's spelling: nothing open.
        assert_eq!(seen.unwrap().open(), None);
        let mut c = Claims::default();
        c.add(Uuid::from_u128(1), &named("Budi"), &hlc(10, 1), None, None);
        c.add(Uuid::from_u128(2), &named("Joko"), &hlc(20, 2), None, None);
        let open = c.open().unwrap();
        assert_eq!(open.fields, [Field::Name]);
        assert_eq!(open.first.0, Uuid::from_u128(1));
        assert_eq!(open.last.0, Uuid::from_u128(2));
        c.add(
            SERVER_DEVICE,
            &named("Budi"),
            &hlc(25, u128::MAX),
            None,
            None,
        );
        assert_eq!(c.open(), None);
        // A claim later than the resolution reopens it.
        c.add(Uuid::from_u128(2), &named("Joko"), &hlc(30, 2), None, None);
        c.add(Uuid::from_u128(1), &named("Budi"), &hlc(31, 1), None, None);
        assert!(c.open().is_some());
    }
}
