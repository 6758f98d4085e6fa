//! One function per shape.

use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use std::fmt::Display;

#[monitored_handler]
pub fn free(x: u32) -> u32 {
    x + 1
}

#[monitored_handler(name = "early", route = "GET /early")]
pub fn early_return(x: i32) -> Result<i32, String> {
    if x < 0 {
        return Err(format!("negative: {x}"));
    }
    let parsed: i32 = "7".parse::<i32>().map_err(|e| e.to_string())?;
    Ok(x + parsed)
}

#[monitored_handler]
pub fn mut_param(mut x: Vec<u32>) -> usize {
    x.push(1);
    x.len()
}

#[monitored_handler]
pub fn generic<T: Display + Clone, U>(t: &T, _u: U) -> String
where
    U: Into<u64>,
{
    let owned: T = t.clone();
    owned.to_string()
}

#[monitored_handler]
pub fn lifetimes<'a, 'b: 'a>(a: &'a str, _b: &'b str) -> &'a str {
    a
}

#[monitored_handler]
pub fn elided(a: &str) -> &str {
    &a[..1]
}

#[monitored_handler]
pub fn impl_arg(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[monitored_handler]
pub fn impl_ret(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[monitored_handler]
pub fn boxed_dyn(n: u32) -> Result<Box<dyn Display>, String> {
    Ok(Box::new(n))
}

#[monitored_handler]
pub async fn async_fn(x: u32) -> Result<u32, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(x * 2)
}

#[monitored_handler]
pub async fn async_question(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(n)
}

#[derive(Debug)]
pub struct Counter {
    pub n: u64,
    pub model: String,
}

impl Counter {
    #[monitored_handler]
    pub fn by_ref(&self) -> u64 {
        self.n
    }

    #[monitored_handler]
    pub fn by_mut(&mut self) -> &mut u64 {
        self.n += 1;
        &mut self.n
    }

    #[monitored_handler]
    pub fn by_value(self) -> u64 {
        self.n
    }

    #[pipeline_stage(pipeline = "shapes")]
    pub async fn async_method(&self) -> u64 {
        self.n
    }

    #[tracks_tokens(model = self.model.as_str())]
    pub fn call_model(&self, prompt: &str) -> Tokens {
        Tokens::new(prompt.len() as u64, 1)
    }

    #[tracks_tokens(model = self.model.clone())]
    pub fn consume_model(self) -> Tokens {
        Tokens::new(self.n, 1)
    }
}

pub trait Greeter {
    fn name(&self) -> String;

    #[monitored_handler]
    fn greet(&self) -> String {
        format!("hello {}", self.name())
    }
}

#[async_trait::async_trait]
pub trait AsyncService {
    async fn call(&self, x: u32) -> Result<u32, String>;
}

#[derive(Debug)]
pub struct Service;

#[async_trait::async_trait]
impl AsyncService for Service {
    #[monitored_handler(name = "service_call")]
    async fn call(&self, x: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        if x == 0 {
            Err("zero".to_owned())
        } else {
            Ok(x)
        }
    }
}

/// Returns a future without being `async fn`: the future is what is timed.
#[monitored_handler]
pub fn returns_impl_future(x: u32) -> impl Future<Output = Result<u32, String>> + Send {
    async move {
        if x == 0 {
            Err("zero".to_owned())
        } else {
            Ok(x)
        }
    }
}

/// A boxed future, as trait objects and tower services return.
#[tracks_tokens(model = "boxed-model")]
pub fn returns_boxed_future<'a>(
    prompt: &'a str,
) -> std::pin::Pin<Box<dyn Future<Output = Tokens> + Send + 'a>> {
    Box::pin(async move { Tokens::new(prompt.len() as u64, 1) })
}

#[async_trait::async_trait]
pub trait Llm {
    async fn complete(&self, prompt: &str) -> Result<Tokens, String>;
}

#[async_trait::async_trait]
impl Llm for Counter {
    #[tracks_tokens(model = self.model.as_str(), name = "async_trait_complete")]
    async fn complete(&self, prompt: &str) -> Result<Tokens, String> {
        tokio::task::yield_now().await;
        Ok(Tokens::new(prompt.len() as u64, self.n))
    }
}

/// The attributes on an `impl` block, under clippy's pedantic group.
#[derive(Debug, Default)]
pub struct ImplPipeline {
    pub model: String,
}

#[pipeline_stage(pipeline = "impl_shapes")]
impl ImplPipeline {
    pub const SIDES: u32 = 4;

    pub fn analyse(&self, prompt: &str) -> Result<usize, String> {
        if prompt.is_empty() {
            return Err("empty".to_owned());
        }
        Ok(prompt.len())
    }

    pub async fn render(&self, size: u32) -> String {
        format!("<svg sides={} size={size}/>", Self::SIDES)
    }

    #[pipeline_stage(stage = "shrink")]
    pub fn optimise(svg: &str) -> String {
        svg.replace(' ', "")
    }

    #[tracks_tokens(model = self.model.as_str())]
    pub fn complete(&self, prompt: &str) -> Tokens {
        Tokens::new(prompt.len() as u64, 1)
    }

    #[monitor(skip)]
    pub fn helper(&self) -> usize {
        self.model.len()
    }
}
