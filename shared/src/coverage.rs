//! Coverage arithmetic, in integers only.
//!
//! Published figures truncate percentages to two decimals and count target
//! head counts in whole people, rounded up. Percentages are carried as basis
//! points (1/100 of a percent) so that no float ever prints
//! 12.780000000000001.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A percentage with two decimals, held in basis points (`57.02%` = 5702).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(pub u32);

/// A percentage that does not parse or is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("percentage {0:?} is not valid: write 0 to 100 with at most two decimals, like 57.02")]
pub struct PercentError(pub String);

impl Percent {
    /// Parses `57`, `57.0`, `57.02` or `57.02%`.
    pub fn parse(text: &str) -> Result<Percent, PercentError> {
        let bad = || PercentError(text.to_string());
        let t = text.trim().trim_end_matches('%');
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 3 || frac.len() > 2 || !digits(whole) || !digits(frac)
        {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let frac: u32 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u32>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        let bp = whole * 100 + frac;
        if bp > 10_000 {
            Err(bad())
        } else {
            Ok(Percent(bp))
        }
    }

    /// Basis points.
    pub fn basis_points(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl FromStr for Percent {
    type Err = PercentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Percent::parse(s)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Percent::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Coverage in basis points, truncated: 100512 / 227164 → 4424 (44.24%).
/// An area with no working population has 0.
pub fn coverage_bp(covered: u64, working_population: u64) -> u32 {
    if working_population == 0 {
        return 0;
    }
    let bp = u128::from(covered) * 10_000 / u128::from(working_population);
    u32::try_from(bp).unwrap_or(u32::MAX)
}

/// Head count a target percentage means, rounded up to whole people:
/// 57.02% of 262,376 → 149,607.
pub fn target_head_count(working_population: u64, target: Percent) -> u64 {
    let num = u128::from(working_population) * u128::from(target.0);
    let count = num.div_ceil(10_000);
    u64::try_from(count).unwrap_or(u64::MAX)
}

/// Formats signed basis points as points with two decimals: 1278 → "12.78",
/// -5 → "-0.05".
pub fn format_points(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let a = bp.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A target for an area and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Target {
    pub percent: Percent,
    /// An explicit head count, when the target was published as one;
    /// otherwise the percentage of the working population, rounded up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// Every published figure for one area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub covered: u64,
    pub working_population: u64,
    pub uncovered: u64,
    pub coverage_bp: u32,
    /// Coverage as published: `44.24%`.
    pub coverage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_percent: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_count: Option<u64>,
    /// Target minus coverage in basis points; negative when ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_bp: Option<i64>,
    /// The gap as published: `12.78` (points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_points: Option<String>,
    /// More participants needed to reach the target head count (0 when met).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_needed: Option<u64>,
    /// Whether the target head count is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_met: Option<bool>,
}

impl Figures {
    /// Computes every figure from the covered count, the working population
    /// and an optional target.
    pub fn compute(covered: u64, working_population: u64, target: Option<Target>) -> Figures {
        let bp = coverage_bp(covered, working_population);
        let mut f = Figures {
            covered,
            working_population,
            uncovered: working_population.saturating_sub(covered),
            coverage_bp: bp,
            coverage: format!("{}%", Percent(bp)),
            target_percent: None,
            target_count: None,
            gap_bp: None,
            gap_points: None,
            additional_needed: None,
            target_met: None,
        };
        if let Some(t) = target {
            let count = t
                .count
                .unwrap_or_else(|| target_head_count(working_population, t.percent));
            let gap = i64::from(t.percent.0) - i64::from(bp);
            f.target_percent = Some(t.percent);
            f.target_count = Some(count);
            f.gap_bp = Some(gap);
            f.gap_points = Some(format_points(gap));
            f.additional_needed = Some(count.saturating_sub(covered));
            f.target_met = Some(covered >= count);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every figure of `../shared/fixtures/README.md` (Kota Surakarta,
    /// December 2024).
    #[test]
    fn reproduces_the_published_surakarta_figures() {
        let target = Target {
            percent: Percent::parse("57.02").unwrap(),
            count: None,
        };
        let f = Figures::compute(100_512, 227_164, Some(target));
        assert_eq!(f.coverage_bp, 4424);
        assert_eq!(f.coverage, "44.24%");
        assert_eq!(f.uncovered, 126_652);
        assert_eq!(f.gap_points.as_deref(), Some("12.78"));
        assert_eq!(f.gap_bp, Some(1278));
        // The 2025 head count is published on a 262,376 baseline.
        assert_eq!(target_head_count(262_376, target.percent), 149_607);
        let f2025 = Figures::compute(100_512, 262_376, Some(target));
        assert_eq!(f2025.target_count, Some(149_607));
        assert_eq!(f2025.additional_needed, Some(49_095));
        assert_eq!(f2025.target_met, Some(false));
        let met = Figures::compute(149_607, 262_376, Some(target));
        assert_eq!(met.coverage, "57.02%");
        assert_eq!(met.additional_needed, Some(0));
        assert_eq!(met.target_met, Some(true));
    }

    #[test]
    fn explicit_head_count_overrides_the_percentage() {
        let t = Target {
            percent: Percent(5702),
            count: Some(149_607),
        };
        let f = Figures::compute(100_512, 227_164, Some(t));
        assert_eq!(f.target_count, Some(149_607));
        assert_eq!(f.additional_needed, Some(49_095));
    }

    #[test]
    fn percentages_parse_and_print_exactly() {
        assert_eq!(Percent::parse("57.02").unwrap(), Percent(5702));
        assert_eq!(Percent::parse("57.2%").unwrap(), Percent(5720));
        assert_eq!(Percent::parse("100").unwrap().to_string(), "100.00");
        for bad in ["", "57.021", "abc", "101", "-1", "5.7.0", "."] {
            assert!(Percent::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_points(-5), "-0.05");
        assert_eq!(serde_json::to_string(&Percent(5702)).unwrap(), "\"57.02\"");
    }

    #[test]
    fn empty_area_is_zero_not_a_division_by_zero() {
        let f = Figures::compute(0, 0, None);
        assert_eq!(f.coverage, "0.00%");
    }

    proptest! {
        #[test]
        fn coverage_truncates_never_rounds(covered in 0u64..10_000_000, extra in 0u64..10_000_000) {
            let pop = covered + extra + 1;
            let bp = u64::from(coverage_bp(covered, pop));
            prop_assert!(bp * pop <= covered * 10_000);
            prop_assert!((bp + 1) * pop > covered * 10_000);
        }

        #[test]
        fn head_count_is_the_smallest_that_meets_the_target(pop in 0u64..100_000_000, bp in 0u32..=10_000) {
            let n = target_head_count(pop, Percent(bp));
            prop_assert!(u128::from(n) * 10_000 >= u128::from(pop) * u128::from(bp));
            prop_assert!(n == 0 || u128::from(n - 1) * 10_000 < u128::from(pop) * u128::from(bp));
        }
    }
}
