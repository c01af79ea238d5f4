//! Checks a generated block of a doc page against what the code generates now, between a
//! begin and an end marker; with `UPDATE_DOCS=1` set, rewrites the block instead.

use std::path::PathBuf;

/// `page` is relative to the repository root; `what` names the source in the failure.
pub fn check_generated_block(page: &str, begin: &str, end: &str, expected: &str, what: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(page);
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = doc
        .find(begin)
        .unwrap_or_else(|| panic!("{}: missing marker {begin:?}", path.display()));
    let stop = doc
        .find(end)
        .unwrap_or_else(|| panic!("{}: missing marker {end:?}", path.display()));
    let block = &doc[start + begin.len()..stop];
    if block == expected {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!(
            "{}{}{}",
            &doc[..start + begin.len()],
            expected,
            &doc[stop..]
        );
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "{page} disagrees with {what}; run the test with UPDATE_DOCS=1 to regenerate.\n\
         --- {page} ---\n{block}\n--- {what} ---\n{expected}"
    );
}
