//! Repository indexes: loading (`APKINDEX.tar.gz`, v3 `Packages.adb` or plain APKINDEX text)
//! and writing.

use std::ffi::{c_char, c_int};
use std::sync::Arc;

use ::apk_index::archive::{WriteArchiveError, write_index_archive};
use ::apk_index::keys::{SignatureAlgorithm, SigningKey};
use ::apk_index::{Index, IndexOptions};

use crate::error::{Error, apk_result};
use crate::ffi::{
    Castable, OwnershipBox, box_to_mut_ptr, free_box, path_from_bytes, ref_to_const_ptr,
};
use crate::keyset::apk_keyset;
use crate::package::{PackageHandle, apk_package};
use crate::package_file::is_adb_file;
use crate::rslice::{apk_str, write_bytes};
use crate::version::rules_from_c;

/// A loaded repository index: its packages in file order, plus the description and the name
/// of the key that verified it. Made by the `apk_index_load_*` functions, freed by
/// `apk_index_free`.
///
/// An index never changes after loading, so any number of threads may read one at once.
/// Everything borrowed from it (`apk_package` handles, `apk_str` views) is valid until
/// `apk_index_free`.
#[allow(non_camel_case_types)]
pub struct apk_index {
    _private: [u8; 0],
}

/// What an `apk_index` handle points to: the index and one package handle per package, so
/// `apk_index_package` can hand out stable pointers.
pub(crate) struct IndexHandle {
    index: Arc<Index>,
    packages: Box<[PackageHandle]>,
}

impl Castable for apk_index {
    type Ownership = OwnershipBox;
    type RustType = IndexHandle;
}

impl IndexHandle {
    /// The loaded index, shared (a solver reads it while it is built).
    pub(crate) fn shared(&self) -> Arc<Index> {
        Arc::clone(&self.index)
    }

    fn new(index: Index) -> Box<IndexHandle> {
        let index = Arc::new(index);
        let packages = (0..index.len())
            .map(|position| PackageHandle::new(Arc::clone(&index), position))
            .collect();
        Box::new(IndexHandle { index, packages })
    }
}

