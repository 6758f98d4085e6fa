//! The price engine on real entries of LiteLLM's price file (`tests/fixtures/litellm_prices.json`,
//! copied verbatim from litellm 1.110.2), one test per pricing bug other tools shipped. Every
//! expected cost is worked out by hand from the fixture's per-token rates, so a test passes only if
//! the file is read and the call billed the way the provider bills it.
//!
//! Prices in force are process-global: only `loaded_prices_are_in_force_for_sites` sets them, and
//! the other tests price with a table of their own.

use monitor_core::pricing::{Price, PriceFormat, PriceTable, PricingError, load_file};
use monitor_core::usage::TokenKind;
use monitor_core::{Tokens, tracks_tokens};
use monitor_tests::support::site;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One picodollar: sites add up costs in picodollars, and the rates here are whole picodollars
/// per token, so nothing rounds by more than float noise.
const TOL: f64 = 1e-12;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/litellm_prices.json")
}

fn fixture() -> PriceTable {
    PriceTable::from_json_file(fixture_path()).expect("the fixture loads")
}

fn price<'t>(table: &'t PriceTable, model: &str) -> &'t Price {
    table
        .get(model)
        .unwrap_or_else(|| panic!("{model} is in the fixture and priced per token"))
}

#[track_caller]
fn assert_usd(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < TOL,
        "cost {actual:e} USD, expected {expected:e} USD"
    );
}

/// The cost of each kind, by name, so that a test says which kind it means.
fn by_kind(price: &Price, tokens: &Tokens) -> impl Fn(TokenKind) -> f64 {
    let costs = price.cost_usd_by_kind(tokens);
    move |kind| costs[TokenKind::ALL.iter().position(|&k| k == kind).unwrap()]
}

// LiteLLM #30135: long-context rates ignored.

#[test]
fn gemini_2_5_pro_above_200k_input_bills_every_token_at_the_tier() {
    let table = fixture();
    let pro = price(&table, "gemini-2.5-pro");

    // 250k input at 2.5e-6 (above 200k) + 1k output at 1.5e-5 (above 200k)
    assert_usd(
        pro.cost_usd(&Tokens::new(250_000, 1_000)),
        250_000.0 * 2.5e-6 + 1_000.0 * 1.5e-5,
    );
    // One token past the threshold is enough: 200_001 input at 2.5e-6 + 1k output at 1.5e-5
    assert_usd(
        pro.cost_usd(&Tokens::new(200_001, 1_000)),
        200_001.0 * 2.5e-6 + 1_000.0 * 1.5e-5,
    );
    // Exactly 200k is not above it: 200k input at 1.25e-6 + 1k output at 1e-5
    assert_usd(
        pro.cost_usd(&Tokens::new(200_000, 1_000)),
        200_000.0 * 1.25e-6 + 1_000.0 * 1e-5,
    );
}

// LiteLLM #33772: cache writes dropped.

#[test]
fn claude_cache_writes_pay_the_cache_creation_rate() {
    let table = fixture();
    let sonnet = price(&table, "claude-sonnet-4-5");
    // Anthropic's usage {input_tokens: 6000, cache_creation_input_tokens: 4000, output: 500}:
    // 10k input of which 4k written to the cache.
    let call = Tokens::new(10_000, 500).cache_write(4_000);
    let kind = by_kind(sonnet, &call);
    // 4k written at cache_creation_input_token_cost 3.75e-6
    assert_usd(kind(TokenKind::CacheWrite), 4_000.0 * 3.75e-6);
    // 6k other input at 3e-6 + 4k written at 3.75e-6 + 500 output at 1.5e-5
    assert_usd(
        sonnet.cost_usd(&call),
        6_000.0 * 3e-6 + 4_000.0 * 3.75e-6 + 500.0 * 1.5e-5,
    );

    // Through Vertex AI above 200k input, the write rate is the tier's.
    let vertex = price(&table, "vertex_ai/claude-sonnet-4-5");
    let long = Tokens::new(250_000, 500).cache_write(50_000);
    // 200k other input at 6e-6 + 50k written at 7.5e-6 + 500 output at 2.25e-5 (all above 200k)
    assert_usd(
        vertex.cost_usd(&long),
        200_000.0 * 6e-6 + 50_000.0 * 7.5e-6 + 500.0 * 2.25e-5,
    );
}

// LiteLLM #11364 and #14849: cache costs wrong, or counted twice.

