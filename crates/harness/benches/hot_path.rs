//! What instrumentation costs on the hot path, against the same call with nothing installed.
//!
//! ```sh
//! cargo bench -p starkscope-harness --features bench-metrics --bench hot_path
//! ```
//!
//! - `counter/*`: one labelled `counter!` increment inside a scoped span (`group`,
//!   `segment`), through TracingContextLayer -> fan-out -> in-memory recorder, vs the same
//!   macro with no recorder and no subscriber.
//! - `span/*`: one INFO span entered and closed through the full layer stack (EnvFilter,
//!   MetricsLayer, TimingMetricsLayer; span-tree printer off), vs no subscriber.
//!
//! The ratio full/bare is what a call site pays; both run in the same process.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use starkscope_harness::{Harness, Install};
use starkscope_metrics::metrics::counter;
use tracing::info_span;

fn labelled_counter() {
    counter!("bench_counter", "air_name" => "cpu").increment(black_box(1));
}

fn timed_span() {
    info_span!("bench_phase").in_scope(|| black_box(1u64));
}

/// Benches `call` with nothing installed (`bare`), then inside a labelled span through the
/// harness's full stack (`full_stack`), in one group so criterion reports them side by side.
fn bench_pair(c: &mut Criterion, group: &str, bare: &str, call: fn()) {
    let mut group = c.benchmark_group(group);
    group.bench_function(bare, |b| b.iter(call));
    let _ = Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .filter("info")
        .run(|| {
            let scope = info_span!("segment", group = "bench", segment = 0u32);
            let _s = scope.enter();
            group.bench_function("full_stack", |b| b.iter(call));
        })
        .expect("harness");
    group.finish();
}

fn bench(c: &mut Criterion) {
    bench_pair(c, "counter", "no_recorder", labelled_counter);
    bench_pair(c, "span", "no_subscriber", timed_span);
}

criterion_group!(benches, bench);
criterion_main!(benches);
