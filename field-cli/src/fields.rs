//! Turning the text an agent typed (flags, prompts, CSV cells) into the
//! shared domain types. The parsing itself lives in `sigap-shared`
//! (`import_row`, which a fuzz target feeds); here, the flags and the
//! wording of what is wrong.

use sigap_shared::{Fields, Issue, Registration};
use time::Date;

pub use sigap_shared::import_row::{
    RowFields as RawFields, parse_birth_date, parse_category, parse_kelurahan, parse_nik,
    parse_number, parse_programs,
};

use crate::cli::FieldArgs;
use crate::i18n::problems;

/// The typed fields, from flags, parsed with every problem worded as an
/// issue (English message, code and values for the agent's language).
pub trait Typed: Sized {
    fn from_args(nik: Option<String>, a: &FieldArgs) -> Self;

    /// Parses every given field (not the NIK). All problems are collected.
    fn parse_fields(&self) -> Result<Fields, Vec<Issue>>;

    /// Parses a complete new registration: the NIK, every required field
    /// (programmes default to those the category requires).
    fn to_registration(&self) -> Result<(Registration, Fields), Vec<Issue>>;
}

impl Typed for RawFields {
    fn from_args(nik: Option<String>, a: &FieldArgs) -> RawFields {
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

    fn parse_fields(&self) -> Result<Fields, Vec<Issue>> {
        self.fields().map_err(|p| problems::issues(&p))
    }

    fn to_registration(&self) -> Result<(Registration, Fields), Vec<Issue>> {
        self.registration().map_err(|p| problems::issues(&p))
    }
}

/// Today's date for validation.
pub fn today() -> Date {
    sigap_shared::today()
}