#[test]
fn cached_and_written_input_are_billed_once_each_at_their_rates() {
    let table = fixture();
    let sonnet = price(&table, "claude-sonnet-4-5");
    // 100k input: 60k read from the cache, 30k written to it, so 10k other input.
    let call = Tokens::new(100_000, 2_000)
        .cached(60_000)
        .cache_write(30_000);
    let kind = by_kind(sonnet, &call);
    // 10k at input 3e-6
    assert_usd(kind(TokenKind::Input), 10_000.0 * 3e-6);
    // 60k at cache_read_input_token_cost 3e-7
    assert_usd(kind(TokenKind::CachedInput), 60_000.0 * 3e-7);
    // 30k at cache_creation_input_token_cost 3.75e-6
    assert_usd(kind(TokenKind::CacheWrite), 30_000.0 * 3.75e-6);
    // The three parts make up the 100k input: nothing billed twice, nothing left out.
    assert_usd(
        sonnet.cost_usd(&call),
        10_000.0 * 3e-6 + 60_000.0 * 3e-7 + 30_000.0 * 3.75e-6 + 2_000.0 * 1.5e-5,
    );

    // Parts that add up to more than the input (a conversion mistake: Anthropic's input_tokens
    // passed as the whole although it excludes the cache) are capped, never billed twice: 800
    // read at 3e-7, the 200 left written at 3.75e-6, no other input.
    let over = Tokens::new(1_000, 0).cached(800).cache_write(400);
    assert_usd(sonnet.cost_usd(&over), 800.0 * 3e-7 + 200.0 * 3.75e-6);
}

#[test]
fn cache_reads_above_200k_use_the_tiers_cache_rate() {
    let table = fixture();
    let pro = price(&table, "gemini-2.5-pro");
    // 250k input, 200k of it read from the cache: 50k at 2.5e-6 + 200k at
    // cache_read_input_token_cost_above_200k_tokens 2.5e-7 + 1k output at 1.5e-5
    assert_usd(
        pro.cost_usd(&Tokens::new(250_000, 1_000).cached(200_000)),
        50_000.0 * 2.5e-6 + 200_000.0 * 2.5e-7 + 1_000.0 * 1.5e-5,
    );

    let vertex = price(&table, "vertex_ai/claude-sonnet-4-5");
    // 300k input: 250k read, 20k written, 30k other; every rate the above-200k one:
    // 30k at 6e-6 + 250k at 6e-7 + 20k at 7.5e-6 + 2k output at 2.25e-5
    let call = Tokens::new(300_000, 2_000)
        .cached(250_000)
        .cache_write(20_000);
    assert_usd(
        vertex.cost_usd(&call),
        30_000.0 * 6e-6 + 250_000.0 * 6e-7 + 20_000.0 * 7.5e-6 + 2_000.0 * 2.25e-5,
    );
}

// Langfuse #16508: reasoning tokens unpriced.

#[test]
fn reasoning_tokens_are_a_part_of_output_at_their_own_rate_when_there_is_one() {
    let table = fixture();
    // 5k output, 4k of it reasoning.
    let call = Tokens::new(1_000, 5_000).reasoning(4_000);

    // perplexity/sonar-deep-research has output_cost_per_reasoning_token 3e-6 (output 8e-6):
    // 1k input at 2e-6 + 1k other output at 8e-6 + 4k reasoning at 3e-6
    let research = price(&table, "perplexity/sonar-deep-research");
    assert_usd(
        by_kind(research, &call)(TokenKind::Reasoning),
        4_000.0 * 3e-6,
    );
    assert_usd(
        research.cost_usd(&call),
        1_000.0 * 2e-6 + 1_000.0 * 8e-6 + 4_000.0 * 3e-6,
    );

    // OpenAI's o3 has no reasoning rate: reasoning is output at 8e-6, so 5k output cost the same
    // however many of them were reasoning. 1k input at 2e-6 + 5k output at 8e-6
    let o3 = price(&table, "o3");
    assert_usd(o3.cost_usd(&call), 1_000.0 * 2e-6 + 5_000.0 * 8e-6);
    assert_usd(o3.cost_usd(&call), o3.cost_usd(&Tokens::new(1_000, 5_000)));
    assert_usd(by_kind(o3, &call)(TokenKind::Reasoning), 4_000.0 * 8e-6);

    // The one OpenAI reasoning model with output_cost_per_reasoning_token, served by Replicate:
    // 1k input at 1e-6 + 1k other output at 4e-6 + 4k reasoning at 4e-6
    let o4_mini = price(&table, "replicate/openai/o4-mini");
    assert_usd(
        o4_mini.cost_usd(&call),
        1_000.0 * 1e-6 + 1_000.0 * 4e-6 + 4_000.0 * 4e-6,
    );

    // More reasoning than output is capped at the output: 100 reasoning at 3e-6, never 500.
    assert_usd(
        research.cost_usd(&Tokens::new(0, 100).reasoning(500)),
        100.0 * 3e-6,
    );
}

// Langfuse #4590: cached tokens unpriced.

