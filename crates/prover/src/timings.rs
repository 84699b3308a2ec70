//! Wall time per pipeline phase, for benchmarks and operators. Tests only check that every
//! phase is reported, never how long it took.
//!
//! Two kinds of work run inside other phases and are carved out of them: proof-of-work
//! searches (`CanonicalChallenger::grind`, at the lookup, OOD, batching and FRI sites) become
//! one "proof of work" phase, and a backend that times its coset LDEs separately from its
//! Merkle hashing (the CPU backend) splits each commit phase in two. Both are counted per
//! thread (the thread that runs the proof): if rayon runs another shard's proof on this thread
//! while it waits, that proof's grinding and LDEs are counted in both.

use core::fmt;
use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static LDE: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    static GRINDING: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Adds `d` to this thread's coset-LDE time (a backend calls it for LDEs it computes for the
/// proof running on this thread).
pub fn record_lde(d: Duration) {
    LDE.with(|c| c.set(c.get() + d));
}

/// Adds `d` to this thread's proof-of-work search time.
pub(crate) fn record_grinding(d: Duration) {
    GRINDING.with(|c| c.set(c.get() + d));
}

fn counters() -> (Duration, Duration) {
    (LDE.with(Cell::get), GRINDING.with(Cell::get))
}

/// Phase name of proof-of-work searches.
pub const PROOF_OF_WORK: &str = "proof of work";

/// Wall time of each pipeline phase of one proof, in order.
#[derive(Clone, Debug)]
pub struct PhaseTimings {
    pub phases: Vec<(&'static str, Duration)>,
    last: Instant,
    /// This thread's LDE and grinding counters at `last`.
    last_counters: (Duration, Duration),
}

impl PhaseTimings {
    pub(crate) fn start() -> Self {
        Self {
            phases: Vec::new(),
            last: Instant::now(),
            last_counters: counters(),
        }
    }

    /// The time since the last lap, less its LDE and grinding (which are returned too).
    fn take(&mut self) -> (Duration, Duration, Duration) {
        let now = Instant::now();
        let total = now - self.last;
        let (lde, pow) = counters();
        let lde = lde.saturating_sub(self.last_counters.0);
        let pow = pow.saturating_sub(self.last_counters.1);
        self.last = now;
        self.last_counters = (lde + self.last_counters.0, pow + self.last_counters.1);
        (total, lde, pow)
    }

    fn push_pow(&mut self, pow: Duration) {
        if !pow.is_zero() {
            self.phases.push((PROOF_OF_WORK, pow));
        }
    }

    pub(crate) fn lap(&mut self, phase: &'static str) {
        let (total, _, pow) = self.take();
        self.phases.push((phase, total.saturating_sub(pow)));
        self.push_pow(pow);
    }

    /// A commit phase: `lde` and `merkle` when the backend timed its LDEs, else `combined`.
    pub(crate) fn lap_commit(
        &mut self,
        combined: &'static str,
        lde_phase: &'static str,
        merkle_phase: &'static str,
    ) {
        let (total, lde, pow) = self.take();
        let rest = total.saturating_sub(pow);
        if lde.is_zero() {
            self.phases.push((combined, rest));
        } else {
            self.phases.push((lde_phase, lde.min(rest)));
            self.phases.push((merkle_phase, rest.saturating_sub(lde)));
        }
        self.push_pow(pow);
    }

    /// Append the phases timed by `later` (which started when this one's last lap ended).
    pub(crate) fn extend(&mut self, later: PhaseTimings) {
        self.phases.extend(later.phases);
        self.last = later.last;
        self.last_counters = later.last_counters;
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
