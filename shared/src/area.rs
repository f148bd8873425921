//! Area codes after Kemendagri: `33` province, `33.72` kota/kabupaten,
//! `33.72.01` kecamatan, `33.72.01.1001` kelurahan. RW and RT are numbers
//! inside a kelurahan; SIGAP writes them as `33.72.01.1001/3` (RW 3) and
//! `33.72.01.1001/3/5` (RW 3, RT 5) so that every level of the roll-up has
//! one code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not an area code, or an RW/RT number is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error(
        "area code {0:?} is not valid; expected e.g. 33.72 (kota), 33.72.01 (kecamatan), \
         33.72.01.1001 (kelurahan), 33.72.01.1001/3 (RW) or 33.72.01.1001/3/5 (RT)"
    )]
    Malformed(String),
    #[error("{what} {value:?} is not valid: must be a whole number from 1 to 999")]
    Number { what: &'static str, value: String },
    #[error("{0} is not a kelurahan code (expected four parts, like 33.72.01.1001)")]
    NotKelurahan(String),
}

/// The level of an area in the roll-up, from the widest to the narrowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Province,
    Kota,
    Kecamatan,
    Kelurahan,
    Rw,
    Rt,
}

impl Level {
    /// The name users know the level by.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::Kota => "kota",
            Level::Kecamatan => "kecamatan",
            Level::Kelurahan => "kelurahan",
            Level::Rw => "rw",
            Level::Rt => "rt",
        }
    }
}

/// An area at any level, from province down to RT.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AreaCode {
    province: u8,
    regency: Option<u8>,
    district: Option<u8>,
    village: Option<u16>,
    rw: Option<u16>,
    rt: Option<u16>,
}

