//! Settings and units the GPU benches share (`mod common;` in each bench).

use std::time::Duration;

/// A comma-separated list of numbers from the environment variable `name`, else `default`.
pub fn list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// Timed iterations per measurement: `SLOTPROOF_BENCH_ITERS` (default 5, at least 1).
pub fn iters() -> usize {
    list("SLOTPROOF_BENCH_ITERS", "5")
        .first()
        .copied()
        .unwrap_or(5)
        .max(1)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
