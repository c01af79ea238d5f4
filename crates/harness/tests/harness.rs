//! The harness end to end: layers, labels, timing, snapshot files. Every test installs its
//! own thread-local subscriber and recorder, so they run in parallel without a global.
#![cfg(feature = "bench-metrics")]

use std::path::Path;
use std::time::Duration;

use starkscope_harness::{Harness, Install};
use starkscope_metrics::metrics::{counter, gauge};
use starkscope_metrics::{names, Scope};
use starkscope_snapshot::Snapshot;
use tracing::{debug_span, info_span};

fn harness() -> Harness {
    Harness::new()
        .install(Install::Local)
        .span_tree(false)
        .filter("info")
}

fn busy_wait(d: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn nested_span_fields_label_counters_and_timings() {
    let collected = harness()
        .run(|| {
            let app = info_span!("app_proof", group = "fib");
            let _app = app.enter();
            for segment in 0..2u32 {
                let seg = info_span!("segment", segment);
                let _seg = seg.enter();
                info_span!("execute").in_scope(|| {
                    counter!(names::TOTAL_CYCLES).absolute(100 + u64::from(segment));
                });
            }
        })
        .unwrap();
    let s = &collected.snapshot;
    for segment in ["0", "1"] {
        let labels = [("group", "fib"), ("segment", segment)];
        let cycles = s.counter_value(names::TOTAL_CYCLES, &labels);
        assert_eq!(
            cycles,
            Some(100 + segment.parse::<u64>().unwrap()),
            "{s:#?}"
        );
        let e = s
            .gauges(names::EXECUTE_TIME_MS)
            .find(|e| e.has_labels(&labels))
            .expect("execute_time_ms");
        assert_eq!(
            e.labels,
            vec![
                ("group".to_string(), "fib".to_string()),
                ("segment".to_string(), segment.to_string())
            ]
        );
    }
    // The app span is timed under its group alone; the segment span is not a timed span.
    let app = s.gauges(names::APP_PROOF_TIME_MS).collect::<Vec<_>>();
    assert_eq!(app.len(), 1, "{app:#?}");
    assert_eq!(
        app[0].labels,
        vec![("group".to_string(), "fib".to_string())]
    );
    assert!(s.gauges("segment_time_ms").next().is_none(), "{s:#?}");
}

#[test]
fn timings_have_microsecond_precision() {
    let collected = harness()
        .run(|| {
            let scope = info_span!("scope", group = "g");
            let _g = scope.enter();
            info_span!("execute").in_scope(|| busy_wait(Duration::from_micros(300)));
        })
        .unwrap();
    let ms = collected
        .snapshot
        .gauge_value(names::EXECUTE_TIME_MS, &[("group", "g")])
        .unwrap();
    assert!(ms >= 0.3, "{ms}");
    assert!(
        ms.fract() != 0.0,
        "a sub-millisecond phase must not be rounded: {ms}"
    );
    assert!(ms < 1000.0, "{ms}");
}

#[test]
fn only_the_catalogued_spans_are_timed() {
    let collected = harness()
        .run(|| {
            let scope = info_span!("scope", group = "g");
            let _g = scope.enter();
            for name in ["short", "segment", "verify_time_ms"] {
                // A span's name must be a literal: one callsite per uncatalogued name.
                let span = match name {
                    "short" => info_span!("short"),
                    "segment" => info_span!("segment", segment = 0u32),
                    _ => info_span!("verify_time_ms"),
                };
                span.in_scope(|| busy_wait(Duration::from_micros(10)));
            }
            info_span!("verify").in_scope(|| busy_wait(Duration::from_micros(10)));
        })
        .unwrap();
    let timed: Vec<_> = collected
        .snapshot
        .gauge
        .iter()
        .map(|e| e.metric.as_str())
        .collect();
    assert_eq!(timed, vec![names::VERIFY_TIME_MS], "{collected:#?}");
}

#[test]
fn the_log_filter_changes_no_metric() {
    fn keys(filter: &str) -> Vec<String> {
        let collected = harness()
            .filter(filter)
            .run(|| {
                let app = info_span!("app_proof", group = "fib");
                let _app = app.enter();
                for segment in 0..2u32 {
                    let seg = info_span!("segment", segment);
                    let _seg = seg.enter();
                    // A DEBUG span inside the scope, printed only at `debug`.
                    debug_span!("inner").in_scope(|| {
                        info_span!("execute")
                            .in_scope(|| counter!(names::TOTAL_CYCLES).absolute(5));
                    });
                }
            })
            .unwrap();
        let s = collected.snapshot;
        s.counter
            .iter()
            .chain(&s.gauge)
            .map(|e| format!("{}{:?}", e.metric, e.labels))
            .collect()
    }
    let quiet = keys("off");
    assert_eq!(quiet.len(), 5, "{quiet:#?}");
    assert_eq!(keys("warn"), quiet);
    assert_eq!(keys("debug"), quiet);
    assert_eq!(keys("info"), quiet);
}

#[test]
fn a_span_closed_on_another_thread_keeps_its_own_scope() {
    let collected = harness()
        .run(|| {
            let app = info_span!("app_proof", group = "fib");
            let seg1 = info_span!(parent: &app, "segment", segment = 1u32);
            let execute = info_span!(parent: &seg1, "execute");
            execute.in_scope(|| busy_wait(Duration::from_micros(50)));
            let scope = Scope::capture();
            std::thread::scope(|t| {
                t.spawn(|| {
                    scope.in_scope(|| {
                        // This thread is inside segment 0 when segment 1's span closes.
                        let seg0 = info_span!(parent: &app, "segment", segment = 0u32);
                        let _s = seg0.enter();
                        drop(execute);
                    })
                });
            });
        })
        .unwrap();
    let e: Vec<_> = collected.snapshot.gauges(names::EXECUTE_TIME_MS).collect();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        e[0].labels,
        vec![
            ("group".to_string(), "fib".to_string()),
            ("segment".to_string(), "1".to_string())
        ]
    );
}

