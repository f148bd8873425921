//! The coverage tree: figures for an area and its children, built from the
//! counters the merge keeps current (no rescan of persons per request).

use std::collections::HashMap;

use serde::Serialize;
use sigap_shared::coverage::Figures;
use sigap_shared::{AreaCode, Category, Level, wilayah};

use crate::store::{AreaData, ByCategory, category_index};

/// Most levels of children a request may ask for (kota down to RT).
pub const MAX_DEPTH: u8 = 4;

/// The last coverage start year that counts towards `year`'s figures.
///
/// A past year counts the persons covered at its end: those whose
/// coverage started in or before it. The current year (and a later one,
/// asked for when planning) counts everyone covered now, including a
/// registration whose clock ran a little ahead into next year.
pub fn counted_through(year: i32, this_year: i32) -> i32 {
    if year >= this_year { i32::MAX } else { year }
}

/// Covered head counts by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CategoryCounts {
    pub pu: u64,
    pub bpu: u64,
    pub jakon: u64,
    pub pmi: u64,
}

impl From<ByCategory> for CategoryCounts {
    fn from(c: ByCategory) -> Self {
        let at = |cat: Category| c[category_index(cat)];
        CategoryCounts {
            pu: at(Category::Pu),
            bpu: at(Category::Bpu),
            jakon: at(Category::Jakon),
            pmi: at(Category::Pmi),
        }
    }
}

/// The figures of one area, and of its children where asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CoverageNode {
    pub area: AreaCode,
    pub name: Option<String>,
    pub level: Level,
    pub year: i32,
    pub figures: Figures,
    pub baseline_set: bool,
    pub by_category: CategoryCounts,
    #[schema(no_recursion)]
    pub children: Vec<CoverageNode>,
}

/// The answer of `GET /api/v1/coverage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CoverageReport {
    pub protocol: u32,
    #[serde(flatten)]
    pub root: CoverageNode,
}

/// A name for any area: the table's name, or for RW/RT the kelurahan's
/// name with the numbers (`Pajang RW 3 RT 5`).
pub fn area_display_name(code: &AreaCode) -> Option<String> {
    match code.level() {
        Level::Rw | Level::Rt => {
            let kel = code.kelurahan()?;
            let mut s = String::with_capacity(32);
            s.push_str(wilayah::area_name(&kel).unwrap_or(""));
            for (label, n) in [(" RW ", code.rw()), (" RT ", code.rt())] {
                if let Some(n) = n {
                    s.push_str(label);
                    s.push_str(&n.to_string());
                }
            }
            Some(s.trim().to_string())
        }
        _ => wilayah::area_name(code).map(str::to_string),
    }
}

/// Every area's direct children, sorted: the area table for kota and
/// kecamatan, plus every area that has counters, a baseline or a target.
/// Built in one pass: a tree down to RT has thousands of nodes, and
/// scanning all areas for each node's children would be quadratic.
fn children_index(data: &AreaData) -> HashMap<AreaCode, Vec<AreaCode>> {
    let mut index: HashMap<AreaCode, Vec<AreaCode>> = HashMap::new();
    let table = wilayah::surakarta().iter().map(|a| a.code);
    let known = data
        .counters
        .keys()
        .chain(data.baselines.keys())
        .chain(data.targets.keys())
        .copied();
    for code in table.chain(known) {
        if let Some(parent) = code.parent() {
            index.entry(parent).or_default().push(code);
        }
    }
    for kids in index.values_mut() {
        kids.sort();
        kids.dedup();
    }
    index
}

/// The figures of `area` for `year` with `depth` levels of children, read
/// from `store` as `GET /api/v1/coverage` reads them (the dashboard's
/// pages call this, so a page and the API cannot disagree).
pub fn node_for(
    store: &dyn crate::store::Store,
    area: &AreaCode,
    year: i32,
    depth: u8,
) -> Result<CoverageNode, crate::store::StoreError> {
    let through = counted_through(year, sigap_shared::today().year());
    let data = store.area_data(area, year, through)?;
    Ok(build(area, year, depth, &data))
}

/// Builds the node of `area` with `depth` levels of children.
pub fn build(area: &AreaCode, year: i32, depth: u8, data: &AreaData) -> CoverageNode {
    build_node(area, year, depth, data, &children_index(data))
}

fn build_node(
    area: &AreaCode,
    year: i32,
    depth: u8,
    data: &AreaData,
    index: &HashMap<AreaCode, Vec<AreaCode>>,
) -> CoverageNode {
    let counts = data.counters.get(area).copied().unwrap_or_default();
    let covered: u64 = counts.iter().sum();
    let baseline = data.baselines.get(area).copied();
    let figures = Figures::compute(
        covered,
        baseline.unwrap_or(0),
        data.targets.get(area).copied(),
    );
    let children = match (depth, index.get(area)) {
        (0, _) | (_, None) => Vec::new(),
        (_, Some(kids)) => kids
            .iter()
            .map(|c| build_node(c, year, depth - 1, data, index))
            .collect(),
    };
    CoverageNode {
        area: *area,
        name: area_display_name(area),
        level: area.level(),
        year,
        figures,
        baseline_set: baseline.is_some(),
        by_category: counts.into(),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigap_shared::coverage::{Percent, Target};

    #[test]
    fn surakarta_figures_from_counters() {
        let kota = AreaCode::parse("33.72").unwrap();
        let mut data = AreaData::default();
        data.counters.insert(kota, [100_000, 512, 0, 0]);
        data.baselines.insert(kota, 227_164);
        data.targets.insert(
            kota,
            Target {
                percent: Percent(5702),
                count: None,
            },
        );
        let node = build(&kota, 2024, 1, &data);
        assert_eq!(node.figures.coverage, "44.24%");
        assert_eq!(node.figures.uncovered, 126_652);
        assert_eq!(node.figures.gap_points.as_deref(), Some("12.78"));
        assert_eq!(node.children.len(), 5);
        assert_eq!(node.name.as_deref(), Some("Kota Surakarta"));
        assert_eq!(node.by_category.bpu, 512);
    }

    #[test]
    fn a_past_year_counts_through_itself_and_this_year_counts_everyone() {
        assert_eq!(counted_through(2024, 2026), 2024);
        assert_eq!(counted_through(2025, 2026), 2025);
        assert_eq!(counted_through(2026, 2026), i32::MAX);
        assert_eq!(counted_through(2030, 2026), i32::MAX);
    }

    #[test]
    fn rw_children_come_from_the_data() {
        let kel = AreaCode::parse("33.72.01.1001").unwrap();
        let mut data = AreaData::default();
        data.counters
            .insert(AreaCode::parse("33.72.01.1001/3").unwrap(), [1, 0, 0, 0]);
        data.baselines
            .insert(AreaCode::parse("33.72.01.1001/4").unwrap(), 10);
        let kids = children_index(&data).remove(&kel).unwrap_or_default();
        assert_eq!(kids.len(), 2);
        assert_eq!(area_display_name(&kids[0]).as_deref(), Some("Pajang RW 3"));
    }
}
