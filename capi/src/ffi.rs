//! Pointer plumbing: handle casts, NULL checks, output parameters and caller buffers.
//!
//! C sees each Rust object through an opaque handle type (`apk_index`, `apk_keyset`, …). The
//! [`Castable`] trait ties a handle type to the Rust type behind it and to who owns that
//! object: C ([`OwnershipBox`], freed by the matching `apk_*_free`) or another object
//! ([`OwnershipRef`], borrowed and never freed by C). Every conversion between a handle
//! pointer and a Rust reference goes through the generic helpers here, so the pairing of
//! handle and type is stated once, in the `Castable` impl, and never by a pointer cast at a
//! call site.
//!
//! The `try_*` macros check a parameter and `return` the enclosing function's failure value
//! ([`Failure`]) when it is NULL or invalid. They are meant to be used
//! inside `ffi_boundary!`, whose closure they return from.

use std::ffi::c_char;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::error::{Error, Failure, apk_result};

/// Ties an opaque handle type to the Rust type it stands for.
pub(crate) trait Castable {
    /// [`OwnershipBox`] or [`OwnershipRef`].
    type Ownership;
    /// The Rust type a handle pointer really points to.
    type RustType;
}

/// The handle was made by `Box::into_raw` and C owns it until it calls the `_free` function.
pub(crate) struct OwnershipBox;

/// The handle points into an object owned by another handle; C never frees it.
pub(crate) struct OwnershipRef;

/// Moves `value` to the heap and hands ownership to C as a `*mut C`.
pub(crate) fn to_boxed_mut_ptr<C>(value: C::RustType) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    Box::into_raw(Box::new(value)).cast::<C>()
}

/// Hands an already boxed value to C as a `*mut C`.
pub(crate) fn box_to_mut_ptr<C>(value: Box<C::RustType>) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    Box::into_raw(value).cast::<C>()
}

/// A `*const C` handle for a value owned elsewhere.
pub(crate) fn ref_to_const_ptr<C>(value: &C::RustType) -> *const C
where
    C: Castable<Ownership = OwnershipRef>,
{
    std::ptr::from_ref(value).cast::<C>()
}

/// Drops the object behind a handle C owns; does nothing for NULL.
///
/// # Safety
///
/// `ptr` is NULL or was returned by [`to_boxed_mut_ptr`]/[`box_to_mut_ptr`] for the same `C`
/// and has not been freed yet.
pub(crate) unsafe fn free_box<C>(ptr: *mut C)
where
    C: Castable<Ownership = OwnershipBox>,
{
    if ptr.is_null() {
        return;
    }
    // SAFETY: per this function's contract the pointer came from `Box::into_raw` of a
    // `Box<C::RustType>` and is freed only now.
    drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
}

/// The object behind a handle, or `None` for NULL.
///
/// # Safety
///
/// `ptr` is NULL or a live handle of type `C` (made by this crate, not yet freed, and for a
/// borrowed handle its owner not yet freed) that is not being mutated during `'a`.
pub(crate) unsafe fn try_ref<'a, C: Castable>(ptr: *const C) -> Option<&'a C::RustType> {
    // SAFETY: per this function's contract a non-NULL `ptr` points to a live `C::RustType`.
    unsafe { ptr.cast::<C::RustType>().as_ref() }
}

/// The object behind a handle C owns, mutably, or `None` for NULL.
///
/// # Safety
///
/// `ptr` is NULL or a live handle of type `C` that nothing else uses during `'a`.
pub(crate) unsafe fn try_mut<'a, C>(ptr: *mut C) -> Option<&'a mut C::RustType>
where
    C: Castable<Ownership = OwnershipBox>,
{
    // SAFETY: per this function's contract a non-NULL `ptr` points to a live `C::RustType`
    // that is not aliased.
    unsafe { ptr.cast::<C::RustType>().as_mut() }
}

/// A checked, non-NULL output parameter (`T *x_out`), written at most once, on success.
pub(crate) struct Out<T> {
    ptr: NonNull<T>,
}

