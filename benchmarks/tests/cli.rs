//! `starkscope-bench` end to end on tiny programs: the matrix is read, proofs are made and
//! measured, snapshots (with their repeated samples) land where asked, and every failure
//! exits with the shared table's code (`starkscope_sdk::Exit`) and a message naming it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use starkscope_benchmarks::Measurement;
use starkscope_sdk::Exit;

const BIN: &str = env!("CARGO_BIN_EXE_starkscope-bench");

fn bench(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `starkscope-bench <cmd> --config <config> <args>...`
fn bench_in(cmd: &str, config: &Path, args: &[&str]) -> Output {
    let config = config.to_str().unwrap();
    let mut all = vec![cmd, "--config", config];
    all.extend_from_slice(args);
    bench(&all)
}

fn code(e: Exit) -> Option<i32> {
    Some(i32::from(e.code()))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.json")
}

/// A config with one small program (about 300 cycles) proven with the testing FRI preset.
fn tiny_config(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("count.sasm"),
        "        hint 0\nloop:   addi 0, 0, -1\n        bnei 0, 0, loop\n        out 0\n        halt 0\n",
    )
    .unwrap();
    let path = dir.join("config.json");
    std::fs::write(
        &path,
        r#"{"benchmarks": [
            {"name": "count", "program": "count.sasm", "inputs": [150], "segment_size": 128, "fri": "testing"}
        ]}"#,
    )
    .unwrap();
    path
}

#[test]
fn list_shows_the_bundled_matrix() {
    let out = bench_in("list", &repo_config(), &["--json"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let names: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_config()).unwrap()).unwrap();
    let want: Vec<String> = config["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, want);
    assert!(names.contains(&"fibonacci".to_string()));
}

#[test]
fn bad_configs_exit_3_and_wrong_flags_2_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"benchmarks\": [\n  {\"name\": }\n]}").unwrap();
    let out = bench_in("list", &broken, &[]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), code(Exit::BadInput), "{err}");
    assert!(err.contains("broken.json:2:"), "{err}");

    // An aggregation entry must name a tree a node can have.
    let one_child = dir.path().join("one_child.json");
    std::fs::write(
        &one_child,
        format!(
            "{{\"benchmarks\": [{{\"name\": \"t\", \"program\": \"{}\", \"segment_size\": 64, \"fri\": \"testing\", \"aggregate\": {{\"children\": 1, \"fri\": \"testing\"}}}}]}}",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("programs/fibonacci.sasm")
                .display()
        ),
    )
    .unwrap();
    let out = bench_in("list", &one_child, &[]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), code(Exit::BadInput), "{err}");
    assert!(err.contains("aggregate.children is 1"), "{err}");

    let out = bench_in("list", &dir.path().join("absent.json"), &[]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), code(Exit::BadInput), "{err}");
    assert!(err.contains("absent.json"), "{err}");

    // A benchmark name the config does not have is a wrong flag value.
    let config = tiny_config(dir.path());
    let out = bench_in("once", &config, &["--bench", "nope"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), code(Exit::Usage), "{err}");
    assert!(
        err.contains("no benchmark named `nope`; the config has: count"),
        "{err}"
    );

    // clap's usage errors, and values found wrong after parsing: 2, as in every command
    // (4 is a regression, never a typo).
    for args in [
        &["sizes", "--log-sizes", "x"][..],
        &["run", "--samples", "0"],
        &["run", "--no-such-flag"],
    ] {
        let out = bench(args);
        assert_eq!(
            out.status.code(),
            code(Exit::Usage),
            "{args:?}: {:?}",
            text(&out)
        );
    }
    let out = bench_in("sizes", &config, &["--bench", "count", "--log-sizes", "31"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), code(Exit::Usage), "{err}");
    assert!(err.contains("2^31 is not a usable segment size"), "{err}");
}

#[test]
fn once_proves_and_reports_a_measurement() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    let out = bench_in("once", &config, &["--bench", "count", "--json"]);
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    let m: Measurement = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(m.name, "count");
    // hint + 150 x (addi, bnei) + out + halt
    assert_eq!(m.cycles, 303);
    assert_eq!(m.segments, 3);
    assert_eq!(m.fri, "testing");
    assert!(m.prove_ms > 0.0 && m.stark_prove_ms > 0.0 && m.proof_bytes > 0);
    assert_eq!(m.metrics, cfg!(feature = "bench-metrics"));
    assert_eq!(m.phases_ms.len(), if m.metrics { 6 } else { 0 });

    // Overridden inputs and segment size.
    let out = bench_in(
        "once",
        &config,
        &[
            "--bench",
            "count",
            "--input",
            "10",
            "--segment-size",
            "16",
            "--sequential",
            "--json",
        ],
    );
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    let m: Measurement = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!((m.cycles, m.segments, m.provers), (23, 2, 1));
}

