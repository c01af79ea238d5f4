//! The benchmark matrix: one JSON file naming each benchmark's program, inputs, segment size
//! and FRI preset. The runner reads it, and CI reads the same file for its job matrix, so a
//! benchmark added here is measured everywhere.
//!
//! ```json
//! { "benchmarks": [
//!     { "name": "fibonacci", "program": "programs/fibonacci.sasm",
//!       "inputs": [110000], "segment_size": 262144, "fri": "fast" },
//!     { "name": "bubble_sort", "program": "programs/bubble_sort.sasm",
//!       "input_file": "inputs/bubble_sort.txt", "segment_size": 65536, "fri": "fast" } ] }
//! ```
//!
//! Paths are relative to the config file. `inputs` (numbers or literal strings such as
//! `"0x10"`) follow `input_file`'s values when both are given.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use starkscope_sdk::{FriPreset, TreeConfig};
use starkscope_vm::field::{parse_field_literals, parse_hint_text};
use starkscope_vm::{assemble_file, Program, F};

/// Where the bundled matrix lives, relative to the repository root.
pub const DEFAULT_CONFIG: &str = "benchmarks/config.json";

/// One benchmark, resolved: the program assembled, the inputs parsed.
#[derive(Clone, Debug)]
pub struct Benchmark {
    pub name: String,
    pub program_path: PathBuf,
    pub program: Program,
    pub inputs: Vec<F>,
    /// How the inputs were written in the config (for the snapshot's metadata).
    pub inputs_source: String,
    pub segment_size: u64,
    pub fri: FriPreset,
    /// Also aggregate the segment proofs into one root proof (the tree's layers measured).
    pub aggregate: Option<TreeConfig>,
}

/// The whole matrix.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub path: PathBuf,
    pub benchmarks: Vec<Benchmark>,
}

/// Why a config cannot be used; every variant names the file, and the benchmark when it
/// is one entry that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read benchmark config {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not a valid benchmark config: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: benchmark `{bench}`: {message}")]
    Invalid {
        path: PathBuf,
        bench: String,
        message: String,
    },
    #[error("{path}: no benchmark named `{name}`; the config has: {known}")]
    Unknown {
        path: PathBuf,
        name: String,
        known: String,
    },
    #[error("{path}: the config lists no benchmarks")]
    Empty { path: PathBuf },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Free text for readers of the file.
    #[serde(rename = "$comment", default)]
    _comment: Option<serde_json::Value>,
    benchmarks: Vec<RawBenchmark>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBenchmark {
    name: String,
    program: PathBuf,
    #[serde(default)]
    inputs: Vec<RawInput>,
    #[serde(default)]
    input_file: Option<PathBuf>,
    segment_size: u64,
    fri: String,
    #[serde(default)]
    aggregate: Option<RawAggregate>,
}

/// `"aggregate": {"children": 2, "fri": "recursion"}`: the tree over the segment proofs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAggregate {
    children: usize,
    fri: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawInput {
    Number(u64),
    Literal(String),
}

impl RawInput {
    fn text(&self) -> String {
        match self {
            RawInput::Number(n) => n.to_string(),
            RawInput::Literal(s) => s.clone(),
        }
    }
}

