//! One package of a loaded index, borrowed from its `apk_index`.

use std::ffi::c_char;
use std::sync::Arc;

use apk_index::{DepList, Index, PackageRef};

use crate::dependency::dependency_text;
use crate::error::{Error, Failure, apk_result};
use crate::ffi::{Castable, OwnershipRef};
use crate::rslice::apk_str;

/// One package of an `apk_index`, obtained from `apk_index_package`. It is borrowed: valid
/// until the index is freed, never freed by itself, and read-only, so several threads may use
/// it at once.
///
/// String getters return `apk_str` views into the index (NOT NUL-terminated; valid until
/// `apk_index_free`). Every getter treats a NULL `package` like an absent value: `{ NULL, 0 }`,
/// 0 or `false`, and `APK_RESULT_NULL_PARAMETER` from the functions returning `apk_result`.
#[allow(non_camel_case_types)]
pub struct apk_package {
    _private: [u8; 0],
}

/// What an `apk_package` handle points to: the position of a package in a shared index.
pub(crate) struct PackageHandle {
    index: Arc<Index>,
    position: usize,
}

impl Castable for apk_package {
    type Ownership = OwnershipRef;
    type RustType = PackageHandle;
}

impl PackageHandle {
    pub(crate) fn new(index: Arc<Index>, position: usize) -> PackageHandle {
        PackageHandle { index, position }
    }

    fn get(&self) -> PackageRef<'_> {
        self.index.package(self.position)
    }
}

/// The body of a getter: `get` applied to the package behind `package`, inside the panic
/// boundary; a NULL `package` gives the failure value of `R`.
fn read<R: Failure>(package: *const apk_package, get: impl FnOnce(PackageRef<'_>) -> R) -> R {
    ffi_boundary! {
        get(try_ref_from_ptr!(package).get())
    }
}

/// The body of a getter that copies text into a caller's buffer: checks `package`, `buf` and
/// `out_len`, in that order, then copies the text `text` makes of the package (or fails with
/// its error), inside the panic boundary.
fn copy_text(
    package: *const apk_package,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    text: impl FnOnce(PackageRef<'_>) -> Result<String, Error>,
) -> apk_result {
    ffi_boundary! {
        let package = try_ref_from_ptr!(package);
        let buf = try_text_buf!(buf, len);
        let out_len = try_out!(out_len);
        buf.fill(&try_ok!(text(package.get())), out_len)
    }
}

/// The body of the `*_get` functions: copies entry `position` of the dependency list that
/// `list` picks out of the package.
fn dependency_get(
    package: *const apk_package,
    list: for<'a> fn(&PackageRef<'a>) -> DepList<'a>,
    position: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> apk_result {
    copy_text(package, buf, len, out_len, |package| {
        let list = list(&package);
        dependency_text(list.get(position), position, list.len())
    })
}

impl apk_package {
    /// `P:` the package name.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_name(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::new(p.name()))
    }

    /// `V:` the version text, as written in the index.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_version(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::new(p.version()))
    }

    /// `A:` the architecture, or `{ NULL, 0 }` when the record has none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_arch(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::from_option(p.arch()))
    }

    /// `T:` the one-line description (empty when the record has none).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_description(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::new(p.description()))
    }

    /// `U:` the project URL (empty when the record has none).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_url(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::new(p.url()))
    }

    /// `L:` the license expression (empty when the record has none).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_license(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::new(p.license()))
    }

    /// `o:` the origin (source package name), or `{ NULL, 0 }` when the record has none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_origin(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::from_option(p.origin()))
    }

    /// `m:` the maintainer, or `{ NULL, 0 }` when the record has none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_maintainer(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::from_option(p.maintainer()))
    }

    /// `c:` the source commit, or `{ NULL, 0 }` when the record has none.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_commit(package: *const apk_package) -> apk_str {
        read(package, |p| apk_str::from_option(p.commit()))
    }

    /// `S:` the size of the `.apk` file in bytes (0 when absent or not a number).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_size(package: *const apk_package) -> u64 {
        read(package, |p| p.size())
    }

    /// `I:` the installed size in bytes (0 when absent or not a number).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_installed_size(package: *const apk_package) -> u64 {
        read(package, |p| p.installed_size())
    }

    /// `t:` the build time in seconds since the Unix epoch (0 when absent).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_build_time(package: *const apk_package) -> u64 {
        read(package, |p| p.build_time())
    }

    /// `k:` the provider priority (0 when absent).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_provider_priority(package: *const apk_package) -> u32 {
        read(package, |p| p.provider_priority())
    }

    /// Whether apk would install the package: `false` when its record has an invalid version
    /// or dependency under the index's rules, or an unknown required (upper-case) field.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_installable(package: *const apk_package) -> bool {
        ffi_boundary! {
            let package = try_ref_from_ptr!(package);
            package.index.is_installable(package.position)
        }
    }

    /// Copies the `C:` package identity as text (`Q1` and base64 of a SHA-1, as in the index;
    /// for an entry of a v3 index the first 20 bytes of its SHA-256 package hash, as apk-tools
    /// 3 records it) and a NUL into `buf` (`len` bytes), and its length without the NUL into
    /// `*out_len`. A package without an identity gives the empty string.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (`buf` may be NULL only when `len` is 0) or
    /// `APK_RESULT_INSUFFICIENT_SIZE`: then `buf` is untouched and `*out_len` still receives
    /// the length, so a buffer of `*out_len + 1` bytes will do.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_identity(
        package: *const apk_package,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        copy_text(package, buf, len, out_len, |p| {
            Ok(p.identity().map(|c| c.to_string()).unwrap_or_default())
        })
    }

    /// The number of `D:` dependencies (including `!` conflicts); 0 if `package` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_depends_len(package: *const apk_package) -> usize {
        read(package, |p| p.depends().len())
    }

    /// Copies `D:` dependency number `position` (0-based) as token text, e.g.
    /// `so:libc.musl-x86_64.so.1` or `!foo<2`, and a NUL into `buf` (`len` bytes), and its
    /// length without the NUL into `*out_len`. Parse it with `apk_dependency_parse` if needed.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (`buf` may be NULL only when `len` is 0),
    /// `APK_RESULT_OUT_OF_RANGE` (`position >= apk_package_depends_len(package)`; nothing is
    /// written) or `APK_RESULT_INSUFFICIENT_SIZE`: then `buf` is untouched and `*out_len` still
    /// receives the length, so a buffer of `*out_len + 1` bytes will do.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_depends_get(
        package: *const apk_package,
        position: usize,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        dependency_get(package, |p| p.depends(), position, buf, len, out_len)
    }

    /// The number of `p:` provides (such as `cmd:busybox=1.36.1-r2`); 0 if `package` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_provides_len(package: *const apk_package) -> usize {
        read(package, |p| p.provides().len())
    }

    /// Copies `p:` provide number `position` as token text; see `apk_package_depends_get` for
    /// the buffer rules and results.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_provides_get(
        package: *const apk_package,
        position: usize,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        dependency_get(package, |p| p.provides(), position, buf, len, out_len)
    }

    /// The number of `i:` install-if conditions; 0 if `package` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_install_if_len(package: *const apk_package) -> usize {
        read(package, |p| p.install_if().len())
    }

    /// Copies `i:` install-if condition number `position` as token text; see
    /// `apk_package_depends_get` for the buffer rules and results.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_package_install_if_get(
        package: *const apk_package,
        position: usize,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        dependency_get(package, |p| p.install_if(), position, buf, len, out_len)
    }
}
