//! The markdown reports: the summary (headlines, layers, one table per group, segments) and
//! the detailed audit (one table per label-key set), each cell with its change against the
//! baseline when there is one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::analysis::{Analysis, GroupReport};
use crate::diff::delta;
use crate::format::{change_html, number};
use crate::layers::{Children, ChildrenSource, LayerRow, Shares};
use crate::metric_info::{self, Better};
use crate::model::{GroupKey, NaturalKey, ProofId, Run, Sample};
use crate::stats::{Stat, Stats};

/// A run, its optional baseline and how to compare them.
pub struct Report<'a> {
    pub run: &'a Run,
    pub analysis: &'a Analysis,
    pub baseline: Option<(&'a Run, &'a Analysis)>,
    /// Changes smaller than this (percent) are not shown.
    pub threshold_pct: f64,
}

impl Report<'_> {
    fn base_analysis(&self) -> Option<&Analysis> {
        self.baseline.map(|(_, a)| a)
    }

    /// A value with its change: `-` when absent, `(new)` / `(was X)` for one-sided values.
    fn cell(&self, better: Better, new: Option<f64>, base: Option<f64>) -> String {
        match (new, self.baseline.is_some(), base) {
            (Some(n), true, Some(b)) => format!(
                "{}{}",
                number(n),
                change_html(&delta(better, b, n, self.threshold_pct))
            ),
            (Some(n), true, None) => format!("{} (new)", number(n)),
            (Some(n), false, _) => number(n),
            (None, true, Some(b)) => format!("- (was {})", number(b)),
            (None, _, _) => "-".to_string(),
        }
    }

    /// The summary markdown.
    pub fn summary(&self) -> String {
        let mut md = String::new();
        self.header(&mut md, "starkscope prof: summary");
        self.headlines(&mut md);
        self.layers(&mut md);
        for g in &self.analysis.groups {
            self.group(&mut md, g);
        }
        self.one_sided(&mut md);
        md
    }

    fn header(&self, md: &mut String, title: &str) {
        let _ = writeln!(md, "# {title}\n");
        let _ = writeln!(md, "run: {}", file_list(self.run));
        let mut panics = self.run.panics();
        if let Some((base, _)) = self.baseline {
            panics.extend(base.panics());
        }
        for p in &panics {
            let _ = writeln!(md, "\n**Warning:** {}.", esc(p));
        }
        if let Some((base, _)) = self.baseline {
            let _ = writeln!(md, "\nbaseline: {}", file_list(base));
            let _ = writeln!(
                md,
                "\nChanges are shown as `(abs [rel])`: green is better, red is worse, gray is a change \
                 with no better direction; changes under {}% are hidden.",
                self.threshold_pct
            );
        }
        md.push('\n');
    }

    fn headlines(&self, md: &mut String) {
        md.push_str("## Summary\n\n| metric | unit | value |\n|---|---|---:|\n");
        for h in &self.analysis.headlines {
            let base = self
                .base_analysis()
                .and_then(|b| b.headline(h.key))
                .and_then(|b| b.value);
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                h.name,
                h.unit,
                self.cell(h.better, h.value, base)
            );
        }
        md.push('\n');
    }

    /// The per-layer audit (docs/prof.md, "The per-layer audit"): one row per layer of the
    /// run or the baseline, each value with its change.
    fn layers(&self, md: &mut String) {
        let base_layers: &[LayerRow] = self.base_analysis().map_or(&[], |b| &b.layers);
        let groups: BTreeSet<&GroupKey> = self
            .analysis
            .layers
            .iter()
            .chain(base_layers)
            .map(|l| &l.group)
            .collect();
        if groups.is_empty() {
            return;
        }
        md.push_str(
            "## Layers\n\nThe nodes of a layer are proven in parallel, the layers one after another: \
             each layer's slowest node is its part of the critical path (the parallel proof time). \
             Columns are defined in docs/prof.md (\"The per-layer audit\").\n\n",
        );
        md.push_str(
            "| layer | nodes | children per node | proof time ms (sum) | slowest node ms | cells | proof bytes | peak RSS bytes | share of time | share of critical path | share of cells |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for group in groups {
            let run = self.analysis.layer(group);
            let base = base_layers.iter().find(|l| &l.group == group);
            let value = |f: fn(&LayerRow) -> Option<f64>| (run.and_then(f), base.and_then(f));
            let cell = |better: Better, f: fn(&LayerRow) -> Option<f64>| {
                let (new, old) = value(f);
                self.cell(better, new, old)
            };
            let nodes = cell(Better::Neither, |l| Some(l.nodes as f64));
            let children = {
                let (new, old) = value(|l| l.children.as_ref().map(Children::per_node));
                let mut notes = Vec::new();
                if let Some(c) = run.and_then(|l| l.children.as_ref()) {
                    if let Some(max) = c.max.filter(|max| *max != c.per_node()) {
                        notes.push(format!("max {}", number(max)));
                    }
                    if c.source == ChildrenSource::LayerBelow {
                        notes.push("derived".to_string());
                    }
                }
                if let Some(limit) = run.and_then(|l| l.fan_in_limit) {
                    notes.push(format!("limit {}", number(limit)));
                }
                let text = self.cell(Better::Neither, new, old);
                if notes.is_empty() {
                    text
                } else {
                    format!("{text} ({})", notes.join("; "))
                }
            };
            let time = cell(Better::Lower, |l| l.proof_time_ms);
            let slowest = {
                let mut text = cell(Better::Lower, |l| l.slowest.as_ref().map(|s| s.ms));
                if let Some(index) = run
                    .and_then(|l| l.slowest.as_ref())
                    .and_then(|s| s.index.as_ref())
                {
                    let kind = if group.is_app() { "segment" } else { "idx" };
                    let _ = write!(text, " ({kind} {})", esc(index));
                }
                text
            };
            let cells = cell(Better::Lower, |l| l.cells);
            let bytes = cell(Better::Lower, |l| l.proof_bytes);
            let rss = cell(Better::Lower, |l| l.peak_rss_bytes);
            let share = |f: fn(&Shares) -> Option<f64>| {
                share_text(
                    run.and_then(|l| f(&l.shares)),
                    base.and_then(|l| f(&l.shares)),
                )
            };
            let _ = writeln!(
                md,
                "| {} | {nodes} | {children} | {time} | {slowest} | {cells} | {bytes} | {rss} | {} | {} | {} |",
                esc(group),
                share(|s| s.proof_time_pct),
                share(|s| s.critical_path_pct),
                share(|s| s.cells_pct),
            );
        }
        md.push('\n');
    }

    fn group(&self, md: &mut String, g: &GroupReport) {
        let kind = match &g.group.0 {
            Some(grp) if grp.is_app() => "app",
            Some(grp) if grp.is_aggregation() => "aggregation",
            Some(_) => "keygen",
            None => "no group label: read as an app",
        };
        let _ = writeln!(md, "## Group `{}` ({kind})\n", g.group);
        let base = self.base_analysis().and_then(|b| b.group(&g.group));
        if g.metrics.is_empty() {
            md.push_str("No per-proof metrics; see the detailed report.\n\n");
        } else {
            md.push_str(
                "| metric | unit | avg | sum | max | min |\n|---|---|---:|---:|---:|---:|\n",
            );
            for m in &g.metrics {
                let better = metric_info::better(&m.metric);
                let bstats: Option<Stats> = base.and_then(|b| b.metric(&m.metric)).map(|b| b.stats);
                let cells: Vec<String> = Stat::ALL
                    .iter()
                    .map(|&s| self.cell(better, Some(m.stats.get(s)), bstats.map(|b| b.get(s))))
                    .collect();
                let _ = writeln!(
                    md,
                    "| {} | {} | {} |",
                    esc(&m.metric),
                    metric_info::unit(&m.metric),
                    cells.join(" | ")
                );
            }
            md.push('\n');
        }
        if !g.segments.is_empty() {
            let _ = writeln!(md, "### Segments of `{}`\n", g.group);
            md.push_str("| segment |");
            for (_, header, _) in g.segments[0].columns() {
                let _ = write!(md, " {header} |");
            }
            md.push_str("\n|---|");
            md.push_str(&"---:|".repeat(g.segments[0].columns().len()));
            md.push('\n');
            for row in &g.segments {
                let brow = base.and_then(|b| b.segment(&row.segment));
                let bcols = brow.map(|b| b.columns());
                let _ = write!(md, "| {} |", esc(&index_text(&row.segment)));
                for (i, (metric, _, v)) in row.columns().into_iter().enumerate() {
                    let b = bcols.as_ref().and_then(|c| c[i].2);
                    let _ = write!(md, " {} |", self.cell(metric_info::better(metric), v, b));
                }
                md.push('\n');
            }
            md.push('\n');
        }
    }

    /// What exists on only one side, so nothing disappears silently from a comparison.
    fn one_sided(&self, md: &mut String) {
        let Some(base) = self.base_analysis() else {
            return;
        };
        let describe = |a: &Analysis| -> BTreeSet<String> {
            let mut out = BTreeSet::new();
            for g in &a.groups {
                out.insert(format!("group `{}`", g.group));
                for m in &g.metrics {
                    out.insert(format!("`{}` in group `{}`", m.metric, g.group));
                }
                for s in &g.segments {
                    out.insert(format!(
                        "segment {} of `{}`",
                        index_text(&s.segment),
                        g.group
                    ));
                }
            }
            for h in &a.headlines {
                if h.value.is_some() {
                    out.insert(format!("headline `{}`", h.name));
                }
            }
            out
        };
        let (ours, theirs) = (describe(self.analysis), describe(base));
        let only_run: Vec<_> = ours.difference(&theirs).collect();
        let only_base: Vec<_> = theirs.difference(&ours).collect();
        if only_run.is_empty() && only_base.is_empty() {
            return;
        }
        md.push_str("## Present on one side only\n\n");
        for (title, items) in [
            ("Only in the run", only_run),
            ("Only in the baseline", only_base),
        ] {
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(md, "{title}:\n");
            for i in items {
                let _ = writeln!(md, "- {i}");
            }
            md.push('\n');
        }
    }

    /// The detailed markdown: one table per label-key set.
    pub fn detailed(&self) -> String {
        let mut md = String::new();
        self.header(&mut md, "starkscope prof: detailed");
        let run_tables = tables(self.run.samples());
        let base_tables = self
            .baseline
            .map(|(b, _)| tables(b.samples()))
            .unwrap_or_default();
        let keysets: BTreeSet<&Vec<&str>> = run_tables.keys().chain(base_tables.keys()).collect();
        let empty = Table::default();
        for keys in keysets {
            let ours = run_tables.get(keys).unwrap_or(&empty);
            let theirs = base_tables.get(keys).unwrap_or(&empty);
            let title = if keys.is_empty() {
                "per proof".to_string()
            } else {
                format!("per {}", keys.join(", "))
            };
            let _ = writeln!(md, "## Metrics {title}\n");
            let metrics: BTreeSet<&str> = ours
                .metrics
                .iter()
                .chain(theirs.metrics.iter())
                .copied()
                .collect();
            let mut metrics: Vec<&str> = metrics.into_iter().collect();
            metrics
                .sort_by(|a, b| metric_info::display_order(a).cmp(&metric_info::display_order(b)));
            let rows: BTreeSet<&RowKey> = ours.rows.keys().chain(theirs.rows.keys()).collect();
            md.push_str("| group | segment/idx |");
            for k in keys {
                let _ = write!(md, " {k} |");
            }
            for m in &metrics {
                let _ = write!(md, " {} |", esc(m));
            }
            md.push_str("\n|---|---|");
            md.push_str(&"---|".repeat(keys.len()));
            md.push_str(&"---:|".repeat(metrics.len()));
            md.push('\n');
            for row in rows {
                let _ = write!(
                    md,
                    "| {} | {} |",
                    esc(&row.proof.group),
                    esc(&index_text(&row.proof.index))
                );
                for v in &row.details {
                    let _ = write!(md, " {} |", esc(v));
                }
                let new = ours.rows.get(row);
                let old = theirs.rows.get(row);
                for m in &metrics {
                    let n = new.and_then(|r| r.get(m)).copied();
                    let b = old.and_then(|r| r.get(m)).copied();
                    let _ = write!(md, " {} |", self.cell(metric_info::better(m), n, b));
                }
                md.push('\n');
            }
            md.push('\n');
        }
        if !self.run.distributions.is_empty() {
            md.push_str("## Histograms\n\n| metric | labels | samples | avg | min | max |\n|---|---|---:|---:|---:|---:|\n");
            for d in &self.run.distributions {
                let labels = esc(&crate::model::label_text(&d.labels));
                let metric = esc(&d.metric);
                match Stats::of(d.values.iter().copied()) {
                    Some(s) => {
                        let _ = writeln!(
                            md,
                            "| {} | {} | {} | {} | {} | {} |",
                            metric,
                            labels,
                            s.count,
                            number(s.avg()),
                            number(s.min),
                            number(s.max)
                        );
                    }
                    None => {
                        let _ = writeln!(md, "| {} | {} | 0 | - | - | - |", metric, labels);
                    }
                }
            }
            md.push('\n');
        }
        md
    }
}

