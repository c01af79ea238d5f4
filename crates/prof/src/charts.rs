//! SVG charts drawn with plotters' SVG backend. Text is emitted as SVG `<text>` and laid
//! out with plotters' built-in size estimate, so no font file or font library is needed;
//! the browser renders the text with its own fonts.

use std::collections::BTreeMap;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use starkscope_metrics::names;

use crate::analysis::{Analysis, GroupReport};
use crate::diff::{delta, Verdict};
use crate::error::ProfError;
use crate::layers::LayerRow;
use crate::model::Run;

/// One named series of a stacked bar chart.
pub struct Series {
    pub name: String,
    pub colour: RGBColor,
    /// One value per category; absent values are zero.
    pub values: Vec<f64>,
}

/// A stacked bar chart over named categories.
pub struct BarChart {
    pub title: String,
    pub y_desc: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
}

const PHASE_COLOURS: [RGBColor; 3] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
];
/// One colour per layer (Tableau 10), repeating after ten layers.
const LAYER_COLOURS: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];
const GREEN: RGBColor = RGBColor(0x2e, 0x9e, 0x44);
const RED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const GRAY: RGBColor = RGBColor(0x9a, 0x9a, 0x9a);

impl BarChart {
    /// Renders the chart as a standalone `<svg>` element.
    pub fn to_svg(&self) -> Result<String, ProfError> {
        self.draw().map_err(|e| ProfError::Render {
            what: "chart",
            message: format!("{}: {e}", self.title),
        })
    }

    fn draw(&self) -> Result<String, Box<dyn std::error::Error>> {
        let n = self.categories.len().max(1);
        // Labels stay horizontal: each category is wide enough for its longest label.
        let longest = self
            .categories
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(1);
        let per_category = (8 * longest + 16).max(56);
        let width = (110 + per_category * n).clamp(640, 2400) as u32;
        let height = 400;

        // Stacked extents, negative values stacking downwards.
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for i in 0..n {
            let (mut pos, mut neg) = (0.0, 0.0);
            for s in &self.series {
                let v = s.values.get(i).copied().unwrap_or(0.0);
                if v >= 0.0 {
                    pos += v
                } else {
                    neg += v
                }
            }
            hi = hi.max(pos);
            lo = lo.min(neg);
        }
        if hi == lo {
            hi = lo + 1.0;
        }
        // Headroom above the bars; more when a legend sits in the upper right corner.
        let pad = (hi - lo) * if self.series.len() > 1 { 0.3 } else { 0.08 };
        let y_range =
            (if lo < 0.0 { lo - pad } else { 0.0 })..(if hi > 0.0 { hi + pad } else { 0.0 });

        // A discrete i32 range includes both ends: 0..n-1 is n segments. One category
        // would be a zero-width range, so it gets an empty neighbour.
        let x_range = (0..(n as i32 - 1).max(1)).into_segmented();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            root.fill(&WHITE)?;
            // The title is the figure's caption in the page, not drawn twice.
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(80)
                .build_cartesian_2d(x_range, y_range)?;
            let cats = &self.categories;
            let x_fmt = |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    cats.get(*i as usize).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            };
            chart
                .configure_mesh()
                .disable_x_mesh()
                // With many categories only every k-th label fits.
                .x_labels(n.min((width as usize - 110) / per_category).max(2))
                .x_label_formatter(&x_fmt)
                .x_label_style(("sans-serif", 13))
                .y_desc(self.y_desc.as_str())
                .y_label_formatter(&|y| crate::format::number(*y))
                .draw()?;

            // Gaps between bars, narrowing with many categories (a margin wider than half a
            // category would draw a negative width).
            let gap = (((width as f64 - 110.0) / n as f64 * 0.12) as u32).min(6);
            let mut pos_base = vec![0.0f64; n];
            let mut neg_base = vec![0.0f64; n];
            for s in &self.series {
                let colour = s.colour;
                let mut bars = Vec::new();
                for i in 0..n {
                    let v = s.values.get(i).copied().unwrap_or(0.0);
                    if v == 0.0 {
                        continue;
                    }
                    let base = if v >= 0.0 {
                        &mut pos_base[i]
                    } else {
                        &mut neg_base[i]
                    };
                    let (y0, y1) = (*base, *base + v);
                    *base = y1;
                    let x = i as i32;
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(x), y0),
                            (SegmentValue::Exact(x + 1), y1),
                        ],
                        colour.filled(),
                    );
                    bar.set_margin(0, 0, gap, gap);
                    bars.push(bar);
                }
                chart
                    .draw_series(bars)?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                    });
            }
            if self.series.len() > 1 {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()?;
            }
            root.present()?;
        }
        Ok(svg)
    }
}

