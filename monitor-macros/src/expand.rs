//! The instrumented function. Never fails: everything that can be wrong was checked before.
//!
//! The signature stays as written; the body moves into a closure (synchronous functions) or an
//! async block (async functions, and the future an `#[async_trait]` method boxes), so that every
//! way out of it — the tail, `return`, `?` — passes through the guard with the value returned.
//! The function's [`Shape`] is decided once; each shape has its generator below.

use crate::args::{Args, HandlerArgs, Macro, Model, StageArgs, TokensArgs};
use crate::item::{AsyncTrait, Function, ImplBlock, Member, Shape};
use crate::types::{InferImplTrait, StreamForm, StreamReturn};
use crate::valid::{Checked, Plan};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{ExprPath, FnArg, LitStr, Pat, ReturnType, Type};

pub(crate) fn expand(which: Macro, checked: &Checked, function: Function) -> TokenStream {
    let shape = function.shape(which);
    let cx = Cx::new(which, checked, &function);
    let new_body = match shape {
        Shape::Async { stream } => async_fn(&cx, stream.as_ref()),
        Shape::AsyncTrait(body) => async_trait(&cx, body),
        Shape::ReturnsFuture {
            boxed,
            output,
            stream,
        } => returns_future(&cx, boxed, output, stream.as_ref()),
        Shape::TrackCaller => track_caller(&cx),
        Shape::Stream(stream) => sync_stream(&cx, &stream),
        Shape::Sync => sync(&cx),
        Shape::SyncTokens => sync_tokens(&cx, checked),
    };
    let site = site_static(which, checked, &function.sig);
    let Function {
        attrs,
        vis,
        sig,
        inner_attrs,
        brace,
        ..
    } = function;
    let mut block = TokenStream::new();
    quote_spanned!(brace.span()=> {
        #(#inner_attrs)*
        #site
        #new_body
    })
    .to_tokens(&mut block);
    quote! { #(#attrs)* #vis #sig #block }
}

/// An `impl` block: each method planned as a site expanded as one (`on`), or left as written
/// (the feature off); a method's own attribute rewritten for rustc to expand; the rest as written.
pub(crate) fn expand_block(block: ImplBlock, plans: Vec<Plan>, on: bool) -> TokenStream {
    let ImplBlock {
        head,
        inner_attrs,
        members,
        brace,
        ..
    } = block;
    let members = members
        .into_iter()
        .zip(plans)
        .map(|(member, plan)| match (member, plan) {
            (Member::Method { function, .. }, Plan::Instrument(which, checked)) if on => {
                expand(which, &checked, *function)
            }
            (Member::Method { function, .. }, Plan::Own(attr)) => {
                let function = function.untouched();
                quote! { #attr #function }
            }
            // Skipped, a `const fn`, or the feature off: as written, `#[monitor(skip)]` removed.
            (Member::Method { function, .. }, _) => function.untouched(),
            (Member::Other(tokens), _) => tokens,
        });
    ImplBlock::rebuild(&head, &inner_attrs, &brace, members)
}

/// What every generator needs: the function, and the pieces they share.
struct Cx<'a> {
    which: Macro,
    sig: &'a syn::Signature,
    body: &'a TokenStream,
    /// The `SiteKind` variant.
    kind: TokenStream,
    /// What runs at entry when recording ([`entry`]).
    entry: TokenStream,
    /// `mut` on the guard when something changes it after entry, else nothing (no `unused_mut`).
    mutability: TokenStream,
    /// The return type's span, for errors about what the value cannot say.
    ret_span: Span,
    /// Whether the return value reports a cache lookup (`cache = "…"`).
    cache: bool,
    /// `usage = f`: the function that reads the usage off the value or each item.
    usage: Option<&'a ExprPath>,
}

impl<'a> Cx<'a> {
    /// The guard of an asynchronous call, which encloses the future's polls, then what runs at
    /// entry.
    fn start_guard(&self) -> TokenStream {
        let Cx {
            mutability, entry, ..
        } = self;
        quote! {
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::start(&__MONITOR_SITE);
            #entry
        }
    }

    /// The guard of a synchronous call, which enters the site's scope at once, then what runs at
    /// entry.
    fn enter_guard(&self) -> TokenStream {
        let Cx {
            mutability,
            entry,
            kind,
            ..
        } = self;
        quote! {
            let #mutability __monitor_guard = ::monitor_core::__private::Guard::enter(&__MONITOR_SITE, ::monitor_core::__private::SiteKind::#kind);
            #entry
        }
    }

    fn new(which: Macro, checked: &'a Checked, function: &'a Function) -> Cx<'a> {
        let sig = &function.sig;
        let entry = entry(which, checked, sig);
        let mutability = if entry.is_empty() && !function.has_track_caller() {
            TokenStream::new()
        } else {
            quote!(mut)
        };
        let ret_span = match &sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => sig.ident.span(),
        };
        Cx {
            which,
            sig,
            body: &function.body,
            kind: kind(which),
            entry,
            mutability,
            ret_span,
            cache: Arguments::of(&checked.args).cache.is_some(),
            usage: Arguments::of(&checked.args).usage,
        }
    }

    /// `cache = "…"`: the return value says whether the lookup hit. Spanned on the return type, so
    /// a type that cannot say is underlined there. `by_ref`: `__monitor_ret` is the value, to be
    /// borrowed; else it is already a reference (in `run`'s classifying closure).
    fn cache_lookup(&self, by_ref: bool) -> TokenStream {
        if !self.cache {
            return TokenStream::new();
        }
        let value = if by_ref {
            quote_spanned!(self.ret_span=> &__monitor_ret)
        } else {
            quote_spanned!(self.ret_span=> __monitor_ret)
        };
        quote_spanned! {self.ret_span=>
            ::monitor_core::__private::cache_lookup(
                &__MONITOR_SITE,
                ::monitor_core::__private::ReportsLookup::__monitor_cache_hit(#value),
            );
        }
    }

    /// Records `__monitor_ret` with the guard, an `Option` here; for a stream, replaces it with
    /// the stream measured until its end instead. Under `#[tracks_tokens]`, a value whose
    /// signature names no stream is measured by its type ([`Cx::returned`]): `__monitor_ret` must
    /// be bound `mut` ([`Cx::ret_mut`]).
    fn finish(&self, stream: Option<&StreamReturn>) -> TokenStream {
        if let Some(stream) = stream {
            return wrap_stream(self, stream);
        }
        if self.which == Macro::Tokens {
            let returned = self.returned(false);
            quote! {
                if let ::core::option::Option::Some(__monitor_guard) = __monitor_guard {
                    #returned
                }
            }
        } else {
            let cache_lookup = self.cache_lookup(true);
            let measured = self.measured_by_type();
            quote_spanned! {self.ret_span=>
                #cache_lookup
                #measured
            }
        }
    }

    /// A handler's or stage's value, `__monitor_ret`, recorded with `__monitor_guard` (an
    /// `Option`) by its type: a boxed stream behind an alias (`ChatCompletionResponseStream`), or
    /// a `Result` of one, is measured until it ends, as a stream the signature names is; any other
    /// value, a stream of a concrete type included, is recorded as returned: a handler or stage
    /// compiles whatever it returns.
    fn measured_by_type(&self) -> TokenStream {
        quote_spanned! {self.ret_span=>
            if let ::core::option::Option::Some(__monitor_guard) = __monitor_guard {
                #[allow(unused_imports)]
                use ::monitor_core::__private::{ReturnedBoxed as _, ReturnedValue as _};
                (&&&&::monitor_core::__private::Returned::of(&__monitor_ret)).__monitor_returned(
                    &mut __monitor_ret,
                    __monitor_guard,
                    &mut ::monitor_core::__private::GuardSpan,
                    |__monitor_guard, __monitor_ret, _| {
                        __monitor_guard.finish(::monitor_core::__private::outcome!(__monitor_ret));
                    },
                    |__monitor_item, __monitor_call| {
                        __monitor_call.chunk(
                            ::monitor_core::__private::outcome!(__monitor_item),
                            ::core::option::Option::None,
                        );
                    },
                    |__monitor_guard, __monitor_error| {
                        __monitor_guard.finish(::monitor_core::__private::outcome!(__monitor_error));
                    },
                );
            }
        }
    }

    /// `mut` for the binding of a value [`Cx::finish`] measures by its type.
    fn ret_mut(&self, stream: Option<&StreamReturn>) -> TokenStream {
        if stream.is_none() {
            quote!(mut)
        } else {
            TokenStream::new()
        }
    }

    /// A metered call's value, `__monitor_ret`, given the guard (a `Guard` here), measured by its
    /// type: a boxed stream (or a `Result` of one) is re-boxed with the guard going on inside it,
    /// whatever alias names it; another stream is a compile error; any other value is recorded
    /// by the first closure, inlined, as it always was.
    ///
    /// `by_ref`: `__monitor_ret` is a `&mut` to the value (in `run_usage`'s closure), not the
    /// value.
    fn returned(&self, by_ref: bool) -> TokenStream {
        let ret_span = self.ret_span;
        let (value_ref, value_mut, span) = if by_ref {
            (
                quote!(&*__monitor_ret),
                quote!(&mut *__monitor_ret),
                quote!(__monitor_finish),
            )
        } else {
            (
                quote!(&__monitor_ret),
                quote!(&mut __monitor_ret),
                quote!(&mut ::monitor_core::__private::GuardSpan),
            )
        };
        let cache_lookup = self.cache_lookup(false);
        let value = self.value_usage();
        let chunk = self.chunk_usage(ret_span);
        // Spanned on the return type, so a type that reports no usage, or a stream that cannot
        // be measured, is underlined there.
        quote_spanned! {ret_span=>
            {
                #[allow(unused_imports)]
                use ::monitor_core::__private::{
                    ReturnedBoxed as _, ReturnedStream as _, ReturnedStreamInResult as _,
                    ReturnedValue as _,
                };
                (&&&&::monitor_core::__private::Returned::of(#value_ref)).__monitor_returned(
                    #value_mut,
                    __monitor_guard,
                    #span,
                    |__monitor_guard, __monitor_ret, __monitor_finish| {
                        #cache_lookup
                        #value
                    },
                    |__monitor_item, __monitor_call| {
                        #chunk
                    },
                    |__monitor_guard, __monitor_error| {
                        __monitor_guard.finish_usage(
                            ::monitor_core::__private::outcome!(__monitor_error),
                            ::core::option::Option::None,
                        );
                    },
                );
            }
        }
    }

    /// Records the value `__monitor_ret` (a reference) with `__monitor_guard` and the usage it
    /// reports: by its `TokenUsage`, or by the `usage = f` function applied to it (to its `Ok`).
    fn value_usage(&self) -> TokenStream {
        let outcome = quote!(::monitor_core::__private::outcome!(__monitor_ret));
        match self.usage {
            None => quote_spanned! {self.ret_span=>
                ::monitor_core::__private::FinishUsage::finish_usage(
                    __monitor_finish,
                    __monitor_guard,
                    #outcome,
                    ::monitor_core::__private::ReportsTokens::__monitor_usage(__monitor_ret),
                );
            },
            Some(f) => apply_usage(
                f,
                quote!(__monitor_ret),
                quote!(|__monitor_reported| ::monitor_core::__private::FinishUsage::finish_usage(
                    __monitor_finish,
                    __monitor_guard,
                    #outcome,
                    __monitor_reported,
                )),
            ),
        }
    }

    /// Files one item, `__monitor_item` (a reference), into the stream's call, `__monitor_call`,
    /// with the usage it reports: by its `TokenUsage` (spanned at `span`, the item type where the
    /// signature names it), or by the `usage = f` function applied to it (to its `Ok`).
    fn chunk_usage(&self, span: Span) -> TokenStream {
        let outcome = quote!(::monitor_core::__private::outcome!(__monitor_item));
        match (self.which, self.usage) {
            (Macro::Tokens, None) => quote_spanned! {span=>
                __monitor_call.chunk(
                    #outcome,
                    ::monitor_core::__private::ChunkReportsTokens::__monitor_chunk_usage(__monitor_item),
                );
            },
            (Macro::Tokens, Some(f)) => apply_usage(
                f,
                quote!(__monitor_item),
                quote!(|__monitor_reported| __monitor_call.chunk(#outcome, __monitor_reported)),
            ),
            _ => quote! {
                __monitor_call.chunk(#outcome, ::core::option::Option::None);
            },
        }
    }

    /// The closure's return type ([`closure_return`]).
    fn ret(&self) -> TokenStream {
        closure_return(&self.sig.output)
    }
}

/// `async fn`: the body, with a fake `return` of the declared type, in an async block awaited
/// inside the guard.
fn async_fn(cx: &Cx, stream: Option<&StreamReturn>) -> TokenStream {
    let body = cx.body;
    let guard = cx.start_guard();
    let fake_return = fake_return(&cx.sig.output);
    let finish = cx.finish(stream);
    let ret_mut = cx.ret_mut(stream);
    quote! {
        #guard
        let #ret_mut __monitor_ret = ::monitor_core::__private::instrument(&__monitor_guard, async move { #fake_return #body }).await;
        #finish
        __monitor_ret
    }
}

/// `#[async_trait]` already turned the body into `Box::pin(async move { … })`: time the future,
/// not the boxing, as for any function that returns a future. The arguments are still in scope
/// before the boxing, so sizes and a per-call model are read there.
fn async_trait(cx: &Cx, body: AsyncTrait) -> TokenStream {
    let guard = cx.start_guard();
    let AsyncTrait {
        before,
        pin,
        future,
        output,
        stream,
    } = body;
    let output = output_annotation(output);
    let finish = cx.finish(stream.as_ref());
    let ret_mut = cx.ret_mut(stream.as_ref());
    quote! {
        #(#before)*
        #guard
        #pin(async move {
            let #ret_mut __monitor_ret #output = ::monitor_core::__private::instrument(&__monitor_guard, #future).await;
            #finish
            __monitor_ret
        })
    }
}

/// A synchronous function that returns a future: its work happens when the future is polled, so
/// that is what is timed, from the call to the future's completion.
fn returns_future(
    cx: &Cx,
    boxed: bool,
    output: Option<Type>,
    stream: Option<&StreamReturn>,
) -> TokenStream {
    let body = cx.body;
    let guard = cx.start_guard();
    let output = output_annotation(output);
    let ret = cx.ret();
    let pin = if boxed {
        quote!(::std::boxed::Box::pin)
    } else {
        TokenStream::new()
    };
    let finish = cx.finish(stream);
    let ret_mut = cx.ret_mut(stream);
    quote! {
        #guard
        let __monitor_future = ::monitor_core::__private::call_once(move || -> #ret { #body });
        #pin(async move {
            let #ret_mut __monitor_ret #output = ::monitor_core::__private::instrument(&__monitor_guard, __monitor_future).await;
            #finish
            __monitor_ret
        })
    }
}

/// A closure would hide the caller's location from `#[track_caller]`: the body stays inline, and
/// the guard records duration and panics, but not what was returned.
fn track_caller(cx: &Cx) -> TokenStream {
    let body = cx.body;
    let guard = cx.enter_guard();
    quote! {
        #guard
        if let ::core::option::Option::Some(__monitor_guard) = &mut __monitor_guard {
            __monitor_guard.finish_on_drop();
        }
        #body
    }
}

/// A stream: the body makes it in the site's scope, and the guard goes on inside it.
fn sync_stream(cx: &Cx, stream: &StreamReturn) -> TokenStream {
    let body = cx.body;
    let guard = cx.enter_guard();
    let ret = cx.ret();
    let wrap = wrap_stream(cx, stream);
    quote! {
        #guard
        let __monitor_ret = ::monitor_core::__private::call_once(move || -> #ret { #body });
        #wrap
        __monitor_ret
    }
}

/// Off, the function calls its body and returns; on, everything else happens in `run`, out of
/// line, so the off path carries none of the instrumentation's set-up.
fn sync(cx: &Cx) -> TokenStream {
    let Cx { body, kind, .. } = cx;
    let ret = cx.ret();
    let request_bytes = match request_sizes(cx.which, cx.sig) {
        sizes if sizes.is_empty() => quote!(0),
        sizes => quote! {
            if __monitor_mode & ::monitor_core::__private::ON != 0 { 0 #(+ #sizes)* } else { 0 }
        },
    };
    let cache_lookup = cx.cache_lookup(false);
    let measured = cx.measured_by_type();
    quote! {
        let __monitor_mode = ::monitor_core::__private::mode();
        let __monitor_request_bytes: u64 = #request_bytes;
        let __monitor_body = ::monitor_core::__private::once(move || -> #ret { #body });
        if __monitor_mode & ::monitor_core::__private::ON == 0 {
            return __monitor_body();
        }
        {
            #[allow(unused_imports)]
            use ::monitor_core::__private::{IsBoxedStream as _, IsPlainValue as _};
            // A boxed stream behind an alias: measured until it ends, as an async function's is.
            // A constant per type, so a plain value's path carries none of this.
            if (&&::monitor_core::__private::Returned::of_body(&__monitor_body)).__monitor_is_boxed() {
                let mut __monitor_guard = ::monitor_core::__private::Guard::enter(
                    &__MONITOR_SITE,
                    ::monitor_core::__private::SiteKind::#kind,
                );
                if let ::core::option::Option::Some(__monitor_guard) = &mut __monitor_guard {
                    __monitor_guard.add_request_bytes(__monitor_request_bytes);
                }
                let mut __monitor_ret = __monitor_body();
                #measured
                return __monitor_ret;
            }
        }
        ::monitor_core::__private::run::<{ ::monitor_core::__private::SiteKind::#kind.code() }, _>(
            &__MONITOR_SITE,
            __monitor_mode,
            __monitor_request_bytes,
            __monitor_body,
            |__monitor_ret| {
                #cache_lookup
                ::monitor_core::__private::outcome!(__monitor_ret)
            },
        )
    }
}

/// Token tracking: as [`sync`], everything but the switch test happens out of line, in
/// `run_usage`, which hands the guard and the value to a closure that measures the value by its
/// type ([`Cx::returned`]). A model given as an expression is resolved first, before the body
/// takes the arguments.
fn sync_tokens(cx: &Cx, checked: &Checked) -> TokenStream {
    let body = cx.body;
    let ret = cx.ret();
    let returned = cx.returned(true);
    let model = match model_expr(checked) {
        Some(expr) => quote! {
            if __monitor_mode & ::monitor_core::__private::ON != 0 {
                ::core::option::Option::Some(::monitor_core::__private::model_named(
                    &__MONITOR_SITE,
                    ::monitor_core::__private::ModelName::__monitor_model_name(#expr),
                ))
            } else {
                ::core::option::Option::None
            }
        },
        None => quote!(::core::option::Option::None),
    };
    quote! {
        let __monitor_mode = ::monitor_core::__private::mode();
        let __monitor_model = #model;
        let __monitor_body = ::monitor_core::__private::once(move || -> #ret { #body });
        if __monitor_mode & ::monitor_core::__private::ON == 0 {
            return __monitor_body();
        }
        ::monitor_core::__private::run_usage(
            &__MONITOR_SITE,
            __monitor_mode,
            __monitor_model,
            __monitor_body,
            |__monitor_guard, __monitor_ret, __monitor_finish| {
                #returned
            },
        )
    }
}

/// The `SiteKind` variant of a macro.
fn kind(which: Macro) -> TokenStream {
    match which {
        Macro::Handler => quote!(Handler),
        Macro::Stage => quote!(Stage),
        Macro::Tokens => quote!(Tokens),
    }
}

/// The arguments as the expansion reads them. Each attribute's struct is taken apart in full, so
/// that a new argument is a compile error here until the expansion says what it does with it.
#[derive(Default)]
struct Arguments<'a> {
    route: Option<&'a LitStr>,
    pipeline: Option<&'a LitStr>,
    model: Option<&'a Model>,
    provider: Option<&'a LitStr>,
    operation: Option<&'a LitStr>,
    usage: Option<&'a ExprPath>,
    cache: Option<&'a LitStr>,
    objective: &'a [LitStr],
}

impl<'a> Arguments<'a> {
    fn of(args: &'a Args) -> Arguments<'a> {
        // `name` and `stage` reach the site through `Checked`, with their defaults filled in.
        match args {
            Args::Handler(HandlerArgs {
                name: _,
                route,
                cache,
                objective,
            }) => Arguments {
                route: route.as_ref(),
                cache: cache.as_ref(),
                objective: objective.as_deref().unwrap_or_default(),
                ..Arguments::default()
            },
            Args::Stage(StageArgs {
                pipeline,
                stage: _,
                name: _,
                cache,
                objective,
            }) => Arguments {
                pipeline: pipeline.as_ref(),
                cache: cache.as_ref(),
                objective: objective.as_deref().unwrap_or_default(),
                ..Arguments::default()
            },
            Args::Tokens(TokensArgs {
                model,
                provider,
                operation,
                usage,
                name: _,
                cache,
                objective,
            }) => Arguments {
                model: model.as_ref(),
                provider: provider.as_ref(),
                operation: operation.as_ref(),
                usage: usage.as_deref(),
                cache: cache.as_ref(),
                objective: objective.as_deref().unwrap_or_default(),
                ..Arguments::default()
            },
        }
    }
}

/// The site's `static` and its registration.
fn site_static(which: Macro, checked: &Checked, sig: &syn::Signature) -> TokenStream {
    // `usage` is read where the value is ([`Cx::value_usage`], [`Cx::chunk_usage`]).
    let Arguments {
        route,
        pipeline,
        model,
        provider,
        operation,
        usage: _,
        cache,
        objective,
    } = Arguments::of(&checked.args);
    let kind = kind(which);
    let name = &checked.name;
    let function = syn::ext::IdentExt::unraw(&sig.ident).to_string();
    let qualified_name = match &checked.type_name {
        Some(type_name) => format!("{type_name}::{name}"),
        None => name.clone(),
    };
    let opt = |value: Option<String>| match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let route = opt(route.map(LitStr::value));
    let pipeline = opt(pipeline.map(LitStr::value));
    let stage = opt(checked.stage.clone());
    let type_name = opt(checked.type_name.clone());
    let provider = opt(provider.map(LitStr::value));
    let cache = opt(cache.map(LitStr::value));
    let operation = opt(operation.map(LitStr::value));
    let objectives: Vec<String> = objective.iter().map(LitStr::value).collect();
    let (model, model_expr) = match model {
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
                qualified_name: #qualified_name,
                type_name: #type_name,
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
                objectives: &[#(#objectives),*],
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
    if let Some(expr) = model_expr(checked) {
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

/// A model given as an expression, borrowed: `&expr`, with the `&` spanned like the expression's
/// first token, so that every token of the argument is the user's and an error underlines the
/// whole expression. The invisible group keeps the expression one operand.
fn model_expr(checked: &Checked) -> Option<TokenStream> {
    let Some(Model::Expr(expr)) = Arguments::of(&checked.args).model else {
        return None;
    };
    let group = proc_macro2::Group::new(proc_macro2::Delimiter::None, expr.to_token_stream());
    Some(quote_spanned!(expr.span()=> &#group))
}

/// `f` applied to `value` (a reference) — to its `Ok` for a `Result`, not at all for an `Err` or
/// a value the expansion never has — and what it reports handed to `then`. The `&f` is spanned
/// like the path, so a function of the wrong type is underlined in the attribute.
fn apply_usage(f: &ExprPath, value: TokenStream, then: TokenStream) -> TokenStream {
    let f_ref = quote_spanned!(f.span()=> &#f);
    quote! {{
        #[allow(unused_imports)]
        use ::monitor_core::__private::{UsageOfNever as _, UsageOfResult as _, UsageOfValue as _};
        (&&::monitor_core::__private::UsageOf(#value)).__monitor_with(#f_ref, #then);
    }}
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

/// Replaces `__monitor_ret`, the stream (or `Result` of one) the body gave, with the stream
/// measured until its end; an `Err` instead of a stream ends the call there.
fn wrap_stream(cx: &Cx, stream: &StreamReturn) -> TokenStream {
    let which = cx.which;
    // Spanned on the item type, so an item that reports no usage is underlined there.
    let span = stream
        .item
        .as_ref()
        .map_or_else(proc_macro2::Span::call_site, Spanned::span);
    let chunk = cx.chunk_usage(span);
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
                #chunk
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
