//! Carrying a run's tracing subscriber and metrics recorder into other threads.
//!
//! With a global install every thread already reports to the run. With a thread-local
//! install (parallel tests, or a second run in one process) a rayon worker would report to
//! nobody: capture a [`Scope`] where the work is spawned and run the work inside it.
//! The span context itself does not travel: create the worker's span with an explicit
//! `parent:` and enter it inside the closure, as DESIGN.md's pitfalls say.

#[cfg(feature = "bench-metrics")]
use std::cell::RefCell;

use tracing::Dispatch;

/// A recorder shared by every thread of one run.
#[cfg(feature = "bench-metrics")]
pub type SharedRecorder = std::sync::Arc<dyn metrics::Recorder + Send + Sync>;

#[cfg(feature = "bench-metrics")]
thread_local! {
    /// The recorder this thread reports to when it was installed thread-locally by us.
    static CURRENT_RECORDER: RefCell<Option<SharedRecorder>> = const { RefCell::new(None) };
}

/// The reporting context of the current thread, to be re-entered on another.
#[derive(Clone)]
pub struct Scope {
    dispatch: Dispatch,
    #[cfg(feature = "bench-metrics")]
    recorder: Option<SharedRecorder>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

impl Scope {
    /// The current thread's subscriber and (thread-local) recorder.
    pub fn capture() -> Self {
        Self {
            dispatch: tracing::dispatcher::get_default(Dispatch::clone),
            #[cfg(feature = "bench-metrics")]
            recorder: CURRENT_RECORDER.with(|c| c.borrow().clone()),
        }
    }

    /// A scope that reports to `dispatch`, and to `recorder` instead of the global one:
    /// how a harness installs a run on one thread only.
    #[cfg(feature = "bench-metrics")]
    pub fn with_recorder(dispatch: Dispatch, recorder: SharedRecorder) -> Self {
        Self {
            dispatch,
            recorder: Some(recorder),
        }
    }

    /// Runs `f` on this thread as if it ran where the scope was captured.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        tracing::dispatcher::with_default(&self.dispatch, || {
            #[cfg(feature = "bench-metrics")]
            if let Some(recorder) = &self.recorder {
                let _restore = RecorderGuard::set(recorder.clone());
                return metrics::with_local_recorder(recorder.as_ref(), f);
            }
            f()
        })
    }
}

/// Sets this thread's current recorder and restores the previous one on drop (panics too).
#[cfg(feature = "bench-metrics")]
struct RecorderGuard(Option<SharedRecorder>);

#[cfg(feature = "bench-metrics")]
impl RecorderGuard {
    fn set(recorder: SharedRecorder) -> Self {
        Self(CURRENT_RECORDER.with(|c| c.borrow_mut().replace(recorder)))
    }
}

#[cfg(feature = "bench-metrics")]
impl Drop for RecorderGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT_RECORDER.with(|c| *c.borrow_mut() = previous);
    }
}