/// Per-segment execute / trace_gen / prove stacked bars of an app group.
pub fn segment_phases(g: &GroupReport) -> Option<BarChart> {
    if g.segments.is_empty() {
        return None;
    }
    let phases = [
        ("execute", names::EXECUTE_TIME_MS),
        ("trace_gen", names::TRACE_GEN_TIME_MS),
        ("stark_prove", names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS),
    ];
    let series: Vec<Series> = phases
        .iter()
        .zip(PHASE_COLOURS)
        .map(|((name, _), colour)| Series {
            name: name.to_string(),
            colour,
            values: g
                .segments
                .iter()
                .map(|s| {
                    match *name {
                        "execute" => s.execute_ms,
                        "trace_gen" => s.trace_gen_ms,
                        _ => s.stark_prove_ms,
                    }
                    .unwrap_or(0.0)
                })
                .collect(),
        })
        .collect();
    if series.iter().all(|s| s.values.iter().all(|v| *v == 0.0)) {
        return None;
    }
    Some(BarChart {
        title: format!("{}: time per segment", g.group),
        y_desc: "ms".into(),
        categories: g
            .segments
            .iter()
            .map(|s| {
                s.segment
                    .as_ref()
                    .map_or("-".into(), |k| format!("seg {k}"))
            })
            .collect(),
        series,
    })
}

/// Committed cells per AIR, summed over every proof of the run.
pub fn air_cells(run: &Run) -> Option<BarChart> {
    let mut by_air: BTreeMap<String, f64> = BTreeMap::new();
    for s in run.samples().filter(|s| s.metric == names::CELLS) {
        let air = s
            .label(starkscope_metrics::labels::AIR_NAME)
            .or(s.label(starkscope_metrics::labels::AIR_ID));
        *by_air.entry(air.unwrap_or("?").to_string()).or_default() += s.value;
    }
    if by_air.is_empty() {
        return None;
    }
    let mut airs: Vec<(String, f64)> = by_air.into_iter().collect();
    airs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Some(BarChart {
        title: "cells per AIR (all proofs)".into(),
        y_desc: "cells".into(),
        categories: airs.iter().map(|(a, _)| a.clone()).collect(),
        series: vec![Series {
            name: "cells".into(),
            colour: PHASE_COLOURS[0],
            values: airs.iter().map(|(_, v)| *v).collect(),
        }],
    })
}

/// Per-layer proof time: the critical path (slowest node) and the rest of the layer's work.
pub fn layer_cost(a: &Analysis) -> Option<BarChart> {
    let timed: Vec<&LayerRow> = a
        .layers
        .iter()
        .filter(|l| l.proof_time_ms.is_some())
        .collect();
    if timed.is_empty() {
        return None;
    }
    Some(BarChart {
        title: "proof time per layer".into(),
        y_desc: "ms".into(),
        categories: timed.iter().map(|l| l.group.to_string()).collect(),
        series: vec![
            Series {
                name: "slowest node (critical path)".into(),
                colour: PHASE_COLOURS[1],
                values: timed.iter().map(|l| l.critical_path_ms()).collect(),
            },
            Series {
                name: "other nodes of the layer".into(),
                colour: PHASE_COLOURS[0],
                values: timed
                    .iter()
                    .map(|l| (l.proof_time_ms.unwrap_or(0.0) - l.critical_path_ms()).max(0.0))
                    .collect(),
            },
        ],
    })
}

/// One value of a layer (its summed proof time, its cells, ...).
type LayerValue = fn(&LayerRow) -> Option<f64>;

