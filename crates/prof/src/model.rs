//! A run: the merged, validated samples of one or more snapshot files.
//!
//! Files are parts of one run (e.g. the app proof and the aggregation tree written by two
//! processes), so their samples are merged. A metric and label set recorded twice with two
//! values is a contradiction and an error; recorded twice with one value it is kept once.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use starkscope_metrics::{catalogue, labels, names, Group};
use starkscope_snapshot::Snapshot;
use starkscope_snapshot::{format_labels, parse_counter, parse_gauge, Entry, Meta};

use crate::error::{Contradiction, DuplicateLabel, ProfError};

/// Labels, sorted by key, each key once. Keys and values are interned per run: the same
/// few strings (`group`, `fib`, `0`, AIR names) repeat on every sample.
pub type Labels = BTreeMap<Arc<str>, Arc<str>>;

/// One labelled value of a counter or gauge.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub metric: String,
    pub labels: Labels,
    pub value: f64,
    /// Which proof the sample belongs to, derived from its labels once.
    proof: ProofId,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(|v| &**v)
    }

    pub fn new(metric: String, labels: Labels, value: f64) -> Self {
        let label = |k: &str| labels.get(k).map(|v| &**v);
        let proof = ProofId {
            group: GroupKey::of(label(labels::GROUP)),
            index: label(labels::SEGMENT)
                .or_else(|| label(labels::IDX))
                .map(NaturalKey::new),
        };
        Sample {
            metric,
            labels,
            value,
            proof,
        }
    }

    /// Which proof this sample belongs to.
    pub fn proof(&self) -> &ProofId {
        &self.proof
    }

    /// Label keys beyond the scope keys (`group`, `segment`, `idx`), e.g. `[air_id, air_name]`.
    pub fn detail_keys(&self) -> Vec<&str> {
        self.labels
            .keys()
            .map(|k| &**k)
            .filter(|k| !labels::SCOPE_KEYS.contains(k))
            .collect()
    }

    /// True when the sample carries only scope labels: a per-proof value, not per AIR/opcode/region.
    pub fn is_scope_level(&self) -> bool {
        self.detail_keys().is_empty()
    }
}

/// A histogram's samples, kept for the detailed audit.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub metric: String,
    pub labels: Labels,
    pub values: Vec<f64>,
}

/// The merged samples of one or more snapshot files.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// The files the run was read from, in the order given.
    pub sources: Vec<PathBuf>,
    /// Each source's `meta` (absent in OpenVM's format), in the same order.
    pub metas: Vec<Option<Meta>>,
    /// In the order read; `source[i]` indexes `sources` for `samples[i]`.
    samples: Vec<Sample>,
    source: Vec<usize>,
    /// Where each metric and label set is in `samples`, to find repeats.
    index: HashMap<(Arc<str>, Labels), usize>,
    strings: Interner,
    pub distributions: Vec<Distribution>,
}

impl Run {
    /// Reads and merges `paths`; the first bad file stops the read with an error naming it.
    pub fn read(paths: &[PathBuf]) -> Result<Self, ProfError> {
        let mut run = Run::default();
        for path in paths {
            let snapshot = Snapshot::read(path)?;
            run.add_snapshot(&snapshot, path)?;
        }
        Ok(run)
    }

