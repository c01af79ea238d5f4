//! `TimingMetricsLayer`: each span the catalogue lists becomes a `{span}_time_ms` gauge.

use std::time::Instant;

use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use starkscope_metrics::catalogue::{spans, timing_metric_name};

use crate::span_labels::{emit_unscoped, scope_labels, to_metric_labels};

/// A tracing layer that turns the durations of the catalogued spans into gauges.
///
/// - Which spans: those named in [`spans::TIMED`], the catalogue's one list. Any other span
///   (ours or Plonky3's) is left to the span tree; it never becomes a metric.
/// - What: wall time from the span's first entry to its close, or to the `return` event of
///   `#[instrument(ret)]` when there is one, in milliseconds as f64 (µs precision and
///   better). The name is `{span}_time_ms`.
/// - Labels: the span's own scope, from the span tree (its label fields and its
///   ancestors'), whatever thread it closes on; needs the harness's span-labels layer below
///   it.
/// - Repeats: a span name closing several times under the same labels adds up (the gauge is
///   incremented), so the value is the total time spent in that span within its scope.
#[derive(Clone, Debug)]
pub struct TimingMetricsLayer {
    timed: &'static [&'static str],
}

impl TimingMetricsLayer {
    /// Times the catalogue's spans.
    pub fn new() -> Self {
        Self {
            timed: spans::TIMED,
        }
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
        if !self.timed.contains(&attrs.metadata().name()) {
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
        // Only the end is recorded here; the metric is emitted on close.
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
        let labels = to_metric_labels(&scope_labels(&span));
        emit_unscoped(|| metrics::gauge!(name, labels).increment(ms));
    }
}
