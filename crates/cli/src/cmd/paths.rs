//! Output paths checked before any work: a command that would only fail to write its
//! result after minutes of proving refuses to start instead, and no output may overwrite
//! an input or another output of the same command.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use starkscope_sdk::Exit;

use crate::failure::tag;

/// A file a command reads or writes, and what it is (for messages).
pub struct Role<'a> {
    pub what: &'static str,
    pub path: &'a Path,
}

/// The file `path` names, as comparable as the filesystem allows: the canonical path when
/// it exists, else the canonical parent joined with the file name.
fn identity(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    parent
        .canonicalize()
        .map(|p| p.join(&name))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Checks that each output can be written (not a directory, its directory exists and
/// takes a new file) and that no two of `outputs` and `inputs` are the same file.
pub fn check(outputs: &[Role], inputs: &[Role]) -> anyhow::Result<()> {
    for out in outputs {
        writable(out)?;
    }
    for (i, a) in outputs.iter().enumerate() {
        let id = identity(a.path);
        for b in outputs[i + 1..].iter().chain(inputs) {
            if identity(b.path) == id {
                return Err(tag(
                    Exit::Usage,
                    anyhow::anyhow!(
                        "the {} would overwrite the {} ({}): give them different files",
                        a.what,
                        b.what,
                        a.path.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn writable(out: &Role) -> anyhow::Result<()> {
    let path = out.path;
    let cannot = || format!("cannot write {} to {}", out.what, path.display());
    if path.as_os_str().to_string_lossy().ends_with('/') || path.is_dir() {
        return Err(tag(
            Exit::Usage,
            anyhow::anyhow!("{}: it is a directory; name a file", cannot()),
        ));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(tag(
            Exit::Usage,
            anyhow::anyhow!("{}: directory {} does not exist", cannot(), dir.display()),
        ));
    }
    // Writes go through a temporary file in the same directory and a rename: probe that.
    let probe = dir.join(format!(".starkscope-probe-{}", std::process::id()));
    if let Err(e) = OpenOptions::new().write(true).create_new(true).open(&probe) {
        // A path that cannot take a file is a wrong argument; a full disk is not.
        let exit = match starkscope_sdk::exit::io_exit(&e) {
            Exit::Retry => Exit::Retry,
            _ => Exit::Usage,
        };
        return Err(tag(exit, anyhow::Error::new(e).context(cannot())));
    }
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
