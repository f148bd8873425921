//! A registration: one working resident enrolled into BPJS Ketenagakerjaan
//! programmes, and the rules that decide whether it is accepted.
//!
//! Validation separates **errors** (the registration is refused) from
//! **warnings** (it is kept and the warning is shown), because some oddities
//! are normal in the field: a NIK issued in another kecamatan than the
//! address just means the person moved.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::area::{AreaCode, Level};
use crate::nik::Nik;
use crate::wilayah;

/// Minimum age, in whole years on the registration date.
pub const MIN_AGE_YEARS: i32 = 15;

/// A value that is not one of the allowed words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid; use one of: {allowed}")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, $allowed:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $word)] $variant,)+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word used on the command line, in files and on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word,)+ }
            }
        }

        // By hand: the derive does not read a `rename` that a macro passes in.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .description(Some(concat!("The ", $what, ": one of ", $allowed, ".")))
                    .enum_values(Some([$($word),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($word) { return Ok($name::$variant); })+
                Err(ParseEnumError { what: $what, value: s.to_string(), allowed: $allowed })
            }
        }
    };
}

word_enum!(
    /// Sex as written on the KTP: L (laki-laki, male), P (perempuan, female).
    Sex, "sex", "L, P", { L => "L", P => "P" }
);

word_enum!(
    /// Participant category.
    Category, "category", "pu, bpu, jakon, pmi", {
        Pu => "pu",
        Bpu => "bpu",
        Jakon => "jakon",
        Pmi => "pmi",
    }
);

word_enum!(
    /// Social-security programme.
    Program, "programme", "jkk, jkm, jht, jp, jkp", {
        Jkk => "jkk",
        Jkm => "jkm",
        Jht => "jht",
        Jp => "jp",
        Jkp => "jkp",
    }
);

word_enum!(
    /// Whether a registration is live or has been voided.
    Status, "status", "registered, void", {
        Registered => "registered",
        Void => "void",
    }
);

impl Category {
    /// What the category is, in words a field agent uses.
    pub fn description(self) -> &'static str {
        match self {
            Category::Pu => "wage earner (Penerima Upah)",
            Category::Bpu => "non-wage / informal worker (Bukan Penerima Upah)",
            Category::Jakon => "construction worker (Jasa Konstruksi)",
            Category::Pmi => "migrant worker (Pekerja Migran Indonesia)",
        }
    }

    /// Programmes every participant of this category must hold.
    pub fn required_programs(self) -> &'static [Program] {
        // JKK and JKM are the base protection of every category.
        &[Program::Jkk, Program::Jkm]
    }

    /// Programmes this category may hold.
    pub fn allowed_programs(self) -> &'static [Program] {
        match self {
            Category::Pu => &[
                Program::Jkk,
                Program::Jkm,
                Program::Jht,
                Program::Jp,
                Program::Jkp,
            ],
            Category::Bpu | Category::Pmi => &[Program::Jkk, Program::Jkm, Program::Jht],
            Category::Jakon => &[Program::Jkk, Program::Jkm],
        }
    }

    /// Whether an employer must be named.
    pub fn requires_employer(self) -> bool {
        self == Category::Pu
    }
}

/// Parses a comma-separated programme list such as `jkk,jkm,jht`.
pub fn parse_programs(text: &str) -> Result<BTreeSet<Program>, ParseEnumError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Program::from_str)
        .collect()
}

/// Writes a programme set as `jkk,jkm,jht`.
pub fn format_programs(programs: &BTreeSet<Program>) -> String {
    programs
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// One registration, as an agent records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub nik: Nik,
    pub name: String,
    pub birth_date: Date,
    pub sex: Sex,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub kelurahan: AreaCode,
    pub rw: u16,
    pub rt: u16,
    pub category: Category,
    pub occupation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    pub programs: BTreeSet<Program>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
}

/// One finding of validation, tied to the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Issue {
    /// The field, named as the command-line flag (`birth_date`, `programs`…).
    pub field: String,
    /// Stable code for scripts and the server's rejection reasons.
    pub code: String,
    /// What is wrong and how to fix it, in English (the server's reasons
    /// and scripts read it).
    pub message: String,
    /// The values the message names (`birth_date`, `nik_birth_date`…), so
    /// that a client can word the finding in its user's language from
    /// `code` and these.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
}

