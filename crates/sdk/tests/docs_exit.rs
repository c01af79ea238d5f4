//! docs/sdk.md's exit-code table is the one the code defines. Regenerate it with
//! `UPDATE_DOCS=1 cargo test -p starkscope-sdk --test docs_exit`.

#[path = "../../harness/tests/common/generated_docs.rs"]
mod generated_docs;

#[test]
fn docs_sdk_md_has_the_exit_code_table() {
    generated_docs::check_generated_block(
        "docs/sdk.md",
        "<!-- exit-codes:begin (generated from crates/sdk/src/exit.rs) -->\n",
        "<!-- exit-codes:end -->",
        &starkscope_sdk::Exit::markdown_table(),
        "the exit-code table (crates/sdk/src/exit.rs)",
    );
}
