//! What is wrong with a value the agent typed, as a stable code and the
//! values its message names, for the shared parsers' errors (NIK, area
//! codes, place names, the fixed words) and the CLI's own checks. Each
//! code has an `issue-<code>` message in every catalogue.

use sigap_shared::area::AreaError;
use sigap_shared::nik::NikError;
use sigap_shared::registration::ParseEnumError;
use sigap_shared::wilayah::PlaceError;
use sigap_shared::{Issue, Lang};

/// One problem with a typed value.
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

    /// The problem worded in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        super::issues::message(lang, &self.issue(""))
    }

    /// The problem in this process's language.
    pub fn local(&self) -> String {
        self.text(super::lang())
    }

    /// The problem as an issue of `field`; its `message` is the English
    /// wording, as scripts and the JSON output read it.
    pub fn issue_of(&self, field: &str) -> Issue {
        let mut i = self.issue(field);
        i.message = super::issues::message(Lang::En, &i);
        i
    }

    fn issue(&self, field: &str) -> Issue {
        Issue::new(field, self.code, String::new(), &self.args)
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

/// In this process's language.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.local())
    }
}
