//! The logo pipeline: analyse the prompt, generate concepts with the LLM, render an SVG, optimise it.
//!
//! Its stages are the methods of [`LogoPipeline`], instrumented by one `#[pipeline_stage]` on the
//! `impl` block: each method is a stage of the `logo` pipeline named after it, and its site knows
//! its type (`LogoPipeline::render`).

use crate::llm::{LlmError, MessagesClient, hash};
use crate::openai::Judge;
use monitor_core::errors::ErrorType;
use monitor_core::pipeline_stage;
use std::fmt;
use std::time::Duration;

const SYSTEM: &str = "You are a brand designer. Answer with one short logo concept: a shape, a colour \
                      palette of two or three colours, and a typeface, for the brief that follows.";

const JUDGE_SYSTEM: &str = "You are an art director. Of the logo concepts that follow, pick the one \
                            that is most distinctive at small sizes and truest to the brief, and \
                            answer with that concept alone.";

/// How a logo is drawn.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// A filled polygon.
    #[default]
    Flat,
    /// The polygon's outline.
    Outline,
    /// A round badge.
    Badge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Brief {
    pub(crate) name: String,
    pub(crate) keywords: Vec<String>,
    pub(crate) palette: [&'static str; 2],
}

#[derive(Debug)]
pub(crate) enum PipelineError {
    EmptyPrompt,
    Llm(LlmError),
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::EmptyPrompt => f.write_str("the prompt has no words"),
            PipelineError::Llm(e) => write!(f, "the model failed: {e}"),
        }
    }
}

impl std::error::Error for PipelineError {}

/// A stage that failed because the model did fails as the model's call did (`rate_limited`,
/// `http 401`).
impl ErrorType for PipelineError {
    fn error_type(&self) -> &'static str {
        match self {
            PipelineError::EmptyPrompt => "empty_prompt",
            PipelineError::Llm(e) => e.error_type(),
        }
    }
}

const PALETTES: [[&str; 2]; 5] = [
    ["#1f6feb", "#f2cc60"],
    ["#d73a49", "#24292e"],
    ["#2da44e", "#f6f8fa"],
    ["#8250df", "#ffd8b5"],
    ["#0a3069", "#ff8182"],
];

/// The pipeline's stages, with the two models the concepts stage calls.
pub(crate) struct LogoPipeline<'a> {
    pub(crate) draft: &'a MessagesClient,
    pub(crate) judge: &'a Judge,
}

/// One attribute for the four stages: each is a stage of `logo` named after its method.
#[pipeline_stage(pipeline = "logo")]
impl LogoPipeline<'_> {
    /// The brief: the prompt's keywords, its name (the first of them) and a palette.
    pub(crate) fn analyse(&self, prompt: &str) -> Result<Brief, PipelineError> {
        let keywords: Vec<String> = prompt
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
            .map(str::to_lowercase)
            .collect();
        let Some(name) = keywords.first().cloned() else {
            return Err(PipelineError::EmptyPrompt);
        };
        let palette = PALETTES[(hash(prompt) % PALETTES.len() as u64) as usize];
        Ok(Brief {
            name,
            keywords,
            palette,
        })
    }

    /// Asks the drafting model for three concepts, then has the reasoning model pick one; both
    /// answers stream in, and rate limits and streams that fail midway are retried. The drafts'
    /// system prompt names the brief's palette: its first call writes it to the provider's cache,
    /// later ones read it.
    pub(crate) async fn concepts(&self, brief: &Brief) -> Result<String, PipelineError> {
        let [primary, accent] = brief.palette;
        let system = format!("{SYSTEM} The brand's colours are {primary} and {accent}.");
        let mut concepts = Vec::new();
        for variant in 0..3 {
            let prompt = format!(
                "{} — variant {variant}, keywords: {}",
                brief.name,
                brief.keywords.join(", ")
            );
            concepts.push(with_retries(|| self.draft.complete(&system, &prompt, 120)).await?);
        }
        let pick = format!(
            "Pick the strongest of these concepts: {}",
            concepts.join(" | ")
        );
        with_retries(|| self.judge.complete(JUDGE_SYSTEM, &pick, 60)).await
    }

    /// The concept drawn as an SVG in the brief's palette.
    pub(crate) fn render(&self, brief: &Brief, concept: &str, style: Style) -> String {
        let [primary, accent] = brief.palette;
        let initial = brief
            .name
            .chars()
            .next()
            .unwrap_or('?')
            .to_ascii_uppercase();
        let sides = 3 + (hash(concept) % 5) as usize;
        let points: Vec<String> = (0..sides)
            .map(|i| {
                let angle =
                    std::f64::consts::TAU * i as f64 / sides as f64 - std::f64::consts::FRAC_PI_2;
                format!(
                    "{:.1},{:.1}",
                    100.0 + 80.0 * angle.cos(),
                    100.0 + 80.0 * angle.sin()
                )
            })
            .collect();
        let shape = match style {
            Style::Flat => format!(
                r#"<polygon points="{}" fill="{primary}" />"#,
                points.join(" ")
            ),
            Style::Outline => format!(
                r#"<polygon points="{}" fill="none" stroke="{primary}" stroke-width="8" />"#,
                points.join(" ")
            ),
            Style::Badge => format!(
                r#"<circle cx="100" cy="100" r="84" fill="{primary}" stroke="{accent}" stroke-width="6" />"#
            ),
        };
        let letter = if style == Style::Outline {
            primary
        } else {
            accent
        };
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="240" viewBox="0 0 200 240">
  <title>{name}</title>
  {shape}
  <text x="100" y="122" font-family="Helvetica, Arial, sans-serif" font-size="64" fill="{letter}" text-anchor="middle" dominant-baseline="middle">{initial}</text>
  <text x="100" y="225" font-family="Helvetica, Arial, sans-serif" font-size="18" fill="{primary}" text-anchor="middle">{name}</text>
</svg>
"#,
            name = escape(&brief.name),
        )
    }

    /// The SVG without its indentation and blank lines.
    pub(crate) async fn optimise(&self, svg: String) -> String {
        // Stands in for an optimiser running off the request thread.
        tokio::time::sleep(Duration::from_micros(300)).await;
        svg.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("")
    }
}

