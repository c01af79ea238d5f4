//! Resource sampling: peak RSS and CPU time per scoped span, and the whole run's peak RSS,
//! CPU time and disk I/O.
//!
//! How it measures (Linux, from `/proc` and `getrusage`):
//! - The run's peak RSS (`run_peak_rss_bytes`) is the kernel's exact one (`VmHWM`, reset
//!   when the sampler starts): the same number the SDK reports and the benchmark gate reads.
//! - Per-span RSS peaks (`peak_rss_bytes`): a background thread reads `/proc/self/statm`
//!   every `interval` (10 ms by default) and raises the peak of every tracked span that is
//!   open; a span also samples on open and close, so a span shorter than the interval still
//!   gets its start/end RSS. They are lower bounds of the *process's* RSS while the span was
//!   open (spikes between two samples can be missed; spans running concurrently share the
//!   process), for comparing phases and segments with one another, never the run's peak.
//! - CPU: `getrusage(RUSAGE_SELF)` (user + system, every thread of the process) on open and
//!   close. Spans that run concurrently each see the whole process's CPU time.
//! - Disk: `/proc/self/io` `read_bytes`/`write_bytes` (bytes that reached the block layer),
//!   as a difference over the run.
//!
//! Which spans: a span with a scope field of its own (`group`, `segment`, `idx`: a proof,
//! a segment, an aggregation node), and spans named as a phase (the prover phases,
//! `execute`, `trace_gen`, ...), which get a `phase` label. Labels are the span's own and
//! its ancestors' label fields, gathered from the span tree itself, so that a span closed on
//! a worker thread whose parent is not entered there is still labelled in full.
//!
//! Cost: two syscalls per tracked span open/close, one `pread` per interval on the sampler
//! thread; nothing on untracked spans beyond reading their fields once.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::span::{Attributes, Id};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use starkscope_metrics::catalogue::{labels, names, spans};

use crate::span_labels::{emit_unscoped, opens_a_scope, scope_labels, to_metric_labels};

/// Spans sampled as phases (besides spans carrying a scope field), labelled `phase`.
pub const DEFAULT_PHASES: &[&str] = &[
    spans::EXECUTE,
    spans::TRACE_GEN,
    spans::STARK_PROVE_EXCLUDING_TRACE,
    spans::MAIN_TRACE_COMMIT,
    spans::GENERATE_PERM_TRACE,
    spans::PERM_TRACE_COMMIT,
    spans::QUOTIENT_POLY_COMPUTE,
    spans::QUOTIENT_POLY_COMMIT,
    spans::PCS_OPENING,
];

/// The default RSS sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(10);

/// Resource sampling options.
#[derive(Clone, Debug)]
pub struct ResourceConfig {
    /// How often the sampler thread reads RSS.
    pub interval: Duration,
    /// Span names sampled as phases.
    pub phases: Vec<String>,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            phases: DEFAULT_PHASES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl ResourceConfig {
    /// Default phases, sampling RSS every `interval`.
    pub fn every(interval: Duration) -> Self {
        Self {
            interval,
            ..Self::default()
        }
    }
}

/// The sampler could not start.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("cannot open {path}: {source}")]
    Proc {
        path: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: unexpected content `{content}`")]
    Parse { path: &'static str, content: String },
    #[error("sampling interval must be positive")]
    ZeroInterval,
    #[error("cannot start the sampler thread: {0}")]
    Thread(std::io::Error),
}

/// Reads the process's current RSS from `/proc/self/statm` with one `pread`.
struct RssProbe {
    statm: File,
    page_size: u64,
}

const STATM: &str = "/proc/self/statm";
const PROC_IO: &str = "/proc/self/io";

impl RssProbe {
    fn open() -> Result<Self, ResourceError> {
        let statm = File::open(STATM).map_err(|source| ResourceError::Proc {
            path: STATM,
            source,
        })?;
        // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let probe = Self {
            statm,
            page_size: u64::try_from(page_size).unwrap_or(4096),
        };
        probe.read()?;
        Ok(probe)
    }

    fn read(&self) -> Result<u64, ResourceError> {
        let mut buf = [0u8; 128];
        let n = self
            .statm
            .read_at(&mut buf, 0)
            .map_err(|source| ResourceError::Proc {
                path: STATM,
                source,
            })?;
        let text = std::str::from_utf8(&buf[..n]).unwrap_or("");
        // "size resident shared text lib data dt", in pages.
        text.split_ascii_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
            .map(|pages| pages * self.page_size)
            .ok_or_else(|| ResourceError::Parse {
                path: STATM,
                content: text.trim().to_string(),
            })
    }

    /// RSS now, or 0 when `/proc` stopped answering (a sample is best effort).
    fn sample(&self) -> u64 {
        self.read().unwrap_or(0)
    }
}

/// CPU time (user + system, all threads) of this process so far, in microseconds.
pub fn process_cpu_time_us() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return 0;
    }
    let us = |t: libc::timeval| (t.tv_sec as u64) * 1_000_000 + t.tv_usec as u64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// Bytes this process caused to be read from and written to storage (`/proc/self/io`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskIo {
    pub read_bytes: u64,
    pub write_bytes: u64,
}

