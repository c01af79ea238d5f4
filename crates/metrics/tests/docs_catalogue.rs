//! docs/metrics.md and the catalogue in code must agree. Regenerate the table with
//! `UPDATE_DOCS=1 cargo test -p starkscope-metrics --test docs_catalogue`.

#[path = "../../harness/tests/common/generated_docs.rs"]
mod generated_docs;

#[test]
fn docs_metrics_md_matches_the_catalogue() {
    generated_docs::check_generated_block(
        "docs/metrics.md",
        "<!-- catalogue:begin (generated from crates/metrics/src/catalogue.rs) -->\n",
        "<!-- catalogue:end -->",
        &starkscope_metrics::catalogue::markdown_table(),
        "the catalogue (crates/metrics/src/catalogue.rs)",
    );
}
