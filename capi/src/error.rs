//! Status codes, the mapping from library errors to codes, and the thread-local last error.
//!
//! [`map_error`] is the one place that decides which `apk_result` a failure gets, and it is
//! also the one place that records the failure's message for [`apk_result::apk_last_error`].

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uint};
use std::fmt::Write as _;

use apk_index::adb::{AdbError, DataErrorKind};
use apk_index::archive::WriteArchiveError;
use apk_index::keys::{LoadKeysError, ParseKeyError, SigningKeyError};
use apk_index::{
    LoadIndexError, ParseDependencyError, ParseVersionError, ReadArchiveError, ReadInstalledError,
    VerifyError,
};

use apk_pkg::{ExtractError, IndexPackageError, ReadPackageError, VerifyPackageError};
use apk_solver::SolveError;

use ::apk_db::lock::LockError;
use ::apk_db::{CommitError, OpenError};

use crate::rslice::apk_str;

/// The status returned by every fallible function: `APK_RESULT_OK` (0) on success, otherwise
/// the kind of failure. A more detailed message is kept per thread; see `apk_last_error`.
///
/// Values are grouped in numbered blocks and never renumbered; a retired value stays
/// reserved. Future versions may add values, so treat unknown ones as generic failures.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum apk_result {
    /// Success.
    Ok = 0,

    // 1..99: misuse of the API and internal failures.
    /// A pointer parameter that must not be NULL was NULL.
    NullParameter = 1,
    /// The library hit an internal bug (a Rust panic), caught before it reached C.
    Panic = 2,
    /// A string parameter is not valid UTF-8.
    InvalidUtf8 = 3,
    /// The `rules` parameter is not one of the `apk_rules` values.
    InvalidRules = 4,
    /// An index (package position, dependency position) is past the end.
    OutOfRange = 5,
    /// The caller's buffer is too small; the length needed was reported.
    InsufficientSize = 6,
    /// A failure this version of the C API has no specific code for.
    Unknown = 7,
    /// A `flags` parameter has bits this version of the library does not define.
    InvalidFlags = 8,

    // 100..199: text that does not parse.
    /// A version string is not valid under the rules in use.
    InvalidVersion = 100,
    /// A dependency token does not follow `[!]name[@tag][op version]`.
    InvalidDependency = 101,

    // 200..299: files and archives.
    /// A file or directory could not be read.
    Io = 200,
    /// An `APKINDEX.tar.gz` is malformed (gzip, tar, or a missing `APKINDEX` entry).
    Archive = 201,

    // 300..399: keys and signatures.
    /// Verification was asked for, but the index or package carries no signature.
    Unsigned = 300,
    /// The index or package is signed, but by no key in the key set.
    Untrusted = 301,
    /// A trusted key's signature does not match the index or package: it was tampered with.
    BadSignature = 302,
    /// A public or private key does not parse or cannot be used.
    Key = 303,
    /// Signing failed.
    Sign = 304,

    // 400..499: package files (`.apk`).
    /// A package file is malformed: not gzip, truncated, corrupt compressed data, a bad tar
    /// stream, a missing or invalid `.PKGINFO`, an unsupported entry type, or data after its
    /// end.
    Package = 400,
    /// A file in a package does not match the checksum recorded for it.
    ChecksumMismatch = 401,
    /// A package's data does not match the `datahash` its (signed) `.PKGINFO` records: the
    /// data was tampered with.
    DatahashMismatch = 402,
    /// A package holds a path that could escape the destination (absolute, `..`, control
    /// characters).
    MaliciousPath = 403,
    /// A package exceeds a size, entry-count or compression-ratio limit (a gzip or tar bomb).
    LimitExceeded = 404,
    /// Extraction refused or failed for a reason other than the package's contents being
    /// unreadable: an existing file in the way, a symlink in a path, a device node without
    /// `APK_EXTRACT_ALLOW_DEVICES`, a hard link to something the package did not extract.
    Extract = 405,
    /// The package has no `datahash`, so its signature covers its data as well and can only
    /// be checked once the data was read: use `apk_package_file_check`, or verify after
    /// `apk_package_file_extract`.
    NeedsData = 406,
    /// The package's data was already read by `apk_package_file_extract`; it can be read
    /// only once per `apk_package_file`.
    DataConsumed = 407,

    // 500..599: solving.
    /// A world entry is not a valid dependency (`[!]name[@tag][op version]`).
    InvalidWorld = 500,
    /// An installed database does not parse.
    InstalledDb = 501,
    /// No selection of packages satisfies the world; the last error holds apk's
    /// `ERROR: unable to select packages:` report.
    Unsatisfiable = 502,

    // 600..699: databases and commits.
    /// The root has no installed database (`lib/apk/db/installed`) and `APK_DB_INITDB` was
    /// not given.
    NoDatabase = 600,
    /// Another handle or process holds the database lock.
    Locked = 601,
    /// A database file (installed packages, world, triggers, scripts, repositories, protected
    /// paths) is malformed.
    Database = 602,
    /// A commit that changes the root was asked of a database opened with
    /// `APK_DB_READ_ONLY`.
    ReadOnly = 603,
    /// A commit could not go on: a package is in no loaded repository or could not be
    /// fetched, or an earlier commit on the same handle failed part way.
    Commit = 604,
}