/// Parses an RW or RT number (1..=999); leading zeros are fine ("005").
pub fn parse_rw_rt(what: &'static str, text: &str) -> Result<u16, AreaError> {
    let bad = || AreaError::Number {
        what,
        value: text.to_string(),
    };
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 4 {
        return Err(bad());
    }
    let n: u16 = t.parse().map_err(|_| bad())?;
    if (1..=999).contains(&n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

impl AreaCode {
    /// A kota/kabupaten from its province and regency numbers.
    pub fn kota(province: u32, regency: u32) -> AreaCode {
        AreaCode {
            province: province.min(99) as u8,
            regency: Some(regency.min(99) as u8),
            district: None,
            village: None,
            rw: None,
            rt: None,
        }
    }

    /// A kecamatan from its province, regency and district numbers.
    pub fn kecamatan(province: u32, regency: u32, district: u32) -> AreaCode {
        AreaCode {
            district: Some(district.min(99) as u8),
            ..AreaCode::kota(province, regency)
        }
    }

    /// Parses any level. Whitespace around the text is ignored.
    pub fn parse(text: &str) -> Result<AreaCode, AreaError> {
        let malformed = || AreaError::Malformed(text.to_string());
        let t = text.trim();
        let mut slash = t.split('/');
        let dotted = slash.next().ok_or_else(malformed)?;
        let rw = slash.next();
        let rt = slash.next();
        if slash.next().is_some() {
            return Err(malformed());
        }
        // Parsed in place (no list of parts): every CSV row and request
        // names an area, and the area table parses 120 at start.
        let widths = [2, 2, 2, 4];
        let mut nums = [0u16; 4];
        let mut n = 0;
        for p in dotted.split('.') {
            if n == 4 || p.len() != widths[n] || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            nums[n] = p
                .bytes()
                .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
            if nums[n] == 0 {
                return Err(malformed());
            }
            n += 1;
        }
        if rw.is_some() && n != 4 {
            return Err(malformed());
        }
        let code = AreaCode {
            province: nums[0] as u8,
            regency: (n > 1).then_some(nums[1] as u8),
            district: (n > 2).then_some(nums[2] as u8),
            village: (n > 3).then_some(nums[3]),
            rw: rw.map(|r| parse_rw_rt("RW", r)).transpose()?,
            rt: rt.map(|r| parse_rw_rt("RT", r)).transpose()?,
        };
        Ok(code)
    }

    /// Parses a code that must be a kelurahan.
    pub fn parse_kelurahan(text: &str) -> Result<AreaCode, AreaError> {
        let code = AreaCode::parse(text)?;
        if code.level() == Level::Kelurahan {
            Ok(code)
        } else {
            Err(AreaError::NotKelurahan(code.to_string()))
        }
    }

    /// How deep this code is.
    pub fn level(&self) -> Level {
        if self.rt.is_some() {
            Level::Rt
        } else if self.rw.is_some() {
            Level::Rw
        } else if self.village.is_some() {
            Level::Kelurahan
        } else if self.district.is_some() {
            Level::Kecamatan
        } else if self.regency.is_some() {
            Level::Kota
        } else {
            Level::Province
        }
    }

    /// The area one level up; `None` for a province.
    pub fn parent(&self) -> Option<AreaCode> {
        let mut p = *self;
        match self.level() {
            Level::Province => return None,
            Level::Kota => p.regency = None,
            Level::Kecamatan => p.district = None,
            Level::Kelurahan => p.village = None,
            Level::Rw => p.rw = None,
            Level::Rt => p.rt = None,
        }
        Some(p)
    }

    /// All areas above this one, the nearest first, ending at the province.
    pub fn ancestors(&self) -> Vec<AreaCode> {
        let mut out = Vec::with_capacity(5);
        let mut cur = self.parent();
        while let Some(c) = cur {
            out.push(c);
            cur = c.parent();
        }
        out
    }

    /// This area and all above it, the narrowest first.
    pub fn self_and_ancestors(&self) -> Vec<AreaCode> {
        let mut out = vec![*self];
        out.extend(self.ancestors());
        out
    }

    /// Whether `other` is this area or lies inside it.
    pub fn contains(&self, other: &AreaCode) -> bool {
        other == self || other.ancestors().contains(self)
    }

    /// Kelurahan number `village` of this kecamatan (1001 is the first
    /// kelurahan, 2001 the first desa).
    pub fn with_village(&self, village: u16) -> Result<AreaCode, AreaError> {
        if self.level() != Level::Kecamatan || village == 0 || village > 9999 {
            return Err(AreaError::Malformed(format!("{self}.{village}")));
        }
        Ok(AreaCode {
            village: Some(village),
            ..*self
        })
    }

    /// The RW `rw` inside this kelurahan.
    pub fn with_rw(&self, rw: u16) -> Result<AreaCode, AreaError> {
        if self.level() != Level::Kelurahan {
            return Err(AreaError::NotKelurahan(self.to_string()));
        }
        Ok(AreaCode {
            rw: Some(rw),
            ..*self
        })
    }

    /// The RT `rt` inside RW `rw` of this kelurahan.
    pub fn with_rw_rt(&self, rw: u16, rt: u16) -> Result<AreaCode, AreaError> {
        let mut c = self.with_rw(rw)?;
        c.rt = Some(rt);
        Ok(c)
    }

    /// The kelurahan this code lies in, if it is at kelurahan level or below.
    pub fn kelurahan(&self) -> Option<AreaCode> {
        self.village.map(|_| AreaCode {
            rw: None,
            rt: None,
            ..*self
        })
    }

    /// The kecamatan this code lies in, if it is at kecamatan level or below.
    pub fn kecamatan_code(&self) -> Option<AreaCode> {
        self.district.map(|_| AreaCode {
            village: None,
            rw: None,
            rt: None,
            ..*self
        })
    }

    /// The RW number, for RW and RT codes.
    pub fn rw(&self) -> Option<u16> {
        self.rw
    }

    /// The RT number, for RT codes.
    pub fn rt(&self) -> Option<u16> {
        self.rt
    }
}

/// Hashes the code as one number: the derived hash fed every part to the
/// hasher separately, which showed in coverage trees of thousands of nodes.
impl std::hash::Hash for AreaCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Each part shifted one up so that None (0) differs from Some(0).
        let part = |v: Option<u16>| u128::from(v.map_or(0, |x| u32::from(x) + 1));
        let packed = u128::from(self.province)
            | part(self.regency.map(u16::from)) << 8
            | part(self.district.map(u16::from)) << 17
            | part(self.village) << 26
            | part(self.rw) << 43
            | part(self.rt) << 60;
        state.write_u128(packed);
    }
}

