//! Money: the costliest model, models without a price, and prompt caches that cost more than
//! they save. All since the start: the snapshot's per-model totals.

use super::words::{calls_of, count, finite_or_zero, percent, usd};
use super::{Insight, Severity};
use crate::snapshot::ModelStats;
use crate::usage::TokenKind;

/// Metered calls a model needs before its prompt cache's balance is judged: right after the first
/// writes, the reads that pay for them are still to come.
const MIN_CALLS_FOR_CACHE: u64 = 20;

/// Unpriced models named in one message; the rest are counted.
const MAX_NAMED_MODELS: usize = 5;

/// The model that cost the most, with its share of what all models cost.
pub(super) fn costliest_model(models: &[ModelStats]) -> Option<Insight> {
    let total: f64 = models
        .iter()
        .map(|m| finite_or_zero(m.figures.known_cost_usd()))
        .sum();
    let top = models
        .iter()
        .filter(|m| finite_or_zero(m.figures.known_cost_usd()) > 0.0)
        .max_by(|a, b| {
            a.figures
                .known_cost_usd()
                .total_cmp(&b.figures.known_cost_usd())
        })?;
    // Calls made while the model had no price are not in its cost: it is a floor then.
    let at_least = if top.figures.unpriced_calls > 0 {
        "at least "
    } else {
        ""
    };
    Some(Insight::new(
        Severity::Info,
        "costliest_model",
        format!(
            "Model `{}` costs the most: {at_least}{}, {} of the {} spent on priced models since \
             the start ({} tokens in {})",
            top.model,
            usd(top.figures.known_cost_usd()),
            percent(top.figures.known_cost_usd() / total),
            usd(total),
            count(
                top.figures
                    .tokens
                    .input
                    .saturating_add(top.figures.tokens.output)
            ),
            calls_of(top.figures.token_calls),
        ),
    ))
}

/// Models that used tokens while they had no price: their cost is unknown, and so is the total.
pub(super) fn unpriced_models(models: &[ModelStats]) -> Option<Insight> {
    let unpriced: Vec<_> = models
        .iter()
        .filter(|m| {
            m.figures.unpriced_calls > 0
                && m.figures
                    .tokens
                    .input
                    .saturating_add(m.figures.tokens.output)
                    > 0
        })
        .collect();
    if unpriced.is_empty() {
        return None;
    }
    let calls: u64 = unpriced.iter().map(|m| m.figures.unpriced_calls).sum();
    let tokens: u64 = unpriced
        .iter()
        .map(|m| {
            m.figures
                .tokens
                .input
                .saturating_add(m.figures.tokens.output)
        })
        .sum();
    let mut names: Vec<String> = unpriced
        .iter()
        .take(MAX_NAMED_MODELS)
        .map(|m| format!("`{}`", m.model))
        .collect();
    if unpriced.len() > MAX_NAMED_MODELS {
        names.push(format!("{} more", unpriced.len() - MAX_NAMED_MODELS));
    }
    let (noun, list, their) = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            ("models", format!("{} and {last}", rest.join(", ")), "their")
        }
        _ => ("model", names.concat(), "its"),
    };
    Some(Insight::new(
        Severity::Info,
        "unpriced_models",
        format!(
            "No price for {noun} {list}: the cost of {their} {} tokens in {} is \
             unknown; set one with `monitor_core::pricing::set_price`",
            count(tokens),
            calls_of(calls),
        ),
    ))
}

/// A model whose prompt cache costs more than it saves since the start: what its cache writes
/// cost beyond the same tokens as plain input is more than what its cache reads saved against
/// plain input. Both at the price's base rates: a long-context tier raises them alike.
///
/// The writes' premium, not their whole cost, is what caching adds: a prompt written once and read
/// once costs 1.25 + 0.1 times the input rate at Anthropic's rates, against 2 times uncached —
/// caching paid off, though the write alone cost more than the read saved.
pub(super) fn cache_writes_unpaid(m: &ModelStats) -> Option<Insight> {
    let price = m.price.as_ref()?;
    if m.figures.token_calls < MIN_CALLS_FOR_CACHE || m.figures.tokens.cache_write == 0 {
        return None;
    }
    let input = price.rate(TokenKind::Input);
    let premium =
        m.figures.tokens.cache_write as f64 * (price.rate(TokenKind::CacheWrite) - input) / 1e6;
    let saved =
        m.figures.tokens.cached_input as f64 * (input - price.rate(TokenKind::CachedInput)) / 1e6;
    (premium > saved).then(|| {
        Insight::new(
            Severity::Warning,
            "cache_writes",
            format!(
                "Prompt caching costs model `{}` more than it saves: its {} tokens written to the \
                 cache cost {} more than plain input would have ({} in all), and its {} read \
                 from the cache saved {} since the start",
                m.model,
                count(m.figures.tokens.cache_write),
                usd(premium),
                usd(m.figures.kind_costs().cache_write),
                count(m.figures.tokens.cached_input),
                usd(saved),
            ),
        )
    })
}
