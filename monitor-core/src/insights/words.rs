//! Numbers as the messages write them: a person reads them, so they are rounded the way a person
//! would round them, and a value that cannot be told says so instead of printing `NaN`.

use std::time::Duration;

pub(super) fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// A number with one decimal below 10 and none from there: `2.5`, `71`.
fn short(x: f64) -> String {
    if x < 9.95 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// Seconds for humans: `850 µs`, `12 ms`, `1.2 s`, `3.5 min`.
pub(super) fn seconds(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "unknown".to_owned();
    }
    let units = [
        (1e-6, "ns", 1e9),
        (1e-3, "µs", 1e6),
        (1.0, "ms", 1e3),
        (60.0, "s", 1.0),
    ];
    for (below, unit, scale) in units {
        if s < below {
            return format!("{} {unit}", short(s * scale));
        }
    }
    if s < 3600.0 {
        format!("{} min", short(s / 60.0))
    } else {
        format!("{} h", short(s / 3600.0))
    }
}

/// `1 call`, `20 calls`.
pub(super) fn calls_of(n: u64) -> String {
    if n == 1 {
        "1 call".to_owned()
    } else {
        format!("{n} calls")
    }
}

/// `once`, `165 times`.
pub(super) fn times(n: u64) -> String {
    if n == 1 {
        "once".to_owned()
    } else {
        format!("{n} times")
    }
}

/// A stretch of time for humans: `5 min`, `30 s`, `2 h`.
pub(super) fn span(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        seconds(d.as_secs_f64())
    }
}

/// A fraction as a percentage: `71%`, `0.4%`, `99.6%`.
pub(super) fn percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "an unknown share".to_owned();
    }
    let p = fraction * 100.0;
    if (p > 0.0 && p < 1.0) || (p > 99.0 && p < 100.0) {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// US dollars: `$12.34`, `$0.00022` (two significant digits under a cent), `$1234`.
pub(super) fn usd(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "$0".to_owned();
    }
    if v >= 100.0 {
        format!("${v:.0}")
    } else if v >= 0.01 {
        format!("${v:.2}")
    } else {
        let decimals = (1.0 - v.log10().floor()).clamp(3.0, 12.0) as usize;
        format!("${v:.decimals$}")
    }
}

/// A count for humans: `950`, `12.3k`, `4.0M`.
pub(super) fn count(n: u64) -> String {
    let x = n as f64;
    if n < 1000 {
        n.to_string()
    } else if x < 1e6 {
        format!("{:.1}k", x / 1e3)
    } else if x < 1e9 {
        format!("{:.1}M", x / 1e6)
    } else {
        format!("{:.1}B", x / 1e9)
    }
}

/// Bytes for humans, in decimal units: `950 B`, `12.3 kB`, `3.0 MB`.
pub(super) fn bytes(b: f64) -> String {
    if !b.is_finite() {
        return "an unknown amount".to_owned();
    }
    let units = [(1e3, "B", 1.0), (1e6, "kB", 1e3), (1e9, "MB", 1e6)];
    for (below, unit, scale) in units {
        if b.abs() < below {
            return format!("{:.1} {unit}", b / scale).replace(".0 B", " B");
        }
    }
    format!("{:.1} GB", b / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(seconds(0.000_85), "850 µs");
        assert_eq!(seconds(0.012), "12 ms");
        assert_eq!(seconds(0.0021), "2.1 ms");
        assert_eq!(seconds(1.2), "1.2 s");
        assert_eq!(seconds(210.0), "3.5 min");
        assert_eq!(seconds(f64::NAN), "unknown");
        assert_eq!(span(Duration::from_secs(300)), "5 min");
        assert_eq!(span(Duration::from_secs(7200)), "2 h");
        assert_eq!(percent(0.71), "71%");
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.996), "99.6%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(f64::NAN), "an unknown share");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.000_22), "$0.00022");
        assert_eq!(usd(0.005), "$0.0050");
        assert_eq!(usd(1234.4), "$1234");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(f64::NAN), "$0");
        assert_eq!(count(950), "950");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(4_000_000), "4.0M");
        assert_eq!(bytes(950.0), "950 B");
        assert_eq!(bytes(3e6), "3.0 MB");
        assert_eq!(bytes(f64::INFINITY), "an unknown amount");
        assert_eq!(
            (calls_of(1), calls_of(20)),
            ("1 call".into(), "20 calls".into())
        );
        assert_eq!((times(1), times(165)), ("once".into(), "165 times".into()));
    }
}
