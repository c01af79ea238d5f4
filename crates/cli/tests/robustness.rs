//! A user's mistake never costs a proof: through the real binary, outputs are checked
//! before any work, no output overwrites an input, the thread count is capped, and a
//! closed stdout ends the process quietly.

mod common;

use common::*;

use std::path::PathBuf;
use std::process::{Command, Stdio};

#[test]
fn thread_counts_above_the_cap_are_refused_before_work() {
    let out = starkscope(&[&["prove", &fib(), "--threads", "100000"][..], &QUICK[..]].concat());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("threads 100000 is out of range 0..=") && stderr.contains("per core"),
        "{stderr}"
    );
}

#[test]
fn unwritable_outputs_are_refused_before_proving() {
    let dir = tempfile::tempdir().unwrap();
    // A path under /proc cannot take a file; a directory is not a file; a missing
    // directory is named.
    for (out, expect) in [
        ("/proc/x".to_string(), "cannot write proof to /proc/x"),
        (s(dir.path()).to_string(), "it is a directory"),
        (format!("{}/", s(dir.path())), "it is a directory"),
        (
            s(&dir.path().join("nowhere/p.proof")).to_string(),
            "does not exist",
        ),
    ] {
        let out =
            starkscope(&[&["prove", &fib(), "--quiet", "--out", &out][..], &QUICK[..]].concat());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{out:?}: {stderr}");
        assert!(stderr.contains(expect), "{stderr}");
        // Refused before any work: no summary was printed.
        assert!(
            !text(&out.stdout).contains("cycles"),
            "{}",
            text(&out.stdout)
        );
    }
    if cfg!(feature = "bench-metrics") {
        let proof = dir.path().join("p.proof");
        let out = Command::new(env!("CARGO_BIN_EXE_starkscope"))
            .args(
                [
                    &["prove", &fib(), "--quiet", "--out", s(&proof)][..],
                    &QUICK[..],
                ]
                .concat(),
            )
            .env("METRIC_OUTPUT", dir.path())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("cannot write metrics snapshot to") && stderr.contains("directory"),
            "{stderr}"
        );
        assert!(!proof.exists());
    }
}

