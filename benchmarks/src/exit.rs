//! What `starkscope-bench`'s exit status says: [`starkscope_sdk::Exit`]'s table, the same for
//! every starkscope command, found from the error that stopped the command.

use starkscope_sdk::exit::io_exit;
use starkscope_sdk::{Exit, FileError, SdkError};
use starkscope_snapshot::SnapshotError;

use crate::child::ChildFailed;
use crate::config::ConfigError;

/// A wrong flag, value or combination, found after parsing (clap's own usage errors exit 2
/// before any of this runs).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Some benchmarks of a `run` failed; the others were measured and written.
#[derive(Debug, thiserror::Error)]
#[error("{} of {total} benchmarks failed: {}", .failed.len(), .failed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "))]
pub struct SomeFailed {
    /// Each failed benchmark with the status its failure alone would exit with.
    pub failed: Vec<(String, Exit)>,
    pub total: usize,
}

impl SomeFailed {
    /// Worth retrying only when every failure is; otherwise the first failure that is not.
    pub fn exit(&self) -> Exit {
        self.failed
            .iter()
            .map(|(_, e)| *e)
            .find(|e| !e.worth_retrying())
            .unwrap_or(Exit::Retry)
    }
}

/// The status a failed command exits with: decided by the first error in the chain whose
/// kind is known; anything else is a bug of ours ([`Exit::Internal`]).
pub fn exit_of(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.is::<Usage>() {
            return Exit::Usage;
        }
        if let Some(e) = cause.downcast_ref::<SomeFailed>() {
            return e.exit();
        }
        if let Some(e) = cause.downcast_ref::<ChildFailed>() {
            return e.exit();
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return match e {
                // `--bench NAME` naming no benchmark is a wrong flag value.
                ConfigError::Unknown { .. } => Exit::Usage,
                ConfigError::Read { error, .. } => io_exit(error),
                _ => Exit::BadInput,
            };
        }
        if let Some(e) = cause.downcast_ref::<SdkError>() {
            return e.exit();
        }
        if let Some(e) = cause.downcast_ref::<FileError>() {
            return e.exit();
        }
        if let Some(e) = cause.downcast_ref::<SnapshotError>() {
            return match e {
                SnapshotError::Read { source, .. } | SnapshotError::Write { source, .. } => {
                    io_exit(source)
                }
                SnapshotError::Parse { .. } | SnapshotError::BadValue { .. } => Exit::BadInput,
            };
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            return io_exit(e);
        }
    }
    Exit::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_first_known_cause_decides() {
        let usage = anyhow::Error::new(Usage("--samples 0".into())).context("run");
        assert_eq!(exit_of(&usage), Exit::Usage);
        let io = Err::<(), _>(std::io::Error::from(std::io::ErrorKind::StorageFull))
            .context("cannot write out/x.json")
            .unwrap_err();
        assert_eq!(exit_of(&io), Exit::Retry);
        assert_eq!(exit_of(&anyhow::anyhow!("unexpected")), Exit::Internal);
    }

    #[test]
    fn some_failed_retries_only_when_every_failure_may_pass() {
        let failed = |exits: &[Exit]| SomeFailed {
            failed: exits.iter().map(|e| ("b".to_string(), *e)).collect(),
            total: 3,
        };
        assert_eq!(failed(&[Exit::Retry, Exit::Retry]).exit(), Exit::Retry);
        assert_eq!(
            failed(&[Exit::Retry, Exit::BadInput]).exit(),
            Exit::BadInput
        );
    }
}