impl<T> Out<T> {
    /// Wraps a non-NULL output pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for writing a `T` (the C caller's side of the contract).
    pub(crate) unsafe fn new(ptr: NonNull<T>) -> Out<T> {
        Out { ptr }
    }

    /// Stores the result. The previous contents are not read or dropped (they may be
    /// uninitialised).
    pub(crate) fn write(self, value: T) {
        // SAFETY: `Out::new`'s contract makes the pointer valid for a write of `T`.
        unsafe { self.ptr.as_ptr().write(value) }
    }
}

/// A caller-provided text buffer, `char *buf, size_t len`, checked to be usable: `buf` is
/// non-NULL or `len` is 0.
pub(crate) struct TextBuf<'a> {
    ptr: *mut c_char,
    len: usize,
    _buf: PhantomData<&'a mut [c_char]>,
}

impl TextBuf<'_> {
    /// Wraps a buffer.
    ///
    /// # Safety
    ///
    /// If `len > 0`, `ptr` must be non-NULL and valid for writing `len` bytes.
    pub(crate) unsafe fn new(ptr: *mut c_char, len: usize) -> Self {
        TextBuf {
            ptr,
            len,
            _buf: PhantomData,
        }
    }

    /// Copies `text` and a NUL into the buffer and stores `text.len()` in `out_len`.
    ///
    /// If the text and its NUL do not fit, the buffer is left untouched, `out_len` still
    /// receives `text.len()` (so the caller can retry with `text.len() + 1` bytes) and the
    /// result is `APK_RESULT_INSUFFICIENT_SIZE`.
    pub(crate) fn fill(self, text: &str, out_len: Out<usize>) -> apk_result {
        out_len.write(text.len());
        if text.len() >= self.len {
            return apk_result::fail(Error::InsufficientSize {
                needed: text.len() + 1,
                len: self.len,
            });
        }
        // SAFETY: `len > text.len() >= 0`, so by `TextBuf::new`'s contract `ptr` is valid for
        // `len >= text.len() + 1` bytes; the source is Rust memory and cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), self.ptr.cast::<u8>(), text.len());
            self.ptr.add(text.len()).write(0);
        }
        apk_result::Ok
    }
}

/// A file system path from the bytes of a C string: any bytes on Unix, UTF-8 elsewhere.
pub(crate) fn path_from_bytes<'a>(
    bytes: &'a [u8],
    parameter: &'static str,
) -> Result<&'a std::path::Path, Error> {
    #[cfg(unix)]
    {
        let _ = parameter;
        Ok(std::path::Path::new(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes),
        ))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes)
            .map(std::path::Path::new)
            .map_err(|_| Error::InvalidUtf8(parameter))
    }
}

/// `return`s the enclosing function's failure value for a NULL or invalid parameter.
macro_rules! fail {
    ($error:expr) => {
        return $crate::error::Failure::fail($error)
    };
}

/// `&RustType` behind a `const` handle; NULL fails with `NULL_PARAMETER`.
macro_rules! try_ref_from_ptr {
    ($ptr:ident) => {
        match try_opt_ref_from_ptr!($ptr) {
            Some(value) => value,
            None => fail!($crate::error::Error::NullParameter(stringify!($ptr))),
        }
    };
}

/// `Option<&RustType>` behind a `const` handle that may be NULL.
macro_rules! try_opt_ref_from_ptr {
    ($ptr:ident) => {
        // SAFETY: the exported function's contract (stated in the header) is that a non-NULL
        // handle is live and was made by this library for this type.
        unsafe { $crate::ffi::try_ref($ptr) }
    };
}

/// `&mut RustType` behind an owned handle; NULL fails with `NULL_PARAMETER`.
macro_rules! try_mut_from_ptr {
    ($ptr:ident) => {
        // SAFETY: the exported function's contract is that a non-NULL handle is live, made by
        // this library for this type, and not used by another thread during the call.
        match unsafe { $crate::ffi::try_mut($ptr) } {
            Some(value) => value,
            None => fail!($crate::error::Error::NullParameter(stringify!($ptr))),
        }
    };
}

