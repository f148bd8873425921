//! Turning the text an agent typed (flags, prompts, CSV cells) into the
//! shared domain types. The rules themselves live in `sigap-shared`.

use std::collections::BTreeSet;

use serde::Deserialize;
use sigap_shared::area::parse_rw_rt;
use sigap_shared::registration::parse_programs as shared_parse_programs;
use sigap_shared::{AreaCode, Category, Fields, Issue, Nik, Program, Registration, Sex, Status};
use time::Date;

use crate::cli::FieldArgs;
use crate::i18n::problems::Problem;

/// The fields of a registration as text, from flags or a CSV row.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawFields {
    #[serde(default)]
    pub nik: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub kelurahan: Option<String>,
    #[serde(default)]
    pub rw: Option<String>,
    #[serde(default)]
    pub rt: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub occupation: Option<String>,
    #[serde(default)]
    pub employer: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub programs: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub void_reason: Option<String>,
}

impl RawFields {
    pub fn from_args(nik: Option<String>, a: &FieldArgs) -> RawFields {
        RawFields {
            nik,
            name: a.name.clone(),
            birth_date: a.birth_date.clone(),
            sex: a.sex.clone(),
            kelurahan: a.kelurahan.clone(),
            rw: a.rw.clone(),
            rt: a.rt.clone(),
            category: a.category.clone(),
            occupation: a.occupation.clone(),
            employer: a.employer.clone(),
            phone: a.phone.clone(),
            programs: a.programs.clone(),
            status: None,
            void_reason: None,
        }
    }

