//! Prometheus: a pull endpoint during the run, one push to a Pushgateway at its end.
//!
//! The recorder is metrics-exporter-prometheus's, fed by the harness's fan-out (labels from
//! the span context included). We do not use that crate's push loop: it waits a whole
//! interval before its first push and never pushes at exit, so a short run would lose
//! everything. Instead the harness renders once at the end and sends one `PUT` to
//! `{gateway}/metrics/job/{job}/instance/{instance}` (a `PUT` replaces the whole group, so
//! the group holds exactly this run's final values), and optionally every interval too.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use super::{env_duration, env_value, http, program_name, EnvConfigError, ExportWarning, Exported};
use starkscope_metrics::catalogue::TIME_SUFFIX;

/// Histogram buckets (milliseconds) for metrics named `*_time_ms`: 0.1 ms to 10 min.
pub const DEFAULT_TIMING_BUCKETS_MS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1_000.0, 5_000.0, 10_000.0, 30_000.0, 60_000.0,
    300_000.0, 600_000.0,
];

/// The default port of the pull endpoint (on 127.0.0.1).
pub const DEFAULT_LISTEN_PORT: u16 = 9464;

/// Default bound of one push (connect + send + answer).
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Environment variables read by [`PrometheusConfig::from_env`] (defined in
/// [`export::env`](super::env)).
pub mod env {
    pub use crate::export::env::{
        PROMETHEUS_LISTEN as LISTEN, PUSHGATEWAY, PUSH_INSTANCE, PUSH_INTERVAL, PUSH_JOB,
        PUSH_TIMEOUT,
    };
}

/// Prometheus export options.
#[derive(Clone, Debug)]
pub struct PrometheusConfig {
    /// Serve `/metrics` here during the run (pull). Loopback unless set otherwise.
    pub listen: Option<SocketAddr>,
    /// Push to a Pushgateway at the end of the run.
    pub push: Option<PushConfig>,
    /// Buckets for histograms named `*_time_ms` (rendered as histograms, not summaries).
    pub timing_buckets_ms: Vec<f64>,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            listen: None,
            push: None,
            timing_buckets_ms: DEFAULT_TIMING_BUCKETS_MS.to_vec(),
        }
    }
}

/// Where and how to push.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// Base URL of the Pushgateway, e.g. `http://127.0.0.1:9091`.
    pub gateway: String,
    /// The program part of the job name `{program}_{unix_ts}` (default: executable name).
    pub program: Option<String>,
    /// The whole job name, overriding `{program}_{unix_ts}`.
    pub job: Option<String>,
    /// The `instance` label (default: the host name).
    pub instance: Option<String>,
    /// Also push every interval during the run.
    pub interval: Option<Duration>,
    pub timeout: Duration,
}

impl PushConfig {
    pub fn new(gateway: impl Into<String>) -> Self {
        Self {
            gateway: gateway.into(),
            program: None,
            job: None,
            instance: None,
            interval: None,
            timeout: DEFAULT_PUSH_TIMEOUT,
        }
    }

    pub fn program(mut self, program: impl Into<String>) -> Self {
        self.program = Some(program.into());
        self
    }

    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The job name this config pushes under at `now`.
    pub fn job_name(&self, now: SystemTime) -> String {
        match &self.job {
            Some(job) => path_segment(job),
            None => {
                let ts = now
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let program = self.program.clone().unwrap_or_else(program_name);
                path_segment(&format!("{program}_{ts}"))
            }
        }
    }
}

impl PrometheusConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `/metrics` at `addr` during the run.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    pub fn push(mut self, push: PushConfig) -> Self {
        self.push = Some(push);
        self
    }

    pub fn timing_buckets_ms(mut self, buckets: &[f64]) -> Self {
        self.timing_buckets_ms = buckets.to_vec();
        self
    }

    /// The configuration the [`env`] variables describe, `None` when neither a listen
    /// address nor a Pushgateway is set.
    pub fn from_env() -> Result<Option<Self>, EnvConfigError> {
        let listen = env_value(env::LISTEN)
            .map(|v| {
                parse_listen(&v).map_err(|message| EnvConfigError {
                    var: env::LISTEN,
                    value: v.clone(),
                    message,
                })
            })
            .transpose()?;
        let push = match env_value(env::PUSHGATEWAY) {
            Some(gateway) => {
                let mut push = PushConfig::new(gateway.trim());
                push.interval = env_duration(env::PUSH_INTERVAL)?;
                push.instance = env_value(env::PUSH_INSTANCE);
                push.job = env_value(env::PUSH_JOB);
                if let Some(t) = env_duration(env::PUSH_TIMEOUT)? {
                    push.timeout = t;
                }
                Some(push)
            }
            None => None,
        };
        if listen.is_none() && push.is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            listen,
            push,
            ..Self::default()
        }))
    }
}

