//! Coverage per ISO week from the daily snapshots an area's history
//! keeps: the one roll-up `GET /api/v1/coverage/history` answers and the
//! dashboard's progress page draws.

use sigap_shared::coverage::Figures;
use time::{Date, Duration, Weekday};

use crate::store::HistoryRow;

/// One ISO week: its registrations and the figures at its last day (the
/// API's `weeks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    pub label: String,
    pub start: Date,
    pub end: Date,
    pub registrations: u64,
    pub baseline_set: bool,
    pub figures: Figures,
}

/// The weeks from `from` to `to` of the stored rows, counted as the API
/// counts them: each day from the area's first snapshot carries the
/// latest snapshot's figures; a week has the figures of its last day
/// and the sum of its days' registrations.
pub fn weeks(rows: &[HistoryRow], from: Date, to: Date) -> Vec<Week> {
    let mut out: Vec<Week> = Vec::new();
    let mut last: Option<&HistoryRow> = None;
    let mut rows = rows.iter().peekable();
    let mut day = from;
    loop {
        let mut registrations = 0;
        while let Some(r) = rows.next_if(|r| r.day <= day) {
            if r.snapshot {
                last = Some(r);
            }
            if r.day == day {
                registrations = r.registrations;
            }
        }
        if let Some(s) = last {
            let covered = s.by_category.iter().sum();
            let figures = Figures::compute(covered, s.working_population.unwrap_or(0), s.target);
            let (year, week, _) = day.to_iso_week_date();
            let label = format!("{year}-W{week:02}");
            let start = if day.weekday() == Weekday::Monday {
                day
            } else {
                day.prev_occurrence(Weekday::Monday)
            };
            let closing = Week {
                label,
                start,
                end: start + Duration::days(6),
                registrations,
                baseline_set: s.working_population.is_some(),
                figures,
            };
            match out.last_mut() {
                Some(w) if w.label == closing.label => {
                    let registrations = w.registrations + registrations;
                    *w = Week {
                        registrations,
                        ..closing
                    };
                }
                _ => out.push(closing),
            }
        }
        match day.next_day() {
            Some(next) if next <= to => day = next,
            _ => break,
        }
    }
    out
}
