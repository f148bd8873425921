//! The merge engine: what one change does to a person, as pure functions
//! over the shared types so that every storage backend applies the same
//! rules (docs/sync-api.md, "Push semantics", steps 6 to 8).
//!
//! Acceptance is decided by [`check`] on the change and its sender alone,
//! and by the area rule in [`decide`]; nothing here looks at which other
//! changes arrived before. Rules that need the whole merged record go to
//! the review list ([`review_json`]) instead of refusing a change, so
//! that every server holding the same changes holds the same state.

use std::collections::HashMap;

use sigap_shared::merge::{Field, PersonRecord};
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
/// complete registration (`Fields::is_complete`; a partial
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
    let field_year = if fields.status != Some(Status::Void) && fields.is_complete() {
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
pub fn field_start_millis(record: &PersonRecord, registered_at: Option<i64>) -> Option<i64> {
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

/// The largest clock stamp the stored text form holds (16 digits of
/// milliseconds, year 318857): anything above is refused, never cut.
pub const MAX_HLC_MILLIS: u64 = 9_999_999_999_999_999;

/// What to do with one change.
#[allow(clippy::large_enum_variant)] // built once per change, never stored
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refused for good. `held`: the change takes its place in the
    /// device's log (the agent corrects it with a later change); when not
    /// held, the number stays free for the same change to come again
    /// (re-stamped, say) and the device's later changes wait for it.
    Rejected {
        code: String,
        reason: String,
        held: bool,
    },
    Accepted {
        record: PersonRecord,
        /// The person existed from another source (device or roll).
        merged: bool,
        /// The fields whose value or stamp changed.
        changed: Vec<Field>,
        /// Fields this change wrote that the record keeps from a later
        /// write, with a value other than this change's.
        superseded: Vec<Field>,
    },
}

fn refuse(code: &str, reason: impl Into<String>) -> Decision {
    Decision::Rejected {
        code: code.to_string(),
        reason: reason.into(),
        held: true,
    }
}

fn refuse_unheld(code: &str, reason: impl Into<String>) -> Decision {
    Decision::Rejected {
        code: code.to_string(),
        reason: reason.into(),
        held: false,
    }
}

/// Who sends a change, and the server's clock: everything besides the
/// change that may decide whether it is accepted.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    /// Areas the token may write to (`None`: everywhere).
    pub areas: Option<&'a [AreaCode]>,
    /// The server's clock (Unix milliseconds) when the push arrived.
    pub now_millis: u64,
    /// How far ahead of `now_millis` a change's clock may be.
    pub max_skew_millis: u64,
}

/// The checks on a change that need nothing but the change and its
/// sender: its clock and what its fields carry. Never depends on what the
/// server holds, so no arrival order can change the verdict.
pub fn check(change: &Change, sender: &Sender<'_>) -> Option<Decision> {
    let hlc = &change.hlc;
    if hlc.millis > MAX_HLC_MILLIS {
        return Some(refuse_unheld(
            "invalid_timestamp",
            format!(
                "the change's clock stamp ({} ms) is beyond what the server can store; the device's clock or database is damaged: contact support",
                hlc.millis
            ),
        ));
    }
    let limit = sender.now_millis.saturating_add(sender.max_skew_millis);
    if hlc.millis > limit {
        let ahead_min = (hlc.millis - sender.now_millis) / 60_000;
        return Some(refuse_unheld(
            "clock_ahead",
            format!(
                "the change is stamped {} ({} ahead of the server's clock, more than the {} allowed): set the laptop's date and time correctly, then run `sigap sync` again; the change is kept on the laptop and re-stamped",
                crate::time_text::format_time(i64::try_from(hlc.millis).unwrap_or(i64::MAX)),
                format_minutes(ahead_min),
                format_minutes(sender.max_skew_millis / 60_000)
            ),
        ));
    }
    if hlc.device != change.device_id {
        return Some(refuse(
            "device_mismatch",
            format!(
                "change {} is stamped by device {} but comes from device {}; a device may only stamp its own changes",
                change.id, hlc.device, change.device_id
            ),
        ));
    }
    let today = hlc_date(hlc);
    if change.kind == ChangeKind::Register {
        let reg = match change.fields.to_registration(&change.nik) {
            Ok(r) => r,
            Err(missing) => {
                let names: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
                return Some(refuse(
                    "incomplete_registration",
                    format!(
                        "a registration must carry every required field (missing: {}); send the full registration",
                        names.join(", ")
                    ),
                ));
            }
        };
        if let Some(first) = reg.validate(today).errors.into_iter().next() {
            return Some(refuse(&first.code, first.message));
        }
    } else if let Some(first) = change
        .fields
        .carried_errors(&change.nik, today)
        .into_iter()
        .next()
    {
        return Some(refuse(&first.code, first.message));
    }
    None
}

