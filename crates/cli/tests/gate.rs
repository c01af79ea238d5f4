//! The benchmark gate through the real binary and script: `starkscope prof
//! --fail-on-regression` and `scripts/bench-compare.sh`, on synthetic snapshots shaped like
//! `starkscope-bench run --samples 5` writes them. Every exit code of the shared table that
//! these two can give: 0 within, 2 usage, 3 bad input, 4 regression.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{s, starkscope, text};
use serde_json::json;
use starkscope_sdk::Exit;

/// The samples of a baseline-like benchmark: about 1% spread, as a quiet machine gives.
const WALL_MS: [f64; 5] = [1000.0, 1012.0, 991.0, 1005.0, 996.0];
const YARDSTICK_MS: [f64; 5] = [800.0, 806.0, 795.0, 803.0, 798.0];
const RSS: f64 = 500e6;

/// What differs between the synthetic runs.
#[derive(Clone, Copy)]
struct Synthetic {
    /// Multiplies every timing of the benchmark.
    slower: f64,
    /// Multiplies the yardstick's times (a slower machine slows both).
    machine: f64,
    /// Adds to segment 1's committed cells.
    extra_cells: u64,
    /// Spreads the benchmark's samples around their median by up to this fraction.
    noise: f64,
}

const BASE: Synthetic = Synthetic {
    slower: 1.0,
    machine: 1.0,
    extra_cells: 0,
    noise: 0.0,
};

impl Synthetic {
    fn snapshot(self) -> serde_json::Value {
        let wall: Vec<f64> = WALL_MS
            .iter()
            .zip([0.0, 1.0, -1.0, 0.5, -0.5])
            .map(|(w, k)| w * self.slower * self.machine * (1.0 + k * self.noise))
            .collect();
        let total: Vec<f64> = wall.iter().map(|w| w * 1.8).collect();
        let yardstick: Vec<f64> = YARDSTICK_MS.iter().map(|y| y * self.machine).collect();
        let seg = |i: &str| json!([["group", "app"], ["segment", i]]);
        let counter = |metric: &str, labels: serde_json::Value, value: u64| json!({"metric": metric, "labels": labels, "value": value.to_string()});
        let gauge = |metric: &str, labels: serde_json::Value, value: f64| json!({"metric": metric, "labels": labels, "value": value.to_string()});
        json!({
            "meta": {
                "schema": 1, "run_id": "synthetic", "started_at": "2026-12-02T00:00:00Z",
                "repeats": {
                    "samples": 5, "representative": 0,
                    "yardstick": {"id": "synthetic yardstick", "ms": yardstick},
                    "series": {
                        "app_proof_time_ms": wall,
                        "total_proof_time_ms": total,
                        "run_peak_rss_bytes": vec![RSS; 5],
                        "proof_size_bytes": vec![1_600_000.0; 5],
                    }
                }
            },
            "counter": [
                counter("total_cycles", seg("0"), 65536),
                counter("total_cycles", seg("1"), 4000),
                counter("total_cells", seg("0"), 9_000_000),
                counter("total_cells", seg("1"), 1_000_000 + self.extra_cells),
                counter("proof_size_bytes", seg("0"), 900_000),
                counter("proof_size_bytes", seg("1"), 700_000),
                counter("constraints", json!([["group", "keygen"], ["air_id", "0"], ["air_name", "cpu"]]), 42),
            ],
            "gauge": [
                gauge("total_proof_time_ms", seg("0"), total[0] * 0.7),
                gauge("total_proof_time_ms", seg("1"), total[0] * 0.3),
                gauge("app_proof_time_ms", json!([["group", "app"]]), wall[0]),
                gauge("run_peak_rss_bytes", json!([]), RSS),
            ],
        })
    }

    fn write(self, dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, self.snapshot().to_string()).unwrap();
        path
    }
}

