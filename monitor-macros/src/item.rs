//! What an attribute is put on: a function (signature parsed, body kept as tokens), or an `impl`
//! block of them.
//!
//! Bodies are not parsed, so a syntax error in one reaches rustc unchanged and is reported at the
//! user's token, as it would be without the attribute.

use crate::args::Macro;
use crate::fallback::Failure;
use crate::types::{StreamReturn, returns_future, returns_stream};
use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Block, Expr, ItemImpl, ReturnType, Signature, Stmt, Token, Type, Visibility};

/// A function, or an `impl` block.
#[allow(
    clippy::large_enum_variant,
    reason = "one value per expansion, made once and matched once"
)]
pub(crate) enum Item {
    Function(Function),
    Impl(ImplBlock),
}

/// An `impl` block: its head as written, and its members.
pub(crate) struct ImplBlock {
    /// Everything before the braces: attributes, `impl`, generics, trait, type, where-clause.
    pub(crate) head: TokenStream,
    /// The `Self` type's last path segment, without generics or `r#` ([`type_name`]).
    pub(crate) type_name: String,
    /// `#![...]` attributes at the top of the block.
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) members: Vec<Member>,
    /// The braces, for spans.
    pub(crate) brace: Group,
}

/// One item of an `impl` block.
pub(crate) enum Member {
    /// A method with a body, its monitor attributes (`#[monitored_handler]`, `#[pipeline_stage]`,
    /// `#[tracks_tokens]`, `#[monitor(…)]`) taken off it, in the order written.
    Method {
        function: Box<Function>,
        monitor_attrs: Vec<Attribute>,
    },
    /// Anything else (an associated const or type, a macro call), as written.
    Other(TokenStream),
}

