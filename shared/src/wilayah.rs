//! The Kota Surakarta area table, compiled in so that names print next to
//! codes without any file at run time.
//!
//! Source: `data/wilayah-surakarta.csv`, from the idn-area-data dataset
//! (fityannugroho/idn-area-data, MIT licence), following the Kemendagri
//! region-code decree of 2025.

use std::sync::OnceLock;

use crate::area::{AreaCode, AreaError, Level};

const SURAKARTA_CSV: &str = include_str!("../data/wilayah-surakarta.csv");

/// One named area of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedArea {
    pub code: AreaCode,
    pub parent: Option<AreaCode>,
    pub level: Level,
    pub name: String,
}

/// The compiled-in table (Kota Surakarta: the kota, 5 kecamatan, 54
/// kelurahan), in file order.
pub fn surakarta() -> &'static [NamedArea] {
    static TABLE: OnceLock<Vec<NamedArea>> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(SURAKARTA_CSV))
}

/// Parses `code,parent_code,level,name` lines; lines that do not parse are
/// skipped (the compiled-in file is checked by a test).
pub fn parse_table(text: &str) -> Vec<NamedArea> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.splitn(4, ',');
            let code = AreaCode::parse(cols.next()?).ok()?;
            let parent = AreaCode::parse(cols.next()?).ok();
            let _level = cols.next()?;
            let name = cols.next()?.trim().to_string();
            Some(NamedArea {
                level: code.level(),
                code,
                parent,
                name,
            })
        })
        .collect()
}

/// The name of a known area, e.g. `Pajang` for `33.72.01.1001`.
pub fn area_name(code: &AreaCode) -> Option<&'static str> {
    // Sorted once: a coverage tree names thousands of nodes. Keyed by the
    // code as the compiled-in file writes it, names borrowed from it:
    // every `sigap register` names its kelurahan, and parsing the table's
    // codes to build the index cost it a twentieth of its instructions.
    static BY_CODE: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    let index = BY_CODE.get_or_init(|| {
        let mut v: Vec<_> = SURAKARTA_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.splitn(4, ',');
                Some((cols.next()?.trim(), cols.nth(2)?.trim()))
            })
            .collect();
        v.sort_unstable_by_key(|(c, _)| *c);
        v
    });
    let text = code.text();
    index
        .binary_search_by_key(&text.as_str(), |(c, _)| c)
        .ok()
        .and_then(|i| index.get(i))
        .map(|(_, name)| *name)
}

/// A kelurahan a typed name could mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub code: AreaCode,
    pub name: &'static str,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.code)
    }
}

/// Why a typed kelurahan (name or code) does not name one kelurahan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// The text is a code, and not a valid kelurahan code.
    #[error(transparent)]
    Code(#[from] AreaError),
    #[error(
        "kelurahan {text:?} matches {} places: {}; type more of the name or give the code",
        candidates.len(),
        list_candidates(candidates)
    )]
    Ambiguous {
        text: String,
        candidates: Vec<Candidate>,
    },
    #[error(
        "no kelurahan of Kota Surakarta is called {0:?}: check the spelling, type part of the \
         name (e.g. \"paja\" for Pajang, \"kp baru\" for Kampungbaru) or give the code \
         from the kelurahan office (e.g. 33.72.01.1001)"
    )]
    Unknown(String),
    #[error("kelurahan is empty: type its name (e.g. pajang) or its code (e.g. 33.72.01.1001)")]
    Empty,
}

/// At most this many candidates are spelled out in the message; a one-letter
/// query would otherwise print most of the table.
const LISTED: usize = 10;