impl apk_index {
    /// Reads the `APKINDEX.tar.gz` file at `path` (NUL-terminated) and loads its index under
    /// `rules` (an `apk_rules` value). If `keys` is not NULL the signature is verified against
    /// it first; with NULL no verification is done. The new index is stored in `*index_out`;
    /// the caller frees it with `apk_index_free`. `keys` may be freed afterwards.
    ///
    /// A v3 index (`Packages.adb`: a file starting with `ADB`, any compression) is loaded the
    /// same way. Its signatures name their keys by key id, so the file names of `keys` do not
    /// matter; `apk_index_signed_by` gives the file name the verifying key has in `keys`, and
    /// `apk_package_identity` the first 20 bytes of each entry's SHA-256 package hash, in the
    /// `Q1` form (what apk-tools 3 identifies packages by and records as `C:`). A malformed
    /// v3 index gives `APK_RESULT_ARCHIVE`.
    ///
    /// Records apk-tools would refuse to install (an invalid version, an unknown required
    /// field) do not fail the load: such packages load and `apk_package_installable` returns
    /// `false` for them.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_RULES`, `APK_RESULT_IO`,
    /// `APK_RESULT_ARCHIVE` (not a well-formed index archive), and with `keys`:
    /// `APK_RESULT_UNSIGNED` (no signature), `APK_RESULT_UNTRUSTED` (signed only by keys not in
    /// `keys`) or `APK_RESULT_BAD_SIGNATURE` (a trusted key's signature does not match).
    /// `*index_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_load_file(
        path: *const c_char,
        keys: *const apk_keyset,
        rules: c_int,
        index_out: *mut *mut apk_index,
    ) -> apk_result {
        ffi_boundary! {
            let path = try_ok!(path_from_bytes(try_cstr_bytes!(path), "path"));
            let keys = try_opt_ref_from_ptr!(keys);
            let index_out = try_out!(index_out);
            let options = IndexOptions { rules: try_ok!(rules_from_c(rules)) };
            let index = if is_adb_file(path) {
                let data = try_ok!(std::fs::read(path).map_err(|source| {
                    Error::LoadIndex(::apk_index::LoadIndexError::Io {
                        path: path.to_owned(),
                        source,
                    })
                }));
                try_ok!(Index::from_adb_bytes(&data, keys, &options).map_err(Error::AdbIndex))
            } else {
                try_ok!(Index::open(path, keys, &options))
            };
            index_out.write(box_to_mut_ptr(IndexHandle::new(index)));
            apk_result::Ok
        }
    }

    /// Like `apk_index_load_file`, for an `APKINDEX.tar.gz` (or a v3 `Packages.adb`, starting
    /// with `ADB`) already in memory: `len` bytes at `data`. The bytes are not needed after
    /// the call. Same results, except that there is no `APK_RESULT_IO`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_load_buffer(
        data: *const u8,
        len: usize,
        keys: *const apk_keyset,
        rules: c_int,
        index_out: *mut *mut apk_index,
    ) -> apk_result {
        ffi_boundary! {
            let data = try_slice!(data, len);
            let keys = try_opt_ref_from_ptr!(keys);
            let index_out = try_out!(index_out);
            let options = IndexOptions { rules: try_ok!(rules_from_c(rules)) };
            let index = if data.starts_with(b"ADB") {
                try_ok!(Index::from_adb_bytes(data, keys, &options).map_err(Error::AdbIndex))
            } else {
                try_ok!(Index::from_archive_bytes(data, keys, &options))
            };
            index_out.write(box_to_mut_ptr(IndexHandle::new(index)));
            apk_result::Ok
        }
    }

    /// Loads plain APKINDEX text (the `APKINDEX` member of an archive, uncompressed): `len`
    /// bytes at `data`, copied, so they are not needed after the call. There is no signature
    /// to check and no description. Text that is not UTF-8 is read with replacement
    /// characters; records without a name are dropped. The new index is stored in
    /// `*index_out`; the caller frees it with `apk_index_free`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (`data` may be NULL only when `len` is 0) or
    /// `APK_RESULT_INVALID_RULES`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_load_text(
        data: *const u8,
        len: usize,
        rules: c_int,
        index_out: *mut *mut apk_index,
    ) -> apk_result {
        ffi_boundary! {
            let data = try_slice!(data, len);
            let index_out = try_out!(index_out);
            let options = IndexOptions { rules: try_ok!(rules_from_c(rules)) };
            let index = Index::from_text(data.to_vec(), &options);
            index_out.write(box_to_mut_ptr(IndexHandle::new(index)));
            apk_result::Ok
        }
    }

    /// The number of packages in `index`; 0 if it is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_len(index: *const apk_index) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(index).packages.len()
        }
    }

    /// The archive's `DESCRIPTION` (e.g. `v3.20.3-12-g0f9c5a0e7b4`, trailing whitespace
    /// removed), or `{ NULL, 0 }` when there is none (plain text, no `DESCRIPTION` member, or
    /// `index` is NULL). Valid until `apk_index_free(index)`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_description(index: *const apk_index) -> apk_str {
        ffi_boundary! {
            apk_str::from_option(try_ref_from_ptr!(index).index.description())
        }
    }

    /// The file name of the key that verified the index (e.g.
    /// `alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`), or `{ NULL, 0 }` when it was
    /// loaded without keys (or `index` is NULL). Valid until `apk_index_free(index)`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_signed_by(index: *const apk_index) -> apk_str {
        ffi_boundary! {
            apk_str::from_option(try_ref_from_ptr!(index).index.signed_by())
        }
    }

    /// Stores in `*package_out` the package at `position` (0-based, file order) of `index`.
    /// The package is borrowed: it stays valid until `apk_index_free(index)` and is never
    /// freed by itself. Asking twice for the same position gives the same pointer.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` or `APK_RESULT_OUT_OF_RANGE` (`position >=
    /// apk_index_len(index)`). `*package_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_package(
        index: *const apk_index,
        position: usize,
        package_out: *mut *const apk_package,
    ) -> apk_result {
        ffi_boundary! {
            let index = try_ref_from_ptr!(index);
            let package_out = try_out!(package_out);
            let Some(package) = index.packages.get(position) else {
                fail!(Error::OutOfRange { position, len: index.packages.len() });
            };
            package_out.write(ref_to_const_ptr(package));
            apk_result::Ok
        }
    }

    /// Frees an index and everything borrowed from it (its `apk_package` handles and every
    /// `apk_str` obtained from it). Does nothing when `index` is NULL. Call it once per index.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_free(index: *mut apk_index) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `index` is NULL or a handle from an
            // `apk_index_load_*` function that has not been freed.
            unsafe { free_box(index) }
        }
    }

    /// Writes an `APKINDEX.tar.gz` holding the APKINDEX text `apkindex` (`len` bytes, used as
    /// is) and, if `description` (NUL-terminated) is not NULL, a `DESCRIPTION` member.
    ///
    /// If `private_key_pem` (a NUL-terminated PEM RSA private key, `BEGIN RSA PRIVATE KEY` or
    /// `BEGIN PRIVATE KEY`, at least 1024 bits) is not NULL the archive is signed with it as
    /// `key_name` (NUL-terminated: the file name of the matching public key, e.g.
    /// `me@example.org-1.rsa.pub`), using RSA with SHA-1 as Alpine's own indexes are; with
    /// NULL the archive is unsigned and `key_name` is ignored (it may be NULL). The same input
    /// always gives the same bytes.
    ///
    /// On success the archive is stored in `*archive_out` and its length in
    /// `*archive_len_out`; the caller frees it with `apk_bytes_free(archive, len)`, never
    /// with `free()`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_UTF8` (for `key_name`),
    /// `APK_RESULT_KEY` (the private key does not parse, is too small, or `key_name` is
    /// empty or holds a `/`) or `APK_RESULT_SIGN`. Outputs are written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_index_write_archive(
        apkindex: *const u8,
        len: usize,
        description: *const c_char,
        private_key_pem: *const c_char,
        key_name: *const c_char,
        archive_out: *mut *mut u8,
        archive_len_out: *mut usize,
    ) -> apk_result {
        ffi_boundary! {
            let apkindex = try_slice!(apkindex, len);
            let description = try_opt_cstr_bytes!(description);
            write_signed_archive(private_key_pem, key_name, archive_out, archive_len_out, |keys| {
                write_index_archive(apkindex, description, keys)
            })
        }
    }
}

/// The rest of an `*_write_archive` function once its own inputs are checked: checks the
/// outputs, reads the signing key if `private_key_pem` is not NULL (`key_name` is checked only
/// then), has `write` make the archive signed with it (RSA with SHA-1) and stores the archive
/// in the outputs. Called inside `ffi_boundary!`.
pub(crate) fn write_signed_archive(
    private_key_pem: *const c_char,
    key_name: *const c_char,
    archive_out: *mut *mut u8,
    archive_len_out: *mut usize,
    write: impl FnOnce(&[(&SigningKey, SignatureAlgorithm)]) -> Result<Vec<u8>, WriteArchiveError>,
) -> apk_result {
    let private_key_pem = try_opt_cstr_bytes!(private_key_pem);
    let archive_out = try_out!(archive_out);
    let archive_len_out = try_out!(archive_len_out);
    let key = match private_key_pem {
        Some(pem) => Some(try_ok!(SigningKey::from_pem(try_str!(key_name), pem))),
        None => None,
    };
    let signers: Vec<_> = key
        .iter()
        .map(|k| (k, SignatureAlgorithm::RsaSha1))
        .collect();
    write_bytes(try_ok!(write(&signers)), archive_out, archive_len_out);
    apk_result::Ok
}
