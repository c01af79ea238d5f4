//! The metrics snapshot: what a run recorded, as JSON.
//!
//! ```json
//! {"meta": {"schema": 1, "run_id": "...", "started_at": "...", "git_rev": "..."},
//!  "counter":   [{"metric": "total_cycles", "labels": [["group","fib"]], "value": "1048576"}],
//!  "gauge":     [{"metric": "execute_time_ms", "labels": [], "value": "12.345"}],
//!  "histogram": [{"metric": "...", "labels": [], "value": ["0.1", "0.2"]}]}
//! ```
//!
//! Values are strings so that u64 counters survive readers that parse numbers as f64.
//! OpenVM's files have the same arrays and no `meta`; both read into [`Snapshot`].
//! Unknown keys are kept in `extra` so that a read-then-write loses nothing.

pub mod repeats;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use repeats::Repeats;

/// The schema version written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

/// One labelled value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry<V> {
    pub metric: String,
    #[serde(default)]
    pub labels: Vec<(String, String)>,
    pub value: V,
}

impl<V> Entry<V> {
    /// The value of label `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when every `(key, value)` in `want` is among this entry's labels.
    pub fn has_labels(&self, want: &[(&str, &str)]) -> bool {
        want.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

/// Who wrote the snapshot, when, and whether the work finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub schema: u32,
    pub run_id: String,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_rev: Option<String>,
    /// Set when the measured work panicked; the metrics are those recorded until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic: Option<String>,
    /// Keys written by newer or other tools, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A whole snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default)]
    pub counter: Vec<Entry<String>>,
    #[serde(default)]
    pub gauge: Vec<Entry<String>>,
    #[serde(default)]
    pub histogram: Vec<Entry<Vec<String>>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Reading or writing a snapshot failed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read metrics snapshot {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not a metrics snapshot: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {metric}{labels}: value `{value}` is not a {expected}")]
    BadValue {
        path: PathBuf,
        metric: String,
        labels: String,
        value: String,
        expected: &'static str,
    },
    #[error("cannot write metrics snapshot {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Snapshot {
    /// Parses a snapshot from JSON text; `origin` names the source in errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<Self, SnapshotError> {
        let snapshot: Snapshot = serde_json::from_str(text).map_err(|e| SnapshotError::Parse {
            path: origin.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        snapshot.validate(origin)?;
        Ok(snapshot)
    }

    /// Reads a snapshot file (starkscope's or OpenVM's format).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|source| SnapshotError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Checks that every value parses as its kind's number type.
    fn validate(&self, origin: &Path) -> Result<(), SnapshotError> {
        let bad = |e: &dyn LabelledValue, value: &str, expected| SnapshotError::BadValue {
            path: origin.to_path_buf(),
            metric: e.metric().to_string(),
            labels: format_labels(e.labels()),
            value: value.to_string(),
            expected,
        };
        for c in &self.counter {
            parse_counter(&c.value)
                .ok_or_else(|| bad(c, &c.value, "counter (unsigned integer)"))?;
        }
        for g in &self.gauge {
            parse_gauge(&g.value).ok_or_else(|| bad(g, &g.value, "gauge (number)"))?;
        }
        for h in &self.histogram {
            for v in &h.value {
                parse_gauge(v).ok_or_else(|| bad(h, v, "histogram sample (number)"))?;
            }
        }
        Ok(())
    }

    /// The snapshot as JSON with one metric entry per line, so files diff line by line.
    pub fn to_json(&self) -> String {
        fn json<T: Serialize + ?Sized>(v: &T) -> String {
            serde_json::to_string(v).expect("a snapshot always serializes")
        }
        fn array<T: Serialize>(key: &str, entries: &[T]) -> String {
            if entries.is_empty() {
                return format!("  {}: []", json(key));
            }
            let lines: Vec<String> = entries.iter().map(|e| format!("    {}", json(e))).collect();
            format!("  {}: [\n{}\n  ]", json(key), lines.join(",\n"))
        }
        let mut parts = Vec::new();
        if let Some(meta) = &self.meta {
            parts.push(format!("  \"meta\": {}", json(meta)));
        }
        parts.push(array("counter", &self.counter));
        parts.push(array("gauge", &self.gauge));
        parts.push(array("histogram", &self.histogram));
        for (k, v) in &self.extra {
            parts.push(format!("  {}: {}", json(k), json(v)));
        }
        format!("{{\n{}\n}}\n", parts.join(",\n"))
    }

    /// Writes the snapshot atomically: a temporary file in the same directory, synced, then
    /// renamed over `path`. A reader never sees half a file, and a failed write leaves any
    /// previous file at `path` untouched.
    pub fn write_atomic(&self, path: impl AsRef<Path>) -> Result<(), SnapshotError> {
        write_atomic(path.as_ref(), self.to_json().as_bytes()).map_err(|source| {
            SnapshotError::Write {
                path: path.as_ref().to_path_buf(),
                source,
            }
        })
    }

    /// True when the snapshot holds no metric at all.
    pub fn is_empty(&self) -> bool {
        self.counter.is_empty() && self.gauge.is_empty() && self.histogram.is_empty()
    }

    /// Counter entries named `metric`.
    pub fn counters<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = &'a Entry<String>> + 'a {
        self.counter.iter().filter(move |e| e.metric == metric)
    }

    /// Gauge entries named `metric`.
    pub fn gauges<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = &'a Entry<String>> + 'a {
        self.gauge.iter().filter(move |e| e.metric == metric)
    }

    /// The counter `metric` whose labels include all of `labels`; `None` when absent.
    /// With several matches, the first is returned: pass enough labels to pick one.
    pub fn counter_value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<u64> {
        self.counters(metric)
            .find(|e| e.has_labels(labels))
            .and_then(|e| parse_counter(&e.value))
    }

    /// The gauge `metric` whose labels include all of `labels`; `None` when absent.
    pub fn gauge_value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.gauges(metric)
            .find(|e| e.has_labels(labels))
            .and_then(|e| parse_gauge(&e.value))
    }

    /// Sum of every counter `metric` whose labels include `labels`.
    pub fn counter_sum(&self, metric: &str, labels: &[(&str, &str)]) -> u64 {
        self.counters(metric)
            .filter(|e| e.has_labels(labels))
            .filter_map(|e| parse_counter(&e.value))
            .sum()
    }

    /// Adds label `(key, value)` to every entry that does not carry `key` yet: where the
    /// whole snapshot was measured (`host`), said on each value so that merged snapshots
    /// keep it.
    pub fn label_all(&mut self, key: &str, value: &str) {
        fn add<V>(entries: &mut [Entry<V>], key: &str, value: &str) {
            for e in entries.iter_mut().filter(|e| e.label(key).is_none()) {
                e.labels.push((key.to_string(), value.to_string()));
            }
        }
        add(&mut self.counter, key, value);
        add(&mut self.gauge, key, value);
        add(&mut self.histogram, key, value);
    }

    /// Sorts every array by metric name, then labels, so that files diff cleanly.
    pub fn sort(&mut self) {
        self.counter
            .sort_by(|a, b| (&a.metric, &a.labels).cmp(&(&b.metric, &b.labels)));
        self.gauge
            .sort_by(|a, b| (&a.metric, &a.labels).cmp(&(&b.metric, &b.labels)));
        self.histogram
            .sort_by(|a, b| (&a.metric, &a.labels).cmp(&(&b.metric, &b.labels)));
    }
}

trait LabelledValue {
    fn metric(&self) -> &str;
    fn labels(&self) -> &[(String, String)];
}

impl<V> LabelledValue for Entry<V> {
    fn metric(&self) -> &str {
        &self.metric
    }
    fn labels(&self) -> &[(String, String)] {
        &self.labels
    }
}

/// `{k=v,k2=v2}`, or empty for no labels.
pub fn format_labels(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// Parses a counter value. Accepts integral floats (`"12.0"`) that some writers emit.
pub fn parse_counter(s: &str) -> Option<u64> {
    let s = s.trim();
    s.parse::<u64>().ok().or_else(|| {
        let f: f64 = s.parse().ok()?;
        // `u64::MAX as f64` rounds up to 2^64, which is out of range: compare strictly.
        (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64).then_some(f as u64)
    })
}

/// Parses a gauge or histogram value; NaN and infinities are not values.
pub fn parse_gauge(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Formats a gauge so that it reads back exactly (shortest round-trip form).
pub fn format_gauge(value: f64) -> String {
    format!("{value}")
}

/// Writes `bytes` to `path` via a synced temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name")
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        unique_suffix()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            meta: Some(Meta {
                schema: SCHEMA_VERSION,
                run_id: "r1".into(),
                started_at: "2026-11-22T00:00:00Z".into(),
                git_rev: Some("abc".into()),
                panic: None,
                extra: BTreeMap::new(),
            }),
            counter: vec![Entry {
                metric: "total_cycles".into(),
                labels: vec![
                    ("group".into(), "fib".into()),
                    ("segment".into(), "0".into()),
                ],
                value: "18446744073709551615".into(),
            }],
            gauge: vec![Entry {
                metric: "execute_time_ms".into(),
                labels: vec![],
                value: "0.312".into(),
            }],
            histogram: vec![Entry {
                metric: "h".into(),
                labels: vec![],
                value: vec!["0.1".into(), "2".into()],
            }],
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn json_round_trips_exactly() {
        let s = sample();
        let back = Snapshot::from_json(&s.to_json(), Path::new("x.json")).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            back.counter_value("total_cycles", &[("segment", "0")]),
            Some(u64::MAX)
        );
        assert_eq!(back.gauge_value("execute_time_ms", &[]), Some(0.312));
    }

    #[test]
    fn reads_openvm_format_and_keeps_unknown_keys() {
        let text = r#"{"counter":[{"metric":"total_cycles","labels":[["group","fib"]],"value":"7"}],
                       "gauge":[{"metric":"total_proof_time_ms","labels":[["group","fib"],["segment","0"]],"value":"12.5"}],
                       "future":{"x":1}}"#;
        let s = Snapshot::from_json(text, Path::new("openvm.json")).unwrap();
        assert!(s.meta.is_none());
        assert!(s.histogram.is_empty());
        assert_eq!(s.counter_sum("total_cycles", &[("group", "fib")]), 7);
        assert_eq!(
            s.gauge_value("total_proof_time_ms", &[("segment", "0")]),
            Some(12.5)
        );
        let again = Snapshot::from_json(&s.to_json(), Path::new("again.json")).unwrap();
        assert_eq!(again.extra["future"]["x"], 1);
    }

    #[test]
    fn unknown_numbers_survive_a_write_exactly() {
        // Found by fuzzing: serde_json's default float parser read this one ulp off, and the
        // value written back read as another number.
        let text = "{\"cyunter\": [3333333333333001591194287e33, 0.1, -2.5e-308]}";
        let s = Snapshot::from_json(text, Path::new("x.json")).unwrap();
        let again = Snapshot::from_json(&s.to_json(), Path::new("again.json")).unwrap();
        assert_eq!(again, s);
        let exact: f64 = "3333333333333001591194287e33".parse().unwrap();
        assert_eq!(s.extra["cyunter"][0].as_f64(), Some(exact));
    }

    #[test]
    fn malformed_json_names_file_line_and_column() {
        let err =
            Snapshot::from_json("{\n  \"counter\": [1,\n", Path::new("bad.json")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.json:2:"), "{msg}");
    }

    #[test]
    fn bad_values_are_named() {
        let text =
            r#"{"gauge":[{"metric":"execute_time_ms","labels":[["segment","3"]],"value":"fast"}]}"#;
        let msg = Snapshot::from_json(text, Path::new("v.json"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("execute_time_ms{segment=3}") && msg.contains("`fast`"),
            "{msg}"
        );
        let nan = r#"{"gauge":[{"metric":"g","labels":[],"value":"NaN"}]}"#;
        assert!(Snapshot::from_json(nan, Path::new("n.json")).is_err());
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        fs::write(&path, "old").unwrap();
        sample().write_atomic(&path).unwrap();
        assert_eq!(Snapshot::read(&path).unwrap(), sample());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn failed_write_leaves_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/run.json");
        let err = sample().write_atomic(&missing).unwrap_err();
        assert!(err.to_string().contains("no/such/dir/run.json"));
    }

    #[test]
    fn counters_accept_integral_floats_only() {
        assert_eq!(parse_counter("12"), Some(12));
        assert_eq!(parse_counter("12.0"), Some(12));
        assert_eq!(parse_counter("12.5"), None);
        assert_eq!(parse_counter("-1"), None);
    }
}
