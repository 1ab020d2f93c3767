//! Borrowed string views and owned byte buffers handed to C.

use std::ffi::c_char;

use crate::ffi::Out;

/// A borrowed UTF-8 string: `len` bytes at `data`, NOT NUL-terminated (print it with
/// `printf("%.*s", (int)s.len, s.data)`).
///
/// The bytes belong to the object that returned the view; the view stays valid as long as
/// that object (for package and index strings: the `apk_index`; for package file strings:
/// the `apk_package_file`) is not freed. Never free `data`.
///
/// An absent value (a package without an `A:` architecture, an index without a description,
/// a NULL handle) is `{ NULL, 0 }`. A present but empty value has a non-NULL `data` and
/// `len == 0`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct apk_str {
    /// The first byte, or NULL when the value is absent.
    pub data: *const c_char,
    /// The number of bytes.
    pub len: usize,
}

impl apk_str {
    /// The absent value, `{ NULL, 0 }`.
    pub(crate) const NONE: apk_str = apk_str {
        data: std::ptr::null(),
        len: 0,
    };

    /// A view of `text`; the caller makes sure `text` outlives what C is told.
    pub(crate) fn new(text: &str) -> apk_str {
        apk_str {
            data: text.as_ptr().cast::<c_char>(),
            len: text.len(),
        }
    }

    /// A view of `text`, or [`apk_str::NONE`].
    pub(crate) fn from_option(text: Option<&str>) -> apk_str {
        text.map_or(apk_str::NONE, apk_str::new)
    }
}

impl Default for apk_str {
    fn default() -> Self {
        apk_str::NONE
    }
}

/// Hands `bytes` to C as a leaked `Box<[u8]>`: stores the pointer in `data_out` and the
/// length to pass back to `apk_bytes_free` in `len_out`.
pub(crate) fn write_bytes(bytes: Vec<u8>, data_out: Out<*mut u8>, len_out: Out<usize>) {
    let boxed: Box<[u8]> = bytes.into_boxed_slice();
    let len = boxed.len();
    data_out.write(Box::into_raw(boxed).cast::<u8>());
    len_out.write(len);
}

/// Frees a buffer returned by a function of this library together with its length, such as
/// the archive written by `apk_index_write_archive` or `apk_index_builder_write_archive`.
/// Does nothing when `data` is NULL.
///
/// `len` must be the length returned with the buffer. Call it exactly once per buffer; never
/// pass the buffer to `free()`.
#[unsafe(no_mangle)]
pub extern "C" fn apk_bytes_free(data: *mut u8, len: usize) {
    ffi_boundary! {
        if data.is_null() {
            return;
        }
        let slice = std::ptr::slice_from_raw_parts_mut(data, len);
        // SAFETY: the function's contract is that `data` and `len` were returned together by
        // `bytes_to_c` (a leaked `Box<[u8]>` of exactly `len` bytes) and are freed only now.
        drop(unsafe { Box::from_raw(slice) });
    }
}
