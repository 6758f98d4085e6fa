//! The summary printed after the load: every site, totals, models with their streams and cost by
//! token kind, memory, caches, error patterns and insights, as the monitor recorded them.

use crate::load::LoadReport;
use monitor_core::pricing::Price;
use monitor_core::site::SiteKind;
use monitor_core::snapshot::ModelStats;
use monitor_core::usage::TokenKind;
use monitor_core::{Figures, Site};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// The summary as text.
pub fn summary(elapsed: Duration, load: &LoadReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nload: {} logo requests in {:.2} s: {} created, {} rejected (400), {} unavailable (503), \
         {} abandoned by their client; {} lookups, {} SVG fetches, {} of missing logos (404); {} failed",
        load.create_sent,
        elapsed.as_secs_f64(),
        load.created,
        load.rejected,
        load.unavailable,
        load.abandoned,
        load.get_sent,
        load.svg_sent,
        load.not_found,
        load.failures,
    );
    sites_table(&mut out);
    let models = monitor_core::snapshot::models();
    models_table(&mut out, &models);
    streams_table(&mut out, &models);
    cost_by_kind(&mut out, &models);
    memory_and_caches(&mut out);
    objectives_table(&mut out);
    errors_and_insights(&mut out);
    out
}

/// Each objective: what it aims at, how it stands, its budget left and its fastest burn rates.
fn objectives_table(out: &mut String) {
    let objectives = monitor_core::objectives::status();
    if objectives.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nobjectives:");
    for o in &objectives {
        let goal = match o.objective.goal {
            monitor_core::objectives::Goal::SuccessRate { target } => {
                format!("{} % succeed", target * 100.0)
            }
            monitor_core::objectives::Goal::Latency { threshold, target } => {
                format!("{} % within {} ms", target * 100.0, threshold.as_millis())
            }
            monitor_core::objectives::Goal::Cost { max_usd, per } => {
                format!("≤ ${max_usd} {}", per_words(per))
            }
            monitor_core::objectives::Goal::Tokens { max, per } => {
                format!("≤ {max} tokens {}", per_words(per))
            }
        };
        let indicator = match (o.indicator, o.objective.goal) {
            (None, _) => "no calls yet".to_owned(),
            (
                Some(v),
                monitor_core::objectives::Goal::SuccessRate { .. }
                | monitor_core::objectives::Goal::Latency { .. },
            ) => {
                format!("{:.2} % good", v * 100.0)
            }
            (Some(v), monitor_core::objectives::Goal::Cost { per, .. }) => {
                format!("${v:.4} {}", per_words(per))
            }
            (Some(v), monitor_core::objectives::Goal::Tokens { per, .. }) => {
                format!("{v:.0} tokens {}", per_words(per))
            }
        };
        let budget = o.budget_remaining.map_or("—".to_owned(), |b| {
            format!("{:.0} % budget left", b * 100.0)
        });
        let burn = |secs: u64| {
            o.burn_rates
                .iter()
                .find(|b| b.window.as_secs() == secs)
                .and_then(|b| b.rate)
                .map_or("—".to_owned(), |r| format!("{r:.1}×"))
        };
        let _ = writeln!(
            out,
            "  {:<18} {:<20} {:<9} {:<16} {:<18} burn 5m {} 1h {}",
            o.objective.name,
            goal,
            format!("{:?}", o.state).to_lowercase(),
            indicator,
            budget,
            burn(300),
            burn(3_600)
        );
    }
}

