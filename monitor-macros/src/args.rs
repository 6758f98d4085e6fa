//! The attribute's arguments: `key = value` pairs, each key at most once.

use crate::fallback::Failure;
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Macro {
    Handler,
    Stage,
    Tokens,
}

impl Macro {
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Macro::Handler => "#[monitored_handler]",
            Macro::Stage => "#[pipeline_stage]",
            Macro::Tokens => "#[tracks_tokens]",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Macro::Handler => &["name", "route", "cache", "objective"],
            Macro::Stage => &["pipeline", "stage", "name", "cache", "objective"],
            Macro::Tokens => &[
                "model",
                "provider",
                "operation",
                "name",
                "cache",
                "objective",
            ],
        }
    }
}

/// `model = "literal"` costs nothing per call; any other expression is evaluated per call.
#[derive(Clone)]
pub(crate) enum Model {
    Literal(LitStr),
    Expr(Box<Expr>),
}

/// The arguments as written, with their tokens for error spans.
#[derive(Default, Clone)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) route: Option<LitStr>,
    pub(crate) pipeline: Option<LitStr>,
    pub(crate) stage: Option<LitStr>,
    pub(crate) model: Option<Model>,
    pub(crate) provider: Option<LitStr>,
    pub(crate) operation: Option<LitStr>,
    pub(crate) cache: Option<LitStr>,
    /// `objective = "name"` or `objective = ["a", "b"]`: the objectives the site serves.
    pub(crate) objectives: Option<Vec<LitStr>>,
    /// The `Self` type of a method whose own attribute an impl block's attribute rewrote
    /// ([`TYPE_NAME`]); not an argument users write.
    pub(crate) type_name: Option<LitStr>,
}

/// The key an impl block's attribute adds to a method's own attribute, to tell it the type it is
/// in: an attribute on a method cannot see its impl block. Not public API.
pub(crate) const TYPE_NAME: &str = "__monitor_type_name";

/// What an impl block's attribute, beside its error, puts in a method's own attribute: the
/// method comes back untouched and unchecked, its error already told, and its import stays used.
/// Not public API.
pub(crate) const FALLBACK: &str = "__monitor_fallback";

/// Whether the arguments are [`FALLBACK`]'s.
pub(crate) fn is_fallback(tokens: &TokenStream) -> bool {
    matches!(tokens.clone().into_iter().next(), Some(proc_macro2::TokenTree::Ident(i)) if i == FALLBACK)
}

impl Args {
    /// The arguments as an attribute takes them, with the tokens (and spans) they were read from.
    pub(crate) fn to_tokens(&self) -> TokenStream {
        let mut tokens = TokenStream::new();
        for (key, value) in [
            ("name", &self.name),
            ("route", &self.route),
            ("pipeline", &self.pipeline),
            ("stage", &self.stage),
            ("provider", &self.provider),
            ("operation", &self.operation),
            ("cache", &self.cache),
            (TYPE_NAME, &self.type_name),
        ] {
            if let Some(value) = value {
                let key = Ident::new(key, value.span());
                tokens.extend(quote::quote!(#key = #value,));
            }
        }
        if let Some(names) = &self.objectives {
            tokens.extend(quote::quote!(objective = [#(#names),*],));
        }
        match &self.model {
            Some(Model::Literal(lit)) => tokens.extend(quote::quote!(model = #lit,)),
            Some(Model::Expr(expr)) => tokens.extend(quote::quote!(model = #expr,)),
            None => {}
        }
        tokens
    }
}

pub(crate) fn parse(which: Macro, tokens: TokenStream) -> Result<Args, Failure> {
    let parser = |input: ParseStream| -> syn::Result<Args> {
        let mut args = Args::default();
        while !input.is_empty() {
            let key = Ident::parse_any(input)?;
            let name = key.to_string();
            if !which.keys().contains(&name.as_str()) && name != TYPE_NAME {
                return Err(unknown(which, &key));
            }
            input.parse::<Token![=]>()?;
            let duplicate = match name.as_str() {
                "model" => args.model.replace(model(input)?).is_some(),
                "objective" => args.objectives.replace(objectives(input)?).is_some(),
                _ => {
                    let value = string(input, &name)?;
                    let slot = match name.as_str() {
                        "name" => &mut args.name,
                        "route" => &mut args.route,
                        "pipeline" => &mut args.pipeline,
                        "stage" => &mut args.stage,
                        "cache" => &mut args.cache,
                        "operation" => &mut args.operation,
                        TYPE_NAME => &mut args.type_name,
                        _ => &mut args.provider,
                    };
                    slot.replace(value).is_some()
                }
            };
            if duplicate {
                return Err(syn::Error::new(
                    key.span(),
                    format!("duplicate `{name}` argument"),
                ));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    };
    Ok(parser.parse2(tokens)?)
}

fn unknown(which: Macro, key: &Ident) -> syn::Error {
    let keys: Vec<String> = which.keys().iter().map(|k| format!("`{k}`")).collect();
    let expected = match keys.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => String::new(),
    };
    syn::Error::new(
        key.span(),
        format!(
            "unknown argument `{key}`: {} takes {expected}",
            which.attribute()
        ),
    )
}

fn string(input: ParseStream, key: &str) -> syn::Result<LitStr> {
    let value: Expr = input.parse()?;
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string literal, like {key} = \"…\""),
        )),
    }
}

/// One objective's name, or a list of them: `objective = "api"`, `objective = ["api", "spend"]`.
fn objectives(input: ParseStream) -> syn::Result<Vec<LitStr>> {
    let expected = "`objective` takes an objective's name or a list of them, like objective = \"api\" or objective = [\"api\", \"spend\"]";
    let names = match input.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => vec![lit],
        Expr::Array(array) if !array.elems.is_empty() => array
            .elems
            .into_iter()
            .map(|e| match e {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                }) => Ok(lit),
                other => Err(syn::Error::new_spanned(other, expected)),
            })
            .collect::<syn::Result<_>>()?,
        other => return Err(syn::Error::new_spanned(other, expected)),
    };
    for name in &names {
        let value = name.value();
        let valid = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid {
            return Err(syn::Error::new(
                name.span(),
                "an objective's name is 1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        if names.iter().filter(|n| n.value() == value).count() > 1 {
            return Err(syn::Error::new(
                name.span(),
                format!("objective {value:?} is named twice"),
            ));
        }
    }
    Ok(names)
}

fn model(input: ParseStream) -> syn::Result<Model> {
    match input.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(Model::Literal(lit)),
        Expr::Lit(other) => Err(syn::Error::new_spanned(
            other,
            "`model` takes a string literal or an expression that gives a string, like model = \"gpt-4o\"",
        )),
        expr => Ok(Model::Expr(Box::new(expr))),
    }
}

/// A span for errors about the attribute as a whole (a missing argument).
pub(crate) fn attribute_span() -> Span {
    Span::call_site()
}
