//! Inline SVG: a coverage bar with its target mark, the per-area bar
//! chart and the weekly pace chart. Pixel positions are whole numbers
//! worked out from basis points; the figures printed beside them come from
//! the same formatting as the tables.

/// Escapes text for SVG and HTML.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `bp` of 100% (10,000) as pixels of `width`.
fn scale(bp: u32, width: u32) -> u32 {
    bp.min(10_000) * width / 10_000
}

/// A small bar: coverage filled, the target a vertical mark.
pub fn coverage_bar(coverage_bp: u32, target_bp: Option<u32>, label: &str) -> String {
    const W: u32 = 160;
    let fill = scale(coverage_bp, W);
    let mut s = format!(
        "<svg class=\"bar\" width=\"{W}\" height=\"14\" viewBox=\"0 0 {W} 14\" role=\"img\" aria-label=\"{}\">\
         <rect width=\"{W}\" height=\"14\" class=\"bar-bg\"/>\
         <rect width=\"{fill}\" height=\"14\" class=\"bar-fill\"/>",
        esc(label)
    );
    if let Some(t) = target_bp {
        let x = scale(t, W).min(W - 2);
        s.push_str(&format!(
            "<rect x=\"{x}\" y=\"0\" width=\"2\" height=\"14\" class=\"bar-target\"/>"
        ));
    }
    s.push_str("</svg>");
    s
}

/// One bar of [`area_chart`].
pub struct AreaBar {
    pub label: String,
    pub coverage_bp: u32,
    pub target_bp: Option<u32>,
    /// The coverage as printed (`44,24%`).
    pub value: String,
}

/// A bar per area with its target marked; scaled to 100%.
pub fn area_chart(bars: &[AreaBar], title: &str) -> String {
    const LABEL: u32 = 150;
    const PLOT: u32 = 380;
    const VALUE: u32 = 70;
    const ROW: u32 = 26;
    let w = LABEL + PLOT + VALUE;
    let h = ROW * u32::try_from(bars.len()).unwrap_or(0) + 8;
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = u32::try_from(i).unwrap_or(0) * ROW + 4;
        let fill = scale(b.coverage_bp, PLOT);
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"chart-label\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{PLOT}\" height=\"18\" class=\"bar-bg\"/>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{fill}\" height=\"18\" class=\"bar-fill\"/>\
             <text x=\"{}\" y=\"{}\" class=\"chart-value\">{}</text>",
            LABEL - 6,
            y + 14,
            esc(&b.label),
            LABEL + PLOT + 6,
            y + 14,
            esc(&b.value)
        ));
        if let Some(t) = b.target_bp {
            let x = LABEL + scale(t, PLOT).min(PLOT - 3);
            s.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"3\" height=\"22\" class=\"bar-target\"/>",
                y - 2
            ));
        }
    }
    s.push_str("</svg>");
    s
}

/// Weekly registrations as columns, with the pace needed as a line.
pub fn pace_chart(weeks: &[(String, u64)], needed: Option<u64>, title: &str) -> String {
    const W: u32 = 600;
    const H: u32 = 150;
    const BOTTOM: u32 = 24;
    let plot_h = H - BOTTOM - 10;
    let top = weeks
        .iter()
        .map(|(_, n)| *n)
        .chain(needed)
        .max()
        .unwrap_or(0)
        .max(1);
    let n = u32::try_from(weeks.len()).unwrap_or(1).max(1);
    let slot = W / n;
    let height = |v: u64| -> u32 {
        u32::try_from(u128::from(v) * u128::from(plot_h) / u128::from(top)).unwrap_or(plot_h)
    };
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    for (i, (label, v)) in weeks.iter().enumerate() {
        let x = u32::try_from(i).unwrap_or(0) * slot;
        let bh = height(*v);
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bh}\" class=\"bar-fill\"><title>{}: {v}</title></rect>\
             <text x=\"{}\" y=\"{}\" class=\"chart-tick\" text-anchor=\"middle\">{}</text>",
            x + 3,
            H - BOTTOM - bh,
            slot.saturating_sub(6),
            esc(label),
            x + slot / 2,
            H - 8,
            esc(label)
        ));
    }
    if let Some(need) = needed {
        let y = H - BOTTOM - height(need);
        s.push_str(&format!(
            "<line x1=\"0\" x2=\"{W}\" y1=\"{y}\" y2=\"{y}\" class=\"target-line\"/>"
        ));
    }
    s.push_str("</svg>");
    s
}