    /// Merges one parsed snapshot; `path` names it in errors.
    pub fn add_snapshot(&mut self, snapshot: &Snapshot, path: &Path) -> Result<(), ProfError> {
        let recognised = snapshot
            .counter
            .iter()
            .map(|e| e.metric.as_str())
            .chain(snapshot.gauge.iter().map(|e| e.metric.as_str()))
            .chain(snapshot.histogram.iter().map(|e| e.metric.as_str()))
            .any(is_recognised);
        if !recognised {
            return Err(ProfError::NoMetrics {
                path: path.to_path_buf(),
            });
        }
        self.sources.push(path.to_path_buf());
        self.metas.push(snapshot.meta.clone());
        // Snapshot::read validated every value, so the parses below cannot fail on input
        // that came through it; an entry that still fails is reported, not unwrapped.
        for e in &snapshot.counter {
            let value = parse_counter(&e.value).ok_or_else(|| bad_value(path, e, &e.value))?;
            self.insert(path, e, value as f64, &e.value)?;
        }
        for e in &snapshot.gauge {
            let value = parse_gauge(&e.value).ok_or_else(|| bad_value(path, e, &e.value))?;
            self.insert(path, e, value, &e.value)?;
        }
        for e in &snapshot.histogram {
            let labels = checked_labels(path, e, &mut self.strings)?;
            let values = e
                .value
                .iter()
                .map(|v| parse_gauge(v).ok_or_else(|| bad_value(path, e, v)))
                .collect::<Result<Vec<_>, _>>()?;
            self.distributions.push(Distribution {
                metric: e.metric.clone(),
                labels,
                values,
            });
        }
        Ok(())
    }

    fn insert<V>(
        &mut self,
        path: &Path,
        e: &Entry<V>,
        value: f64,
        raw: &str,
    ) -> Result<(), ProfError> {
        let labels = checked_labels(path, e, &mut self.strings)?;
        let key = (self.strings.get(&e.metric), labels);
        if let Some(&i) = self.index.get(&key) {
            let from_another_file = self.sources[self.source[i]] != path;
            if from_another_file {
                if let Some(combined) =
                    combine_process_totals(&e.metric, self.samples[i].value, value)
                {
                    self.samples[i].value = combined;
                    return Ok(());
                }
            }
            let old = &self.samples[i];
            if old.value != value {
                return Err(ProfError::Contradiction(Box::new(Contradiction {
                    series: format!("{}{}", e.metric, label_text(&key.1)),
                    first_path: self.sources[self.source[i]].clone(),
                    first_value: format!("{}", old.value),
                    second_path: path.to_path_buf(),
                    second_value: raw.to_string(),
                })));
            }
            return Ok(());
        }
        self.index.insert(key.clone(), self.samples.len());
        self.samples
            .push(Sample::new(e.metric.clone(), key.1, value));
        // add_snapshot pushed this file onto `sources` before inserting its entries.
        self.source.push(self.sources.len() - 1);
        Ok(())
    }

