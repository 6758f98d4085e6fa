//! monitor built without its `enabled` feature: the attributes must leave functions exactly as
//! written, and the runtime API must still compile, with no `#[cfg]` in user code.
#![deny(warnings, clippy::pedantic)]
#![allow(clippy::must_use_candidate, clippy::missing_errors_doc)]

use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};

#[monitored_handler(route = "GET /x")]
pub fn handler(x: u32) -> Result<u32, String> {
    if x == 0 { Err("zero".into()) } else { Ok(x) }
}

#[monitored_handler]
pub async fn async_handler(buffer: [u8; 64]) -> usize {
    std::future::ready(()).await;
    let mut total = 0;
    for b in buffer {
        total += usize::from(b);
    }
    total
}

/// The same function without the attribute, to compare with.
pub async fn bare_async_handler(buffer: [u8; 64]) -> usize {
    std::future::ready(()).await;
    let mut total = 0;
    for b in buffer {
        total += usize::from(b);
    }
    total
}

#[pipeline_stage(pipeline = "p", stage = "s")]
pub fn stage() -> u32 {
    7
}

#[derive(Debug)]
pub struct Client {
    pub model: String,
}

impl Client {
    #[tracks_tokens(model = self.model.as_str())]
    pub fn complete(&self) -> Tokens {
        Tokens::new(1, 2)
    }
}

/// A streamed call, compiled out: the stream is the body's own.
#[tracks_tokens(model = "m", provider = "openai", operation = "chat")]
pub fn typed_stream() -> impl futures_util::Stream<Item = Tokens> {
    futures_util::stream::iter(vec![Tokens::new(1, 1)])
}

#[async_trait::async_trait]
pub trait Service {
    async fn call(&self) -> u32;
}

#[async_trait::async_trait]
impl Service for Client {
    #[monitored_handler]
    async fn call(&self) -> u32 {
        3
    }
}

/// An impl block, compiled out: it comes back as written, without `#[monitor(skip)]` (which is
/// no attribute of its own there), and a method's own attribute is still checked.
#[derive(Debug)]
pub struct Pipeline;

#[pipeline_stage(pipeline = "p")]
impl Pipeline {
    pub const SIDES: u32 = 3;

    pub fn render(&self) -> u32 {
        Self::SIDES
    }

    #[pipeline_stage(stage = "shrink")]
    pub fn optimise(&self, x: u32) -> u32 {
        x / 2
    }

    #[monitor(skip)]
    pub fn helper(&self) -> u32 {
        1
    }
}
