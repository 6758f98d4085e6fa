//! The attribute's arguments: `key = value` pairs, each key at most once, read into the struct of
//! the attribute they are written on ([`HandlerArgs`], [`StageArgs`], [`TokensArgs`]).
//!
//! Each struct's `slot` says, for every [`Key`], where its value goes or that the attribute does
//! not take it: those three exhaustive matches are the one table of which attribute takes which
//! key, and the errors that list keys or attributes are read off it.

use crate::fallback::Failure;
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprPath, Ident, Lit, LitStr, Token};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Macro {
    Handler,
    Stage,
    Tokens,
}

impl Macro {
    /// In the order errors name them.
    const ALL: [Macro; 3] = [Macro::Handler, Macro::Stage, Macro::Tokens];

    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Macro::Handler => "#[monitored_handler]",
            Macro::Stage => "#[pipeline_stage]",
            Macro::Tokens => "#[tracks_tokens]",
        }
    }

    fn takes(self, key: Key) -> bool {
        Args::empty(self).slot(key).is_some()
    }
}

/// Declares [`Key`] from one list of `Variant = "spelling"`, so that the enum, the spelling of
/// each key and [`Key::ALL`] cannot disagree.
macro_rules! keys {
    ($($key:ident = $spelling:literal,)*) => {
        /// An argument's key, read once from the identifier.
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Key {
            $($key,)*
        }

        impl Key {
            /// In the order errors list them.
            const ALL: &[Key] = &[$(Key::$key,)*];

            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Key::$key => $spelling,)*
                }
            }
        }
    };
}

// To add an argument: a line here; then the compiler asks, at each attribute's `slot`, whether
// that attribute takes it (and the struct gets a field for it), then at every place that takes
// the struct apart (`valid::check`, `valid::check_block`, `valid::merge`, `expand::Arguments`)
// what it means there. A kind of value none of the others has (a path, say) is a new `Slot`
// variant, read in `Slot::read` and written back in `Slot::write`.
//
// The order is the order an unknown argument's error lists an attribute's keys in: its own keys
// first, then those every attribute takes.
keys! {
    Pipeline = "pipeline",
    Stage = "stage",
    Model = "model",
    Provider = "provider",
    Operation = "operation",
    Usage = "usage",
    Name = "name",
    Route = "route",
    Cache = "cache",
    Objective = "objective",
}

impl Key {
    fn from_ident(ident: &Ident) -> Option<Key> {
        let ident = ident.unraw().to_string();
        Key::ALL.iter().copied().find(|key| key.name() == ident)
    }

    /// The attributes that take this key, in the order errors name them.
    fn attributes(self) -> Vec<Macro> {
        Macro::ALL
            .into_iter()
            .filter(|which| which.takes(self))
            .collect()
    }
}

/// `model = "literal"` costs nothing per call; any other expression is evaluated per call.
#[derive(Clone)]
pub(crate) enum Model {
    Literal(LitStr),
    Expr(Box<Expr>),
}

/// The arguments of `#[monitored_handler]`, with their tokens for error spans.
#[derive(Default, Clone)]
pub(crate) struct HandlerArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) route: Option<LitStr>,
    pub(crate) cache: Option<LitStr>,
    /// `objective = "name"` or `objective = ["a", "b"]`: the objectives the site serves.
    pub(crate) objective: Option<Vec<LitStr>>,
}

/// The arguments of `#[pipeline_stage]`.
#[derive(Default, Clone)]
pub(crate) struct StageArgs {
    pub(crate) pipeline: Option<LitStr>,
    pub(crate) stage: Option<LitStr>,
    pub(crate) name: Option<LitStr>,
    pub(crate) cache: Option<LitStr>,
    pub(crate) objective: Option<Vec<LitStr>>,
}

/// The arguments of `#[tracks_tokens]`.
#[derive(Default, Clone)]
pub(crate) struct TokensArgs {
    pub(crate) model: Option<Model>,
    pub(crate) provider: Option<LitStr>,
    pub(crate) operation: Option<LitStr>,
    /// `usage = path::to::function`: reads the usage from the value (or each item) for types
    /// that implement no `TokenUsage`.
    pub(crate) usage: Option<Box<ExprPath>>,
    pub(crate) name: Option<LitStr>,
    pub(crate) cache: Option<LitStr>,
    pub(crate) objective: Option<Vec<LitStr>>,
}

/// One attribute's arguments.
#[derive(Clone)]
pub(crate) enum Args {
    Handler(HandlerArgs),
    Stage(StageArgs),
    Tokens(TokensArgs),
}

