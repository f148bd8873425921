//! The rules of the coverage history and of agents' activity that both
//! backends follow, without SQL: when a snapshot is due, which rows a day
//! holds, how a backfill counts the past, how changes, refusals and visits
//! add up to an agent's day. `sqlite/history.rs`, `sqlite/activity.rs` and
//! `postgres/history.rs` only read and write the rows.

use std::collections::{BTreeMap, BTreeSet, HashMap, btree_map};
use std::iter::Peekable;

use sigap_shared::coverage::Target;
use sigap_shared::{AreaCode, Category, Level, PersonRecord};
use time::{Date, Duration, OffsetDateTime};

use super::{
    Activity, AgentDay, ByCategory, DeviceSeen, HistoryRow, Role, StoreError, TokenInfo,
    category_index,
};
use crate::engine;
use crate::store::sqlite::counters::date_text;

/// How far back a backfill reaches, and the longest range a read returns.
pub const MAX_HISTORY_DAYS: i64 = 3 * 366;

/// A day in milliseconds.
const DAY_MILLIS: i64 = 86_400_000;

/// What this process last took: the day and the data generation then.
#[derive(Debug, Default)]
pub(in crate::store) struct Taken {
    day: Option<Date>,
    generation: u64,
}

/// Whether a snapshot take is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Due {
    /// Today is taken and the caller does not retake: nothing to read.
    No,
    /// Today is taken: retake when the data changed since (the
    /// generation differs, see [`Taken::changed`]).
    IfChanged,
    /// The day turned (or nothing was taken yet): take.
    Yes,
}

impl Taken {
    /// Whether `today` needs a take; `retake` asks for one when the data
    /// changed since today's.
    pub(in crate::store) fn due(&self, today: Date, retake: bool) -> Due {
        if self.day != Some(today) {
            Due::Yes
        } else if retake {
            Due::IfChanged
        } else {
            Due::No
        }
    }

    /// Whether the data changed since the last take.
    pub(in crate::store) fn changed(&self, generation: u64) -> bool {
        self.generation != generation
    }

    /// The earlier day to re-take before taking `today`: the last day
    /// taken, when the data changed since. Every write since that take
    /// came before today's first (writes roll the history first), so the
    /// figures now are that day's closing ones.
    pub(in crate::store) fn day_to_close(&self, today: Date, generation: u64) -> Option<Date> {
        self.day
            .filter(|d| *d < today)
            .filter(|_| self.changed(generation))
    }

    /// Records a take of `today` at `generation`.
    pub(in crate::store) fn set(&mut self, today: Date, generation: u64) {
        *self = Taken {
            day: Some(today),
            generation,
        };
    }
}

/// The UTC date of a Unix time in milliseconds.
pub fn day_of_millis(millis: i64) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// The UTC date of a day number (days since 1970-01-01, what
/// `received_at / 86400000` gives).
pub(in crate::store) fn day_of_number(days: i64) -> Date {
    day_of_millis(days.saturating_mul(DAY_MILLIS))
}