/// `starkscope prof RUN --baseline BASE --fail-on-regression 5 --out-dir OUT`.
fn gate(run: &Path, base: &Path, out: &Path) -> Output {
    starkscope(&[
        "prof",
        s(run),
        "--baseline",
        s(base),
        "--fail-on-regression",
        "5",
        "--out-dir",
        s(out),
    ])
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn exit(e: Exit) -> Option<i32> {
    Some(i32::from(e.code()))
}

#[test]
fn prof_gates_timings_by_their_spread_in_yardstick_units() {
    let dir = tempfile::tempdir().unwrap();
    let base = BASE.write(dir.path(), "base");
    let out = dir.path().join("out");
    let run = |name: &str, synthetic: Synthetic| {
        let path = synthetic.write(&dir.path().join(name), "bench");
        let output = gate(&path, &base, &out);
        let gate: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("gate.json")).unwrap()).unwrap();
        (output, gate)
    };

    // The same run: within.
    let (o, g) = run("same", BASE);
    assert_eq!(code(&o), exit(Exit::Success), "{}", text(&o.stderr));
    assert_eq!(g["timings"][0]["threshold_pct"], 5.0, "{g}");

    // 3% slower with a 1% spread: under the 5% floor.
    let (o, _) = run(
        "bit_slower",
        Synthetic {
            slower: 1.03,
            ..BASE
        },
    );
    assert_eq!(code(&o), exit(Exit::Success), "{}", text(&o.stderr));

    // 12% slower, but the run's samples spread by 10%: the threshold widens past it.
    let noisy = Synthetic {
        slower: 1.12,
        noise: 0.1,
        ..BASE
    };
    let (o, g) = run("noisy", noisy);
    assert_eq!(code(&o), exit(Exit::Success), "{}", text(&o.stderr));
    let t = &g["timings"][0];
    assert!(
        t["threshold_pct"].as_f64().unwrap() > 12.0,
        "the threshold should grow with the spread: {t}"
    );

    // 50% slower: far outside, named with both medians and the threshold.
    let (o, g) = run(
        "much_slower",
        Synthetic {
            slower: 1.5,
            ..BASE
        },
    );
    let err = text(&o.stderr);
    assert_eq!(code(&o), exit(Exit::Regression), "{err}");
    assert!(
        err.contains("app proof wall time: +50.0% in yardstick units (1.250 -> 1.875; medians 1500 ms over 800 ms, baseline 1000 ms over 800 ms), beyond the threshold of 5.0%"),
        "{err}"
    );
    assert_eq!(g["regressed"], true);

    // A machine 30% slower for both the benchmark and the yardstick: no regression.
    let (o, g) = run(
        "slow_machine",
        Synthetic {
            machine: 1.3,
            ..BASE
        },
    );
    assert_eq!(code(&o), exit(Exit::Success), "{}", text(&o.stderr));
    assert!(g["timings"][0]["change_pct"].as_f64().unwrap().abs() < 1e-9);
    let md = std::fs::read_to_string(out.join("gate.md")).unwrap();
    assert!(
        md.contains(
            "| app proof wall time | 5 / 5 | 1,300 ms (±0.5%) | 1,040 ms (±0.4%) | 1.250 |"
        ),
        "{md}"
    );
}

#[test]
fn prof_fails_any_worsening_of_a_deterministic_metric() {
    let dir = tempfile::tempdir().unwrap();
    let base = BASE.write(dir.path(), "base");
    // One more committed cell, and the times 20% faster: still a regression.
    let run = Synthetic {
        extra_cells: 1,
        slower: 0.8,
        ..BASE
    }
    .write(&dir.path().join("run"), "bench");
    let o = gate(&run, &base, &dir.path().join("out"));
    let err = text(&o.stderr);
    assert_eq!(code(&o), exit(Exit::Regression), "{err}");
    assert!(
        err.contains("  total_cells{group=app,segment=1}: 1,000,000 -> 1,000,001 (worse)"),
        "{err}"
    );
    let md = std::fs::read_to_string(dir.path().join("out/gate.md")).unwrap();
    assert!(
        md.contains(
            "| `total_cells` | `{group=app,segment=1}` | 1,000,000 | 1,000,001 | ❌ worse |"
        ),
        "{md}"
    );
}

#[test]
fn prof_exit_codes_for_usage_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let base = BASE.write(dir.path(), "base");
    // clap's usage error, and an option combination found wrong later: 2.
    let o = starkscope(&["prof", s(&base), "--fail-on-regression", "ten"]);
    assert_eq!(code(&o), exit(Exit::Usage), "{}", text(&o.stderr));
    let o = starkscope(&["prof", s(&base), "--fail-on-regression", "5"]);
    assert_eq!(code(&o), exit(Exit::Usage), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("needs a --baseline"));
    // A missing snapshot, a malformed one, inconsistent repeats: 3, naming the file.
    let missing = dir.path().join("missing.json");
    let o = starkscope(&["prof", s(&missing), "--baseline", s(&base)]);
    assert_eq!(code(&o), exit(Exit::BadInput), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("missing.json"));
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, "{\"counter\": [").unwrap();
    let o = starkscope(&["prof", s(&malformed)]);
    assert_eq!(code(&o), exit(Exit::BadInput), "{}", text(&o.stderr));
    let mut short = BASE.snapshot();
    short["meta"]["repeats"]["yardstick"]["ms"] = json!([800.0]);
    let short_path = dir.path().join("short.json");
    std::fs::write(&short_path, short.to_string()).unwrap();
    let o = gate(&short_path, &base, &dir.path().join("out"));
    let err = text(&o.stderr);
    assert_eq!(code(&o), exit(Exit::BadInput), "{err}");
    assert!(
        err.contains("short.json: `meta.repeats`: yardstick has 1 values for 5 samples"),
        "{err}"
    );
}