impl Issue {
    /// An issue whose message names `args`.
    pub fn new(
        field: &str,
        code: &str,
        message: impl Into<String>,
        args: &[(&str, String)],
    ) -> Issue {
        Issue {
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
            args: args
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The outcome of validation: errors refuse the registration, warnings are
/// kept with it and shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl Validation {
    /// True when nothing refuses the registration.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Whole years between `born` and `on`.
pub fn age_on(born: Date, on: Date) -> i32 {
    let mut years = on.year() - born.year();
    if (on.month() as u8, on.day()) < (born.month() as u8, born.day()) {
        years -= 1;
    }
    years
}

/// Normalises a name for comparison: trimmed, inner whitespace collapsed,
/// upper case. "budi  santoso" and "BUDI SANTOSO" are the same spelling.
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Checks an Indonesian phone number: optional `+`, 9 to 15 digits after
/// removing spaces and dashes, starting with 0, 62 or +62.
pub fn validate_phone(phone: &str) -> Result<String, String> {
    let compact: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    let ok = digits.len() >= 9
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.starts_with('0') || digits.starts_with("62"));
    if ok {
        Ok(compact)
    } else {
        Err(format!(
            "phone {phone:?} is not a valid number; write it like 081234567890 or +6281234567890"
        ))
    }
}

impl Registration {
    /// The RT this registration's address lies in, e.g. `33.72.01.1001/3/5`.
    pub fn address_area(&self) -> Option<AreaCode> {
        self.kelurahan.with_rw_rt(self.rw, self.rt).ok()
    }

    /// Applies every rule of the domain. `today` is the registration date.
    pub fn validate(&self, today: Date) -> Validation {
        let mut v = Validation::default();
        self.check_identity(today, &mut v);
        self.check_address(&mut v);
        self.check_work(&mut v);
        self.check_status(&mut v);
        v
    }

    fn check_identity(&self, today: Date, v: &mut Validation) {
        let name = self.name.trim();
        if name.is_empty() {
            v.errors
                .push(Issue::new("name", "missing_name", "name is required", &[]));
        } else if name.chars().count() > 100 {
            v.errors.push(Issue::new(
                "name",
                "invalid_name",
                "name is longer than 100 characters",
                &[("reason", "too_long".into())],
            ));
        } else if name.chars().any(|c| c.is_control() || c.is_ascii_digit()) {
            v.errors.push(Issue::new(
                "name",
                "invalid_name",
                format!("name {name:?} contains digits or control characters"),
                &[("reason", "characters".into()), ("name", name.to_string())],
            ));
        }
        if !self.nik.matches_birth_date(self.birth_date) {
            v.errors.push(Issue::new(
                "birth_date",
                "birth_date_mismatch",
                format!(
                    "birth date {} does not match the NIK, which encodes {}; check both",
                    self.birth_date,
                    self.nik.birth_date_before(today)
                ),
                &[
                    ("birth_date", self.birth_date.to_string()),
                    (
                        "nik_birth_date",
                        self.nik.birth_date_before(today).to_string(),
                    ),
                ],
            ));
        }
        if self.nik.sex() != self.sex {
            v.errors.push(Issue::new(
                "sex",
                "sex_mismatch",
                format!(
                    "sex {} does not match the NIK, which encodes {} (women have 40 added to the birth day)",
                    self.sex,
                    self.nik.sex()
                ),
                &[
                    ("sex", self.sex.to_string()),
                    ("nik_sex", self.nik.sex().to_string()),
                ],
            ));
        }
        if self.birth_date > today {
            v.errors.push(Issue::new(
                "birth_date",
                "birth_date_in_future",
                format!("birth date {} is in the future", self.birth_date),
                &[("birth_date", self.birth_date.to_string())],
            ));
        } else if age_on(self.birth_date, today) < MIN_AGE_YEARS {
            v.errors.push(Issue::new(
                "birth_date",
                "too_young",
                format!(
                    "born {} is {} years old on {today}; participants must be {MIN_AGE_YEARS} or older",
                    self.birth_date,
                    age_on(self.birth_date, today)
                ),
                &[
                    ("birth_date", self.birth_date.to_string()),
                    ("age", age_on(self.birth_date, today).to_string()),
                    ("on_date", today.to_string()),
                    ("min_age", MIN_AGE_YEARS.to_string()),
                ],
            ));
        }
        if let Some(phone) = &self.phone
            && let Err(msg) = validate_phone(phone)
        {
            v.errors.push(Issue::new(
                "phone",
                "invalid_phone",
                msg,
                &[("phone", phone.clone())],
            ));
        }
    }

    fn check_address(&self, v: &mut Validation) {
        if self.kelurahan.level() != Level::Kelurahan {
            v.errors.push(Issue::new(
                "kelurahan",
                "invalid_kelurahan",
                format!(
                    "{} is a {} code; give a kelurahan code like 33.72.01.1001",
                    self.kelurahan,
                    self.kelurahan.level().as_str()
                ),
                &[
                    ("code", self.kelurahan.to_string()),
                    ("level", self.kelurahan.level().as_str().to_string()),
                ],
            ));
            return;
        }
        for (field, n) in [("rw", self.rw), ("rt", self.rt)] {
            if !(1..=999).contains(&n) {
                v.errors.push(Issue::new(
                    field,
                    "invalid_rw_rt",
                    format!(
                        "{} {n} is not valid: must be 1 to 999",
                        field.to_uppercase()
                    ),
                    &[("field", field.to_uppercase()), ("value", n.to_string())],
                ));
            }
        }
        let issued_in = self.nik.district_code();
        if self.kelurahan.kecamatan_code() != Some(issued_in) {
            v.warnings.push(Issue::new(
                "nik",
                "nik_other_kecamatan",
                format!(
                    "the NIK was issued in kecamatan {} but the address is in {}; kept (people move)",
                    wilayah::area_label(&issued_in),
                    wilayah::area_label(&self.kelurahan)
                ),
                &[
                    ("issued_in", wilayah::area_label(&issued_in)),
                    ("address", wilayah::area_label(&self.kelurahan)),
                ],
            ));
        }
        if wilayah::area_name(&self.kelurahan).is_none()
            && self
                .kelurahan
                .ancestors()
                .iter()
                .any(|a| wilayah::area_name(a).is_some())
        {
            v.warnings.push(Issue::new(
                "kelurahan",
                "unknown_kelurahan",
                format!("kelurahan {} is not in the area table", self.kelurahan),
                &[("kelurahan", self.kelurahan.to_string())],
            ));
        }
    }

    fn check_work(&self, v: &mut Validation) {
        check_length(v, "occupation", &self.occupation, MAX_OCCUPATION_CHARS);
        if let Some(employer) = &self.employer {
            check_length(v, "employer", employer, MAX_EMPLOYER_CHARS);
        }
        if self.occupation.trim().is_empty() {
            v.errors.push(Issue::new(
                "occupation",
                "missing_occupation",
                "occupation is required (e.g. pedagang, buruh, ojek)",
                &[],
            ));
        }
        let employer = self.employer.as_deref().map(str::trim).unwrap_or("");
        if self.category.requires_employer() && employer.is_empty() {
            v.errors.push(Issue::new(
                "employer",
                "missing_employer",
                "employer is required for category pu (wage earner); give --employer, or use bpu for informal workers",
                &[],
            ));
        }
        let missing: Vec<&str> = self
            .category
            .required_programs()
            .iter()
            .filter(|p| !self.programs.contains(p))
            .map(|p| p.as_str())
            .collect();
        if !missing.is_empty() {
            v.errors.push(Issue::new(
                "programs",
                "missing_program",
                format!(
                    "category {} requires {}; add {}",
                    self.category,
                    join(self.category.required_programs().iter().map(|p| p.as_str())),
                    missing.join(",")
                ),
                &[
                    ("category", self.category.to_string()),
                    (
                        "required",
                        join(self.category.required_programs().iter().map(|p| p.as_str())),
                    ),
                    ("missing", missing.join(",")),
                ],
            ));
        }
        let allowed = self.category.allowed_programs();
        let refused: Vec<&str> = self
            .programs
            .iter()
            .filter(|p| !allowed.contains(p))
            .map(|p| p.as_str())
            .collect();
        if !refused.is_empty() {
            v.errors.push(Issue::new(
                "programs",
                "program_not_allowed",
                format!(
                    "category {} may hold only {}; remove {}",
                    self.category,
                    join(allowed.iter().map(|p| p.as_str())),
                    refused.join(",")
                ),
                &[
                    ("category", self.category.to_string()),
                    ("allowed", join(allowed.iter().map(|p| p.as_str()))),
                    ("refused", refused.join(",")),
                ],
            ));
        }
    }

    fn check_status(&self, v: &mut Validation) {
        if let Some(reason) = &self.void_reason {
            check_length(v, "void_reason", reason, MAX_VOID_REASON_CHARS);
        }
        let reason = self.void_reason.as_deref().map(str::trim).unwrap_or("");
        if self.status == Status::Void && reason.is_empty() {
            v.errors.push(Issue::new(
                "void_reason",
                "missing_void_reason",
                "a void needs a reason",
                &[],
            ));
        }
    }
}

/// Longest occupation, employer name and void reason, in characters: a
/// paper form has one line for each.
pub const MAX_OCCUPATION_CHARS: usize = 100;
pub const MAX_EMPLOYER_CHARS: usize = 150;
pub const MAX_VOID_REASON_CHARS: usize = 300;

fn check_length(v: &mut Validation, field: &str, text: &str, max: usize) {
    let n = text.chars().count();
    if n > max {
        v.errors.push(Issue::new(
            field,
            "too_long",
            format!("{field} is {n} characters long; shorten it to at most {max}"),
            &[("length", n.to_string()), ("max", max.to_string())],
        ));
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    fn budi() -> Registration {
        Registration {
            nik: Nik::parse("3372011203850001").unwrap(),
            name: "Budi Santoso".into(),
            birth_date: date!(1985 - 03 - 12),
            sex: Sex::L,
            phone: Some("081234567890".into()),
            kelurahan: AreaCode::parse("33.72.01.1001").unwrap(),
            rw: 3,
            rt: 5,
            category: Category::Bpu,
            occupation: "pedagang".into(),
            employer: None,
            programs: parse_programs("jkk,jkm").unwrap(),
            status: Status::Registered,
            void_reason: None,
        }
    }

    fn codes(v: &[Issue]) -> Vec<&str> {
        v.iter().map(|i| i.code.as_str()).collect()
    }

    #[test]
    fn a_complete_registration_passes_clean() {
        let v = budi().validate(TODAY);
        assert_eq!(v, Validation::default());
    }

    #[test]
    fn missing_required_fields_are_errors() {
        let mut r = budi();
        r.name = "  ".into();
        r.occupation = String::new();
        let v = r.validate(TODAY);
        assert_eq!(codes(&v.errors), ["missing_name", "missing_occupation"]);
    }

    #[test]
    fn pu_needs_an_employer() {
        let mut r = budi();
        r.category = Category::Pu;
        assert_eq!(codes(&r.validate(TODAY).errors), ["missing_employer"]);
        r.employer = Some("PT Batik Solo".into());
        assert!(r.validate(TODAY).is_ok());
    }

    #[test]
    fn programmes_follow_the_category() {
        let cases = [
            (Category::Pu, "jkk,jkm,jht,jp,jkp", vec![]),
            (Category::Bpu, "jkk,jkm,jht", vec![]),
            (Category::Bpu, "jkk,jkm,jp", vec!["program_not_allowed"]),
            (Category::Bpu, "jkk", vec!["missing_program"]),
            (Category::Jakon, "jkk,jkm", vec![]),
            (Category::Jakon, "jkk,jkm,jht", vec!["program_not_allowed"]),
            (Category::Pmi, "jkk,jkm,jht", vec![]),
            (
                Category::Pmi,
                "jkm,jkp",
                vec!["missing_program", "program_not_allowed"],
            ),
        ];
        for (cat, programs, expected) in cases {
            let mut r = budi();
            r.category = cat;
            r.employer = Some("PT Contoh".into());
            r.programs = parse_programs(programs).unwrap();
            assert_eq!(
                codes(&r.validate(TODAY).errors),
                expected,
                "{cat} {programs}"
            );
        }
    }

    #[test]
    fn birth_date_and_sex_must_match_the_nik() {
        let mut r = budi();
        r.birth_date = date!(1985 - 03 - 13);
        r.sex = Sex::P;
        let v = r.validate(TODAY);
        assert_eq!(codes(&v.errors), ["birth_date_mismatch", "sex_mismatch"]);
        assert!(
            v.errors[0].message.contains("1985-03-12"),
            "{}",
            v.errors[0].message
        );
    }

    #[test]
    fn fifteen_is_the_minimum_age() {
        let mut r = budi();
        r.nik = Nik::parse("3372012611110001").unwrap();
        r.birth_date = date!(2011 - 11 - 26);
        assert_eq!(codes(&r.validate(TODAY).errors), ["too_young"]);
        r.nik = Nik::parse("3372012511110001").unwrap();
        r.birth_date = date!(2011 - 11 - 25);
        assert!(r.validate(TODAY).is_ok(), "{:?}", r.validate(TODAY));
    }

    #[test]
    fn nik_from_another_kecamatan_is_a_warning_not_an_error() {
        let mut r = budi();
        r.kelurahan = AreaCode::parse("33.72.05.1001").unwrap();
        let v = r.validate(TODAY);
        assert!(v.is_ok());
        assert_eq!(codes(&v.warnings), ["nik_other_kecamatan"]);
        assert!(
            v.warnings[0].message.contains("Laweyan"),
            "{}",
            v.warnings[0].message
        );
    }

    #[test]
    fn address_must_be_a_kelurahan_with_rw_and_rt() {
        let mut r = budi();
        r.rt = 0;
        assert_eq!(codes(&r.validate(TODAY).errors), ["invalid_rw_rt"]);
        r.kelurahan = AreaCode::parse("33.72.01").unwrap();
        assert_eq!(codes(&r.validate(TODAY).errors), ["invalid_kelurahan"]);
    }

    #[test]
    fn phone_numbers_are_checked() {
        assert_eq!(validate_phone("0812-3456-7890").unwrap(), "081234567890");
        assert!(validate_phone("+6281234567890").is_ok());
        assert!(validate_phone("12345").is_err());
        let mut r = budi();
        r.phone = Some("call me".into());
        assert_eq!(codes(&r.validate(TODAY).errors), ["invalid_phone"]);
    }

    #[test]
    fn a_void_needs_a_reason() {
        let mut r = budi();
        r.status = Status::Void;
        assert_eq!(codes(&r.validate(TODAY).errors), ["missing_void_reason"]);
        r.void_reason = Some("x".repeat(MAX_VOID_REASON_CHARS + 1));
        assert_eq!(codes(&r.validate(TODAY).errors), ["too_long"]);
        r.void_reason = Some("registered twice".into());
        assert!(r.validate(TODAY).is_ok());
    }

    #[test]
    fn words_parse_case_insensitively_and_say_what_is_allowed() {
        assert_eq!("PU".parse::<Category>().unwrap(), Category::Pu);
        assert_eq!("p".parse::<Sex>().unwrap(), Sex::P);
        let err = "x".parse::<Category>().unwrap_err().to_string();
        assert!(err.contains("pu, bpu, jakon, pmi"), "{err}");
        assert!(parse_programs("jkk,foo").is_err());
        let p = parse_programs(" jkm , jkk,jkk").unwrap();
        assert_eq!(format_programs(&p), "jkk,jkm");
    }

    #[test]
    fn names_normalise_for_comparison() {
        assert_eq!(normalize_name("  budi   santoso "), "BUDI SANTOSO");
    }
}
