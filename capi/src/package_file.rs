//! Package files (`.apk`, v2 or v3): open, read the metadata, verify, extract, check.

use std::ffi::c_char;
use std::fs::File;
use std::io::BufReader;

use apk_index::{Checksum, ChecksumForm, Dependency, PackageInfo};
use apk_pkg::{
    AdbPackageReader, ExtractError, Extractor, PackageReader, PackageSummary, VerifyPackageError,
};

use crate::dependency::dependency_text;
use crate::error::{Error, Failure, apk_result};
use crate::ffi::{Castable, OwnershipBox, free_box, path_from_bytes, to_boxed_mut_ptr};
use crate::keyset::apk_keyset;
use crate::rslice::apk_str;

/// `apk_package_file_extract` flag: create device nodes and fifos (without it they fail the
/// extraction with `APK_RESULT_EXTRACT`).
pub const APK_EXTRACT_ALLOW_DEVICES: u32 = 1;

/// `apk_package_file_extract` flag: replace existing files (not directories) at the paths
/// the package writes (without it an existing file fails the extraction with
/// `APK_RESULT_EXTRACT`).
pub const APK_EXTRACT_OVERWRITE: u32 = 2;

/// Every flag `apk_package_file_extract` knows.
const EXTRACT_FLAGS: u32 = APK_EXTRACT_ALLOW_DEVICES | APK_EXTRACT_OVERWRITE;

/// A package file (`.apk`) opened by `apk_package_file_open`, freed by
/// `apk_package_file_free`.
///
/// Opening reads the signature and control parts, so the metadata (`.PKGINFO`) and the
/// signatures are available at once; the file tree (the data part) is read later, once, by
/// `apk_package_file_extract`. The file stays open until `apk_package_file_free`.
///
/// apk v3 packages (files starting with `ADB`, any compression) are opened by the same
/// functions and stream the same way: their metadata blocks are read at open, their data
/// later (and its memory use does not grow with the package); their metadata comes from the
/// package's info, and their signatures are matched by key id (see
/// `apk_package_file_signature_key_name`).
///
/// String getters return `apk_str` views (NOT NUL-terminated) valid until
/// `apk_package_file_free`; a NULL `pkg` gives `{ NULL, 0 }`, 0 or
/// `APK_RESULT_NULL_PARAMETER`. Functions taking a `const apk_package_file *` only read it
/// and may run on several threads at once; `apk_package_file_extract` must not run at the
/// same time as any other use of the same package.
#[allow(non_camel_case_types)]
pub struct apk_package_file {
    _private: [u8; 0],
}

/// What an `apk_package_file` handle points to.
pub(crate) struct PackageFileHandle {
    /// The metadata, copied at open so that views of it stay put while the reader moves on.
    info: PackageInfo,
    body: Body,
    /// Whether the data stream has been (or started to be) read.
    consumed: bool,
    /// What a successful extraction found.
    summary: Option<PackageSummary>,
}

impl Castable for apk_package_file {
    type Ownership = OwnershipBox;
    type RustType = PackageFileHandle;
}

/// The package behind a handle.
enum Body {
    /// A v2 package, read as it streams.
    V2(Box<PackageReader<BufReader<File>>>),
    /// A v3 package, read as it streams (its metadata up front), with the hex key ids of its
    /// signatures.
    V3 {
        reader: Box<AdbPackageReader<BufReader<File>>>,
        key_ids: Vec<String>,
    },
}

impl PackageFileHandle {
    /// The identity, once known: for a v3 package the first 20 bytes of the SHA-256 of its
    /// ADB payload (what a v3 index records, and what apk-tools 3 calls the package by).
    fn identity(&self) -> Option<Checksum> {
        match (&self.summary, &self.body) {
            (Some(summary), _) => Some(summary.identity()),
            (None, Body::V2(reader)) => reader.identity(),
            (None, Body::V3 { reader, .. }) => {
                Checksum::from_digest(&reader.package().identity()[..20], ChecksumForm::Q1)
            }
        }
    }
}

/// Whether the file at `path` starts with `ADB` (an apk v3 file). Unreadable files are
/// left to the v2 reader, which reports them.
pub(crate) fn is_adb_file(path: &std::path::Path) -> bool {
    let mut magic = [0u8; 3];
    File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"ADB"
}

