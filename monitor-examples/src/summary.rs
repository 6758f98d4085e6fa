//! The summary printed after the load: every site, totals, memory, caches, error patterns and
//! insights, as the monitor recorded them.

use crate::load::LoadReport;
use monitor_core::{Site, SiteKind, SiteStats};
use std::fmt::Write;
use std::time::Duration;

/// The summary as text.
pub fn summary(elapsed: Duration, load: &LoadReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nload: {} logo requests in {:.2} s: {} created, {} rejected (400), {} unavailable (503); \
         {} lookups, {} SVG fetches, {} of missing logos (404); {} failed",
        load.create_sent,
        elapsed.as_secs_f64(),
        load.created,
        load.rejected,
        load.unavailable,
        load.get_sent,
        load.svg_sent,
        load.not_found,
        load.failures,
    );
    sites_table(&mut out);
    models_table(&mut out);
    memory_and_caches(&mut out);
    errors_and_insights(&mut out);
    out
}

/// What the site's attribute named: a handler's route, a stage's pipeline and stage, a metered
/// call's model.
pub(crate) fn place(site: &Site) -> String {
    match site.kind() {
        SiteKind::Handler => site.route().unwrap_or("").to_owned(),
        SiteKind::Stage => format!(
            "{} / {}",
            site.pipeline().unwrap_or(""),
            site.stage().unwrap_or("")
        ),
        SiteKind::Tokens => site.model().or(site.model_expr()).unwrap_or("").to_owned(),
    }
}

fn sites_table(out: &mut String) {
    let _ = writeln!(
        out,
        "\n{:<8} {:<20} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>8} {:>8} {:>10}",
        "kind",
        "site",
        "route / stage / model",
        "calls",
        "errors",
        "4xx",
        "p50",
        "p99",
        "tok in",
        "tok out",
        "cost"
    );
    let mut all: Vec<(&Site, SiteStats)> = monitor_core::sites().map(|s| (s, s.stats())).collect();
    all.sort_by_key(|(s, _)| (s.kind(), s.is_route(), s.pipeline(), s.line()));
    let (mut calls, mut errors, mut input, mut output) = (0, 0, 0, 0);
    for (site, s) in &all {
        let name = if site.is_route() {
            "(no handler)"
        } else {
            site.name()
        };
        let _ = writeln!(
            out,
            "{:<8} {:<20} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>8} {:>8} {:>10}",
            site.kind().as_str(),
            name,
            place(site),
            s.calls,
            s.errors,
            s.client_errors,
            millis(s.p50),
            millis(s.p99),
            s.input_tokens,
            s.output_tokens,
            cost(s.cost_usd, s.known_cost_usd, s.token_calls),
        );
        // Tokens are credited to the metered call and to its enclosing stage and handler: count
        // them once, at the metered call.
        if site.kind() == SiteKind::Tokens {
            input += s.input_tokens;
            output += s.output_tokens;
        }
        if site.kind() == SiteKind::Handler {
            calls += s.calls;
            errors += s.errors;
        }
    }
    let models = monitor_core::models();
    let known: f64 = models.iter().map(|m| m.known_cost_usd).sum();
    let unpriced: u64 = models.iter().map(|m| m.unpriced_calls).sum();
    let total_cost = if unpriced > 0 {
        format!("≥ ${known:.4}")
    } else {
        format!("${known:.4}")
    };
    let _ = writeln!(
        out,
        "{:<8} {:<20} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>8} {:>8} {:>10}",
        "total", "requests", "", calls, errors, "", "", "", input, output, total_cost
    );
}

fn models_table(out: &mut String) {
    let _ = writeln!(
        out,
        "\n{:<20} {:>6} {:>10} {:>10} {:>10} {:>12}",
        "model", "calls", "tok in", "cached", "tok out", "cost"
    );
    for m in monitor_core::models() {
        let _ = writeln!(
            out,
            "{:<20} {:>6} {:>10} {:>10} {:>10} {:>12}",
            m.model,
            m.calls,
            m.input_tokens,
            m.cached_input_tokens,
            m.output_tokens,
            match m.cost_usd {
                Some(c) => format!("${c:.4}"),
                None => "unknown".to_owned(),
            }
        );
    }
}

fn memory_and_caches(out: &mut String) {
    match monitor_core::memory() {
        Ok(m) => {
            let _ = write!(
                out,
                "\nmemory: resident {}, virtual {}",
                mib(m.rss_bytes),
                mib(m.virtual_bytes)
            );
            if let (Some(heap), Some(peak)) = (m.heap_bytes, m.heap_peak_bytes) {
                let _ = write!(out, ", heap {} (peak {})", mib(heap), mib(peak));
            }
            let _ = writeln!(out);
        }
        Err(e) => {
            let _ = writeln!(out, "\nmemory: {e}");
        }
    }
    for cache in monitor_core::caches() {
        let _ = writeln!(
            out,
            "cache {}: {} hits, {} misses, hit ratio {}",
            cache.name,
            cache.hits,
            cache.misses,
            cache
                .hit_ratio
                .map_or("-".to_owned(), |r| format!("{:.0}%", r * 100.0))
        );
    }
}

fn errors_and_insights(out: &mut String) {
    let patterns = monitor_core::error_patterns().patterns;
    if !patterns.is_empty() {
        let _ = writeln!(out, "\ntop error patterns:");
        for p in patterns.iter().take(5) {
            let _ = writeln!(out, "  {:>5} × {}: {}", p.count, p.site.name(), p.pattern);
        }
    }
    let detector = monitor_core::LeakDetector::new(monitor_dashboard::DEFAULT_LEAK_THRESHOLD);
    let insights = monitor_dashboard::insights(&detector);
    if !insights.is_empty() {
        let _ = writeln!(out, "\ninsights:");
        for insight in insights {
            let mark = match insight.severity {
                monitor_dashboard::Severity::Warning => "!",
                monitor_dashboard::Severity::Info => "-",
            };
            let _ = writeln!(out, "  {mark} {}", insight.message);
        }
    }
}

/// A duration in the unit that keeps three figures: µs, ms or s.
fn millis(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if d.is_zero() {
        "-".to_owned()
    } else if secs < 1e-3 {
        format!("{:.1} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

fn cost(cost: Option<f64>, known: f64, token_calls: u64) -> String {
    match (token_calls, cost) {
        (0, _) => String::new(),
        (_, Some(c)) => format!("${c:.4}"),
        (_, None) if known > 0.0 => format!("≥ ${known:.4}"),
        (_, None) => "unknown".to_owned(),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