/// An area code as text, kept on the stack. Codes are written for every
/// change the server applies (the person's kelurahan, the counters' rows,
/// the kelurahan's name looked up), and a `String` for each was ~3,600
/// instructions a change (callgrind, BENCHMARKS.md, session 16).
#[derive(Clone, Copy)]
pub struct AreaText {
    /// Room for the longest code any field values allow (29 bytes).
    bytes: [u8; 32],
    len: usize,
}

impl AreaText {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits, dots and slashes are written.
        self.bytes
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `v` in decimal, left-padded with zeros to at least `width`.
    fn push_padded(&mut self, v: u16, width: usize) {
        let mut buf = [0; 20];
        for &d in crate::digits::padded(&mut buf, u64::from(v), width) {
            self.push(d);
        }
    }
}

impl std::ops::Deref for AreaText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AreaCode {
    /// The code as written (`33.72.01.1001/3/12`), without allocating.
    pub fn text(&self) -> AreaText {
        let mut out = AreaText {
            bytes: [0; 32],
            len: 0,
        };
        out.push_padded(u16::from(self.province), 2);
        let parts = [
            (self.regency.map(u16::from), b'.', 2),
            (self.district.map(u16::from), b'.', 2),
            (self.village, b'.', 4),
            (self.rw, b'/', 0),
            (self.rt, b'/', 0),
        ];
        for (part, sep, width) in parts {
            if let Some(v) = part {
                out.push(sep);
                out.push_padded(v, width);
            }
        }
        out
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AreaCode({self})")
    }
}

impl FromStr for AreaCode {
    type Err = AreaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AreaCode::parse(s)
    }
}

// Written and read without a `String` of their own: the pull feed
// writes a kelurahan for each of up to a million persons, and reads one
// from each stored record.
impl Serialize for AreaCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for AreaCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(AreaVisitor)
    }
}

struct AreaVisitor;

