//! Checks of the arguments against each other and against the function's signature, and, for an
//! `impl` block, of what each method's own attributes say against the block's.

use crate::args::{
    self, Args, HandlerArgs, Key, Macro, Model, StageArgs, TokensArgs, attribute_span,
};
use crate::fallback::Failure;
use crate::item::{Function, ImplBlock, Member, conditional_monitor_attribute, monitor_attribute};
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, LitStr, Meta, ReturnType, Type};

/// The arguments, checked and with defaults filled in.
pub(crate) struct Checked {
    pub(crate) args: Args,
    /// `name`, or the function's name.
    pub(crate) name: String,
    /// `stage`, or the function's name, for a stage.
    pub(crate) stage: Option<String>,
    /// The `Self` type's name, for a method instrumented through its impl block's attribute.
    pub(crate) type_name: Option<String>,
}

/// The arguments of an attribute on a function. `attr_span` underlines the attribute as a whole
/// (when an argument is missing).
pub(crate) fn check(
    args: Args,
    type_name: Option<&LitStr>,
    function: &Function,
    attr_span: Span,
) -> Result<Checked, Failure> {
    let which = args.which();
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        let message = format!(
            "{} cannot instrument a `const fn`: it would no longer be callable in const contexts",
            which.attribute()
        );
        return Err(syn::Error::new(constness.span, message).into());
    }
    // `objective` is not here: its names were checked as they were read. `stage` is `Some` for a
    // stage only, which is the one kind of site that has one.
    let (name, stage, cache) = match &args {
        Args::Handler(HandlerArgs {
            name,
            route,
            cache,
            objective: _,
        }) => {
            not_empty(name.as_ref())?;
            if let Some(route) = route {
                check_route(route)?;
            }
            (name, None, cache)
        }
        Args::Stage(StageArgs {
            pipeline,
            stage,
            name,
            cache,
            objective: _,
        }) => {
            for lit in [name, pipeline, stage] {
                not_empty(lit.as_ref())?;
            }
            if pipeline.is_none() {
                let message = "#[pipeline_stage] needs the pipeline it belongs to, like #[pipeline_stage(pipeline = \"…\")]";
                return Err(syn::Error::new(attr_span, message).into());
            }
            (name, Some(stage), cache)
        }
        // `usage` is checked by the compiler, against the value's type.
        Args::Tokens(TokensArgs {
            model,
            provider,
            operation,
            usage: _,
            name,
            cache,
            objective: _,
        }) => {
            let model = match model {
                Some(Model::Literal(lit)) => Some(lit),
                Some(Model::Expr(_)) | None => None,
            };
            for lit in [name.as_ref(), model, provider.as_ref(), operation.as_ref()] {
                not_empty(lit)?;
            }
            if returns_unit(&sig.output) {
                let span = match &sig.output {
                    ReturnType::Type(_, ty) => syn::spanned::Spanned::span(ty),
                    ReturnType::Default => sig.ident.span(),
                };
                let message = "#[tracks_tokens] needs a function that returns its token usage, and this one returns ()";
                return Err(syn::Error::new(span, message).into());
            }
            (name, None, cache)
        }
    };
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
        } else if cache.is_some() {
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
    let name = name
        .as_ref()
        .map_or_else(|| function_name.clone(), LitStr::value);
    let stage = stage.map(|stage| stage.as_ref().map_or(function_name, LitStr::value));
    Ok(Checked {
        name,
        stage,
        type_name: type_name.map(LitStr::value),
        args,
    })
}

/// What becomes of one member of an instrumented `impl` block.
pub(crate) enum Plan {
    /// A site of this kind, with these arguments.
    Instrument(Macro, Checked),
    /// The method's own attribute, rewritten with the arguments it takes from the block and its
    /// type, for rustc to expand through the path the user wrote (which keeps the import used).
    Own(TokenStream),
    /// Left as written: `#[monitor(skip)]`, a `const fn`, or not a method.
    Leave,
}

