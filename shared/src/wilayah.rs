//! The Kota Surakarta area table, compiled in so that names print next to
//! codes without any file at run time.
//!
//! Source: `data/wilayah-surakarta.csv`, from the idn-area-data dataset
//! (fityannugroho/idn-area-data, MIT licence), following the Kemendagri
//! region-code decree of 2025.

use std::sync::OnceLock;

use crate::area::{AreaCode, Level};

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
    let text = code.to_string();
    index
        .binary_search_by_key(&text.as_str(), |(c, _)| c)
        .ok()
        .and_then(|i| index.get(i))
        .map(|(_, name)| *name)
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

    #[test]
    fn children_follow_parents() {
        let kota = AreaCode::parse("33.72").unwrap();
        assert_eq!(children(&kota).len(), 5);
        assert_eq!(kelurahan_in(&kota).len(), 54);
        let laweyan = AreaCode::parse("33.72.01").unwrap();
        assert_eq!(kelurahan_in(&laweyan).len(), 11);
    }
}