impl apk_result {
    /// Every code, for looking one up by number.
    const ALL: [apk_result; 34] = [
        apk_result::Ok,
        apk_result::NullParameter,
        apk_result::Panic,
        apk_result::InvalidUtf8,
        apk_result::InvalidRules,
        apk_result::OutOfRange,
        apk_result::InsufficientSize,
        apk_result::Unknown,
        apk_result::InvalidFlags,
        apk_result::InvalidVersion,
        apk_result::InvalidDependency,
        apk_result::Io,
        apk_result::Archive,
        apk_result::Unsigned,
        apk_result::Untrusted,
        apk_result::BadSignature,
        apk_result::Key,
        apk_result::Sign,
        apk_result::Package,
        apk_result::ChecksumMismatch,
        apk_result::DatahashMismatch,
        apk_result::MaliciousPath,
        apk_result::LimitExceeded,
        apk_result::Extract,
        apk_result::NeedsData,
        apk_result::DataConsumed,
        apk_result::InvalidWorld,
        apk_result::InstalledDb,
        apk_result::Unsatisfiable,
        apk_result::NoDatabase,
        apk_result::Locked,
        apk_result::Database,
        apk_result::ReadOnly,
        apk_result::Commit,
    ];

    /// The code numbered `code`, if there is one.
    fn from_code(code: c_uint) -> Option<apk_result> {
        apk_result::ALL
            .into_iter()
            .find(|&result| result as c_uint == code)
    }

    /// A short fixed description of the code (not the detailed last-error message).
    fn description(self) -> &'static str {
        match self {
            apk_result::Ok => "success",
            apk_result::NullParameter => "a required pointer parameter was NULL",
            apk_result::Panic => "internal error (a panic was caught)",
            apk_result::InvalidUtf8 => "a string parameter is not valid UTF-8",
            apk_result::InvalidRules => "unknown version rules",
            apk_result::OutOfRange => "position out of range",
            apk_result::InsufficientSize => "buffer too small",
            apk_result::Unknown => "unknown error",
            apk_result::InvalidFlags => "unknown flags",
            apk_result::InvalidVersion => "invalid version",
            apk_result::InvalidDependency => "invalid dependency",
            apk_result::Io => "i/o error",
            apk_result::Archive => "malformed index archive",
            apk_result::Unsigned => "not signed",
            apk_result::Untrusted => "not signed by a trusted key",
            apk_result::BadSignature => "bad signature",
            apk_result::Key => "invalid key",
            apk_result::Sign => "signing failed",
            apk_result::Package => "malformed package",
            apk_result::ChecksumMismatch => "file checksum mismatch in package",
            apk_result::DatahashMismatch => "package data does not match its datahash",
            apk_result::MaliciousPath => "malicious path in package",
            apk_result::LimitExceeded => "package exceeds a limit",
            apk_result::Extract => "extraction failed",
            apk_result::NeedsData => "package signature can only be checked with its data",
            apk_result::DataConsumed => "package data already read",
            apk_result::InvalidWorld => "invalid world entry",
            apk_result::InstalledDb => "malformed installed database",
            apk_result::Unsatisfiable => "unable to select packages",
            apk_result::NoDatabase => "no installed database",
            apk_result::Locked => "database locked by another process",
            apk_result::Database => "malformed database",
            apk_result::ReadOnly => "database opened read-only",
            apk_result::Commit => "commit failed",
        }
    }
}

