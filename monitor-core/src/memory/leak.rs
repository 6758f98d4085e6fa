//! Whether memory keeps growing: a line through samples, and a verdict.

use std::time::Duration;

/// Growth, in bytes per second, above which a steady rise is a suspected leak unless told
/// otherwise: 64 KiB/s, 37.5 MiB over the ten minutes of [`DEFAULT_LEAK_WINDOW`]. Chosen from data
/// (`tests/tests/leaks.rs`; the module docs give the table): the leak to catch, the demo's
/// unbounded store, grew 256 KB/s, and a workload leaking at that rate measures 261 KB/s (fit
/// 0.99998); a steady one that fills a cache for a quarter of its window and then evicts measures
/// 42 KB/s over the window (fit 0.50) and 2 KB/s over its later half. A quarter of the leak's rate
/// leaves a factor of four each way.
pub const DEFAULT_LEAK_THRESHOLD: f64 = 64.0 * 1024.0;

/// The stretch of samples a leak is judged over unless told otherwise: the last ten minutes.
pub const DEFAULT_LEAK_WINDOW: Duration = Duration::from_secs(600);

/// Flags memory that keeps rising: a least-squares line through the samples of the latest window,
/// and a suspected leak when
/// - the samples span at least half the window (a verdict needs time: growth during start-up is
///   not a leak),
/// - the line rises faster than the threshold and explains the samples well (fit ≥ `min_fit`), and
/// - the later half of the window still rises at half the threshold or more: a rise that levels
///   off (a cache filling, then full) is warm-up, not a leak.
///
/// One big allocation, or noise around a flat level, is not a leak; a steady climb is.
///
/// # Examples
///
/// ```
/// use monitor_core::memory::LeakDetector;
/// use std::time::Duration;
///
/// // 1 KiB/s, judged over 30 s.
/// let detector = LeakDetector::new(1024.0).window(Duration::from_secs(30));
/// // One sample a second, growing 4 KiB a second: suspected.
/// let rising: Vec<(f64, f64)> = (0..30).map(|s| (s as f64, 50e6 + 4096.0 * s as f64)).collect();
/// assert!(detector.assess(&rising).suspected);
/// // Flat with noise: not.
/// let flat: Vec<(f64, f64)> = (0..30).map(|s| (s as f64, 50e6 + if s % 2 == 0 { 9e3 } else { -9e3 })).collect();
/// assert!(!detector.assess(&flat).suspected);
/// // Rising for 10 s, then flat: warm-up, not a leak.
/// let warm_up: Vec<(f64, f64)> = (0..30).map(|s| (s as f64, 50e6 + 4096.0 * s.min(10) as f64)).collect();
/// assert!(!detector.assess(&warm_up).suspected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakDetector {
    /// Growth, in bytes per second, above which a rise counts.
    pub threshold_bytes_per_sec: f64,
    /// How well the line must fit (coefficient of determination, 0 to 1) for the rise to be steady.
    pub min_fit: f64,
    /// Samples needed before any verdict.
    pub min_samples: usize,
    /// Only samples this close to the newest are assessed; a verdict needs half of it covered.
    pub window: Duration,
}

impl Default for LeakDetector {
    /// [`DEFAULT_LEAK_THRESHOLD`] over [`DEFAULT_LEAK_WINDOW`].
    fn default() -> Self {
        LeakDetector::new(DEFAULT_LEAK_THRESHOLD)
    }
}

/// What a [`LeakDetector`] concluded.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LeakVerdict {
    /// Growth of the fitted line, in bytes per second.
    pub slope_bytes_per_sec: f64,
    /// Growth of the line through the later half of the window, in bytes per second.
    pub recent_slope_bytes_per_sec: f64,
    /// How well the line fits the samples, 0 to 1 (0 when the samples are flat).
    pub fit: f64,
    /// Samples assessed: those within the window.
    pub samples: usize,
    /// Seconds from the oldest sample assessed to the newest.
    pub span_secs: f64,
    /// A steady rise above the threshold.
    pub suspected: bool,
}

impl LeakDetector {
    /// A detector with the given threshold over [`DEFAULT_LEAK_WINDOW`], requiring a fit of 0.8
    /// and 10 samples.
    pub fn new(threshold_bytes_per_sec: f64) -> LeakDetector {
        LeakDetector {
            threshold_bytes_per_sec,
            min_fit: 0.8,
            min_samples: 10,
            window: DEFAULT_LEAK_WINDOW,
        }
    }

