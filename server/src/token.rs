//! API tokens: 32 random bytes, hex, prefixed `sigap_`; only their
//! SHA-256 is stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// The prefix every token starts with, so that leaked tokens are easy to
/// recognise.
pub const PREFIX: &str = "sigap_";

/// A new random token.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The longest `--expires` accepted. Why a cap: a typo such as `9000d`
/// should be refused, not quietly give a token that never runs out; no
/// expiry at all is said by leaving `--expires` out.
const MAX_EXPIRES_MS: i64 = 3660 * 86_400_000;

/// Parses an `--expires` duration (`30m`, `12h`, `90d`, `2w`) into
/// milliseconds; the error says what is wrong and what is accepted.
pub fn parse_expires(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let hint = "give a number and a unit: m (minutes), h (hours), d (days) or w (weeks), e.g. --expires 90d; leave --expires out for a token that does not expire";
    let Some(unit) = text.chars().last() else {
        return Err(format!("--expires is empty; {hint}"));
    };
    let unit_ms: i64 = match unit.to_ascii_lowercase() {
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        u if u.is_ascii_digit() => return Err(format!("--expires {text:?} has no unit; {hint}")),
        u => return Err(format!("--expires {text:?}: unknown unit {u:?}; {hint}")),
    };
    let number = &text[..text.len() - unit.len_utf8()];
    let n: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("--expires {text:?} needs a whole number above 0 before the unit; {hint}")
    })?;
    n.checked_mul(unit_ms)
        .filter(|ms| *ms <= MAX_EXPIRES_MS)
        .ok_or_else(|| {
            format!(
                "--expires {text:?} is too long: at most 10 years (3660d); leave --expires out for a token that does not expire"
            )
        })
}

/// A Unix-milliseconds time as `YYYY-MM-DD HH:MM UTC`, for messages and
/// `token list`.
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
    use super::*;

    #[test]
    fn expiries_parse_and_bad_ones_say_why() {
        assert_eq!(parse_expires("30m"), Ok(30 * 60_000));
        assert_eq!(parse_expires("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_expires("90d"), Ok(90 * 86_400_000));
        assert_eq!(parse_expires("2w"), Ok(14 * 86_400_000));
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
            let e = parse_expires(bad).unwrap_err();
            assert!(e.contains("--expires"), "{bad}: {e}");
        }
    }

    #[test]
    fn times_format_as_utc_minutes() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_790_000_000_000), "2026-09-21 14:13 UTC");
    }

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = generate();
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64);
        assert_ne!(a, generate());
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 64);
    }
}
