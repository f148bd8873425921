//! The merge engine: what one change does to a person, as pure functions
//! over the shared types so that every storage backend applies the same
//! rules (docs/sync-api.md, "Push semantics", steps 4 to 6).

use std::collections::HashMap;

use sigap_shared::merge::{Field, Fields, PersonRecord};
use sigap_shared::wire::{Change, ChangeKind};
use sigap_shared::{AreaCode, Category, Hlc};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The RT and category under which a person is counted as covered, or
/// `None` when the person does not count (void, or no address).
pub type CoverageKey = Option<(AreaCode, Category)>;

/// The device id that stands for the membership roll in stamps.
pub const ROLL_DEVICE: Uuid = Uuid::nil();
/// The device id that stands for a supervisor's resolution in stamps.
pub const SERVER_DEVICE: Uuid = Uuid::max();

/// Where a person counts towards coverage.
pub fn coverage_key(fields: &Fields) -> CoverageKey {
    if !fields.is_live() {
        return None;
    }
    Some((fields.address_area()?, fields.category?))
}

/// Adds to `deltas` the counter changes for a person moving from key `old`
/// to key `new`: every level from the RT up to the province.
pub fn add_deltas(
    deltas: &mut HashMap<(AreaCode, Category), i64>,
    old: &CoverageKey,
    new: &CoverageKey,
) {
    if old == new {
        return;
    }
    if let Some((rt, cat)) = old {
        for a in rt.self_and_ancestors() {
            *deltas.entry((a, *cat)).or_default() -= 1;
        }
    }
    if let Some((rt, cat)) = new {
        for a in rt.self_and_ancestors() {
            *deltas.entry((a, *cat)).or_default() += 1;
        }
    }
}

/// The date (UTC) of a timestamp, used as "today" when validating the
/// change it stamps.
pub fn hlc_date(hlc: &Hlc) -> Date {
    let nanos = i128::from(hlc.millis) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map(|t| t.date())
        .unwrap_or_else(|_| sigap_shared::today())
}

/// Names a stamp's source for people: `roll`, `server` or the device id.
pub fn source_name(device: &Uuid) -> String {
    if *device == ROLL_DEVICE {
        "roll".to_string()
    } else if *device == SERVER_DEVICE {
        "server".to_string()
    } else {
        device.to_string()
    }
}

/// An identity disagreement found while merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConflict {
    pub fields: Vec<Field>,
    /// The values the other source wrote, for the fields in conflict.
    pub existing: Fields,
    /// Device that wrote the existing values (of the first field).
    pub existing_device: Uuid,
    /// The values this change writes.
    pub incoming: Fields,
}

/// What to do with one change.
#[allow(clippy::large_enum_variant)] // built once per change, never stored
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Rejected {
        code: String,
        reason: String,
    },
    Accepted {
        record: PersonRecord,
        /// The person existed from another source (device or roll).
        merged: bool,
        /// The fields whose value or stamp changed.
        changed: Vec<Field>,
        conflict: Option<IdentityConflict>,
    },
}

fn reject(code: &str, reason: impl Into<String>) -> Decision {
    Decision::Rejected {
        code: code.to_string(),
        reason: reason.into(),
    }
}

/// Decides one change against the person's current record (`None` when
/// the server has never seen the NIK). `areas` are the areas the pushing
/// token may write to (`None`: everywhere); `participant` says whether the
/// person is in the membership roll.
pub fn decide(
    existing: Option<&PersonRecord>,
    participant: bool,
    change: &Change,
    areas: Option<&[AreaCode]>,
) -> Decision {
    let kelurahan = change
        .fields
        .kelurahan
        .or_else(|| existing.and_then(|r| r.fields.kelurahan));
    if let (Some(kel), Some(areas)) = (kelurahan, areas)
        && !areas.iter().any(|a| a.contains(&kel))
    {
        let list: Vec<String> = areas.iter().map(|a| a.to_string()).collect();
        return reject(
            "area_not_assigned",
            format!(
                "kelurahan {} is not in this agent's areas ({}); ask an admin to assign it or register the person in an assigned area",
                sigap_shared::wilayah::area_label(&kel),
                list.join(", ")
            ),
        );
    }
    let mut record = existing
        .cloned()
        .unwrap_or_else(|| PersonRecord::new(change.nik.clone()));
    let changed = record.apply(&change.fields, change.hlc);
    let registration = match record.fields.to_registration(&change.nik) {
        Ok(r) => r,
        Err(_) if existing.is_none() => {
            let what = match change.kind {
                ChangeKind::Register => "an incomplete registration",
                ChangeKind::Edit => "an edit",
                ChangeKind::Void => "a void",
            };
            return reject(
                "unknown_person",
                format!(
                    "the server has no person with NIK {}, so {what} cannot apply; send the full registration first",
                    change.nik.masked()
                ),
            );
        }
        Err(missing) => {
            let names: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
            return reject(
                "incomplete_registration",
                format!(
                    "NIK {} is known only from the membership roll; send a full registration (missing: {})",
                    change.nik.masked(),
                    names.join(", ")
                ),
            );
        }
    };
    let validation = registration.validate(hlc_date(&change.hlc));
    if let Some(first) = validation.errors.first() {
        return reject(&first.code, first.message.clone());
    }
    let device = change.hlc.device;
    let (merged, conflict) = match existing {
        None => (false, None),
        Some(old) => {
            let other_source = participant || old.stamps.0.values().any(|s| s.device != device);
            let fields: Vec<Field> = change
                .fields
                .identity_disagreements(&old.fields)
                .into_iter()
                .filter(|f| old.stamps.0.get(f).is_some_and(|s| s.device != device))
                .collect();
            let conflict = fields.first().map(|first| {
                let mut ex = Fields::default();
                let mut inc = Fields::default();
                for f in &fields {
                    match f {
                        Field::Name => {
                            ex.name = old.fields.name.clone();
                            inc.name = change.fields.name.clone();
                        }
                        Field::BirthDate => {
                            ex.birth_date = old.fields.birth_date;
                            inc.birth_date = change.fields.birth_date;
                        }
                        Field::Sex => {
                            ex.sex = old.fields.sex;
                            inc.sex = change.fields.sex;
                        }
                        _ => {}
                    }
                }
                IdentityConflict {
                    existing_device: old
                        .stamps
                        .0
                        .get(first)
                        .map(|s| s.device)
                        .unwrap_or_default(),
                    fields: fields.clone(),
                    existing: ex,
                    incoming: inc,
                }
            });
            (other_source, conflict)
        }
    };
    Decision::Accepted {
        record,
        merged,
        changed,
        conflict,
    }
}

