//! What a return value says about the call: error or not, HTTP status, payload size.
//!
//! Generated code asks through [`Probe`] with autoref specialisation: `(&Probe(&value)).method()`
//! picks the impl for the value's own type when there is one, and the catch-all impl on
//! `&Probe<T>` otherwise. The choice is made at compile time at the call site, where the type is
//! concrete, so any type compiles and the common types cost no more than a field read.

/// What one call's return value told.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The type name of the error, for a `Result::Err` that carried no HTTP status.
    pub error_type: Option<&'static str>,
    /// The error's message (`Display`, else `Debug`), read only when there is an error.
    pub error_message: Option<String>,
    /// HTTP status, 0 when the value carries none.
    pub status: u16,
    /// Size of the response payload, when the value knows it.
    pub response_bytes: Option<u64>,
    pub(crate) panicked: bool,
}

impl Outcome {
    /// Nothing known beyond "returned".
    pub const OK: Outcome = Outcome {
        error_type: None,
        error_message: None,
        status: 0,
        response_bytes: None,
        panicked: false,
    };
    pub(crate) const PANICKED: Outcome = Outcome {
        panicked: true,
        ..Outcome::OK
    };

    /// `Err` without a status, a 5xx status, or a panic.
    #[inline(always)]
    pub(crate) fn is_error(&self) -> bool {
        self.error_type.is_some() || self.status >= 500 || self.panicked
    }

    #[inline(always)]
    pub(crate) fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status)
    }

    /// A value that reported `failure` though it was returned: an error with the failure's type
    /// and message, unless the call had already failed otherwise.
    #[cold]
    pub(crate) fn fail_with(&mut self, failure: crate::usage::Failure<'_>) {
        if !self.is_error() {
            self.error_type = Some(failure.error_type);
            self.error_message = Some(failure.message.into_owned());
        }
    }

    /// 0 for 1xx … 4 for 5xx.
    #[inline(always)]
    pub(crate) fn status_class(&self) -> Option<usize> {
        matches!(self.status, 100..=599).then(|| usize::from(self.status / 100 - 1))
    }
}

/// Wraps a reference for autoref-specialised probing. Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// Splits a `Result` into its error and its value.
#[doc(hidden)]
pub trait SplitResult<'a> {
    type Ok: ?Sized;
    type Err: ?Sized;
    fn __monitor_split(&self) -> (Option<&'a Self::Err>, Option<&'a Self::Ok>);
}

impl<'a, T, E> SplitResult<'a> for Probe<'a, Result<T, E>> {
    type Ok = T;
    type Err = E;
    #[inline(always)]
    fn __monitor_split(&self) -> (Option<&'a E>, Option<&'a T>) {
        match self.0 {
            Ok(value) => (None, Some(value)),
            Err(error) => (Some(error), None),
        }
    }
}

/// Any other value is its own "ok" part.
#[doc(hidden)]
pub trait SplitAny<'a> {
    type Ok: ?Sized;
    fn __monitor_split(&self) -> (Option<&'a core::convert::Infallible>, Option<&'a Self::Ok>);
}

impl<'a, T: ?Sized> SplitAny<'a> for &Probe<'a, T> {
    type Ok = T;
    #[inline(always)]
    fn __monitor_split(&self) -> (Option<&'a core::convert::Infallible>, Option<&'a T>) {
        (None, Some(self.0))
    }
}

/// The HTTP status a value carries; 0 for none.
#[doc(hidden)]
pub trait Status {
    fn __monitor_status(&self) -> u16;
}

/// Catch-all: no status.
#[doc(hidden)]
pub trait StatusAny {
    fn __monitor_status(&self) -> u16;
}

impl<T: ?Sized> StatusAny for &Probe<'_, T> {
    #[inline(always)]
    fn __monitor_status(&self) -> u16 {
        0
    }
}

/// The size in bytes of the payload a value carries, when known.
#[doc(hidden)]
pub trait Size {
    fn __monitor_size(&self) -> Option<u64>;
}

/// Catch-all: size unknown.
#[doc(hidden)]
pub trait SizeAny {
    fn __monitor_size(&self) -> Option<u64>;
}

impl<T: ?Sized> SizeAny for &Probe<'_, T> {
    #[inline(always)]
    fn __monitor_size(&self) -> Option<u64> {
        None
    }
}

macro_rules! sized_by_len {
    ($($ty:ty),* $(,)?) => {$(
        impl Size for Probe<'_, $ty> {
            #[inline(always)]
            fn __monitor_size(&self) -> Option<u64> {
                Some(self.0.len() as u64)
            }
        }
    )*};
}

sized_by_len!(
    String,
    str,
    &str,
    Vec<u8>,
    [u8],
    &[u8],
    Box<str>,
    Box<[u8]>,
    std::borrow::Cow<'_, str>
);

#[cfg(feature = "http")]
mod http_impls {
    use super::{Probe, Size, Status};
    use http::{HeaderMap, Request, Response, StatusCode, header::CONTENT_LENGTH};
    use http_body::Body;

    sized_by_len!(bytes::Bytes, bytes::BytesMut);