/// An [`Out`] for a `T *x_out` parameter; NULL fails with `NULL_PARAMETER`.
macro_rules! try_out {
    ($ptr:ident) => {
        match ::std::ptr::NonNull::new($ptr) {
            // SAFETY: the exported function's contract is that a non-NULL output pointer is
            // valid for writing its pointee type.
            Some(ptr) => unsafe { $crate::ffi::Out::new(ptr) },
            None => fail!($crate::error::Error::NullParameter(stringify!($ptr))),
        }
    };
}

/// An `Option<`[`Out`]`>` for an optional `T *x_out` parameter: `None` for NULL.
macro_rules! try_opt_out {
    ($ptr:ident) => {
        // SAFETY: the exported function's contract is that a non-NULL output pointer is
        // valid for writing its pointee type.
        ::std::ptr::NonNull::new($ptr).map(|ptr| unsafe { $crate::ffi::Out::new(ptr) })
    };
}

/// A [`TextBuf`] for `char *buf, size_t len`; a NULL `buf` is accepted
/// only with `len == 0`.
macro_rules! try_text_buf {
    ($buf:ident, $len:ident) => {
        if $buf.is_null() && $len > 0 {
            fail!($crate::error::Error::NullParameter(stringify!($buf)))
        } else {
            // SAFETY: `buf` is non-NULL (or `len` is 0) and the exported function's contract
            // is that it points to `len` writable bytes.
            unsafe { $crate::ffi::TextBuf::new($buf, $len) }
        }
    };
}

/// The bytes of `const uint8_t *data, size_t len`; a NULL `data` is accepted only with
/// `len == 0` and reads as empty.
macro_rules! try_slice {
    ($ptr:ident, $len:ident) => {
        if $ptr.is_null() {
            if $len > 0 {
                fail!($crate::error::Error::NullParameter(stringify!($ptr)))
            }
            &[][..]
        } else {
            // SAFETY: non-NULL, and the exported function's contract is that it points to
            // `len` readable bytes that stay unchanged during the call.
            unsafe { ::std::slice::from_raw_parts($ptr, $len) }
        }
    };
}

/// The bytes of a NUL-terminated `const char *` (without the NUL), or `None` for NULL.
macro_rules! try_opt_cstr_bytes {
    ($ptr:ident) => {
        if $ptr.is_null() {
            None
        } else {
            // SAFETY: non-NULL, and the exported function's contract is that it points to a
            // NUL-terminated string that stays unchanged during the call.
            Some(unsafe { ::std::ffi::CStr::from_ptr($ptr) }.to_bytes())
        }
    };
}

/// The bytes of a NUL-terminated `const char *` (without the NUL); NULL fails.
macro_rules! try_cstr_bytes {
    ($ptr:ident) => {
        match try_opt_cstr_bytes!($ptr) {
            Some(bytes) => bytes,
            None => fail!($crate::error::Error::NullParameter(stringify!($ptr))),
        }
    };
}

/// A NUL-terminated `const char *` as `&str`, or `None` for NULL; non-UTF-8 fails.
macro_rules! try_opt_str {
    ($ptr:ident) => {
        match try_opt_cstr_bytes!($ptr).map(::std::str::from_utf8) {
            None => None,
            Some(Ok(text)) => Some(text),
            Some(Err(_)) => fail!($crate::error::Error::InvalidUtf8(stringify!($ptr))),
        }
    };
}

/// A NUL-terminated `const char *` as `&str`; NULL or non-UTF-8 fails.
macro_rules! try_str {
    ($ptr:ident) => {
        match try_opt_str!($ptr) {
            Some(text) => text,
            None => fail!($crate::error::Error::NullParameter(stringify!($ptr))),
        }
    };
}

/// The `Ok` value of a `Result` whose error converts into [`Error`];
/// an `Err` fails.
macro_rules! try_ok {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(error) => fail!($crate::error::Error::from(error)),
        }
    };
}