#[test]
fn outputs_never_overwrite_inputs_or_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("fib.sasm");
    std::fs::copy(fib(), &prog).unwrap();
    let before = std::fs::read(&prog).unwrap();

    let out = starkscope(
        &[
            &["prove", s(&prog), "--quiet", "--out", s(&prog)][..],
            &QUICK[..],
        ]
        .concat(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("would overwrite the program"), "{stderr}");
    assert_eq!(
        std::fs::read(&prog).unwrap(),
        before,
        "the program is untouched"
    );

    let key = dir.path().join("k");
    let out = starkscope(&["keygen", s(&prog), "--pk", s(&key), "--vk", s(&key)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("would overwrite the verifying key"),
        "{stderr}"
    );
    assert!(!key.exists());
    // The same file named two ways is still the same file.
    let out = starkscope(&[
        "keygen",
        s(&prog),
        "--vk",
        &format!("{}/./fib.sasm", s(dir.path())),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&prog).unwrap(), before);

    if cfg!(feature = "bench-metrics") {
        let f = dir.path().join("both");
        let out = starkscope(
            &[
                &[
                    "prove",
                    s(&prog),
                    "--quiet",
                    "--out",
                    s(&f),
                    "--metrics",
                    s(&f),
                ][..],
                &QUICK[..],
            ]
            .concat(),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("would overwrite the metrics snapshot"),
            "{stderr}"
        );
        assert!(!f.exists());
    }
}

/// `starkscope run|verify .. | head -1`: the reader is gone before the first write.
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("p.proof");
    let out = starkscope(
        &[
            &["prove", &fib(), "--quiet", "--out", s(&proof)][..],
            &QUICK[..],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fib = fib();
    for args in [
        vec!["run", fib.as_str(), "-i", "30"],
        vec![
            "verify",
            s(&proof),
            "--program",
            fib.as_str(),
            "--fri",
            "testing",
            "--allow-insecure",
        ],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_starkscope"))
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}

/// `prove --json` and `verify --json` carry the whole result: every output (the text
/// summary shows 16), exit code, program hash, preset and segments; an invalid proof and a
/// usage error are JSON too, with the exit code.
#[test]
fn json_results_carry_everything() {
    let dir = tempfile::tempdir().unwrap();
    let sort = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../benchmarks/programs/bubble_sort.sasm");
    let values: Vec<String> = (0..20).rev().map(|v| (v * 7 + 3).to_string()).collect();
    let proof = dir.path().join("sort.proof");
    let mut args = vec!["prove", s(&sort), "-i", "20"];
    args.extend(values.iter().map(String::as_str));
    args.extend([
        "--segment-size",
        "1024",
        "--fri",
        "testing",
        "--quiet",
        "--json",
        "--out",
        s(&proof),
    ]);
    let out = starkscope(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("prove --json is JSON");
    let mut sorted: Vec<u64> = values.iter().map(|x| x.parse().unwrap()).collect();
    sorted.sort_unstable();
    let outputs: Vec<u64> = v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(outputs, sorted, "all 20 outputs");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["preset"], "testing");
    assert_eq!(v["program_hash"].as_str().unwrap().len(), 64);
    let segments = v["segments"].as_array().unwrap();
    assert!(segments.len() >= 2, "{v}");
    assert_eq!(
        segments
            .iter()
            .map(|s| s["proof_bytes"].as_u64().unwrap())
            .sum::<u64>(),
        v["proof_bytes"].as_u64().unwrap()
    );
    assert_eq!(v["proof_file"], s(&proof));

    let verify = |extra: &[&str]| {
        let mut a = vec!["verify", s(&proof), "--program", s(&sort), "--json"];
        a.extend_from_slice(extra);
        starkscope(&a)
    };
    let out = verify(&["--fri", "testing", "--allow-insecure"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(w["valid"], true);
    assert_eq!(w["exit"], 0);
    assert_eq!(w["outputs"], v["outputs"]);
    assert_eq!(w["program_hash"], v["program_hash"]);
    assert_eq!(w["segments"].as_u64().unwrap() as usize, segments.len());
    assert_eq!(w["insecure"], true);
    // Invalid (a `testing` proof for a `fast` verifier) and usage errors are JSON too.
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (w["valid"].clone(), w["exit"].clone()),
        (false.into(), 1.into())
    );
    assert!(w["reason"].as_str().unwrap().contains("testing"), "{w}");
    let out = verify(&["--fri", "testing"]);
    assert_eq!(out.status.code(), Some(2));
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(w["valid"].is_null() && w["exit"] == 2, "{w}");
}

/// Smaller items: `verify` with neither key names both options, `prove --input-file`,
/// segment sizes below the minimum refused, every out-of-range number worded alike.
#[test]
fn small_edges() {
    let dir = tempfile::tempdir().unwrap();
    let out = starkscope(&["verify", "p.proof"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--program") && stderr.contains("--vk"),
        "{stderr}"
    );

    let inputs = dir.path().join("in.txt");
    std::fs::write(&inputs, "# n\n30\n").unwrap();
    let out = starkscope(&[
        "prove",
        &fib(),
        "--input-file",
        s(&inputs),
        "--segment-size",
        "64",
        "--fri",
        "testing",
        "--quiet",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outputs"][0], 832040);

    for cmd in ["run", "prove"] {
        let out = starkscope(&[cmd, &fib(), "-i", "30", "--segment-size", "1"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(
            stderr.contains("segment size 1 is out of range 16..="),
            "{cmd}: {stderr}"
        );
    }
    // A byte that is not UTF-8, named with its line and column.
    let bad = dir.path().join("bad.sasm");
    std::fs::write(&bad, b"li 0, 1\nhalt \xff0\n").unwrap();
    let out = starkscope(&["run", s(&bad)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("bad.sasm:2:6: byte 0xff is not UTF-8"),
        "{stderr}"
    );
    // A pc outside the program names the instruction that jumped there.
    let jump = dir.path().join("jump.sasm");
    std::fs::write(&jump, "li 0, 1000\njalr 1, 0\n").unwrap();
    let out = starkscope(&["run", s(&jump)]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("jump.sasm:2:1"), "{stderr}");
    assert!(
        stderr.contains("pc 1000 is outside the program"),
        "{stderr}"
    );

    let out = starkscope(&["prove", &fib(), "-i", "30", "--memory-budget", "0"]);
    assert!(
        text(&out.stderr).contains("memory budget 0 is out of range 1..="),
        "{}",
        text(&out.stderr)
    );
}
