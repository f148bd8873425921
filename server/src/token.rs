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
const MAX_EXPIRES_MS: u64 = 3660 * 86_400_000;

/// Parses an `--expires` duration (`30m`, `12h`, `90d`, `2w`) into
/// milliseconds.
pub fn parse_expires(text: &str) -> Result<i64, String> {
    crate::time_text::parse_duration("expires", text, "90d", MAX_EXPIRES_MS)
        .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX))
        .map_err(|e| format!("{e}; leave --expires out for a token that does not expire"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_errors_say_how_to_have_none() {
        assert_eq!(parse_expires("90d"), Ok(90 * 86_400_000));
        let e = parse_expires("4000d").unwrap_err();
        assert!(
            e.contains("--expires") && e.contains("leave --expires out"),
            "{e}"
        );
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