/// Attempts after the first: a rate limit, a server error or a stream cut midway is tried again,
/// up to this many times.
const RETRIES: u32 = 3;

/// The longest `retry-after` honoured: a provider that asks for more is answered as rate
/// limited at once, rather than a request held that long.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The wait before retry `attempt` (1, 2, 3) when the provider named none: 5, 10, 20 ms.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(5) * (1 << attempt.saturating_sub(1).min(10))
}

/// The wait before retrying `error` at `attempt`, or `None` when it is not worth retrying: a
/// refusal the next attempt would get again (401, 404), or a rate limit that asks for longer than
/// [`MAX_RETRY_AFTER`].
pub(crate) fn retry_wait(error: &LlmError, attempt: u32) -> Option<Duration> {
    if attempt > RETRIES {
        return None;
    }
    match error {
        LlmError::RateLimited { retry_after, .. } => {
            Some(retry_after.unwrap_or_else(|| backoff(attempt))).filter(|w| *w <= MAX_RETRY_AFTER)
        }
        LlmError::Http { status, .. } if *status >= 500 => Some(backoff(attempt)),
        // Anthropic's overloaded stream is tried again at once, as its SDK does.
        LlmError::Overloaded => Some(Duration::ZERO),
        LlmError::StreamCut(_) | LlmError::Timeout(_) => Some(backoff(attempt)),
        _ => None,
    }
}

async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, PipelineError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, LlmError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(e) => {
                attempt += 1;
                match retry_wait(&e, attempt) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(PipelineError::Llm(e)),
                }
            }
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(retry_after: Option<Duration>) -> LlmError {
        LlmError::RateLimited {
            retry_after,
            message: String::new(),
        }
    }

    #[test]
    fn a_rate_limit_is_retried_after_the_wait_it_asks_for_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(retry_wait(&limited(Some(ms(1500))), 1), Some(ms(1500)));
        assert_eq!(retry_wait(&limited(None), 2), Some(ms(10)));
        assert_eq!(
            retry_wait(&limited(Some(MAX_RETRY_AFTER)), 1),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_wait(&limited(Some(Duration::from_secs(20))), 1), None);
        assert_eq!(retry_wait(&limited(Some(ms(1))), RETRIES + 1), None);
    }

    #[test]
    fn a_refusal_the_next_attempt_would_get_again_is_not_retried() {
        let http = |status| LlmError::Http {
            status,
            message: String::new(),
        };
        assert_eq!(retry_wait(&http(401), 1), None);
        assert_eq!(retry_wait(&http(404), 1), None);
        assert_eq!(retry_wait(&http(503), 1), Some(Duration::from_millis(5)));
        assert_eq!(
            retry_wait(&LlmError::StreamCut(String::new()), 3),
            Some(Duration::from_millis(20))
        );
        assert_eq!(retry_wait(&LlmError::Unreachable(String::new()), 1), None);
    }
}
