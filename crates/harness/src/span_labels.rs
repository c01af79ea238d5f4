//! Labels of a span from its own scope: its label fields and those of its ancestors.
//!
//! [`SpanLabelsLayer`] stores each span's own label fields in its extensions when it opens
//! (and when a field is recorded later). [`scope_labels`] then reads a span's whole scope
//! from the span tree, not from the thread that happens to close it: a span closed on a pool
//! thread is labelled exactly like one closed where it was opened. The timing and resource
//! layers both label this way, and [`emit_unscoped`] keeps the recorder's tracing-context
//! layer from adding the closing thread's current spans on top.

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use tracing_subscriber::Layer;

/// A span's own label fields (those among the harness's label keys), in field order.
pub(crate) struct OwnLabels(pub(crate) Vec<(String, String)>);

/// Records every span's own label fields, for [`scope_labels`].
#[derive(Clone, Debug)]
pub(crate) struct SpanLabelsLayer {
    keys: Vec<String>,
}

impl SpanLabelsLayer {
    pub(crate) fn new(keys: &[String]) -> Self {
        Self {
            keys: keys.to_vec(),
        }
    }
}

struct LabelVisitor<'a> {
    keys: &'a [String],
    found: Vec<(String, String)>,
}

impl LabelVisitor<'_> {
    fn push(&mut self, field: &Field, value: String) {
        if self.keys.iter().any(|k| k == field.name()) {
            self.found.push((field.name().to_string(), value));
        }
    }
}

impl Visit for LabelVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl<S> Layer<S> for SpanLabelsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = LabelVisitor {
            keys: &self.keys,
            found: Vec::new(),
        };
        attrs.record(&mut visitor);
        if visitor.found.is_empty() {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(OwnLabels(visitor.found));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut visitor = LabelVisitor {
            keys: &self.keys,
            found: Vec::new(),
        };
        values.record(&mut visitor);
        if visitor.found.is_empty() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<OwnLabels>() {
            Some(own) => merge(&mut own.0, &visitor.found),
            None => ext.insert(OwnLabels(visitor.found)),
        }
    }
}

/// Sets each `(key, value)` of `from` in `into`, replacing a value already there.
fn merge(into: &mut Vec<(String, String)>, from: &[(String, String)]) {
    for (k, v) in from {
        match into.iter_mut().find(|(key, _)| key == k) {
            Some(entry) => entry.1 = v.clone(),
            None => into.push((k.clone(), v.clone())),
        }
    }
}

/// The span's scope labels: its ancestors' label fields, then its own (an inner span's
/// field overrides an outer one's), sorted by key.
pub(crate) fn scope_labels<S>(span: &SpanRef<'_, S>) -> Vec<(String, String)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut labels = Vec::new();
    for s in span.scope().from_root() {
        if let Some(own) = s.extensions().get::<OwnLabels>() {
            merge(&mut labels, &own.0);
        }
    }
    labels.sort();
    labels
}

/// Whether the span itself carries one of the scope keys (`group`, `segment`, `idx`): a
/// proof, a segment, an aggregation node.
#[cfg(feature = "resources")]
pub(crate) fn opens_a_scope<S>(span: &SpanRef<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    span.extensions().get::<OwnLabels>().is_some_and(|own| {
        own.0
            .iter()
            .any(|(k, _)| starkscope_metrics::labels::SCOPE_KEYS.contains(&k.as_str()))
    })
}

/// Runs `emit` with no current span, so that the labels passed explicitly are the metric's
/// only labels (the recorder's tracing-context layer would otherwise add the fields of
/// whatever spans the closing thread has entered). The recorder is unaffected: it is not
/// tied to the dispatcher.
pub(crate) fn emit_unscoped(emit: impl FnOnce()) {
    tracing::dispatcher::with_default(&Dispatch::none(), emit)
}

/// Label pairs as `metrics` labels.
pub(crate) fn to_metric_labels(labels: &[(String, String)]) -> Vec<metrics::Label> {
    labels
        .iter()
        .map(|(k, v)| metrics::Label::new(k.clone(), v.clone()))
        .collect()
}
