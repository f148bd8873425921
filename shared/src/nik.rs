//! NIK (Nomor Induk Kependudukan), the 16-digit national identity number.
//!
//! Layout: `PP KK DD DDMMYY SSSS`, province, regency/city, district
//! (kecamatan), birth date with 40 added to the day for women, and a serial
//! of 0001 or higher. A NIK does not encode the kelurahan.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use time::{Date, Month};

use crate::area::AreaCode;
use crate::registration::Sex;

/// Why a text is not a NIK. Each variant names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NikError {
    #[error("NIK must be 16 digits, got {0} digits")]
    Length(usize),
    #[error("NIK may contain only digits (spaces, dots and dashes are ignored); found {0:?}")]
    NotDigits(char),
    #[error("province code {0} is not a province (must be 11 to 99)")]
    Province(String),
    #[error("regency/city code {0} is not allowed (00)")]
    Regency(String),
    #[error("district (kecamatan) code {0} is not allowed (00)")]
    District(String),
    #[error("birth date {0} is not a date (DDMMYY, with 40 added to the day for women)")]
    BirthDate(String),
    #[error("serial {0} is not allowed (must be 0001 or higher)")]
    Serial(String),
}

impl NikError {
    /// Stable machine-readable code for APIs and JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            NikError::Length(_) | NikError::NotDigits(_) => "invalid_nik",
            NikError::Province(_) | NikError::Regency(_) | NikError::District(_) => {
                "invalid_nik_region"
            }
            NikError::BirthDate(_) => "invalid_nik_birth_date",
            NikError::Serial(_) => "invalid_nik_serial",
        }
    }
}

/// A validated NIK. Holds exactly 16 ASCII digits.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nik([u8; 16]);

impl Nik {
    /// Parses a NIK, ignoring spaces, dots and dashes.
    pub fn parse(text: &str) -> Result<Nik, NikError> {
        let mut digits = Vec::with_capacity(16);
        for c in text.chars() {
            match c {
                ' ' | '.' | '-' => {}
                '0'..='9' => digits.push(c as u8),
                other => return Err(NikError::NotDigits(other)),
            }
        }
        let digits: [u8; 16] = digits
            .as_slice()
            .try_into()
            .map_err(|_| NikError::Length(digits.len()))?;
        let nik = Nik(digits);
        let province = nik.part(0, 2);
        if province.as_bytes()[0] == b'0' || province == "10" {
            return Err(NikError::Province(province.to_string()));
        }
        if nik.part(2, 4) == "00" {
            return Err(NikError::Regency(nik.part(2, 4).to_string()));
        }
        if nik.part(4, 6) == "00" {
            return Err(NikError::District(nik.part(4, 6).to_string()));
        }
        if nik.birth_day_month_year().is_none() {
            return Err(NikError::BirthDate(nik.part(6, 12).to_string()));
        }
        if nik.part(12, 16) == "0000" {
            return Err(NikError::Serial(nik.part(12, 16).to_string()));
        }
        Ok(nik)
    }

    fn part(&self, from: usize, to: usize) -> &str {
        // Only ASCII digits are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0[from..to]).unwrap_or("")
    }

    fn number(&self, from: usize, to: usize) -> u32 {
        self.0[from..to]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    }

    /// The 16 digits.
    pub fn as_str(&self) -> &str {
        self.part(0, 16)
    }

    /// The kecamatan that issued this NIK, e.g. `33.72.01`.
    pub fn district_code(&self) -> AreaCode {
        AreaCode::kecamatan(self.number(0, 2), self.number(2, 4), self.number(4, 6))
    }

    /// The regency/city that issued this NIK, e.g. `33.72`.
    pub fn regency_code(&self) -> AreaCode {
        AreaCode::kota(self.number(0, 2), self.number(2, 4))
    }

    /// Sex encoded by the birth day (40 added for women).
    pub fn sex(&self) -> Sex {
        if self.number(6, 8) > 40 {
            Sex::P
        } else {
            Sex::L
        }
    }