/// Where a key's value goes, by the kind of value it takes.
enum Slot<'a> {
    Str(&'a mut Option<LitStr>),
    Model(&'a mut Option<Model>),
    Objectives(&'a mut Option<Vec<LitStr>>),
    Path(&'a mut Option<Box<ExprPath>>),
}

impl HandlerArgs {
    fn slot(&mut self, key: Key) -> Option<Slot<'_>> {
        let HandlerArgs {
            name,
            route,
            cache,
            objective,
        } = self;
        match key {
            Key::Name => Some(Slot::Str(name)),
            Key::Route => Some(Slot::Str(route)),
            Key::Cache => Some(Slot::Str(cache)),
            Key::Objective => Some(Slot::Objectives(objective)),
            Key::Pipeline
            | Key::Stage
            | Key::Model
            | Key::Provider
            | Key::Operation
            | Key::Usage => None,
        }
    }
}

impl StageArgs {
    fn slot(&mut self, key: Key) -> Option<Slot<'_>> {
        let StageArgs {
            pipeline,
            stage,
            name,
            cache,
            objective,
        } = self;
        match key {
            Key::Pipeline => Some(Slot::Str(pipeline)),
            Key::Stage => Some(Slot::Str(stage)),
            Key::Name => Some(Slot::Str(name)),
            Key::Cache => Some(Slot::Str(cache)),
            Key::Objective => Some(Slot::Objectives(objective)),
            Key::Route | Key::Model | Key::Provider | Key::Operation | Key::Usage => None,
        }
    }
}

impl TokensArgs {
    fn slot(&mut self, key: Key) -> Option<Slot<'_>> {
        let TokensArgs {
            model,
            provider,
            operation,
            usage,
            name,
            cache,
            objective,
        } = self;
        match key {
            Key::Model => Some(Slot::Model(model)),
            Key::Provider => Some(Slot::Str(provider)),
            Key::Operation => Some(Slot::Str(operation)),
            Key::Usage => Some(Slot::Path(usage)),
            Key::Name => Some(Slot::Str(name)),
            Key::Cache => Some(Slot::Str(cache)),
            Key::Objective => Some(Slot::Objectives(objective)),
            Key::Pipeline | Key::Stage | Key::Route => None,
        }
    }
}

impl Args {
    /// `which`'s arguments, none of them given.
    fn empty(which: Macro) -> Args {
        match which {
            Macro::Handler => Args::Handler(HandlerArgs::default()),
            Macro::Stage => Args::Stage(StageArgs::default()),
            Macro::Tokens => Args::Tokens(TokensArgs::default()),
        }
    }

    pub(crate) fn which(&self) -> Macro {
        match self {
            Args::Handler(_) => Macro::Handler,
            Args::Stage(_) => Macro::Stage,
            Args::Tokens(_) => Macro::Tokens,
        }
    }

