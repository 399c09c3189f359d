//! Effective round trips, the figure the benchmarks print: the same run with no added latency and
//! with `L` ms added to every AWS call, `(t_L − t_0) / L`. The emulator's own serialised work and
//! process start-up cancel out, leaving how many calls had to follow one another. Each time is the
//! least of a few runs (the least disturbed). `SILA_BENCH_LATENCY_MS` (default 50; on a busy machine
//! e.g. 400, so noise stays small beside it) and `SILA_BENCH_RUNS` (default 3) set the method.

use crate::{FaultRule, Session};
use std::time::Duration;

/// The two times and what they give.
#[derive(Debug, Clone, Copy)]
pub struct RoundTrips {
    /// The least time with no added latency.
    pub at_zero: Duration,
    /// The least time with `latency_ms` added per call.
    pub at_latency: Duration,
    /// The latency added per call.
    pub latency_ms: u64,
}

impl RoundTrips {
    /// `(t_L − t_0) / L`.
    pub fn effective(&self) -> f64 {
        self.at_latency.saturating_sub(self.at_zero).as_secs_f64() * 1000.0 / self.latency_ms as f64
    }

    /// One line: the effective round trips against the dependency minimum and the target ratio.
    pub fn report(&self, what: &str, minimum: f64, target: f64) -> String {
        let effective = self.effective();
        let ratio = effective / minimum;
        format!(
            "{what}: {effective:.2} effective round trips (t0 {:.0} ms, t{} {:.0} ms); minimum {minimum}; ratio {ratio:.2} (target ≤ {target}): {}",
            self.at_zero.as_secs_f64() * 1000.0,
            self.latency_ms,
            self.at_latency.as_secs_f64() * 1000.0,
            if ratio <= target { "met" } else { "NOT met" }
        )
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Measures `run` (given a fresh number each time, for unique names) at 0 ms and at the added
/// latency, alternating, and keeps the least time of each.
pub fn round_trips(s: &Session, mut run: impl FnMut(usize) -> Duration) -> RoundTrips {
    let latency_ms = setting("SILA_BENCH_LATENCY_MS", 50).max(1);
    let runs = setting("SILA_BENCH_RUNS", 3).max(1) as usize;
    let (mut at_zero, mut at_latency) = (Duration::MAX, Duration::MAX);
    for n in 0..runs {
        s.set_faults(0, &[]);
        at_zero = at_zero.min(run(2 * n));
        s.set_faults(0, &[FaultRule::latency(latency_ms)]);
        at_latency = at_latency.min(run(2 * n + 1));
    }
    s.set_faults(0, &[]);
    RoundTrips { at_zero, at_latency, latency_ms }
}