fn per_words(per: monitor_core::objectives::Per) -> String {
    match per {
        monitor_core::objectives::Per::Call => "a call".to_owned(),
        monitor_core::objectives::Per::Run => "a run".to_owned(),
        monitor_core::objectives::Per::Period(d) if d.as_secs() == 86_400 => "a day".to_owned(),
        monitor_core::objectives::Per::Period(d) => format!("per {} s", d.as_secs()),
    }
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
        "\n{:<8} {:<24} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>8} {:>8} {:>10}",
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
    let mut all: Vec<(&Site, Figures)> = monitor_core::sites().map(|s| (s, s.stats())).collect();
    all.sort_by_key(|(s, _)| (s.kind(), s.is_route(), s.pipeline(), s.line()));
    let (mut calls, mut errors, mut input, mut output) = (0, 0, 0, 0);
    for (site, s) in &all {
        let name = if site.is_route() {
            "(no handler)"
        } else {
            site.qualified_name()
        };
        let _ = writeln!(
            out,
            "{:<8} {:<24} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>8} {:>8} {:>10}",
            site.kind().as_str(),
            name,
            place(site),
            s.calls(),
            s.errors,
            s.client_errors,
            millis(s.durations.p50()),
            millis(s.durations.p99()),
            s.tokens.input,
            s.tokens.output,
            cost(s.cost_usd(), s.known_cost_usd(), s.token_calls),
        );
        // Tokens are credited to the metered call and to its enclosing stage and handler: count
        // them once, at the metered call.
        if site.kind() == SiteKind::Tokens {
            input += s.tokens.input;
            output += s.tokens.output;
        }
        if site.kind() == SiteKind::Handler {
            calls += s.calls();
            errors += s.errors;
        }
    }
    let models = monitor_core::snapshot::models();
    let known: f64 = models.iter().map(|m| m.figures.known_cost_usd()).sum();
    let unpriced: u64 = models.iter().map(|m| m.figures.unpriced_calls).sum();
    let total_cost = if unpriced > 0 {
        format!("≥ ${known:.4}")
    } else {
        format!("${known:.4}")
    };
    let _ = writeln!(
        out,
        "{:<8} {:<24} {:<26} {:>6} {:>6} {:>5} {:>9} {:>9} {:>8} {:>8} {:>10}",
        "total", "requests", "", calls, errors, "", "", "", input, output, total_cost
    );
}

fn models_table(out: &mut String, models: &[ModelStats]) {
    let _ = writeln!(
        out,
        "\n{:<20} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "model", "calls", "tok in", "cached", "written", "tok out", "reasoning", "cost"
    );
    for m in models {
        let _ = writeln!(
            out,
            "{:<20} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
            m.model,
            m.figures.token_calls,
            m.figures.tokens.input,
            m.figures.tokens.cached_input,
            m.figures.tokens.cache_write,
            m.figures.tokens.output,
            m.figures.tokens.reasoning,
            match m.figures.cost_usd() {
                Some(c) => format!("${c:.4}"),
                None => "unknown".to_owned(),
            }
        );
    }
}