fn list_candidates(candidates: &[Candidate]) -> String {
    let mut out = candidates
        .iter()
        .take(LISTED)
        .map(Candidate::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if candidates.len() > LISTED {
        out.push_str(&format!(" and {} more", candidates.len() - LISTED));
    }
    out
}

/// Words agents abbreviate on forms, and the spelling the table uses.
const ABBREVIATIONS: [(&str, &str); 5] = [
    ("kp", "kampung"),
    ("kpg", "kampung"),
    ("kamp", "kampung"),
    ("ps", "pasar"),
    ("psr", "pasar"),
];

/// The form names are compared in: lower case, abbreviations expanded,
/// spaces and punctuation dropped (the table writes "Kampungbaru" and
/// "Pasarkliwon" as one word, agents often as two). A leading "Kel." or
/// "Kelurahan" is dropped: forms write it before the name.
fn normalize(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let skip = usize::from(
        words.len() > 1 && matches!(words.first().map(String::as_str), Some("kel" | "kelurahan")),
    );
    words
        .iter()
        .skip(skip)
        .map(|w| {
            ABBREVIATIONS
                .iter()
                .find(|(short, _)| short == w)
                .map_or(w.as_str(), |(_, long)| long)
        })
        .collect()
}

/// Finds the kelurahan a field agent typed: its code (exactly as
/// [`AreaCode::parse_kelurahan`] reads it, and not looked up by name), or
/// its name or part of it. An exact name wins over names that merely
/// contain the text; several partial matches are an error listing them.
pub fn find_kelurahan(text: &str) -> Result<AreaCode, PlaceError> {
    let t = text.trim();
    // Codes start with a digit and names never do: a code costs no more
    // than it did before names were understood.
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(AreaCode::parse_kelurahan(t)?);
    }
    let query = normalize(t);
    if query.is_empty() {
        return Err(PlaceError::Empty);
    }
    static BY_NAME: OnceLock<Vec<(String, Candidate)>> = OnceLock::new();
    let index = BY_NAME.get_or_init(|| {
        surakarta()
            .iter()
            .filter(|a| a.level == Level::Kelurahan)
            .map(|a| {
                let c = Candidate {
                    code: a.code,
                    name: a.name.as_str(),
                };
                (normalize(&a.name), c)
            })
            .collect()
    });
    let matching = |exact: bool| -> Vec<Candidate> {
        index
            .iter()
            .filter(|(name, _)| {
                if exact {
                    *name == query
                } else {
                    name.contains(&query)
                }
            })
            .map(|(_, c)| c.clone())
            .collect()
    };
    let mut found = matching(true);
    if found.is_empty() {
        found = matching(false);
    }
    match found.as_slice() {
        [] => Err(PlaceError::Unknown(t.to_string())),
        [one] => Ok(one.code),
        _ => Err(PlaceError::Ambiguous {
            text: t.to_string(),
            candidates: found,
        }),
    }
}

/// A human label: the name with its code, or for RW/RT the kelurahan name
/// with the numbers, e.g. `Pajang RW 3 RT 5 (33.72.01.1001/3/5)`.
pub fn area_label(code: &AreaCode) -> String {
    let base = code.kelurahan().unwrap_or(*code);
    let mut label = area_name(&base).unwrap_or("").to_string();
    if let Some(rw) = code.rw() {
        label.push_str(&format!(" RW {rw}"));
    }
    if let Some(rt) = code.rt() {
        label.push_str(&format!(" RT {rt}"));
    }
    let label = label.trim();
    if label.is_empty() {
        code.to_string()
    } else {
        format!("{label} ({code})")
    }
}

/// Whether the code is a kelurahan of the compiled-in table.
pub fn is_known_kelurahan(code: &AreaCode) -> bool {
    code.level() == Level::Kelurahan && area_name(code).is_some()
}

/// Kelurahan of the compiled-in table that lie inside `area`.
pub fn kelurahan_in(area: &AreaCode) -> Vec<&'static NamedArea> {
    surakarta()
        .iter()
        .filter(|a| a.level == Level::Kelurahan && area.contains(&a.code))
        .collect()
}