/// One week of [`progress_chart`].
pub struct WeekBar {
    /// The week's label under its column (`2025-W07`).
    pub label: String,
    pub coverage_bp: u32,
    pub target_bp: Option<u32>,
    /// The coverage as printed (`44,24%`).
    pub value: String,
}

/// Coverage per week as columns, each week's target as a dashed mark
/// across its column; scaled to the largest figure rounded up to 10%.
pub fn progress_chart(weeks: &[WeekBar], title: &str) -> String {
    const W: u32 = 600;
    const H: u32 = 180;
    const BOTTOM: u32 = 24;
    const TOP: u32 = 16;
    let plot_h = H - BOTTOM - TOP;
    let top = weeks
        .iter()
        .flat_map(|w| [Some(w.coverage_bp), w.target_bp])
        .flatten()
        .max()
        .unwrap_or(0)
        .div_ceil(1_000)
        .clamp(1, 10)
        * 1_000;
    let n = u32::try_from(weeks.len()).unwrap_or(1).max(1);
    let slot = W / n;
    let height = |bp: u32| -> u32 { bp.min(top) * plot_h / top };
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    // Only some labels fit under narrow columns.
    let every = 60u32.div_ceil(slot.max(1)).max(1);
    for (i, w) in weeks.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(0);
        let x = i * slot;
        let bh = height(w.coverage_bp);
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bh}\" class=\"bar-fill\"><title>{}: {}</title></rect>",
            x + 2,
            H - BOTTOM - bh,
            slot.saturating_sub(4).max(1),
            esc(&w.label),
            esc(&w.value)
        ));
        if let Some(t) = w.target_bp {
            let y = H - BOTTOM - height(t);
            s.push_str(&format!(
                "<line x1=\"{x}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" class=\"target-line\"/>",
                x + slot
            ));
        }
        if i % every == 0 {
            s.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" class=\"chart-tick\" text-anchor=\"middle\">{}</text>",
                x + slot / 2,
                H - 8,
                esc(&w.label)
            ));
        }
    }
    if let Some(last) = weeks.last() {
        s.push_str(&format!(
            "<text x=\"{W}\" y=\"12\" class=\"chart-value\" text-anchor=\"end\">{}</text>",
            esc(&last.value)
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_to_coverage_and_marks_the_target() {
        let s = coverage_bar(4424, Some(5702), "Laweyan");
        assert!(
            s.contains("width=\"70\" height=\"14\" class=\"bar-fill\""),
            "{s}"
        );
        assert!(s.contains("x=\"91\""), "{s}");
    }

    #[test]
    fn labels_are_escaped() {
        let s = area_chart(
            &[AreaBar {
                label: "<b>&".into(),
                coverage_bp: 20_000,
                target_bp: None,
                value: "x".into(),
            }],
            "t",
        );
        assert!(s.contains("&lt;b&gt;&amp;"));
        assert!(s.contains("width=\"380\" height=\"18\" class=\"bar-fill\""));
    }

    #[test]
    fn progress_columns_scale_to_the_target_rounded_up() {
        let week = |bp| WeekBar {
            label: "2026-W48".into(),
            coverage_bp: bp,
            target_bp: Some(5702),
            value: "x".into(),
        };
        let s = progress_chart(&[week(3000), week(6000)], "t");
        // Scaled to 60%: 140 px of plot; 30% is half of it.
        assert!(s.contains("height=\"70\" class=\"bar-fill\""), "{s}");
        assert!(s.contains("height=\"140\" class=\"bar-fill\""), "{s}");
        // 57.02% of 140 px is 133 px above the bottom at 156.
        assert!(s.contains("y1=\"23\""), "{s}");
    }
}
