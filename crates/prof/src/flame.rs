//! Folded stacks (`frame;frame;frame count` lines, the input format of flamegraph tools) of
//! cycle-tracker regions and of prover phases, and their flamegraph SVGs via inferno.
//!
//! `cycles{region}` counts are inclusive: a region's cycles include those of the regions
//! nested in it (`outer;inner`). Folded stacks need each frame's own (self) count, so a
//! region's nested regions are subtracted from it.

use std::collections::BTreeMap;

use starkscope_metrics::{labels, names, spans};

use crate::model::{GroupKey, ProofId, Run};

/// Folded stacks, one `stack count` line each, in a stable order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Folded {
    pub lines: Vec<String>,
    /// Inconsistencies met while folding (e.g. nested regions counting more than their parent).
    pub warnings: Vec<String>,
}

impl Folded {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }
}

/// Cycle-tracker regions per proof group: `group;region;nested cycles`. Cycles outside any
/// region (from `total_cycles`) stay on the group frame itself.
pub fn cycle_regions(run: &Run) -> Folded {
    let mut inclusive: BTreeMap<GroupKey, BTreeMap<String, f64>> = BTreeMap::new();
    let mut totals: BTreeMap<GroupKey, f64> = BTreeMap::new();
    for s in run.samples() {
        if s.metric == names::CYCLES {
            if let Some(region) = s.label(labels::REGION) {
                *inclusive
                    .entry(s.proof().group.clone())
                    .or_default()
                    .entry(region.to_string())
                    .or_default() += s.value;
            }
        } else if s.metric == names::TOTAL_CYCLES && s.is_scope_level() {
            *totals.entry(s.proof().group.clone()).or_default() += s.value;
        }
    }
    let mut out = Folded::default();
    for (group, regions) in &inclusive {
        // Every prefix of a recorded path is a frame, recorded or not.
        let mut frames: BTreeMap<String, Option<f64>> = BTreeMap::new();
        for (path, v) in regions {
            let parts: Vec<&str> = path.split(';').collect();
            for i in 1..parts.len() {
                frames.entry(parts[..i].join(";")).or_insert(None);
            }
            frames.insert(path.clone(), Some(*v));
        }
        let children_sum = |parent: Option<&str>| -> f64 {
            frames
                .keys()
                .filter(|p| match parent {
                    None => !p.contains(';'),
                    Some(parent) => p
                        .strip_prefix(parent)
                        .and_then(|r| r.strip_prefix(';'))
                        .is_some_and(|r| !r.contains(';')),
                })
                .map(|p| inclusive_of(&frames, p))
                .sum()
        };
        if let Some(total) = totals.get(group) {
            let outside = total - children_sum(None);
            if outside < 0.0 {
                out.warnings.push(format!(
                    "group `{group}`: regions count {} cycles, more than total_cycles {total}",
                    children_sum(None)
                ));
            } else if outside > 0.0 {
                out.lines
                    .push(format!("{} {}", frame(&group.to_string()), outside as u64));
            }
        }
        for path in frames.keys() {
            let own = inclusive_of(&frames, path) - children_sum(Some(path));
            if own < 0.0 {
                out.warnings.push(format!(
                    "group `{group}`: regions nested in `{path}` count more cycles than it"
                ));
                continue;
            }
            if own > 0.0 {
                let stack: Vec<String> = std::iter::once(group.to_string())
                    .chain(path.split(';').map(String::from))
                    .collect();
                out.lines.push(format!(
                    "{} {}",
                    stack.iter().map(|f| frame(f)).collect::<Vec<_>>().join(";"),
                    own as u64
                ));
            }
        }
    }
    out
}

/// A frame's inclusive count: recorded, or (for an unrecorded prefix) the sum of its children.
fn inclusive_of(frames: &BTreeMap<String, Option<f64>>, path: &str) -> f64 {
    match frames.get(path) {
        Some(Some(v)) => *v,
        _ => frames
            .keys()
            .filter(|p| {
                p.strip_prefix(path)
                    .and_then(|r| r.strip_prefix(';'))
                    .is_some_and(|r| !r.contains(';'))
            })
            .map(|p| inclusive_of(frames, p))
            .sum(),
    }
}

/// Prover phases per proof group in microseconds: `group;execute`, `group;trace_gen`,
/// `group;stark_prove;{phase}`; time not covered by a recorded sub-phase stays on its parent.
pub fn prover_phases(run: &Run) -> Folded {
    let mut per_proof: BTreeMap<ProofId, BTreeMap<&str, f64>> = BTreeMap::new();
    for s in run
        .samples()
        .filter(|s| s.is_scope_level() && s.metric.ends_with("_time_ms"))
    {
        per_proof
            .entry(s.proof().clone())
            .or_default()
            .insert(&s.metric, s.value);
    }
    let mut acc: BTreeMap<(GroupKey, Vec<&str>), f64> = BTreeMap::new();
    for (id, m) in &per_proof {
        if !id.group.is_proof() {
            continue;
        }
        let get = |k: &str| m.get(k).copied();
        let phases: Vec<(&str, f64)> = spans::PROVER_PHASES
            .iter()
            .filter_map(|p| Some((*p, get(&format!("{p}_time_ms"))?)))
            .collect();
        let phase_sum: f64 = phases.iter().map(|(_, v)| v).sum();
        let prove = get(names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS).unwrap_or(phase_sum);
        let execute = get(names::EXECUTE_TIME_MS).unwrap_or(0.0);
        let trace_gen = get(names::TRACE_GEN_TIME_MS).unwrap_or(0.0);
        let total = get(names::TOTAL_PROOF_TIME_MS).unwrap_or(execute + trace_gen + prove);
        let mut add = |stack: Vec<&'static str>, ms: f64| {
            if ms > 0.0 {
                *acc.entry((id.group.clone(), stack)).or_default() += ms;
            }
        };
        add(vec![], total - execute - trace_gen - prove);
        add(vec![spans::EXECUTE], execute);
        add(vec![spans::TRACE_GEN], trace_gen);
        add(vec!["stark_prove"], prove - phase_sum);
        for (p, v) in phases {
            let p: &'static str = spans::PROVER_PHASES
                .iter()
                .find(|q| **q == p)
                .copied()
                .unwrap_or("phase");
            add(vec!["stark_prove", p], v);
        }
    }
    let mut out = Folded::default();
    for ((group, stack), ms) in acc {
        let us = (ms * 1000.0).round() as u64;
        if us == 0 {
            continue;
        }
        let mut frames = vec![frame(&group.to_string())];
        frames.extend(stack.iter().map(|f| frame(f)));
        out.lines.push(format!("{} {us}", frames.join(";")));
    }
    out
}

/// A frame name safe for folded format: no `;` (separator) and no whitespace at the end
/// (the count follows the last space).
fn frame(name: &str) -> String {
    name.replace(';', ":").replace(char::is_whitespace, "_")
}

/// Renders folded stacks as an interactive flamegraph SVG (inline script, no network).
pub fn flamegraph_svg(
    folded: &Folded,
    title: &str,
    count_name: &str,
) -> Result<String, crate::ProfError> {
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    opts.count_name = count_name.to_string();
    opts.deterministic = true;
    // A fixed width: "fluid" graphs shrink to nothing inside the report's frames.
    opts.image_width = Some(1200);
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opts, folded.lines.iter().map(String::as_str), &mut svg)
        .map_err(|e| crate::ProfError::Render {
        what: "flamegraph",
        message: format!("{title}: {e}"),
    })?;
    String::from_utf8(svg).map_err(|e| crate::ProfError::Render {
        what: "flamegraph",
        message: e.to_string(),
    })
}
