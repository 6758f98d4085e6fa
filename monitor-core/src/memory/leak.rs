//! Whether memory keeps growing: a line through samples, and a verdict.

use serde::Serialize;

/// Flags memory that keeps rising: a least-squares line through the samples of a window, and a
/// suspected leak when its slope stays above a threshold and the line explains the samples well.
/// One big allocation, or noise around a flat level, is not a leak; a steady climb is.
///
/// # Examples
///
/// ```
/// use monitor_core::LeakDetector;
///
/// let detector = LeakDetector::new(1024.0); // bytes per second
/// // One sample a second, growing 4 KiB a second: suspected.
/// let rising: Vec<(f64, f64)> = (0..30).map(|s| (s as f64, 50e6 + 4096.0 * s as f64)).collect();
/// assert!(detector.assess(&rising).suspected);
/// // Flat with noise: not.
/// let flat: Vec<(f64, f64)> = (0..30).map(|s| (s as f64, 50e6 + if s % 2 == 0 { 9e3 } else { -9e3 })).collect();
/// assert!(!detector.assess(&flat).suspected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakDetector {
    /// Growth, in bytes per second, above which a rise counts.
    pub threshold_bytes_per_sec: f64,
    /// How well the line must fit (coefficient of determination, 0 to 1) for the rise to be steady.
    pub min_fit: f64,
    /// Samples needed before any verdict.
    pub min_samples: usize,
}

/// What a [`LeakDetector`] concluded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LeakVerdict {
    /// Growth of the fitted line, in bytes per second.
    pub slope_bytes_per_sec: f64,
    /// How well the line fits the samples, 0 to 1 (0 when the samples are flat).
    pub fit: f64,
    /// Samples assessed.
    pub samples: usize,
    /// A steady rise above the threshold.
    pub suspected: bool,
}

impl LeakDetector {
    /// A detector with the given threshold, requiring a fit of 0.8 and 10 samples.
    pub fn new(threshold_bytes_per_sec: f64) -> LeakDetector {
        LeakDetector {
            threshold_bytes_per_sec,
            min_fit: 0.8,
            min_samples: 10,
        }
    }

    /// Assesses `(seconds, bytes)` samples, in any order.
    pub fn assess(&self, samples: &[(f64, f64)]) -> LeakVerdict {
        let n = samples.len();
        let (slope, fit) = least_squares(samples).unwrap_or((0.0, 0.0));
        let suspected =
            n >= self.min_samples && slope > self.threshold_bytes_per_sec && fit >= self.min_fit;
        LeakVerdict {
            slope_bytes_per_sec: slope,
            fit,
            samples: n,
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
    fn a_single_jump_is_not_a_leak() {
        // Flat, one 100 MB allocation halfway, flat again: the line fits poorly.
        let samples: Vec<(f64, f64)> = (0..40)
            .map(|s| (f64::from(s), if s < 20 { 50e6 } else { 150e6 }))
            .collect();
        let verdict = LeakDetector {
            min_fit: 0.9,
            ..LeakDetector::new(1e3)
        }
        .assess(&samples);
        assert!(!verdict.suspected, "{verdict:?}");
    }
}
