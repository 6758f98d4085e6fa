//! The function an attribute is put on: signature parsed, body kept as tokens.
//!
//! The body is not parsed, so a syntax error in it reaches rustc unchanged and is reported at the
//! user's token, as it would be without the attribute.

use crate::args::Macro;
use crate::fallback::Failure;
use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Signature, Visibility};

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

pub(crate) fn parse(which: Macro, tokens: TokenStream) -> Result<Function, Failure> {
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
        let (inner_attrs, body) = split_inner_attrs(brace.stream());
        Ok(Ok(Function {
            attrs,
            vis,
            sig,
            inner_attrs,
            body,
            brace,
        }))
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
        format!("{} can only be put on a function", which.attribute()),
    )
    .into()
}

fn split_inner_attrs(body: TokenStream) -> (Vec<Attribute>, TokenStream) {
    let parser = |input: ParseStream| -> syn::Result<(Vec<Attribute>, TokenStream)> {
        let attrs = input.call(Attribute::parse_inner)?;
        Ok((attrs, input.parse()?))
    };
    parser.parse2(body.clone()).unwrap_or((Vec::new(), body))
}
