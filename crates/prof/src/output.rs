//! Writing the output files all-or-nothing: everything is rendered in memory first, then
//! written into a hidden staging directory inside the output directory, then each file is
//! renamed into place. An error before the renames leaves no new file behind.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::ProfError;

/// One output file, rendered.
pub struct OutputFile {
    pub name: &'static str,
    pub contents: Vec<u8>,
}

/// Writes `files` into `dir` (created if missing) and returns their paths.
pub fn write_all(dir: &Path, files: &[OutputFile]) -> Result<Vec<PathBuf>, ProfError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ProfError::Write { path, source }
    };
    fs::create_dir_all(dir).map_err(werr(dir))?;
    let staging = dir.join(format!(
        ".starkscope-prof-{}-{}",
        std::process::id(),
        unique()
    ));
    fs::create_dir(&staging).map_err(werr(&staging))?;
    let staged = (|| {
        for f in files {
            let p = staging.join(f.name);
            fs::write(&p, &f.contents).map_err(werr(&p))?;
        }
        Ok::<_, ProfError>(())
    })();
    if let Err(e) = staged {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let mut written = Vec::new();
    for f in files {
        let target = dir.join(f.name);
        if let Err(e) = fs::rename(staging.join(f.name), &target) {
            let _ = fs::remove_dir_all(&staging);
            return Err(ProfError::Write {
                path: target,
                source: e,
            });
        }
        written.push(target);
    }
    let _ = fs::remove_dir(&staging);
    Ok(written)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
