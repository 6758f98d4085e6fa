//! Memory that keeps rising.

use super::words::{bytes, finite_or_zero};
use super::{Insight, Severity};
use crate::memory::LeakVerdict;

/// The warning a leak verdict calls for: `None` unless a leak is suspected.
///
/// # Examples
///
/// ```
/// use monitor_core::memory::LeakDetector;
/// use std::time::Duration;
///
/// // Sixty samples a second apart, growing 50 kB a second: 3 MB a minute.
/// let rising: Vec<(f64, f64)> = (0..60).map(|s| (f64::from(s), 80e6 + 50e3 * f64::from(s))).collect();
/// let detector = LeakDetector::new(1024.0).window(Duration::from_secs(60));
/// let verdict = detector.assess(&rising);
/// let insight = monitor_core::insights::leak_insight(&verdict).unwrap();
/// assert!(insight.message.contains("3.0 MB/min"), "{}", insight.message);
///
/// let flat: Vec<(f64, f64)> = (0..60).map(|s| (f64::from(s), 80e6)).collect();
/// assert!(monitor_core::insights::leak_insight(&detector.assess(&flat)).is_none());
/// ```
pub fn leak_insight(verdict: &LeakVerdict) -> Option<Insight> {
    leak_warning(verdict, "resident size")
}

/// The warning for a verdict on `measure` (the resident size, the heap in use).
pub(super) fn leak_warning(verdict: &LeakVerdict, measure: &str) -> Option<Insight> {
    if !verdict.suspected {
        return None;
    }
    Some(Insight::new(
        Severity::Warning,
        "leak",
        format!(
            "Memory keeps rising: {measure} grows {}/min, steadily over the last {:.0} min \
             ({} samples, fit {:.2}) and still in the later half; a leak is suspected",
            bytes(verdict.slope_bytes_per_sec * 60.0),
            verdict.span_secs / 60.0,
            verdict.samples,
            finite_or_zero(verdict.fit),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::LeakDetector;

    #[test]
    fn a_verdict_without_a_leak_says_nothing() {
        let flat: Vec<(f64, f64)> = (0..30).map(|s| (f64::from(s), 1e8)).collect();
        assert_eq!(leak_insight(&LeakDetector::new(1.0).assess(&flat)), None);
        assert_eq!(leak_insight(&LeakDetector::new(1.0).assess(&[])), None);
    }
}