    impl Status for Probe<'_, StatusCode> {
        #[inline(always)]
        fn __monitor_status(&self) -> u16 {
            self.0.as_u16()
        }
    }

    impl<B> Status for Probe<'_, Response<B>> {
        #[inline(always)]
        fn __monitor_status(&self) -> u16 {
            self.0.status().as_u16()
        }
    }

    impl<T> Status for Probe<'_, (StatusCode, T)> {
        #[inline(always)]
        fn __monitor_status(&self) -> u16 {
            self.0.0.as_u16()
        }
    }

    impl<T> Status for Probe<'_, (StatusCode, HeaderMap, T)> {
        #[inline(always)]
        fn __monitor_status(&self) -> u16 {
            self.0.0.as_u16()
        }
    }

    /// `Content-Length` if set, else the body's exact size if it knows one.
    fn body_size<B: Body>(headers: &HeaderMap, body: &B) -> Option<u64> {
        headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| body.size_hint().exact())
    }

    impl<B: Body> Size for Probe<'_, Response<B>> {
        fn __monitor_size(&self) -> Option<u64> {
            body_size(self.0.headers(), self.0.body())
        }
    }

    impl<B: Body> Size for Probe<'_, Request<B>> {
        fn __monitor_size(&self) -> Option<u64> {
            body_size(self.0.headers(), self.0.body())
        }
    }

    macro_rules! status_pair_sized {
        ($($ty:ty),* $(,)?) => {$(
            impl Size for Probe<'_, (StatusCode, $ty)> {
                #[inline(always)]
                fn __monitor_size(&self) -> Option<u64> {
                    Some(self.0.1.len() as u64)
                }
            }
        )*};
    }

    status_pair_sized!(String, &str, Vec<u8>, &[u8], bytes::Bytes);
}

/// An error value, for reading its message by autoderef specialisation: `Display` if it has one,
/// else `Debug`, else its type name. Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct ErrorText<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait TextDisplay {
    fn __monitor_error_text(&self) -> String;
}

impl<T: std::fmt::Display + ?Sized> TextDisplay for &&ErrorText<'_, T> {
    fn __monitor_error_text(&self) -> String {
        // `{:#}` gives the whole chain for error types that print one (anyhow, eyre).
        format!("{:#}", self.0)
    }
}

#[doc(hidden)]
pub trait TextDebug {
    fn __monitor_error_text(&self) -> String;
}

impl<T: std::fmt::Debug + ?Sized> TextDebug for &ErrorText<'_, T> {
    fn __monitor_error_text(&self) -> String {
        format!("{:?}", self.0)
    }
}

#[doc(hidden)]
pub trait TextNone {
    fn __monitor_error_text(&self) -> String;
}

impl<T: ?Sized> TextNone for ErrorText<'_, T> {
    fn __monitor_error_text(&self) -> String {
        std::any::type_name::<T>().to_owned()
    }
}

/// An error value, for reading its type by autoref specialisation: what its
/// [`ErrorType`](crate::errors::ErrorType) says if it has one, else its type's name. Not public
/// API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct ErrorKind<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ErrorTypeOwn {
    fn __monitor_error_type(&self) -> &'static str;
}

impl<T: crate::errors::ErrorType + ?Sized> ErrorTypeOwn for ErrorKind<'_, T> {
    #[inline]
    fn __monitor_error_type(&self) -> &'static str {
        self.0.error_type()
    }
}

#[doc(hidden)]
pub trait ErrorTypeName {
    fn __monitor_error_type(&self) -> &'static str;
}

impl<T: ?Sized> ErrorTypeName for &ErrorKind<'_, T> {
    #[inline(always)]
    fn __monitor_error_type(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// Classifies a returned value, given a reference to it. Not public API. Used by generated code.
#[doc(hidden)]
#[macro_export]
macro_rules! __monitor_outcome {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{
            Size as _, SizeAny as _, SplitAny as _, SplitResult as _, Status as _, StatusAny as _,
        };
        let (error, ok) = (&$crate::__private::Probe($value)).__monitor_split();
        let mut outcome = $crate::__private::Outcome::OK;
        if let ::core::option::Option::Some(error) = error {
            // An error that carries an HTTP status (axum's `Err(StatusCode::NOT_FOUND)`) is
            // classified by that status: a 404 is the client's mistake, not a failure.
            outcome.status = (&$crate::__private::Probe(error)).__monitor_status();
            if outcome.status == 0 || outcome.status >= 500 {
                #[allow(unused_imports)]
                use $crate::__private::{ErrorTypeName as _, ErrorTypeOwn as _};
                #[allow(unused_imports)]
                use $crate::__private::{TextDebug as _, TextDisplay as _, TextNone as _};
                outcome.error_type = ::core::option::Option::Some(
                    (&$crate::__private::ErrorKind(error)).__monitor_error_type(),
                );
                outcome.error_message = ::core::option::Option::Some(
                    (&&&$crate::__private::ErrorText(error)).__monitor_error_text(),
                );
            }
        }
        if let ::core::option::Option::Some(ok) = ok {
            outcome.status = (&$crate::__private::Probe(ok)).__monitor_status();
            outcome.response_bytes = (&$crate::__private::Probe(ok)).__monitor_size();
        }
        outcome
    }};
}

/// Size of an argument, when its type tells one. Not public API. Used by generated code.
#[doc(hidden)]
#[macro_export]
macro_rules! __monitor_size_of {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{Size as _, SizeAny as _};
        (&$crate::__private::Probe($value))
            .__monitor_size()
            .unwrap_or(0)
    }};
}
