//! Runs one proof in a child process (`starkscope-bench once ... --json`) and reads back
//! its [`Measurement`]. A child per proof gives each its own peak RSS and its own global
//! metrics recorder (one per process), and lets one run compare two builds (metrics on and
//! off) of the same runner.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use starkscope_sdk::Exit;

use crate::measure::Measurement;

/// A child that ran and failed; its exit status (from [`Exit`]'s table) says why.
#[derive(Debug, thiserror::Error)]
#[error("{command} failed ({status}):\n{stderr_tail}")]
pub struct ChildFailed {
    pub command: String,
    pub status: std::process::ExitStatus,
    /// The last lines of its stderr.
    pub stderr_tail: String,
}

impl ChildFailed {
    /// The child's own status when it is one of the table's; a kill by the kernel (SIGKILL,
    /// e.g. out of memory) may pass on a retry; any other signal or code is a bug.
    pub fn exit(&self) -> Exit {
        if let Some(exit) = self.status.code().and_then(Exit::from_code) {
            return exit;
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if self.status.signal() == Some(9) {
                return Exit::Retry;
            }
        }
        Exit::Internal
    }
}

/// What the child proves: a benchmark of a config, optionally with another segment size
/// or other inputs.
#[derive(Clone, Debug)]
pub struct ChildRun {
    pub config: PathBuf,
    pub bench: String,
    pub segment_size: Option<u64>,
    pub inputs: Vec<String>,
    pub threads: usize,
    /// One segment at a time (see [`crate::measure::Parallel`]).
    pub sequential: bool,
    /// Where the child writes its metrics snapshot, if anywhere.
    pub metrics: Option<PathBuf>,
}

impl ChildRun {
    /// The child's arguments after the binary.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "once".to_string(),
            "--config".into(),
            self.config.display().to_string(),
            "--bench".into(),
            self.bench.clone(),
            "--threads".into(),
            self.threads.to_string(),
            "--json".into(),
        ];
        if let Some(s) = self.segment_size {
            args.extend(["--segment-size".into(), s.to_string()]);
        }
        if self.sequential {
            args.push("--sequential".into());
        }
        if let Some(path) = &self.metrics {
            args.extend(["--metrics".into(), path.display().to_string()]);
        }
        for i in &self.inputs {
            args.extend(["--input".into(), i.clone()]);
        }
        args
    }

    /// Runs `binary` with these arguments and parses the JSON line it prints last.
    pub fn run(&self, binary: &Path) -> anyhow::Result<Measurement> {
        let output = Command::new(binary)
            .args(self.args())
            .output()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Where the child's exporters sent its metrics, and their warnings, are the
        // user's to see; the rest of its stderr only when it fails.
        for line in stderr.lines() {
            if line.starts_with("metrics ") || line.starts_with("warning: metrics exporter") {
                eprintln!("{line}");
            }
        }
        if !output.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            return Err(ChildFailed {
                command: format!("{} {}", binary.display(), self.args().join(" ")),
                status: output.status,
                stderr_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            }
            .into());
        }
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .with_context(|| {
                format!(
                    "{} printed no measurement (JSON line) on stdout",
                    binary.display()
                )
            })?;
        serde_json::from_str(line).with_context(|| {
            format!(
                "{} printed a measurement this runner cannot read: {line}",
                binary.display()
            )
        })
    }
}