#[test]
fn cached_input_costs_the_cache_read_rate_not_zero_nor_full_input() {
    let table = fixture();
    let gpt_4o = price(&table, "gpt-4o");
    let call = Tokens::new(10_000, 100).cached(8_000);
    let cached = by_kind(gpt_4o, &call)(TokenKind::CachedInput);
    // 8k at cache_read_input_token_cost 1.25e-6: not 0, and not the 2.5e-6 of other input.
    assert_usd(cached, 8_000.0 * 1.25e-6);
    assert!(cached > 0.0 && (cached - 8_000.0 * 2.5e-6).abs() > 1e-3);
    // 2k other input at 2.5e-6 + 8k cached at 1.25e-6 + 100 output at 1e-5
    assert_usd(
        gpt_4o.cost_usd(&call),
        2_000.0 * 2.5e-6 + 8_000.0 * 1.25e-6 + 100.0 * 1e-5,
    );

    // A model without a cache-read rate bills cached input as input (what the provider does
    // when it publishes no cache price): 1k input at 2e-6, 500 of them cached.
    let research = price(&table, "perplexity/sonar-deep-research");
    assert_usd(
        research.cost_usd(&Tokens::new(1_000, 0).cached(500)),
        1_000.0 * 2e-6,
    );
}

// What reading LiteLLM's file took in and left out.

#[test]
fn the_fixtures_report_counts_what_was_read_and_left_out() {
    let table = fixture();
    let report = table.report();
    assert_eq!(report.format, PriceFormat::LiteLlm);
    // Counted by hand from the fixture, entry by entry (sample_spec is not counted at all):
    //
    //                                   priced      service-tier  ignored
    // gemini-2.5-pro                    chat             15          24
    // claude-sonnet-4-5                 chat              4          19
    // vertex_ai/claude-sonnet-4-5       chat              4          19
    // gpt-4o                            chat              5          15
    // o3                                chat              8          21
    // replicate/openai/o4-mini          chat              0           2
    // perplexity/sonar-deep-research    chat              0           6
    // empiriolabs/qwen3-5-27b           chat              0          10
    // gpt-5.4                           chat             15          26
    // perplexity/openai/gpt-5.4         responses         0           3
    // opencode_go/grok-4.7              responses         0           7
    // dashscope/qwen-plus-latest        chat              0           6
    // dashscope/qwen3-coder-plus        chat              0           6
    // text-embedding-3-small            embedding         2           3
    // whisper-1                         per second        0           7
    // tts-1                             per character     0           6
    // aiml/dall-e-3                     per image         0           4
    // azure/hd/1024-x-1024/dall-e-3     per pixel         0           2
    // rerank-english-v3.0               per query         0           3
    // perplexity/search                 per query         0           1
    // exa_ai/search                     per query         0           1
    //                                                    53         191
    //
    // "Ignored" is every key but the five rates, their `_above_<N>k_tokens` tiers, a
    // `tiered_pricing` of tokens, `litellm_provider` and `mode`: context sizes, `supports_*`
    // flags, `source`, rates in other units (`search_context_cost_per_query`,
    // `cache_creation_input_token_cost_above_1hr`, the one-hour rate above 200k, exa's
    // `tiered_pricing` of results, …), and the keys of the entries skipped.
    assert_eq!(report.models, 14);
    assert_eq!(table.len(), 14);
    assert_eq!(report.not_per_token, 7);
    assert_eq!(report.service_tier_rates, 53);
    assert_eq!(report.ignored_keys, 191);
    let modes: Vec<(&str, usize)> = report.modes.iter().map(|(m, n)| (m.as_str(), *n)).collect();
    assert_eq!(modes, [("chat", 11), ("embedding", 1), ("responses", 2)]);

    assert_eq!(table.get("sample_spec"), None, "documents the format");
    for skipped in [
        "whisper-1",
        "tts-1",
        "aiml/dall-e-3",
        // These two carry `output_cost_per_token: 0` (and `input_cost_per_token: 0`) beside the
        // rate they are billed at: priced per token they would cost a wrong, known-looking 0.
        "azure/hd/1024-x-1024/dall-e-3",
        "rerank-english-v3.0",
        "perplexity/search",
        "exa_ai/search",
    ] {
        assert_eq!(
            table.get(skipped),
            None,
            "{skipped} is not priced per token"
        );
    }
    // An embedding is priced per input token; its output rate is 0.
    let embedding = price(&table, "text-embedding-3-small");
    assert_usd(
        embedding.cost_usd(&Tokens::new(1_000_000, 0)),
        1_000_000.0 * 2e-8,
    );
}

#[test]
fn service_tier_rates_are_not_what_a_plain_call_pays() {
    let table = fixture();
    // o3 has _batches, _flex and _priority rates (input 1e-6, 1e-6, 3.5e-6): a plain call pays
    // 1k input at 2e-6 + 1k output at 8e-6.
    assert_usd(
        price(&table, "o3").cost_usd(&Tokens::new(1_000, 1_000)),
        1_000.0 * 2e-6 + 1_000.0 * 8e-6,
    );
    // gemini-2.5-pro's above-200k _priority rates (4.5e-6, 2.7e-5) are not its tier:
    // 250k input at 2.5e-6 + 1k output at 1.5e-5
    let pro = price(&table, "gemini-2.5-pro");
    assert_eq!(pro.tiers.len(), 1);
    assert_usd(
        pro.cost_usd(&Tokens::new(250_000, 1_000)),
        250_000.0 * 2.5e-6 + 1_000.0 * 1.5e-5,
    );
}