impl DiskIo {
    pub fn read() -> Result<Self, ResourceError> {
        let text = std::fs::read_to_string(PROC_IO).map_err(|source| ResourceError::Proc {
            path: PROC_IO,
            source,
        })?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        match (field("read_bytes"), field("write_bytes")) {
            (Some(read_bytes), Some(write_bytes)) => Ok(Self {
                read_bytes,
                write_bytes,
            }),
            _ => Err(ResourceError::Parse {
                path: PROC_IO,
                content: text,
            }),
        }
    }
}

/// State shared by the sampler thread and the layer.
struct Shared {
    probe: RssProbe,
    /// Peaks of the tracked spans that are open, by span id.
    open: Mutex<HashMap<u64, Arc<AtomicU64>>>,
    run_peak: AtomicU64,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    /// One RSS sample, raising the run's peak and every open span's.
    fn sample(&self) -> u64 {
        let rss = self.probe.sample();
        self.run_peak.fetch_max(rss, Ordering::Relaxed);
        if let Ok(open) = self.open.lock() {
            for peak in open.values() {
                peak.fetch_max(rss, Ordering::Relaxed);
            }
        }
        rss
    }
}

/// A running sampler: a background thread plus the [`ResourceLayer`] that reads it.
/// Stops its thread when dropped.
pub struct ResourceSampler {
    shared: Arc<Shared>,
    config: ResourceConfig,
    thread: Option<JoinHandle<()>>,
    cpu_start_us: u64,
    disk_start: Option<DiskIo>,
}

/// What the whole run used, from the sampler's start to [`ResourceSampler::run_totals`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunTotals {
    pub peak_rss_bytes: u64,
    pub cpu_time_ms: f64,
    /// `None` when `/proc/self/io` cannot be read (some sandboxes forbid it).
    pub disk: Option<DiskIo>,
}