/// Opens a v3 package file and reads its metadata.
fn open_adb(path: &std::path::Path) -> Result<AdbPackageReader<BufReader<File>>, Error> {
    let open_error = |source| {
        Error::ReadPackage(apk_pkg::ReadPackageError::Open {
            path: path.to_owned(),
            source,
        })
    };
    let file = File::open(path).map_err(open_error)?;
    let size = file.metadata().map_err(open_error)?.len();
    let reader = AdbPackageReader::new(BufReader::with_capacity(128 << 10, file))
        .map_err(Error::AdbPackage)?;
    Ok(reader.with_file_size(size))
}

/// What `apk_package_file_extract` did.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct apk_extract_summary {
    /// Regular files written.
    pub files: u64,
    /// Directories created or updated.
    pub directories: u64,
    /// Symbolic links created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Device nodes and fifos created.
    pub devices: u64,
    /// Bytes of file contents written.
    pub bytes: u64,
    /// Extended attributes that could not be set and were skipped (for example `security.*`
    /// without privileges, or a file system without extended attributes).
    pub xattrs_failed: u64,
}

/// The body of a getter: `get` applied to the package behind `pkg`, inside the panic
/// boundary; a NULL `pkg` gives the failure value of `R`.
fn read<R: Failure>(pkg: *const apk_package_file, get: impl FnOnce(&PackageFileHandle) -> R) -> R {
    ffi_boundary! {
        get(try_ref_from_ptr!(pkg))
    }
}

/// The body of a getter that copies text into a caller's buffer: checks `pkg`, `buf` and
/// `out_len`, in that order, then copies the text `text` makes of the package (or fails with
/// its error), inside the panic boundary.
fn copy_text(
    pkg: *const apk_package_file,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    text: impl FnOnce(&PackageFileHandle) -> Result<String, Error>,
) -> apk_result {
    ffi_boundary! {
        let pkg = try_ref_from_ptr!(pkg);
        let buf = try_text_buf!(buf, len);
        let out_len = try_out!(out_len);
        buf.fill(&try_ok!(text(pkg)), out_len)
    }
}

