//! The database key: derived from the agent's passphrase with Argon2id and
//! a random salt. The salt and the cost settings are kept in clear beside
//! the database (`sigap.db.salt`, JSON), so that a later version can read
//! a database made with other settings; they are no secret.

use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{CliError, Result};
use crate::i18n::t;

/// Shortest passphrase accepted when one is set.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// The 32-byte SQLCipher key, wiped from memory when dropped.
#[derive(Clone)]
pub struct DbKey(Zeroizing<[u8; 32]>);

impl DbKey {
    pub fn from_hex(text: &str) -> Option<DbKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), bytes.as_mut_slice()).ok()?;
        Some(DbKey(bytes))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }

    /// The value of `PRAGMA key` / `PRAGMA rekey` for this raw key: used
    /// as it is, with no key derivation of SQLCipher's own (Argon2id has
    /// done that once already).
    pub fn pragma_value(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("\"x'{}'\"", self.to_hex().as_str()))
    }
}

impl std::fmt::Debug for DbKey {
    // A secret: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(..)")
    }
}

/// How the key of one database is derived (the `.salt` file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfHeader {
    /// Always `argon2id` today.
    pub kdf: String,
    /// Memory in KiB, passes, lanes (Argon2's m, t and p).
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    /// 16 random bytes, hex.
    pub salt: String,
    /// How SQLCipher authenticates each page of this database. Absent in
    /// the settings of every database made before it was written: those
    /// have SQLCipher's default, HMAC-SHA-512.
    #[serde(default)]
    pub page_hmac: PageHmac,
}

/// The HMAC SQLCipher writes into each page and checks on each read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageHmac {
    /// SQLCipher 4's default.
    #[default]
    Sha512,
    /// New databases. As strong a check of a 4 KiB page, and processors
    /// with the SHA extensions (current Intel and AMD ones) compute it in
    /// hardware, where SHA-512 is computed in software: it was a tenth of
    /// a pull's time.
    Sha256,
}

impl PageHmac {
    /// The statement that gives a keyed connection's database (`schema`,
    /// e.g. `main`) this HMAC; it must come before the first read.
    pub fn pragma(self, schema: &str) -> String {
        let algorithm = match self {
            PageHmac::Sha512 => "HMAC_SHA512",
            PageHmac::Sha256 => "HMAC_SHA256",
        };
        format!("PRAGMA {schema}.cipher_hmac_algorithm = {algorithm};")
    }

    /// The HMAC of the database at `db`, from the settings beside it
    /// (SQLCipher's default when there are none).
    pub fn of(db: &Path) -> Result<PageHmac> {
        Ok(KdfHeader::read(db)?
            .map(|h| h.page_hmac)
            .unwrap_or_default())
    }
}

/// The file beside the database at `db` that holds its [`KdfHeader`].
pub fn header_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".salt");
    PathBuf::from(p)
}

impl KdfHeader {
    /// New settings with a fresh random salt: Argon2id at the costs OWASP
    /// recommends as a minimum (19 MiB, 2 passes, 1 lane), tens of
    /// milliseconds on a field laptop, paid once per command only when
    /// the key is not kept by `sigap unlock`.
    pub fn new_random() -> KdfHeader {
        let salt: [u8; 16] = rand::random();
        KdfHeader {
            kdf: "argon2id".into(),
            m_cost: Params::DEFAULT_M_COST,
            t_cost: Params::DEFAULT_T_COST,
            p_cost: Params::DEFAULT_P_COST,
            salt: hex::encode(salt),
            page_hmac: PageHmac::Sha256,
        }
    }

