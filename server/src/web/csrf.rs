//! CSRF tokens: an HMAC-SHA256 over what the form is bound to (the
//! session's token hash, or before sign-in a random cookie), keyed with
//! the server's secret. A page from another site can neither read nor
//! compute one, so a form it forges is refused.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The token a form carries for `purpose` (`session`, `signin`) bound to
/// `subject`.
pub fn token(secret: &[u8], purpose: &str, subject: &str) -> String {
    hex::encode(mac(secret, purpose, subject).finalize().into_bytes())
}

/// Whether `given` is the token for `purpose` and `subject` (compared in
/// constant time).
pub fn verify(secret: &[u8], purpose: &str, subject: &str, given: &str) -> bool {
    let Ok(bytes) = hex::decode(given.trim()) else {
        return false;
    };
    mac(secret, purpose, subject).verify_slice(&bytes).is_ok()
}

fn mac(secret: &[u8], purpose: &str, subject: &str) -> HmacSha256 {
    // Any key length is valid for HMAC; the error branch cannot happen,
    // and an empty key would still give a MAC only we can compute.
    let mut m = HmacSha256::new_from_slice(secret)
        .unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()));
    m.update(purpose.as_bytes());
    m.update(b"\0");
    m.update(subject.as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_subject_and_secret() {
        let t = token(b"secret", "session", "hash-a");
        assert!(verify(b"secret", "session", "hash-a", &t));
        assert!(!verify(b"secret", "session", "hash-b", &t));
        assert!(!verify(b"other", "session", "hash-a", &t));
        assert!(!verify(b"secret", "signin", "hash-a", &t));
        assert!(!verify(b"secret", "session", "hash-a", "zz"));
        assert!(!verify(b"secret", "session", "hash-a", ""));
    }
}