/// The arguments of `which` on an `impl` block, and what becomes of each member, in order.
///
/// A method without an attribute of its own takes the block's arguments, its stage defaulting to
/// its name. One with its own attribute of the block's kind takes the block's arguments with its
/// own over them — except a different `pipeline`, which contradicts the block's. One with an
/// attribute of another kind is that kind of site, with its own arguments only: the block's are
/// another macro's. `#[monitor(skip)]` leaves a method as written, and contradicts an attribute of
/// the method's own. A `const fn` is left as written (instrumenting it would make it non-const).
pub(crate) fn check_block(args: Args, block: &ImplBlock) -> Result<Vec<Plan>, Failure> {
    let which = args.which();
    // What names or places one site cannot be said of a whole block; what a block's methods
    // share (`cache`, `objective`, the pipeline, the model) can.
    let (per_method, missing_pipeline) = match &args {
        Args::Handler(HandlerArgs {
            name,
            route,
            cache: _,
            objective: _,
        }) => (vec![(Key::Name, name), (Key::Route, route)], false),
        Args::Stage(StageArgs {
            pipeline,
            stage,
            name,
            cache: _,
            objective: _,
        }) => (
            vec![(Key::Name, name), (Key::Stage, stage)],
            pipeline.is_none(),
        ),
        Args::Tokens(TokensArgs {
            model: _,
            provider: _,
            operation: _,
            usage: _,
            name,
            cache: _,
            objective: _,
        }) => (vec![(Key::Name, name)], false),
    };
    for (key, lit) in per_method {
        if let Some(lit) = lit {
            let key = key.name();
            let message = format!(
                "`{key}` belongs to one method, not to a whole impl block: put it in the method's own {}",
                which.attribute().replace(']', &format!("({key} = \"…\")]"))
            );
            return Err(syn::Error::new(lit.span(), message).into());
        }
    }
    if missing_pipeline {
        let message = "#[pipeline_stage] needs the pipeline its methods belong to, like #[pipeline_stage(pipeline = \"…\")]";
        return Err(syn::Error::new(attribute_span(), message).into());
    }
    let mut error: Option<syn::Error> = None;
    let mut plans = Vec::with_capacity(block.members.len());
    for member in &block.members {
        let plan = match member {
            Member::Method {
                function,
                monitor_attrs,
            } => match method(&args, &block.type_name, function, monitor_attrs) {
                Ok(plan) => plan,
                Err(Failure::Error(e)) => {
                    match &mut error {
                        Some(error) => error.combine(e),
                        None => error = Some(e),
                    }
                    Plan::Leave
                }
                Err(Failure::LeaveToRustc) => Plan::Leave,
            },
            Member::Other(_) => Plan::Leave,
        };
        plans.push(plan);
    }
    match error {
        Some(error) => Err(error.into()),
        None => Ok(plans),
    }
}

