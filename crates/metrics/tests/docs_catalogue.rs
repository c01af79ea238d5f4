//! docs/metrics.md and the catalogue in code must agree. Regenerate the table with
//! `UPDATE_DOCS=1 cargo test -p starkscope-metrics --test docs_catalogue`.

use std::path::PathBuf;

const BEGIN: &str = "<!-- catalogue:begin (generated from crates/metrics/src/catalogue.rs) -->\n";
const END: &str = "<!-- catalogue:end -->";

#[test]
fn docs_metrics_md_matches_the_catalogue() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = doc
        .find(BEGIN)
        .unwrap_or_else(|| panic!("{}: missing marker {BEGIN:?}", path.display()));
    let end = doc
        .find(END)
        .unwrap_or_else(|| panic!("{}: missing marker {END:?}", path.display()));
    let table = &doc[start + BEGIN.len()..end];
    let expected = starkscope_metrics::catalogue::markdown_table();
    if table != expected {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{}{}", &doc[..start + BEGIN.len()], expected, &doc[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        panic!(
            "docs/metrics.md disagrees with the catalogue; run with UPDATE_DOCS=1 to regenerate.\n\
             --- docs ---\n{table}\n--- catalogue ---\n{expected}"
        );
    }
}
