//! Resource sampling through the harness: per-span peak RSS and CPU time with the span's
//! labels, phase spans, worker threads, and the whole run's totals.
#![cfg(feature = "resources")]

use std::time::Duration;

use starkscope_harness::resources::{process_cpu_time_us, ResourceConfig};
use starkscope_harness::{Harness, Install};
use starkscope_metrics::{labels, names, Scope};
use starkscope_snapshot::Snapshot;
use tracing::info_span;

const MIB: f64 = (1 << 20) as f64;

fn harness() -> Harness {
    Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .filter("info")
}

/// Allocates and touches `mib` MiB, holds it for `hold`, frees it.
fn hold_memory(mib: usize, hold: Duration) {
    let v = vec![1u8; mib << 20];
    std::thread::sleep(hold);
    std::hint::black_box(&v);
}

/// Burns CPU on this thread for about `ms` of CPU time; returns the CPU time it measured.
fn burn_cpu(ms: u64) -> f64 {
    let start = process_cpu_time_us();
    let mut x = 1u64;
    while process_cpu_time_us() < start + ms * 1000 {
        for i in 0..100_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
    }
    std::hint::black_box(x);
    (process_cpu_time_us() - start) as f64 / 1000.0
}

fn gauge(s: &Snapshot, name: &str, want: &[(&str, &str)]) -> f64 {
    s.gauges(name)
        .find(|e| e.labels.len() == want.len() && e.has_labels(want))
        .and_then(|e| e.value.parse().ok())
        .unwrap_or_else(|| panic!("{name} with exactly {want:?} missing: {:#?}", s.gauge))
}

#[test]
fn scoped_and_phase_spans_get_peak_rss_and_cpu_time() {
    let collected = harness()
        .sample_resources(ResourceConfig::every(Duration::from_millis(5)))
        .run(|| {
            let app = info_span!("app_proof", group = "fib");
            let _app = app.enter();
            let mut burned = Vec::new();
            for segment in 0..2u32 {
                let seg = info_span!("segment", segment);
                let _seg = seg.enter();
                // 64 MiB held for 40 ms, freed before the span closes: only the sampler
                // thread can see it.
                info_span!("execute").in_scope(|| hold_memory(64, Duration::from_millis(40)));
                burned.push(info_span!("pcs_opening").in_scope(|| burn_cpu(30)));
            }
            burned
        })
        .unwrap();
    let s = &collected.snapshot;
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);

    for segment in ["0", "1"] {
        let seg = [(labels::GROUP, "fib"), (labels::SEGMENT, segment)];
        let exec = [
            (labels::GROUP, "fib"),
            (labels::SEGMENT, segment),
            (labels::PHASE, "execute"),
        ];
        let exec_peak = gauge(s, names::PEAK_RSS_BYTES, &exec);
        // Absolute, not relative to a baseline: tests in parallel allocate and free too,
        // but none holds more than 32 MiB, so only the held 64 MiB explains this peak.
        assert!(
            exec_peak >= 64.0 * MIB,
            "execute peak {exec_peak} should include the 64 MiB held"
        );
        let seg_peak = gauge(s, names::PEAK_RSS_BYTES, &seg);
        assert!(
            seg_peak >= exec_peak,
            "segment {seg_peak} < its phase {exec_peak}"
        );

        let opening = [
            (labels::GROUP, "fib"),
            (labels::SEGMENT, segment),
            (labels::PHASE, "pcs_opening"),
        ];
        let burned = collected.value[segment.parse::<usize>().unwrap()];
        let cpu = gauge(s, names::CPU_TIME_MS, &opening);
        // Process-wide CPU: at least what the span's own work measured.
        assert!(cpu >= burned, "cpu_time_ms {cpu} < burned {burned}");
        assert!(gauge(s, names::CPU_TIME_MS, &seg) >= cpu);
    }
    // The app span itself is scoped (it carries `group`).
    assert!(gauge(s, names::PEAK_RSS_BYTES, &[(labels::GROUP, "fib")]) > 0.0);
    // Untracked spans get nothing: no resource metric without a scope or phase label.
    for e in s.gauges(names::PEAK_RSS_BYTES) {
        assert!(e.label(labels::GROUP).is_some(), "{e:?}");
    }
}

#[test]
fn spans_closed_on_worker_threads_keep_every_label() {
    let collected = harness()
        .sample_resources(ResourceConfig::default())
        .run(|| {
            let app = info_span!("app_proof", group = "par");
            let _app = app.enter();
            let scope = Scope::capture();
            std::thread::scope(|t| {
                for segment in 0..2u32 {
                    let (scope, parent) = (scope.clone(), app.clone());
                    t.spawn(move || {
                        scope.in_scope(|| {
                            let seg = info_span!(parent: &parent, "segment", segment);
                            let _seg = seg.enter();
                            info_span!("trace_gen").in_scope(|| burn_cpu(5));
                        })
                    });
                }
            });
        })
        .unwrap();
    for segment in ["0", "1"] {
        gauge(
            &collected.snapshot,
            names::CPU_TIME_MS,
            &[
                (labels::GROUP, "par"),
                (labels::SEGMENT, segment),
                (labels::PHASE, "trace_gen"),
            ],
        );
        gauge(
            &collected.snapshot,
            names::PEAK_RSS_BYTES,
            &[(labels::GROUP, "par"), (labels::SEGMENT, segment)],
        );
    }
}

#[test]
fn run_totals_cover_memory_cpu_and_disk() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = dir.path().join("blob");
    let collected = harness()
        .sample_resources(ResourceConfig::default())
        .run(|| {
            hold_memory(32, Duration::from_millis(30));
            // 8 MiB written and synced: reaches the block layer.
            std::fs::write(&file, vec![7u8; 8 << 20]).unwrap();
            std::fs::File::open(&file).unwrap().sync_all().unwrap();
            burn_cpu(10)
        })
        .unwrap();
    let s = &collected.snapshot;
    assert!(gauge(s, names::RUN_PEAK_RSS_BYTES, &[]) >= 32.0 * MIB);
    assert!(gauge(s, names::RUN_CPU_TIME_MS, &[]) >= collected.value);
    let written = gauge(s, names::DISK_WRITE_BYTES, &[]);
    assert!(written >= 8.0 * MIB, "disk_write_bytes {written}");
    gauge(s, names::DISK_READ_BYTES, &[]);
}

#[test]
fn without_sampling_there_are_no_resource_metrics() {
    let collected = harness()
        .run(|| {
            let _g = info_span!("app_proof", group = "off").entered();
            info_span!("execute").in_scope(|| burn_cpu(1));
        })
        .unwrap();
    let s = &collected.snapshot;
    for name in [
        names::PEAK_RSS_BYTES,
        names::CPU_TIME_MS,
        names::RUN_PEAK_RSS_BYTES,
    ] {
        assert_eq!(s.gauges(name).count(), 0, "{name}");
    }
}
