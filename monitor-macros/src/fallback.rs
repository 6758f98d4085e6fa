//! What a macro emits when its input is wrong: the error, and the function as it was written.
//!
//! Emitting the untouched item keeps the rest of the crate compiling against it, so the user sees
//! our one error rather than a cascade about a missing function.

use proc_macro2::TokenStream;

/// How a step failed.
pub(crate) enum Failure {
    /// Our own error, with the span of the offending token.
    Error(syn::Error),
    /// The item is not valid Rust; rustc will say why at the user's token, so we add nothing.
    LeaveToRustc,
}

impl From<syn::Error> for Failure {
    fn from(error: syn::Error) -> Self {
        Failure::Error(error)
    }
}

pub(crate) fn emit(failure: Failure, item: TokenStream) -> TokenStream {
    match failure {
        Failure::Error(error) => {
            let error = error.to_compile_error();
            quote::quote! { #error #item }
        }
        Failure::LeaveToRustc => item,
    }
}
