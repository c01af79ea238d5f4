//! `starkscope prove | verify | keygen` end to end on the built binary: small programs,
//! small segments and the (insecure, fast) `testing` FRI preset, so each run takes
//! well under a second once built.

mod common;

use common::*;

use std::path::Path;
use std::process::Output;

/// `starkscope verify ARGS --fri testing --allow-insecure`: these tests' proofs use the
/// insecure `testing` preset, which a verifier accepts only when asked to.
fn verify_testing(args: &[&str]) -> Output {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--fri", "testing", "--allow-insecure"]);
    starkscope(&all)
}

/// Proves fibonacci(30) in 64-cycle segments (156 cycles: 3 segments) into `out`.
fn prove_fib(out: &Path, extra: &[&str]) -> Output {
    let fib = fib();
    let mut args = vec![
        "prove",
        &fib,
        "-i",
        "30",
        "--segment-size",
        "64",
        "--fri",
        "testing",
        "--quiet",
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    starkscope(&args)
}

#[test]
fn prove_then_verify_with_the_program_with_a_vk_and_from_a_saved_pk() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("fib.proof");
    let out = prove_fib(&proof, &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("cycles      156\n"), "{stdout}");
    assert!(
        stdout.contains("segments    3 (at most 64 cycles each"),
        "{stdout}"
    );
    assert!(stdout.contains("outputs     [832040]"), "{stdout}");
    assert!(stdout.contains("verified    yes"), "{stdout}");
    // One table row per segment, then the sums.
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("2 ") && l.contains(" 28 ")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("sum") && l.contains(" 156 ")),
        "{stdout}"
    );
    assert!(proof.exists());

    let out = verify_testing(&[s(&proof), "--program", &fib()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("valid: `fibonacci`"), "{stdout}");
    assert!(
        stdout.contains("3 segments, exit code 0, outputs [832040]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FRI preset testing (5 conjectured bits, insecure)"),
        "{stdout}"
    );

    let (pk, vk) = (dir.path().join("fib.pk"), dir.path().join("fib.vk"));
    let out = starkscope(&[
        "keygen",
        &fib(),
        "--pk",
        s(&pk),
        "--vk",
        s(&vk),
        "--fri",
        "testing",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = verify_testing(&[s(&proof), "--vk", s(&vk)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A proof made from the saved proving key verifies with the saved verifying key.
    let again = dir.path().join("again.proof");
    let out = prove_fib(&again, &["--pk", s(&pk)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = verify_testing(&[s(&again), "--vk", s(&vk)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Only the files asked for: no temporaries left behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["again.proof", "fib.pk", "fib.proof", "fib.vk"]);
}

#[test]
fn a_tampered_proof_is_invalid_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("fib.proof");
    assert!(prove_fib(&proof, &[]).status.success());
    let good = std::fs::read(&proof).unwrap();
    let n = good.len();
    // Past the header and program name: inside the segment proofs.
    for at in [n / 4, n / 2, 3 * n / 4, n - 100, n - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let path = dir.path().join(format!("bad{at}.proof"));
        std::fs::write(&path, &bad).unwrap();
        let out = verify_testing(&[s(&path), "--program", &fib()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "byte {at}: {stderr}");
        assert!(
            stderr.starts_with("invalid: ") && stderr.len() > 20,
            "byte {at}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("bad{at}.proof")),
            "byte {at}: {stderr}"
        );
    }

    // A false claim of outputs, in an otherwise well-formed file.
    use starkscope_sdk::files::{proof_from_file_bytes, proof_to_bytes};
    let mut claim = proof_from_file_bytes(&good, &proof).unwrap();
    claim.outputs[0] += starkscope_vm::F::new(1);
    let path = dir.path().join("lie.proof");
    std::fs::write(&path, proof_to_bytes(&claim).unwrap()).unwrap();
    let out = verify_testing(&[s(&path), "--program", &fib()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("claimed public outputs do not match"),
        "{}",
        text(&out.stderr)
    );

    // A truncated file.
    std::fs::write(&path, &good[..n / 3]).unwrap();
    let out = verify_testing(&[s(&path), "--program", &fib()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("corrupt or truncated proof"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_wrong_key_or_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("fib.proof");
    assert!(prove_fib(&proof, &[]).status.success());

    // The key of another program: invalid, naming both programs.
    let other_vk = dir.path().join("matmul.vk");
    let mm = programs().join("matmul.sasm");
    assert!(
        starkscope(&["keygen", s(&mm), "--vk", s(&other_vk), "--fri", "testing"])
            .status
            .success()
    );
    let out = verify_testing(&[s(&proof), "--vk", s(&other_vk)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("proves program `fibonacci`") && stderr.contains("key is for `matmul`"),
        "{stderr}"
    );
    let out = verify_testing(&[s(&proof), "--program", s(&mm)]);
    assert_eq!(out.status.code(), Some(1));

    // A key for the right program at another FRI preset.
    let fast_vk = dir.path().join("fast.vk");
    assert!(starkscope(&["keygen", &fib(), "--vk", s(&fast_vk)])
        .status
        .success());
    let out = starkscope(&["verify", s(&proof), "--vk", s(&fast_vk)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("preset `testing`"),
        "{}",
        text(&out.stderr)
    );

    // Files of the wrong kind, not ours, or missing: bad input (3) naming the file.
    let out = verify_testing(&[s(&proof), "--vk", s(&proof)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("is a starkscope proof, expected a verifying key"),
        "{}",
        text(&out.stderr)
    );
    let out = verify_testing(&[s(&other_vk), "--vk", s(&other_vk)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("expected a proof"));
    let out = verify_testing(&[&fib(), "--vk", s(&other_vk)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("not a starkscope file"),
        "{}",
        text(&out.stderr)
    );
    let missing = dir.path().join("missing.proof");
    let out = verify_testing(&[s(&missing), "--program", &fib()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("missing.proof"));
    let out = verify_testing(&[s(&proof)]);
    assert_eq!(out.status.code(), Some(2), "neither --program nor --vk");

    // A proving key for another program is refused before proving.
    let mm_pk = dir.path().join("matmul.pk");
    assert!(
        starkscope(&["keygen", s(&mm), "--pk", s(&mm_pk), "--fri", "testing"])
            .status
            .success()
    );
    let out = prove_fib(&dir.path().join("x.proof"), &["--pk", s(&mm_pk)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("proving key is for program `matmul`"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("x.proof").exists());
}

#[test]
fn a_missing_or_malformed_program_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sasm");
    std::fs::write(&bad, "li 0, 1\nhalt 0\n  jal 1, nowhere\n").unwrap();
    let out_file = dir.path().join("p.proof");
    let out = starkscope(&["prove", s(&bad), "--out", s(&out_file)]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert!(!out_file.exists());

    let out = verify_testing(&[s(&out_file), "--program", s(&bad)]);
    assert_eq!(out.status.code(), Some(3));
    let out = starkscope(&["keygen", s(&bad), "--vk", s(&dir.path().join("k"))]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains(":3:"));

    let out = starkscope(&["prove", "/nonexistent/p.sasm"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("/nonexistent/p.sasm"),
        "{}",
        text(&out.stderr)
    );

    // An execution trap names where it happened.
    let out = starkscope(&["prove", &fib(), "--fri", "testing", "--quiet"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("fibonacci.sasm:9:9"),
        "{}",
        text(&out.stderr)
    );
    // ... once: a cause its parent's message already includes is not printed again.
    assert_eq!(
        text(&out.stderr).matches("fibonacci.sasm:9:9").count(),
        1,
        "{}",
        text(&out.stderr)
    );
    let out = starkscope(&["prove", &fib(), "--fri", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("fast, recursion, testing"));
}

#[test]
fn help_shows_examples() {
    for cmd in ["prove", "verify", "keygen"] {
        let out = starkscope(&[cmd, "--help"]);
        assert!(out.status.success());
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("Examples:") && stdout.contains(&format!("starkscope {cmd} ")),
            "{stdout}"
        );
    }
}

#[cfg(not(feature = "bench-metrics"))]
#[test]
fn metrics_without_the_feature_says_how_to_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let out = prove_fib(
        &dir.path().join("p.proof"),
        &["--metrics", s(&dir.path().join("m.json"))],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--features bench-metrics"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("m.json").exists());
}

#[cfg(feature = "bench-metrics")]
#[test]
fn metrics_have_every_segment_with_group_and_segment_labels() {
    use starkscope_metrics::names;
    use starkscope_snapshot::Snapshot;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let out = prove_fib(&dir.path().join("p.proof"), &["--metrics", s(&json)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let snap = Snapshot::read(&json).expect("a snapshot");

    let run = starkscope(&["run", &fib(), "-i", "30", "--segment-size", "64", "--json"]);
    assert!(run.status.success());
    let run: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let cycles = run["cycles"].as_u64().unwrap();
    let segments = run["segments"].as_u64().unwrap();
    assert_eq!(segments, 3);

    let mut sum_cycles = 0;
    for seg in 0..segments {
        let seg = seg.to_string();
        let labels = [("group", "fibonacci"), ("segment", seg.as_str())];
        let gauge = |name: &str| {
            snap.gauge_value(name, &labels)
                .unwrap_or_else(|| panic!("no {name} for {labels:?}"))
        };
        let parts = gauge(names::EXECUTE_TIME_MS)
            + gauge(names::TRACE_GEN_TIME_MS)
            + gauge(names::STARK_PROVE_EXCLUDING_TRACE_TIME_MS);
        let total = gauge(names::TOTAL_PROOF_TIME_MS);
        // The gauges come from spans, the total from the prover's own clocks around them.
        assert!(
            (total - parts).abs() <= 0.5 + 0.02 * total,
            "segment {seg}: total {total} vs parts {parts}"
        );
        let counter = |name: &str| {
            snap.counter_value(name, &labels)
                .unwrap_or_else(|| panic!("no {name} for {labels:?}"))
        };
        sum_cycles += counter(names::TOTAL_CYCLES);
        assert!(counter(names::MAIN_CELLS_USED) > 0);
    }
    assert_eq!(sum_cycles, cycles);
    // METRIC_OUTPUT works as in the harness when --metrics is not given.
    let env_json = dir.path().join("env.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_starkscope"))
        .args(["prove", &fib(), "-i", "5", "--fri", "testing", "--quiet"])
        .env("METRIC_OUTPUT", &env_json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let snap = Snapshot::read(&env_json).unwrap();
    assert!(snap
        .counter_value(
            names::TOTAL_CYCLES,
            &[("group", "fibonacci"), ("segment", "0")]
        )
        .is_some());
}

/// The verifier decides the security, on both paths (--program and --vk): `--fri`
/// (default `fast`), insecure presets only with --allow-insecure, and the preset with its
/// conjectured bits on the `valid:` line.
#[test]
fn verify_checks_at_its_own_preset_not_the_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let testing = dir.path().join("testing.proof");
    assert!(prove_fib(&testing, &[]).status.success());

    // A `testing` proof is invalid for the default verifier, with a hint.
    let out = starkscope(&["verify", s(&testing), "--program", &fib()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("made with FRI preset `testing`, but the verifier requires `fast`")
            && stderr.contains("--fri testing --allow-insecure"),
        "{stderr}"
    );
    // Verifying at `testing` needs --allow-insecure: a usage error (2) without it.
    let out = starkscope(&[
        "verify",
        s(&testing),
        "--program",
        &fib(),
        "--fri",
        "testing",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--allow-insecure"), "{stderr}");

    // With --vk: a `testing` key is refused by a `fast` verifier (2), whatever the proof.
    let vk = dir.path().join("testing.vk");
    assert!(
        starkscope(&["keygen", &fib(), "--vk", s(&vk), "--fri", "testing"])
            .status
            .success()
    );
    let out = starkscope(&["verify", s(&testing), "--vk", s(&vk)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("key is for FRI preset `testing`"),
        "{stderr}"
    );

    // A `fast` proof verifies by default and says so.
    let fast = dir.path().join("fast.proof");
    let out = starkscope(&[
        "prove",
        &fib(),
        "-i",
        "30",
        "--segment-size",
        "64",
        "--quiet",
        "--out",
        s(&fast),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = starkscope(&["verify", s(&fast), "--program", &fib()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("FRI preset fast (116 conjectured bits)"),
        "{stdout}"
    );
}
