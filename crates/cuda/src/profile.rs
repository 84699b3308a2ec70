//! Device time per kernel (and per transfer direction) from CUDA events, for the "time split by
//! kernel" figures. Opt-in (`BackendOptions::profile_kernels`): each launch or copy is bracketed
//! by two events on the backend's stream; [`crate::CudaBackend::take_kernel_times`] synchronizes,
//! reads every pair's elapsed time and sums them per name. Off, nothing is recorded.

use std::collections::HashMap;
use std::sync::Mutex;

use cudarc::driver::CudaEvent;

/// Summed device time of one kernel (or `memcpy h2d` / `memcpy d2h`).
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    pub name: &'static str,
    pub launches: usize,
    pub total_ms: f64,
}

/// Event pairs recorded since the last [`KernelProfile::take`].
#[derive(Default)]
pub(crate) struct KernelProfile {
    pending: Mutex<Vec<(&'static str, CudaEvent, CudaEvent)>>,
}

impl KernelProfile {
    pub(crate) fn push(&self, name: &'static str, start: CudaEvent, end: CudaEvent) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name, start, end));
    }

    /// Sum the recorded pairs per name (the caller has synchronized the stream), largest first.
    pub(crate) fn take(&self) -> crate::Result<Vec<KernelTime>> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut by_name: HashMap<&'static str, (usize, f64)> = HashMap::new();
        for (name, start, end) in pending {
            let ms = start.elapsed_ms(&end)?;
            let e = by_name.entry(name).or_default();
            e.0 += 1;
            e.1 += f64::from(ms);
        }
        let mut times: Vec<KernelTime> = by_name
            .into_iter()
            .map(|(name, (launches, total_ms))| KernelTime {
                name,
                launches,
                total_ms,
            })
            .collect();
        times.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms).then(a.name.cmp(b.name)));
        Ok(times)
    }
}

/// A plain-text table of `times` with each row's share of their sum.
pub fn format_kernel_times(times: &[KernelTime]) -> String {
    let total: f64 = times.iter().map(|t| t.total_ms).sum();
    let mut out = format!(
        "{:<28} {:>9} {:>12} {:>7}\n",
        "kernel", "launches", "device ms", "share"
    );
    for t in times {
        out += &format!(
            "{:<28} {:>9} {:>12.3} {:>6.1}%\n",
            t.name,
            t.launches,
            t.total_ms,
            100.0 * t.total_ms / total.max(f64::MIN_POSITIVE)
        );
    }
    out += &format!("{:<28} {:>9} {:>12.3}\n", "total", "", total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_each_kernel_with_its_share() {
        let t = format_kernel_times(&[
            KernelTime {
                name: "ntt_dif_pass_kb",
                launches: 4,
                total_ms: 3.0,
            },
            KernelTime {
                name: "memcpy h2d",
                launches: 1,
                total_ms: 1.0,
            },
        ]);
        assert!(t.contains("ntt_dif_pass_kb"), "{t}");
        assert!(t.contains("75.0%"), "{t}");
        assert!(t.contains("25.0%"), "{t}");
        assert!(t.contains("4.000"), "{t}");
    }
}
