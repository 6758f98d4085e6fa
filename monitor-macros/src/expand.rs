//! The instrumented function. Never fails: everything that can be wrong was checked before.
//!
//! The signature stays as written; the body moves into a closure (synchronous functions) or an
//! async block (async functions, and the future an `#[async_trait]` method boxes), so that every
//! way out of it — the tail, `return`, `?` — passes through the guard with the value returned.

use crate::args::{Macro, Model};
use crate::item::Function;
use crate::valid::Checked;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, FnArg, Pat, ReturnType, Stmt, Type};

pub(crate) fn expand(which: Macro, checked: &Checked, function: Function) -> TokenStream {
    let Function {
        attrs,
        vis,
        sig,
        inner_attrs,
        body,
        brace,
    } = function;
    let kind = kind(which);
    let site = site_static(which, checked, &sig);
    let entry = entry(which, checked, &sig);
    // `mut` only when something changes the guard after entry, so no `unused_mut` warning.
    let mutability = if entry.is_empty() && !has_track_caller(&attrs) {
        TokenStream::new()
    } else {
        quote!(mut)
    };
    let ret_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    };
    // `cache = "…"`: the return value says whether the lookup hit. Spanned on the return type, so
    // a type that cannot say is underlined there.
    let cache_lookup = checked.args.cache.as_ref().map(|_| {
        quote_spanned! {ret_span=>
            ::monitor_core::__private::cache_lookup(
                &__MONITOR_SITE,
                ::monitor_core::__private::ReportsLookup::__monitor_cache_hit(&__monitor_ret),
            );
        }
    });
    // In `run`'s classifying closure the value is already a reference.
    let cache_lookup_in_run = checked.args.cache.as_ref().map(|_| {
        quote_spanned! {ret_span=>
            ::monitor_core::__private::cache_lookup(
                &__MONITOR_SITE,
                ::monitor_core::__private::ReportsLookup::__monitor_cache_hit(__monitor_ret),
            );
        }
    });
    let finish = if which == Macro::Tokens {
        // Spanned on the return type, so a type that reports no usage is underlined there.
        quote_spanned! {ret_span=>
            #cache_lookup
            if let ::core::option::Option::Some(__monitor_guard) = __monitor_guard {
                __monitor_guard.finish_usage(
                ::monitor_core::__private::outcome!(&__monitor_ret),
                    ::monitor_core::__private::ReportsTokens::__monitor_usage(&__monitor_ret),
                );
            }
        }
    } else {
        quote! {
            #cache_lookup
            if let ::core::option::Option::Some(__monitor_guard) = __monitor_guard {
                __monitor_guard.finish(::monitor_core::__private::outcome!(&__monitor_ret));
            }
        }
    };

    let finish_direct = if which == Macro::Tokens {
        quote_spanned! {ret_span=>
            #cache_lookup
            __monitor_guard.finish_usage(
                ::monitor_core::__private::outcome!(&__monitor_ret),
                ::monitor_core::__private::ReportsTokens::__monitor_usage(&__monitor_ret),
            );
        }
    } else {
        quote! { __monitor_guard.finish(::monitor_core::__private::outcome!(&__monitor_ret)); }
    };
    // A function whose value is a stream (or a `Result` of one), returned directly or by the
    // future it returns: the call goes on until the stream ends, so the guard moves into it.
    let async_trait = sig.asyncness.is_none() && async_trait_body(&body).is_some();
    let value_type = if sig.asyncness.is_some() {
        match &sig.output {
            ReturnType::Type(_, ty) => Some((**ty).clone()),
            ReturnType::Default => None,
        }
    } else if let Some(future) = returns_future(&sig.output) {
        future.declared
    } else if async_trait {
        None
    } else {
        match &sig.output {
            ReturnType::Type(_, ty) => Some((**ty).clone()),
            ReturnType::Default => None,
        }
    };
    let stream = if has_track_caller(&attrs) {
        None
    } else {
        value_type.as_ref().and_then(returns_stream)
    };
    let (finish, finish_direct) = match &stream {
        Some(stream) => {
            let wrap = wrap_stream(which, stream);
            (wrap.clone(), wrap)
        }
        None => (finish, finish_direct),
    };
    let new_body = if sig.asyncness.is_some() {
        let fake_return = fake_return(&sig.output);
        quote! {
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::start(&__MONITOR_SITE);
            #entry
            let __monitor_ret = ::monitor_core::__private::instrument(&__monitor_guard, async move { #fake_return #body }).await;
            #finish
            __monitor_ret
        }
    } else if let Some((before, pin, future)) = async_trait_body(&body) {
        let output = output_annotation(returns_future(&sig.output).and_then(|f| f.output));
        // `#[async_trait]` already turned the body into `Box::pin(async move { … })`: time the
        // future, not the boxing, as for any function that returns a future. The arguments are
        // still in scope before the boxing, so sizes and a per-call model are read there.
        quote! {
            #(#before)*
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::start(&__MONITOR_SITE);
            #entry
            #pin(async move {
                let __monitor_ret #output = ::monitor_core::__private::instrument(&__monitor_guard, #future).await;
                #finish
                __monitor_ret
            })
        }
    } else if let Some(FutureReturn { boxed, output, .. }) = returns_future(&sig.output) {
        let output = output_annotation(output);
        // A synchronous function that returns a future: its work happens when the future is
        // polled, so that is what is timed, from the call to the future's completion.
        let ret = closure_return(&sig.output);
        let pin = if boxed {
            quote!(::std::boxed::Box::pin)
        } else {
            TokenStream::new()
        };
        quote! {
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::start(&__MONITOR_SITE);
            #entry
            let __monitor_future = ::monitor_core::__private::call_once(move || -> #ret { #body });
            #pin(async move {
                let __monitor_ret #output = ::monitor_core::__private::instrument(&__monitor_guard, __monitor_future).await;
                #finish
                __monitor_ret
            })
        }
    } else if has_track_caller(&attrs) {
        // A closure would hide the caller's location from `#[track_caller]`: the body stays
        // inline, and the guard records duration and panics, but not what was returned.
        quote! {
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::enter(&__MONITOR_SITE, ::monitor_core::__private::SiteKind::#kind);
            #entry
            if let ::core::option::Option::Some(__monitor_guard) = &mut __monitor_guard {
                __monitor_guard.finish_on_drop();
            }
            #body
        }
    } else if which != Macro::Tokens && stream.is_none() {
        // Off, the function calls its body and returns; on, everything else happens in `run`,
        // out of line, so the off path carries none of the instrumentation's set-up.
        let ret = closure_return(&sig.output);
        let request_bytes = match request_sizes(which, &sig) {
            sizes if sizes.is_empty() => quote!(0),
            sizes => quote! {
                if __monitor_mode & ::monitor_core::__private::ON != 0 { 0 #(+ #sizes)* } else { 0 }
            },
        };
        quote! {
            let __monitor_mode = ::monitor_core::__private::mode();
            let __monitor_request_bytes: u64 = #request_bytes;
            let __monitor_body = ::monitor_core::__private::once(move || -> #ret { #body });
            if __monitor_mode & ::monitor_core::__private::ON == 0 {
                return __monitor_body();
            }
            ::monitor_core::__private::run::<{ ::monitor_core::__private::SiteKind::#kind.code() }, _>(
                &__MONITOR_SITE,
                __monitor_mode,
                __monitor_request_bytes,
                __monitor_body,
                |__monitor_ret| {
                    #cache_lookup_in_run
                    ::monitor_core::__private::outcome!(__monitor_ret)
                },
            )
        }
    } else if stream.is_some() {
        // A stream: the body makes it in the site's scope, and the guard goes on inside it.
        let ret = closure_return(&sig.output);
        quote! {
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::enter(&__MONITOR_SITE, ::monitor_core::__private::SiteKind::#kind);
            #entry
            let __monitor_ret = ::monitor_core::__private::call_once(move || -> #ret { #body });
            #finish_direct
            __monitor_ret
        }
    } else {
        // Token tracking: the usage read off the return value borrows it, so the guard stays here.
        let ret = closure_return(&sig.output);
        quote! {
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::enter(&__MONITOR_SITE, ::monitor_core::__private::SiteKind::#kind);
            #entry
            let __monitor_body = ::monitor_core::__private::once(move || -> #ret { #body });
            let ::core::option::Option::Some(__monitor_guard) = __monitor_guard else {
                return __monitor_body();
            };
            let __monitor_ret = __monitor_body();
            #finish_direct
            __monitor_ret
        }
    };

    let mut block = TokenStream::new();
    quote_spanned!(brace.span()=> {
        #(#inner_attrs)*
        #site
        #new_body
    })
    .to_tokens(&mut block);
    quote! { #(#attrs)* #vis #sig #block }
}

pub(crate) fn has_track_caller(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|attr| attr.path().is_ident("track_caller"))
}

/// The `SiteKind` variant of a macro.
fn kind(which: Macro) -> TokenStream {
    match which {
        Macro::Handler => quote!(Handler),
        Macro::Stage => quote!(Stage),
        Macro::Tokens => quote!(Tokens),
    }
}

/// The site's `static` and its registration.
fn site_static(which: Macro, checked: &Checked, sig: &syn::Signature) -> TokenStream {
    let args = &checked.args;
    let kind = kind(which);
    let name = &checked.name;
    let function = syn::ext::IdentExt::unraw(&sig.ident).to_string();
    let opt = |value: Option<String>| match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let route = opt(args.route.as_ref().map(syn::LitStr::value));
    let pipeline = opt(args.pipeline.as_ref().map(syn::LitStr::value));
    let stage = opt(checked.stage.clone());
    let provider = opt(args.provider.as_ref().map(syn::LitStr::value));
    let cache = opt(args.cache.as_ref().map(syn::LitStr::value));
    let operation = opt(args.operation.as_ref().map(syn::LitStr::value));
    let (model, model_expr) = match &args.model {
        Some(Model::Literal(lit)) => (opt(Some(lit.value())), opt(None)),
        Some(Model::Expr(expr)) => (opt(None), opt(Some(expr.to_token_stream().to_string()))),
        None => (opt(None), opt(None)),
    };
    // `line!()` spanned on `fn` gives the function's line, not the attribute's.
    let line = quote_spanned!(sig.fn_token.span=> ::core::line!());
    quote! {
        // The totals apart from the description: all zero bytes, so they take no space in the
        // binary and no memory until a call records into them.
        static __MONITOR_TOTALS: ::monitor_core::__private::Totals =
            ::monitor_core::__private::Totals::new();
        static __MONITOR_SITE: ::monitor_core::__private::Site =
            ::monitor_core::__private::Site::new(::monitor_core::__private::SiteMeta {
                kind: ::monitor_core::__private::SiteKind::#kind,
                name: #name,
                function: #function,
                module_path: ::core::module_path!(),
                file: ::core::file!(),
                line: #line,
                route: #route,
                pipeline: #pipeline,
                stage: #stage,
                model: #model,
                model_expr: #model_expr,
                provider: #provider,
                cache: #cache,
                operation: #operation,
            }, &__MONITOR_TOTALS);
        ::monitor_core::__private::inventory::submit! {
            ::monitor_core::__private::SiteRef(&__MONITOR_SITE)
        }
    }
}

/// The payload size of each argument of a handler that has a name, as an expression (zero at
/// compile time for types that tell no size).
fn request_sizes(which: Macro, sig: &syn::Signature) -> Vec<TokenStream> {
    if which != Macro::Handler {
        return Vec::new();
    }
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(pat)
                    if pat.by_ref.is_none()
                        && pat.subpat.is_none()
                        // `_name` says the function does not use it; neither should we (and clippy agrees).
                        && !pat.ident.to_string().starts_with('_') =>
                {
                    let ident = &pat.ident;
                    Some(quote!(::monitor_core::__private::size_of!(&#ident)))
                }
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// What runs at entry when recording: payload sizes of a handler's arguments, and a model given
/// as an expression (resolved now, so no borrow of the arguments outlives the call's start).
fn entry(which: Macro, checked: &Checked, sig: &syn::Signature) -> TokenStream {
    let mut steps = TokenStream::new();
    for size in request_sizes(which, sig) {
        steps.extend(quote! { __monitor_guard.add_request_bytes(#size); });
    }
    if let Some(Model::Expr(expr)) = &checked.args.model {
        // Borrowed with a `&` spanned like the expression's first token, so that every token of the
        // argument is the user's and an error underlines the whole expression. The invisible group
        // keeps the expression one operand.
        let group = proc_macro2::Group::new(proc_macro2::Delimiter::None, expr.to_token_stream());
        let expr = quote_spanned!(expr.span()=> &#group);
        steps.extend(quote! {
            __monitor_guard.set_model(::monitor_core::__private::ModelName::__monitor_model_name(#expr));
        });
    }
    if steps.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            if let ::core::option::Option::Some(__monitor_guard) = &mut __monitor_guard {
                #steps
            }
        }
    }
}

/// `: Output` for the value a future gave, so that it is classified by its declared type even when
/// the body alone does not pin it down (an `Ok(x)` whose error type comes from the signature).
fn output_annotation(output: Option<Type>) -> TokenStream {
    output.map(|ty| quote!(: #ty)).unwrap_or_default()
}

/// The closure's return type: the declared one, with `impl Trait` (not allowed there) left to
/// inference as `_`. Keeping the declared type keeps the coercions it gives the body.
fn closure_return(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            InferImplTrait.visit_type_mut(&mut ty);
            ty.into_token_stream()
        }
    }
}

/// An async block has no return-type annotation; this unreachable `return` of the declared type
/// gives it one, so `?` and coercions in the body work as in the `async fn`.
fn fake_return(output: &ReturnType) -> TokenStream {
    let ty = closure_return(output);
    quote! {
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::let_unit_value, clippy::needless_return)]
        if false {
            let __monitor_fake_return: #ty = loop {};
            return __monitor_fake_return;
        }
    }
}

struct InferImplTrait;

impl VisitMut for InferImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                attrs: Vec::new(),
                underscore_token: syn::Token![_](impl_trait.impl_token.span),
            });
            return;
        }
        visit_mut::visit_type_mut(self, ty);
    }
}

/// A declared return type that is a future.
struct FutureReturn {
    /// `Pin<Box<dyn Future<…>>>`, `BoxFuture<…>` or `LocalBoxFuture<…>`, rather than `impl Future`.
    boxed: bool,
    /// The `Output` it names, with `impl Trait` inside left to inference.
    output: Option<Type>,
    /// The `Output` as written.
    declared: Option<Type>,
}

/// Whether the declared return type is a future, and of what.
fn returns_future(output: &ReturnType) -> Option<FutureReturn> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let mut found = match &**ty {
        Type::ImplTrait(t) => {
            let output = bound_assoc(&t.bounds, "Future", "Output")?;
            Some(FutureReturn {
                boxed: false,
                declared: output.clone(),
                output,
            })
        }
        Type::Path(p) => {
            let segment = p.path.segments.last()?;
            match segment.ident.to_string().as_str() {
                "BoxFuture" | "LocalBoxFuture" => Some(FutureReturn {
                    boxed: true,
                    output: last_type_arg(segment),
                    declared: last_type_arg(segment),
                }),
                "Pin" => {
                    let boxed = last_type_arg(segment)?;
                    let Type::Path(boxed) = boxed else {
                        return None;
                    };
                    let segment = boxed.path.segments.last().filter(|s| s.ident == "Box")?;
                    let Some(Type::TraitObject(object)) = last_type_arg(segment) else {
                        return None;
                    };
                    let output = bound_assoc(&object.bounds, "Future", "Output")?;
                    Some(FutureReturn {
                        boxed: true,
                        declared: output.clone(),
                        output,
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }?;
    if let Some(output) = &mut found.output {
        InferImplTrait.visit_type_mut(output);
    }
    Some(found)
}

/// For bounds that include `Trait<Assoc = X>` (`Future<Output = X>`, `Stream<Item = X>`):
/// `Some(Some(X))`; `Some(None)` for a `Trait` bound without `Assoc`; `None` without a `Trait`
/// bound.
fn bound_assoc(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    trait_name: &str,
    assoc: &str,
) -> Option<Option<Type>> {
    bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(t) = bound else {
            return None;
        };
        let segment = t.path.segments.last().filter(|s| s.ident == trait_name)?;
        let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
            return Some(None);
        };
        Some(args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(a) if a.ident == assoc => Some(a.ty.clone()),
            _ => None,
        }))
    })
}

fn last_type_arg(segment: &syn::PathSegment) -> Option<Type> {
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    args.args.iter().rev().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    })
}

/// How a declared stream type is built from the stream the body made.
enum StreamForm {
    /// `impl Stream<Item = …>`: the wrapper itself.
    Impl,
    /// `Pin<Box<dyn Stream<Item = …>>>`, `BoxStream<'_, …>`, `LocalBoxStream<'_, …>`: the wrapper,
    /// boxed, and coerced to the declared type.
    Boxed(Box<Type>),
}

/// A value that is a stream, or a `Result` whose `Ok` is one.
struct StreamReturn {
    form: StreamForm,
    /// The item type as written, for spans; `None` when the signature does not name it.
    item: Option<Type>,
    in_result: bool,
}

/// Whether `ty` is a stream or a `Result` of one, and how it is built.
fn returns_stream(ty: &Type) -> Option<StreamReturn> {
    if let Some((form, item)) = stream_form(ty) {
        return Some(StreamReturn {
            form,
            item,
            in_result: false,
        });
    }
    let Type::Path(p) = ty else {
        return None;
    };
    let segment = p.path.segments.last().filter(|s| s.ident == "Result")?;
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    let ok = args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })?;
    let (form, item) = stream_form(ok)?;
    Some(StreamReturn {
        form,
        item,
        in_result: true,
    })
}

fn stream_form(ty: &Type) -> Option<(StreamForm, Option<Type>)> {
    match ty {
        Type::ImplTrait(t) => Some((StreamForm::Impl, bound_assoc(&t.bounds, "Stream", "Item")?)),
        Type::Path(p) => {
            let segment = p.path.segments.last()?;
            match segment.ident.to_string().as_str() {
                "BoxStream" | "LocalBoxStream" => Some((
                    StreamForm::Boxed(Box::new(ty.clone())),
                    last_type_arg(segment),
                )),
                "Pin" => {
                    let Type::Path(boxed) = last_type_arg(segment)? else {
                        return None;
                    };
                    let segment = boxed.path.segments.last().filter(|s| s.ident == "Box")?;
                    let Some(Type::TraitObject(object)) = last_type_arg(segment) else {
                        return None;
                    };
                    Some((
                        StreamForm::Boxed(Box::new(ty.clone())),
                        bound_assoc(&object.bounds, "Stream", "Item")?,
                    ))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Replaces `__monitor_ret`, the stream (or `Result` of one) the body gave, with the stream
/// measured until its end; an `Err` instead of a stream ends the call there.
fn wrap_stream(which: Macro, stream: &StreamReturn) -> TokenStream {
    let usage = if which == Macro::Tokens {
        // Spanned on the item type, so an item that reports no usage is underlined there.
        let span = stream
            .item
            .as_ref()
            .map_or_else(proc_macro2::Span::call_site, Spanned::span);
        quote_spanned! {span=>
            ::monitor_core::__private::ChunkReportsTokens::__monitor_chunk_usage(__monitor_item)
        }
    } else {
        quote!(::core::option::Option::None)
    };
    // The item's type as declared, so that it is classified as that type (a projection of the
    // stream's type would leave the choice among the probes to inference).
    let item_type = stream.item.clone().map(|mut item| {
        InferImplTrait.visit_type_mut(&mut item);
        quote!(: &#item)
    });
    let metered = quote! {
        ::monitor_core::__private::meter_stream(
            __monitor_guard,
            __monitor_stream,
            |__monitor_item #item_type, __monitor_call: &mut ::monitor_core::__private::StreamCall| {
                __monitor_call.chunk(::monitor_core::__private::outcome!(__monitor_item), #usage);
            },
        )
    };
    let built = match &stream.form {
        StreamForm::Impl => metered,
        StreamForm::Boxed(ty) => quote! {{
            let __monitor_boxed: #ty = ::std::boxed::Box::pin(#metered);
            __monitor_boxed
        }},
    };
    if !stream.in_result {
        return quote! {
            let __monitor_stream = __monitor_ret;
            let __monitor_ret = #built;
        };
    }
    let finish = if which == Macro::Tokens {
        quote!(__monitor_guard.finish_usage(
            ::monitor_core::__private::outcome!(&__monitor_error),
            ::core::option::Option::None
        ))
    } else {
        quote!(__monitor_guard.finish(::monitor_core::__private::outcome!(&__monitor_error)))
    };
    quote! {
        let __monitor_ret = match __monitor_ret {
            ::core::result::Result::Ok(__monitor_stream) => ::core::result::Result::Ok(#built),
            ::core::result::Result::Err(__monitor_error) => {
                // Classified as a `Result` whose error is the function's.
                let __monitor_error: ::core::result::Result<(), _> = ::core::result::Result::Err(__monitor_error);
                if let ::core::option::Option::Some(__monitor_guard) = __monitor_guard {
                    #finish;
                }
                match __monitor_error {
                    ::core::result::Result::Err(__monitor_error) => ::core::result::Result::Err(__monitor_error),
                    ::core::result::Result::Ok(()) => ::core::unreachable!(),
                }
            }
        };
    }
}

/// Recognises the body `#[async_trait]` generates: statements ending in
/// `Box::pin(async move { … })`. Returns the statements before, the `Box::pin` path, and the
/// async block.
fn async_trait_body(body: &TokenStream) -> Option<(Vec<Stmt>, Expr, Expr)> {
    let block: Block = syn::parse2(quote!({ #body })).ok()?;
    let mut stmts = block.stmts;
    let Some(Stmt::Expr(Expr::Call(call), None)) = stmts.last() else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(future)) = call.args.first() else {
        return None;
    };
    future.capture?;
    let (func, future) = (Expr::Path(path.clone()), Expr::Async(future.clone()));
    stmts.pop();
    Some((stmts, func, future))
}