/// Where the run's cost goes: one bar per kind of cost (proof time, critical path, cells,
/// proof bytes), split by layer into its shares. Only for runs with more than one layer
/// (one layer is the whole of every bar).
pub fn layer_shares(a: &Analysis) -> Option<BarChart> {
    if a.layers.len() < 2 {
        return None;
    }
    let total = |f: LayerValue| -> f64 { a.layers.iter().filter_map(f).sum() };
    let costs: [(&str, LayerValue); 4] = [
        ("proof time", |l| l.proof_time_ms),
        ("critical path", |l| l.slowest.as_ref().map(|s| s.ms)),
        ("cells", |l| l.cells),
        ("proof bytes", |l| l.proof_bytes),
    ];
    let costs: Vec<(&str, LayerValue, f64)> = costs
        .into_iter()
        .map(|(name, f)| (name, f, total(f)))
        .filter(|(_, _, whole)| *whole > 0.0)
        .collect();
    if costs.is_empty() {
        return None;
    }
    let series = a
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| Series {
            name: l.group.to_string(),
            colour: LAYER_COLOURS[i % LAYER_COLOURS.len()],
            values: costs
                .iter()
                .map(|(_, f, whole)| f(l).unwrap_or(0.0) / whole * 100.0)
                .collect(),
        })
        .collect();
    Some(BarChart {
        title: "share of the run's cost per layer".into(),
        y_desc: "% of the run".into(),
        categories: costs.iter().map(|(name, _, _)| name.to_string()).collect(),
        series,
    })
}

/// Relative change of every headline metric against the baseline, coloured by verdict.
pub fn baseline_comparison(a: &Analysis, base: &Analysis, threshold_pct: f64) -> Option<BarChart> {
    let mut categories = Vec::new();
    let (mut better, mut worse, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for h in &a.headlines {
        let (Some(new), Some(old)) = (h.value, base.headline(h.key).and_then(|b| b.value)) else {
            continue;
        };
        let d = delta(h.better, old, new, threshold_pct);
        // A change from zero has no ratio; it is plotted as +100% so it stays visible.
        let rel = d
            .rel_pct
            .unwrap_or(if d.abs > 0.0 { 100.0 } else { -100.0 });
        categories.push(h.name.clone());
        better.push(if d.verdict == Verdict::Better {
            rel
        } else {
            0.0
        });
        worse.push(if d.verdict == Verdict::Worse {
            rel
        } else {
            0.0
        });
        other.push(if matches!(d.verdict, Verdict::Noise | Verdict::Changed) {
            rel
        } else {
            0.0
        });
    }
    if categories.is_empty() {
        return None;
    }
    Some(BarChart {
        title: "change against the baseline".into(),
        y_desc: "% change".into(),
        categories,
        series: vec![
            Series {
                name: "better".into(),
                colour: GREEN,
                values: better,
            },
            Series {
                name: "worse".into(),
                colour: RED,
                values: worse,
            },
            Series {
                name: format!("within {threshold_pct}% noise"),
                colour: GRAY,
                values: other,
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(n: usize, values: impl Fn(usize) -> f64) -> BarChart {
        BarChart {
            title: "t".into(),
            y_desc: "ms".into(),
            categories: (0..n).map(|i| format!("seg {i}")).collect(),
            series: vec![
                Series {
                    name: "a".into(),
                    colour: PHASE_COLOURS[0],
                    values: (0..n).map(&values).collect(),
                },
                Series {
                    name: "b".into(),
                    colour: PHASE_COLOURS[1],
                    values: (0..n).map(&values).collect(),
                },
            ],
        }
    }

    #[test]
    fn any_number_of_categories_draws_valid_bars() {
        for n in [1, 2, 7, 300, 2000] {
            let svg = chart(n, |i| 1.0 + i as f64).to_svg().unwrap();
            assert!(
                !svg.contains("width=\"-") && !svg.contains("height=\"-"),
                "{n} categories"
            );
            // Every category gets its two stacked bars (plus background, legend boxes).
            assert!(svg.matches("<rect").count() >= 2 * n, "{n} categories");
            // Labels are thinned out so that they do not overlap.
            let labels = svg.matches(">\nseg ").count();
            assert!(
                (1..=n.min(40)).contains(&labels),
                "{n} categories, {labels} labels"
            );
        }
    }

    #[test]
    fn negative_and_zero_values_are_drawn_without_error() {
        let svg = chart(3, |i| i as f64 - 1.0).to_svg().unwrap();
        assert!(!svg.contains("height=\"-"));
        let flat = chart(2, |_| 0.0).to_svg().unwrap();
        assert!(flat.starts_with("<svg") || flat.contains("<svg"));
    }
}