/// Runs scripts/bench-compare.sh with the built binary.
fn compare(run_dir: &Path, base_dir: &Path, out: &Path, env: &[(&str, &str)]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench-compare.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .args([run_dir, base_dir, out])
        .env("STARKSCOPE", env!("CARGO_BIN_EXE_starkscope"))
        .env_remove("BENCH_NAMES")
        .env_remove("REGRESSION_PCT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("bash runs")
}

#[test]
fn bench_compare_tells_a_regression_from_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    BASE.write(&base, "alpha");
    BASE.write(&base, "beta");
    let out = dir.path().join("out");

    // Within: 0, and the comment shows the medians, spreads, ratios and threshold.
    let within = dir.path().join("within");
    BASE.write(&within, "alpha");
    Synthetic {
        machine: 1.3,
        ..BASE
    }
    .write(&within, "beta");
    let o = compare(&within, &base, &out, &[]);
    assert_eq!(code(&o), exit(Exit::Success), "{}", text(&o.stderr));
    let comment = std::fs::read_to_string(out.join("comment.md")).unwrap();
    assert!(
        comment.contains("| `beta` | ✅ ok | 1300 ms ±0.5% | 1040 ms ±0.4% | 1.250 | 1.250 | +0.0% | 5.0% | ✅ 5 equal | 477 MiB ±0.0% (+0.0%) |"),
        "{comment}"
    );
    assert!(comment.contains("##### Gate: ✅ within"), "{comment}");

    // A regression: 4, the metric named in the table.
    let regressed = dir.path().join("regressed");
    BASE.write(&regressed, "alpha");
    Synthetic {
        slower: 1.5,
        ..BASE
    }
    .write(&regressed, "beta");
    let o = compare(&regressed, &base, &out, &[]);
    assert_eq!(code(&o), exit(Exit::Regression), "{}", text(&o.stderr));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| `beta` | ❌ regression |")
            && report.contains("app proof wall time: +50.0%"),
        "{report}"
    );

    // A benchmark without a snapshot is bad input (3), and outranks the regression.
    let o = compare(
        &regressed,
        &base,
        &out,
        &[("BENCH_NAMES", "[\"alpha\", \"beta\", \"gamma\"]")],
    );
    assert_eq!(code(&o), exit(Exit::BadInput), "{}", text(&o.stderr));
    let tsv = std::fs::read_to_string(out.join("verdicts.tsv")).unwrap();
    assert!(tsv.contains("gamma\tmissing\t"), "{tsv}");

    // A snapshot prof cannot read: 3, with prof's message.
    let broken = dir.path().join("broken");
    BASE.write(&broken, "alpha");
    std::fs::write(broken.join("beta.json"), "{").unwrap();
    let o = compare(&broken, &base, &out, &[]);
    assert_eq!(code(&o), exit(Exit::BadInput), "{}", text(&o.stderr));

    // Usage: wrong arguments or environment values, 2, never 4.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench-compare.sh");
    let o = Command::new("bash")
        .arg(&script)
        .arg(&within)
        .output()
        .unwrap();
    assert_eq!(code(&o), exit(Exit::Usage), "{}", text(&o.stderr));
    let o = compare(&within, &base, &out, &[("REGRESSION_PCT", "10%")]);
    assert_eq!(code(&o), exit(Exit::Usage), "{}", text(&o.stderr));
    // A missing run directory is bad input.
    let o = compare(&dir.path().join("nope"), &base, &out, &[]);
    assert_eq!(code(&o), exit(Exit::BadInput), "{}", text(&o.stderr));

    // No baseline yet: nothing can regress.
    let o = compare(&regressed, &dir.path().join("none"), &out, &[]);
    assert_eq!(code(&o), exit(Exit::Success), "{}", text(&o.stderr));
}