/// A share in percent, with the baseline's when it reads differently: `24.4% (was 25.0%)`.
fn share_text(run: Option<f64>, base: Option<f64>) -> String {
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}%"));
    let (new, old) = (pct(run), pct(base));
    if base.is_none() || new == old {
        new
    } else {
        format!("{new} (was {old})")
    }
}

/// A detailed-table row: which proof, and the values of the table's detail keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey<'a> {
    proof: &'a ProofId,
    details: Vec<NaturalKey>,
}

#[derive(Default)]
struct Table<'a> {
    metrics: BTreeSet<&'a str>,
    rows: BTreeMap<RowKey<'a>, BTreeMap<&'a str, f64>>,
}

fn tables<'a>(samples: impl Iterator<Item = &'a Sample>) -> BTreeMap<Vec<&'a str>, Table<'a>> {
    let mut out: BTreeMap<Vec<&str>, Table> = BTreeMap::new();
    for (keys, samples) in crate::analysis::by_detail_keys(samples) {
        let t = out.entry(keys.clone()).or_default();
        for s in samples {
            let details = keys
                .iter()
                .map(|k| NaturalKey::new(s.label(k).unwrap_or("")))
                .collect();
            t.metrics.insert(&s.metric);
            t.rows
                .entry(RowKey {
                    proof: s.proof(),
                    details,
                })
                .or_default()
                .insert(&s.metric, s.value);
        }
    }
    out
}

fn index_text(i: &Option<NaturalKey>) -> String {
    i.as_ref()
        .map_or_else(|| "-".to_string(), |k| k.to_string())
}

/// The run's files, each with its run id and git revision when its snapshot has them.
fn file_list(run: &Run) -> String {
    run.sources
        .iter()
        .zip(&run.metas)
        .map(|(p, meta)| {
            let about = meta.as_ref().map(|m| match &m.git_rev {
                Some(rev) => format!(" (run `{}`, git `{rev}`)", m.run_id),
                None => format!(" (run `{}`)", m.run_id),
            });
            format!("`{}`{}", p.display(), about.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text for a table cell or prose: a `|` in a label value would end the cell, and `<` or
/// `&` would be read as HTML by markdown renderers (and the HTML report).
fn esc(text: &impl std::fmt::Display) -> String {
    let text = text.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}