    /// Sets [`window`](LeakDetector::window).
    pub fn window(mut self, window: Duration) -> LeakDetector {
        self.window = window;
        self
    }

    /// Assesses `(seconds, bytes)` samples, in any order: those within the window of the newest.
    pub fn assess(&self, samples: &[(f64, f64)]) -> LeakVerdict {
        let newest = samples
            .iter()
            .map(|(t, _)| *t)
            .fold(f64::NEG_INFINITY, f64::max);
        let window = self.window.as_secs_f64();
        let within: Vec<(f64, f64)> = samples
            .iter()
            .copied()
            .filter(|(t, _)| newest - t <= window)
            .collect();
        let oldest = within.iter().map(|(t, _)| *t).fold(newest, f64::min);
        let span = if within.is_empty() {
            0.0
        } else {
            newest - oldest
        };
        let (slope, fit) = least_squares(&within).unwrap_or((0.0, 0.0));
        let later: Vec<(f64, f64)> = within
            .iter()
            .copied()
            .filter(|(t, _)| *t >= newest - span / 2.0)
            .collect();
        let (recent, _) = least_squares(&later).unwrap_or((0.0, 0.0));
        let threshold = self.threshold_bytes_per_sec;
        let suspected = within.len() >= self.min_samples
            && span >= window / 2.0
            && slope > threshold
            && fit >= self.min_fit
            && recent >= threshold / 2.0;
        LeakVerdict {
            slope_bytes_per_sec: slope,
            recent_slope_bytes_per_sec: recent,
            fit,
            samples: within.len(),
            span_secs: span,
            suspected,
        }
    }
}

/// Slope and coefficient of determination of the least-squares line, or `None` without two distinct
/// times.
fn least_squares(samples: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = samples.len() as f64;
    if samples.len() < 2 {
        return None;
    }
    let (mean_x, mean_y) = samples
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in samples {
        let (dx, dy) = (x - mean_x, y - mean_y);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let slope = sxy / sxx;
    let fit = if syy > 0.0 {
        (sxy * sxy) / (sxx * syy)
    } else {
        0.0
    };
    Some((slope, fit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_or_degenerate_samples_give_no_verdict() {
        let d = LeakDetector::new(1.0);
        assert!(!d.assess(&[]).suspected);
        assert!(!d.assess(&[(1.0, 1.0)]).suspected);
        let same_time: Vec<(f64, f64)> = (0..20).map(|i| (5.0, f64::from(i))).collect();
        assert_eq!(d.assess(&same_time).slope_bytes_per_sec, 0.0);
    }

    #[test]
    fn only_the_window_is_judged_and_it_must_be_half_covered() {
        let d = LeakDetector::new(1e3).window(Duration::from_secs(100));
        // A leak long ago, flat for the last 100 s: not suspected now.
        let old_leak: Vec<(f64, f64)> = (0..300)
            .map(|s| (f64::from(s), 1e6 * f64::from(s.min(150))))
            .collect();
        let verdict = d.assess(&old_leak);
        assert!(!verdict.suspected, "{verdict:?}");
        assert_eq!(verdict.samples, 101);
        // A steep rise seen for 40 s of a 100 s window: too soon to tell.
        let early: Vec<(f64, f64)> = (0..40)
            .map(|s| (f64::from(s), 1e6 * f64::from(s)))
            .collect();
        assert!(!d.assess(&early).suspected);
        let later: Vec<(f64, f64)> = (0..60)
            .map(|s| (f64::from(s), 1e6 * f64::from(s)))
            .collect();
        assert!(d.assess(&later).suspected);
    }

    #[test]
    fn a_single_jump_is_not_a_leak() {
        // Flat, one 100 MB allocation halfway, flat again: the line fits poorly.
        let samples: Vec<(f64, f64)> = (0..40)
            .map(|s| (f64::from(s), if s < 20 { 50e6 } else { 150e6 }))
            .collect();
        let verdict = LeakDetector {
            min_fit: 0.9,
            ..LeakDetector::new(1e3).window(Duration::from_secs(40))
        }
        .assess(&samples);
        assert!(!verdict.suspected, "{verdict:?}");
    }
}