/// The body of the `*_get` functions: copies entry `position` of the dependency list that
/// `list` picks out of the package.
fn dependency_get(
    pkg: *const apk_package_file,
    list: fn(&PackageInfo) -> &[Dependency],
    position: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> apk_result {
    copy_text(pkg, buf, len, out_len, |pkg| {
        let list = list(&pkg.info);
        dependency_text(list.get(position), position, list.len())
    })
}

impl apk_package_file {
    /// Opens the package file at `path` (NUL-terminated) and reads its signatures and
    /// metadata; for a v3 package (starting with `ADB`) that is its metadata blocks, whose
    /// structure is checked.
    /// Nothing is verified yet: see `apk_package_file_verify`,
    /// `apk_package_file_extract` and `apk_package_file_check`. The new package is stored in
    /// `*pkg_out`; the caller frees it with `apk_package_file_free`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_IO` (the file cannot be opened or
    /// read), `APK_RESULT_PACKAGE` (not a well-formed package, or its `.PKGINFO` is invalid),
    /// `APK_RESULT_MALICIOUS_PATH` or `APK_RESULT_LIMIT_EXCEEDED` (oversized control data).
    /// `*pkg_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_open(
        path: *const c_char,
        pkg_out: *mut *mut apk_package_file,
    ) -> apk_result {
        ffi_boundary! {
            let path = try_ok!(path_from_bytes(try_cstr_bytes!(path), "path"));
            let pkg_out = try_out!(pkg_out);
            let handle = if is_adb_file(path) {
                let reader = try_ok!(open_adb(path));
                let key_ids = reader
                    .package()
                    .signature_key_ids()
                    .iter()
                    .map(|id| id.iter().map(|b| format!("{b:02x}")).collect())
                    .collect();
                PackageFileHandle {
                    info: reader.package().info().clone(),
                    body: Body::V3 { reader: Box::new(reader), key_ids },
                    consumed: false,
                    summary: None,
                }
            } else {
                let reader = try_ok!(PackageReader::open(path));
                PackageFileHandle {
                    info: reader.info().clone(),
                    body: Body::V2(Box::new(reader)),
                    consumed: false,
                    summary: None,
                }
            };
            pkg_out.write(to_boxed_mut_ptr(handle));
            apk_result::Ok
        }
    }

    /// Frees a package opened by `apk_package_file_open` (and closes its file), with every
    /// `apk_str` obtained from it. Does nothing when `pkg` is NULL. Call it once per package,
    /// whether or not it was extracted.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_free(pkg: *mut apk_package_file) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `pkg` is NULL or a handle from
            // `apk_package_file_open` that has not been freed.
            unsafe { free_box(pkg) }
        }
    }

    /// `pkgname`: the package name.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_name(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::new(&p.info.name))
    }

    /// `pkgver`: the version text.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_version(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::new(&p.info.version))
    }

    /// `arch`: the architecture, or `{ NULL, 0 }` when `.PKGINFO` has none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_arch(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::from_option(p.info.arch.as_deref()))
    }

    /// `pkgdesc`: the one-line description (empty when there is none).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_description(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::new(&p.info.description))
    }

    /// `url`: the project URL (empty when there is none).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_url(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::new(&p.info.url))
    }

    /// `license`: the license expression (empty when there is none).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_license(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::new(&p.info.license))
    }

    /// `origin`: the source package name, or `{ NULL, 0 }` when there is none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_origin(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::from_option(p.info.origin.as_deref()))
    }

    /// `maintainer`, or `{ NULL, 0 }` when there is none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_maintainer(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::from_option(p.info.maintainer.as_deref()))
    }

    /// `commit`: the source commit, or `{ NULL, 0 }` when there is none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_commit(pkg: *const apk_package_file) -> apk_str {
        read(pkg, |p| apk_str::from_option(p.info.commit.as_deref()))
    }

    /// `builddate`: the build time in seconds since the Unix epoch (0 when absent).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_build_time(pkg: *const apk_package_file) -> u64 {
        read(pkg, |p| p.info.build_time)
    }

    /// `size`: the installed size in bytes, as `.PKGINFO` states it (0 when absent).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_installed_size(pkg: *const apk_package_file) -> u64 {
        read(pkg, |p| p.info.installed_size)
    }

    /// Copies the package identity (the index `C:` value: `Q1` and base64 of the SHA-1 of the
    /// compressed control part) and a NUL into `buf` (`len` bytes), and its length without
    /// the NUL into `*out_len`.
    ///
    /// The identity is known from `apk_package_file_open` on for packages with a `datahash`
    /// (all packages built by abuild or apk-rs). For an old package without one the identity
    /// covers the data too: until `apk_package_file_extract` succeeded, this gives the empty
    /// string.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (`buf` may be NULL only when `len` is 0) or
    /// `APK_RESULT_INSUFFICIENT_SIZE`: then `buf` is untouched and `*out_len` still receives
    /// the length, so a buffer of `*out_len + 1` bytes will do.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_identity(
        pkg: *const apk_package_file,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        copy_text(pkg, buf, len, out_len, |p| {
            Ok(p.identity().map(|c| c.to_string()).unwrap_or_default())
        })
    }

    /// The number of `depend` entries (including `!` conflicts); 0 if `pkg` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_depends_len(pkg: *const apk_package_file) -> usize {
        read(pkg, |p| p.info.depends.len())
    }

    /// Copies `depend` number `position` (0-based) as token text, e.g. `musl>=1.2` or
    /// `!foo`, and a NUL into `buf` (`len` bytes), and its length without the NUL into
    /// `*out_len`; see `apk_package_depends_get` for the buffer rules and results
    /// (`APK_RESULT_OUT_OF_RANGE` when `position >= apk_package_file_depends_len(pkg)`).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_depends_get(
        pkg: *const apk_package_file,
        position: usize,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        dependency_get(pkg, |info| &info.depends, position, buf, len, out_len)
    }

    /// The number of `provides` entries; 0 if `pkg` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_provides_len(pkg: *const apk_package_file) -> usize {
        read(pkg, |p| p.info.provides.len())
    }

    /// Copies `provides` entry number `position` as token text (e.g. `cmd:hello=1.0-r0`); see
    /// `apk_package_file_depends_get`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_provides_get(
        pkg: *const apk_package_file,
        position: usize,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        dependency_get(pkg, |info| &info.provides, position, buf, len, out_len)
    }

    /// The number of signatures (of supported algorithms) the package carries; 0 for an
    /// unsigned package or a NULL `pkg`. For a v3 package: its version-0 signature blocks.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_signatures_len(pkg: *const apk_package_file) -> usize {
        read(pkg, |p| match &p.body {
            Body::V2(reader) => reader.signatures().len(),
            Body::V3 { key_ids, .. } => key_ids.len(),
        })
    }

    /// The name of the key that made signature number `position` (in package order), i.e.
    /// the file name its public key has in a key directory, such as
    /// `alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`. A v3 signature names its key by
    /// key id, not by file name: for a v3 package this is the key id as 32 lowercase hex
    /// digits (the first 16 bytes of SHA-512 over the key's PKCS#1 encoding). `{ NULL, 0 }`
    /// when `position` is out of range or `pkg` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_signature_key_name(
        pkg: *const apk_package_file,
        position: usize,
    ) -> apk_str {
        read(pkg, |p| {
            apk_str::from_option(match &p.body {
                Body::V2(reader) => reader.signatures().get(position).map(|s| s.key_name()),
                Body::V3 { key_ids, .. } => key_ids.get(position).map(String::as_str),
            })
        })
    }

    /// Checks the package's signature against `keys`, as apk does: the first signature whose
    /// key name is in `keys` decides. For a package with a `datahash` this proves the metadata
    /// authentic, and with it the data, which `apk_package_file_extract` checks against the
    /// `datahash` as it reads it. Neither argument is changed.
    ///
    /// Returns `APK_RESULT_OK`, `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_UNSIGNED`,
    /// `APK_RESULT_UNTRUSTED` (signed only by keys not in `keys`), `APK_RESULT_BAD_SIGNATURE`
    /// (a trusted key's signature does not match: the package was tampered with) or
    /// `APK_RESULT_NEEDS_DATA` (a signed package without `datahash`, not yet extracted; use
    /// `apk_package_file_check`).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_verify(
        pkg: *const apk_package_file,
        keys: *const apk_keyset,
    ) -> apk_result {
        ffi_boundary! {
            let pkg = try_ref_from_ptr!(pkg);
            let keys = try_ref_from_ptr!(keys);
            let verified = match (&pkg.summary, &pkg.body) {
                (Some(summary), _) => summary.verify(keys).map(drop).map_err(Error::from),
                (None, Body::V2(reader)) => reader.verify(keys).map(drop).map_err(Error::from),
                (None, Body::V3 { reader, .. }) => {
                    reader.package().verify(keys).map(drop).map_err(Error::AdbPackage)
                }
            };
            try_ok!(verified);
            apk_result::Ok
        }
    }

    /// Extracts the package's file tree into the existing directory `dest_dir`
    /// (NUL-terminated), safely: nothing is ever written outside `dest_dir` or through a
    /// symbolic link, and files are moved to their final names only after the whole package
    /// checked out (file checksums, `datahash`), so a failed extraction leaves no partial or
    /// unverified file behind. `flags` is 0 or a bitwise OR of `APK_EXTRACT_ALLOW_DEVICES`
    /// and `APK_EXTRACT_OVERWRITE`. Owners are restored only when running as root.
    ///
    /// If `keys` is not NULL the package must be signed by one of them (as with
    /// `apk_package_file_verify`), otherwise nothing is extracted; with NULL the signature is
    /// not looked at. `keys` is not needed after the call.
    ///
    /// The package's data can be read once: after this function has started reading it,
    /// whether it then succeeded or failed, later calls return `APK_RESULT_DATA_CONSUMED`.
    /// The failures found before any data is read leave the package as it was, so the call
    /// can be repeated: a NULL parameter, `APK_RESULT_INVALID_FLAGS`, a signature check that
    /// fails on the metadata alone, and a `dest_dir` that cannot be opened. The getters keep
    /// working after an extraction; `apk_package_file_identity` and `apk_package_file_verify`
    /// then also work for packages without `datahash`.
    ///
    /// On success, if `summary_out` is not NULL, the counts of what was written are stored in
    /// `*summary_out` (it may be NULL when they are not wanted).
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_FLAGS`,
    /// `APK_RESULT_DATA_CONSUMED`, with `keys`: `APK_RESULT_UNSIGNED`, `APK_RESULT_UNTRUSTED`,
    /// `APK_RESULT_BAD_SIGNATURE`; for the data: `APK_RESULT_PACKAGE`,
    /// `APK_RESULT_CHECKSUM_MISMATCH`, `APK_RESULT_DATAHASH_MISMATCH`,
    /// `APK_RESULT_MALICIOUS_PATH`, `APK_RESULT_LIMIT_EXCEEDED` (more than 16 GiB of data,
    /// 1,000,000 entries, or a compression ratio above 1000); and `APK_RESULT_IO` (`dest_dir`
    /// cannot be opened, or writing failed) or `APK_RESULT_EXTRACT` (an existing file in the
    /// way without `APK_EXTRACT_OVERWRITE`, a symbolic link in a path, a device node without
    /// `APK_EXTRACT_ALLOW_DEVICES`, ...).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_extract(
        pkg: *mut apk_package_file,
        dest_dir: *const c_char,
        keys: *const apk_keyset,
        flags: u32,
        summary_out: *mut apk_extract_summary,
    ) -> apk_result {
        ffi_boundary! {
            let pkg = try_mut_from_ptr!(pkg);
            let dest = try_ok!(path_from_bytes(try_cstr_bytes!(dest_dir), "dest_dir"));
            let keys = try_opt_ref_from_ptr!(keys);
            let summary_out = try_opt_out!(summary_out);
            if flags & !EXTRACT_FLAGS != 0 {
                fail!(Error::InvalidFlags(flags));
            }
            if pkg.consumed {
                fail!(Error::DataConsumed);
            }
            if let Some(keys) = keys {
                // Checked here too (the extractor checks again) so that a package refused on
                // its metadata alone is left unread. Without `datahash` the extractor checks
                // once the data was read.
                match &pkg.body {
                    Body::V2(reader) => match reader.verify(keys) {
                        Ok(_) | Err(VerifyPackageError::NeedsData) => {}
                        Err(e) => fail!(Error::from(e)),
                    },
                    Body::V3 { reader, .. } => {
                        try_ok!(reader.package().verify(keys).map_err(Error::AdbPackage));
                    }
                }
            }
            let mut extractor = Extractor::new();
            extractor
                .allow_devices(flags & APK_EXTRACT_ALLOW_DEVICES != 0)
                .overwrite(flags & APK_EXTRACT_OVERWRITE != 0)
                .trusted_keys(keys.cloned());
            let (result, package_summary) = match &mut pkg.body {
                Body::V2(reader) => match extractor.extract(reader, dest) {
                    Ok(s) => (Ok(counts(&s)), Some(s.package)),
                    Err(e) => (Err(e), None),
                },
                Body::V3 { reader, .. } => (
                    extractor
                        .extract_adb_reader(reader, dest)
                        .map(|s| apk_extract_summary {
                            files: s.files,
                            directories: s.directories,
                            symlinks: s.symlinks,
                            hardlinks: s.hardlinks,
                            devices: s.devices,
                            bytes: s.bytes,
                            xattrs_failed: s.xattrs_failed,
                        }),
                    None,
                ),
            };
            // The destination is opened before any data is read.
            if !matches!(result, Err(ExtractError::Destination { .. })) {
                pkg.consumed = true;
            }
            let summary = try_ok!(result);
            if let Some(out) = summary_out {
                out.write(summary);
            }
            if package_summary.is_some() {
                pkg.summary = package_summary;
            }
            apk_result::Ok
        }
    }

    /// Reads the whole package file at `path` (NUL-terminated), streaming, without writing
    /// anything, and checks everything apk checks before installing it: the structure, every
    /// file's checksum, the `datahash`, and, if `keys` is not NULL, the signature against
    /// `keys` (as `apk verify` does). `keys` is not changed.
    ///
    /// Returns `APK_RESULT_OK` when the package checks out, or `APK_RESULT_NULL_PARAMETER`,
    /// `APK_RESULT_IO`, `APK_RESULT_PACKAGE`, `APK_RESULT_CHECKSUM_MISMATCH`,
    /// `APK_RESULT_DATAHASH_MISMATCH`, `APK_RESULT_MALICIOUS_PATH`,
    /// `APK_RESULT_LIMIT_EXCEEDED` (oversized control data; the data has no limits here), and
    /// with `keys`: `APK_RESULT_UNSIGNED`, `APK_RESULT_UNTRUSTED` or
    /// `APK_RESULT_BAD_SIGNATURE`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_file_check(
        path: *const c_char,
        keys: *const apk_keyset,
    ) -> apk_result {
        ffi_boundary! {
            let path = try_ok!(path_from_bytes(try_cstr_bytes!(path), "path"));
            let keys = try_opt_ref_from_ptr!(keys);
            if is_adb_file(path) {
                let mut reader = try_ok!(open_adb(path));
                try_ok!(reader.check().map_err(Error::AdbPackage));
                if let Some(keys) = keys {
                    try_ok!(reader.package().verify(keys).map_err(Error::AdbPackage));
                }
                return apk_result::Ok;
            }
            let reader = try_ok!(PackageReader::open(path));
            let summary = try_ok!(reader.finish());
            if let Some(keys) = keys {
                try_ok!(summary.verify(keys));
            }
            apk_result::Ok
        }
    }
}

/// The counts of a v2 extraction, as C sees them.
fn counts(s: &apk_pkg::ExtractSummary) -> apk_extract_summary {
    apk_extract_summary {
        files: s.files,
        directories: s.directories,
        symlinks: s.symlinks,
        hardlinks: s.hardlinks,
        devices: s.devices,
        bytes: s.bytes,
        xattrs_failed: s.xattrs_failed,
    }
}
