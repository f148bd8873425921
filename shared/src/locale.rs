//! The two languages SIGAP speaks, and how each writes numbers and dates.
//!
//! Bahasa Indonesia is the default: agents and supervisors read it first.
//! Indonesian groups thousands with `.` and writes decimals with `,`
//! (`100.512`, `44,24%`); English the other way round (`100,512`,
//! `44.24%`). Message texts live in each binary's catalogues; only the
//! number and date shapes, which both binaries print, live here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::coverage::Percent;

/// A language of SIGAP's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Bahasa Indonesia.
    #[default]
    Id,
    /// English.
    En,
}

/// A language tag SIGAP does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("language {0:?} is not available: use id (Bahasa Indonesia) or en (English)")]
pub struct LangError(pub String);

impl Lang {
    /// Both languages, Indonesian first.
    pub const ALL: [Lang; 2] = [Lang::Id, Lang::En];

    /// The BCP 47 tag: `id` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// Reads a tag or a POSIX locale: `id`, `en`, `id-ID`, `en_US.UTF-8`,
    /// `in` (Java's old code for Indonesian). `None` for anything else,
    /// including `C` and `POSIX`, which say nothing about the language.
    pub fn from_tag(text: &str) -> Option<Lang> {
        let primary = text
            .trim()
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "id" | "in" | "ind" => Some(Lang::Id),
            "en" | "eng" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language a POSIX environment asks for: `LC_ALL`, then
    /// `LC_MESSAGES`, then `LANG`, the first one set and not empty
    /// decides; a locale SIGAP does not speak (or `C`) gives `None`.
    /// `var` reads a variable (the caller's environment, or a test's).
    pub fn from_locale_vars(var: impl Fn(&str) -> Option<String>) -> Option<Lang> {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| var(name))
            .map(|v| v.trim().to_string())
            .find(|v| !v.is_empty())
            .and_then(|v| Lang::from_tag(&v))
    }

    /// The best of an HTTP `Accept-Language` header's languages (by
    /// `q`, then order), or `None` when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(u32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(parse_quality)
                .unwrap_or(1000);
            if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    fn thousands_separator(self) -> char {
        match self {
            Lang::Id => '.',
            Lang::En => ',',
        }
    }

    fn decimal_mark(self) -> char {
        match self {
            Lang::Id => ',',
            Lang::En => '.',
        }
    }

    /// A whole number with thousands grouped: `100.512` / `100,512`.
    pub fn int(self, n: impl Into<i128>) -> String {
        let n: i128 = n.into();
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(self.thousands_separator());
            }
            out.push(c);
        }
        out
    }

    /// Signed basis points as a number with two decimals: 1278 → `12,78`
    /// / `12.78`; -5 → `-0,05`.
    pub fn points(self, bp: i64) -> String {
        let sign = if bp < 0 { "-" } else { "" };
        let a = bp.unsigned_abs();
        format!(
            "{sign}{}{}{:02}",
            self.int(a / 100),
            self.decimal_mark(),
            a % 100
        )
    }

    /// A percentage: `44,24%` / `44.24%`.
    pub fn percent(self, p: Percent) -> String {
        format!("{}%", self.points(i64::from(p.0)))
    }

    /// A date as people write it: `12 Maret 1985` / `12 March 1985`.
    pub fn date(self, d: Date) -> String {
        format!("{} {} {}", d.day(), self.month_name(d.month()), d.year())
    }

    /// A short date for tables and chart labels: `12 Mar 1985`.
    pub fn short_date(self, d: Date) -> String {
        let month: String = self.month_name(d.month()).chars().take(3).collect();
        format!("{} {} {}", d.day(), month, d.year())
    }

    /// The month's name in this language.
    pub fn month_name(self, m: time::Month) -> &'static str {
        use time::Month::*;
        match (self, m) {
            (Lang::Id, January) => "Januari",
            (Lang::Id, February) => "Februari",
            (Lang::Id, March) => "Maret",
            (Lang::Id, April) => "April",
            (Lang::Id, May) => "Mei",
            (Lang::Id, June) => "Juni",
            (Lang::Id, July) => "Juli",
            (Lang::Id, August) => "Agustus",
            (Lang::Id, September) => "September",
            (Lang::Id, October) => "Oktober",
            (Lang::Id, November) => "November",
            (Lang::Id, December) => "Desember",
            (Lang::En, January) => "January",
            (Lang::En, February) => "February",
            (Lang::En, March) => "March",
            (Lang::En, April) => "April",
            (Lang::En, May) => "May",
            (Lang::En, June) => "June",
            (Lang::En, July) => "July",
            (Lang::En, August) => "August",
            (Lang::En, September) => "September",
            (Lang::En, October) => "October",
            (Lang::En, November) => "November",
            (Lang::En, December) => "December",
        }
    }
}