/// Direct children of `area` in the compiled-in table.
pub fn children(area: &AreaCode) -> Vec<&'static NamedArea> {
    surakarta()
        .iter()
        .filter(|a| a.parent.as_ref() == Some(area))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_code_agree_with_the_table() {
        for a in surakarta() {
            assert_eq!(area_name(&a.code), Some(a.name.as_str()), "{}", a.code);
        }
    }

    #[test]
    fn the_whole_file_parses() {
        let rows = SURAKARTA_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count();
        assert_eq!(surakarta().len(), rows);
        let count = |level| surakarta().iter().filter(|a| a.level == level).count();
        assert_eq!(count(Level::Kota), 1);
        assert_eq!(count(Level::Kecamatan), 5);
        assert_eq!(count(Level::Kelurahan), 54);
    }

    #[test]
    fn names_print_next_to_codes() {
        let pajang = AreaCode::parse("33.72.01.1001").unwrap();
        assert_eq!(area_name(&pajang), Some("Pajang"));
        assert_eq!(
            area_label(&pajang.with_rw_rt(3, 5).unwrap()),
            "Pajang RW 3 RT 5 (33.72.01.1001/3/5)"
        );
        assert_eq!(
            area_name(&AreaCode::parse("33.72.01").unwrap()),
            Some("Laweyan")
        );
        assert_eq!(area_label(&AreaCode::parse("11.01").unwrap()), "11.01");
    }

    fn code(text: &str) -> AreaCode {
        AreaCode::parse(text).unwrap()
    }

    #[test]
    fn a_kelurahan_is_found_by_its_exact_name_in_any_case() {
        assert_eq!(find_kelurahan("Pajang"), Ok(code("33.72.01.1001")));
        assert_eq!(find_kelurahan("  pAJANG "), Ok(code("33.72.01.1001")));
        assert_eq!(find_kelurahan("kepatihan kulon"), Ok(code("33.72.04.1001")));
        // "Mojo" is also the start of "Mojosongo": the exact name wins.
        assert_eq!(find_kelurahan("mojo"), Ok(code("33.72.03.1010")));
        assert_eq!(find_kelurahan("Mojosongo"), Ok(code("33.72.04.1011")));
    }

    #[test]
    fn part_of_a_name_is_enough_when_only_one_matches() {
        assert_eq!(find_kelurahan("paja"), Ok(code("33.72.01.1001")));
        assert_eq!(find_kelurahan("diningrat"), Ok(code("33.72.04.1008")));
    }

    #[test]
    fn spaces_punctuation_and_abbreviations_are_ignored() {
        let kampungbaru = Ok(code("33.72.03.1006"));
        assert_eq!(find_kelurahan("Kp. Baru"), kampungbaru);
        assert_eq!(find_kelurahan("kp baru"), kampungbaru);
        assert_eq!(find_kelurahan("Kampung Baru"), kampungbaru);
        assert_eq!(find_kelurahan("Kel. Kampung-Baru"), kampungbaru);
        assert_eq!(find_kelurahan("Ps. Kliwon"), Ok(code("33.72.03.1003")));
        assert_eq!(find_kelurahan("kepatihan-wetan"), Ok(code("33.72.04.1002")));
    }

    #[test]
    fn an_ambiguous_name_lists_every_candidate_with_its_code() {
        let err = find_kelurahan("kepatihan").unwrap_err();
        let PlaceError::Ambiguous { candidates, .. } = &err else {
            panic!("{err:?}");
        };
        let names: Vec<_> = candidates.iter().map(|c| c.name).collect();
        assert_eq!(names, ["Kepatihan Kulon", "Kepatihan Wetan"]);
        let msg = err.to_string();
        assert!(
            msg.contains("Kepatihan Kulon (33.72.04.1001), Kepatihan Wetan (33.72.04.1002)"),
            "{msg}"
        );
        let many = find_kelurahan("a").unwrap_err().to_string();
        assert!(many.contains("more; type more of the name"), "{many}");
    }

    #[test]
    fn an_unknown_name_says_so_and_how_to_give_a_code() {
        let msg = find_kelurahan("Atlantis").unwrap_err().to_string();
        assert!(
            msg.contains("no kelurahan of Kota Surakarta is called \"Atlantis\""),
            "{msg}"
        );
        assert!(msg.contains("33.72.01.1001"), "{msg}");
        assert_eq!(find_kelurahan(" .. "), Err(PlaceError::Empty));
    }

    #[test]
    fn codes_are_read_as_before_and_never_as_names() {
        assert_eq!(find_kelurahan("33.72.01.1001"), Ok(code("33.72.01.1001")));
        // Not in the table, accepted as it always was (the prompt warns).
        assert_eq!(find_kelurahan("33.71.01.1001"), Ok(code("33.71.01.1001")));
        assert_eq!(
            find_kelurahan("33.72.01"),
            Err(PlaceError::Code(AreaError::NotKelurahan("33.72.01".into())))
        );
        assert!(matches!(
            find_kelurahan("33.72.1"),
            Err(PlaceError::Code(AreaError::Malformed(_)))
        ));
    }

    #[test]
    fn children_follow_parents() {
        let kota = AreaCode::parse("33.72").unwrap();
        assert_eq!(children(&kota).len(), 5);
        assert_eq!(kelurahan_in(&kota).len(), 54);
        let laweyan = AreaCode::parse("33.72.01").unwrap();
        assert_eq!(kelurahan_in(&laweyan).len(), 11);
    }
}
