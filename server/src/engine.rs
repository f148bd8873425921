//! The merge engine: what one change does to a person, as pure functions
//! over the shared types so that every storage backend applies the same
//! rules (docs/sync-api.md, "Push semantics", steps 4 to 6).

use std::collections::HashMap;

use sigap_shared::merge::{Field, Fields, PersonRecord};
use sigap_shared::wire::{Change, ChangeKind};
use sigap_shared::{AreaCode, Category, Hlc, Status};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Year given to coverage that has no start date: membership-roll rows
/// imported before the server kept the roll's as-of date (schema v6).
/// Lower than every real year, so such a person counts for every year.
pub const SINCE_ALWAYS: i32 = 0;

/// Where and from which year a person counts towards coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Counted {
    /// The person's address RT.
    pub rt: AreaCode,
    pub category: Category,
    /// The year coverage started ([`SINCE_ALWAYS`] when undated): the
    /// person counts for this year and every later one.
    pub since_year: i32,
}

/// Where a person counts towards coverage, or `None` when the person is
/// not covered (or has no address).
pub type CoverageKey = Option<Counted>;

/// Since when the membership roll lists a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollSince {
    /// Imported before the server kept roll dates: covered for every year.
    Always,
    /// The earliest `participants import --as-of` date that listed them.
    Date(Date),
}

/// The device id that stands for the membership roll in stamps.
pub const ROLL_DEVICE: Uuid = Uuid::nil();
/// The device id that stands for a supervisor's resolution in stamps.
pub const SERVER_DEVICE: Uuid = Uuid::max();

/// Where and since when a person counts towards coverage ("Covered means
/// covered", DESIGN.md "Coverage").
///
/// A person is covered while in the membership roll (`roll`: `None` when
/// not a participant) or live in the field: a merged record that is a
/// complete registration (`Fields::to_registration` succeeds; a partial
/// record, such as an edit that arrived before its registration, is not
/// a registration) and not void. Voiding the field registration of a roll
/// participant leaves them counted: the void corrects the field record,
/// not the roll.
///
/// The start is the earliest of the roll's as-of date and the field
/// registration's date (`registered_at`, the earliest registering
/// change's clock, in UTC like every date the server derives from a
/// clock). Only the start depends on time: the address and category are
/// the merged record's current ones, and a void removes the field
/// registration from every year, because a void corrects a registration
/// made in error and the address is where the person lives. A coverage
/// figure for a past year therefore counts who had started by then, at
/// today's address; it is not a snapshot of the past.
pub fn coverage_key(
    record: &PersonRecord,
    roll: Option<RollSince>,
    registered_at: Option<i64>,
) -> CoverageKey {
    let fields = &record.fields;
    let rt = fields.address_area()?;
    let category = fields.category?;
    let roll_year = roll.map(|r| match r {
        RollSince::Always => SINCE_ALWAYS,
        RollSince::Date(d) => d.year(),
    });
    let field_year =
        if fields.status != Some(Status::Void) && fields.to_registration(&record.nik).is_ok() {
            field_start_millis(record, registered_at).and_then(year_of_millis)
        } else {
            None
        };
    let since_year = match (roll_year, field_year) {
        (Some(a), Some(b)) => a.min(b),
        (Some(y), None) | (None, Some(y)) => y,
        (None, None) => return None,
    };
    Some(Counted {
        rt,
        category,
        since_year,
    })
}

/// When a live field registration started: its `registered_at`, or, for a
/// complete record that no registering change built (possible once edits
/// may arrive before their registration), the earliest clock among its
/// field writes. The roll's stamps (millis 0) are left out: they are not
/// dates.
fn field_start_millis(record: &PersonRecord, registered_at: Option<i64>) -> Option<i64> {
    registered_at.or_else(|| {
        record
            .stamps
            .0
            .values()
            .filter(|s| s.device != ROLL_DEVICE)
            .map(|s| i64::try_from(s.millis).unwrap_or(i64::MAX))
            .min()
    })
}

/// The year (UTC) of a Unix time in milliseconds.
pub fn year_of_millis(millis: i64) -> Option<i32> {
    let nanos = i128::from(millis) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .map(|t| t.year())
}