/// `q=0.8` → 800; `None` when it is not a quality value.
fn parse_quality(text: &str) -> Option<u32> {
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let frac_value: u32 = format!("{frac:0<3}").parse().ok()?;
    let q = whole * 1000 + frac_value;
    (q <= 1000).then_some(q)
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Lang {
    type Err = LangError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::from_tag(s).ok_or_else(|| LangError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(Lang::Id.int(100_512u32), "100.512");
        assert_eq!(Lang::En.int(100_512u32), "100,512");
        assert_eq!(Lang::Id.int(227_164_000u64), "227.164.000");
        assert_eq!(Lang::Id.int(999u32), "999");
        assert_eq!(Lang::Id.int(0u8), "0");
        assert_eq!(Lang::En.int(-49_095i64), "-49,095");
        assert_eq!(Lang::Id.percent(Percent(4424)), "44,24%");
        assert_eq!(Lang::En.percent(Percent(5702)), "57.02%");
        assert_eq!(Lang::Id.points(-5), "-0,05");
        assert_eq!(Lang::En.points(1278), "12.78");
        assert_eq!(Lang::Id.points(123_456), "1.234,56");
    }

    #[test]
    fn dates_use_the_language_s_month_names() {
        assert_eq!(Lang::Id.date(date!(1985 - 03 - 12)), "12 Maret 1985");
        assert_eq!(Lang::En.date(date!(1985 - 03 - 12)), "12 March 1985");
        assert_eq!(Lang::Id.short_date(date!(2025 - 08 - 17)), "17 Agu 2025");
    }

    #[test]
    fn tags_and_locales_are_read() {
        assert_eq!(Lang::from_tag("id-ID"), Some(Lang::Id));
        assert_eq!(Lang::from_tag("en_US.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::from_tag("in_ID"), Some(Lang::Id));
        assert_eq!(Lang::from_tag("C"), None);
        assert_eq!(Lang::from_tag("fr_FR"), None);
        assert!("xx".parse::<Lang>().is_err());
        let env = |lc_all: &'static str, lang: &'static str| {
            move |name: &str| match name {
                "LC_ALL" => Some(lc_all.to_string()),
                "LANG" => Some(lang.to_string()),
                _ => None,
            }
        };
        assert_eq!(
            Lang::from_locale_vars(env("", "en_GB.UTF-8")),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_locale_vars(env("id_ID.UTF-8", "en_GB")),
            Some(Lang::Id)
        );
        assert_eq!(Lang::from_locale_vars(env("C.UTF-8", "en_GB")), None);
        assert_eq!(Lang::from_locale_vars(|_| None), None);
    }

    #[test]
    fn accept_language_picks_the_best_it_speaks() {
        assert_eq!(
            Lang::from_accept_language("fr-FR, en;q=0.8, id;q=0.9"),
            Some(Lang::Id)
        );
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de, fr;q=0.5"), None);
        assert_eq!(
            Lang::from_accept_language("id;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language(""), None);
        assert_eq!(Lang::from_accept_language("en;q=bogus"), Some(Lang::En));
    }
}
