//! The coverage tree: figures for an area and its children, built from the
//! counters the merge keeps current (no rescan of persons per request).

use std::collections::HashMap;
use std::io::Write as _;

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

/// Every area a report may show, with repeats: the area table for kota
/// and kecamatan, plus every area that has counters, a baseline or a
/// target.
fn area_codes(data: &AreaData) -> impl Iterator<Item = AreaCode> + '_ {
    let table = wilayah::surakarta().iter().map(|a| a.code);
    let known = data
        .counters
        .keys()
        .chain(data.baselines.keys())
        .chain(data.targets.keys())
        .copied();
    table.chain(known)
}

/// Every area's direct children, sorted: the area table for kota and
/// kecamatan, plus every area that has counters, a baseline or a target.
/// Built in one pass: a tree down to RT has thousands of nodes, and
/// scanning all areas for each node's children would be quadratic.
fn children_index(data: &AreaData) -> HashMap<AreaCode, Vec<AreaCode>> {
    let mut index: HashMap<AreaCode, Vec<AreaCode>> = HashMap::new();
    for code in area_codes(data) {
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

/// How many levels below the top `level` lies (province 0 … RT 5).
fn rank(level: Level) -> usize {
    match level {
        Level::Province => 0,
        Level::Kota => 1,
        Level::Kecamatan => 2,
        Level::Kelurahan => 3,
        Level::Rw => 4,
        Level::Rt => 5,
    }
}

/// Whether `code` is `outer` or lies inside it ([`AreaCode::contains`]
/// without collecting the ancestors: asked for every node of a tree).
pub fn inside(outer: &AreaCode, code: &AreaCode) -> bool {
    let top = rank(outer.level());
    let mut c = *code;
    loop {
        if c == *outer {
            return true;
        }
        if rank(c.level()) <= top {
            return false;
        }
        match c.parent() {
            Some(p) => c = p,
            None => return false,
        }
    }
}

/// The areas of the tree of `area` down `depth` levels, in the order the
/// answer lists them: codes sort after their parent and before their
/// parent's next child with all its descendants, so sorted codes are the
/// tree walked depth first, children in order (as [`build`] lists them).
/// Areas whose parent is not in the tree are left out later, as
/// [`build`] leaves them out (it reaches children through parents).
fn tree_order(area: &AreaCode, depth: u8, data: &AreaData) -> Vec<AreaCode> {
    let deepest = rank(area.level()) + usize::from(depth);
    let mut codes: Vec<AreaCode> = area_codes(data)
        .filter(|c| c != area && rank(c.level()) <= deepest && inside(area, c))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The JSON of what in a node depends on its area alone
/// (`"area":…,"name":…,"level":…,"year":`), kept across answers: naming
/// thousands of RW and RT and writing their codes was a fifth of the
/// cost of an answer down to RT.
fn node_head(area: &AreaCode) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(b"\"area\":");
    serde_json::to_writer(&mut out, area)?;
    out.extend_from_slice(b",\"name\":");
    serde_json::to_writer(&mut out, &area_display_name(area))?;
    out.extend_from_slice(b",\"level\":");
    serde_json::to_writer(&mut out, &area.level())?;
    out.extend_from_slice(b",\"year\":");
    Ok(out)
}

/// Most node heads kept (areas are bounded by the data; this bounds a
/// pathological database).
const MAX_HEADS: usize = 200_000;

type Heads = HashMap<AreaCode, Box<[u8]>>;

fn heads() -> &'static std::sync::Mutex<Heads> {
    static HEADS: std::sync::OnceLock<std::sync::Mutex<Heads>> = std::sync::OnceLock::new();
    HEADS.get_or_init(Default::default)
}

/// Writes one node's fields up to its open `children` array.
fn write_node_open(
    out: &mut Vec<u8>,
    heads: &mut Heads,
    area: &AreaCode,
    year: i32,
    data: &AreaData,
) -> Result<(), serde_json::Error> {
    match heads.get(area) {
        Some(head) => out.extend_from_slice(head),
        None => {
            let head = node_head(area)?;
            out.extend_from_slice(&head);
            if heads.len() >= MAX_HEADS {
                heads.clear();
            }
            heads.insert(*area, head.into_boxed_slice());
        }
    }
    let counts = data.counters.get(area).copied().unwrap_or_default();
    let baseline = data.baselines.get(area).copied();
    let figures = Figures::compute(
        counts.iter().sum(),
        baseline.unwrap_or(0),
        data.targets.get(area).copied(),
    );
    write!(out, "{year}").map_err(serde_json::Error::io)?;
    out.extend_from_slice(b",\"figures\":");
    serde_json::to_writer(&mut *out, &figures)?;
    out.extend_from_slice(if baseline.is_some() {
        b",\"baseline_set\":true,\"by_category\":"
    } else {
        b",\"baseline_set\":false,\"by_category\":"
    });
    serde_json::to_writer(&mut *out, &CategoryCounts::from(counts))?;
    out.extend_from_slice(b",\"children\":[");
    Ok(())
}

/// The answer of `GET /api/v1/coverage` as JSON: the same bytes as
/// serialising a [`CoverageReport`] of [`build`], written straight from
/// the data (no tree of nodes, each area's name and code written once per
/// process).
pub fn write_report(
    protocol: u32,
    area: &AreaCode,
    year: i32,
    depth: u8,
    data: &AreaData,
) -> Result<Vec<u8>, serde_json::Error> {
    let order = tree_order(area, depth, data);
    // About 270 bytes a node.
    let mut out = Vec::with_capacity(512 + 300 * order.len());
    out.extend_from_slice(b"{\"protocol\":");
    write!(out, "{protocol},").map_err(serde_json::Error::io)?;
    let mut heads = heads()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    write_node_open(&mut out, &mut heads, area, year, data)?;
    // The open nodes, innermost last, each with whether it has a child
    // written yet.
    let mut open: Vec<(AreaCode, bool)> = vec![(*area, false)];
    for code in &order {
        while let Some((top, _)) = open.last() {
            if inside(top, code) {
                break;
            }
            out.extend_from_slice(b"]}");
            open.pop();
        }
        let Some((top, has_child)) = open.last_mut() else {
            break;
        };
        if code.parent().as_ref() != Some(top) {
            continue;
        }
        if *has_child {
            out.push(b',');
        }
        *has_child = true;
        out.push(b'{');
        write_node_open(&mut out, &mut heads, code, year, data)?;
        open.push((*code, false));
    }
    for _ in open {
        out.extend_from_slice(b"]}");
    }
    Ok(out)
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

    #[test]
    fn the_written_answer_is_the_serialised_tree() {
        let code = |t: &str| AreaCode::parse(t).unwrap();
        let mut data = AreaData::default();
        let kel = wilayah::kelurahan_in(&code("33.72"));
        for (i, k) in kel.iter().enumerate().step_by(3) {
            let n = i as u64;
            for rw in 1..=3u64 {
                for rt in 1..=2u64 {
                    let rt_code = code(&format!("{}/{rw}/{rt}", k.code));
                    data.counters.insert(rt_code, [n + rw, rt, 0, n % 2]);
                }
                data.counters
                    .insert(code(&format!("{}/{rw}", k.code)), [n * rw, 1, 2, 0]);
            }
            data.counters.insert(k.code, [n * 10, 3, 0, 1]);
        }
        data.counters.insert(code("33.72"), [100_000, 512, 7, 0]);
        data.counters.insert(code("33.72.02"), [5, 0, 0, 0]);
        data.baselines.insert(code("33.72"), 227_164);
        data.baselines.insert(code("33.72.01"), 40_000);
        data.baselines.insert(kel[0].code, 300);
        // An RW known from its baseline alone, and an RT whose RW is not
        // in the tree (left out by both).
        data.baselines
            .insert(code(&format!("{}/9", kel[0].code)), 12);
        data.baselines
            .insert(code(&format!("{}/8/1", kel[1].code)), 4);
        let target = |bp, count| Target {
            percent: Percent(bp),
            count,
        };
        data.targets.insert(code("33.72"), target(5702, None));
        data.targets
            .insert(code("33.72.01"), target(6000, Some(25_000)));
        data.targets
            .insert(code(&format!("{}/1", kel[0].code)), target(10, Some(1)));
        let roots = [
            "33".to_string(),
            "33.72".to_string(),
            "33.72.01".to_string(),
            "33.72.05".to_string(),
            kel[0].code.to_string(),
            format!("{}/1", kel[0].code),
            format!("{}/1/2", kel[0].code),
            format!("{}/7", kel[3].code),
        ];
        for root in &roots {
            let root = code(root);
            for depth in 0..=MAX_DEPTH {
                for year in [2024, 2026] {
                    let report = CoverageReport {
                        protocol: 3,
                        root: build(&root, year, depth, &data),
                    };
                    let expected = serde_json::to_string(&report).unwrap();
                    let written = write_report(3, &root, year, depth, &data).unwrap();
                    assert_eq!(
                        String::from_utf8(written).unwrap(),
                        expected,
                        "{root} depth {depth}"
                    );
                }
            }
        }
    }

    #[test]
    fn inside_is_contains() {
        let codes: Vec<AreaCode> = [
            "33",
            "33.72",
            "33.72.01",
            "33.72.02",
            "33.72.01.1001",
            "33.72.01.1002",
            "33.72.01.1001/3",
            "33.72.01.1001/4",
            "33.72.01.1001/3/5",
            "33.72.01.1002/3/5",
            "34.71",
        ]
        .iter()
        .map(|t| AreaCode::parse(t).unwrap())
        .collect();
        for a in &codes {
            for b in &codes {
                assert_eq!(inside(a, b), a.contains(b), "{a} {b}");
            }
        }
    }
}
