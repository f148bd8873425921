//! Durations and times as admins type and read them: `30m`, `24h`, `90d`,
//! `2w` on the command line, `YYYY-MM-DD HH:MM UTC` in messages.

/// Parses a duration given to `--FLAG`: a whole number above 0 and a unit,
/// s (seconds), m (minutes), h (hours), d (days) or w (weeks), into milliseconds, at
/// most `max_ms`. The error names the flag, what is wrong and what is
/// accepted, with `example` (a value the flag takes).
pub fn parse_duration(flag: &str, text: &str, example: &str, max_ms: u64) -> Result<u64, String> {
    let text = text.trim();
    let hint = format!(
        "give a number and a unit: s (seconds), m (minutes), h (hours), d (days) or w (weeks), e.g. --{flag} {example}"
    );
    let Some(unit) = text.chars().last() else {
        return Err(format!("--{flag} is empty; {hint}"));
    };
    let unit_ms: u64 = match unit.to_ascii_lowercase() {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        u if u.is_ascii_digit() => return Err(format!("--{flag} {text:?} has no unit; {hint}")),
        u => return Err(format!("--{flag} {text:?}: unknown unit {u:?}; {hint}")),
    };
    let number = &text[..text.len() - unit.len_utf8()];
    let n: u64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("--{flag} {text:?} needs a whole number above 0 before the unit; {hint}")
    })?;
    n.checked_mul(unit_ms)
        .filter(|ms| *ms <= max_ms)
        .ok_or_else(|| {
            if max_ms >= 86_400_000 {
                format!(
                    "--{flag} {text:?} is too long: at most {} days",
                    max_ms / 86_400_000
                )
            } else {
                format!(
                    "--{flag} {text:?} is too long: at most {} seconds",
                    max_ms / 1000
                )
            }
        })
}

/// A Unix-milliseconds time as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(millis: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => format!("{millis} ms after 1970"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_say_why() {
        let max = 3660 * 86_400_000;
        assert_eq!(
            parse_duration("expires", "30m", "90d", max),
            Ok(30 * 60_000)
        );
        assert_eq!(
            parse_duration("expires", "12h", "90d", max),
            Ok(12 * 3_600_000)
        );
        assert_eq!(
            parse_duration("expires", "90d", "90d", max),
            Ok(90 * 86_400_000)
        );
        assert_eq!(
            parse_duration("expires", "2w", "90d", max),
            Ok(14 * 86_400_000)
        );
        for bad in [
            "",
            "90",
            "d",
            "0d",
            "-1d",
            "1.5d",
            "90y",
            "9999999999999w",
            "4000d",
            "9é",
        ] {
            let e = parse_duration("expires", bad, "90d", max).unwrap_err();
            assert!(e.contains("--expires"), "{bad}: {e}");
        }
        assert!(
            parse_duration("max-clock-skew", "3d", "24h", 2 * 86_400_000)
                .unwrap_err()
                .contains("at most 2 days")
        );
    }

    #[test]
    fn times_format_as_utc_minutes() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_790_000_000_000), "2026-09-21 14:13 UTC");
    }
}
