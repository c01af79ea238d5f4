//! The HTML report in a real browser: headless Chromium (Debian's `chromium` package) loads
//! it with no console error, its DOM holds every chart as SVG, and a screenshot of it is not
//! blank and shows the charts' colours.
//!
//! Needs a Chromium-family browser, found in this order (as scripts/install-test-deps.sh
//! finds it): `$STARKSCOPE_BROWSER`, Debian's `chromium`, Google Chrome
//! (`google-chrome-stable`, `google-chrome`: GitHub's Ubuntu runners ship it, and Ubuntu has
//! no chromium deb), then a `chromium-browser` that is not Ubuntu's snap-installing stub.
//! Without one the test fails, unless `STARKSCOPE_SKIP_BROWSER=1` says to skip it on purpose.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use starkscope_prof::{files, run};

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

fn chromium() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("STARKSCOPE_BROWSER") {
        return Some(PathBuf::from(b));
    }
    ["chromium", "google-chrome-stable", "google-chrome"]
        .iter()
        .find_map(|name| on_path(name))
        .or_else(|| {
            // Ubuntu's chromium-browser is a shell stub that installs a snap.
            on_path("chromium-browser")
                .filter(|p| !fs::read(p).is_ok_and(|b| b.windows(4).any(|w| w == b"snap")))
        })
}

/// Runs headless chromium with `args` on `url`; returns (stdout, stderr). Killed after 90 s.
fn headless(bin: &Path, profile: &Path, args: &[&str], url: &str) -> (String, String) {
    let out_dir = profile.parent().unwrap();
    let (stdout_path, stderr_path) = (out_dir.join("stdout.txt"), out_dir.join("stderr.txt"));
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).unwrap())
        .stderr(fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        fs::read_to_string(stdout_path).unwrap_or_default(),
        fs::read_to_string(stderr_path).unwrap_or_default(),
    )
}

#[test]
fn html_report_renders_its_charts_in_chromium() {
    let Some(bin) = chromium() else {
        if std::env::var_os("STARKSCOPE_SKIP_BROWSER").is_some_and(|v| v == "1") {
            eprintln!("skipped: no chromium and STARKSCOPE_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "no Chromium-family browser: `apt-get install chromium`, install Google Chrome, or \
             set STARKSCOPE_BROWSER (STARKSCOPE_SKIP_BROWSER=1 skips this test)"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let mut o = opts(&["app_segments.json"]);
    o.baselines = vec![fixture("baseline.json")];
    o.out_dir = Some(out.clone());
    run(&o).unwrap();
    let html_path = out.join(files::REPORT_HTML);
    let html = fs::read_to_string(&html_path).unwrap();

    // Self-contained: nothing is fetched (the only URL is the SVG namespace, never loaded).
    for attr in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "<script src",
        "<link",
    ] {
        assert!(
            !html.contains(attr),
            "report.html references an external resource: {attr}"
        );
    }

    let url = format!("file://{}", html_path.display());
    let profile = dir.path().join("profile");
    let (dom, log) = headless(&bin, &profile, &["--dump-dom"], &url);
    let charts = dom.matches("<figure class=\"chart\">").count();
    // per-segment phases, cells per AIR, per-layer cost, baseline comparison
    assert_eq!(charts, 4, "charts in the DOM: {charts}");
    assert!(dom.matches("<svg").count() >= 4, "no inline SVG in the DOM");
    assert!(dom.contains("<table>"), "summary tables not rendered");
    for line in log.lines() {
        assert!(
            !(line.contains("CONSOLE") && (line.contains("Uncaught") || line.contains("Error"))),
            "console error: {line}"
        );
    }

    let shot = dir.path().join("shot.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    headless(
        &bin,
        &profile,
        &[&shot_arg, "--window-size=1400,2400"],
        &url,
    );
    if let Some(keep) = std::env::var_os("STARKSCOPE_PROF_KEEP_SCREENSHOT") {
        fs::copy(&shot, keep).unwrap();
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(
        fs::File::open(&shot).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let non_white = pixels
        .iter()
        .filter(|p| p[..3].iter().any(|c| *c < 240))
        .count();
    assert!(
        non_white * 50 > pixels.len(),
        "screenshot is (almost) blank: {non_white} of {} pixels",
        pixels.len()
    );
    // The stacked bars' colours are on screen: the charts were drawn, not just the text.
    let near = |p: &[u8], rgb: [u8; 3]| p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) < 12);
    for (name, rgb) in [
        ("execute blue", [0x4e, 0x79, 0xa7]),
        ("trace_gen orange", [0xf2, 0x8e, 0x2b]),
    ] {
        let n = pixels.iter().filter(|p| near(p, rgb)).count();
        assert!(
            n > 500,
            "{name} bars not visible in the screenshot ({n} pixels)"
        );
    }
}