    /// Day, month and two-digit year as written in the NIK, with the 40
    /// for women removed. `None` when no century makes it a valid date.
    fn birth_day_month_year(&self) -> Option<(u8, Month, u8)> {
        let mut day = self.number(6, 8);
        if day > 40 {
            day -= 40;
        }
        let month = Month::try_from(u8::try_from(self.number(8, 10)).ok()?).ok()?;
        let yy = u8::try_from(self.number(10, 12)).ok()?;
        let day = u8::try_from(day).ok()?;
        // Valid in at least one of the two plausible centuries (29 February
        // is valid in 2000 but not in 1900).
        let valid = [1900, 2000]
            .iter()
            .any(|c| Date::from_calendar_date(c + i32::from(yy), month, day).is_ok());
        valid.then_some((day, month, yy))
    }

    /// Birth date, choosing the latest century that puts it on or before
    /// `today` (a NIK only holds two digits of the year).
    pub fn birth_date_before(&self, today: Date) -> Date {
        let fallback = today;
        let Some((day, month, yy)) = self.birth_day_month_year() else {
            return fallback;
        };
        let base = today.year() - today.year().rem_euclid(100);
        for century in [base, base - 100, base - 200] {
            if let Ok(d) = Date::from_calendar_date(century + i32::from(yy), month, day)
                && d <= today
            {
                return d;
            }
        }
        fallback
    }

    /// Birth date relative to the current system date. See
    /// [`Nik::birth_date_before`].
    pub fn birth_date(&self) -> Date {
        self.birth_date_before(crate::today())
    }

    /// Whether `date` has the day, month and two-digit year this NIK encodes.
    pub fn matches_birth_date(&self, date: Date) -> bool {
        match self.birth_day_month_year() {
            Some((day, month, yy)) => {
                date.day() == day
                    && date.month() == month
                    && date.year().rem_euclid(100) == i32::from(yy)
            }
            None => false,
        }
    }

    /// Masked form for logs: first four and last two digits visible,
    /// e.g. `3372**********01`.
    pub fn masked(&self) -> String {
        mask_nik(self.as_str())
    }

    /// Masked form for an agent's replica: the last two digits only,
    /// e.g. `**************01`. Enough to tell the person found from the
    /// NIK typed; the region and birth date stay out of the file.
    pub fn masked_for_replica(&self) -> String {
        let digits = self.as_str();
        let tail = digits.get(digits.len().saturating_sub(2)..).unwrap_or("");
        // Pushed, not formatted: the feed masks every NIK it sends.
        let mut out = String::with_capacity(digits.len());
        out.extend(std::iter::repeat_n('*', digits.len() - tail.len()));
        out.push_str(tail);
        out
    }
}

/// Masks any NIK-like text for logs, keeping the first four and last two
/// characters. Texts shorter than seven characters are fully masked.
pub fn mask_nik(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 4 || i >= n - 2 { *c } else { '*' })
        .collect()
}

/// Masks a person's name for anyone who may not see it: the first letter of
/// each word stays, every other letter becomes `*`, other characters (dots,
/// apostrophes, hyphens) stay. Runs of whitespace become one space.
/// `"Budi Santoso"` → `"B*** S******"`.
pub fn mask_name(name: &str) -> String {
    // Written into one string: the feed masks a name for every person it
    // sends (a million in a large pull).
    let mut out = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        let mut first = true;
        for c in word.chars() {
            if !c.is_alphabetic() {
                out.push(c);
            } else if first {
                first = false;
                out.push(c);
            } else {
                out.push('*');
            }
        }
    }
    out
}

/// What [`nik_lookup_hash`] puts before the 16 digits; the version names
/// the scheme, so that a new one can be told apart (v1 was an unkeyed
/// SHA-256, which anyone could reverse by trying every NIK).
pub const NIK_LOOKUP_PREFIX: &str = "sigap-nik-v2:";

/// The deployment's secret for [`nik_lookup_hash`]: 32 random bytes that
/// the server makes once and hands to enrolled devices only.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplicaKey([u8; 32]);