fn method(
    block: &Args,
    type_name: &str,
    function: &Function,
    monitor_attrs: &[Attribute],
) -> Result<Plan, Failure> {
    let mut own: Option<(Macro, &Attribute)> = None;
    let mut skip: Option<&Attribute> = None;
    for attr in monitor_attrs {
        match monitor_attribute(attr).flatten() {
            Some(kind) => {
                if own.is_some() {
                    let message = "a method is one site, so it takes one of #[monitored_handler], #[pipeline_stage] and #[tracks_tokens]";
                    return Err(syn::Error::new_spanned(attr, message).into());
                }
                own = Some((kind, attr));
            }
            None => {
                check_skip(attr)?;
                if skip.is_some() {
                    return Err(syn::Error::new_spanned(
                        attr,
                        "duplicate #[monitor(skip)] attribute",
                    )
                    .into());
                }
                skip = Some(attr);
            }
        }
    }
    // `#[cfg_attr(…, monitored_handler)]`: the method's own attribute, when its condition holds.
    if own.is_none() && function.attrs.iter().any(conditional_monitor_attribute) {
        return Ok(Plan::Leave);
    }
    let type_name = LitStr::new(type_name, Span::call_site());
    match (skip, own) {
        (Some(skip), Some((kind, _))) => {
            let message = format!(
                "#[monitor(skip)] contradicts the {} on the same method: keep one of them",
                kind.attribute()
            );
            Err(syn::Error::new_spanned(skip, message).into())
        }
        (Some(_), None) => Ok(Plan::Leave),
        (None, None) if function.sig.constness.is_some() => Ok(Plan::Leave),
        (None, None) => {
            let checked = check(block.clone(), Some(&type_name), function, attribute_span())?;
            Ok(Plan::Instrument(block.which(), checked))
        }
        (None, Some((kind, attr))) => {
            let own = args::parse(kind, attribute_args(attr)?)?.args;
            let args = merge(block, own)?;
            check(args.clone(), Some(&type_name), function, attr.span())?;
            let path = attr.path();
            let args = args.into_tokens(&type_name);
            Ok(Plan::Own(quote::quote!(#[#path(#args)])))
        }
    }
}

/// The method's own arguments over the block's, when both are one attribute's; a method's
/// attribute of another kind takes none of the block's, which are another macro's. A `pipeline`
/// other than the block's is an error (one impl block's stages are one pipeline's).
fn merge(block: &Args, own: Args) -> Result<Args, Failure> {
    Ok(match (block.clone(), own) {
        (Args::Handler(block), Args::Handler(own)) => {
            let HandlerArgs {
                name,
                route,
                cache,
                objective,
            } = own;
            Args::Handler(HandlerArgs {
                name: name.or(block.name),
                route: route.or(block.route),
                cache: cache.or(block.cache),
                objective: union(block.objective, objective),
            })
        }
        (Args::Stage(block), Args::Stage(own)) => {
            let StageArgs {
                pipeline,
                stage,
                name,
                cache,
                objective,
            } = own;
            if let (Some(outer), Some(inner)) = (&block.pipeline, &pipeline)
                && outer.value() != inner.value()
            {
                let message = format!(
                    "this `pipeline` contradicts the impl block's pipeline = {:?}: the stages of one impl block belong to one pipeline",
                    outer.value()
                );
                return Err(syn::Error::new(inner.span(), message).into());
            }
            Args::Stage(StageArgs {
                pipeline: pipeline.or(block.pipeline),
                stage: stage.or(block.stage),
                name: name.or(block.name),
                cache: cache.or(block.cache),
                objective: union(block.objective, objective),
            })
        }
        (Args::Tokens(block), Args::Tokens(own)) => {
            let TokensArgs {
                model,
                provider,
                operation,
                usage,
                name,
                cache,
                objective,
            } = own;
            Args::Tokens(TokensArgs {
                model: model.or(block.model),
                provider: provider.or(block.provider),
                operation: operation.or(block.operation),
                usage: usage.or(block.usage),
                name: name.or(block.name),
                cache: cache.or(block.cache),
                objective: union(block.objective, objective),
            })
        }
        (_, own) => own,
    })
}

/// A method serves the block's objectives and its own.
fn union(block: Option<Vec<LitStr>>, own: Option<Vec<LitStr>>) -> Option<Vec<LitStr>> {
    match (block, own) {
        (Some(mut all), Some(own)) => {
            for name in own {
                if !all.iter().any(|b| b.value() == name.value()) {
                    all.push(name);
                }
            }
            Some(all)
        }
        (block, own) => own.or(block),
    }
}

/// The tokens inside `#[attr(…)]`; none for `#[attr]`.
fn attribute_args(attr: &Attribute) -> syn::Result<TokenStream> {
    match &attr.meta {
        Meta::Path(_) => Ok(TokenStream::new()),
        Meta::List(list) => Ok(list.tokens.clone()),
        Meta::NameValue(_) => Err(syn::Error::new_spanned(
            attr,
            "this attribute takes its arguments in parentheses",
        )),
    }
}

/// `#[monitor(skip)]`, and nothing else.
fn check_skip(attr: &Attribute) -> syn::Result<()> {
    let ok = match &attr.meta {
        Meta::List(list) => {
            syn::parse2::<syn::Ident>(list.tokens.clone()).is_ok_and(|ident| ident == "skip")
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            attr,
            "#[monitor] takes `skip`, like #[monitor(skip)]",
        ))
    }
}

fn not_empty(lit: Option<&LitStr>) -> syn::Result<()> {
    if let Some(lit) = lit
        && lit.value().trim().is_empty()
    {
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