#[test]
fn tiers_of_128k_200k_and_272k_have_those_thresholds() {
    let table = fixture();
    let thresholds = |model: &str| -> Vec<u64> {
        price(&table, model)
            .tiers
            .iter()
            .map(|t| t.above_input_tokens)
            .collect()
    };
    assert_eq!(thresholds("empiriolabs/qwen3-5-27b"), [128_000]);
    assert_eq!(thresholds("gemini-2.5-pro"), [200_000]);
    assert_eq!(thresholds("vertex_ai/claude-sonnet-4-5"), [200_000]);
    assert_eq!(thresholds("gpt-5.4"), [272_000]);
    assert_eq!(thresholds("claude-sonnet-4-5"), [] as [u64; 0]);

    let qwen = price(&table, "empiriolabs/qwen3-5-27b");
    // 128k input at 8.6e-8 + 1k output at 6.88e-7
    assert_usd(
        qwen.cost_usd(&Tokens::new(128_000, 1_000)),
        128_000.0 * 8.6e-8 + 1_000.0 * 6.88e-7,
    );
    // 128_001 input at 2.58e-7 + 1k output at 2.064e-6 (above 128k)
    assert_usd(
        qwen.cost_usd(&Tokens::new(128_001, 1_000)),
        128_001.0 * 2.58e-7 + 1_000.0 * 2.064e-6,
    );

    let gpt_5_4 = price(&table, "gpt-5.4");
    // 272k input, 100k cached: 172k at 2.5e-6 + 100k at 2.5e-7 + 1k output at 1.5e-5
    assert_usd(
        gpt_5_4.cost_usd(&Tokens::new(272_000, 1_000).cached(100_000)),
        172_000.0 * 2.5e-6 + 100_000.0 * 2.5e-7 + 1_000.0 * 1.5e-5,
    );
    // 300k input, 100k cached, above 272k: 200k at 5e-6 + 100k at 5e-7 + 1k output at 2.25e-5
    assert_usd(
        gpt_5_4.cost_usd(&Tokens::new(300_000, 1_000).cached(100_000)),
        200_000.0 * 5e-6 + 100_000.0 * 5e-7 + 1_000.0 * 2.25e-5,
    );
}

#[test]
fn a_tier_without_a_cache_rate_keeps_the_base_cache_rate() {
    let table = fixture();
    // perplexity/openai/gpt-5.4 doubles input and output above 272k but names no cache-read rate
    // there: LiteLLM bills cached input at the base cache_read_input_token_cost, 2.5e-7.
    let via_perplexity = price(&table, "perplexity/openai/gpt-5.4");
    // 300k input, 100k cached: 200k at 5e-6 + 100k at 2.5e-7 + 1k output at 2.25e-5
    assert_usd(
        via_perplexity.cost_usd(&Tokens::new(300_000, 1_000).cached(100_000)),
        200_000.0 * 5e-6 + 100_000.0 * 2.5e-7 + 1_000.0 * 2.25e-5,
    );
    // gemini-2.5-pro has a cache-write rate above 200k only: below, a write is input (1.25e-6);
    // above, 2.5e-7. 100k input, 10k written: 90k at 1.25e-6 + 10k at 1.25e-6
    let pro = price(&table, "gemini-2.5-pro");
    assert_usd(
        pro.cost_usd(&Tokens::new(100_000, 0).cache_write(10_000)),
        90_000.0 * 1.25e-6 + 10_000.0 * 1.25e-6,
    );
    // 250k input, 10k written: 240k at 2.5e-6 + 10k at 2.5e-7
    assert_usd(
        pro.cost_usd(&Tokens::new(250_000, 0).cache_write(10_000)),
        240_000.0 * 2.5e-6 + 10_000.0 * 2.5e-7,
    );
}

// LiteLLM's other form of long-context rates, a `tiered_pricing` list of input ranges.