#[test]
fn return_event_ends_the_timing() {
    #[tracing::instrument(name = "execute", level = "info", ret)]
    fn answer() -> u32 {
        busy_wait(Duration::from_millis(2));
        42
    }
    let collected = harness()
        .run(|| {
            let outer = info_span!("outer", group = "g");
            let _o = outer.enter();
            assert_eq!(answer(), 42);
            // A span that returns, then lingers before it closes: the return is the end.
            let span = info_span!("trace_gen");
            span.in_scope(|| tracing::info!(r#return = 1, "returned"));
            busy_wait(Duration::from_millis(30));
            drop(span);
        })
        .unwrap();
    let s = &collected.snapshot;
    let answer_ms = s
        .gauge_value(names::EXECUTE_TIME_MS, &[("group", "g")])
        .unwrap();
    assert!(answer_ms >= 2.0, "{answer_ms}");
    let lingering = s
        .gauge_value(names::TRACE_GEN_TIME_MS, &[("group", "g")])
        .unwrap();
    assert!(
        lingering < 30.0,
        "timing must end at the return event: {lingering}"
    );
}

#[test]
fn only_label_keys_become_labels() {
    let collected = harness()
        .run(|| {
            let span = info_span!("prove", group = "g", n = 1000u64);
            let _s = span.enter();
            gauge!("custom").set(1.0);
        })
        .unwrap();
    let e = collected.snapshot.gauges("custom").next().unwrap();
    assert_eq!(e.labels, vec![("group".to_string(), "g".to_string())]);
}

#[test]
fn scope_carries_the_run_into_other_threads() {
    let collected = harness()
        .run(|| {
            let app = info_span!("app", group = "fib");
            let _a = app.enter();
            let scope = Scope::capture();
            std::thread::scope(|t| {
                for segment in 0..3u32 {
                    let (scope, parent) = (&scope, &app);
                    t.spawn(move || {
                        scope.in_scope(|| {
                            let seg = info_span!(parent: parent, "segment", segment);
                            let _s = seg.enter();
                            info_span!("execute")
                                .in_scope(|| counter!(names::TOTAL_CYCLES).absolute(7));
                        })
                    });
                }
            });
        })
        .unwrap();
    let s = &collected.snapshot;
    for seg in ["0", "1", "2"] {
        let labels = [("group", "fib"), ("segment", seg)];
        assert_eq!(
            s.counter_value(names::TOTAL_CYCLES, &labels),
            Some(7),
            "{s:#?}"
        );
        assert!(s.gauge_value(names::EXECUTE_TIME_MS, &labels).is_some());
    }
}

#[test]
fn snapshot_is_written_and_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let collected = harness()
        .output(&path)
        .run_id("test-run")
        .run(|| {
            let span = info_span!("app", group = "fib", segment = 0u32);
            let _s = span.enter();
            counter!(names::TOTAL_CYCLES).absolute(u64::MAX);
            gauge!(names::EXECUTE_TIME_MS).set(0.125);
            starkscope_metrics::metrics::histogram!("latency_ms").record(1.5);
            starkscope_metrics::metrics::histogram!("latency_ms").record(2.5);
        })
        .unwrap();
    assert_eq!(collected.written_to.as_deref(), Some(path.as_path()));
    let back = Snapshot::read(&path).unwrap();
    assert_eq!(back, collected.snapshot);
    let meta = back.meta.as_ref().unwrap();
    assert_eq!(meta.run_id, "test-run");
    assert_eq!(meta.schema, 1);
    assert!(meta.panic.is_none());
    assert_eq!(
        back.counter_value(names::TOTAL_CYCLES, &[("segment", "0")]),
        Some(u64::MAX)
    );
    assert_eq!(
        back.gauge_value(names::EXECUTE_TIME_MS, &[("group", "fib")]),
        Some(0.125)
    );
    assert_eq!(
        back.histogram[0].value,
        vec!["1.5".to_string(), "2.5".to_string()]
    );
}

#[test]
fn output_env_var_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env.json");
    // A variable no other test uses: the environment is process-wide.
    let var = "STARKSCOPE_TEST_OUTPUT_ENV_VAR";
    std::env::set_var(var, &path);
    let collected = harness()
        .output_env(var)
        .run(|| counter!("c").increment(1))
        .unwrap();
    std::env::remove_var(var);
    assert!(collected.write_error.is_none());
    assert_eq!(
        Snapshot::read(&path).unwrap().counter_value("c", &[]),
        Some(1)
    );
}