impl Member {
    /// The member as written, beside an error: without `#[monitor(…)]`, and with its own
    /// attribute told to leave it alone ([`FALLBACK`](crate::args::FALLBACK)) — still expanded, so
    /// that its import is used, but adding no error of its own.
    pub(crate) fn untouched(self) -> TokenStream {
        match self {
            Member::Method {
                function,
                monitor_attrs,
            } => {
                let fallback =
                    syn::Ident::new(crate::args::FALLBACK, proc_macro2::Span::call_site());
                let own = monitor_attrs
                    .iter()
                    .filter(|attr| monitor_attribute(attr).flatten().is_some())
                    .map(|attr| {
                        let path = attr.path();
                        quote!(#[#path(#fallback)])
                    });
                let function = function.untouched();
                quote! { #(#own)* #function }
            }
            Member::Other(tokens) => tokens,
        }
    }
}

impl ImplBlock {
    /// The block with `members` in place of its own.
    pub(crate) fn rebuild(
        head: &TokenStream,
        inner_attrs: &[Attribute],
        brace: &Group,
        members: impl IntoIterator<Item = TokenStream>,
    ) -> TokenStream {
        let members: TokenStream = members.into_iter().collect();
        let mut body = Group::new(Delimiter::Brace, quote! { #(#inner_attrs)* #members });
        body.set_span(brace.span());
        quote! { #head #body }
    }

    /// The block as written, beside an error ([`Member::untouched`]).
    pub(crate) fn untouched(self) -> TokenStream {
        let ImplBlock {
            head,
            inner_attrs,
            members,
            brace,
            ..
        } = self;
        ImplBlock::rebuild(
            &head,
            &inner_attrs,
            &brace,
            members.into_iter().map(Member::untouched),
        )
    }
}

/// The monitor attribute `attr` is, by the last segment of its path (`monitored_handler` and
/// `monitor_core::monitored_handler` alike): `Some(Some(macro))` for one of the three,
/// `Some(None)` for `#[monitor(…)]`, `None` for any other.
pub(crate) fn monitor_attribute(attr: &Attribute) -> Option<Option<Macro>> {
    let last = attr.path().segments.last()?.ident.to_string();
    match last.as_str() {
        "monitored_handler" => Some(Some(Macro::Handler)),
        "pipeline_stage" => Some(Some(Macro::Stage)),
        "tracks_tokens" => Some(Some(Macro::Tokens)),
        "monitor" => Some(None),
        _ => None,
    }
}

/// Whether `attr` is a `#[cfg_attr(…)]` that, under its condition, puts a monitor attribute on
/// the item (`#[cfg_attr(feature = "x", monitored_handler)]`): an attribute macro sees it
/// unexpanded, so the method carries an attribute of its own after all — one the impl block must
/// leave to rustc, or the method would be instrumented twice when the condition holds.
pub(crate) fn conditional_monitor_attribute(attr: &Attribute) -> bool {
    if !attr.path().is_ident("cfg_attr") {
        return false;
    }
    let syn::Meta::List(list) = &attr.meta else {
        return false;
    };
    let parser = syn::punctuated::Punctuated::<syn::Meta, Token![,]>::parse_terminated;
    parser.parse2(list.tokens.clone()).is_ok_and(|items| {
        items.iter().skip(1).any(|meta| {
            matches!(
                meta.path()
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .as_deref(),
                Some("monitored_handler" | "pipeline_stage" | "tracks_tokens")
            )
        })
    })
}

pub(crate) struct Function {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// `#![...]` attributes at the top of the body; they stay at the top of the new body.
    pub(crate) inner_attrs: Vec<Attribute>,
    /// The rest of the body, inside the braces.
    pub(crate) body: TokenStream,
    /// The braces, for spans.
    pub(crate) brace: Group,
}

/// How a function's body is wrapped, decided once from its signature and body; `expand` has one
/// generator per shape.
#[allow(
    clippy::large_enum_variant,
    reason = "one value per expansion, made once and matched once"
)]
pub(crate) enum Shape {
    /// `async fn`: the body becomes an async block, awaited inside the guard.
    Async { stream: Option<StreamReturn> },
    /// A method `#[async_trait]` rewrote to return `Box::pin(async move { … })`: the future is
    /// timed, not the boxing.
    AsyncTrait(AsyncTrait),
    /// A synchronous function that returns a future: timed from the call to the future's end.
    ReturnsFuture {
        boxed: bool,
        output: Option<Type>,
        stream: Option<StreamReturn>,
    },
    /// A synchronous `#[track_caller]` function: the body stays inline.
    TrackCaller,
    /// A synchronous function that returns a stream (or a `Result` of one).
    Stream(StreamReturn),
    /// A synchronous handler or stage: the body runs out of line in `run`.
    Sync,
    /// A synchronous token call: the guard stays to read the usage off the value.
    SyncTokens,
}

/// What `#[async_trait]` made of a method's body.
pub(crate) struct AsyncTrait {
    /// The statements before the boxing (`#[async_trait]`'s own bindings).
    pub(crate) before: Vec<Stmt>,
    /// The `Box::pin` path as written.
    pub(crate) pin: Expr,
    /// The `async move { … }` block.
    pub(crate) future: Expr,
    /// The future's `Output` as declared, with `impl Trait` left to inference.
    pub(crate) output: Option<Type>,
    pub(crate) stream: Option<StreamReturn>,
}

impl Function {
    pub(crate) fn has_track_caller(&self) -> bool {
        self.attrs
            .iter()
            .any(|attr| attr.path().is_ident("track_caller"))
    }

    /// The shape of this function under `which`.
    pub(crate) fn shape(&self, which: Macro) -> Shape {
        let sig = &self.sig;
        let track_caller = self.has_track_caller();
        let declared = match &sig.output {
            ReturnType::Type(_, ty) => Some((**ty).clone()),
            ReturnType::Default => None,
        };
        // A value that is a stream, returned directly or by the future returned: the call goes on
        // until the stream ends. (A `#[track_caller]` function keeps its body inline, so no.)
        let stream = |value: Option<Type>| {
            value
                .as_ref()
                .filter(|_| !track_caller)
                .and_then(returns_stream)
        };
        if sig.asyncness.is_some() {
            return Shape::Async {
                stream: stream(declared),
            };
        }
        let future = returns_future(&sig.output);
        if let Some((before, pin, body)) = async_trait_body(&self.body) {
            let (output, value) = future.map_or((None, None), |f| (f.output, f.declared));
            return Shape::AsyncTrait(AsyncTrait {
                before,
                pin,
                future: body,
                output,
                stream: stream(value),
            });
        }
        if let Some(future) = future {
            return Shape::ReturnsFuture {
                boxed: future.boxed,
                output: future.output,
                stream: stream(future.declared),
            };
        }
        if track_caller {
            return Shape::TrackCaller;
        }
        match stream(declared) {
            Some(stream) => Shape::Stream(stream),
            None if which == Macro::Tokens => Shape::SyncTokens,
            None => Shape::Sync,
        }
    }
}

/// A function or an `impl` block.
pub(crate) fn parse_item(which: Macro, tokens: TokenStream) -> Result<Item, Failure> {
    if is_impl(&tokens) {
        parse_impl(tokens).map(Item::Impl)
    } else {
        parse(which, tokens).map(Item::Function)
    }
}

/// Whether the item is an `impl` block: attributes, then `impl`, `unsafe impl` or `default impl`.
fn is_impl(tokens: &TokenStream) -> bool {
    let parser = |input: ParseStream| -> syn::Result<bool> {
        input.call(Attribute::parse_outer)?;
        if input.peek(Token![default]) || input.peek(Token![unsafe]) {
            input.parse::<TokenTree>()?;
        }
        let found = input.peek(Token![impl]);
        input.parse::<TokenStream>()?;
        Ok(found)
    };
    parser.parse2(tokens.clone()).unwrap_or(false)
}

fn parse_impl(tokens: TokenStream) -> Result<ImplBlock, Failure> {
    let mut head: Vec<TokenTree> = tokens.into_iter().collect();
    let Some(TokenTree::Group(brace)) = head.pop() else {
        return Err(Failure::LeaveToRustc);
    };
    if brace.delimiter() != Delimiter::Brace {
        return Err(Failure::LeaveToRustc);
    }
    let head: TokenStream = head.into_iter().collect();
    // The head with empty braces is an impl block syn can read, whatever the members are.
    let Ok(header) = syn::parse2::<ItemImpl>(quote!(#head {})) else {
        return Err(Failure::LeaveToRustc);
    };
    let parser = |input: ParseStream| -> syn::Result<(Vec<Attribute>, Vec<Member>)> {
        let inner_attrs = input.call(Attribute::parse_inner)?;
        let mut members = Vec::new();
        while !input.is_empty() {
            members.push(member(input)?);
        }
        Ok((inner_attrs, members))
    };
    let (inner_attrs, members) = parser
        .parse2(brace.stream())
        .map_err(|_| Failure::LeaveToRustc)?;
    Ok(ImplBlock {
        head,
        type_name: type_name(&header.self_ty),
        inner_attrs,
        members,
        brace,
    })
}

/// One member: a method with a body, or anything else up to its `;` or its braces.
fn member(input: ParseStream) -> syn::Result<Member> {
    let attrs = input.call(Attribute::parse_outer)?;
    let method = input.fork();
    let looks_like_method = method.parse::<Visibility>().is_ok()
        && method.parse::<Signature>().is_ok()
        && matches!(method.parse::<TokenTree>(), Ok(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace);
    if looks_like_method {
        let vis = input.parse()?;
        let sig = input.parse()?;
        let Ok(TokenTree::Group(brace)) = input.parse::<TokenTree>() else {
            unreachable!("checked on the fork");
        };
        let (monitor_attrs, attrs) = attrs
            .into_iter()
            .partition(|attr| monitor_attribute(attr).is_some());
        return Ok(Member::Method {
            function: Box::new(Function::new(attrs, vis, sig, brace)),
            monitor_attrs,
        });
    }
    // Passed through as written, attributes and all: only where it ends matters.
    let mut tokens = TokenStream::new();
    while let Ok(tt) = input.parse::<TokenTree>() {
        let end = match &tt {
            TokenTree::Punct(p) => p.as_char() == ';',
            TokenTree::Group(g) => g.delimiter() == Delimiter::Brace && !input.peek(Token![;]),
            _ => false,
        };
        tokens.extend([tt]);
        if end {
            break;
        }
    }
    Ok(Member::Other(quote! { #(#attrs)* #tokens }))
}

/// The `Self` type's last path segment without generics or `r#` (`LogoPipeline` for
/// `crate::LogoPipeline<T>` and `&LogoPipeline`); the type as written for one without a path.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) => path.path.segments.last().map_or_else(
            || quote!(#ty).to_string(),
            |segment| segment.ident.unraw().to_string(),
        ),
        Type::Reference(r) => type_name(&r.elem),
        Type::Ptr(p) => type_name(&p.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        other => quote!(#other).to_string().replace(' ', ""),
    }
}

impl Function {
    /// A function from its parts as parsed, the body's `#![...]` attributes taken off its top.
    fn new(attrs: Vec<Attribute>, vis: Visibility, sig: Signature, brace: Group) -> Function {
        let parser = |input: ParseStream| -> syn::Result<(Vec<Attribute>, TokenStream)> {
            let inner = input.call(Attribute::parse_inner)?;
            Ok((inner, input.parse()?))
        };
        let (inner_attrs, body) = parser
            .parse2(brace.stream())
            .unwrap_or_else(|_| (Vec::new(), brace.stream()));
        Function {
            attrs,
            vis,
            sig,
            inner_attrs,
            body,
            brace,
        }
    }

    /// The function as written, attributes it kept and all.
    pub(crate) fn untouched(self) -> TokenStream {
        let Function {
            attrs,
            vis,
            sig,
            brace,
            ..
        } = self;
        quote! { #(#attrs)* #vis #sig #brace }
    }
}

fn parse(which: Macro, tokens: TokenStream) -> Result<Function, Failure> {
    let parser = |input: ParseStream| -> syn::Result<Result<Function, Failure>> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let head = input.fork();
        let Ok(sig) = input.parse::<Signature>() else {
            let failure = not_a_function(which, &head, tokens_contain_fn(&head));
            // Read the rest, or `parse2` would replace our error with "unexpected token".
            input.parse::<TokenStream>()?;
            return Ok(Err(failure));
        };
        let brace = match input.parse::<TokenTree>() {
            Ok(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
            Ok(TokenTree::Punct(p)) if p.as_char() == ';' => {
                let message = format!("{} needs a function with a body", which.attribute());
                return Ok(Err(syn::Error::new(p.span(), message).into()));
            }
            _ => return Ok(Err(Failure::LeaveToRustc)),
        };
        if !input.is_empty() {
            return Ok(Err(Failure::LeaveToRustc));
        }
        Ok(Ok(Function::new(attrs, vis, sig, brace)))
    };
    parser.parse2(tokens).unwrap_or(Err(Failure::LeaveToRustc))
}

/// Whether the item still looks like a function (only qualifiers before `fn`), whose broken
/// signature rustc should complain about.
fn tokens_contain_fn(input: ParseStream) -> bool {
    let mut rest = input.cursor();
    while let Some((tt, next)) = rest.token_tree() {
        match &tt {
            TokenTree::Ident(ident) if ident == "fn" => return true,
            TokenTree::Ident(ident)
                if ["const", "async", "unsafe", "safe", "extern", "default"]
                    .contains(&ident.to_string().as_str()) => {}
            TokenTree::Literal(_) => {}
            _ => return false,
        }
        rest = next;
    }
    false
}

fn not_a_function(which: Macro, head: ParseStream, looks_like_fn: bool) -> Failure {
    if looks_like_fn {
        return Failure::LeaveToRustc;
    }
    let span = head
        .cursor()
        .token_tree()
        .map_or_else(proc_macro2::Span::call_site, |(tt, _)| tt.span());
    syn::Error::new(
        span,
        format!(
            "{} can only be put on a function or an impl block",
            which.attribute()
        ),
    )
    .into()
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
