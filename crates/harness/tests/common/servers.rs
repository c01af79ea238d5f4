//! Servers for the exporter tests, std only so that other crates' tests can include it
//! with `#[path]` (the CLI's do): free ports, a plain HTTP client and a fake server on
//! 127.0.0.1, and daemons (Prometheus, Pushgateway) started on free ports and stopped by
//! PID when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A port nothing listens on right now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port on 127.0.0.1")
}

/// One HTTP exchange: status and body.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub body: String,
}

/// `GET http://127.0.0.1:{port}{path}` with HTTP/1.0 semantics (body until close).
pub fn http_get(port: u16, path: &str) -> std::io::Result<HttpReply> {
    http(port, "GET", path, b"")
}

/// One request to `http://127.0.0.1:{port}{path}`, read until the server closes.
pub fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<HttpReply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(HttpReply { status, body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Percent-encodes a query parameter value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the fake server answers.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    Status(u16),
    /// Reads the request, then waits this long before answering 200.
    Slow(Duration),
}

/// A one-thread HTTP server on 127.0.0.1 that records requests and answers per
/// `behaviour`; it stops when dropped (or after a minute).
pub struct FakeServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub fn start(behaviour: Behaviour, reply_body: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let Some(req) = read_request(&stream) else {
                            continue;
                        };
                        seen.lock().unwrap().push(req);
                        answer(stream, behaviour, &reply_body);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => return,
                }
            }
        });
        Self {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn answer(mut stream: TcpStream, behaviour: Behaviour, body: &[u8]) {
    let status = match behaviour {
        Behaviour::Status(s) => s,
        Behaviour::Slow(d) => {
            std::thread::sleep(d);
            200
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

/// A child process stopped by PID (kill, then wait) when dropped, also when a test fails.
pub struct Daemon {
    pub name: &'static str,
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `program args` and waits until `GET /-/ready` answers 200.
    pub fn start(
        name: &'static str,
        program: &str,
        args: &[String],
        port: u16,
        dir: &Path,
    ) -> Self {
        let log = dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).expect("daemon log file");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} (scripts/install-test-deps.sh installs it): {e}")
            });
        let daemon = Self {
            name,
            port,
            child,
            log,
        };
        daemon.wait_ready(Duration::from_secs(30));
        daemon
    }

    fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if matches!(http_get(self.port, "/-/ready"), Ok(r) if r.status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{} not ready on 127.0.0.1:{} after {timeout:?}; log:\n{}",
            self.name,
            self.port,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Pushgateway on a free port, in memory. Debian's build persists to
/// /var/lib/prometheus/pushgateway.data by default, which every instance would then load
/// and write: groups (and their metric types) would leak between tests and runs.
pub fn pushgateway(dir: &Path) -> Daemon {
    let port = free_port();
    Daemon::start(
        "pushgateway",
        "prometheus-pushgateway",
        &[
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--persistence.file=".to_string(),
        ],
        port,
        dir,
    )
}

/// The repository's dashboards directory.
pub fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dashboards")
}

/// Prometheus on a free port, scraping `pushgateway` every second with
/// `honor_labels: true`, storage in `dir`, serving the repository's console templates.
pub fn prometheus(dir: &Path, pushgateway: &Daemon) -> Daemon {
    let port = free_port();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    \
             static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            pushgateway.port
        ),
    )
    .unwrap();
    let consoles = dashboards_dir().join("prometheus");
    Daemon::start(
        "prometheus",
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!(
                "--web.console.templates={}",
                consoles.join("consoles").display()
            ),
            format!(
                "--web.console.libraries={}",
                consoles.join("console_libraries").display()
            ),
        ],
        port,
        dir,
    )
}

/// Runs `query` through Prometheus's `/api/v1/query` until it returns at least `min`
/// series (a scrape or two), and returns them; fails after 30 s with Prometheus's log.
pub fn query_until(prom: &Daemon, query: &str, min: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http_get(prom.port, &format!("/api/v1/query?query={}", encode(query)))
            .expect("query prometheus");
        assert_eq!(r.status, 200, "`{query}`: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
        if result.len() >= min {
            return result;
        }
        assert!(
            Instant::now() < deadline,
            "`{query}` returned {} series after 30 s; prometheus log:\n{}",
            result.len(),
            prom.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
