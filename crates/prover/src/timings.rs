//! Wall time per pipeline phase, for benchmarks and operators. Tests only check that every
//! phase is reported, never how long it took.

use core::fmt;
use std::time::{Duration, Instant};

/// Wall time of each pipeline phase of one proof, in order.
#[derive(Clone, Debug)]
pub struct PhaseTimings {
    pub phases: Vec<(&'static str, Duration)>,
    last: Instant,
}

impl PhaseTimings {
    pub(crate) fn start() -> Self {
        Self {
            phases: Vec::new(),
            last: Instant::now(),
        }
    }

    pub(crate) fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.phases.push((phase, now - self.last));
        self.last = now;
    }

    /// Append the phases timed by `later` (which started when this one's last lap ended).
    pub(crate) fn extend(&mut self, later: PhaseTimings) {
        self.phases.extend(later.phases);
        self.last = later.last;
    }

    /// Sum of all phases.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|(_, d)| *d).sum()
    }
}

impl fmt::Display for PhaseTimings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (phase, d) in &self.phases {
            writeln!(f, "  {phase:<40} {:>9.1} ms", d.as_secs_f64() * 1e3)?;
        }
        write!(
            f,
            "  {:<40} {:>9.1} ms",
            "total",
            self.total().as_secs_f64() * 1e3
        )
    }
}
