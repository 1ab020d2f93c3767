//! The panic boundary: no Rust panic may unwind into C.
//!
//! Every exported function wraps its whole body in `ffi_boundary!`, or is one call of a private
//! helper whose body is (such as the package getters). A panic inside is caught
//! and turned into the function's failure value (see [`Failure`](crate::error::Failure)):
//! `APK_RESULT_PANIC` plus a last-error message for functions returning `apk_result`, and
//! NULL, 0, `false` or an empty string for the others. Since Rust 1.81 a panic escaping an
//! `extern "C"` function aborts the process; catching it gives C a code instead.

use std::any::Any;

/// Runs the body in a closure under `catch_unwind` and returns its value, or the enclosing
/// function's failure value if it panicked.
///
/// A `return` inside the body returns from the closure, so the `try_*` macros of
/// [`ffi`](crate::ffi) can be used inside it as early exits.
macro_rules! ffi_boundary {
    ( $($body:tt)* ) => {
        // AssertUnwindSafe: after a panic we touch nothing the closure could have left
        // half-updated; we only build the failure value (and set the thread's last error).
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* })) {
            Ok(value) => value,
            Err(payload) => $crate::error::Failure::fail($crate::error::Error::Panic(
                $crate::panic::payload_message(payload),
            )),
        }
    };
}

/// The text of a panic payload (`panic!` with a literal or a format string gives one), or a
/// placeholder for other payloads.
pub(crate) fn payload_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_owned(),
            Err(_) => "a panic with a non-text payload".to_owned(),
        },
    }
}