impl ResourceSampler {
    /// Opens `/proc`, takes the first sample and starts the sampler thread.
    pub fn start(config: ResourceConfig) -> Result<Self, ResourceError> {
        if config.interval.is_zero() {
            return Err(ResourceError::ZeroInterval);
        }
        let shared = Arc::new(Shared {
            probe: RssProbe::open()?,
            open: Mutex::new(HashMap::new()),
            run_peak: AtomicU64::new(0),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        // The run's peak is the kernel's, from here on (when the kernel lets us reset it).
        starkscope_metrics::process::reset_peak_rss();
        shared.sample();
        let cpu_start_us = process_cpu_time_us();
        let disk_start = DiskIo::read().ok();
        let thread_shared = shared.clone();
        let interval = config.interval;
        let thread = std::thread::Builder::new()
            .name("starkscope-resources".into())
            .spawn(move || sampler_loop(&thread_shared, interval))
            .map_err(ResourceError::Thread)?;
        Ok(Self {
            shared,
            config,
            thread: Some(thread),
            cpu_start_us,
            disk_start,
        })
    }

    /// The tracing layer that samples tracked spans; it labels them from the harness's
    /// span-labels layer, which must sit below it.
    pub fn layer(&self) -> ResourceLayer {
        ResourceLayer {
            shared: self.shared.clone(),
            phases: self.config.phases.clone(),
            peaks: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The run so far: the kernel's peak RSS (sampled when the kernel's is unreadable), CPU
    /// time and disk I/O since `start`.
    pub fn run_totals(&self) -> RunTotals {
        let rss = self.shared.sample();
        let peak = starkscope_metrics::process::peak_rss_bytes()
            .unwrap_or_else(|| self.shared.run_peak.load(Ordering::Relaxed).max(rss));
        let cpu_us = process_cpu_time_us().saturating_sub(self.cpu_start_us);
        let disk = match (self.disk_start, DiskIo::read()) {
            (Some(start), Ok(now)) => Some(DiskIo {
                read_bytes: now.read_bytes.saturating_sub(start.read_bytes),
                write_bytes: now.write_bytes.saturating_sub(start.write_bytes),
            }),
            _ => None,
        };
        RunTotals {
            peak_rss_bytes: peak,
            cpu_time_ms: cpu_us as f64 / 1000.0,
            disk,
        }
    }

    /// Emits the run totals as the `run_*` and `disk_*` gauges, with no scope labels
    /// (call it outside every span).
    pub fn emit_run_totals(&self) {
        let t = self.run_totals();
        metrics::gauge!(names::RUN_PEAK_RSS_BYTES).set(t.peak_rss_bytes as f64);
        metrics::gauge!(names::RUN_CPU_TIME_MS).set(t.cpu_time_ms);
        if let Some(disk) = t.disk {
            metrics::gauge!(names::DISK_READ_BYTES).set(disk.read_bytes as f64);
            metrics::gauge!(names::DISK_WRITE_BYTES).set(disk.write_bytes as f64);
        }
    }
}

impl Drop for ResourceSampler {
    fn drop(&mut self) {
        if let Ok(mut stop) = self.shared.stop.lock() {
            *stop = true;
        }
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sampler_loop(shared: &Shared, interval: Duration) {
    let Ok(mut stop) = shared.stop.lock() else {
        return;
    };
    while !*stop {
        stop = match shared.wake.wait_timeout(stop, interval) {
            Ok((guard, _)) => guard,
            Err(_) => return,
        };
        if *stop {
            break;
        }
        // Sample without holding the stop lock, so Drop never waits on a /proc read.
        drop(stop);
        shared.sample();
        stop = match shared.stop.lock() {
            Ok(guard) => guard,
            Err(_) => return,
        };
    }
}

/// The tracing layer: samples RSS and CPU time around tracked spans and emits
/// `peak_rss_bytes` and `cpu_time_ms` when they close.
#[derive(Clone)]
pub struct ResourceLayer {
    shared: Arc<Shared>,
    phases: Vec<String>,
    /// Highest peak emitted per label set: a span repeated under the same labels keeps the
    /// maximum (its CPU time adds up instead, as timings do).
    peaks: Arc<Mutex<HashMap<LabelSet, u64>>>,
}

impl std::fmt::Debug for ResourceLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceLayer")
            .field("phases", &self.phases)
            .finish_non_exhaustive()
    }
}

/// Label pairs of one sample, sorted by key.
type LabelSet = Vec<(String, String)>;

/// Sampling state of a tracked span.
struct Tracked {
    cpu_start_us: u64,
    peak: Arc<AtomicU64>,
    phase: bool,
}

impl<S> Layer<S> for ResourceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // DEBUG/TRACE spans may sit in hot loops: never sampled.
        if *attrs.metadata().level() > Level::INFO {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let phase = self.phases.iter().any(|p| p == attrs.metadata().name());
        if !(phase || opens_a_scope(&span)) {
            return;
        }
        let rss = self.shared.probe.sample();
        let peak = Arc::new(AtomicU64::new(rss));
        if let Ok(mut open) = self.shared.open.lock() {
            open.insert(id.into_u64(), peak.clone());
        }
        span.extensions_mut().insert(Tracked {
            cpu_start_us: process_cpu_time_us(),
            peak,
            phase,
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(tracked) = span.extensions_mut().remove::<Tracked>() else {
            return;
        };
        let cpu_ms = process_cpu_time_us().saturating_sub(tracked.cpu_start_us) as f64 / 1000.0;
        if let Ok(mut open) = self.shared.open.lock() {
            open.remove(&id.into_u64());
        }
        let peak = tracked
            .peak
            .load(Ordering::Relaxed)
            .max(self.shared.probe.sample());

        let mut label_set = scope_labels(&span);
        if tracked.phase {
            label_set.push((labels::PHASE.to_string(), span.name().to_string()));
            label_set.sort();
        }

        let peak = match self.peaks.lock() {
            Ok(mut peaks) => {
                let entry = peaks.entry(label_set.clone()).or_insert(0);
                *entry = (*entry).max(peak);
                *entry
            }
            Err(_) => peak,
        };
        emit(&label_set, peak, cpu_ms);
    }
}

fn emit(label_set: &[(String, String)], peak_rss_bytes: u64, cpu_ms: f64) {
    let labels = to_metric_labels(label_set);
    emit_unscoped(|| {
        metrics::gauge!(names::PEAK_RSS_BYTES, labels.clone()).set(peak_rss_bytes as f64);
        metrics::gauge!(names::CPU_TIME_MS, labels).increment(cpu_ms);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_and_cpu_probes_read_this_process() {
        let probe = RssProbe::open().unwrap();
        let rss = probe.read().unwrap();
        assert!(
            rss > 1 << 20,
            "a test process has more than 1 MiB resident: {rss}"
        );
        let before = process_cpu_time_us();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_time_us() > before);
    }

    #[test]
    fn disk_io_parses_proc_self_io() {
        let io = DiskIo::read().unwrap();
        // Values are cumulative for the process; only their presence is certain.
        let _ = (io.read_bytes, io.write_bytes);
    }

    #[test]
    fn zero_interval_is_refused() {
        assert!(matches!(
            ResourceSampler::start(ResourceConfig::every(Duration::ZERO)),
            Err(ResourceError::ZeroInterval)
        ));
    }
}
