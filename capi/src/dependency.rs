//! Dependency tokens: `[!]name[@tag][op version]`.

use std::ffi::{CString, c_char, c_int, c_uint};
use std::fmt::Display;

use apk_index::Dependency;

use crate::error::{Error, apk_result};
use crate::ffi::{Castable, OwnershipBox, free_box, to_boxed_mut_ptr};
use crate::version::rules_from_c;

/// A parsed dependency token such as `so:libc.musl-x86_64.so.1`, `!foo@edge>=1.2` or
/// `busybox~1.36`. Made by `apk_dependency_parse`, freed by `apk_dependency_free`.
///
/// The strings its getters return are NUL-terminated and owned by the handle: they stay
/// valid until `apk_dependency_free`. A handle is never modified after parsing, so it may be
/// read from several threads at once.
#[allow(non_camel_case_types)]
pub struct apk_dependency {
    _private: [u8; 0],
}

/// What an `apk_dependency` handle points to: the parsed dependency plus NUL-terminated
/// copies of its parts, made once so the getters can hand out `const char *`.
pub(crate) struct DependencyHandle {
    name: CString,
    tag: Option<CString>,
    constraint: Option<(c_uint, CString)>,
    conflict: bool,
}

impl Castable for apk_dependency {
    type Ownership = OwnershipBox;
    type RustType = DependencyHandle;
}

impl DependencyHandle {
    fn new(dep: &Dependency) -> Result<DependencyHandle, Error> {
        let c_string = |text: &str, what| CString::new(text).map_err(|_| Error::InteriorNul(what));
        Ok(DependencyHandle {
            name: c_string(dep.name(), "dependency name")?,
            tag: dep
                .tag()
                .map(|t| c_string(t, "dependency tag"))
                .transpose()?,
            constraint: dep
                .constraint()
                .map(|(op, v)| {
                    c_string(v, "dependency version").map(|v| (c_uint::from(op.bits()), v))
                })
                .transpose()?,
            conflict: dep.conflict(),
        })
    }
}

/// The token text of entry `position` of a dependency list of `len` entries, as the
/// `*_depends_get` functions copy it; `OutOfRange` when `dependency` (the entry) is `None`.
pub(crate) fn dependency_text(
    dependency: Option<impl Display>,
    position: usize,
    len: usize,
) -> Result<String, Error> {
    match dependency {
        Some(dependency) => Ok(dependency.to_string()),
        None => Err(Error::OutOfRange { position, len }),
    }
}

impl apk_dependency {
    /// Parses one dependency token, NUL-terminated UTF-8 `text`, checking its version under
    /// `rules` (an `apk_rules` value), and stores a new handle in `*dependency_out`. The caller
    /// frees it with `apk_dependency_free`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_UTF8`,
    /// `APK_RESULT_INVALID_RULES` or `APK_RESULT_INVALID_DEPENDENCY` (the last error says which
    /// part is wrong). `*dependency_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_dependency_parse(
        text: *const c_char,
        rules: c_int,
        dependency_out: *mut *mut apk_dependency,
    ) -> apk_result {
        ffi_boundary! {
            let text = try_str!(text);
            let dependency_out = try_out!(dependency_out);
            let rules = try_ok!(rules_from_c(rules));
            let dep = try_ok!(Dependency::parse(text, rules));
            let handle = try_ok!(DependencyHandle::new(&dep));
            dependency_out.write(to_boxed_mut_ptr(handle));
            apk_result::Ok
        }
    }

    /// The package (or provided) name, e.g. `so:libc.musl-x86_64.so.1`. NUL-terminated, owned
    /// by `dependency`. NULL if `dependency` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_dependency_name(dependency: *const apk_dependency) -> *const c_char {
        ffi_boundary! {
            try_ref_from_ptr!(dependency).name.as_ptr()
        }
    }

    /// The repository tag after `@`, or NULL when there is none (or `dependency` is NULL).
    /// NUL-terminated, owned by `dependency`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_dependency_tag(dependency: *const apk_dependency) -> *const c_char {
        ffi_boundary! {
            try_ref_from_ptr!(dependency).tag.as_ref().map_or(std::ptr::null(), |t| t.as_ptr())
        }
    }

    /// The operator as an `apk_op` bit mask (`APK_OP_GREATER_EQUAL` for `>=`), or 0 when the
    /// dependency has no version constraint (or `dependency` is NULL).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_dependency_op(dependency: *const apk_dependency) -> c_uint {
        ffi_boundary! {
            try_ref_from_ptr!(dependency).constraint.as_ref().map_or(0, |(op, _)| *op)
        }
    }

    /// The version after the operator (for `APK_OP_CHECKSUM`, a package identity such as
    /// `Q1…`), or NULL when there is no constraint (or `dependency` is NULL). NUL-terminated,
    /// owned by `dependency`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_dependency_version(dependency: *const apk_dependency) -> *const c_char {
        ffi_boundary! {
            try_ref_from_ptr!(dependency)
                .constraint
                .as_ref()
                .map_or(std::ptr::null(), |(_, v)| v.as_ptr())
        }
    }

    /// Whether the token starts with `!`: the named package must NOT be installed. `false`
    /// if `dependency` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_dependency_conflict(dependency: *const apk_dependency) -> bool {
        ffi_boundary! {
            try_ref_from_ptr!(dependency).conflict
        }
    }

    /// Frees a dependency made by `apk_dependency_parse`, and with it every string its
    /// getters returned. Does nothing when `dependency` is NULL. Call it once per handle.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_dependency_free(dependency: *mut apk_dependency) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `dependency` is NULL or a handle from
            // `apk_dependency_parse` that has not been freed.
            unsafe { free_box(dependency) }
        }
    }
}