    /// Where `key`'s value goes; `None` if this attribute does not take it.
    fn slot(&mut self, key: Key) -> Option<Slot<'_>> {
        match self {
            Args::Handler(args) => args.slot(key),
            Args::Stage(args) => args.slot(key),
            Args::Tokens(args) => args.slot(key),
        }
    }

    /// The arguments as the attribute takes them, with the tokens (and spans) they were read
    /// from, and the `Self` type a method is in ([`TYPE_NAME`]).
    pub(crate) fn into_tokens(mut self, type_name: &LitStr) -> TokenStream {
        let mut tokens = TokenStream::new();
        for &key in Key::ALL {
            if let Some(slot) = self.slot(key) {
                slot.write(key, &mut tokens);
            }
        }
        let key = Ident::new(TYPE_NAME, type_name.span());
        tokens.extend(quote::quote!(#key = #type_name,));
        tokens
    }
}

impl Slot<'_> {
    /// Reads the value after `key =`; whether the key was given before.
    fn read(self, key: Key, input: ParseStream) -> syn::Result<bool> {
        Ok(match self {
            Slot::Str(slot) => slot.replace(string(input, key.name())?).is_some(),
            Slot::Model(slot) => slot.replace(model(input)?).is_some(),
            Slot::Objectives(slot) => slot.replace(objectives(input)?).is_some(),
            Slot::Path(slot) => slot.replace(function(input, key.name())?).is_some(),
        })
    }

    /// `key = value,` if the value was given, the key spanned like the value.
    fn write(self, key: Key, tokens: &mut TokenStream) {
        let (value, span) = match self {
            Slot::Str(None) | Slot::Model(None) | Slot::Objectives(None) | Slot::Path(None) => {
                return;
            }
            Slot::Str(Some(lit)) => (quote::quote!(#lit), lit.span()),
            Slot::Model(Some(Model::Literal(lit))) => (quote::quote!(#lit), lit.span()),
            Slot::Model(Some(Model::Expr(expr))) => (quote::quote!(#expr), expr.span()),
            Slot::Path(Some(path)) => (quote::quote!(#path), path.span()),
            Slot::Objectives(Some(names)) => (
                quote::quote!([#(#names),*]),
                names.first().map_or_else(Span::call_site, LitStr::span),
            ),
        };
        let key = Ident::new(key.name(), span);
        tokens.extend(quote::quote!(#key = #value,));
    }
}

/// An attribute's arguments as read.
pub(crate) struct Parsed {
    pub(crate) args: Args,
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

pub(crate) fn parse(which: Macro, tokens: TokenStream) -> Result<Parsed, Failure> {
    let parser = |input: ParseStream| -> syn::Result<Parsed> {
        let mut args = Args::empty(which);
        let mut type_name = None;
        while !input.is_empty() {
            let ident = Ident::parse_any(input)?;
            let duplicate = if ident == TYPE_NAME {
                input.parse::<Token![=]>()?;
                type_name.replace(string(input, TYPE_NAME)?).is_some()
            } else {
                let Some(key) = Key::from_ident(&ident) else {
                    return Err(unknown(which, &ident));
                };
                let Some(slot) = args.slot(key) else {
                    return Err(belongs_elsewhere(which, key, &ident));
                };
                input.parse::<Token![=]>()?;
                slot.read(key, input)?
            };
            if duplicate {
                return Err(syn::Error::new(
                    ident.span(),
                    format!("duplicate `{}` argument", ident.unraw()),
                ));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Parsed { args, type_name })
    };
    Ok(parser.parse2(tokens)?)
}

fn unknown(which: Macro, ident: &Ident) -> syn::Error {
    let keys: Vec<String> = Key::ALL
        .iter()
        .filter(|key| which.takes(**key))
        .map(|key| format!("`{}`", key.name()))
        .collect();
    syn::Error::new(
        ident.span(),
        format!(
            "unknown argument `{ident}`: {} takes {}",
            which.attribute(),
            list(&keys, "or"),
        ),
    )
}

/// `route` on `#[pipeline_stage]`: a key of another attribute, most likely the wrong attribute
/// rather than a mistyped key, so the error names the attribute that takes it.
fn belongs_elsewhere(which: Macro, key: Key, ident: &Ident) -> syn::Error {
    let attributes: Vec<&str> = key.attributes().into_iter().map(Macro::attribute).collect();
    syn::Error::new(
        ident.span(),
        format!(
            "`{}` belongs to {}, not {}",
            key.name(),
            list(&attributes, "and"),
            which.attribute()
        ),
    )
}

/// `a`, `a or b`, `a, b or c`.
fn list(items: &[impl AsRef<str>], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} {conjunction} {}", init.join(", "), last.as_ref())
        }
    }
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

/// A function, named by its path: `usage = openai_usage`, `usage = usage::of_chat`.
fn function(input: ParseStream, key: &str) -> syn::Result<Box<ExprPath>> {
    match input.parse::<Expr>()? {
        Expr::Path(path) if path.attrs.is_empty() => Ok(Box::new(path)),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes the path of a function, like {key} = my_usage"),
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

#[cfg(test)]
mod tests {
    use super::*;

    // The compiler makes every attribute say whether it takes a new key, but not that one does:
    // a key none takes could never be written, and its error would name no attribute.
    #[test]
    fn every_key_belongs_to_an_attribute() {
        for &key in Key::ALL {
            assert!(!key.attributes().is_empty(), "`{}`", key.name());
        }
    }

    #[test]
    fn a_key_of_another_attribute_names_the_attributes_that_take_it() {
        let error = |which, tokens| match parse(which, tokens) {
            Err(Failure::Error(error)) => error.to_string(),
            _ => panic!("no error"),
        };
        assert_eq!(
            error(Macro::Stage, quote::quote!(pipeline = "p", route = "GET /")),
            "`route` belongs to #[monitored_handler], not #[pipeline_stage]"
        );
        assert_eq!(
            error(Macro::Handler, quote::quote!(model = "m")),
            "`model` belongs to #[tracks_tokens], not #[monitored_handler]"
        );
        assert_eq!(
            error(Macro::Handler, quote::quote!(type = "x")),
            "unknown argument `type`: #[monitored_handler] takes `name`, `route`, `cache` or `objective`"
        );
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(list(&["a"], "and"), "a");
        assert_eq!(list(&["a", "b"], "and"), "a and b");
        assert_eq!(list(&["a", "b", "c"], "or"), "a, b or c");
    }

    #[test]
    fn arguments_written_back_read_the_same() {
        let tokens = quote::quote!(
            model = client.model(),
            usage = usage::of,
            cache = "c",
            objective = ["a", "b"]
        );
        let Ok(Parsed { args, .. }) = parse(Macro::Tokens, tokens) else {
            panic!("no arguments");
        };
        let type_name = LitStr::new("Client", Span::call_site());
        let written = args.clone().into_tokens(&type_name);
        let Ok(again) = parse(Macro::Tokens, written.clone()) else {
            panic!("{written}");
        };
        assert_eq!(
            again.args.into_tokens(&type_name).to_string(),
            written.to_string()
        );
        assert_eq!(
            again.type_name.map(|t| t.value()).as_deref(),
            Some("Client")
        );
    }
}
