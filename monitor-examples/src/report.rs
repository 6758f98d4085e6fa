//! The summary table printed after the load.

use monitor_core::{SiteKind, caches, error_patterns, models, sites};
use std::time::Duration;

pub(crate) fn print(elapsed: Duration, requests: usize) {
    println!(
        "\nmonitor: {requests} logo requests in {:.2} s\n",
        elapsed.as_secs_f64()
    );
    println!(
        "{:<8} {:<18} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "kind",
        "site",
        "route / stage / model",
        "calls",
        "errors",
        "4xx",
        "p50",
        "p99",
        "tokens in",
        "out",
        "cost"
    );
    let mut all: Vec<_> = sites().collect();
    all.sort_by_key(|s| (s.kind(), s.pipeline(), s.line()));
    for site in all {
        let s = site.stats();
        let place = match site.kind() {
            SiteKind::Handler => site.route().unwrap_or("").to_owned(),
            SiteKind::Stage => format!(
                "{} / {}",
                site.pipeline().unwrap_or(""),
                site.stage().unwrap_or("")
            ),
            SiteKind::Tokens => site.model().or(site.model_expr()).unwrap_or("").to_owned(),
        };
        println!(
            "{:<8} {:<18} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>9} {:>9} {:>10}",
            site.kind(),
            site.name(),
            place,
            s.calls,
            s.errors,
            s.client_errors,
            millis(s.p50),
            millis(s.p99),
            s.input_tokens,
            s.output_tokens,
            cost(s.cost_usd, s.known_cost_usd),
        );
    }
    println!(
        "\n{:<20} {:>6} {:>10} {:>10} {:>10} {:>12}",
        "model", "calls", "in", "cached", "out", "cost"
    );
    let (mut total, mut unknown) = (0.0, false);
    for m in models() {
        total += m.known_cost_usd;
        unknown |= m.cost_usd.is_none();
        println!(
            "{:<20} {:>6} {:>10} {:>10} {:>10} {:>12}",
            m.model,
            m.calls,
            m.input_tokens,
            m.cached_input_tokens,
            m.output_tokens,
            cost(m.cost_usd, m.known_cost_usd)
        );
    }
    let note = if unknown {
        " + models without a price"
    } else {
        ""
    };
    println!("{:<20} {:>52}", "total", format!("${total:.4}{note}"));

    println!(
        "\n{:<20} {:>8} {:>8} {:>10}",
        "cache", "hits", "misses", "hit ratio"
    );
    for c in caches() {
        let ratio = c
            .hit_ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{:.1} %", r * 100.0));
        println!("{:<20} {:>8} {:>8} {:>10}", c.name, c.hits, c.misses, ratio);
    }

    let errors = error_patterns();
    println!("\ntop error patterns");
    for p in errors.patterns.iter().take(5) {
        println!("{:>6} × {:<18} {}", p.count, p.site.name(), p.pattern);
    }
    if errors.patterns.is_empty() {
        println!("  none");
    }
}

fn millis(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn cost(cost: Option<f64>, known: f64) -> String {
    match cost {
        Some(usd) => format!("${usd:.4}"),
        None if known > 0.0 => format!("≥${known:.4}"),
        None => "unknown".to_owned(),
    }
}