#[test]
fn tiered_pricing_ranges_bill_every_token_at_the_range_of_the_input() {
    let table = fixture();
    // opencode_go/grok-4.7 also has flat rates (those of its first range): read alone, they
    // would bill a 300k call at 2e-6.
    let grok = price(&table, "opencode_go/grok-4.7");
    assert_eq!(grok.tiers.len(), 1);
    assert_eq!(grok.tiers[0].above_input_tokens, 200_000);
    // Range [0, 200000] includes its end: 200k input, 50k cached: 150k at 2e-6 + 50k at 5e-7 +
    // 1k output at 6e-6
    assert_usd(
        grok.cost_usd(&Tokens::new(200_000, 1_000).cached(50_000)),
        150_000.0 * 2e-6 + 50_000.0 * 5e-7 + 1_000.0 * 6e-6,
    );
    // Range (200000, 500000]: 300k input, 50k cached: 250k at 4e-6 + 50k at 1e-6 + 1k output at
    // 1.2e-5
    assert_usd(
        grok.cost_usd(&Tokens::new(300_000, 1_000).cached(50_000)),
        250_000.0 * 4e-6 + 50_000.0 * 1e-6 + 1_000.0 * 1.2e-5,
    );

    // dashscope/qwen-plus-latest has no flat rates at all, and a reasoning rate in each range.
    let qwen_plus = price(&table, "dashscope/qwen-plus-latest");
    let call = |input| Tokens::new(input, 3_000).reasoning(2_000);
    // 256k input at 4e-7 + 1k other output at 1.2e-6 + 2k reasoning at 4e-6
    assert_usd(
        qwen_plus.cost_usd(&call(256_000)),
        256_000.0 * 4e-7 + 1_000.0 * 1.2e-6 + 2_000.0 * 4e-6,
    );
    // 256_001 input at 1.2e-6 + 1k other output at 3.6e-6 + 2k reasoning at 1.2e-5
    assert_usd(
        qwen_plus.cost_usd(&call(256_001)),
        256_001.0 * 1.2e-6 + 1_000.0 * 3.6e-6 + 2_000.0 * 1.2e-5,
    );

    // dashscope/qwen3-coder-plus: four ranges, each with a cache-read rate.
    let coder = price(&table, "dashscope/qwen3-coder-plus");
    let starts: Vec<u64> = coder.tiers.iter().map(|t| t.above_input_tokens).collect();
    assert_eq!(starts, [32_000, 128_000, 256_000]);
    let call = |input| Tokens::new(input, 1_000).cached(10_000);
    // 32k: 22k at 1e-6 + 10k cached at 1e-7 + 1k output at 5e-6
    assert_usd(
        coder.cost_usd(&call(32_000)),
        22_000.0 * 1e-6 + 10_000.0 * 1e-7 + 1_000.0 * 5e-6,
    );
    // 100k: 90k at 1.8e-6 + 10k cached at 1.8e-7 + 1k output at 9e-6
    assert_usd(
        coder.cost_usd(&call(100_000)),
        90_000.0 * 1.8e-6 + 10_000.0 * 1.8e-7 + 1_000.0 * 9e-6,
    );
    // 200k: 190k at 3e-6 + 10k cached at 3e-7 + 1k output at 1.5e-5
    assert_usd(
        coder.cost_usd(&call(200_000)),
        190_000.0 * 3e-6 + 10_000.0 * 3e-7 + 1_000.0 * 1.5e-5,
    );
    // 1.2M, past the last range's end, is billed at the last range, as LiteLLM does:
    // 1.19M at 6e-6 + 10k cached at 6e-7 + 1k output at 6e-5
    assert_usd(
        coder.cost_usd(&call(1_200_000)),
        1_190_000.0 * 6e-6 + 10_000.0 * 6e-7 + 1_000.0 * 6e-5,
    );
}

#[test]
fn a_provider_finds_its_own_entry_first_and_the_bare_name_otherwise() {
    let table = fixture();
    // There is no vertex_ai/gemini-2.5-pro: the bare entry (litellm_provider
    // vertex_ai-language-models) prices it.
    assert_eq!(
        table.lookup("gemini-2.5-pro", Some("vertex_ai")),
        table.get("gemini-2.5-pro")
    );
    assert!(table.get("gemini-2.5-pro").is_some());

    // Only present as perplexity/sonar-deep-research.
    assert_eq!(table.get("sonar-deep-research"), None);
    assert_eq!(table.lookup("sonar-deep-research", None), None);
    assert_eq!(table.lookup("sonar-deep-research", Some("openai")), None);
    assert_eq!(
        table.lookup("sonar-deep-research", Some("perplexity")),
        table.get("perplexity/sonar-deep-research")
    );
    assert!(table.get("perplexity/sonar-deep-research").is_some());

    // Both claude-sonnet-4-5 (Anthropic's API) and vertex_ai/claude-sonnet-4-5 exist, and only
    // Vertex's has the above-200k tier: a site that names Vertex must get Vertex's.
    let vertex = table
        .lookup("claude-sonnet-4-5", Some("vertex_ai"))
        .unwrap();
    assert_eq!(Some(vertex), table.get("vertex_ai/claude-sonnet-4-5"));
    // 250k input at 6e-6 + 1k output at 2.25e-5 (above 200k)
    assert_usd(
        vertex.cost_usd(&Tokens::new(250_000, 1_000)),
        250_000.0 * 6e-6 + 1_000.0 * 2.25e-5,
    );
    assert_eq!(
        table.lookup("claude-sonnet-4-5", Some("anthropic")),
        table.get("claude-sonnet-4-5")
    );
    assert_eq!(
        table.lookup("claude-sonnet-4-5", None),
        table.get("claude-sonnet-4-5")
    );
}

// Bad input: a typed error naming the file, the model and the key.

