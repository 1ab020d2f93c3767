//! Building a repository index from package files, as `apk index` does.

use std::ffi::c_char;

use apk_pkg::IndexBuilder;

use crate::error::apk_result;
use crate::ffi::{Castable, OwnershipBox, free_box, path_from_bytes, to_boxed_mut_ptr};
use crate::index::write_signed_archive;
use crate::rslice::write_bytes;

/// Collects package files and writes an `APKINDEX` (plain text or a signed
/// `APKINDEX.tar.gz`) the way `apk index` does: one record per package with its identity
/// (`C:`), file size (`S:`) and `.PKGINFO` fields, sorted by name and then version. Made by
/// `apk_index_builder_new`, filled by `apk_index_builder_add_file`, freed by
/// `apk_index_builder_free`.
///
/// Functions taking a `const apk_index_builder *` only read it and may run on several
/// threads at once; the others must not run at the same time as any other use.
#[allow(non_camel_case_types)]
pub struct apk_index_builder {
    _private: [u8; 0],
}

impl Castable for apk_index_builder {
    type Ownership = OwnershipBox;
    type RustType = IndexBuilder;
}

impl apk_index_builder {
    /// A new builder with no packages, no description and no arch rewriting. The caller
    /// frees it with `apk_index_builder_free`. Returns NULL only on an internal error.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_new() -> *mut apk_index_builder {
        ffi_boundary! {
            to_boxed_mut_ptr(IndexBuilder::new())
        }
    }

    /// Frees a builder made by `apk_index_builder_new`. Does nothing when `builder` is NULL.
    /// Call it once per builder.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_free(builder: *mut apk_index_builder) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `builder` is NULL or a handle from
            // `apk_index_builder_new` that has not been freed.
            unsafe { free_box(builder) }
        }
    }

    /// Like `apk index --rewrite-arch`: packages whose arch is `noarch` are recorded with
    /// `arch` (NUL-terminated) instead, whether added before or after this call. NULL turns
    /// rewriting off again.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (for `builder`) or `APK_RESULT_INVALID_UTF8`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_set_rewrite_arch(
        builder: *mut apk_index_builder,
        arch: *const c_char,
    ) -> apk_result {
        ffi_boundary! {
            let builder = try_mut_from_ptr!(builder);
            let arch = try_opt_str!(arch);
            builder.rewrite_arch(arch.map(str::to_owned));
            apk_result::Ok
        }
    }

    /// Like `apk index -d`: the repository description (NUL-terminated) stored in the
    /// archive's `DESCRIPTION` member by `apk_index_builder_write_archive`. NULL removes it.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (for `builder`) or `APK_RESULT_INVALID_UTF8`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_set_description(
        builder: *mut apk_index_builder,
        description: *const c_char,
    ) -> apk_result {
        ffi_boundary! {
            let builder = try_mut_from_ptr!(builder);
            let description = try_opt_str!(description);
            builder.description(description.map(str::to_owned));
            apk_result::Ok
        }
    }

    /// Reads the package file at `path` (NUL-terminated) whole, checking its structure, file
    /// checksums and `datahash` (not its signature: see `apk_package_file_verify`), and adds
    /// its record to the index.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_IO`, `APK_RESULT_PACKAGE`,
    /// `APK_RESULT_CHECKSUM_MISMATCH`, `APK_RESULT_DATAHASH_MISMATCH`,
    /// `APK_RESULT_MALICIOUS_PATH` or `APK_RESULT_LIMIT_EXCEEDED`. On failure nothing is
    /// added.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_add_file(
        builder: *mut apk_index_builder,
        path: *const c_char,
    ) -> apk_result {
        ffi_boundary! {
            let builder = try_mut_from_ptr!(builder);
            let path = try_ok!(path_from_bytes(try_cstr_bytes!(path), "path"));
            try_ok!(builder.add_file(path));
            apk_result::Ok
        }
    }

    /// The number of packages added so far; 0 if `builder` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_len(builder: *const apk_index_builder) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(builder).packages().len()
        }
    }

    /// Writes the plain `APKINDEX` text of the packages added so far (what an archive's
    /// `APKINDEX` member holds; load it with `apk_index_load_text`). On success the text (not
    /// NUL-terminated) is stored in `*text_out` and its length in `*text_len_out`; the caller
    /// frees it with `apk_bytes_free(text, len)`, never with `free()`. An empty builder gives
    /// `*text_len_out == 0` (and a pointer that must still be freed).
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`. Outputs are written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_write_text(
        builder: *const apk_index_builder,
        text_out: *mut *mut u8,
        text_len_out: *mut usize,
    ) -> apk_result {
        ffi_boundary! {
            let builder = try_ref_from_ptr!(builder);
            let text_out = try_out!(text_out);
            let text_len_out = try_out!(text_len_out);
            write_bytes(builder.build(), text_out, text_len_out);
            apk_result::Ok
        }
    }

    /// Writes an `APKINDEX.tar.gz` of the packages added so far, with the description if one
    /// was set. Load it back with `apk_index_load_file` or `apk_index_load_buffer`.
    ///
    /// If `private_key_pem` (a NUL-terminated PEM RSA private key, `BEGIN RSA PRIVATE KEY` or
    /// `BEGIN PRIVATE KEY`, at least 1024 bits) is not NULL the archive is signed with it as
    /// `key_name` (NUL-terminated: the file name of the matching public key, e.g.
    /// `me@example.org-1.rsa.pub`), using RSA with SHA-1 as Alpine's own indexes are; with
    /// NULL the archive is unsigned and `key_name` is ignored (it may be NULL).
    ///
    /// On success the archive is stored in `*archive_out` and its length in
    /// `*archive_len_out`; the caller frees it with `apk_bytes_free(archive, len)`, never
    /// with `free()`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_UTF8` (for `key_name`),
    /// `APK_RESULT_KEY` (the private key does not parse, is too small, or `key_name` is
    /// empty or holds a `/`) or `APK_RESULT_SIGN`. Outputs are written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_builder_write_archive(
        builder: *const apk_index_builder,
        private_key_pem: *const c_char,
        key_name: *const c_char,
        archive_out: *mut *mut u8,
        archive_len_out: *mut usize,
    ) -> apk_result {
        ffi_boundary! {
            let builder = try_ref_from_ptr!(builder);
            write_signed_archive(private_key_pem, key_name, archive_out, archive_len_out, |keys| {
                builder.write_archive(keys)
            })
        }
    }
}
