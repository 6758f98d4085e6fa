//! Panics as errors: a hook that keeps the message of the panic unwinding a thread, for the
//! instrumented calls it unwinds to file.

thread_local! {
    /// The message of the panic unwinding this thread, set by the hook [`record_panics`] installs.
    static PANIC_MESSAGE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs a panic hook (keeping the one in place, which still runs) that lets instrumented calls
/// file their panics as error patterns, with the panic's message, type `panic`. Without it a panic
/// is still counted as an error and kept as an event, but its message is not known. [`init`]
/// installs it; calling this again does nothing.
///
/// [`init`]: crate::init
///
/// # Examples
///
/// ```
/// monitor_core::errors::record_panics();
/// ```
pub fn record_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            let _ = PANIC_MESSAGE.try_with(|m| *m.borrow_mut() = Some(message));
            previous(info);
        }));
    });
}

/// The message of the panic unwinding this thread, if the hook caught it. It stays for the
/// enclosing instrumented calls, which the same panic unwinds too.
pub(crate) fn message() -> Option<String> {
    PANIC_MESSAGE
        .try_with(|m| m.borrow().clone())
        .ok()
        .flatten()
}