/// Unix milliseconds at the start (UTC) of `day`.
pub fn millis_of(day: Date) -> i64 {
    i64::try_from(day.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// The Unix milliseconds from the start of `from` to the end of `to`
/// (half open), the range a read of those days covers.
pub(in crate::store) fn millis_range(from: Date, to: Date) -> (i64, i64) {
    (millis_of(from), millis_of(to.next_day().unwrap_or(to)))
}

/// Whether snapshots keep `area`: RW and RT would multiply the rows by a
/// hundred for figures the coverage tree answers live.
pub fn kept(area: &AreaCode) -> bool {
    !matches!(area.level(), Level::Rw | Level::Rt)
}

/// Baselines and targets of every kept area and year.
#[derive(Debug, Default)]
pub(in crate::store) struct Plans {
    baselines: HashMap<(AreaCode, i32), u64>,
    targets: HashMap<(AreaCode, i32), Target>,
}

impl Plans {
    /// Adds a stored baseline (ignored for an area snapshots do not keep).
    pub(in crate::store) fn baseline(&mut self, area: AreaCode, year: i32, working: u64) {
        if kept(&area) {
            self.baselines.insert((area, year), working);
        }
    }

    /// Adds a stored target (ignored for an area snapshots do not keep).
    pub(in crate::store) fn target(&mut self, area: AreaCode, year: i32, target: Target) {
        if kept(&area) {
            self.targets.insert((area, year), target);
        }
    }
}

/// Covered counts per kept area, as a take reads them from the counters.
pub(in crate::store) type Counts = HashMap<AreaCode, ByCategory>;

/// One stored row of a day's snapshot, as the tables hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) struct SnapshotRow {
    pub area: AreaCode,
    /// Covered by category, in [`Category::ALL`] order.
    pub covered: [i64; 4],
    pub working_population: Option<i64>,
    pub target_bp: Option<u32>,
    pub target_count: Option<i64>,
}

/// The rows of `day`, by area: every area with covered persons or a
/// baseline or target for the day's year. They replace what the day held.
pub(in crate::store) fn day_rows(day: Date, counts: &Counts, plans: &Plans) -> Vec<SnapshotRow> {
    let year = day.year();
    let mut areas: Vec<AreaCode> = counts
        .iter()
        .filter(|(_, c)| c.iter().any(|n| *n > 0))
        .map(|(a, _)| *a)
        .chain(plans.baselines.keys().filter(|k| k.1 == year).map(|k| k.0))
        .chain(plans.targets.keys().filter(|k| k.1 == year).map(|k| k.0))
        .collect();
    areas.sort();
    areas.dedup();
    let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    areas
        .into_iter()
        .map(|area| {
            let c = counts.get(&area).copied().unwrap_or_default();
            let target = plans.targets.get(&(area, year));
            SnapshotRow {
                area,
                covered: c.map(big),
                working_population: plans.baselines.get(&(area, year)).map(|w| big(*w)),
                target_bp: target.map(|t| t.percent.0),
                target_count: target.and_then(|t| t.count).map(big),
            }
        })
        .collect()
}

/// Adds a counter row to a take's counts; areas snapshots do not keep
/// are left out by the caller before it reads the category.
pub(in crate::store) fn count(counts: &mut Counts, area: AreaCode, cat: Category, covered: i64) {
    counts.entry(area).or_default()[category_index(cat)] = u64::try_from(covered).unwrap_or(0);
}

/// The day a person's coverage started, `None` for "always" (an undated
/// roll row), or no entry when the person is not covered.
fn covered_since(
    record: &PersonRecord,
    roll: Option<engine::RollSince>,
    registered_at: Option<i64>,
) -> Option<(AreaCode, Category, Option<Date>)> {
    let key = engine::coverage_key(record, roll, registered_at)?;
    let field = (record.fields.status != Some(sigap_shared::Status::Void)
        && record.fields.is_complete())
    .then(|| engine::field_start_millis(record, registered_at))
    .flatten()
    .map(day_of_millis);
    let start = match roll {
        Some(engine::RollSince::Always) => None,
        Some(engine::RollSince::Date(d)) => Some(field.map_or(d, |f| f.min(d))),
        None => Some(field?),
    };
    Some((key.rt, key.category, start))
}

/// A backfill's count of the covered persons by the day their coverage
/// started. Persons are placed where they live now and counted from their
/// start; someone voided or moved since is therefore counted as they stand
/// today for every past day.
#[derive(Debug, Default)]
pub(in crate::store) struct Starts {
    /// Start day → area → counts that begin that day (`Date::MIN`: always).
    by_day: BTreeMap<Date, Counts>,
}

impl Starts {
    /// Counts a stored person (nothing when not covered).
    pub(in crate::store) fn add(
        &mut self,
        record: &PersonRecord,
        roll: Option<engine::RollSince>,
        registered_at: Option<i64>,
    ) {
        let Some((rt, cat, start)) = covered_since(record, roll, registered_at) else {
            return;
        };
        let by_area = self.by_day.entry(start.unwrap_or(Date::MIN)).or_default();
        for a in rt.self_and_ancestors().into_iter().filter(kept) {
            by_area.entry(a).or_default()[category_index(cat)] += 1;
        }
    }

    /// The days to write before `today`, from the first dated start (at
    /// most [`MAX_HISTORY_DAYS`] back); `None` when there is none.
    pub(in crate::store) fn days(self, today: Date) -> Option<BackfillDays> {
        let earliest = today - Duration::days(MAX_HISTORY_DAYS);
        let first = self
            .by_day
            .keys()
            .copied()
            .find(|d| *d != Date::MIN)
            .map(|d| d.max(earliest))?;
        Some(BackfillDays {
            running: Counts::new(),
            pending: self.by_day.into_iter().peekable(),
            day: first,
            today,
        })
    }
}

/// The running counts of each day a backfill writes, in order.
#[derive(Debug)]
pub(in crate::store) struct BackfillDays {
    running: Counts,
    pending: Peekable<btree_map::IntoIter<Date, Counts>>,
    day: Date,
    today: Date,
}

impl BackfillDays {
    /// The next day and the counts at its end, until the day before
    /// `today`.
    pub(in crate::store) fn next_day(&mut self) -> Option<(Date, &Counts)> {
        let day = self.day;
        if day >= self.today {
            return None;
        }
        while let Some((_, by_area)) = self.pending.next_if(|(d, _)| *d <= day) {
            for (a, c) in by_area {
                let r = self.running.entry(a).or_default();
                for i in 0..4 {
                    r[i] += c[i];
                }
            }
        }
        self.day = day.next_day().unwrap_or(self.today);
        Some((day, &self.running))
    }
}

/// An area's history from its snapshots (the last one before the range
/// first, for the first days' figures) and the registrations received
/// per day, by day.
pub(in crate::store) fn history_rows(
    snapshots: Vec<HistoryRow>,
    registrations: Vec<(Date, u64)>,
) -> Vec<HistoryRow> {
    let mut out: BTreeMap<Date, HistoryRow> =
        snapshots.into_iter().map(|row| (row.day, row)).collect();
    for (day, n) in registrations {
        out.entry(day)
            .or_insert_with(|| HistoryRow::empty(day))
            .registrations = n;
    }
    out.into_values().collect()
}

/// Whether two areas overlap (one holds the other).
fn overlaps(a: &AreaCode, b: &AreaCode) -> bool {
    a.contains(b) || b.contains(a)
}

/// An agent token (revoked too: their past work still counts) as the
/// activity of `area` lists it, or `None` when its areas (stored
/// comma-separated) do not overlap `area`.
pub(in crate::store) fn area_agent(
    id: i64,
    name: String,
    areas: &str,
    area: &AreaCode,
) -> Result<Option<TokenInfo>, StoreError> {
    let areas = areas
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| AreaCode::parse(s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    if !areas.iter().any(|a| overlaps(a, area)) {
        return Ok(None);
    }
    Ok(Some(TokenInfo {
        id,
        name,
        role: Role::Agent,
        areas,
        created_at: 0,
        revoked_at: None,
        expires_at: None,
    }))
}

/// Whether `agent` names one of `agents`.
pub(in crate::store) fn among(agents: &[TokenInfo], agent: &str) -> bool {
    agents.iter().any(|t| t.name == agent)
}

/// The name of the agent holding a device, when it is one of `agents`.
pub(in crate::store) fn holder(agents: &[TokenInfo], token_id: i64) -> Option<&str> {
    agents
        .iter()
        .find(|t| t.id == token_id)
        .map(|t| t.name.as_str())
}

/// Agents' days as the activity reads add them up.
#[derive(Debug, Default)]
pub(in crate::store) struct ActivityDays {
    days: BTreeMap<(String, Date), AgentDay>,
    rts: BTreeMap<(String, Date), BTreeSet<String>>,
}

impl ActivityDays {
    fn entry(&mut self, agent: &str, day: Date) -> Result<&mut AgentDay, StoreError> {
        let text = date_text(day)?;
        Ok(self
            .days
            .entry((agent.to_string(), day))
            .or_insert_with(|| AgentDay {
                agent: agent.to_string(),
                day: text,
                ..AgentDay::default()
            }))
    }

    /// Counts `n` logged changes of `kind` answered `outcome`, received on
    /// `day`.
    pub(in crate::store) fn changes(
        &mut self,
        agent: &str,
        day: Date,
        kind: &str,
        outcome: &str,
        n: u64,
    ) -> Result<(), StoreError> {
        let d = self.entry(agent, day)?;
        if outcome == "rejected" {
            d.rejections += n;
            return Ok(());
        }
        match kind {
            "register" => d.registrations += n,
            "edit" => d.edits += n,
            "void" => d.voids += n,
            _ => {}
        }
        if outcome == "merged" && kind == "register" {
            d.merged += n;
        }
        Ok(())
    }

    /// Counts `n` refusals the change log does not hold.
    pub(in crate::store) fn unlogged_rejections(
        &mut self,
        agent: &str,
        day: Date,
        n: u64,
    ) -> Result<(), StoreError> {
        self.entry(agent, day)?.rejections += n;
        Ok(())
    }

    /// Counts a visit to an RT.
    pub(in crate::store) fn visit(
        &mut self,
        agent: String,
        day: Date,
        kelurahan: &str,
        rw: u16,
        rt: u16,
    ) -> Result<(), StoreError> {
        self.entry(&agent, day)?;
        self.rts
            .entry((agent, day))
            .or_default()
            .insert(format!("{kelurahan}/{rw}/{rt}"));
        Ok(())
    }

    /// The activity, with the devices and known RTs read apart.
    pub(in crate::store) fn finish(
        mut self,
        devices: Vec<DeviceSeen>,
        known_rts: Vec<(AreaCode, u64)>,
    ) -> Activity {
        for (key, set) in self.rts {
            if let Some(d) = self.days.get_mut(&key) {
                d.rts_visited = set.into_iter().collect();
            }
        }
        Activity {
            days: self.days.into_values().collect(),
            devices,
            known_rts,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::date;

    #[test]
    fn a_take_is_due_on_a_new_day_and_on_a_retake_when_the_data_changed() {
        let mut t = Taken::default();
        let d = date!(2026 - 12 - 01);
        assert_eq!(t.due(d, false), Due::Yes);
        assert_eq!(t.day_to_close(d, 1), None);
        t.set(d, 3);
        assert_eq!(t.due(d, false), Due::No);
        assert_eq!(t.due(d, true), Due::IfChanged);
        assert!(!t.changed(3));
        assert!(t.changed(4));
        let next = date!(2026 - 12 - 02);
        assert_eq!(t.due(next, false), Due::Yes);
        assert_eq!(t.day_to_close(next, 3), None);
        assert_eq!(t.day_to_close(next, 4), Some(d));
    }

    #[test]
    fn a_backfill_runs_the_counts_from_each_start_to_the_day_before_today() {
        let mut s = Starts::default();
        let kel = AreaCode::parse("33.72.01.1001").unwrap();
        let mut add = |day: Date, n: u64| {
            let mut c = Counts::new();
            c.insert(kel, [n, 0, 0, 0]);
            s.by_day.insert(day, c);
        };
        add(Date::MIN, 5);
        add(date!(2025 - 03 - 10), 1);
        add(date!(2025 - 03 - 12), 2);
        let mut days = s.days(date!(2025 - 03 - 13)).unwrap();
        let mut seen = Vec::new();
        while let Some((day, counts)) = days.next_day() {
            seen.push((day, counts[&kel][0]));
        }
        assert_eq!(
            seen,
            [
                (date!(2025 - 03 - 10), 6),
                (date!(2025 - 03 - 11), 6),
                (date!(2025 - 03 - 12), 8)
            ]
        );
        assert!(Starts::default().days(date!(2025 - 03 - 13)).is_none());
    }

    #[test]
    fn day_numbers_round_trip() {
        let d = date!(2026 - 12 - 01);
        assert_eq!(day_of_number(millis_of(d) / DAY_MILLIS), d);
        assert_eq!(millis_range(d, d).1 - millis_range(d, d).0, DAY_MILLIS);
    }
}
