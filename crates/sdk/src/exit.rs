//! What the exit status of a starkscope command means: one table for every binary
//! (`starkscope`, `starkscope-bench`) and for the scripts and drivers that run them.
//!
//! A caller tells three things apart: success; a failure that running the same command
//! again cannot fix (a usage mistake, a bad input, an invalid proof, a regression); and a
//! failure of the environment that may pass on a retry ([`Exit::Retry`]). docs/sdk.md
//! carries the table, generated from [`Exit::ALL`].

use crate::error::{FileError, SdkError};

/// An exit status with one meaning across every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Exit {
    /// The command did what it was asked.
    Success = 0,
    /// `verify`: the proof was checked and is not valid (the reason is printed).
    InvalidProof = 1,
    /// The command line is wrong: an unknown flag, a missing or out-of-range value, two
    /// outputs naming one file. Nothing was read or written.
    Usage = 2,
    /// An input cannot be used: a missing or malformed file (program, proof, key,
    /// snapshot, benchmark config), a wrong key, a program that traps on its inputs.
    /// Deterministic: running it again gives the same failure.
    BadInput = 3,
    /// `prof --fail-on-regression` or a benchmark gate: the measurements are worse than the
    /// baseline beyond the threshold. The reports were written.
    Regression = 4,
    /// The proof (the command's result) was written, but the metrics snapshot could not be:
    /// the stderr says where it was going and why.
    MetricsLost = 5,
    /// A failure of starkscope itself (an internal error, which is a bug): not worth
    /// retrying; please report it. A panic exits 101, which means the same.
    Internal = 70,
    /// A failure of the environment: an output could not be written (disk full, I/O
    /// error), threads or memory could not be had. The same command may succeed when run
    /// again or on another machine.
    Retry = 75,
}

impl Exit {
    /// Every status, in the order of the table.
    pub const ALL: [Exit; 8] = [
        Exit::Success,
        Exit::InvalidProof,
        Exit::Usage,
        Exit::BadInput,
        Exit::Regression,
        Exit::MetricsLost,
        Exit::Internal,
        Exit::Retry,
    ];

    /// The status as a process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Whether running the same command again may succeed.
    pub fn worth_retrying(self) -> bool {
        self == Exit::Retry
    }

    /// The status with this code, when it is one of ours.
    pub fn from_code(code: i32) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| i32::from(e.code()) == code)
    }

    /// One line: what the status means.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::InvalidProof => "invalid proof: `verify` checked the proof and refused it",
            Exit::Usage => "usage error: a wrong flag, value or combination; nothing was done",
            Exit::BadInput => {
                "bad input: a missing or malformed file, a wrong key, a program that traps"
            }
            Exit::Regression => "regression: worse than the baseline beyond the threshold",
            Exit::MetricsLost => "the result was written, the metrics snapshot was not",
            Exit::Internal => "internal error (a bug; a panic exits 101 and means the same)",
            Exit::Retry => "failure of the environment (I/O, threads, memory): worth retrying",
        }
    }

    /// The table docs/sdk.md carries.
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | meaning | retry |\n|---:|---|---|\n");
        for e in Exit::ALL {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                e.code(),
                e.meaning(),
                if e.worth_retrying() { "yes" } else { "no" }
            ));
        }
        out
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// The status of a failed I/O operation: the environment's fault (retry) for the kinds
/// that come and go, the input's otherwise (a missing file, a directory, no permission).
pub fn io_exit(e: &std::io::Error) -> Exit {
    use std::io::ErrorKind::*;
    match e.kind() {
        StorageFull | QuotaExceeded | FileTooLarge | OutOfMemory | Interrupted | TimedOut
        | WouldBlock | ResourceBusy | WriteZero | BrokenPipe | ConnectionReset
        | ConnectionAborted => Exit::Retry,
        _ => Exit::BadInput,
    }
}

impl SdkError {
    /// Which status this failure exits with.
    pub fn exit(&self) -> Exit {
        match self {
            SdkError::Config(_) | SdkError::InsecurePreset { .. } | SdkError::KeyPreset { .. } => {
                Exit::Usage
            }
            SdkError::Pool(_) => Exit::Retry,
            SdkError::Exec(_) | SdkError::Keygen(_) => Exit::BadInput,
            SdkError::Prove(e) => match e {
                starkscope_vm::prove::SegmentProveError::TooManyAccesses { .. } => Exit::BadInput,
                _ => Exit::Internal,
            },
            SdkError::Invalid(_) => Exit::InvalidProof,
            SdkError::File(e) => e.exit(),
            // A child proof that is refused, does not link or does not run the circuit is
            // the input's fault; a circuit that does not compile or prove is ours.
            SdkError::Aggregate(e) => match e {
                crate::tree::NodeError::Compile(_) | crate::tree::NodeError::Prove(_) => {
                    Exit::Internal
                }
                _ => Exit::BadInput,
            },
        }
    }
}

impl FileError {
    /// Which status this failure exits with: an I/O error by its kind, a malformed or
    /// mismatched file as bad input.
    pub fn exit(&self) -> Exit {
        match self {
            FileError::Io { source, .. } => io_exit(source),
            _ => Exit::BadInput,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_round_trip() {
        for e in Exit::ALL {
            assert_eq!(Exit::from_code(i32::from(e.code())), Some(e));
        }
        assert_eq!(Exit::from_code(101), None);
        assert_eq!(Exit::ALL.iter().filter(|e| e.worth_retrying()).count(), 1);
    }

    #[test]
    fn io_errors_split_by_kind() {
        let e = |k| std::io::Error::from(k);
        assert_eq!(io_exit(&e(std::io::ErrorKind::NotFound)), Exit::BadInput);
        assert_eq!(io_exit(&e(std::io::ErrorKind::StorageFull)), Exit::Retry);
    }
}
