//! The demo's two models and their prices.
//!
//! The prices are **example figures**, in USD per million tokens, as the providers listed these
//! models in 2025. They are not a price list: check your provider's before you trust a cost. The
//! same table is in `pricing.json`, the file form (`MONITOR_PRICING_FILE` reads either that or
//! your own).

use monitor_core::pricing::{Price, PriceTable};

/// The drafting model: Anthropic-style streamed events, with prompt caching.
pub const DRAFT_MODEL: &str = "claude-sonnet-4-5";

/// The judging model: OpenAI-style chunks, a reasoning model.
pub const JUDGE_MODEL: &str = "o4-mini";

/// The example price table: cache writes at 1.25× input and reads at a tenth, with a long-context
/// tier above 200,000 input tokens, for the drafting model; cached input at a quarter and
/// reasoning at a rate of its own (the output rate, as OpenAI bills it) for the judging model.
pub fn example_prices() -> PriceTable {
    let mut table = PriceTable::new();
    let draft = Price::per_million(3.00, 15.00)
        .with_cached_input(0.30)
        .with_cache_write(3.75)
        .with_tier(
            200_000,
            Price::per_million(6.00, 22.50)
                .with_cached_input(0.60)
                .with_cache_write(7.50),
        );
    let judge = Price::per_million(1.10, 4.40)
        .with_cached_input(0.275)
        .with_reasoning(4.40);
    // Both prices are finite and positive: inserting them cannot fail.
    for (model, price) in [(DRAFT_MODEL, draft), (JUDGE_MODEL, judge)] {
        if let Err(e) = table.insert(model, price) {
            unreachable!("an example price is refused: {e}");
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_file_holds_the_same_example_figures() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/pricing.json");
        let file = PriceTable::from_json_file(path).unwrap();
        let code = example_prices();
        let prices = |t: &PriceTable| -> Vec<(String, Price)> {
            t.iter().map(|(m, p)| (m.to_owned(), p.clone())).collect()
        };
        assert_eq!(prices(&file), prices(&code));
    }
}
