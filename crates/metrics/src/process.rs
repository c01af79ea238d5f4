//! The process's peak memory, as the kernel counts it: the one source of truth for a
//! run's peak (`run_peak_rss_bytes`, the SDK's report, the benchmark gate).

/// The process's peak resident set size: `VmHWM` of `/proc/self/status` (in kB there),
/// exact, since the process started or since [`reset_peak_rss`]. `None` off Linux or when
/// `/proc` is not readable.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

/// Resets the kernel's peak (`VmHWM`) to the current RSS, so that [`peak_rss_bytes`] is the
/// peak of what follows (writing `5` to `/proc/self/clear_refs`, Linux 4.0 and later).
/// Returns whether the kernel accepted it; when not, the peak stays the process's.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_parses_and_malformed_is_none() {
        assert_eq!(
            parse_vm_hwm("Name:\tx\nVmPeak:\t  10 kB\nVmHWM:\t    2048 kB\n"),
            Some(2048 * 1024)
        );
        assert_eq!(parse_vm_hwm("VmHWM: lots kB"), None);
        assert_eq!(parse_vm_hwm("VmRSS: 1 kB"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_peak_follows_a_large_allocation_and_resets() {
        let before = peak_rss_bytes().unwrap();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let during = peak_rss_bytes().unwrap();
        assert!(during >= before + (60 << 20), "{before} -> {during}");
        drop(block);
        if reset_peak_rss() {
            let after = peak_rss_bytes().unwrap();
            assert!(
                after + (60 << 20) <= during,
                "{during} -> {after} after reset"
            );
        }
    }
}
