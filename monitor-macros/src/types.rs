//! What a declared type says about the call: whether it is a future or a stream, and of what.
//!
//! Read off the tokens as written, before any expansion: `impl Future<Output = T>`,
//! `Pin<Box<dyn Future<Output = T>>>`, `BoxFuture<'_, T>`, and the same for streams.

use syn::visit_mut::{self, VisitMut};
use syn::{ReturnType, Type};

/// Replaces each `impl Trait` in a type with `_`: allowed in a signature, not in a `let` or a
/// closure's return type.
pub(crate) struct InferImplTrait;

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
pub(crate) struct FutureReturn {
    /// `Pin<Box<dyn Future<…>>>`, `BoxFuture<…>` or `LocalBoxFuture<…>`, rather than `impl Future`.
    pub(crate) boxed: bool,
    /// The `Output` it names, with `impl Trait` inside left to inference.
    pub(crate) output: Option<Type>,
    /// The `Output` as written.
    pub(crate) declared: Option<Type>,
}

/// Whether the declared return type is a future, and of what.
pub(crate) fn returns_future(output: &ReturnType) -> Option<FutureReturn> {
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
pub(crate) enum StreamForm {
    /// `impl Stream<Item = …>`: the wrapper itself.
    Impl,
    /// `Pin<Box<dyn Stream<Item = …>>>`, `BoxStream<'_, …>`, `LocalBoxStream<'_, …>`: the wrapper,
    /// boxed, and coerced to the declared type.
    Boxed(Box<Type>),
}

/// A value that is a stream, or a `Result` whose `Ok` is one.
pub(crate) struct StreamReturn {
    pub(crate) form: StreamForm,
    /// The item type as written, for spans; `None` when the signature does not name it.
    pub(crate) item: Option<Type>,
    pub(crate) in_result: bool,
}

/// Whether `ty` is a stream or a `Result` of one, and how it is built.
pub(crate) fn returns_stream(ty: &Type) -> Option<StreamReturn> {
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