/// A fresh file in a directory of its own, removed with it when the directory is dropped.
fn bad_file(name: &str, json: &str) -> (monitor_harness::TempDir, PathBuf) {
    let dir = monitor_harness::TempDir::new("pricing").unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, json).unwrap();
    (dir, path)
}

#[track_caller]
fn assert_invalid_rate(name: &str, json: &str, model: &str, key: &str, value: &str) {
    let (_dir, path) = bad_file(name, json);
    let err = PriceTable::from_json_file(&path).expect_err(name);
    let text = err.to_string();
    match &err {
        PricingError::InvalidRate {
            path: Some(p),
            model: m,
            key: k,
            value: v,
        } => {
            assert_eq!(
                (p.as_path(), m.as_str(), k.as_str(), v.as_str()),
                (path.as_path(), model, key, value),
                "{text}"
            );
        }
        other => panic!("{name}: expected InvalidRate, got {other:?}"),
    }
    for part in [
        path.display().to_string(),
        format!("`{model}`"),
        format!("`{key}`"),
        value.to_owned(),
    ] {
        assert!(text.contains(&part), "{text:?} does not name {part:?}");
    }
}

#[test]
fn a_bad_litellm_rate_is_named_with_its_file_model_and_key() {
    assert_invalid_rate(
        "negative.json",
        r#"{ "neg-model": { "input_cost_per_token": -1e-6, "output_cost_per_token": 1e-6 } }"#,
        "neg-model",
        "input_cost_per_token",
        "-1e-6",
    );
    assert_invalid_rate(
        "not-a-number.json",
        r#"{ "nan-model": { "input_cost_per_token": 1e-6, "output_cost_per_token": "abc" } }"#,
        "nan-model",
        "output_cost_per_token",
        r#""abc""#,
    );
    // A negative rate in a tier is as wrong as in the base.
    assert_invalid_rate(
        "negative-tier.json",
        r#"{ "neg-tier": { "input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6,
                           "cache_read_input_token_cost_above_200k_tokens": -2e-7 } }"#,
        "neg-tier",
        "cache_read_input_token_cost_above_200k_tokens",
        "-2e-7",
    );
    for (file, threshold) in [
        ("zero.json", "0k"),
        ("fraction.json", "1.5k"),
        ("x.json", "xk"),
    ] {
        let key = format!("input_cost_per_token_above_{threshold}_tokens");
        assert_invalid_rate(
            file,
            &format!(
                r#"{{ "tier-model": {{ "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                                      "{key}": 2e-6 }} }}"#
            ),
            "tier-model",
            &key,
            threshold,
        );
    }
}

#[test]
fn a_bad_monitor_threshold_or_key_is_named_with_its_file_model_and_key() {
    for (file, above) in [
        ("zero.json", "0"),
        ("negative.json", "-5"),
        ("fraction.json", "1.5"),
    ] {
        assert_invalid_rate(
            &format!("monitor-{file}"),
            &format!(
                r#"{{ "models": {{ "tiered": {{ "input": 1.0, "output": 2.0,
                    "tiers": [ {{ "above_input_tokens": {above}, "input": 2.0, "output": 4.0 }} ] }} }} }}"#
            ),
            "tiered",
            "tiers.above_input_tokens",
            above,
        );
    }

    let (_dir, path) = bad_file(
        "monitor-unknown-key.json",
        r#"{ "models": { "typo": { "input": 1.0, "output": 2.0, "cahced_input": 0.5 } } }"#,
    );
    let err = PriceTable::from_json_file(&path).unwrap_err();
    let text = err.to_string();
    match &err {
        PricingError::UnknownKey {
            path: Some(p),
            model,
            key,
        } => assert_eq!(
            (p.as_path(), model.as_str(), key.as_str()),
            (path.as_path(), "typo", "cahced_input")
        ),
        other => panic!("expected UnknownKey, got {other:?}"),
    }
    for part in [
        path.display().to_string(),
        "`typo`".into(),
        "`cahced_input`".into(),
    ] {
        assert!(text.contains(&part), "{text:?} does not name {part:?}");
    }
}

#[test]
fn malformed_json_is_a_parse_error_at_its_line() {
    // The missing comma after the first entry is found where the second one starts, line 3.
    let (_dir, path) = bad_file(
        "malformed.json",
        "{\n  \"a\": { \"input_cost_per_token\": 1e-6 }\n  \"b\": {}\n}\n",
    );
    let err = PriceTable::from_json_file(&path).unwrap_err();
    let text = err.to_string();
    match &err {
        PricingError::Parse {
            path: Some(p),
            line,
            ..
        } => assert_eq!((p.as_path(), *line), (path.as_path(), 3), "{text}"),
        other => panic!("expected Parse, got {other:?}"),
    }
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("line 3"), "{text}");

    let missing = path.with_file_name("no-such-file.json");
    match PriceTable::from_json_file(&missing).unwrap_err() {
        PricingError::Io { path, .. } => assert_eq!(path, missing),
        other => panic!("expected Io, got {other:?}"),
    }
}

// monitor's own form.

