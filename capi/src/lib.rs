//! The C ABI of apk-rs: `libapk` (`.so` and `.a`) with the header `include/apk.h`.
//!
//! This crate exposes the surface of the `apk-index` and `apk-pkg` crates to C: version
//! comparison, dependency tokens, trusted key sets, loading and verifying `APKINDEX.tar.gz`,
//! reading packages out of an index, and writing signed index archives; opening package files
//! (`.apk`), reading their metadata, verifying their signatures, checking and extracting them,
//! and building indexes from them ([`apk_package_file`], [`apk_index_builder`]). From
//! `apk-solver` and `apk-db` it exposes solving ([`apk_solver`]) and the package database of a
//! root: opening it, editing world, committing (solve, install, remove) and reading what is
//! installed ([`apk_db`]). It holds no logic of its own: every function converts its
//! arguments, calls one library function and converts the answer back; `apk_db_commit` makes
//! the same library calls in the same order as `apk add` does. The header is generated from
//! these sources by cbindgen, so the doc comments here are written for C readers.
//!
//! # Conventions
//!
//! * Names are `apk_<type>_<verb>`; the object comes first, then inputs, then outputs
//!   (`*_out`). A buffer is always followed by its length.
//! * Fallible functions return an [`apk_result`]: `APK_RESULT_OK` (0) or a failure code.
//!   Outputs are written only on success (the one exception, documented where it applies: a
//!   too-small text buffer still reports the length needed). The failure's message is kept per
//!   thread and read with [`apk_result::apk_last_error`].
//! * Objects are opaque handles. Those made by `_new`, `_open`, `_parse` or `_load_*` belong to
//!   the caller, who releases each exactly once with the matching `_free` (which accepts NULL).
//!   Borrowed objects ([`apk_package`], [`apk_str`] views, strings returned as
//!   `const char *`) say what they borrow from and live as long as it. C never calls `free()`
//!   on memory from this library.
//! * Every pointer parameter is checked: NULL gives `APK_RESULT_NULL_PARAMETER`, or, for
//!   functions that return a value rather than a status, NULL, 0, `false` or `{ NULL, 0 }`.
//!   Parameters documented as optional (such as `keys` where verification is optional)
//!   accept NULL.
//! * Strings passed in are NUL-terminated UTF-8 (paths may be any bytes). Version rules are
//!   passed as `int rules`, one of [`apk_rules`].
//! * No panic crosses into C: an internal error becomes `APK_RESULT_PANIC` (or the neutral
//!   value above).
//!
//! # Why the design
//!
//! Package strings are handed out as [`apk_str`] (pointer and length) rather than
//! `const char *`: an index keeps all of its text in one buffer and its fields are slices of
//! it without NUL terminators, so a view costs nothing while a C string would need a copy per
//! field. Dependency lists are copied out as token text into caller buffers, because the
//! index does not store them as text at all. The database's strings (installed names,
//! versions and file paths, world entries, transcript lines) are NUL-terminated copies
//! instead: they are separate Rust strings or, for file paths, joined from a directory and a
//! name, so there is no shared buffer to view; the handle makes the copies when it changes.

#![allow(unsafe_code)]
// The exported functions take raw pointers but are safe `extern "C" fn`s, as in rustls-ffi:
// they are meant to be called from C, where `unsafe` does not exist, and each one's pointer
// contract is stated in its doc comment (and so in the header). Every dereference happens in
// the `ffi` helpers, after a NULL check, inside an `unsafe` block that names that contract.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![deny(missing_docs)]

// Plumbing; the macros must come before the modules that use them.
#[macro_use]
mod panic;
#[macro_use]
mod ffi;

mod db;
mod dependency;
mod error;
mod index;
mod index_builder;
mod keyset;
mod package;
mod package_file;
mod rslice;
mod solver;
mod version;

use std::ffi::c_char;

pub use crate::db::{
    APK_COMMIT_NO_SCRIPTS, APK_COMMIT_PURGE, APK_COMMIT_SIMULATE, APK_DB_ALLOW_UNTRUSTED,
    APK_DB_INITDB, APK_DB_NO_CACHE, APK_DB_READ_ONLY, apk_commit_result, apk_db,
};
pub use crate::dependency::apk_dependency;
pub use crate::error::apk_result;
pub use crate::index::apk_index;
pub use crate::index_builder::apk_index_builder;
pub use crate::keyset::apk_keyset;
pub use crate::package::apk_package;
pub use crate::package_file::{
    APK_EXTRACT_ALLOW_DEVICES, APK_EXTRACT_OVERWRITE, apk_extract_summary, apk_package_file,
};
pub use crate::rslice::{apk_bytes_free, apk_str};
pub use crate::solver::{apk_change, apk_change_kind, apk_changeset, apk_engine, apk_solver};
pub use crate::version::{
    apk_op, apk_rules, apk_version_compare, apk_version_match, apk_version_validate,
};

/// The library's version, `"MAJOR.MINOR.PATCH"`, NUL-terminated and static (never free it).
/// Compare with the `APK_VERSION_MAJOR`, `APK_VERSION_MINOR` and `APK_VERSION_PATCH` macros
/// of the header you compiled against.
#[unsafe(no_mangle)]
pub extern "C" fn apk_version_string() -> *const c_char {
    ffi_boundary! {
        const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
        VERSION.as_ptr().cast::<c_char>()
    }
}
