//! The attribute macros of `monitor`. Depend on `monitor-core`, which re-exports them and holds the
//! runtime their expansions call; its documentation describes them.
//!
//! Each macro runs the same steps, one file each: parse the arguments (`args`) and the function
//! (`item`), check them against each other (`valid`), and expand (`expand`). A failure at any step
//! becomes one spanned error next to the untouched function (`fallback`).

use proc_macro::TokenStream;

mod args;
mod expand;
mod fallback;
mod item;
mod types;
mod valid;

use args::Macro;

/// Instruments an API handler. See `monitor_core::monitored_handler`.
#[proc_macro_attribute]
pub fn monitored_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Handler, args, item)
}

/// Instruments one stage of a multi-step job. See `monitor_core::pipeline_stage`.
#[proc_macro_attribute]
pub fn pipeline_stage(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Stage, args, item)
}

/// Instruments a call to a metered API. See `monitor_core::tracks_tokens`.
#[proc_macro_attribute]
pub fn tracks_tokens(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Tokens, args, item)
}

fn instrument(which: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let checked = args::parse(which, args.into())
        .and_then(|args| item::parse(which, item.clone()).map(|function| (args, function)))
        .and_then(|(args, function)| {
            valid::check(which, args, &function).map(|args| (args, function))
        });
    match checked {
        Err(error) => fallback::emit(error, item),
        Ok(_) if !cfg!(feature = "enabled") => item,
        Ok((checked, function)) => expand::expand(which, &checked, function),
    }
    .into()
}
