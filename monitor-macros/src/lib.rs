//! The attribute macros of `monitor`. Depend on `monitor-core`, which re-exports them and holds the
//! runtime their expansions call; the reference of each — its arguments, what it records, the
//! function shapes it takes and its errors — is on the re-export
//! (`monitor_core::monitored_handler`, `monitor_core::pipeline_stage`,
//! `monitor_core::tracks_tokens`, `monitor_core::monitor`) and in `monitor_core`'s crate
//! documentation, where its examples run as doctests against the runtime.
//!
//! ```
//! use monitor_core::pipeline_stage;
//!
//! #[pipeline_stage(pipeline = "report", stage = "parse")]
//! fn parse(line: &str) -> Result<Vec<u64>, std::num::ParseIntError> {
//!     line.split(',').map(str::parse).collect()
//! }
//!
//! assert!(parse("1,2,x").is_err());
//! let site = monitor_core::sites().find(|s| s.stage() == Some("parse")).unwrap();
//! assert_eq!((site.stats().calls(), site.stats().errors), (1, 1));
//! ```
//!
//! Each macro runs the same steps, one file each: parse the arguments (`args`) and the function or
//! `impl` block (`item`, with `types` for what a declared type says), check them against each other
//! (`valid`), and expand (`expand`). A failure at any step becomes one spanned error next to the
//! untouched item (`fallback`).
//!
//! # Features
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

use proc_macro::TokenStream;

mod args;
mod expand;
mod fallback;
mod item;
mod types;
mod valid;

use args::{Macro, Parsed};
use item::Item;

/// (From `monitor-macros`; use it as `monitor_core::monitored_handler`, with `monitor-core` as the
/// dependency: its expansion calls the runtime there.)
#[proc_macro_attribute]
pub fn monitored_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Handler, args, item)
}

/// (From `monitor-macros`; use it as `monitor_core::pipeline_stage`, with `monitor-core` as the
/// dependency: its expansion calls the runtime there.)
#[proc_macro_attribute]
pub fn pipeline_stage(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Stage, args, item)
}

/// (From `monitor-macros`; use it as `monitor_core::tracks_tokens`, with `monitor-core` as the
/// dependency: its expansion calls the runtime there.)
#[proc_macro_attribute]
pub fn tracks_tokens(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Tokens, args, item)
}

/// (From `monitor-macros`; use it as `monitor_core::monitor`. Expanded on its own it is the
/// error for a `#[monitor(…)]` that no impl-block attribute removed first.)
#[proc_macro_attribute]
pub fn monitor(args: TokenStream, item: TokenStream) -> TokenStream {
    let span = proc_macro2::TokenStream::from(args)
        .into_iter()
        .next()
        .map_or_else(proc_macro2::Span::call_site, |tt| tt.span());
    let error = syn::Error::new(
        span,
        "#[monitor(skip)] is only meaningful inside an impl block that carries #[monitored_handler], #[pipeline_stage] or #[tracks_tokens]",
    );
    fallback::emit(error.into(), item.into()).into()
}

fn instrument(which: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let args = proc_macro2::TokenStream::from(args);
    if args::is_fallback(&args) {
        return item.into();
    }
    let parsed = args::parse(which, args);
    let function = match item::parse_item(which, item.clone()) {
        Ok(Item::Impl(block)) => {
            let args = parsed.map(|parsed| parsed.args);
            return instrument_block(args, block).into();
        }
        Ok(Item::Function(function)) => Ok(function),
        Err(error) => Err(error),
    };
    let checked = parsed.and_then(|Parsed { args, type_name }| {
        let function = function?;
        let checked = valid::check(args, type_name.as_ref(), &function, args::attribute_span())?;
        Ok((checked, function))
    });
    match checked {
        Err(error) => fallback::emit(error, item),
        Ok(_) if !cfg!(feature = "enabled") => item,
        Ok((checked, function)) => expand::expand(which, &checked, function),
    }
    .into()
}

/// The attribute on an `impl` block: each method with a body becomes a site. With the feature
/// off the block comes back as written without `#[monitor(skip)]`; beside an error, without any
/// of its methods' monitor attributes, so that none of them adds an error of its own.
fn instrument_block(
    args: Result<args::Args, fallback::Failure>,
    block: item::ImplBlock,
) -> proc_macro2::TokenStream {
    match args.and_then(|args| valid::check_block(args, &block)) {
        Err(error) => fallback::emit(error, block.untouched()),
        Ok(plans) => expand::expand_block(block, plans, cfg!(feature = "enabled")),
    }
}
