//! Trusted public keys, each known by its file name (like `/etc/apk/keys`).

use std::ffi::c_char;

use apk_index::KeySet;

use crate::error::apk_result;
use crate::ffi::{Castable, OwnershipBox, free_box, path_from_bytes, to_boxed_mut_ptr};

/// A set of trusted public keys (RSA, or ECDSA P-256 for v3 files), each known by the file
/// name it would have in `/etc/apk/keys` (a v2 signature names the key it was made with; a v3
/// one names it by key id). Made by
/// `apk_keyset_new`, filled by `apk_keyset_load_dir` and `apk_keyset_add_pem`, freed by
/// `apk_keyset_free`.
///
/// Functions taking a `const apk_keyset *` only read it and may run on several threads at
/// once; the functions that add keys must not run at the same time as any other use.
#[allow(non_camel_case_types)]
pub struct apk_keyset {
    _private: [u8; 0],
}

impl Castable for apk_keyset {
    type Ownership = OwnershipBox;
    type RustType = KeySet;
}

impl apk_keyset {
    /// A new, empty key set. The caller frees it with `apk_keyset_free`. Returns NULL only
    /// on an internal error.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_keyset_new() -> *mut apk_keyset {
        ffi_boundary! {
            to_boxed_mut_ptr(KeySet::new())
        }
    }

    /// Adds every public key in directory `path` (NUL-terminated), each named by its file
    /// name, replacing keys of the same name already in `keyset`.
    ///
    /// Symbolic links are followed; subdirectories, dangling links, files over 1 MiB and files
    /// without a `BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY` block are skipped.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_IO` (the directory or a file cannot be
    /// read) or `APK_RESULT_KEY` (a file holds a public key block that does not parse). On
    /// failure `keyset` is unchanged.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_keyset_load_dir(
        keyset: *mut apk_keyset,
        path: *const c_char,
    ) -> apk_result {
        ffi_boundary! {
            let keyset = try_mut_from_ptr!(keyset);
            let path = try_ok!(path_from_bytes(try_cstr_bytes!(path), "path"));
            let loaded = try_ok!(KeySet::from_dir(path));
            for (name, key) in loaded.iter() {
                keyset.insert(name, key.clone());
            }
            apk_result::Ok
        }
    }

    /// Adds the PEM public key (`BEGIN PUBLIC KEY`, RSA or ECDSA P-256, or `BEGIN RSA PUBLIC
    /// KEY`) in `pem` (`len` bytes, no NUL needed) as `name` (NUL-terminated; the key's file
    /// name, e.g.
    /// `alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`), replacing a key of that name.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_UTF8` (for `name`) or
    /// `APK_RESULT_KEY`. On failure `keyset` is unchanged.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_keyset_add_pem(
        keyset: *mut apk_keyset,
        name: *const c_char,
        pem: *const u8,
        len: usize,
    ) -> apk_result {
        ffi_boundary! {
            let keyset = try_mut_from_ptr!(keyset);
            let name = try_str!(name);
            let pem = try_slice!(pem, len);
            try_ok!(keyset.add_pem(name, pem));
            apk_result::Ok
        }
    }

    /// The number of keys in `keyset`; 0 if it is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_keyset_len(keyset: *const apk_keyset) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(keyset).len()
        }
    }

    /// Frees a key set made by `apk_keyset_new`. Does nothing when `keyset` is NULL. Indexes
    /// loaded with it do not need it any more. Call it once per key set.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_keyset_free(keyset: *mut apk_keyset) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `keyset` is NULL or a handle from
            // `apk_keyset_new` that has not been freed.
            unsafe { free_box(keyset) }
        }
    }
}
