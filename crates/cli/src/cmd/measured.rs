//! A proving command's metrics snapshot: where it goes (`--metrics`, else `METRIC_OUTPUT`),
//! and the harness the command's work runs under.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use starkscope_harness::SnapshotError;
use starkscope_sdk::Exit;

use super::paths;
use crate::failure::tag;

/// Where the snapshot goes: `flag` (`--metrics`), else `METRIC_OUTPUT` when set. Refuses
/// `--metrics` on a build without metrics compiled in.
pub fn snapshot_path(flag: Option<&PathBuf>) -> anyhow::Result<Option<PathBuf>> {
    if cfg!(not(feature = "bench-metrics")) && flag.is_some() {
        return Err(tag(Exit::Usage, anyhow!("--metrics needs metrics compiled in: rebuild with `cargo build --release -p starkscope --features bench-metrics`")));
    }
    Ok(flag.cloned().or_else(|| {
        std::env::var_os("METRIC_OUTPUT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }))
}

/// The snapshot as an output to check before any work (none without metrics compiled in:
/// nothing is written there, the harness says so).
pub fn snapshot_role(path: Option<&PathBuf>) -> Option<paths::Role<'_>> {
    path.filter(|_| cfg!(feature = "bench-metrics"))
        .map(|p| paths::Role {
            what: "metrics snapshot",
            path: p,
        })
}

/// Where a unit of work ran, for its snapshot's `host` label: `--host`, else this
/// machine's host name.
#[derive(Debug, Clone, clap::Args)]
pub struct HostArgs {
    /// Label every metric of the snapshot with `host = NAME` (default: this machine's host
    /// name), so that the snapshots of a distributed run say where each unit ran.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
}

impl HostArgs {
    pub fn name(&self) -> String {
        self.host.clone().unwrap_or_else(host_name)
    }
}

/// This machine's host name (`unknown` when the system does not say).
fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            if let Ok(name) = std::str::from_utf8(&buf[..end]) {
                if !name.is_empty() {
                    return name.to_string();
                }
            }
        }
    }
    "unknown".to_string()
}

/// Runs `work` under the metrics harness (global install: the pool's threads report too),
/// with the exporters the environment configures (and a unit's `host` label); a malformed variable fails here, before
/// the work. The harness prints what each exporter sent where, and every warning. The value
/// comes back with why the snapshot could not be written, if it could not.
pub fn measured<R>(
    span_tree: bool,
    program: &str,
    host: Option<&str>,
    metrics_path: Option<&Path>,
    work: impl FnOnce() -> R,
) -> anyhow::Result<(R, Option<SnapshotError>)> {
    let harness = starkscope_harness::Harness::new()
        .install(starkscope_harness::Install::Global)
        .span_tree(span_tree)
        .program(program)
        .export_from_env()?;
    let harness = match host {
        Some(name) => harness.host(name),
        None => harness,
    };
    let harness = match metrics_path {
        Some(path) => harness.output(path),
        None => harness,
    };
    let collected = harness.run(work)?;
    if let Some(path) = &collected.written_to {
        eprintln!("metrics written to {}", path.display());
    }
    Ok((collected.value, collected.write_error))
}
