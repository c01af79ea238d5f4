//! Scoped labels from nested spans, end to end.
//!
//! ```sh
//! METRIC_OUTPUT=out.json cargo run -p starkscope-harness --example spans --features bench-metrics
//! ```
//!
//! Three "segments" of an app group each run two timed phases over a little real work
//! (a multiply-xor loop). Every gauge in out.json carries `group` and `segment` labels that
//! came from the enclosing spans; nothing passes a label by hand.

use starkscope_harness::run_with_metric_collection;
use starkscope_metrics::metrics::counter;
use starkscope_metrics::{names, Group};
use tracing::info_span;

/// A loop the optimiser cannot fold into a formula, so the timings measure real work.
fn mix(n: u64) -> u64 {
    (0..n).fold(0x9e37_79b9_7f4a_7c15u64, |x, i| {
        (x.rotate_left(5) ^ i).wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let group = Group::app("spans_example");
    let collected = run_with_metric_collection("METRIC_OUTPUT", || {
        let app = info_span!("app_proof", group = %group);
        let _app = app.enter();
        let mut checksum = 0u64;
        for segment in 0..3u32 {
            let seg = info_span!("segment", segment);
            let _seg = seg.enter();
            let cycles = 1_000_000 * u64::from(segment + 1);
            checksum ^= info_span!("execute")
                .in_scope(|| std::hint::black_box(mix(std::hint::black_box(cycles))));
            checksum ^= info_span!("trace_gen")
                .in_scope(|| std::hint::black_box(mix(std::hint::black_box(cycles / 2))));
            counter!(names::TOTAL_CYCLES).absolute(cycles);
        }
        checksum
    })?;

    println!("checksum {}", collected.value);
    for g in collected.snapshot.gauges(names::EXECUTE_TIME_MS) {
        println!(
            "{}{} = {} ms",
            g.metric,
            starkscope_snapshot::format_labels(&g.labels),
            g.value
        );
    }
    match collected.written_to {
        Some(path) => println!("snapshot written to {}", path.display()),
        None => println!("set METRIC_OUTPUT=out.json to write the snapshot"),
    }
    Ok(())
}