    /// Blank cells count as not given.
    pub fn drop_blanks(mut self) -> RawFields {
        for f in [
            &mut self.nik,
            &mut self.name,
            &mut self.birth_date,
            &mut self.sex,
            &mut self.kelurahan,
            &mut self.rw,
            &mut self.rt,
            &mut self.category,
            &mut self.occupation,
            &mut self.employer,
            &mut self.phone,
            &mut self.programs,
            &mut self.status,
            &mut self.void_reason,
        ] {
            if f.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *f = None;
            }
        }
        self
    }

    /// Parses every given field (not the NIK). All problems are collected.
    pub fn parse_fields(&self) -> Result<Fields, Vec<Issue>> {
        let mut errors = Vec::new();
        let mut out = Fields::default();
        macro_rules! take {
            ($f:ident, $parse:expr) => {
                if let Some(text) = &self.$f {
                    match $parse(text.as_str()) {
                        Ok(v) => out.$f = Some(v),
                        Err(p) => errors.push(p.issue_of(stringify!($f))),
                    }
                }
            };
        }
        take!(name, |s: &str| Ok::<_, Problem>(s.trim().to_string()));
        take!(birth_date, parse_birth_date);
        take!(sex, parse_sex);
        take!(kelurahan, parse_kelurahan);
        take!(rw, |s| parse_number("RW", s));
        take!(rt, |s| parse_number("RT", s));
        take!(category, parse_category);
        take!(occupation, |s: &str| Ok::<_, Problem>(s.trim().to_string()));
        take!(employer, |s: &str| Ok::<_, Problem>(s.trim().to_string()));
        take!(phone, |s: &str| Ok::<_, Problem>(s.trim().to_string()));
        take!(programs, parse_programs);
        take!(status, |s: &str| s
            .parse::<Status>()
            .map_err(|e| Problem::word(&e)));
        take!(void_reason, |s: &str| Ok::<_, Problem>(
            s.trim().to_string()
        ));
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Parses a complete new registration: the NIK, every required field
    /// (programmes default to those the category requires) and validation.
    pub fn to_registration(&self) -> Result<(Registration, Fields), Vec<Issue>> {
        let mut errors = Vec::new();
        let nik = match self.nik.as_deref() {
            Some(text) => match parse_nik(text) {
                Ok(n) => Some(n),
                Err(p) => {
                    errors.push(p.issue_of("nik"));
                    None
                }
            },
            None => {
                errors.push(required("nik"));
                None
            }
        };
        let mut fields = match self.parse_fields() {
            Ok(f) => f,
            Err(mut e) => {
                errors.append(&mut e);
                Fields::default()
            }
        };
        for (name, given) in self.required_presence() {
            if !given {
                errors.push(required(name));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if fields.status.is_none() {
            fields.status = Some(Status::Registered);
        }
        complete_defaults(&mut fields);
        let nik = nik.ok_or_else(Vec::new)?;
        let reg = fields.to_registration(&nik).map_err(|missing| {
            missing
                .iter()
                .map(|f| required(f.as_str()))
                .collect::<Vec<_>>()
        })?;
        Ok((reg, fields))
    }

    /// The required fields and whether each was given.
    pub fn required_presence(&self) -> [(&'static str, bool); 8] {
        [
            ("name", self.name.is_some()),
            ("birth_date", self.birth_date.is_some()),
            ("sex", self.sex.is_some()),
            ("kelurahan", self.kelurahan.is_some()),
            ("rw", self.rw.is_some()),
            ("rt", self.rt.is_some()),
            ("category", self.category.is_some()),
            ("occupation", self.occupation.is_some()),
        ]
    }
}

/// Fills what a new registration writes when not given: programmes from the
/// category, and empty optional texts (so every field is stamped).
pub fn complete_defaults(fields: &mut Fields) {
    if fields.programs.is_none()
        && let Some(c) = fields.category
    {
        fields.programs = Some(c.required_programs().iter().copied().collect());
    }
    for f in [
        &mut fields.phone,
        &mut fields.employer,
        &mut fields.void_reason,
    ] {
        if f.is_none() {
            *f = Some(String::new());
        }
    }
}

fn required(field: &str) -> Issue {
    Problem::new("required", &[("field", field.to_string())]).issue_of(field)
}

pub fn parse_nik(text: &str) -> Result<Nik, Problem> {
    Nik::parse(text.trim()).map_err(|e| Problem::nik(&e, text))
}

/// `YYYY-MM-DD`, or `DD-MM-YYYY` as written on paper forms (`/` and `.`
/// also accepted as separators).
pub fn parse_birth_date(text: &str) -> Result<Date, Problem> {
    let bad = || Problem::new("invalid_birth_date", &[("text", text.to_string())]);
    let t = text.trim();
    let parts: Vec<&str> = t.split(['-', '/', '.']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let (y, m, d) = if parts[0].len() == 4 {
        (parts[0], parts[1], parts[2])
    } else if parts[2].len() == 4 {
        (parts[2], parts[1], parts[0])
    } else {
        return Err(bad());
    };
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    let day: u8 = d.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

pub fn parse_sex(text: &str) -> Result<Sex, Problem> {
    text.parse::<Sex>().map_err(|e| Problem::word(&e))
}

pub fn parse_category(text: &str) -> Result<Category, Problem> {
    text.parse::<Category>().map_err(|e| Problem::word(&e))
}

/// A kelurahan code, or a name (or part of one) of the area table.
pub fn parse_kelurahan(text: &str) -> Result<AreaCode, Problem> {
    sigap_shared::wilayah::find_kelurahan(text).map_err(|e| Problem::place(&e))
}

/// An RW or RT number (`what`: `RW` or `RT`).
pub fn parse_number(what: &'static str, text: &str) -> Result<u16, Problem> {
    parse_rw_rt(what, text).map_err(|e| Problem::area(&e))
}

/// A programme list; commas, semicolons or spaces separate the words.
pub fn parse_programs(text: &str) -> Result<BTreeSet<Program>, Problem> {
    let normal: String = text
        .chars()
        .map(|c| {
            if c == ';' || c.is_whitespace() {
                ','
            } else {
                c
            }
        })
        .collect();
    shared_parse_programs(&normal).map_err(|e| Problem::word(&e))
}

/// Today's date for validation.
pub fn today() -> Date {
    sigap_shared::today()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_date_accepts_both_orders() {
        let d = time::macros::date!(1985 - 03 - 12);
        assert_eq!(parse_birth_date("1985-03-12"), Ok(d));
        assert_eq!(parse_birth_date("12-03-1985"), Ok(d));
        assert_eq!(parse_birth_date("12/03/1985"), Ok(d));
        assert!(parse_birth_date("1985-13-12").is_err());
        assert!(parse_birth_date("12-03-85").is_err());
    }

    #[test]
    fn programs_accept_several_separators() {
        assert_eq!(parse_programs("jkk; jkm jht").unwrap().len(), 3);
        assert!(parse_programs("jkk,xyz").is_err());
    }
}