#[test]
fn a_panic_still_writes_what_was_recorded_and_keeps_unwinding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("panicked.json");
    let p = path.clone();
    let result = std::panic::catch_unwind(move || {
        harness().output(&p).run(|| {
            let span = info_span!("app", group = "fib");
            let _s = span.enter();
            counter!(names::TOTAL_CYCLES).absolute(5);
            panic!("prover exploded at segment 3");
        })
    });
    let payload = result.expect_err("the panic must continue");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"prover exploded at segment 3")
    );
    let s = Snapshot::read(&path).unwrap();
    assert_eq!(
        s.counter_value(names::TOTAL_CYCLES, &[("group", "fib")]),
        Some(5)
    );
    assert_eq!(
        s.meta.unwrap().panic.as_deref(),
        Some("prover exploded at segment 3")
    );
}

#[test]
fn an_unwritable_output_keeps_the_value_and_names_the_path() {
    let collected = harness()
        .output("/nonexistent-dir/x/run.json")
        .run(|| 42)
        .unwrap();
    assert_eq!(collected.value, 42);
    assert!(collected.written_to.is_none());
    let msg = collected.write_error.expect("a write error").to_string();
    assert!(msg.contains("/nonexistent-dir/x/run.json"), "{msg}");
    assert!(!Path::new("/nonexistent-dir").exists());
}

#[test]
fn bad_filter_is_a_clear_error() {
    let err = harness().filter("info,[[[").run(|| ()).unwrap_err();
    assert!(err.to_string().contains("invalid log filter"), "{err}");
}

#[test]
fn catalogue_descriptions_reach_the_recorder() {
    // describe_all() runs inside the harness; emitting a catalogued metric must work and
    // keep its catalogue name.
    let collected = harness()
        .run(|| counter!(names::TOTAL_CELLS).absolute(3))
        .unwrap();
    assert_eq!(
        collected.snapshot.counter_value(names::TOTAL_CELLS, &[]),
        Some(3)
    );
}
