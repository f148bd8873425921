//! Measuring tools for the benchmark harness: wall time of processes,
//! peak memory of a running process, percentiles.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Runs a command to completion; returns its wall time and exit status.
pub fn time_command(cmd: &mut Command) -> (Duration, ExitStatus) {
    let start = Instant::now();
    let status = cmd.status().expect("spawn");
    (start.elapsed(), status)
}

/// Peak resident memory (VmHWM, bytes) of a live process, from /proc.
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Waits for a child, sampling its peak memory until it exits. Returns the
/// wall time, the exit status and the highest peak seen.
pub fn wait_with_peak(mut child: Child) -> (Duration, ExitStatus, u64) {
    let start = Instant::now();
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(p) = peak_rss(pid) {
            peak = peak.max(p);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (start.elapsed(), status, peak);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a child whose stdout is piped, sampling its peak memory
/// until it exits. Returns the wall time, the exit status, the highest
/// peak seen and everything it wrote to stdout.
pub fn wait_output_with_peak(mut child: Child) -> (Duration, ExitStatus, u64, Vec<u8>) {
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut out, &mut buf);
            buf
        })
    });
    let (took, status, peak) = wait_with_peak(child);
    let out = reader
        .map(|r| r.join().unwrap_or_default())
        .unwrap_or_default();
    (took, status, peak, out)
}

/// The `p`-th percentile (0–100) of samples, nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut s = samples.to_vec();
    s.sort();
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// The median of samples.
pub fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50.0)
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Seconds with three decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Mebibytes with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&s, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&s, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&s, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn own_peak_memory_is_readable() {
        assert!(peak_rss(std::process::id()).unwrap() > 0);
    }
}
