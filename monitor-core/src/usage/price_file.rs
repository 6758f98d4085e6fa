//! The two JSON forms of a price table: monitor's own (USD per million tokens) and LiteLLM's
//! `model_prices_and_context_window.json` (USD per token). Both are read into a `serde_json`
//! value first, so that every bad rate is reported with its model and key, not a byte offset.

use super::pricing::{Price, PriceFileReport, PriceFormat, PriceTable, PricingError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Models = BTreeMap<String, Price>;

impl PriceTable {
    /// Reads either JSON form shown on [`PriceTable`].
    pub fn from_json_str(json: &str) -> Result<PriceTable, PricingError> {
        Self::parse(json, None)
    }

    /// Reads either JSON form shown on [`PriceTable`] from a file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<PriceTable, PricingError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| PricingError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&json, Some(path))
    }

    fn parse(json: &str, path: Option<&Path>) -> Result<PriceTable, PricingError> {
        let (models, report) = parse(json, path)?;
        Ok(PriceTable { models, report })
    }
}

fn parse(json: &str, path: Option<&Path>) -> Result<(Models, PriceFileReport), PricingError> {
    let path = path.map(Path::to_owned);
    let value: Value = serde_json::from_str(json).map_err(|e| PricingError::Parse {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Value::Object(top) = value else {
        return Err(shape(&path, "the top level must be an object"));
    };
    let file = File { path };
    match top.get("models") {
        Some(Value::Object(models)) => file.monitor(models),
        Some(_) => Err(shape(
            &file.path,
            "`models` must be an object of model names",
        )),
        None => file.litellm(&top),
    }
}

fn shape(path: &Option<PathBuf>, message: &str) -> PricingError {
    PricingError::Parse {
        path: path.clone(),
        line: 0,
        column: 0,
        message: message.to_owned(),
    }
}

struct File {
    path: Option<PathBuf>,
}

/// monitor's rate keys.
const MONITOR_RATES: [&str; 5] = [
    "input",
    "output",
    "cached_input",
    "cache_write",
    "reasoning",
];

/// LiteLLM's rate keys, in the order of `MONITOR_RATES`.
const LITELLM_RATES: [&str; 5] = [
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "output_cost_per_reasoning_token",
];

/// Suffixes of LiteLLM's service-tier rates: a call is billed at them only when it asks for the
/// tier, which the record path cannot see.
const SERVICE_TIERS: [&str; 3] = ["_batches", "_flex", "_priority"];

/// Rates of one price, by position in `MONITOR_RATES`.
type Rates = [Option<f64>; 5];

fn price_of_rates(rates: Rates) -> Price {
    let [input, output, cached_input, cache_write, reasoning] = rates;
    Price {
        input: input.unwrap_or(0.0),
        output: output.unwrap_or(0.0),
        cached_input,
        cache_write,
        reasoning,
        tiers: Vec::new(),
    }
}

impl File {
    fn invalid(&self, model: &str, key: &str, value: &Value) -> PricingError {
        self.invalid_text(model, key, &value.to_string())
    }

    /// `value` as written: a JSON value, or the threshold spelled inside a key.
    fn invalid_text(&self, model: &str, key: &str, value: &str) -> PricingError {
        PricingError::InvalidRate {
            path: self.path.clone(),
            model: model.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    /// A rate: a finite number, 0 or more, times `scale`.
    fn rate(&self, model: &str, key: &str, value: &Value, scale: f64) -> Result<f64, PricingError> {
        match value.as_f64() {
            Some(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate * scale),
            _ => Err(self.invalid(model, key, value)),
        }
    }

    fn monitor(
        &self,
        models: &Map<String, Value>,
    ) -> Result<(Models, PriceFileReport), PricingError> {
        let mut out = Models::new();
        for (model, entry) in models {
            out.insert(model.clone(), self.monitor_price(model, entry)?);
        }
        let report = PriceFileReport {
            format: PriceFormat::Monitor,
            models: out.len(),
            ..PriceFileReport::default()
        };
        Ok((out, report))
    }

    /// One price of monitor's form.
    fn monitor_price(&self, model: &str, entry: &Value) -> Result<Price, PricingError> {
        let (rates, tiers, _) = self.monitor_entry(model, entry, "")?;
        let mut price = price_of_rates(rates);
        for tier in tiers {
            let (rates, _, above) = self.monitor_entry(model, tier, "tiers.")?;
            let above = above
                .ok_or_else(|| self.invalid(model, "tiers.above_input_tokens", &Value::Null))?;
            price = price.with_tier(above, price_of_rates(rates));
        }
        Ok(price)
    }

    /// The rates of a price or a tier (`prefix` is `tiers.` inside one), its tiers, and a tier's
    /// threshold.
    fn monitor_entry<'v>(
        &self,
        model: &str,
        entry: &'v Value,
        prefix: &str,
    ) -> Result<(Rates, &'v [Value], Option<u64>), PricingError> {
        let Value::Object(entry) = entry else {
            return Err(self.invalid(model, prefix.trim_end_matches('.'), entry));
        };
        let mut rates: Rates = [None; 5];
        let mut tiers: &[Value] = &[];
        let mut above = None;
        for (key, value) in entry {
            let spelled = format!("{prefix}{key}");
            if let Some(at) = MONITOR_RATES.iter().position(|k| k == key) {
                rates[at] = Some(self.rate(model, &spelled, value, 1.0)?);
            } else if key == "tiers" && prefix.is_empty() {
                let Value::Array(list) = value else {
                    return Err(self.invalid(model, "tiers", value));
                };
                tiers = list;
            } else if key == "above_input_tokens" && !prefix.is_empty() {
                match value.as_u64() {
                    Some(n) if n > 0 => above = Some(n),
                    _ => return Err(self.invalid(model, &spelled, value)),
                }
            } else {
                return Err(PricingError::UnknownKey {
                    path: self.path.clone(),
                    model: model.to_owned(),
                    key: spelled,
                });
            }
        }
        for (at, key) in [(0, "input"), (1, "output")] {
            if rates[at].is_none() {
                return Err(self.invalid(model, &format!("{prefix}{key}"), &Value::Null));
            }
        }
        Ok((rates, tiers, above))
    }

    fn litellm(&self, top: &Map<String, Value>) -> Result<(Models, PriceFileReport), PricingError> {
        let mut out = Models::new();
        let mut report = PriceFileReport {
            format: PriceFormat::LiteLlm,
            ..PriceFileReport::default()
        };
        for (model, entry) in top {
            if model == "sample_spec" {
                continue;
            }
            let Value::Object(entry) = entry else {
                report.not_per_token += 1;
                continue;
            };
            match self.litellm_price(model, entry, &mut report)? {
                Some(price) => {
                    let mode = entry
                        .get("mode")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown");
                    *report.modes.entry(mode.to_owned()).or_default() += 1;
                    out.insert(model.clone(), price);
                }
                None => report.not_per_token += 1,
            }
        }
        report.models = out.len();
        Ok((out, report))
    }

    /// One LiteLLM entry; `None` when it has no per-token rate.
    fn litellm_price(
        &self,
        model: &str,
        entry: &Map<String, Value>,
        report: &mut PriceFileReport,
    ) -> Result<Option<Price>, PricingError> {
        let mut base: Rates = [None; 5];
        let mut tiers: BTreeMap<u64, Rates> = BTreeMap::new();
        for (key, value) in entry {
            if key == "tiered_pricing" {
                continue;
            }
            if SERVICE_TIERS.iter().any(|s| key.ends_with(s)) {
                report.service_tier_rates += 1;
                continue;
            }
            let Some((at, rest)) = LITELLM_RATES
                .iter()
                .enumerate()
                .find_map(|(at, k)| key.strip_prefix(k).map(|rest| (at, rest)))
            else {
                if !matches!(key.as_str(), "litellm_provider" | "mode") {
                    report.ignored_keys += 1;
                }
                continue;
            };
            if rest.is_empty() {
                base[at] = Some(self.rate(model, key, value, 1e6)?);
            } else if let Some(threshold) = rest
                .strip_prefix("_above_")
                .and_then(|r| r.strip_suffix("_tokens"))
                // `_above_1hr_above_200k_tokens` is the long-context rate of one-hour cache
                // writes, a rate monitor does not keep: a threshold is one word.
                .filter(|t| !t.contains('_'))
            {
                let above = tokens_above(threshold)
                    .ok_or_else(|| self.invalid_text(model, key, threshold))?;
                tiers.entry(above).or_insert([None; 5])[at] =
                    Some(self.rate(model, key, value, 1e6)?);
            } else {
                // Another unit of the same rate (`_above_1hr` cache writes, `_per_image`, …).
                report.ignored_keys += 1;
            }
        }
        if let Some(list) = entry.get("tiered_pricing") {
            match self.litellm_ranges(model, list, base[1])? {
                // It replaces the flat rates, as in LiteLLM: those are its first range's.
                Some(price) => return Ok(Some(price)),
                None => report.ignored_keys += 1,
            }
        }
        if base[0].is_none() && base[1].is_none() {
            return Ok(None);
        }
        // Rerankers, Azure's DALL-E 3 and others carry `output_cost_per_token: 0` beside the rate
        // they are billed at (per query, per pixel, …): priced per token they would cost 0, a
        // cost that looks known and is wrong. Models free per token and priced in nothing else
        // (experimental and local ones) do cost 0.
        let free_per_token = base.iter().flatten().all(|&rate| rate == 0.0)
            && tiers.values().flatten().flatten().all(|&rate| rate == 0.0);
        if free_per_token
            && entry
                .iter()
                .any(|(key, value)| priced_otherwise(key, value))
        {
            return Ok(None);
        }
        let mut price = price_of_rates(base);
        for (above, rates) in tiers {
            // A tier names the rates that change; the others stay the base's.
            let merged: Rates = std::array::from_fn(|i| rates[i].or(base[i]));
            price = price.with_tier(above, price_of_rates(merged));
        }
        Ok(Some(price))
    }
}

impl File {
    /// LiteLLM's `tiered_pricing` list (Dashscope, Volcengine, …): a call's input falls in one
    /// `range`, `start < input <= end` (above the last, the last), and every token of the call is
    /// billed at that range's rates, which are the price's and its tiers' (`above_input_tokens`
    /// is a range's start). `None` when no range is priced per token (search engines' ranges are
    /// of results, priced per query).
    fn litellm_ranges(
        &self,
        model: &str,
        list: &Value,
        flat_output: Option<f64>,
    ) -> Result<Option<Price>, PricingError> {
        let Value::Array(list) = list else {
            return Err(self.invalid(model, "tiered_pricing", list));
        };
        let mut ranges: Vec<(u64, Rates, String)> = Vec::new();
        for (i, range) in list.iter().enumerate() {
            let at = format!("tiered_pricing[{i}]");
            let Value::Object(range) = range else {
                return Err(self.invalid(model, &at, range));
            };
            // LiteLLM falls back to the flat rates for a range without an input rate.
            if !range.contains_key("input_cost_per_token") {
                continue;
            }
            let mut rates: Rates = [None; 5];
            for (kind, key) in LITELLM_RATES.iter().enumerate() {
                if let Some(value) = range.get(*key) {
                    rates[kind] = Some(self.rate(model, &format!("{at}.{key}"), value, 1e6)?);
                }
            }
            let bounds = range.get("range").unwrap_or(&Value::Null);
            let start = bounds
                .as_array()
                .filter(|b| b.len() == 2)
                .and_then(|b| b[0].as_f64())
                .filter(|s| s.is_finite() && *s >= 0.0 && s.fract() == 0.0 && *s < u64::MAX as f64)
                .ok_or_else(|| self.invalid(model, &format!("{at}.range"), bounds))?;
            ranges.push((start as u64, rates, format!("{at}.range")));
        }
        ranges.sort_by_key(|(start, ..)| *start);
        let Some(((_, first, _), rest)) = ranges.split_first() else {
            return Ok(None);
        };
        // A range's rates that are not given are its input rate, but for output, which is the
        // model's flat output rate: LiteLLM's reading, so that a range of input rates alone does
        // not make output free.
        let price_of = |rates: &Rates| {
            let mut rates = *rates;
            rates[1] = rates[1].or(flat_output);
            price_of_rates(rates)
        };
        let mut price = price_of(first);
        for (start, rates, key) in rest {
            // A second range from 0 would bill every call at it.
            if *start == 0 {
                return Err(self.invalid_text(model, key, "0"));
            }
            price = price.with_tier(*start, price_of(rates));
        }
        Ok(Some(price))
    }
}

/// The tokens of a LiteLLM threshold, `200k` or `200000`: a positive whole number.
fn tokens_above(threshold: &str) -> Option<u64> {
    let (digits, scale) = match threshold.strip_suffix('k') {
        Some(digits) => (digits, 1000),
        None => (threshold, 1),
    };
    // `parse` alone would take `+5`.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&n| n > 0)
}

/// Whether `key` is a positive rate in a unit other than tokens (`input_cost_per_query`,
/// `input_cost_per_pixel`, `output_cost_per_second`, …).
fn priced_otherwise(key: &str, value: &Value) -> bool {
    key.contains("cost")
        && !LITELLM_RATES.iter().any(|rate| key.starts_with(rate))
        && value.as_f64().is_some_and(|rate| rate > 0.0)
}