/// Why a text is not a [`ReplicaKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replica key must be 64 hexadecimal digits (32 bytes)")]
pub struct ReplicaKeyError;

impl ReplicaKey {
    pub const fn from_bytes(bytes: [u8; 32]) -> ReplicaKey {
        ReplicaKey(bytes)
    }

    pub fn from_hex(text: &str) -> Result<ReplicaKey, ReplicaKeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| ReplicaKeyError)?;
        Ok(ReplicaKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ReplicaKey {
    // A secret: never in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplicaKey(..)")
    }
}

/// The key under which an agent's replica holds a person: hex
/// HMAC-SHA-256, keyed with the deployment's [`ReplicaKey`], of
/// `"sigap-nik-v2:"` followed by the 16 digits. The server sends it
/// instead of the NIK on pull; the client computes it from the NIK the
/// agent typed. Without the key a copied replica cannot be checked against
/// guessed NIKs; with it (an unlocked device, the server) it can.
pub fn nik_lookup_hash(key: &ReplicaKey, nik: &Nik) -> String {
    // The HMAC keyed with the prefix already in, kept per thread for the
    // last key: keying is two of the four SHA-256 blocks of a hash, and the
    // feed hashes every person it sends with the same key.
    thread_local! {
        static KEYED: std::cell::RefCell<Option<(ReplicaKey, Hmac<Sha256>)>> =
            const { std::cell::RefCell::new(None) };
    }
    let mut mac = KEYED.with_borrow_mut(|kept| match kept {
        Some((k, mac)) if k == key => mac.clone(),
        _ => {
            let mac = keyed_lookup_mac(key);
            *kept = Some((key.clone(), mac.clone()));
            mac
        }
    });
    mac.update(nik.as_str().as_bytes());
    let mut text = [0u8; 64];
    // 32 bytes always fill 64 hex digits, which are ASCII.
    match hex::encode_to_slice(mac.finalize().into_bytes(), &mut text) {
        Ok(()) => match std::str::from_utf8(&text) {
            Ok(hex) => hex.to_owned(),
            Err(_) => unreachable!("hex digits are ASCII"),
        },
        Err(_) => unreachable!("32 bytes are 64 hex digits"),
    }
}

fn keyed_lookup_mac(key: &ReplicaKey) -> Hmac<Sha256> {
    // HMAC accepts a key of any length: this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(NIK_LOOKUP_PREFIX.as_bytes());
    mac
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Nik {
    // Debug output ends up in logs; never print the full NIK there.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({})", self.masked())
    }
}

impl FromStr for Nik {
    type Err = NikError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nik::parse(s)
    }
}

impl Serialize for Nik {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Nik {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Nik::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn parses_a_man_and_strips_separators() {
        let nik = Nik::parse("3372 01-120385.0001").unwrap();
        assert_eq!(nik.as_str(), "3372011203850001");
        assert_eq!(nik.sex(), Sex::L);
        assert_eq!(
            nik.birth_date_before(date!(2026 - 11 - 25)),
            date!(1985 - 03 - 12)
        );
        assert_eq!(nik.district_code().to_string(), "33.72.01");
        assert_eq!(nik.regency_code().to_string(), "33.72");
    }

    #[test]
    fn day_plus_forty_is_a_woman() {
        let nik = Nik::parse("3372055206010002").unwrap();
        assert_eq!(nik.sex(), Sex::P);
        assert_eq!(
            nik.birth_date_before(date!(2026 - 11 - 25)),
            date!(2001 - 06 - 12)
        );
    }

    #[test]
    fn century_is_the_latest_not_after_today() {
        let nik = Nik::parse("3372011203250001").unwrap();
        assert_eq!(
            nik.birth_date_before(date!(2026 - 11 - 25)),
            date!(2025 - 03 - 12)
        );
        assert_eq!(
            nik.birth_date_before(date!(2024 - 11 - 25)),
            date!(1925 - 03 - 12)
        );
    }