/// Adds to `deltas` the counter changes for a person moving from key `old`
/// to key `new`: every level from the RT up to the province, in the
/// bucket of the year coverage started.
pub fn add_deltas(
    deltas: &mut HashMap<(AreaCode, Category, i32), i64>,
    old: &CoverageKey,
    new: &CoverageKey,
) {
    if old == new {
        return;
    }
    for (key, d) in [(old, -1), (new, 1)] {
        if let Some(k) = key {
            for a in k.rt.self_and_ancestors() {
                *deltas.entry((a, k.category, k.since_year)).or_default() += d;
            }
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
        let at = |rt: &str| {
            Some(Counted {
                rt: AreaCode::parse(rt).unwrap(),
                category: Category::Bpu,
                since_year: 2025,
            })
        };
        add_deltas(
            &mut deltas,
            &at("33.72.01.1001/3/5"),
            &at("33.72.01.1002/1/1"),
        );
        let d = |a: &str| deltas[&(AreaCode::parse(a).unwrap(), Category::Bpu, 2025)];
        assert_eq!(d("33.72.01"), 0);
        assert_eq!(d("33.72.01.1001"), -1);
        assert_eq!(d("33.72.01.1002/1"), 1);
    }

    fn year_start(year: i32) -> i64 {
        let d = Date::from_calendar_date(year, time::Month::January, 1).unwrap();
        d.midnight().assume_utc().unix_timestamp() * 1000
    }

    /// The record a roll import writes: address and category only.
    fn roll_record() -> PersonRecord {
        let fields = Fields {
            kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(3),
            rt: Some(5),
            category: Some(Category::Pu),
            ..Default::default()
        };
        let hlc = Hlc {
            millis: 0,
            counter: 1,
            device: ROLL_DEVICE,
        };
        PersonRecord::from_write(Nik::parse("3372011203850001").unwrap(), &fields, hlc)
    }

    #[test]
    fn a_roll_participant_stays_covered_when_the_field_registration_is_voided() {
        let mut record = roll_record();
        let c = change(1, NOW, "Budi");
        record.apply(&c.fields, c.hlc);
        let roll = Some(RollSince::Date(time::macros::date!(2024 - 06 - 30)));
        let registered = Some(i64::try_from(NOW).unwrap());
        let live = coverage_key(&record, roll, registered).unwrap();
        // The field write wins the address fields' values it shares with
        // the roll; the start is the roll's earlier date.
        assert_eq!(live.since_year, 2024);
        assert_eq!(live.category, Category::Bpu);
        let void = Fields {
            status: Some(Status::Void),
            ..Default::default()
        };
        record.apply(
            &void,
            Hlc {
                millis: NOW + 5,
                counter: 0,
                device: Uuid::from_u128(1),
            },
        );
        assert_eq!(coverage_key(&record, roll, registered), Some(live));
        // Not in the roll: the void uncovers the person.
        assert_eq!(coverage_key(&record, None, registered), None);
        // In the roll, the field registration no longer dates the start.
        let later_roll = Some(RollSince::Date(time::macros::date!(2026 - 01 - 05)));
        assert_eq!(
            coverage_key(&record, later_roll, registered).map(|k| k.since_year),
            Some(2026)
        );
    }

    #[test]
    fn coverage_starts_at_the_earliest_of_roll_and_field() {
        let mut record = roll_record();
        let c = change(1, NOW, "Budi");
        record.apply(&c.fields, c.hlc);
        let in_2024 = Some(year_start(2024) + 1);
        let since = |roll, at| coverage_key(&record, roll, at).map(|k| k.since_year);
        assert_eq!(since(None, in_2024), Some(2024));
        let roll_2026 = Some(RollSince::Date(time::macros::date!(2026 - 01 - 05)));
        assert_eq!(since(roll_2026, in_2024), Some(2024));
        assert_eq!(since(Some(RollSince::Always), in_2024), Some(SINCE_ALWAYS));
        // 31 December 23:59:59.999 UTC is still that year.
        assert_eq!(since(None, Some(year_start(2025) - 1)), Some(2024));
        assert_eq!(since(None, Some(year_start(2025))), Some(2025));
        // No registering change on record: the earliest field write dates it.
        assert_eq!(since(None, None), Some(2025));
    }

    #[test]
    fn a_partial_field_record_does_not_count() {
        // An edit that arrived before its registration: no name, no
        // birth date, but an address and a category.
        let mut c = change(1, NOW, "Budi");
        c.fields.name = None;
        c.fields.birth_date = None;
        let record = PersonRecord::from_write(c.nik.clone(), &c.fields, c.hlc);
        let at = Some(i64::try_from(NOW).unwrap());
        assert_eq!(coverage_key(&record, None, at), None);
        // The same partial record of a roll participant counts by the roll.
        let roll = Some(RollSince::Date(time::macros::date!(2026 - 01 - 05)));
        assert_eq!(
            coverage_key(&record, roll, at).map(|k| k.since_year),
            Some(2026)
        );
        // A roll-only record is not a field registration either.
        assert_eq!(coverage_key(&roll_record(), None, None), None);
    }
}