/// `host:port`, or a port alone on 127.0.0.1.
fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    let v = v.trim();
    if let Ok(port) = v.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    v.parse::<SocketAddr>()
        .map_err(|e| format!("not a port or an address like 127.0.0.1:{DEFAULT_LISTEN_PORT}: {e}"))
}

/// A URL path segment the Pushgateway accepts without encoding.
fn path_segment(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "_".to_string()
    } else {
        out
    }
}

/// The host name, for the `instance` label.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The pull endpoint: a one-thread tokio runtime serving the exporter's listener until
/// told to stop.
struct Listener {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Dropping the sender ends `block_on`; dropping the runtime closes the socket.
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One push target.
struct Pushgateway {
    url: String,
    agent: ureq::Agent,
}

impl Pushgateway {
    /// One `PUT` of everything recorded so far; returns how many samples it carried.
    fn push(&self, handle: &PrometheusHandle) -> Result<usize, ExportWarning> {
        handle.run_upkeep();
        let body = handle.render();
        let samples = body
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        let warn = |m: String| ExportWarning::new("pushgateway", format!("PUT {}: {m}", self.url));
        let reply = http::send(
            &self.agent,
            "PUT",
            &self.url,
            &[],
            Some("text/plain; version=0.0.4"),
            body.as_bytes(),
        )
        .map_err(warn)?;
        if (200..300).contains(&reply.status) {
            return Ok(samples);
        }
        let body = reply.body_text();
        // The gateway checks a push against every group it holds: a name whose TYPE
        // changed between starkscope versions is refused until the old groups are gone.
        let hint = if reply.status == 400 && body.contains("inconsistent") {
            " (a metric's type differs from the same name in a group already on the \
             gateway, e.g. one pushed by another starkscope version: delete the old groups, \
             see docs/observability.md)"
        } else {
            ""
        };
        Err(warn(format!("HTTP {}: {body}{hint}", reply.status)))
    }
}

/// Pushes every interval on its own thread until stopped.
struct Periodic {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<Vec<ExportWarning>>>,
}

impl Periodic {
    fn start(target: Arc<Pushgateway>, handle: PrometheusHandle, every: Duration) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("starkscope-push".into())
            .spawn(move || {
                let mut warnings = Vec::new();
                let (lock, cv) = &*thread_stop;
                let Ok(mut stopped) = lock.lock() else {
                    return warnings;
                };
                loop {
                    stopped = match cv.wait_timeout(stopped, every) {
                        Ok((g, _)) => g,
                        Err(_) => return warnings,
                    };
                    if *stopped {
                        return warnings;
                    }
                    // Keep the first few failures; the final push reports the rest.
                    if let Err(w) = target.push(&handle) {
                        if warnings.len() < 3 {
                            warnings.push(w);
                        }
                    }
                }
            })
            .ok();
        Self { stop, thread }
    }

    fn finish(mut self) -> Vec<ExportWarning> {
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
        }
        cv.notify_all();
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// A running Prometheus export for one run.
pub struct PrometheusExporter {
    handle: PrometheusHandle,
    listener: Option<Listener>,
    push: Option<Arc<Pushgateway>>,
    periodic: Option<Periodic>,
}

impl std::fmt::Debug for PrometheusExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusExporter")
            .field("listen", &self.listener.as_ref().map(|l| l.addr))
            .field("push", &self.push.as_ref().map(|p| &p.url))
            .finish_non_exhaustive()
    }
}