    #[test]
    fn rejections_name_the_wrong_part() {
        let cases = [
            ("337201120385001", "16 digits, got 15"),
            ("33720112038500011", "got 17"),
            ("3372O11203850001", "only digits"),
            ("0972011203850001", "province code 09"),
            ("3300011203850001", "regency/city code 00"),
            ("3372001203850001", "district (kecamatan) code 00"),
            ("3372013102990001", "birth date 310299 is not a date"),
            ("3372011213850001", "birth date 121385 is not a date"),
            ("3372017203850001", "birth date 720385 is not a date"),
            ("3372010003850001", "birth date 000385 is not a date"),
            ("3372011203850000", "serial 0000 is not allowed"),
        ];
        for (text, expected) in cases {
            let err = Nik::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err} lacks {expected}");
        }
    }

    #[test]
    fn leap_day_needs_a_leap_century() {
        // 29 Feb 00 is valid (2000); 29 Feb 01 is not in any century.
        assert!(Nik::parse("3372012902000001").is_ok());
        assert!(Nik::parse("3372012902010001").is_err());
    }

    #[test]
    fn masked_hides_the_middle() {
        let nik = Nik::parse("3372011203850001").unwrap();
        assert_eq!(nik.masked(), "3372**********01");
        assert_eq!(format!("{nik:?}"), "Nik(3372**********01)");
        assert_eq!(mask_nik("12345"), "*****");
    }

    #[test]
    fn mask_name_keeps_the_first_letter_of_each_word() {
        assert_eq!(mask_name("Budi Santoso"), "B*** S******");
        assert_eq!(mask_name("  Siti   Aminah "), "S*** A*****");
        assert_eq!(mask_name("Joko"), "J***");
        assert_eq!(mask_name("A"), "A");
        assert_eq!(mask_name("Muh. Ali-Akbar"), "M**. A**-*****");
        assert_eq!(mask_name("Ni'matul"), "N*'*****");
        assert_eq!(mask_name("Żaneta Ñúñez"), "Ż***** Ñ****");
        assert_eq!(mask_name(""), "");
        assert!(!mask_name("Budi Santoso").contains("udi"));
    }

    #[test]
    fn lookup_hash_is_hmac_sha256_of_the_prefixed_digits_with_the_key() {
        let key = ReplicaKey::from_bytes([7; 32]);
        let nik = Nik::parse("3372011203850001").unwrap();
        let h = nik_lookup_hash(&key, &nik);
        let mut mac = Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap();
        mac.update(b"sigap-nik-v2:3372011203850001");
        assert_eq!(h, hex::encode(mac.finalize().into_bytes()));
        assert_eq!(h.len(), 64);
        // Not the unkeyed hash of before, which anyone could recompute.
        use sha2::Digest;
        assert_ne!(
            h,
            hex::encode(Sha256::digest(b"sigap-nik-v1:3372011203850001"))
        );
        assert_ne!(
            h,
            hex::encode(Sha256::digest(b"sigap-nik-v2:3372011203850001"))
        );
        let other = Nik::parse("3372011203850002").unwrap();
        assert_ne!(nik_lookup_hash(&key, &other), h);
        // Another deployment's key gives another hash.
        assert_ne!(nik_lookup_hash(&ReplicaKey::from_bytes([8; 32]), &nik), h);
    }