impl BenchConfig {
    /// Reads, parses and resolves the config: every program assembles and every input
    /// parses, or the first problem is returned.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::Read {
            path: path.clone(),
            error,
        })?;
        Self::parse(&text, &path)
    }

    /// [`BenchConfig::load`] from text already read; `path` names it in errors and anchors
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| ConfigError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if raw.benchmarks.is_empty() {
            return Err(ConfigError::Empty {
                path: path.to_path_buf(),
            });
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut seen = BTreeSet::new();
        let mut benchmarks = Vec::with_capacity(raw.benchmarks.len());
        for b in raw.benchmarks {
            let invalid = |message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                bench: b.name.clone(),
                message,
            };
            if b.name.is_empty()
                || !b
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(invalid(
                    "names may use only ASCII letters, digits, `_` and `-` (they become file and CI job names)".into(),
                ));
            }
            if !seen.insert(b.name.clone()) {
                return Err(invalid("the name is used twice".into()));
            }
            let preset = |name: &str| {
                FriPreset::ALL
                    .into_iter()
                    .find(|p| p.name() == name)
                    .ok_or_else(|| {
                        let names: Vec<_> = FriPreset::ALL.iter().map(|p| p.name()).collect();
                        invalid(format!(
                            "unknown FRI preset `{name}`; expected one of: {}",
                            names.join(", ")
                        ))
                    })
            };
            let fri = preset(&b.fri)?;
            let aggregate = match &b.aggregate {
                None => None,
                Some(a) if a.children < 2 => {
                    return Err(invalid(format!(
                        "aggregate.children is {}: a node has at least 2",
                        a.children
                    )))
                }
                Some(a) => Some(TreeConfig {
                    children: a.children,
                    preset: preset(&a.fri)?,
                }),
            };
            if b.segment_size == 0 {
                return Err(invalid("segment_size must be at least 1".into()));
            }
            let program_path = base.join(&b.program);
            let program = assemble_file(&program_path)
                .map_err(|e| invalid(format!("program {}: {e}", program_path.display())))?;
            let mut inputs = Vec::new();
            let mut sources = Vec::new();
            if let Some(file) = &b.input_file {
                let file_path = base.join(file);
                let text = std::fs::read_to_string(&file_path).map_err(|e| {
                    invalid(format!(
                        "cannot read input file {}: {e}",
                        file_path.display()
                    ))
                })?;
                let values = parse_hint_text(&text)
                    .map_err(|(line, e)| invalid(format!("{}:{line}: {e}", file_path.display())))?;
                sources.push(format!("file {} ({} values)", file.display(), values.len()));
                inputs.extend(values);
            }
            let texts: Vec<String> = b.inputs.iter().map(RawInput::text).collect();
            inputs.extend(
                parse_field_literals(&texts)
                    .map_err(|(i, e)| invalid(format!("inputs[{i}]: {e}")))?,
            );
            sources.extend(texts);
            benchmarks.push(Benchmark {
                name: b.name,
                program_path,
                program,
                inputs,
                inputs_source: sources.join(" "),
                segment_size: b.segment_size,
                fri,
                aggregate,
            });
        }
        Ok(BenchConfig {
            path: path.to_path_buf(),
            benchmarks,
        })
    }

    /// The benchmarks named, in the order asked; all of them when `names` is empty.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Benchmark>, ConfigError> {
        if names.is_empty() {
            return Ok(self.benchmarks.iter().collect());
        }
        names
            .iter()
            .map(|name| {
                self.benchmarks
                    .iter()
                    .find(|b| &b.name == name)
                    .ok_or_else(|| ConfigError::Unknown {
                        path: self.path.clone(),
                        name: name.clone(),
                        known: self
                            .benchmarks
                            .iter()
                            .map(|b| b.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_program() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p.sasm"),
            "        hint 0\n        out 0\n        halt 0\n",
        )
        .unwrap();
        dir
    }

    fn parse_in(dir: &Path, json: &str) -> Result<BenchConfig, ConfigError> {
        BenchConfig::parse(json, &dir.join("config.json"))
    }

    #[test]
    fn resolves_programs_inputs_and_presets() {
        let dir = dir_with_program();
        std::fs::write(dir.path().join("in.txt"), "1, 2 # two\n0x10\n").unwrap();
        let config = parse_in(
            dir.path(),
            r#"{"$comment": "x", "benchmarks": [
                {"name": "a", "program": "p.sasm", "inputs": [7, "-1"], "segment_size": 64, "fri": "testing"},
                {"name": "b", "program": "p.sasm", "input_file": "in.txt", "inputs": [3], "segment_size": 128, "fri": "fast"}
            ]}"#,
        )
        .unwrap();
        let a = &config.benchmarks[0];
        assert_eq!(a.inputs, vec![F::new(7), -F::new(1)]);
        assert_eq!(a.fri, FriPreset::Testing);
        let b = &config.benchmarks[1];
        assert_eq!(b.inputs, vec![F::new(1), F::new(2), F::new(16), F::new(3)]);
        assert_eq!(b.segment_size, 128);
        assert_eq!(config.select(&["b".into()]).unwrap()[0].name, "b");
        assert_eq!(config.select(&[]).unwrap().len(), 2);
    }

    #[test]
    fn errors_name_the_file_the_benchmark_and_the_problem() {
        let dir = dir_with_program();
        let cases = [
            (r#"{"benchmarks": [}"#, "config.json:1:"),
            (r#"{"benchmarks": []}"#, "lists no benchmarks"),
            (
                r#"{"benchmarks": [{"name": "a", "program": "p.sasm", "segment_size": 64, "fri": "slow"}]}"#,
                "benchmark `a`: unknown FRI preset `slow`",
            ),
            (
                r#"{"benchmarks": [{"name": "a", "program": "missing.sasm", "segment_size": 64, "fri": "fast"}]}"#,
                "benchmark `a`: program",
            ),
            (
                r#"{"benchmarks": [{"name": "a", "program": "p.sasm", "inputs": ["x1"], "segment_size": 64, "fri": "fast"}]}"#,
                "benchmark `a`: inputs[0]",
            ),
            (
                r#"{"benchmarks": [{"name": "a b", "program": "p.sasm", "segment_size": 64, "fri": "fast"}]}"#,
                "names may use only",
            ),
            (
                r#"{"benchmarks": [{"name": "a", "program": "p.sasm", "segment_size": 64, "fri": "fast", "seg": 1}]}"#,
                "unknown field `seg`",
            ),
            (
                r#"{"benchmarks": [{"name": "a", "program": "p.sasm", "segment_size": 64, "fri": "fast"},
                                   {"name": "a", "program": "p.sasm", "segment_size": 64, "fri": "fast"}]}"#,
                "used twice",
            ),
        ];
        for (json, want) in cases {
            let err = parse_in(dir.path(), json).unwrap_err().to_string();
            assert!(err.contains(want), "{json}\n  gave: {err}\n  want: {want}");
            assert!(err.contains("config.json"), "{err}");
        }
        let config = parse_in(
            dir.path(),
            r#"{"benchmarks": [{"name": "a", "program": "p.sasm", "segment_size": 64, "fri": "fast"}]}"#,
        )
        .unwrap();
        let err = config.select(&["zz".into()]).unwrap_err().to_string();
        assert!(
            err.contains("no benchmark named `zz`; the config has: a"),
            "{err}"
        );
    }

    #[test]
    fn the_bundled_config_loads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let config = BenchConfig::load(root.join(DEFAULT_CONFIG)).unwrap();
        assert!(config.benchmarks.iter().any(|b| b.name == "fibonacci"));
    }
}