#[test]
fn monitors_form_prices_as_the_builder_does() {
    let json = r#"{ "models": {
        "round-trip-sonnet": { "input": 3.00, "output": 15.00, "cached_input": 0.30, "cache_write": 3.75,
                               "reasoning": 15.00,
                               "tiers": [ { "above_input_tokens": 200000, "input": 6.00, "output": 22.50,
                                            "cached_input": 0.60, "cache_write": 7.50 } ] },
        "round-trip-o": { "input": 1.10, "output": 4.40, "reasoning": 2.20,
                          "tiers": [ { "above_input_tokens": 500000, "input": 4.0, "output": 8.0 },
                                     { "above_input_tokens": 100000, "input": 2.0, "output": 6.0,
                                       "reasoning": 3.0 } ] }
    } }"#;
    let table = PriceTable::from_json_str(json).unwrap();
    assert_eq!(table.report().format, PriceFormat::Monitor);
    assert_eq!(table.report().models, 2);

    let sonnet = Price::per_million(3.00, 15.00)
        .with_cached_input(0.30)
        .with_cache_write(3.75)
        .with_reasoning(15.00)
        .with_tier(
            200_000,
            Price::per_million(6.00, 22.50)
                .with_cached_input(0.60)
                .with_cache_write(7.50),
        );
    // Tiers listed out of order are sorted by threshold, as `with_tier` sorts them.
    let o = Price::per_million(1.10, 4.40)
        .with_reasoning(2.20)
        .with_tier(100_000, Price::per_million(2.0, 6.0).with_reasoning(3.0))
        .with_tier(500_000, Price::per_million(4.0, 8.0));
    assert_eq!(table.get("round-trip-sonnet"), Some(&sonnet));
    assert_eq!(table.get("round-trip-o"), Some(&o));

    let calls = [
        Tokens::new(10_000, 500)
            .cached(8_000)
            .cache_write(1_000)
            .reasoning(200),
        Tokens::new(200_000, 1_000).cached(150_000),
        Tokens::new(250_000, 1_000)
            .cached(100_000)
            .cache_write(50_000)
            .reasoning(600),
        Tokens::new(600_000, 3_000).reasoning(2_000),
    ];
    for call in &calls {
        for (name, built) in [("round-trip-sonnet", &sonnet), ("round-trip-o", &o)] {
            assert_eq!(
                table.get(name).unwrap().cost_usd_by_kind(call),
                built.cost_usd_by_kind(call),
                "{name} {call:?}"
            );
        }
    }
    // And by hand, one of each: 250k above 200k, 100k cached, 50k written, 100k other:
    // 100k at 6.00 + 100k at 0.60 + 50k at 7.50 + 1k output at 22.50 (reasoning has no tier
    // rate of its own, so it is the tier's output), per million
    assert_usd(
        sonnet.cost_usd(&calls[2]),
        (100_000.0 * 6.00 + 100_000.0 * 0.60 + 50_000.0 * 7.50 + 1_000.0 * 22.50) / 1e6,
    );
    // 600k is above both of round-trip-o's tiers and pays the higher: 600k at 4.0 + 3k output
    // at 8.0, reasoning included, per million
    assert_usd(
        o.cost_usd(&calls[3]),
        (600_000.0 * 4.0 + 3_000.0 * 8.0) / 1e6,
    );
}

// Prices in force.

#[tracks_tokens(model = "gemini-2.5-pro", provider = "vertex_ai")]
fn pricing_gemini_long_context() -> Tokens {
    Tokens::new(250_000, 1_000).cached(200_000)
}

#[tracks_tokens(model = "claude-sonnet-4-5", provider = "vertex_ai")]
fn pricing_claude_on_vertex() -> Tokens {
    Tokens::new(300_000, 2_000)
        .cached(250_000)
        .cache_write(20_000)
}

#[tracks_tokens(model = "sonar-deep-research", provider = "perplexity")]
fn pricing_deep_research() -> Tokens {
    Tokens::new(1_000, 5_000).reasoning(4_000)
}

#[tracks_tokens(model = "whisper-1", provider = "openai")]
fn pricing_transcription() -> Tokens {
    Tokens::new(100, 10)
}