    #[test]
    fn a_replica_key_reads_back_from_hex_and_never_prints() {
        let key = ReplicaKey::from_bytes([0xab; 32]);
        assert_eq!(ReplicaKey::from_hex(&key.to_hex()).unwrap(), key);
        assert!(ReplicaKey::from_hex("abcd").is_err());
        assert!(ReplicaKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{key:?}"), "ReplicaKey(..)");
    }

    #[test]
    fn the_replica_mask_keeps_only_the_last_two_digits() {
        let nik = Nik::parse("3372011203850001").unwrap();
        assert_eq!(nik.masked_for_replica(), "**************01");
    }

    #[test]
    fn matches_birth_date_checks_day_month_and_year() {
        let nik = Nik::parse("3372055206010002").unwrap();
        assert!(nik.matches_birth_date(date!(2001 - 06 - 12)));
        assert!(!nik.matches_birth_date(date!(2001 - 06 - 13)));
        assert!(!nik.matches_birth_date(date!(2002 - 06 - 12)));
    }

    #[test]
    fn serde_round_trip_and_rejects_bad_text() {
        let nik = Nik::parse("3372011203850001").unwrap();
        let json = serde_json::to_string(&nik).unwrap();
        assert_eq!(json, "\"3372011203850001\"");
        assert_eq!(serde_json::from_str::<Nik>(&json).unwrap(), nik);
        assert!(serde_json::from_str::<Nik>("\"3372011203850000\"").is_err());
    }

    /// `mask_name` as first written (a string a word, then joined): the
    /// one-string version must give the same for any text.
    fn mask_name_by_words(name: &str) -> String {
        let mut words = Vec::new();
        for word in name.split_whitespace() {
            let mut first = true;
            let masked: String = word
                .chars()
                .map(|c| {
                    if !c.is_alphabetic() {
                        c
                    } else if first {
                        first = false;
                        c
                    } else {
                        '*'
                    }
                })
                .collect();
            words.push(masked);
        }
        words.join(" ")
    }

    #[test]
    fn lookup_hashes_under_two_keys_in_turn_are_each_key_s_own() {
        // The kept keyed state must follow the key, in any order.
        let nik = Nik::parse("3372011203850001").unwrap();
        let direct = |k: u8| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&[k; 32]).unwrap();
            mac.update(b"sigap-nik-v2:3372011203850001");
            hex::encode(mac.finalize().into_bytes())
        };
        for k in [1u8, 2, 2, 1, 3, 1] {
            assert_eq!(
                nik_lookup_hash(&ReplicaKey::from_bytes([k; 32]), &nik),
                direct(k)
            );
        }
    }

    proptest! {
        #[test]
        fn mask_name_is_the_same_as_word_by_word(name in "[\\PC\t\n\u{3000}]{0,40}") {
            prop_assert_eq!(mask_name(&name), mask_name_by_words(&name));
        }

        #[test]
        fn lookup_hash_is_the_plain_hmac_for_any_key_and_nik(
            key in any::<[u8; 32]>(), other in any::<[u8; 32]>(), serial in 1u32..=9999,
        ) {
            let nik = Nik::parse(&format!("33720112038{serial:05}")).unwrap();
            for k in [key, other, key] {
                let mut mac = Hmac::<Sha256>::new_from_slice(&k).unwrap();
                mac.update(NIK_LOOKUP_PREFIX.as_bytes());
                mac.update(nik.as_str().as_bytes());
                prop_assert_eq!(
                    nik_lookup_hash(&ReplicaKey::from_bytes(k), &nik),
                    hex::encode(mac.finalize().into_bytes())
                );
            }
        }

        #[test]
        fn any_valid_nik_round_trips(
            prov in 11u32..=99, reg in 1u32..=99, dist in 1u32..=99,
            day in 1u32..=28, month in 1u32..=12, yy in 0u32..=99,
            woman in any::<bool>(), serial in 1u32..=9999,
        ) {
            let d = if woman { day + 40 } else { day };
            let text = format!("{prov:02}{reg:02}{dist:02}{d:02}{month:02}{yy:02}{serial:04}");
            let nik = Nik::parse(&text).unwrap();
            prop_assert_eq!(nik.to_string(), text.clone());
            prop_assert_eq!(Nik::parse(&nik.to_string()).unwrap(), nik.clone());
            prop_assert_eq!(nik.sex(), if woman { Sex::P } else { Sex::L });
            let born = nik.birth_date_before(time::macros::date!(2026 - 11 - 25));
            prop_assert_eq!(u32::from(born.day()), day);
            prop_assert!(nik.matches_birth_date(born));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = Nik::parse(&text);
        }
    }
}
