//! Checks of the arguments against each other and against the function's signature.

use crate::args::{Args, Macro, Model, attribute_span};
use crate::fallback::Failure;
use crate::item::Function;
use syn::ext::IdentExt;
use syn::{LitStr, ReturnType, Type};

/// The arguments, checked and with defaults filled in.
pub(crate) struct Checked {
    pub(crate) args: Args,
    /// `name`, or the function's name.
    pub(crate) name: String,
    /// `stage`, or the function's name, for a stage.
    pub(crate) stage: Option<String>,
}

pub(crate) fn check(which: Macro, args: Args, function: &Function) -> Result<Checked, Failure> {
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        let message = format!(
            "{} cannot instrument a `const fn`: it would no longer be callable in const contexts",
            which.attribute()
        );
        return Err(syn::Error::new(constness.span, message).into());
    }
    for lit in [
        &args.name,
        &args.pipeline,
        &args.stage,
        &args.provider,
        &args.operation,
    ]
    .into_iter()
    .flatten()
    {
        not_empty(lit)?;
    }
    if let Some(Model::Literal(lit)) = &args.model {
        not_empty(lit)?;
    }
    if let Some(route) = &args.route {
        check_route(route)?;
    }
    if which == Macro::Stage && args.pipeline.is_none() {
        let message = "#[pipeline_stage] needs the pipeline it belongs to, like #[pipeline_stage(pipeline = \"…\")]";
        return Err(syn::Error::new(attribute_span(), message).into());
    }
    if which == Macro::Tokens && returns_unit(&sig.output) {
        let span = match &sig.output {
            ReturnType::Type(_, ty) => syn::spanned::Spanned::span(ty),
            ReturnType::Default => sig.ident.span(),
        };
        let message = "#[tracks_tokens] needs a function that returns its token usage, and this one returns ()";
        return Err(syn::Error::new(span, message).into());
    }
    if sig.asyncness.is_none()
        && let Some(attr) = function
            .attrs
            .iter()
            .find(|a| a.path().is_ident("track_caller"))
    {
        let message = if which == Macro::Tokens {
            Some(
                "#[tracks_tokens] cannot read the usage a #[track_caller] function returns, because its body has to stay inline",
            )
        } else if args.cache.is_some() {
            Some(
                "`cache` cannot read the lookup a #[track_caller] function returns, because its body has to stay inline",
            )
        } else {
            None
        };
        if let Some(message) = message {
            return Err(syn::Error::new_spanned(attr, message).into());
        }
    }
    // `r#type` is the function `type`: the `r#` only lets it be written.
    let function_name = sig.ident.unraw().to_string();
    let name = args
        .name
        .as_ref()
        .map_or_else(|| function_name.clone(), LitStr::value);
    let stage =
        (which == Macro::Stage).then(|| args.stage.as_ref().map_or(function_name, LitStr::value));
    Ok(Checked { args, name, stage })
}

fn not_empty(lit: &LitStr) -> syn::Result<()> {
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            "this argument must not be empty",
        ));
    }
    Ok(())
}

/// `METHOD /path`: an upper-case method, one space, and a path from the root.
fn check_route(route: &LitStr) -> syn::Result<()> {
    let value = route.value();
    let ok = match value.split_once(' ') {
        Some((method, path)) => {
            !method.is_empty()
                && method.chars().all(|c| c.is_ascii_uppercase())
                && path.starts_with('/')
                && !path.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new(
            route.span(),
            "`route` takes a method and a path, like route = \"GET /api/logos/{id}\"",
        ))
    }
}

fn returns_unit(output: &ReturnType) -> bool {
    match output {
        ReturnType::Default => true,
        ReturnType::Type(_, ty) => matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()),
    }
}