/// Declares [`Error`]: first the variants written out, then one variant per library error
/// listed under `from`, each with a `From` impl so that `try_ok!` converts that error.
macro_rules! error_enum {
    (
        $(#[$attr:meta])*
        enum Error { $($own:tt)* }
        from { $($variant:ident($ty:ty)),* $(,)? }
    ) => {
        $(#[$attr])*
        pub(crate) enum Error {
            $($own)*
            $($variant($ty),)*
        }

        $(impl From<$ty> for Error {
            fn from(e: $ty) -> Error {
                Error::$variant(e)
            }
        })*
    };
}

error_enum! {
    /// Every failure the C API can report, before it is turned into a code and a message.
    #[derive(Debug)]
    enum Error {
        NullParameter(&'static str),
        Panic(String),
        InvalidUtf8(&'static str),
        InvalidRules(c_int),
        OutOfRange { position: usize, len: usize },
        InsufficientSize { needed: usize, len: usize },
        InteriorNul(&'static str),
        InvalidFlags(u32),
        DataConsumed,
        World(ParseDependencyError),
        ConflictingFlags(&'static str),
        ReadOnly,
        Unsatisfiable(String),
        /// A v3 (ADB) package that cannot be read, verified or checked.
        AdbPackage(AdbError),
        /// A v3 (ADB) index that cannot be read or verified.
        AdbIndex(AdbError),
    }
    from {
        Version(ParseVersionError),
        Dependency(ParseDependencyError),
        LoadIndex(LoadIndexError),
        LoadKeys(LoadKeysError),
        ParseKey(ParseKeyError),
        SigningKey(SigningKeyError),
        WriteArchive(WriteArchiveError),
        ReadPackage(ReadPackageError),
        VerifyPackage(VerifyPackageError),
        Extract(ExtractError),
        IndexPackage(IndexPackageError),
        Installed(ReadInstalledError),
        Solve(SolveError),
        Open(OpenError),
        Commit(CommitError),
    }
}

thread_local! {
    /// The message of the last failure on this thread of a function returning `apk_result`.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// An error's message followed by those of its sources, `: `-separated (library messages
/// never repeat their source, so the chain reads as one sentence).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // Writing to a String cannot fail.
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Maps a failure to its code and records its message as this thread's last error.
pub(crate) fn map_error(error: Error) -> apk_result {
    use apk_result as R;
    let (code, message) = match error {
        Error::NullParameter(name) => (R::NullParameter, format!("parameter `{name}` is NULL")),
        Error::Panic(message) => (R::Panic, format!("internal error (panic): {message}")),
        Error::InvalidUtf8(name) => (R::InvalidUtf8, format!("parameter `{name}` is not UTF-8")),
        Error::InvalidRules(rules) => (
            R::InvalidRules,
            format!("unknown version rules {rules} (expected APK_RULES_V2 or APK_RULES_V3)"),
        ),
        Error::OutOfRange { position, len } => (
            R::OutOfRange,
            format!("position {position} is out of range (length {len})"),
        ),
        Error::InsufficientSize { needed, len } => (
            R::InsufficientSize,
            format!("buffer of {len} bytes is too small, {needed} bytes needed"),
        ),
        Error::InteriorNul(what) => (
            R::Unknown,
            format!("{what} holds a NUL byte and cannot be returned as a C string"),
        ),
        Error::Version(e) => (R::InvalidVersion, chain(&e)),
        Error::Dependency(e) => (R::InvalidDependency, chain(&e)),
        Error::LoadIndex(e) => {
            let code = match &e {
                LoadIndexError::Io { .. } => R::Io,
                LoadIndexError::Archive(
                    ReadArchiveError::Io { .. } | ReadArchiveError::Read { .. },
                ) => R::Io,
                LoadIndexError::Archive(_) => R::Archive,
                LoadIndexError::Verify(VerifyError::Unsigned) => R::Unsigned,
                LoadIndexError::Verify(VerifyError::UntrustedKey { .. }) => R::Untrusted,
                LoadIndexError::Verify(VerifyError::BadSignature { .. }) => R::BadSignature,
                _ => R::Unknown,
            };
            (code, chain(&e))
        }
        Error::LoadKeys(e) => {
            let code = match &e {
                LoadKeysError::ReadDir { .. } | LoadKeysError::Read { .. } => R::Io,
                LoadKeysError::Parse { .. } => R::Key,
                _ => R::Unknown,
            };
            (code, chain(&e))
        }
        Error::ParseKey(e) => (R::Key, chain(&e)),
        Error::SigningKey(e) => (R::Key, chain(&e)),
        Error::WriteArchive(e) => {
            let code = match &e {
                WriteArchiveError::Sign { .. } => R::Sign,
                _ => R::Unknown,
            };
            (code, chain(&e))
        }
        Error::InvalidFlags(flags) => (
            R::InvalidFlags,
            format!("unknown flags {flags:#x} in `flags`"),
        ),
        Error::DataConsumed => (
            R::DataConsumed,
            "the package's data was already read; open the package again".to_owned(),
        ),
        Error::ReadPackage(e) => (read_package_code(&e), chain(&e)),
        Error::VerifyPackage(e) => (verify_package_code(&e), chain(&e)),
        Error::Extract(e) => {
            let code = match &e {
                ExtractError::Read(e) => read_package_code(e),
                ExtractError::Untrusted(e) => verify_package_code(e),
                ExtractError::Destination { .. } | ExtractError::Io { .. } => R::Io,
                ExtractError::Adb(e) => adb_code(e, R::Package),
                _ => R::Extract,
            };
            (code, chain(&e))
        }
        Error::AdbPackage(e) => (adb_code(&e, R::Package), chain(&e)),
        Error::AdbIndex(e) => (adb_code(&e, R::Archive), chain(&e)),
        Error::World(e) => (R::InvalidWorld, format!("world: {}", chain(&e))),
        Error::Installed(e) => (R::InstalledDb, chain(&e)),
        // The message is apk's report itself, as apk prints it.
        Error::Solve(e) => (R::Unsatisfiable, e.report().to_string()),
        Error::ConflictingFlags(which) => (R::InvalidFlags, format!("{which} cannot be combined")),
        Error::ReadOnly => (
            R::ReadOnly,
            "the database was opened read-only; only simulated commits are possible".to_owned(),
        ),
        // apk's report as apk prints it.
        Error::Unsatisfiable(report) => (R::Unsatisfiable, report),
        Error::Open(e) => {
            let code = match &e {
                OpenError::NoDatabase { .. } => R::NoDatabase,
                OpenError::Lock(LockError::Locked { .. } | LockError::Timeout { .. }) => R::Locked,
                OpenError::Lock(_) | OpenError::Io { .. } => R::Io,
                OpenError::Corrupt { .. } => R::Database,
                OpenError::Keys { .. } => R::Key,
                _ => R::Unknown,
            };
            // apk-db's messages already include their source, so no `chain` here.
            (code, e.to_string())
        }
        Error::Commit(e) => {
            let code = match &e {
                CommitError::NotFound { .. } | CommitError::Fetch { .. } => R::Commit,
                CommitError::Package { .. } => R::Package,
                CommitError::IdentityMismatch { .. } => R::BadSignature,
                CommitError::Io { .. } => R::Io,
                _ => R::Unknown,
            };
            (code, e.to_string())
        }
        Error::IndexPackage(e) => {
            let code = match &e {
                IndexPackageError::Read { source, .. } => read_package_code(source),
                _ => R::Unknown,
            };
            (code, chain(&e))
        }
    };
    set_last_error(message);
    code
}

/// The code for a failure to read a package (the message comes from [`chain`]).
fn read_package_code(error: &ReadPackageError) -> apk_result {
    use apk_result as R;
    match error {
        ReadPackageError::Open { .. } | ReadPackageError::Io { .. } => R::Io,
        ReadPackageError::MaliciousPath { .. } => R::MaliciousPath,
        ReadPackageError::ChecksumMismatch { .. } => R::ChecksumMismatch,
        ReadPackageError::DataHashMismatch { .. } => R::DatahashMismatch,
        ReadPackageError::LimitExceeded { .. } => R::LimitExceeded,
        ReadPackageError::Poisoned => R::DataConsumed,
        // NotAPackage, Truncated, Corrupt, Malformed, MissingPkgInfo, PkgInfo, BadDataHash,
        // UnsupportedEntry, TrailingGarbage, and whatever later versions add.
        _ => R::Package,
    }
}

/// The code for a failure to read, verify or check a v3 (ADB) file; `malformed` is the code
/// for a file that is not well-formed (`APK_RESULT_PACKAGE` for packages,
/// `APK_RESULT_ARCHIVE` for indexes).
fn adb_code(error: &AdbError, malformed: apk_result) -> apk_result {
    use apk_result as R;
    match error {
        AdbError::Unsigned => R::Unsigned,
        AdbError::UntrustedKey { .. } => R::Untrusted,
        AdbError::BadSignature { .. } => R::BadSignature,
        AdbError::Data {
            kind: DataErrorKind::HashMismatch { .. } | DataErrorKind::SizeMismatch { .. },
            ..
        }
        | AdbError::UniqueIdMismatch => R::ChecksumMismatch,
        AdbError::TooLarge { .. } | AdbError::TooManyItems { .. } => R::LimitExceeded,
        AdbError::Context { inner, .. } => adb_code(inner, malformed),
        _ => malformed,
    }
}

/// The code for a failed signature check of a package.
fn verify_package_code(error: &VerifyPackageError) -> apk_result {
    use apk_result as R;
    match error {
        VerifyPackageError::Unsigned => R::Unsigned,
        VerifyPackageError::UntrustedKey { .. } => R::Untrusted,
        VerifyPackageError::BadSignature { .. } => R::BadSignature,
        VerifyPackageError::NeedsData => R::NeedsData,
        _ => R::Unknown,
    }
}

fn set_last_error(message: String) {
    // `try_with` fails only while the thread is being torn down; there is no one left to
    // read the message then.
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = message);
}

/// What an exported function returns when it fails before or instead of producing its value:
/// a NULL parameter, a bad argument, a library error or a caught panic.
///
/// Only `apk_result` carries the failure (through [`map_error`], which also records the
/// message); every other return type gets its neutral value and leaves the last error alone.
pub(crate) trait Failure {
    fn fail(error: Error) -> Self;
}

impl Failure for apk_result {
    fn fail(error: Error) -> Self {
        map_error(error)
    }
}

macro_rules! impl_failure_default {
    ($($ty:ty),*) => {
        $(impl Failure for $ty {
            fn fail(_: Error) -> Self {
                <$ty>::default()
            }
        })*
    };
}

impl_failure_default!((), bool, usize, u64, u32, apk_str);

impl<T> Failure for *const T {
    fn fail(_: Error) -> Self {
        std::ptr::null()
    }
}

impl<T> Failure for *mut T {
    fn fail(_: Error) -> Self {
        std::ptr::null_mut()
    }
}

/// Copies `text` into `buf` (of `len` bytes), truncated at a UTF-8 character boundary to
/// leave room for the terminating NUL, which is always written when `len > 0`.
fn copy_truncated(text: &str, buf: *mut c_char, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    let mut n = text.len().min(len - 1);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller of the exported function promises that `buf` points to `len`
    // writable bytes; we write `n + 1 <= len` of them, from a source that cannot overlap
    // (Rust-owned memory).
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        buf.add(n).write(0);
    }
}

/// Copy-out of a message with truncation; shared by [`apk_result::apk_last_error`] and
/// [`apk_result::apk_result_message`], which must not disturb the last error themselves.
fn write_message(text: &str, buf: *mut c_char, len: usize, out_len: *mut usize) -> apk_result {
    if out_len.is_null() || (buf.is_null() && len > 0) {
        return apk_result::NullParameter;
    }
    copy_truncated(text, buf, len);
    // SAFETY: checked non-NULL above; the caller promises it points to a writable size_t.
    unsafe { out_len.write(text.len()) };
    apk_result::Ok
}

impl apk_result {
    /// Copies the message of the last failure on the calling thread into `buf`.
    ///
    /// The message is set by every function returning `apk_result` when it returns something
    /// other than `APK_RESULT_OK`, replacing the previous one. It is not cleared by successful
    /// calls, and functions that return anything other than `apk_result` (`bool`, `size_t`,
    /// handles, `apk_str`) never change it. Neither `apk_last_error` nor `apk_result_message`
    /// changes it. Before any failure it is the empty string.
    ///
    /// At most `len - 1` bytes are copied, cut at a UTF-8 character boundary, and a NUL is
    /// always written after them when `len > 0`. `*out_len` receives the full length of the
    /// message in bytes (without the NUL), so `*out_len >= len` means it was truncated.
    /// `buf` may be NULL when `len` is 0, to ask for the length only.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` if `out_len` is NULL, or if `buf` is NULL while `len`
    /// is not 0.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_last_error(
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        // Not `ffi_boundary!`: its failure path records a message, and these two functions
        // must leave the last error as it is.
        match std::panic::catch_unwind(|| {
            LAST_ERROR
                .try_with(|last| write_message(&last.borrow(), buf, len, out_len))
                .unwrap_or(apk_result::Unknown)
        }) {
            Ok(result) => result,
            Err(_) => apk_result::Panic,
        }
    }

    /// Copies a short fixed description of the status code `result` (for example "bad index
    /// signature") into `buf`, with the same truncation rules and NULL handling as
    /// `apk_last_error`. Unknown codes get a generic text. Does not change the last error.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_result_message(
        result: c_uint,
        buf: *mut c_char,
        len: usize,
        out_len: *mut usize,
    ) -> apk_result {
        // Not `ffi_boundary!`, as in `apk_last_error`.
        match std::panic::catch_unwind(|| {
            let text = apk_result::from_code(result)
                .map_or("unrecognised result code", apk_result::description);
            write_message(text, buf, len, out_len)
        }) {
            Ok(result) => result,
            Err(_) => apk_result::Panic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        let mut len = 0;
        assert_eq!(
            apk_result::apk_last_error(std::ptr::null_mut(), 0, &mut len),
            apk_result::Ok
        );
        let mut buf = vec![0 as c_char; len + 1];
        let mut out_len = 0;
        assert_eq!(
            apk_result::apk_last_error(buf.as_mut_ptr(), buf.len(), &mut out_len),
            apk_result::Ok
        );
        assert_eq!(out_len, len);
        let bytes: Vec<u8> = buf.iter().take(len).map(|&c| c as u8).collect();
        String::from_utf8(bytes).expect("messages are UTF-8")
    }

    #[test]
    fn panics_become_codes_and_messages() {
        fn exploding() -> apk_result {
            ffi_boundary! {
                if std::hint::black_box(true) {
                    panic!("boom {}", 42);
                }
                apk_result::Ok
            }
        }
        fn exploding_bool() -> bool {
            ffi_boundary! {
                std::hint::black_box(None::<bool>).expect("quiet")
            }
        }
        assert_eq!(exploding(), apk_result::Panic);
        assert_eq!(last_error(), "internal error (panic): boom 42");
        assert!(!exploding_bool());
        // A non-apk_result function leaves the message alone.
        assert_eq!(last_error(), "internal error (panic): boom 42");
    }

    #[test]
    fn last_error_truncates_on_char_boundaries() {
        map_error(Error::NullParameter("é"));
        let full = "parameter `é` is NULL";
        let mut buf = [0x7f as c_char; 13];
        let mut out_len = 0;
        assert_eq!(
            apk_result::apk_last_error(buf.as_mut_ptr(), buf.len(), &mut out_len),
            apk_result::Ok
        );
        assert_eq!(out_len, full.len());
        // 12 bytes would split the two-byte `é` at bytes 11..13: cut before it.
        let text: Vec<u8> = buf.iter().map(|&c| c as u8).collect();
        assert_eq!(&text[..12], b"parameter `\0");
        assert_eq!(
            apk_result::apk_last_error(std::ptr::null_mut(), 4, &mut out_len),
            apk_result::NullParameter
        );
        assert_eq!(
            last_error(),
            full,
            "a failed apk_last_error keeps the message"
        );
    }

    #[test]
    fn codes_round_trip_through_numbers() {
        for code in apk_result::ALL {
            assert_eq!(apk_result::from_code(code as c_uint), Some(code));
        }
        assert_eq!(apk_result::from_code(9999), None);
        let mut buf = [0 as c_char; 64];
        let mut out_len = 0;
        assert_eq!(
            apk_result::apk_result_message(302, buf.as_mut_ptr(), buf.len(), &mut out_len),
            apk_result::Ok
        );
        assert_eq!(out_len, "bad signature".len());
    }
}
