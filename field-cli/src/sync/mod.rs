//! Sync: push the outbox in bounded pages, pull the agent's areas into the
//! replica, and `--verify` what the server holds. Every page is committed
//! locally before the next one is asked for, so a cut sync resumes.

pub mod client;
pub mod lost;
pub mod pull;
pub mod push;
pub mod restore;
pub mod tls;
pub mod verify;
pub mod visits;

use serde::Serialize;
use sigap_shared::Lang;

use crate::i18n;

use crate::progress::{Progress, on_terminal};

/// Progress of the pages of a sync, on stderr: on a terminal a bar (once
/// the work takes more than a moment); anywhere else (a script, a log, a
/// cron job) nothing, so that only the summary lines the command prints
/// at the end are seen, not a line per page.
pub struct Reporter {
    bar: Option<Progress>,
}

impl Reporter {
    pub fn new() -> Reporter {
        Reporter { bar: None }
    }

    /// A bar of `total` steps, named `what`.
    pub fn start(&mut self, total: u64, what: &str) {
        if on_terminal() {
            self.bar = Some(Progress::new(total, what));
        }
    }

    /// A count of steps whose total is not known beforehand (the pull),
    /// named `what`.
    pub fn start_counting(&mut self, what: &str) {
        if on_terminal() {
            self.bar = Some(Progress::counter(what));
        }
    }

    /// `n` more steps done.
    pub fn step(&mut self, n: u64) {
        if let Some(b) = &mut self.bar {
            b.inc(n);
        }
    }

    pub fn finish(&mut self) {
        self.bar = None;
    }
}

/// One rejected change, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedChange {
    pub device_seq: u64,
    pub nik: String,
    pub code: String,
    pub reason: String,
}

/// A change the server holds but whose fields, or some of them, later
/// writes of others keep (`superseded`).
#[derive(Debug, Clone, Serialize)]
pub struct SupersededChange {
    pub device_seq: u64,
    pub nik: String,
    pub fields: Vec<String>,
    pub by: Vec<String>,
}

/// What one `sigap sync` did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub server: String,
    /// Changes the server now holds (answered in any way but `pending` or
    /// a refusal it does not hold).
    pub sent: u64,
    pub applied: u64,
    pub merged: u64,
    pub duplicates: u64,
    pub superseded: Vec<SupersededChange>,
    /// Held and set aside: the agent corrects them.
    pub rejected: Vec<RejectedChange>,
    /// Refused without being held (e.g. `clock_ahead`): kept on this
    /// device, repaired and sent again by a later `sigap sync`.
    pub not_taken: Vec<RejectedChange>,
    /// Changes still waiting for earlier ones of this device.
    pub waiting: i64,
    /// Changes not taken (refused without being held) left on this device.
    pub not_taken_left: i64,
    /// Rounds of pages sent (a round re-sends what waited).
    pub rounds: u32,
    pub received: u64,
    /// This device's own persons whose personal data an admin erased on
    /// the server, overwritten here too by this sync (the record and the
    /// changes the server has answered; pending changes are kept).
    pub erased: u64,
    pub pending_left: i64,
    pub rejected_outstanding: i64,
    pub pull_cursor: u64,
    pub receipt: Option<sigap_shared::wire::Receipt>,
    /// This laptop's clock against the server's.
    pub clock: Option<ClockCheck>,
    /// Unsent changes stamped again by the corrected clock.
    pub restamped: u64,
    /// Unsent changes given a new id (the server held theirs elsewhere).
    pub new_ids: u64,
    /// Set when this laptop turned out restored from an older backup.
    pub restored: Option<restore::Restored>,
    /// Changes the server had answered but no longer holds (restored from
    /// an older backup), queued and sent again.
    pub resent_lost: u64,
    /// The RT visits sent after the changes.
    pub visits: visits::VisitsSent,
}

