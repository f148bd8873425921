//! An area's figures as the dashboard prints them, in the reader's
//! language: the one formatting of the overview, the area table and their
//! exports.

use sigap_shared::Lang;
use sigap_shared::coverage::Percent;

use super::charts;
use super::i18n::t;
use super::table::{Cell, Column, Row, Sort, Table};
use crate::coverage::CoverageNode;

/// Shown where a figure does not exist (no baseline, no target).
pub const NONE: &str = "–";

/// Printed figures of one area.
pub struct Shown {
    pub covered: String,
    pub working_population: String,
    pub coverage: String,
    pub target: String,
    pub gap: String,
    pub needed: String,
    pub pu: String,
    pub bpu: String,
    pub jakon: String,
    pub pmi: String,
}

pub fn shown(lang: Lang, n: &CoverageNode) -> Shown {
    let f = &n.figures;
    let with_baseline = |s: String| if n.baseline_set { s } else { NONE.into() };
    Shown {
        covered: lang.int(f.covered),
        working_population: with_baseline(lang.int(f.working_population)),
        coverage: with_baseline(lang.percent(Percent(f.coverage_bp))),
        target: f.target_percent.map_or(NONE.into(), |p| lang.percent(p)),
        gap: f.gap_bp.map_or(NONE.into(), |g| lang.points(g)),
        needed: f.additional_needed.map_or(NONE.into(), |n| lang.int(n)),
        pu: lang.int(n.by_category.pu),
        bpu: lang.int(n.by_category.bpu),
        jakon: lang.int(n.by_category.jakon),
        pmi: lang.int(n.by_category.pmi),
    }
}

/// Columns of the area table that sort.
pub const SORT_KEYS: [&str; 11] = [
    "name",
    "code",
    "covered",
    "population",
    "coverage",
    "gap",
    "needed",
    "pu",
    "bpu",
    "jakon",
    "pmi",
];

/// Furthest from target first.
pub fn default_sort() -> Sort {
    Sort {
        key: "gap".into(),
        desc: true,
    }
}

