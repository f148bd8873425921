//! One registration as an agent typed it, checked: a row of a CSV file of
//! `sigap import` (and the same text from `sigap register`'s flags and
//! prompts) turned into a registration, or what is wrong with each field.
//!
//! Pure, so that a fuzz target can feed it anything (`fuzz/`): no I/O and
//! no wording. What is wrong is a [`Problem`], a stable code and the
//! values its message names; the field tool words each code in the
//! agent's language from its catalogues (`issue-<code>`). Reading the CSV
//! itself (quotes, columns, UTF-8, line numbers) is the field tool's,
//! which reads the file; [`crate::csv_format`] holds its decisions that
//! need no I/O.

use std::collections::BTreeSet;

use serde::Deserialize;
use time::Date;

use crate::area::{AreaError, parse_rw_rt};
use crate::nik::NikError;
use crate::registration::{ParseEnumError, parse_programs as parse_program_words};
use crate::wilayah::{self, PlaceError};
use crate::{AreaCode, Category, Fields, Nik, Program, Registration, Sex, Status, Validation};

/// What is wrong with one typed value: a stable code, and the values its
/// message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Problem {
    pub fn new(code: &'static str, args: &[(&'static str, String)]) -> Problem {
        Problem {
            code,
            args: args.to_vec(),
        }
    }

    /// A NIK that does not parse; `given` is the text as typed.
    pub fn nik(e: &NikError, given: &str) -> Problem {
        let nik = ("nik", given.trim().to_string());
        let (code, arg) = match e {
            NikError::Length(n) => ("invalid_nik_length", ("digits", n.to_string())),
            NikError::NotDigits(c) => ("invalid_nik_digits", ("found", c.to_string())),
            NikError::Province(p) => ("invalid_nik_province", ("code", p.clone())),
            NikError::Regency(p) => ("invalid_nik_regency", ("code", p.clone())),
            NikError::District(p) => ("invalid_nik_district", ("code", p.clone())),
            NikError::BirthDate(d) => ("invalid_nik_birth_date", ("digits", d.clone())),
            NikError::Serial(s) => ("invalid_nik_serial", ("code", s.clone())),
        };
        Problem::new(code, &[nik, arg])
    }

    pub fn area(e: &AreaError) -> Problem {
        match e {
            AreaError::Malformed(v) => Problem::new("invalid_area_code", &[("value", v.clone())]),
            AreaError::Number { what, value } => Problem::new(
                "invalid_rw_rt",
                &[("field", (*what).to_string()), ("value", value.clone())],
            ),
            AreaError::NotKelurahan(v) => {
                Problem::new("not_kelurahan_code", &[("value", v.clone())])
            }
        }
    }

    pub fn place(e: &PlaceError) -> Problem {
        match e {
            PlaceError::Code(a) => Problem::area(a),
            PlaceError::Ambiguous { text, candidates } => {
                // The message lists ten at most; a one-letter query would
                // otherwise print most of the table.
                let mut list: Vec<String> =
                    candidates.iter().take(10).map(|c| c.to_string()).collect();
                if candidates.len() > 10 {
                    list.push("…".into());
                }
                Problem::new(
                    "ambiguous_kelurahan",
                    &[
                        ("text", text.clone()),
                        ("count", candidates.len().to_string()),
                        ("candidates", list.join(", ")),
                    ],
                )
            }
            PlaceError::Unknown(t) => Problem::new("unknown_place", &[("text", t.clone())]),
            PlaceError::Empty => Problem::new("empty_kelurahan", &[]),
        }
    }

    pub fn word(e: &ParseEnumError) -> Problem {
        Problem::new(
            "invalid_choice",
            &[
                ("what", e.what.to_string()),
                ("value", e.value.clone()),
                ("allowed", e.allowed.to_string()),
            ],
        )
    }
}

/// A problem of one field, named as the column and the flag are
/// (`birth_date`, `programs`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub problem: Problem,
}

impl FieldProblem {
    fn of(field: &str, problem: Problem) -> FieldProblem {
        FieldProblem {
            field: field.to_string(),
            problem,
        }
    }
}

/// The fields of a registration as text, from flags or a CSV row (whose
/// header names the columns as these fields).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RowFields {
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