    /// The settings kept beside `db`, if there are any.
    pub fn read(db: &Path) -> Result<Option<KdfHeader>> {
        let path = header_path(db);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CliError::Local(t!(
                    "kdf-cannot-read",
                    file = path.display(),
                    detail = e
                )));
            }
        };
        let header: KdfHeader = serde_json::from_str(&text)
            .map_err(|e| CliError::Local(t!("kdf-damaged", file = path.display(), detail = e)))?;
        Ok(Some(header))
    }

    /// Writes the settings beside `db` (mode 0600), whole or not at all:
    /// through a temporary file, synced, then renamed over the old one.
    pub fn write(&self, db: &Path) -> Result<()> {
        let path = header_path(db);
        let fail = |e: std::io::Error| {
            CliError::Local(t!("kdf-cannot-write", file = path.display(), detail = e))
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        let mut file = super::files::create_private(&tmp).map_err(fail)?;
        let text = serde_json::to_string(self)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.write_all(b"\n").map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(fail)?;
        super::files::sync_folder_of(&path).map_err(fail)?;
        Ok(())
    }

    /// The key for `passphrase` under these settings.
    pub fn derive(&self, passphrase: &str) -> Result<DbKey> {
        let damaged = |what: &dyn std::fmt::Display| {
            CliError::Local(t!("kdf-settings-damaged", detail = what))
        };
        if self.kdf != "argon2id" {
            return Err(damaged(&t!("kdf-unknown", kdf = format!("{:?}", self.kdf))));
        }
        let salt = hex::decode(&self.salt).map_err(|e| damaged(&e))?;
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| damaged(&e))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &salt, key.as_mut_slice())
            .map_err(|e| damaged(&e))?;
        Ok(DbKey(key))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn settings_without_a_page_hmac_are_sqlciphers_default_and_new_ones_say_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        assert_eq!(PageHmac::of(&db).unwrap(), PageHmac::Sha512, "no settings");
        let old = r#"{"kdf":"argon2id","m_cost":19456,"t_cost":2,"p_cost":1,"salt":"00112233445566778899aabbccddeeff"}"#;
        std::fs::write(header_path(&db), old).unwrap();
        assert_eq!(PageHmac::of(&db).unwrap(), PageHmac::Sha512);
        let new = KdfHeader::new_random();
        assert_eq!(new.page_hmac, PageHmac::Sha256);
        new.write(&db).unwrap();
        let text = std::fs::read_to_string(header_path(&db)).unwrap();
        assert!(text.contains(r#""page_hmac":"sha256""#), "{text}");
        assert_eq!(PageHmac::of(&db).unwrap(), PageHmac::Sha256);
        assert_eq!(
            PageHmac::Sha256.pragma("backup"),
            "PRAGMA backup.cipher_hmac_algorithm = HMAC_SHA256;"
        );
        // Anything else is damaged settings, said as such.
        let odd = old.replace('}', r#","page_hmac":"sha1"}"#);
        std::fs::write(header_path(&db), odd).unwrap();
        let err = PageHmac::of(&db).unwrap_err().to_string();
        assert!(err.contains("sha1"), "{err}");
    }

    #[test]
    fn the_same_passphrase_and_salt_give_the_same_key_and_others_do_not() {
        let h = KdfHeader::new_random();
        let a = h.derive("kopi tubruk pagi").unwrap();
        assert_eq!(a.to_hex(), h.derive("kopi tubruk pagi").unwrap().to_hex());
        assert_ne!(a.to_hex(), h.derive("kopi tubruk sore").unwrap().to_hex());
        let other = KdfHeader::new_random();
        assert_ne!(h.salt, other.salt);
        assert_ne!(
            a.to_hex(),
            other.derive("kopi tubruk pagi").unwrap().to_hex()
        );
        assert_eq!(format!("{a:?}"), "DbKey(..)");
        assert_eq!(a.pragma_value().len(), 64 + 5);
    }

    #[test]
    fn the_settings_are_kept_beside_the_database_readable_only_by_the_agent() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sigap.db");
        assert_eq!(KdfHeader::read(&db).unwrap(), None);
        let h = KdfHeader::new_random();
        h.write(&db).unwrap();
        assert_eq!(KdfHeader::read(&db).unwrap(), Some(h));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(header_path(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(header_path(&db), "{").unwrap();
        let err = KdfHeader::read(&db).unwrap_err().to_string();
        assert!(err.contains("is damaged"), "{err}");
    }
}
