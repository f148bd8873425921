//! Where the database key comes from: the OS keyring while `sigap
//! unlock` keeps it there, else the passphrase from `SIGAP_PASSPHRASE` or
//! asked on the terminal (no echo) and derived again.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{CliError, Result};
use crate::i18n::{n, t};
use crate::store::kdf::{DbKey, KdfHeader, MIN_PASSPHRASE_CHARS};

pub const PASSPHRASE_ENV: &str = "SIGAP_PASSPHRASE";
pub const NEW_PASSPHRASE_ENV: &str = "SIGAP_NEW_PASSPHRASE";

/// The keyring's service name (macOS, Windows).
#[cfg_attr(target_os = "linux", allow(dead_code))]
const KEYRING_SERVICE: &str = "sigap";
/// Longest `sigap unlock --for`.
pub const MAX_UNLOCK: Duration = Duration::from_secs(7 * 24 * 3600);

/// The name of the kept key of the database at `db`: its full path.
fn key_name(db: &Path) -> String {
    let path: PathBuf = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    format!("sigap-db:{}", path.to_string_lossy())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The Linux kernel keyring (keyutils: no D-Bus, no daemon). The key is
/// added to the session keyring, so it goes with the login session; the
/// kernel removes it when its time-out is over. It is readable by the
/// agent's own account (as a desktop keyring is), which also lets the
/// next command find it where the session keyring is the user's default
/// one (no login session, as in a service or a container).
#[cfg(target_os = "linux")]
mod os {
    use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

    fn ring() -> Result<KeyRing, String> {
        KeyRing::from_special_id(KeyRingIdentifier::Session, false).map_err(|e| format!("{e:?}"))
    }

    pub fn set(name: &str, secret: &[u8], seconds: u64) -> Result<(), String> {
        let key = ring()?
            .add_key(name, secret)
            .map_err(|e| format!("{e:?}"))?;
        // Permissions first: the owner may always set them, and they let
        // it set the time-out where it does not possess the key.
        let done = key
            .set_perms(
                KeyPermissionsBuilder::builder()
                    .posessor(Permission::ALL)
                    .user(Permission::ALL)
                    .build(),
            )
            .and_then(|()| key.set_timeout(usize::try_from(seconds).unwrap_or(usize::MAX).max(1)));
        if let Err(e) = done {
            // Not kept without its time-out.
            let _ = key.invalidate();
            return Err(format!("{e:?}"));
        }
        Ok(())
    }

    pub fn get(name: &str) -> Option<Vec<u8>> {
        ring().ok()?.search(name).ok()?.read_to_vec().ok()
    }

    pub fn delete(name: &str) -> bool {
        ring()
            .ok()
            .and_then(|r| r.search(name).ok())
            .is_some_and(|k| k.invalidate().is_ok())
    }
}

/// The keyring of the system (macOS Keychain, Windows credential store);
/// the time-out is the one written with the key.
#[cfg(not(target_os = "linux"))]
mod os {
    fn entry(name: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(super::KEYRING_SERVICE, name).map_err(|e| e.to_string())
    }

    pub fn set(name: &str, secret: &[u8], _seconds: u64) -> Result<(), String> {
        entry(name)?.set_secret(secret).map_err(|e| e.to_string())
    }

    pub fn get(name: &str) -> Option<Vec<u8>> {
        entry(name).ok()?.get_secret().ok()
    }

    pub fn delete(name: &str) -> bool {
        entry(name).is_ok_and(|e| e.delete_credential().is_ok())
    }
}

/// The key `sigap unlock` keeps for `db`, while its time lasts. Anything
/// amiss (no keyring, no entry, expired, damaged) is simply no key: the
/// passphrase is asked instead.
pub fn kept_key(db: &Path) -> Option<DbKey> {
    let name = key_name(db);
    let secret = Zeroizing::new(String::from_utf8(os::get(&name)?).ok()?);
    let mut parts = secret.split(' ');
    let (Some("v1"), Some(until), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        os::delete(&name);
        return None;
    };
    match until.parse::<u64>() {
        Ok(until) if until > now_secs() => DbKey::from_hex(key),
        _ => {
            // Timed out: locked again.
            os::delete(&name);
            None
        }
    }
}

/// Keeps `key` for `db` in the OS keyring for `how_long`. The time-out is
/// written with the key and checked at each use; the Linux kernel also
/// removes the key itself when it is over.
pub fn keep(db: &Path, key: &DbKey, how_long: Duration) -> Result<()> {
    let name = key_name(db);
    let until = now_secs().saturating_add(how_long.as_secs());
    let secret = Zeroizing::new(format!("v1 {until} {}", key.to_hex().as_str()));
    let unusable = |e: &dyn std::fmt::Display| {
        CliError::Local(t!("unlock-no-keyring", detail = e, env = PASSPHRASE_ENV))
    };
    os::set(&name, secret.as_bytes(), how_long.as_secs()).map_err(|e| unusable(&e))?;
    // Kept only if the next command can find it.
    if kept_key(db).is_none() {
        os::delete(&name);
        return Err(unusable(&t!("unlock-not-read-back")));
    }
    Ok(())
}

/// Forgets the key kept for `db`; true when there was one.
pub fn forget(db: &Path) -> bool {
    os::delete(&key_name(db))
}

/// Whether a person can be asked: a terminal on both sides.
fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn no_one_to_ask(what: &str) -> CliError {
    CliError::Passphrase(t!(
        "passphrase-no-one-to-ask",
        what = what,
        env = PASSPHRASE_ENV
    ))
}

fn ask(prompt: &str) -> Result<Zeroizing<String>> {
    dialoguer::Password::new()
        .with_prompt(prompt)
        .allow_empty_password(true)
        .interact()
        .map(Zeroizing::new)
        .map_err(|e| CliError::Passphrase(t!("passphrase-unreadable", detail = e)))
}

/// The passphrase of an existing database, from the environment or asked.
pub fn passphrase(db: &Path) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(p));
    }
    if !can_ask() {
        return Err(no_one_to_ask(&t!(
            "passphrase-db-locked",
            db = db.display()
        )));
    }
    ask(&t!("passphrase-prompt"))
}