#[test]
fn loaded_prices_are_in_force_for_sites() {
    let report = load_file(fixture_path()).unwrap();
    assert_eq!(&report, fixture().report());

    pricing_gemini_long_context();
    pricing_gemini_long_context();
    let s = site("pricing_gemini_long_context").stats();
    // Twice: 50k at 2.5e-6 + 200k cached at 2.5e-7 + 1k output at 1.5e-5 (above 200k)
    assert_usd(
        s.cost_usd().unwrap(),
        2.0 * (50_000.0 * 2.5e-6 + 200_000.0 * 2.5e-7 + 1_000.0 * 1.5e-5),
    );
    assert_usd(s.kind_costs().input, 2.0 * 50_000.0 * 2.5e-6);
    assert_usd(s.kind_costs().cached_input, 2.0 * 200_000.0 * 2.5e-7);
    assert_usd(s.kind_costs().output, 2.0 * 1_000.0 * 1.5e-5);
    assert_usd(s.kind_costs().cache_write + s.kind_costs().reasoning, 0.0);

    pricing_claude_on_vertex();
    let s = site("pricing_claude_on_vertex").stats();
    // vertex_ai/claude-sonnet-4-5 above 200k: 30k at 6e-6 + 250k cached at 6e-7 + 20k written
    // at 7.5e-6 + 2k output at 2.25e-5
    assert_usd(
        s.cost_usd().unwrap(),
        30_000.0 * 6e-6 + 250_000.0 * 6e-7 + 20_000.0 * 7.5e-6 + 2_000.0 * 2.25e-5,
    );
    assert_usd(s.kind_costs().cache_write, 20_000.0 * 7.5e-6);

    pricing_deep_research();
    let s = site("pricing_deep_research").stats();
    // Found as perplexity/sonar-deep-research: 1k input at 2e-6 + 1k other output at 8e-6 + 4k
    // reasoning at 3e-6
    assert_usd(
        s.cost_usd().unwrap(),
        1_000.0 * 2e-6 + 1_000.0 * 8e-6 + 4_000.0 * 3e-6,
    );
    assert_usd(s.kind_costs().reasoning, 4_000.0 * 3e-6);
    assert_usd(s.kind_costs().output, 1_000.0 * 8e-6);

    // Priced per second in the file: its tokens are counted, their cost unknown rather than 0.
    pricing_transcription();
    let s = site("pricing_transcription").stats();
    assert_eq!((s.tokens.input, s.cost_usd()), (100, None));
}

// The whole of LiteLLM's file.

/// Where `scripts/deps.sh` puts the file; `MONITOR_LITELLM_PRICES` names another.
fn full_file() -> PathBuf {
    std::env::var_os("MONITOR_LITELLM_PRICES").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/litellm/model_prices_and_context_window.json")
        },
        PathBuf::from,
    )
}

#[test]
fn the_whole_litellm_file_loads() {
    let path = full_file();
    if !path.exists() {
        assert!(
            !monitor_harness::in_ci(),
            "{} is missing: scripts/deps.sh fetches it, and CI must test it",
            path.display()
        );
        eprintln!(
            "note: {} is missing (bash scripts/deps.sh fetches it); the whole file was not tested",
            path.display()
        );
        return;
    }
    let started = Instant::now();
    let table = PriceTable::from_json_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    let report = table.report();
    eprintln!("{}: parsed in {took:?}: {report:?}", path.display());
    assert_eq!(report.format, PriceFormat::LiteLlm);
    // litellm 1.110.2 has 4,877 entries besides sample_spec: 3,945 with flat per-token rates, of
    // which 38 are billed per query, pixel or image and have token rates of 0, and 51 more
    // priced per token only in `tiered_pricing`. 3,956 are priced; the bound leaves room for a
    // later version to drop a few.
    assert!(report.models >= 3_900, "{report:?}");
    assert!(report.not_per_token >= 500, "{report:?}");
    assert!(
        report.modes.get("chat").is_some_and(|&n| n >= 3_000),
        "{report:?}"
    );
    assert!(report.modes.contains_key("embedding"), "{report:?}");
    assert_eq!(table.get("sample_spec"), None);

    // What the fixture copied from this file, priced the same from the whole of it.
    let fixture = fixture();
    for (model, price) in fixture.iter() {
        assert_eq!(table.get(model), Some(price), "{model}");
    }
    // gpt-4o: 2k other input at 2.5e-6 + 8k cached at 1.25e-6 + 100 output at 1e-5
    assert_usd(
        price(&table, "gpt-4o").cost_usd(&Tokens::new(10_000, 100).cached(8_000)),
        2_000.0 * 2.5e-6 + 8_000.0 * 1.25e-6 + 100.0 * 1e-5,
    );
    // gemini-2.5-pro: 250k input at 2.5e-6 + 1k output at 1.5e-5 (above 200k)
    assert_usd(
        price(&table, "gemini-2.5-pro").cost_usd(&Tokens::new(250_000, 1_000)),
        250_000.0 * 2.5e-6 + 1_000.0 * 1.5e-5,
    );
    // claude-sonnet-4-5: 6k other input at 3e-6 + 4k written at 3.75e-6 + 500 output at 1.5e-5
    assert_usd(
        price(&table, "claude-sonnet-4-5").cost_usd(&Tokens::new(10_000, 500).cache_write(4_000)),
        6_000.0 * 3e-6 + 4_000.0 * 3.75e-6 + 500.0 * 1.5e-5,
    );
    for skipped in [
        "whisper-1",
        "azure/hd/1024-x-1024/dall-e-3",
        "rerank-english-v3.0",
    ] {
        assert_eq!(
            table.get(skipped),
            None,
            "{skipped} is not priced per token"
        );
    }
}