/// Per model: its streamed calls, their time to first chunk and per output chunk, and the ones cut
/// off before their end (cancelled: their tokens are in the totals all the same).
fn streams_table(out: &mut String, models: &[ModelStats]) {
    let mut cancelled: BTreeMap<&str, u64> = BTreeMap::new();
    for site in monitor_core::snapshot().sites {
        if site.site.kind() == SiteKind::Tokens {
            for (model, figures) in site.model_parts() {
                let model = model.unwrap_or(monitor_core::usage::UNKNOWN_MODEL);
                *cancelled.entry(model).or_default() += figures.cancelled;
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{:<20} {:>8} {:>8} {:>16} {:>16} {:>16} {:>16} {:>10}",
        "streams",
        "calls",
        "chunks",
        "1st chunk p50",
        "1st chunk p99",
        "per chunk p50",
        "per chunk p99",
        "cancelled"
    );
    for m in models.iter().filter(|m| m.figures.streamed_calls() > 0) {
        let _ = writeln!(
            out,
            "{:<20} {:>8} {:>8} {:>16} {:>16} {:>16} {:>16} {:>10}",
            m.model,
            m.figures.streamed_calls(),
            m.figures.chunks,
            millis(m.figures.first_chunk.p50()),
            millis(m.figures.first_chunk.p99()),
            millis(m.figures.per_output_chunk.p50()),
            millis(m.figures.per_output_chunk.p99()),
            cancelled.get(m.model.as_str()).copied().unwrap_or(0),
        );
    }
    let _ = writeln!(
        out,
        "(cancelled: cut off before their end, as when a client disconnects; their tokens count)"
    );
}

/// Per model: what each kind of token cost, and what its prompt cache cost and saved.
fn cost_by_kind(out: &mut String, models: &[ModelStats]) {
    let example = {
        let prices = |t: &monitor_core::pricing::PriceTable| -> Vec<(String, Price)> {
            t.iter().map(|(m, p)| (m.to_owned(), p.clone())).collect()
        };
        prices(&monitor_core::pricing::table()) == prices(&crate::example_prices())
    };
    let _ = writeln!(
        out,
        "\ncost by token kind, USD ({}):",
        if example {
            "the demo's example prices, not a price list"
        } else {
            "the prices in force"
        }
    );
    let _ = writeln!(
        out,
        "{:<20} {:>10} {:>13} {:>12} {:>10} {:>10} {:>10}",
        "model", "input", "cached input", "cache write", "output", "reasoning", "total"
    );
    for m in models.iter().filter(|m| m.price.is_some()) {
        let k = &m.figures.kind_costs();
        let _ = writeln!(
            out,
            "{:<20} {:>10} {:>13} {:>12} {:>10} {:>10} {:>10}",
            m.model,
            usd(k.input),
            usd(k.cached_input),
            usd(k.cache_write),
            usd(k.output),
            usd(k.reasoning),
            usd(m.figures.known_cost_usd()),
        );
    }
    for m in models {
        let Some(price) = &m.price else { continue };
        if m.figures.tokens.cached_input == 0 && m.figures.tokens.cache_write == 0 {
            continue;
        }
        // At the base rates: what the same tokens would have cost as plain input.
        let input = price.rate(TokenKind::Input);
        let saved = m.figures.tokens.cached_input as f64
            * (input - price.rate(TokenKind::CachedInput))
            / 1e6;
        let premium =
            m.figures.tokens.cache_write as f64 * (price.rate(TokenKind::CacheWrite) - input) / 1e6;
        let line = if m.figures.tokens.cache_write > 0 {
            format!(
                "{} tokens written for {} ({} more than as plain input), {} read for {}, saving {}",
                m.figures.tokens.cache_write,
                usd(m.figures.kind_costs().cache_write),
                usd(premium),
                m.figures.tokens.cached_input,
                usd(m.figures.kind_costs().cached_input),
                usd(saved),
            )
        } else {
            format!(
                "{} tokens read for {}, saving {}; no writes billed",
                m.figures.tokens.cached_input,
                usd(m.figures.kind_costs().cached_input),
                usd(saved),
            )
        };
        let _ = writeln!(out, "prompt cache of {}: {line}", m.model);
    }
}

fn memory_and_caches(out: &mut String) {
    match monitor_core::memory::sample() {
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
    for cache in monitor_core::caches::all() {
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
    let patterns = monitor_core::snapshot::error_patterns().patterns;
    if !patterns.is_empty() {
        let _ = writeln!(out, "\ntop error patterns:");
        for p in patterns.iter().take(5) {
            let _ = writeln!(
                out,
                "  {:>5} × {} {}: {}",
                p.count,
                p.site.qualified_name(),
                p.error_type,
                p.pattern
            );
        }
    }
    let detector = monitor_core::memory::LeakDetector::default();
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

fn usd(v: f64) -> String {
    format!("${v:.4}")
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Calls of the handlers in the history over the last 24 hours: with a history file, those of
/// earlier runs too.
pub fn handler_calls_in_history() -> u64 {
    let q = monitor_core::history::Query::new(monitor_core::history::TimeRange::Last(
        Duration::from_secs(86_400),
    ))
    .filter(monitor_core::history::Field::Kind, "handler");
    monitor_core::history::query(&q).map_or(0, |r| r.groups.iter().map(|g| g.figures.calls()).sum())
}