impl RowFields {
    /// Blank cells count as not given.
    pub fn drop_blanks(mut self) -> RowFields {
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
    pub fn fields(&self) -> Result<Fields, Vec<FieldProblem>> {
        let mut errors = Vec::new();
        let mut out = Fields::default();
        macro_rules! take {
            ($f:ident, $parse:expr) => {
                if let Some(text) = &self.$f {
                    match $parse(text.as_str()) {
                        Ok(v) => out.$f = Some(v),
                        Err(p) => errors.push(FieldProblem::of(stringify!($f), p)),
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

    /// Parses a complete new registration: the NIK and every required
    /// field (programmes default to those the category requires). Not
    /// validated yet (see [`check_row`]).
    pub fn registration(&self) -> Result<(Registration, Fields), Vec<FieldProblem>> {
        let mut errors = Vec::new();
        let nik = match self.nik.as_deref() {
            Some(text) => match parse_nik(text) {
                Ok(n) => Some(n),
                Err(p) => {
                    errors.push(FieldProblem::of("nik", p));
                    None
                }
            },
            None => {
                errors.push(required("nik"));
                None
            }
        };
        let mut fields = match self.fields() {
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

/// One import row checked on its own (not against the database): the
/// registration, its fields as stored and sent, and what validation
/// found. A row with validation errors is still returned: a row whose
/// person is already registered says that first.
#[derive(Debug, Clone)]
pub struct CheckedRow {
    pub reg: Registration,
    pub fields: Fields,
    pub validation: Validation,
}

/// Checks one row of an import as of `today`: blank cells count as not
/// given, every field is parsed, and the registration validated.
pub fn check_row(row: RowFields, today: Date) -> Result<CheckedRow, Vec<FieldProblem>> {
    let (reg, fields) = row.drop_blanks().registration()?;
    let validation = reg.validate(today);
    Ok(CheckedRow {
        reg,
        fields,
        validation,
    })
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

fn required(field: &str) -> FieldProblem {
    FieldProblem::of(
        field,
        Problem::new("required", &[("field", field.to_string())]),
    )
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
    wilayah::find_kelurahan(text).map_err(|e| Problem::place(&e))
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
    parse_program_words(&normal).map_err(|e| Problem::word(&e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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

    fn row(nik: &str, birth_date: &str) -> RowFields {
        RowFields {
            nik: Some(nik.into()),
            name: Some(" Budi Santoso ".into()),
            birth_date: Some(birth_date.into()),
            sex: Some("L".into()),
            kelurahan: Some("pajang".into()),
            rw: Some("3".into()),
            rt: Some("5".into()),
            category: Some("bpu".into()),
            occupation: Some("pedagang".into()),
            employer: Some(" ".into()),
            ..RowFields::default()
        }
    }

    #[test]
    fn a_row_becomes_a_registration_with_defaults() {
        let today = time::macros::date!(2026 - 11 - 25);
        let checked = check_row(row("3372011203850001", "12-03-1985"), today).unwrap();
        assert!(checked.validation.is_ok(), "{:?}", checked.validation);
        assert_eq!(checked.reg.name, "Budi Santoso");
        assert_eq!(checked.reg.kelurahan.to_string(), "33.72.01.1001");
        // The blank employer is not given; the programmes are the category's.
        assert_eq!(checked.reg.employer, None);
        assert_eq!(
            checked.fields.programs.as_ref().map(BTreeSet::len),
            Some(Category::Bpu.required_programs().len())
        );
        assert_eq!(checked.fields.status, Some(Status::Registered));
    }

    #[test]
    fn every_bad_field_of_a_row_is_named_with_its_code() {
        let today = time::macros::date!(2026 - 11 - 25);
        let mut bad = row("3372011203850000", "1985-13-12");
        bad.sex = None;
        bad.rt = Some("x".into());
        let problems = check_row(bad, today).unwrap_err();
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.problem.code))
            .collect();
        assert_eq!(
            found,
            [
                ("nik", "invalid_nik_serial"),
                ("birth_date", "invalid_birth_date"),
                ("rt", "invalid_rw_rt"),
                ("sex", "required"),
            ]
        );
        // Valid text that validation refuses comes back checked, with
        // its errors.
        let checked = check_row(row("3372011203850001", "1985-03-13"), today).unwrap();
        assert_eq!(checked.validation.errors[0].code, "birth_date_mismatch");
    }
}
