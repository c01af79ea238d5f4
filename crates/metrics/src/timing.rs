//! `TimingMetricsLayer`: every span at INFO or above becomes a `{span}_time_ms` gauge.

use std::time::Instant;

use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::catalogue::timing_metric_name;

/// A tracing layer that turns span durations into gauges.
///
/// - Which spans: those at `INFO`, `WARN` or `ERROR` (DEBUG and TRACE spans are ignored,
///   so hot inner spans can be added at DEBUG for the span tree without becoming metrics).
/// - What: wall time from the span's first entry to its close, or to the `return` event of
///   `#[instrument(ret)]` when there is one, in milliseconds as f64 (µs precision and
///   better). The name is `{span}_time_ms`; a span already named `*_time_ms` keeps its name.
/// - When: on close. The span is then no longer current, so metrics-tracing-context labels
///   the gauge from the *enclosing* spans (`group`, `segment`, ...): each scoped unit of
///   work runs inside a labelled span that encloses its timed spans.
/// - Repeats: a span name closing several times under the same labels adds up (the gauge is
///   incremented), so the value is the total time spent in that span within its scope.
#[derive(Clone, Debug)]
pub struct TimingMetricsLayer {
    max_level: Level,
}

impl TimingMetricsLayer {
    /// Times spans at INFO and above.
    pub fn new() -> Self {
        Self {
            max_level: Level::INFO,
        }
    }

    /// Times spans up to `level` in verbosity (e.g. `Level::DEBUG` to include debug spans).
    pub fn with_max_level(level: Level) -> Self {
        Self { max_level: level }
    }
}

impl Default for TimingMetricsLayer {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-span state, kept in the span's extensions.
struct SpanTiming {
    started: Option<Instant>,
    returned: Option<Instant>,
}

/// The field name `#[instrument(ret)]` gives its return event.
const RETURN_FIELD: &str = "return";

impl<S> Layer<S> for TimingMetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // In tracing, more verbose levels compare greater.
        if *attrs.metadata().level() > self.max_level {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanTiming {
                started: None,
                returned: None,
            });
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(t) = span.extensions_mut().get_mut::<SpanTiming>() {
                t.started.get_or_insert_with(Instant::now);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The metric is not emitted here: inside an event callback the dispatcher is busy and
        // metrics-tracing-context would see no span context. Record the end; emit on close.
        if event.metadata().fields().field(RETURN_FIELD).is_none() {
            return;
        }
        if let Some(span) = ctx.event_span(event) {
            if let Some(t) = span.extensions_mut().get_mut::<SpanTiming>() {
                t.returned.get_or_insert_with(Instant::now);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(timing) = span.extensions_mut().remove::<SpanTiming>() else {
            return;
        };
        // A span that was never entered did no work we can time.
        let Some(started) = timing.started else {
            return;
        };
        let ended = timing.returned.unwrap_or_else(Instant::now);
        // Integer nanoseconds divided once: 360 µs reads back as 0.36, not 0.35999999999999997.
        let ms = ended.saturating_duration_since(started).as_nanos() as f64 / 1_000_000.0;
        let name = timing_metric_name(span.name()).into_owned();
        metrics::gauge!(name).increment(ms);
    }
}
