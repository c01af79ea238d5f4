//! The exit-code table (`starkscope_sdk::Exit`, docs/sdk.md) through the real binary: one
//! case per status `starkscope` itself can end with. (4, a regression, is `prof`'s and
//! tested with it.)

mod common;

use std::os::unix::process::CommandExt;

use common::*;
use starkscope_sdk::Exit;

fn code(out: &std::process::Output) -> Option<Exit> {
    out.status.code().and_then(Exit::from_code)
}

#[test]
fn usage_errors_exit_2_and_bad_inputs_3() {
    // clap's own usage errors keep clap's 2, which is the table's.
    let out = starkscope(&["prove", &fib(), "--no-such-flag"]);
    assert_eq!(code(&out), Some(Exit::Usage), "{}", text(&out.stderr));
    let out = starkscope(&["verify", "p.proof"]);
    assert_eq!(code(&out), Some(Exit::Usage), "{}", text(&out.stderr));
    // Ours too: a value out of range.
    let out = starkscope(&[&["prove", &fib(), "--threads", "100000"][..], &QUICK[..]].concat());
    assert_eq!(code(&out), Some(Exit::Usage), "{}", text(&out.stderr));

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sasm");
    for args in [
        vec!["run", s(&missing)],
        vec!["prove", s(&missing)],
        vec!["keygen", s(&missing), "--vk", "k.vk"],
    ] {
        let out = starkscope(&args);
        assert_eq!(
            code(&out),
            Some(Exit::BadInput),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // A program that traps on its inputs (fibonacci reads one input).
    let out = starkscope(&["prove", &fib(), "--fri", "testing", "--quiet"]);
    assert_eq!(code(&out), Some(Exit::BadInput), "{}", text(&out.stderr));
}

#[test]
fn a_proof_that_cannot_be_written_for_lack_of_room_is_worth_retrying() {
    // A file-size limit stands in for a full disk: the proof's write fails with EFBIG
    // (SIGXFSZ ignored, so the write returns the error instead of killing the process).
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("p.proof");
    let mut cmd = starkscope_cmd(
        &[
            &["prove", &fib(), "--quiet", "--out", s(&proof)][..],
            &QUICK[..],
        ]
        .concat(),
    );
    // SAFETY: between fork and exec only async-signal-safe calls (signal, setrlimit).
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: 4096,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), Some(Exit::Retry), "{stderr}");
    assert!(stderr.contains("cannot write proof to"), "{stderr}");
    // Nothing half-written is left behind.
    assert!(!proof.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A metrics snapshot that can no longer be written when proving ends (its directory was
/// removed meanwhile) costs nothing but itself: the proof is written, the summary printed,
/// the loss named, and the status is 5.
#[cfg(feature = "bench-metrics")]
#[test]
fn metrics_lost_after_proving_keep_the_proof_and_exit_5() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let metrics_dir = dir.path().join("metrics");
    std::fs::create_dir(&metrics_dir).unwrap();
    let metrics = metrics_dir.join("run.json");
    let proof = dir.path().join("p.proof");
    let mut child = starkscope_cmd(
        &[
            &[
                "prove",
                &fib(),
                "--out",
                s(&proof),
                "--metrics",
                s(&metrics),
            ][..],
            &["-i", "100", "--segment-size", "64", "--fri", "testing"][..],
        ]
        .concat(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The span tree prints the keygen span when it closes: the outputs were checked before
    // it, and the segments are still to be proven.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("keygen") {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    std::fs::remove_dir_all(&metrics_dir).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = seen + &rest;
    assert_eq!(
        out.status.code().and_then(Exit::from_code),
        Some(Exit::MetricsLost),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("the proof was written to {}", proof.display()))
            && stderr.contains("metrics were lost")
            && stderr.contains("run.json"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains("cycles"),
        "{}",
        text(&out.stdout)
    );
    // The proof is whole: it verifies.
    let out = starkscope(&[
        "verify",
        s(&proof),
        "--program",
        &fib(),
        "--fri",
        "testing",
        "--allow-insecure",
    ]);
    assert_eq!(code(&out), Some(Exit::Success), "{}", text(&out.stderr));
}