/// This laptop's clock against the server's, as measured by one sync.
#[derive(Debug, Clone, Serialize)]
pub struct ClockCheck {
    /// Milliseconds this laptop's clock is ahead (negative: behind).
    pub skew_ms: i64,
    /// When, by this laptop's clock.
    pub checked_at: String,
    /// Set when the clocks differ by more than five minutes; in English,
    /// as every text of the JSON output (see [`ClockCheck::warning_in`]).
    pub warning: Option<String>,
}

impl ClockCheck {
    pub fn new(skew_ms: i64, checked_at: String) -> ClockCheck {
        let warning = ClockCheck::warning_in(Lang::En, skew_ms);
        ClockCheck {
            skew_ms,
            checked_at,
            warning,
        }
    }

    /// The warning for clocks `skew_ms` apart, in `lang`.
    pub fn warning_in(lang: Lang, skew_ms: i64) -> Option<String> {
        clock_differs(lang, skew_ms)
            .map(|d| i18n::text(lang, "sync-clock-warning", &[("differs", d)]))
    }

    /// Whether the clocks agree (within five minutes).
    pub fn agrees(&self) -> bool {
        self.warning.is_none()
    }
}

/// "3 h 10 min ahead of" or "2 day(s) 1 h behind" when the clocks differ
/// by more than [`repair::CLOCK_TOLERANCE_MS`].
pub fn clock_differs(lang: Lang, skew_ms: i64) -> Option<String> {
    let by = skew_ms.unsigned_abs();
    if by <= crate::store::repair::CLOCK_TOLERANCE_MS {
        return None;
    }
    let id = if skew_ms > 0 {
        "clock-ahead"
    } else {
        "clock-behind"
    };
    Some(i18n::text(
        lang,
        id,
        &[("duration", human_duration(lang, by))],
    ))
}

/// A duration for people, to the minute: "4 min", "3 h 10 min",
/// "3652 day(s) 0 h".
pub fn human_duration(lang: Lang, ms: u64) -> String {
    let minutes = ms / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let arg = |k: &'static str, v: u64| (k, lang.int(v));
    if days > 0 {
        i18n::text(
            lang,
            "duration-days",
            &[arg("days", days), arg("hours", hours)],
        )
    } else if hours > 0 {
        i18n::text(
            lang,
            "duration-hours",
            &[arg("hours", hours), arg("minutes", mins)],
        )
    } else {
        i18n::text(lang, "duration-minutes", &[arg("minutes", mins)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_within_five_minutes_agree_and_others_say_by_how_much() {
        assert!(ClockCheck::new(299_000, String::new()).agrees());
        assert!(ClockCheck::new(-300_000, String::new()).agrees());
        let ahead = ClockCheck::new(3 * 3_600_000 + 10 * 60_000 + 5_000, String::new());
        assert_eq!(
            ahead.warning.as_deref(),
            Some(
                "this laptop's clock is 3 h 10 min ahead of the server's: fix the laptop's clock (date, time and time zone); the server refuses changes stamped too far ahead of its clock (a day by default) until it is right"
            )
        );
        assert_eq!(
            clock_differs(Lang::En, -(3652 * 86_400_000 + 7_200_000)).as_deref(),
            Some("3,652 day(s) 2 h behind")
        );
        assert_eq!(
            clock_differs(Lang::Id, -(3652 * 86_400_000 + 7_200_000)).as_deref(),
            Some("3.652 hari 2 jam lebih lambat dari")
        );
        assert_eq!(
            clock_differs(Lang::En, -420_000).as_deref(),
            Some("7 min behind")
        );
        assert_eq!(
            ClockCheck::warning_in(Lang::Id, 420_000).as_deref(),
            Some(
                "jam laptop ini 7 menit lebih cepat dari jam server: betulkan jam laptop (tanggal, jam, dan zona waktu); server menolak perubahan yang waktunya terlalu jauh di depan jamnya (bawaan satu hari) sampai jam laptop benar"
            )
        );
    }
}
