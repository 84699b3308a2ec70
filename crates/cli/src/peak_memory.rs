//! Peak resident memory of this process, per benchmark run.
//!
//! Linux keeps the peak resident set size (`VmHWM` in `/proc/self/status`), and writing `5` to
//! `/proc/self/clear_refs` resets it to the current RSS. We use that rather than a counting
//! global allocator because it sees every resident page, not only Rust heap allocations (rayon
//! stacks, mapped fixtures, a CUDA driver's pinned host buffers), and costs nothing while the
//! prover runs, where a counting allocator would add an atomic update to every allocation of
//! every worker thread. It measures RSS, so it includes memory the allocator kept from earlier
//! runs; [`PeakMemory::start`] records that baseline too.

/// The memory state at the start of a run.
pub struct PeakMemory {
    /// Whether the peak was reset (if not, the peak is since the process started).
    pub reset: bool,
    /// RSS at the start of the run, in bytes.
    pub start_rss: Option<u64>,
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

impl PeakMemory {
    /// Resets the peak to the current RSS (where the kernel allows it).
    pub fn start() -> Self {
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        Self {
            reset,
            start_rss: status_kib("VmRSS:").map(|k| k * 1024),
        }
    }

    /// Peak RSS since [`PeakMemory::start`] (or since the process started when the reset was
    /// refused), in bytes; `None` where `/proc` is not available.
    pub fn peak(&self) -> Option<u64> {
        status_kib("VmHWM:").map(|k| k * 1024)
    }
}