#[test]
fn sizes_sweeps_in_child_processes() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    let json = dir.path().join("sizes.json");
    let out = bench_in(
        "sizes",
        &config,
        &[
            "--bench",
            "count",
            "--log-sizes",
            "6,8",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(stdout.contains("| 2^6 | 5 |"), "{stdout}");
    assert!(stdout.contains("| 2^8 | 2 |"), "{stdout}");
    let points: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(points.as_array().unwrap().len(), 2);
    assert_eq!(points[0]["segment_size"], 64);
    assert!(points[1]["peak_rss_bytes"].as_u64().unwrap() > 0);
}

#[cfg(feature = "bench-metrics")]
#[test]
fn run_writes_one_snapshot_per_benchmark_with_its_parameters() {
    use starkscope_snapshot::Snapshot;
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    let out_dir = dir.path().join("out");
    let out = bench_in(
        "run",
        &config,
        &["--out-dir", out_dir.to_str().unwrap(), "--samples", "3"],
    );
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        stdout.contains("| count | 303 | 3 | 128 | testing | 3 |"),
        "{stdout}"
    );
    // Only the snapshot is left: the samples' own files are gone.
    let files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["count.json"]);
    let snapshot = Snapshot::read(out_dir.join("count.json")).unwrap();
    let meta = snapshot.meta.as_ref().unwrap();
    assert_eq!(meta.extra["benchmark"]["name"], "count");
    assert_eq!(meta.extra["benchmark"]["segment_size"], 128);
    assert_eq!(meta.extra["benchmark"]["inputs"], "150");
    // Resources were sampled: the run's peak memory, which prof compares with a baseline.
    assert!(snapshot.gauge_value("run_peak_rss_bytes", &[]).unwrap() > 1e6);
    // Every sample's timings and the yardstick's, for the gate; the snapshot's own values
    // are the representative sample's.
    let repeats = starkscope_snapshot::Repeats::from_meta(meta)
        .unwrap()
        .unwrap();
    assert_eq!(repeats.samples, 3);
    assert!(repeats.yardstick.id.starts_with("p3-uni-stark "));
    assert_eq!(repeats.yardstick.ms.len(), 3);
    let wall = &repeats.series["app_proof_time_ms"];
    assert_eq!(
        Some(wall[repeats.representative]),
        snapshot.gauge_value("app_proof_time_ms", &[])
    );
    for series in ["total_proof_time_ms", "run_peak_rss_bytes"] {
        assert_eq!(repeats.series[series].len(), 3, "{series}");
    }
    // Three segments, each with its cycles and the six phases.
    assert_eq!(snapshot.counter_sum("total_cycles", &[]), 303);
    for seg in ["0", "1", "2"] {
        assert!(
            snapshot
                .gauge_value("pcs_opening_time_ms", &[("segment", seg)])
                .is_some(),
            "segment {seg}"
        );
    }
}

#[cfg(feature = "bench-metrics")]
#[test]
fn overhead_refuses_a_build_on_the_wrong_side() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    let out = bench_in(
        "overhead",
        &config,
        &[
            "--bench", "count", "--on", BIN, "--off", BIN, "--rounds", "1",
        ],
    );
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), code(Exit::Usage), "{err}");
    assert!(
        err.contains("was built with bench-metrics; --off needs a build without it"),
        "{err}"
    );
}

#[cfg(not(feature = "bench-metrics"))]
#[test]
fn run_without_metrics_says_how_to_rebuild_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    let out_dir = dir.path().join("out");
    let out = bench_in("run", &config, &["--out-dir", out_dir.to_str().unwrap()]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), code(Exit::Usage), "{err}");
    assert!(err.contains("--features bench-metrics"), "{err}");
    assert!(!out_dir.exists());
}

#[cfg(feature = "bench-metrics")]
#[test]
fn a_failing_benchmark_is_reported_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    tiny_config(dir.path());
    // Reads a hint that was never given: execution traps.
    std::fs::write(
        dir.path().join("starved.sasm"),
        "        hint 0\n        halt 0\n",
    )
    .unwrap();
    let config = dir.path().join("two.json");
    std::fs::write(
        &config,
        r#"{"benchmarks": [
            {"name": "starved", "program": "starved.sasm", "segment_size": 128, "fri": "testing"},
            {"name": "count", "program": "count.sasm", "inputs": [150], "segment_size": 128, "fri": "testing"}
        ]}"#,
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = bench_in(
        "run",
        &config,
        &["--out-dir", out_dir.to_str().unwrap(), "--samples", "1"],
    );
    let (stdout, err) = text(&out);
    // The trap is the program's fault, as the child said: bad input, not a regression.
    assert_eq!(out.status.code(), code(Exit::BadInput), "{err}");
    assert!(stdout.contains("| starved | FAILED"), "{stdout}");
    assert!(err.contains("error: benchmark `starved`:"), "{err}");
    assert!(err.contains("1 of 2 benchmarks failed: starved"), "{err}");
    assert!(!out_dir.join("starved.json").exists());
    assert!(out_dir.join("count.json").is_file());
}
