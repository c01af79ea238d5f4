//! docs/observability.md's OTel name mapping table must be the one the code applies.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p starkscope-harness --test docs_observability`.

#[path = "common/generated_docs.rs"]
mod generated_docs;

#[test]
fn docs_observability_md_has_the_applied_otel_mapping() {
    generated_docs::check_generated_block(
        "docs/observability.md",
        "<!-- otel-names:begin (generated from crates/harness/src/export/otel_names.rs) -->\n",
        "<!-- otel-names:end -->",
        &starkscope_harness::export::otel_names::markdown_table(),
        "the OTel mapping (crates/harness/src/export/otel_names.rs)",
    );
}
