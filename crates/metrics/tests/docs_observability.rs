//! docs/observability.md's OTel name mapping table must be the one the code applies.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p starkscope-metrics --test docs_observability`.

use std::path::PathBuf;

const BEGIN: &str =
    "<!-- otel-names:begin (generated from crates/metrics/src/export/otel_names.rs) -->\n";
const END: &str = "<!-- otel-names:end -->";

#[test]
fn docs_observability_md_has_the_applied_otel_mapping() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/observability.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = doc
        .find(BEGIN)
        .unwrap_or_else(|| panic!("{}: missing marker {BEGIN:?}", path.display()));
    let end = doc
        .find(END)
        .unwrap_or_else(|| panic!("{}: missing marker {END:?}", path.display()));
    let table = &doc[start + BEGIN.len()..end];
    let expected = starkscope_metrics::export::otel_names::markdown_table();
    if table != expected {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{}{}", &doc[..start + BEGIN.len()], expected, &doc[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        panic!(
            "docs/observability.md disagrees with the OTel mapping; run with UPDATE_DOCS=1.\n\
             --- docs ---\n{table}\n--- code ---\n{expected}"
        );
    }
}