fn format_minutes(minutes: u64) -> String {
    if minutes >= 120 {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}

/// Whether `area` lies inside `areas` (`None`: everywhere).
fn allowed(areas: Option<&[AreaCode]>, area: &AreaCode) -> bool {
    areas.is_none_or(|list| list.iter().any(|a| a.contains(area)))
}

/// Decides one change, which [`check`] has passed, against the person's
/// current record (`None` when the server has never seen the NIK):
/// the area rule, then the merge. `participant` says whether the person
/// is in the membership roll.
pub fn decide(
    existing: Option<&PersonRecord>,
    participant: bool,
    change: &Change,
    areas: Option<&[AreaCode]>,
) -> Decision {
    let current = existing.and_then(|r| r.fields.kelurahan);
    let outside = [change.fields.kelurahan, current]
        .into_iter()
        .flatten()
        .find(|k| !allowed(areas, k));
    if let (Some(kel), Some(list)) = (outside, areas) {
        let list: Vec<String> = list.iter().map(|a| a.to_string()).collect();
        let what = match (change.fields.kelurahan, current) {
            (Some(new), Some(old)) if new != old && Some(kel) == current => format!(
                "the person lives in kelurahan {} on the server, outside this agent's areas ({}); moving a person between areas is a supervisor's act: ask a supervisor of both areas",
                sigap_shared::wilayah::area_label(&old),
                list.join(", ")
            ),
            _ if Some(kel) == current && change.fields.kelurahan.is_none() => format!(
                "the person lives in kelurahan {} on the server, outside this agent's areas ({}); ask a supervisor of that area",
                sigap_shared::wilayah::area_label(&kel),
                list.join(", ")
            ),
            _ => format!(
                "kelurahan {} is not in this agent's areas ({}); ask an admin to assign it or register the person in an assigned area",
                sigap_shared::wilayah::area_label(&kel),
                list.join(", ")
            ),
        };
        return refuse("area_not_assigned", what);
    }
    let mut record = existing
        .cloned()
        .unwrap_or_else(|| PersonRecord::new(change.nik.clone()));
    let changed = record.apply(&change.fields, change.hlc);
    let written = change.fields.written();
    let superseded = change.fields.differing(&record.fields, &written);
    let device = change.hlc.device;
    let merged = existing
        .is_some_and(|old| participant || old.stamps.0.values().any(|s| s.device != device));
    Decision::Accepted {
        record,
        merged,
        changed,
        superseded,
    }
}

/// The review list of a merged record, as stored (`None`: nothing to
/// review). A person known only from the membership roll has nothing to
/// review: the roll carries no registration.
pub fn review_json(record: &PersonRecord) -> Option<String> {
    if record.stamps.0.values().all(|s| s.device == ROLL_DEVICE) {
        return None;
    }
    let today = record
        .last_write()
        .map_or_else(sigap_shared::today, |h| hlc_date(&h));
    let issues = record.review(today);
    if issues.is_empty() {
        return None;
    }
    serde_json::to_string(&issues).ok()
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
    use sigap_shared::merge::Fields;
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
    fn a_second_device_merges_into_the_person() {
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
        assert!(matches!(d, Decision::Accepted { merged: true, .. }));
        // The same device correcting its own spelling is not a merge.
        let d = decide(
            Some(&record),
            false,
            &change(1, NOW + 1, "Budi Santoso"),
            None,
        );
        assert!(matches!(d, Decision::Accepted { merged: false, .. }));
    }

    #[test]
    fn outside_the_tokens_areas_is_refused() {
        let areas = [AreaCode::parse("33.72.02").unwrap()];
        let d = decide(None, false, &change(1, NOW, "Budi"), Some(&areas));
        assert!(matches!(d, Decision::Rejected { ref code, .. } if code == "area_not_assigned"));
    }

    #[test]
    fn an_edit_of_an_unknown_person_is_a_partial_record_to_review() {
        let mut c = change(1, NOW, "Budi");
        c.kind = ChangeKind::Edit;
        c.fields = Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        };
        let Decision::Accepted { record, .. } = decide(None, false, &c, None) else {
            panic!("rejected")
        };
        let review = review_json(&record).unwrap();
        assert!(review.contains("incomplete_registration"), "{review}");
        assert!(coverage_key(&record, None, None).is_none());
    }

    fn sender(areas: Option<&[AreaCode]>) -> Sender<'_> {
        Sender {
            areas,
            now_millis: NOW,
            max_skew_millis: 60_000,
        }
    }

    #[test]
    fn checks_need_only_the_change_and_its_sender() {
        assert_eq!(check(&change(1, NOW, "Budi"), &sender(None)), None);
        let ahead = change(1, NOW + 61_000, "Budi");
        assert!(matches!(
            check(&ahead, &sender(None)),
            Some(Decision::Rejected { ref code, held: false, .. }) if code == "clock_ahead"
        ));
        let mut far = change(1, MAX_HLC_MILLIS + 1, "Budi");
        far.hlc.millis = MAX_HLC_MILLIS + 1;
        assert!(matches!(
            check(&far, &sender(None)),
            Some(Decision::Rejected { ref code, held: false, .. }) if code == "invalid_timestamp"
        ));
        let mut posing = change(1, NOW, "Budi");
        posing.hlc.device = SERVER_DEVICE;
        assert!(matches!(
            check(&posing, &sender(None)),
            Some(Decision::Rejected { ref code, held: true, .. }) if code == "device_mismatch"
        ));
        // An edit is judged on what it carries: a bad phone is refused,
        // a category without the employer it needs is not (the merged
        // record is reviewed instead).
        let mut edit = change(1, NOW, "Budi");
        edit.kind = ChangeKind::Edit;
        edit.fields = Fields {
            phone: Some("call me".into()),
            ..Default::default()
        };
        assert!(matches!(
            check(&edit, &sender(None)),
            Some(Decision::Rejected { ref code, .. }) if code == "invalid_phone"
        ));
        edit.fields = Fields {
            category: Some(Category::Pu),
            ..Default::default()
        };
        assert_eq!(check(&edit, &sender(None)), None);
        edit.fields = Fields {
            status: Some(Status::Void),
            ..Default::default()
        };
        assert!(matches!(
            check(&edit, &sender(None)),
            Some(Decision::Rejected { ref code, .. }) if code == "missing_void_reason"
        ));
    }

    #[test]
    fn an_agent_may_not_move_a_person_out_of_another_area() {
        let Decision::Accepted { record, .. } = decide(None, false, &change(1, NOW, "Budi"), None)
        else {
            panic!("rejected")
        };
        let theirs = [AreaCode::parse("33.72.05").unwrap()];
        let mut grab = change(2, NOW + 1, "Budi");
        grab.kind = ChangeKind::Edit;
        grab.fields = Fields {
            kelurahan: Some(AreaCode::parse("33.72.05.1001").unwrap()),
            status: Some(Status::Void),
            void_reason: Some("moved".into()),
            ..Default::default()
        };
        let d = decide(Some(&record), false, &grab, Some(&theirs));
        assert!(matches!(d, Decision::Rejected { ref code, .. } if code == "area_not_assigned"));
        grab.fields.kelurahan = None;
        let d = decide(Some(&record), false, &grab, Some(&theirs));
        assert!(matches!(d, Decision::Rejected { ref code, .. } if code == "area_not_assigned"));
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
