//! The `bench_config` target: a benchmark matrix through the reader `starkscope-bench`
//! uses. The text is read as if it were benchmarks/config.json, so relative paths name the
//! bundled programs and input files.

use std::path::Path;

use starkscope_benchmarks::BenchConfig;

/// Any bytes are read or refused with an error that prints; a config that reads names
/// benchmarks that can be selected by name, each with a valid program.
pub fn check(data: &[u8], config_path: &Path) {
    // `BenchConfig::load` reads the file as UTF-8 text: other bytes are an I/O error.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match BenchConfig::parse(text, config_path) {
        Ok(config) => {
            assert!(
                !config.benchmarks.is_empty(),
                "a config with no benchmarks read"
            );
            for b in &config.benchmarks {
                assert!(b.segment_size >= 1, "{}: segment size 0 read", b.name);
                if let Err(e) = b.program.validate() {
                    panic!("{}: an invalid program read: {e}", b.name);
                }
                let picked = config
                    .select(std::slice::from_ref(&b.name))
                    .expect("select by name");
                assert!(picked[0].name == b.name);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
