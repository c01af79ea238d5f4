//! Which exit status a failed command ends with (the one table: [`Exit`]).
//!
//! Library errors classify themselves (`SdkError::exit`, `FileError::exit`, an I/O error by
//! its kind); the CLI tags its own mistakes-of-use with [`ExitWith::exit_with`]. The first
//! classified cause in an error's chain decides; an error nothing classifies is internal.

use std::fmt;

use starkscope_harness::HarnessError;
use starkscope_prof::ProfError;
use starkscope_sdk::exit::io_exit;
use starkscope_sdk::{Exit, FileError, SdkError};
use starkscope_snapshot::SnapshotError;
use starkscope_vm::asm::LoadError;
use starkscope_vm::ExecError;

/// An error with the status it exits with; its causes stay in the chain.
#[derive(Debug)]
pub struct Tagged {
    pub exit: Exit,
    error: anyhow::Error,
}

impl fmt::Display for Tagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Tagged {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Tags a result's error with the status it exits with.
pub trait ExitWith<T> {
    fn exit_with(self, exit: Exit) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> ExitWith<T> for Result<T, E> {
    fn exit_with(self, exit: Exit) -> anyhow::Result<T> {
        self.map_err(|e| tag(exit, e))
    }
}

/// `error` as an error that exits with `exit`.
pub fn tag(exit: Exit, error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Tagged {
        exit,
        error: error.into(),
    })
}

/// The status `error` exits with.
pub fn exit_of(error: &anyhow::Error) -> Exit {
    error.chain().find_map(classify).unwrap_or(Exit::Internal)
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    if let Some(t) = cause.downcast_ref::<Tagged>() {
        return Some(t.exit);
    }
    if let Some(e) = cause.downcast_ref::<SdkError>() {
        return Some(e.exit());
    }
    if let Some(e) = cause.downcast_ref::<FileError>() {
        return Some(e.exit());
    }
    if let Some(e) = cause.downcast_ref::<LoadError>() {
        return Some(match e {
            LoadError::Io { error, .. } => io_exit(error),
            _ => Exit::BadInput,
        });
    }
    if let Some(e) = cause.downcast_ref::<ExecError>() {
        return Some(match e {
            ExecError::Config(_) => Exit::Usage,
            ExecError::InvalidProgram(_) | ExecError::Trap(_) => Exit::BadInput,
        });
    }
    if let Some(e) = cause.downcast_ref::<SnapshotError>() {
        return Some(snapshot_exit(e));
    }
    if let Some(e) = cause.downcast_ref::<ProfError>() {
        return Some(match e {
            ProfError::Snapshot(e) => snapshot_exit(e),
            ProfError::Options(_) => Exit::Usage,
            ProfError::Write { source, .. } => write_exit(source),
            ProfError::Render { .. } => Exit::Internal,
            _ => Exit::BadInput,
        });
    }
    if let Some(e) = cause.downcast_ref::<HarnessError>() {
        return Some(match e {
            HarnessError::Filter { .. } | HarnessError::ExportConfig(_) => Exit::Usage,
            HarnessError::AlreadyInstalled => Exit::Internal,
        });
    }
    cause.downcast_ref::<std::io::Error>().map(io_exit)
}

fn snapshot_exit(e: &SnapshotError) -> Exit {
    match e {
        SnapshotError::Write { source, .. } => write_exit(source),
        SnapshotError::Read { source, .. } => io_exit(source),
        _ => Exit::BadInput,
    }
}

/// A write that fails where the path was checked beforehand is the environment's fault
/// unless the kind says the path itself is wrong.
fn write_exit(e: &std::io::Error) -> Exit {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound | PermissionDenied | IsADirectory | NotADirectory | ReadOnlyFilesystem
        | InvalidInput | InvalidFilename => Exit::BadInput,
        _ => Exit::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_first_classified_cause_decides() {
        let io = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let e = Err::<(), _>(io).context("writing").unwrap_err();
        assert_eq!(exit_of(&e), Exit::Retry);
        let e = Err::<(), _>(tag(Exit::Usage, anyhow::anyhow!("bad flag")))
            .context("proving")
            .unwrap_err();
        assert_eq!(exit_of(&e), Exit::Usage);
        assert_eq!(exit_of(&anyhow::anyhow!("who knows")), Exit::Internal);
        assert_eq!(
            exit_of(&SdkError::Config("segment size".into()).into()),
            Exit::Usage
        );
    }
}