/// Orders child areas by `sort`; areas without the figure go last.
pub fn sort_nodes(nodes: &mut [CoverageNode], sort: &Sort) {
    let key = |n: &CoverageNode| -> Option<i128> {
        let f = &n.figures;
        let c = &n.by_category;
        match sort.key.as_str() {
            "covered" => Some(f.covered.into()),
            "population" => n.baseline_set.then_some(f.working_population.into()),
            "coverage" => n.baseline_set.then_some(f.coverage_bp.into()),
            "gap" => f.gap_bp.map(i128::from),
            "needed" => f.additional_needed.map(i128::from),
            "pu" => Some(c.pu.into()),
            "bpu" => Some(c.bpu.into()),
            "jakon" => Some(c.jakon.into()),
            "pmi" => Some(c.pmi.into()),
            _ => None,
        }
    };
    nodes.sort_by(|a, b| {
        let by_text = match sort.key.as_str() {
            "name" => Some(a.name.cmp(&b.name).then(a.area.cmp(&b.area))),
            "code" => Some(a.area.cmp(&b.area)),
            _ => None,
        };
        if let Some(o) = by_text {
            return if sort.desc { o.reverse() } else { o };
        }
        match (key(a), key(b)) {
            (Some(x), Some(y)) => {
                let o = x.cmp(&y);
                let o = if sort.desc { o.reverse() } else { o };
                // Equal gaps: the lower coverage is further behind.
                o.then(a.figures.coverage_bp.cmp(&b.figures.coverage_bp))
                    .then(a.area.cmp(&b.area))
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.area.cmp(&b.area),
        }
    });
}

/// The table of `children`, in the order given, each name linking to its
/// own area page.
pub fn area_table(lang: Lang, children: &[CoverageNode], sort: Sort, base: String) -> Table {
    let col = |id: &str, key: &'static str| Column::number(t(lang, id), key).sortable();
    let columns = vec![
        Column::text(t(lang, "col-name"), "name").sortable(),
        Column::text(t(lang, "col-code"), "code").sortable(),
        col("col-covered", "covered"),
        col("col-population", "population"),
        col("col-coverage", "coverage"),
        Column::number(t(lang, "col-target"), "target"),
        col("col-gap", "gap"),
        col("col-needed", "needed"),
        col("col-pu", "pu"),
        col("col-bpu", "bpu"),
        col("col-jakon", "jakon"),
        col("col-pmi", "pmi"),
    ];
    let rows = children
        .iter()
        .map(|n| {
            let s = shown(lang, n);
            let code = n.area.to_string();
            let name = n.name.clone().unwrap_or_else(|| code.clone());
            let bar = charts::coverage_bar(
                if n.baseline_set {
                    n.figures.coverage_bp
                } else {
                    0
                },
                n.figures.target_percent.map(|p| p.0),
                &format!("{name}: {}", s.coverage),
            );
            Row {
                key: code.clone(),
                cells: vec![
                    Cell::link(name, format!("/area?code={code}")),
                    Cell::text(code),
                    Cell::text(s.covered),
                    Cell::text(s.working_population),
                    Cell::text(s.coverage),
                    Cell::text(s.target),
                    Cell::text(s.gap),
                    Cell::text(s.needed),
                    Cell::text(s.pu),
                    Cell::text(s.bpu),
                    Cell::text(s.jakon),
                    Cell::text(s.pmi),
                ],
                bar: Some(bar),
            }
        })
        .collect();
    Table {
        id: "areas",
        columns,
        rows,
        bar_label: Some(t(lang, "col-bar")),
        sort: Some(sort),
        base,
    }
}

/// The target of an area in basis points, for chart marks.
pub fn target_bp(n: &CoverageNode) -> Option<u32> {
    n.figures.target_percent.map(|p: Percent| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigap_shared::coverage::{Figures, Target};
    use sigap_shared::{AreaCode, Level};

    fn node(code: &str, covered: u64, target: Option<u32>) -> CoverageNode {
        let target = target.map(|bp| Target {
            percent: Percent(bp),
            count: None,
        });
        CoverageNode {
            area: AreaCode::parse(code).unwrap(),
            name: crate::coverage::area_display_name(&AreaCode::parse(code).unwrap()),
            level: Level::Kecamatan,
            year: 2026,
            figures: Figures::compute(covered, 1_000, target),
            baseline_set: true,
            by_category: Default::default(),
            children: Vec::new(),
        }
    }

    fn order(nodes: &[CoverageNode]) -> Vec<String> {
        nodes.iter().map(|n| n.area.to_string()).collect()
    }

    #[test]
    fn furthest_from_target_first_and_areas_without_a_target_last() {
        let mut nodes = vec![
            node("33.72.01", 500, Some(5702)),
            node("33.72.02", 100, None),
            node("33.72.03", 200, Some(5702)),
            node("33.72.04", 600, Some(5702)),
        ];
        sort_nodes(&mut nodes, &default_sort());
        assert_eq!(
            order(&nodes),
            ["33.72.03", "33.72.01", "33.72.04", "33.72.02"]
        );
        let by_name = Sort {
            key: "name".into(),
            desc: false,
        };
        sort_nodes(&mut nodes, &by_name);
        // Jebres, Laweyan, Pasar Kliwon, Serengan.
        assert_eq!(
            order(&nodes),
            ["33.72.04", "33.72.01", "33.72.03", "33.72.02"]
        );
    }

    #[test]
    fn figures_print_in_the_readers_language_with_a_dash_where_none() {
        let n = node("33.72.02", 442, Some(5702));
        let id = shown(Lang::Id, &n);
        assert_eq!((id.coverage.as_str(), id.gap.as_str()), ("44,20%", "12,82"));
        let en = shown(Lang::En, &n);
        assert_eq!(
            (en.coverage.as_str(), en.target.as_str()),
            ("44.20%", "57.02%")
        );
        let none = shown(Lang::Id, &node("33.72.02", 1, None));
        assert_eq!((none.target.as_str(), none.needed.as_str()), (NONE, NONE));
    }
}