impl PrometheusExporter {
    /// Builds the recorder and starts the listener and periodic pusher. A listener that
    /// cannot bind is a warning (the push still happens); the recorder is always returned.
    pub fn start(
        config: PrometheusConfig,
        started: SystemTime,
    ) -> (Self, PrometheusRecorder, Vec<ExportWarning>) {
        let mut warnings = Vec::new();
        // The builder is not Clone: one is made for the listener attempt, another for the
        // fallback recorder when the listener cannot start.
        let buckets = config.timing_buckets_ms.clone();
        let builder = || {
            let b = PrometheusBuilder::new();
            if buckets.is_empty() {
                return Ok(b);
            }
            b.set_buckets_for_metric(Matcher::Suffix(TIME_SUFFIX.to_string()), &buckets)
                .map_err(|e| ExportWarning::new("prometheus", format!("timing buckets: {e}")))
        };
        let builder = || match builder() {
            Ok(b) => (b, None),
            Err(w) => (PrometheusBuilder::new(), Some(w)),
        };
        let (first, bucket_warning) = builder();
        warnings.extend(bucket_warning);

        let (recorder, listener) = match config.listen {
            Some(addr) => match start_listener(first, addr) {
                Ok((recorder, listener)) => (recorder, Some(listener)),
                Err(message) => {
                    warnings.push(ExportWarning::new(
                        "prometheus-listener",
                        format!("cannot serve on {addr}: {message}"),
                    ));
                    (builder().0.build_recorder(), None)
                }
            },
            None => (first.build_recorder(), None),
        };
        let handle = recorder.handle();

        let push = config.push.map(|p| {
            let job = p.job_name(started);
            let instance = path_segment(&p.instance.clone().unwrap_or_else(host_name));
            let base = p.gateway.trim_end_matches('/');
            (
                Arc::new(Pushgateway {
                    url: format!("{base}/metrics/job/{job}/instance/{instance}"),
                    agent: http::agent(p.timeout),
                }),
                p.interval,
            )
        });
        let periodic = push.as_ref().and_then(|(target, every)| {
            every
                .filter(|d| !d.is_zero())
                .map(|d| Periodic::start(target.clone(), handle.clone(), d))
        });
        (
            Self {
                handle,
                listener,
                push: push.map(|(target, _)| target),
                periodic,
            },
            recorder,
            warnings,
        )
    }

    /// Where `/metrics` is served, if the listener started.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().map(|l| l.addr)
    }

    /// The URL the final push goes to.
    pub fn push_url(&self) -> Option<&str> {
        self.push.as_ref().map(|p| p.url.as_str())
    }

    /// The text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// What the listener offers, once it serves.
    pub fn serving(&self) -> Option<Exported> {
        self.listen_addr().map(|addr| Exported {
            exporter: "prometheus-listener",
            to: format!("http://{addr}/metrics"),
            what: "Prometheus scrape endpoint, while the run lasts".into(),
        })
    }

    /// Stops the periodic pusher, pushes the final values once, stops the listener.
    /// Returns what the final push delivered, and every failure.
    pub fn finish(mut self) -> (Option<Exported>, Vec<ExportWarning>) {
        let mut warnings = self
            .periodic
            .take()
            .map(Periodic::finish)
            .unwrap_or_default();
        let mut pushed = None;
        if let Some(target) = &self.push {
            match target.push(&self.handle) {
                Ok(samples) => {
                    pushed = Some(Exported {
                        exporter: "pushgateway",
                        to: target.url.clone(),
                        what: format!("Pushgateway, {samples} samples"),
                    })
                }
                Err(w) => warnings.push(w),
            }
        }
        self.listener.take();
        (pushed, warnings)
    }
}

fn start_listener(
    builder: PrometheusBuilder,
    addr: SocketAddr,
) -> Result<(PrometheusRecorder, Listener), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot create the listener's runtime: {e}"))?;
    let (recorder, exporter) = {
        let _entered = runtime.enter();
        builder
            .with_http_listener(addr)
            .build()
            .map_err(|e| e.to_string())?
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("starkscope-prometheus".into())
        .spawn(move || {
            runtime.spawn(exporter);
            // Ends when the sender is dropped; the runtime, the listener with it, then drops.
            let _ = runtime.block_on(stopped);
        })
        .map_err(|e| format!("cannot start the listener thread: {e}"))?;
    Ok((
        recorder,
        Listener {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_program_and_unix_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let p = PushConfig::new("http://127.0.0.1:9091").program("fib prove");
        assert_eq!(p.job_name(t), "fib_prove_1700000000");
        assert_eq!(p.clone().job("a/b").job_name(t), "a_b");
    }

    #[test]
    fn listen_addresses_default_to_loopback() {
        assert_eq!(parse_listen("9000").unwrap().to_string(), "127.0.0.1:9000");
        assert_eq!(parse_listen("127.0.0.1:9001").unwrap().port(), 9001);
        assert!(parse_listen("localhost").is_err());
    }
}