/// A timestamp for a server-side write to `record` that is later than
/// every stamp in it.
pub fn server_hlc(record: &PersonRecord, now_millis: u64) -> Hlc {
    match record.last_write() {
        Some(last) if last.millis >= now_millis => Hlc {
            millis: last.millis,
            counter: last.counter.saturating_add(1),
            device: SERVER_DEVICE,
        },
        _ => Hlc {
            millis: now_millis,
            counter: 0,
            device: SERVER_DEVICE,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigap_shared::registration::{Sex, parse_programs};
    use sigap_shared::{Nik, Status};

    fn change(device: u128, millis: u64, name: &str) -> Change {
        let device = Uuid::from_u128(device);
        Change {
            id: Uuid::now_v7(),
            device_id: device,
            device_seq: 1,
            nik: Nik::parse("3372011203850001").unwrap(),
            hlc: Hlc {
                millis,
                counter: 0,
                device,
            },
            kind: ChangeKind::Register,
            fields: Fields {
                name: Some(name.into()),
                birth_date: Some(time::macros::date!(1985 - 03 - 12)),
                sex: Some(Sex::L),
                kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
                rw: Some(3),
                rt: Some(5),
                category: Some(Category::Bpu),
                occupation: Some("pedagang".into()),
                programs: Some(parse_programs("jkk,jkm").unwrap()),
                status: Some(Status::Registered),
                ..Default::default()
            },
        }
    }

    const NOW: u64 = 1_764_000_000_000;

    #[test]
    fn a_second_device_with_another_name_opens_a_conflict() {
        let Decision::Accepted { record, merged, .. } =
            decide(None, false, &change(1, NOW, "Budi"), None)
        else {
            panic!("rejected")
        };
        assert!(!merged);
        let d = decide(
            Some(&record),
            false,
            &change(2, NOW + 1, "Budi Santoso"),
            None,
        );
        let Decision::Accepted {
            merged, conflict, ..
        } = d
        else {
            panic!("rejected")
        };
        assert!(merged);
        let c = conflict.unwrap();
        assert_eq!(c.fields, [Field::Name]);
        assert_eq!(c.existing.name.as_deref(), Some("Budi"));
        // The same device correcting its own spelling is no conflict.
        let d = decide(
            Some(&record),
            false,
            &change(1, NOW + 1, "Budi Santoso"),
            None,
        );
        assert!(matches!(
            d,
            Decision::Accepted {
                conflict: None,
                merged: false,
                ..
            }
        ));
    }

    #[test]
    fn outside_the_tokens_areas_is_refused() {
        let areas = [AreaCode::parse("33.72.02").unwrap()];
        let d = decide(None, false, &change(1, NOW, "Budi"), Some(&areas));
        assert!(matches!(d, Decision::Rejected { ref code, .. } if code == "area_not_assigned"));
    }

    #[test]
    fn an_edit_of_an_unknown_person_is_refused() {
        let mut c = change(1, NOW, "Budi");
        c.kind = ChangeKind::Edit;
        c.fields = Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        };
        let d = decide(None, false, &c, None);
        assert!(matches!(d, Decision::Rejected { ref code, .. } if code == "unknown_person"));
    }

    #[test]
    fn moving_a_person_moves_every_counter_level() {
        let mut deltas = HashMap::new();
        let a = Some((AreaCode::parse("33.72.01.1001/3/5").unwrap(), Category::Bpu));
        let b = Some((AreaCode::parse("33.72.01.1002/1/1").unwrap(), Category::Bpu));
        add_deltas(&mut deltas, &a, &b);
        assert_eq!(
            deltas[&(AreaCode::parse("33.72.01").unwrap(), Category::Bpu)],
            0
        );
        assert_eq!(
            deltas[&(AreaCode::parse("33.72.01.1001").unwrap(), Category::Bpu)],
            -1
        );
        assert_eq!(
            deltas[&(AreaCode::parse("33.72.01.1002/1").unwrap(), Category::Bpu)],
            1
        );
    }
}