    /// Every sample, in the order read (each metric and label set once).
    pub fn samples(&self) -> impl Iterator<Item = &Sample> + '_ {
        self.samples.iter()
    }

    /// The sample with exactly this metric and label set.
    pub fn get(&self, metric: &str, labels: &Labels) -> Option<&Sample> {
        let i = self.index.get(&(Arc::from(metric), labels.clone()))?;
        self.samples.get(*i)
    }

    /// One line per source whose work panicked before its snapshot was written: its
    /// metrics stop where the panic struck.
    pub fn panics(&self) -> Vec<String> {
        self.sources
            .iter()
            .zip(&self.metas)
            .filter_map(|(path, meta)| {
                let panic = meta.as_ref()?.panic.as_ref()?;
                Some(format!(
                    "{}: the measured run panicked ({panic}); its metrics are partial",
                    path.display()
                ))
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.distributions.is_empty()
    }
}

/// A metric prof knows how to read: catalogued, or a span timing.
pub fn is_recognised(metric: &str) -> bool {
    catalogue::find(metric).is_some() || metric.ends_with(catalogue::TIME_SUFFIX)
}

fn checked_labels<V>(
    path: &Path,
    e: &Entry<V>,
    strings: &mut Interner,
) -> Result<Labels, ProfError> {
    let mut out = Labels::new();
    // Annotations (`host`) say where a value was measured, not what it is of: a value is
    // keyed without them, so a unit's values meet the same values of a local run.
    for (k, v) in e
        .labels
        .iter()
        .filter(|(k, _)| !labels::ANNOTATION_KEYS.contains(&k.as_str()))
    {
        if let Some(first) = out.get(k.as_str()) {
            if **first != **v {
                return Err(ProfError::DuplicateLabel(Box::new(DuplicateLabel {
                    path: path.to_path_buf(),
                    series: format!("{}{}", e.metric, format_labels(&e.labels)),
                    key: k.clone(),
                    first: first.to_string(),
                    second: v.clone(),
                })));
            }
        }
        out.insert(strings.get(k), strings.get(v));
    }
    if let Some(g) = out.get(labels::GROUP) {
        g.parse::<Group>().map_err(|source| ProfError::BadGroup {
            path: path.to_path_buf(),
            metric: e.metric.clone(),
            labels: format_labels(&e.labels),
            source,
        })?;
    }
    Ok(out)
}

fn bad_value<V>(path: &Path, e: &Entry<V>, value: &str) -> ProfError {
    ProfError::Snapshot(starkscope_snapshot::SnapshotError::BadValue {
        path: path.to_path_buf(),
        metric: e.metric.clone(),
        labels: format_labels(&e.labels),
        value: value.to_string(),
        expected: "number",
    })
}

/// `{k=v,...}` for sorted labels.
pub fn label_text(labels: &Labels) -> String {
    let pairs: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    format_labels(&pairs)
}

/// The `group` label as a sortable key: apps by name, then leaf, internal layers by height,
/// root, keygen, and samples without a group last.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupKey(pub Option<Group>);

impl GroupKey {
    /// Labels were validated on read; an unparsable group cannot reach here, but is kept as
    /// an app name rather than panicking.
    pub fn of(label: Option<&str>) -> Self {
        GroupKey(label.map(|g| g.parse().unwrap_or_else(|_| Group::App(g.to_string()))))
    }

    /// App groups, and samples with no `group` label: a run measured without a group span
    /// (e.g. a bare harness run) is read as one app rather than ignored.
    pub fn is_app(&self) -> bool {
        self.0.as_ref().is_none_or(Group::is_app)
    }

    pub fn is_aggregation(&self) -> bool {
        self.0.as_ref().is_some_and(Group::is_aggregation)
    }

    /// A proof-producing group: app or aggregation (keygen and ungrouped samples are not).
    pub fn is_proof(&self) -> bool {
        self.is_app() || self.is_aggregation()
    }
}

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => a.cmp(b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(g) => write!(f, "{g}"),
            None => f.write_str("(no group)"),
        }
    }
}

/// A label value that sorts numbers numerically (`2` before `10`) and text after them.
/// The number is parsed once: keys are compared many times in maps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NaturalKey {
    number: Option<u64>,
    text: String,
}

impl NaturalKey {
    pub fn new(s: &str) -> Self {
        NaturalKey {
            number: s.parse().ok(),
            text: s.to_string(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for NaturalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.number, other.number) {
            (Some(x), Some(y)) => x.cmp(&y).then_with(|| self.text.cmp(&other.text)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.text.cmp(&other.text),
        }
    }
}

impl PartialOrd for NaturalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for NaturalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One proof: a group and its segment (app) or idx (aggregation); `None` for group-wide values.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProofId {
    pub group: GroupKey,
    pub index: Option<NaturalKey>,
}

/// One shared copy of each label string of a run.
#[derive(Clone, Debug, Default)]
struct Interner(HashSet<Arc<str>>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }
}

/// Run-level resource totals are per process, and the files of one run may come from
/// several processes (one per benchmark, say): they combine — the largest peak, the summed
/// CPU time and I/O — instead of contradicting each other.
fn combine_process_totals(metric: &str, first: f64, second: f64) -> Option<f64> {
    match metric {
        names::RUN_PEAK_RSS_BYTES => Some(first.max(second)),
        names::RUN_CPU_TIME_MS | names::DISK_READ_BYTES | names::DISK_WRITE_BYTES => {
            Some(first + second)
        }
        _ => None,
    }
}
