//! `starkscope run` end to end: the binary, its output and its exit codes.

mod common;

use common::*;

#[test]
fn prints_cycles_segments_exit_code_outputs_opcodes_and_regions() {
    let fib = programs().join("fibonacci.sasm");
    let out = starkscope(&[
        "run",
        fib.to_str().unwrap(),
        "--input",
        "10",
        "--segment-size",
        "16",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("cycles      56\n"), "{stdout}");
    assert!(
        stdout.contains("segments    4 (at most 16 cycles each)"),
        "{stdout}"
    );
    assert!(stdout.contains("exit code   0"), "{stdout}");
    assert!(stdout.contains("outputs     [55]"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("mov") && l.contains("20")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("fib") && l.contains("51")),
        "{stdout}"
    );
}

#[test]
fn json_for_machines() {
    let mm = programs().join("matmul.sasm");
    let out = starkscope(&[
        "run",
        mm.to_str().unwrap(),
        "--json",
        "-i",
        "2",
        "1",
        "2",
        "3",
        "4",
        "-i",
        "5",
        "6",
        "7",
        "8",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["outputs"], serde_json::json!([19, 22, 43, 50]));
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["segments"], 1);
    let cycles = v["cycles"].as_u64().unwrap();
    let by_opcode: u64 = v["opcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_opcode, cycles);
    assert!(v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["region"] == "multiply;dot"));
}

#[test]
fn inputs_from_a_file_come_first() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs.txt");
    std::fs::write(&inputs, "2   # n\n1, 2, 3, 4 ; A\n5 6\n").unwrap();
    let mm = programs().join("matmul.sasm");
    let out = starkscope(&[
        "run",
        mm.to_str().unwrap(),
        "--json",
        "--input-file",
        inputs.to_str().unwrap(),
        "-i",
        "7",
        "8",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outputs"], serde_json::json!([19, 22, 43, 50]));

    std::fs::write(&inputs, "1\n2 x3\n").unwrap();
    let out = starkscope(&[
        "run",
        mm.to_str().unwrap(),
        "--input-file",
        inputs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("inputs.txt:2: `x3` is not a number"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_malformed_program_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sasm");
    std::fs::write(&bad, "li 0, 1\n  ad 1, 2, 3\nhalt\n").unwrap();
    let out = starkscope(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2:3: unknown opcode `ad`", bad.display())),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn traps_bad_inputs_and_missing_files_fail() {
    let fib = programs().join("fibonacci.sasm");
    let fib = fib.to_str().unwrap();
    let out = starkscope(&["run", fib]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("fibonacci.sasm:9:9 (pc 0, cycle 0): hint stream exhausted"),
        "{}",
        text(&out.stderr)
    );

    let out = starkscope(&["run", fib, "-i", "100000", "--max-cycles", "1000"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("no `halt` within the limit of 1000 cycles"));

    let out = starkscope(&["run", fib, "-i", "12x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--input #1: `12x` is not a number"));

    let out = starkscope(&["run", "/nonexistent/p.sasm"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("cannot read program /nonexistent/p.sasm"));

    let out = starkscope(&["run", fib, "-i", "1", "--segment-size", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("segment size 0"));
}

#[cfg(feature = "bench-metrics")]
#[test]
fn metrics_snapshot_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let fib = programs().join("fibonacci.sasm");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_starkscope"))
        .args([
            "run",
            fib.to_str().unwrap(),
            "-i",
            "10",
            "--segment-size",
            "32",
        ])
        .env("METRIC_OUTPUT", &path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let snap = starkscope_snapshot::Snapshot::read(&path).unwrap();
    assert_eq!(
        snap.counter_value("total_cycles", &[("group", "fibonacci"), ("segment", "0")]),
        Some(32)
    );
    assert_eq!(
        snap.counter_value("total_cycles", &[("group", "fibonacci"), ("segment", "1")]),
        Some(24)
    );
    assert!(snap
        .gauge_value(
            "execute_time_ms",
            &[("group", "fibonacci"), ("segment", "1")]
        )
        .is_some());
}