impl serde::de::Visitor<'_> for AreaVisitor {
    type Value = AreaCode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an area code such as 33.72.01.1001")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<AreaCode, E> {
        AreaCode::parse(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_level() {
        let cases = [
            ("33", Level::Province),
            ("33.72", Level::Kota),
            ("33.72.01", Level::Kecamatan),
            ("33.72.01.1001", Level::Kelurahan),
            ("33.72.01.1001/3", Level::Rw),
            ("33.72.01.1001/003/005", Level::Rt),
        ];
        for (text, level) in cases {
            assert_eq!(AreaCode::parse(text).unwrap().level(), level, "{text}");
        }
        assert_eq!(
            AreaCode::parse("33.72.01.1001/003/005")
                .unwrap()
                .to_string(),
            "33.72.01.1001/3/5"
        );
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "3",
            "33.7",
            "33.72.1",
            "33.72.01.101",
            "33.72.01.1001.1",
            "33.72/1",
            "33.72.01.1001/0",
            "33.72.01.1001/1000",
            "33.72.01.1001/1/2/3",
            "aa.72",
            "33.00",
            "33.72.01.1001/x",
        ] {
            assert!(AreaCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parent_and_ancestors_walk_up_to_the_province() {
        let rt = AreaCode::parse("33.72.01.1001/3/5").unwrap();
        let names: Vec<String> = rt.ancestors().iter().map(|c| c.to_string()).collect();
        assert_eq!(
            names,
            [
                "33.72.01.1001/3",
                "33.72.01.1001",
                "33.72.01",
                "33.72",
                "33"
            ]
        );
        assert_eq!(AreaCode::parse("33").unwrap().parent(), None);
    }

    #[test]
    fn contains_is_ancestor_or_self() {
        let kota = AreaCode::parse("33.72").unwrap();
        let kel = AreaCode::parse("33.72.05.1001").unwrap();
        let other = AreaCode::parse("33.71.05.1001").unwrap();
        assert!(kota.contains(&kel));
        assert!(kel.contains(&kel));
        assert!(!kel.contains(&kota));
        assert!(!kota.contains(&other));
    }

    #[test]
    fn rw_rt_numbers_are_checked() {
        assert_eq!(parse_rw_rt("RT", "005").unwrap(), 5);
        let err = parse_rw_rt("RT", "0").unwrap_err().to_string();
        assert!(err.contains("RT \"0\""), "{err}");
        assert!(parse_rw_rt("RW", "-1").is_err());
        assert!(parse_rw_rt("RW", "").is_err());
    }

    #[test]
    fn kelurahan_only_where_asked() {
        assert!(AreaCode::parse_kelurahan("33.72.01.1001").is_ok());
        let err = AreaCode::parse_kelurahan("33.72.01")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a kelurahan"), "{err}");
    }

    #[test]
    fn json_reads_an_escaped_code_and_says_what_is_wrong_with_a_bad_one() {
        // Escapes leave no text to borrow: the visitor gets it unescaped.
        let code: AreaCode = serde_json::from_str(r#""33.72\u002e01.1001""#).unwrap();
        assert_eq!(code.to_string(), "33.72.01.1001");
        let bad = serde_json::from_str::<AreaCode>(r#""33.72.1""#).unwrap_err();
        assert!(bad.to_string().contains("33.72.1"), "{bad}");
        let not_text = serde_json::from_str::<AreaCode>("3372").unwrap_err();
        assert!(not_text.to_string().contains("an area code"), "{not_text}");
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(p in 11u32..99, r in 1u32..99, d in 1u32..99,
                                    v in 1u16..9999, rw in 1u16..999, rt in 1u16..999) {
            let kel = AreaCode::parse(&format!("{p:02}.{r:02}.{d:02}.{v:04}")).unwrap();
            let code = kel.with_rw_rt(rw, rt).unwrap();
            prop_assert_eq!(AreaCode::parse(&code.to_string()).unwrap(), code);
            prop_assert_eq!(code.kelurahan(), Some(kel));
            prop_assert!(kel.contains(&code));
            // As JSON: the text, read back the same.
            let json = serde_json::to_string(&code).unwrap();
            prop_assert_eq!(&json, &format!("\"{code}\""));
            prop_assert_eq!(serde_json::from_str::<AreaCode>(&json).unwrap(), code);
        }

        /// The text written without allocating is what `format!` writes,
        /// for every level and any field values, the widest included.
        #[test]
        fn text_is_what_format_writes(p in any::<u8>(), r in any::<Option<u8>>(),
                                      d in any::<Option<u8>>(), v in any::<Option<u16>>(),
                                      rw in any::<Option<u16>>(), rt in any::<Option<u16>>()) {
            let code = AreaCode { province: p, regency: r, district: d, village: v, rw, rt };
            let mut want = format!("{p:02}");
            for (part, sep, width) in [
                (r.map(u16::from), '.', 2),
                (d.map(u16::from), '.', 2),
                (v, '.', 4),
                (rw, '/', 0),
                (rt, '/', 0),
            ] {
                if let Some(x) = part {
                    want.push_str(&format!("{sep}{x:0width$}"));
                }
            }
            let text = code.text();
            prop_assert_eq!(text.as_str(), want.as_str());
            prop_assert_eq!(code.to_string(), want);
        }
    }
}