/// A new passphrase, from `env` or asked twice; at least
/// [`MIN_PASSPHRASE_CHARS`] characters.
pub fn new_passphrase(env: &str, why: &str) -> Result<Zeroizing<String>> {
    let chosen = match std::env::var(env) {
        Ok(p) => Zeroizing::new(p),
        Err(_) => {
            if !can_ask() {
                return Err(CliError::Passphrase(t!(
                    "passphrase-new-no-terminal",
                    why = why,
                    env = env
                )));
            }
            eprintln!(
                "{}",
                t!(
                    "passphrase-new-ask",
                    why = why,
                    min = n(MIN_PASSPHRASE_CHARS)
                )
            );
            let first = ask(&t!("passphrase-new-prompt"))?;
            let again = ask(&t!("passphrase-again-prompt"))?;
            if first != again {
                return Err(CliError::Input(t!("passphrase-differ")));
            }
            first
        }
    };
    if chosen.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(CliError::Input(t!(
            "passphrase-too-short",
            min = n(MIN_PASSPHRASE_CHARS)
        )));
    }
    Ok(chosen)
}

/// The key of the existing encrypted database at `db`, without the
/// keyring: the settings beside it and the passphrase.
pub fn key_from_passphrase(db: &Path) -> Result<DbKey> {
    let header = KdfHeader::read(db)?.ok_or_else(|| {
        CliError::Local(t!(
            "passphrase-settings-missing",
            file = crate::store::kdf::header_path(db).display(),
            db = db.display()
        ))
    })?;
    let passphrase = passphrase(db)?;
    header.derive(&passphrase)
}

/// Reads `8h`, `30m`, `2d` for `sigap unlock --for`.
pub fn parse_for(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| t!("unlock-for-not-duration", text = format!("{text:?}")))?;
    let secs = match unit {
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86400),
        _ => return Err(t!("unlock-for-unit", text = format!("{text:?}"))),
    };
    let d = Duration::from_secs(secs);
    if d.is_zero() || d > MAX_UNLOCK {
        return Err(t!("unlock-for-range", text = format!("{text:?}")));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn unlock_durations_read_as_agents_write_them() {
        assert_eq!(parse_for("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse_for("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_for("2d").unwrap(), Duration::from_secs(2 * 86400));
        assert!(parse_for("8").unwrap_err().contains("m, h or d"));
        assert!(parse_for("0h").unwrap_err().contains("between 1m and 7d"));
        assert!(parse_for("8d").unwrap_err().contains("between 1m and 7d"));
        assert!(parse_for("h").unwrap_err().contains("not a duration"));
    }
}
