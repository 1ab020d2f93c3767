//! The error type of the ADB reader.

use std::fmt;
use std::io;

use super::schema::SchemaId;

/// Why an ADB file could not be read, verified or converted.
///
/// Malformed input of any kind (a bad wrapper, a block that runs past the end, an offset outside
/// the ADB payload, a value of the wrong type) is reported here; nothing in the reader panics
/// on input data. [`AdbError::is_untrusted`] tells trust failures (unsigned, untrusted key, bad
/// signature, tampered contents) from malformed files.
///
/// ```
/// use apk_index::adb::{AdbError, AdbFile};
///
/// let err = AdbFile::parse(b"ADB.pckg\x01").unwrap_err();
/// assert!(matches!(err, AdbError::Block { .. }));
/// assert!(!err.is_untrusted());
/// assert!(AdbError::Unsigned.is_untrusted());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdbError {
    /// The file does not start with `ADB.`, `ADBd` or `ADBc`.
    #[error("not an ADB file (it starts with {})", hex_preview(found))]
    NotAdb {
        /// The first bytes of the file (at most 4).
        found: Vec<u8>,
    },
    /// An `ADBc` header names an unknown compression algorithm.
    #[error("unknown ADBc compression algorithm {0}")]
    UnknownCompression(u8),
    /// The compressed stream is corrupt or truncated.
    #[error("corrupt {algorithm} stream")]
    Decompress {
        /// `deflate` or `zstd`.
        algorithm: &'static str,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// Bytes follow the end of the compressed stream.
    #[error("{0} bytes of data after the end of the compressed stream")]
    TrailingData(u64),
    /// The inner stream is larger than [`ReadOptions::max_size`](super::ReadOptions::max_size).
    #[error("the ADB stream is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The inner stream is shorter than its 8-byte header or does not start with `ADB.`.
    #[error("the inner stream has no ADB. header")]
    BadHeader,
    /// The file has another schema than the one the caller reads.
    #[error("schema {found} where {expected} was expected")]
    WrongSchema {
        /// The schema the caller wanted.
        expected: SchemaId,
        /// The file's schema.
        found: SchemaId,
    },
    /// A block header, its padding or the order of the blocks is wrong.
    #[error("block at stream offset {offset}: {kind}")]
    Block {
        /// Offset of the block header in the inner stream.
        offset: u64,
        /// What is wrong.
        kind: BlockErrorKind,
    },
    /// A value in the ADB block cannot be read.
    #[error("ADB value at payload offset {offset:#x}: {kind}")]
    Value {
        /// Payload offset of the value word or of the data it refers to.
        offset: u64,
        /// What is wrong.
        kind: ValueErrorKind,
    },
    /// A schema rule is broken (for example a package entry without a name), or a value
    /// cannot be carried into the text formats (a newline in a name).
    #[error("{0}")]
    Invalid(String),
    /// An error inside a field; `context` is the path to it, such as `packages[3].depends[0]`.
    #[error("{context}: {inner}")]
    Context {
        /// Where in the object tree the error is.
        context: String,
        /// The error.
        inner: Box<AdbError>,
    },
    /// The file has no signature (no SIG block of version 0).
    #[error("not signed")]
    Unsigned,
    /// No signature is by a trusted key.
    #[error("no signature by a trusted key (key ids: {})", key_ids.iter().map(|k| hex_preview(k)).collect::<Vec<_>>().join(", "))]
    UntrustedKey {
        /// The key ids of the signatures, in file order.
        key_ids: Vec<[u8; 16]>,
    },
    /// A signature names a trusted key but does not verify (and no other one does).
    #[error("bad signature by trusted key {key_name}")]
    BadSignature {
        /// The file name of the trusted key.
        key_name: String,
    },
    /// A DATA block does not match the file list and hashes of the package.
    #[error("data block at stream offset {offset}: {kind}")]
    Data {
        /// Offset of the block header in the inner stream (the end of the stream for a
        /// missing block).
        offset: u64,
        /// What is wrong.
        kind: DataErrorKind,
    },
    /// The package's 20-byte unique id (`info.hashes`) does not match its ADB payload.
    #[error("the package's unique id does not match its contents")]
    UniqueIdMismatch,
    /// A budget against maliciously shared values was exhausted (a small file that expands
    /// to an enormous tree, or dump, through many references to the same data).
    #[error("the ADB data expands too much (beyond a budget of {limit} items or bytes)")]
    TooManyItems {
        /// The budget that was exceeded: array items when decoding, bytes when dumping.
        limit: u64,
    },
}

impl AdbError {
    /// Whether the error is about trust (the file is well-formed but not proven authentic or
    /// intact) rather than a malformed file.
    ///
    /// ```
    /// use apk_index::adb::AdbError;
    /// assert!(AdbError::UniqueIdMismatch.is_untrusted());
    /// assert!(!AdbError::BadHeader.is_untrusted());
    /// ```
    pub fn is_untrusted(&self) -> bool {
        match self {
            AdbError::Unsigned
            | AdbError::UntrustedKey { .. }
            | AdbError::BadSignature { .. }
            | AdbError::Data { .. }
            | AdbError::UniqueIdMismatch => true,
            AdbError::Context { inner, .. } => inner.is_untrusted(),
            _ => false,
        }
    }

    /// Wraps the error with the path of the field it happened in.
    pub(crate) fn context(self, context: impl fmt::Display) -> AdbError {
        match self {
            // Join nested paths into one: `packages[0]` + `depends[1]`.
            AdbError::Context {
                context: inner_context,
                inner,
            } => AdbError::Context {
                context: join_path(&context.to_string(), &inner_context),
                inner,
            },
            err => AdbError::Context {
                context: context.to_string(),
                inner: Box::new(err),
            },
        }
    }
}

fn join_path(outer: &str, inner: &str) -> String {
    if inner.starts_with('[') {
        format!("{outer}{inner}")
    } else {
        format!("{outer}.{inner}")
    }
}

fn hex_preview(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is wrong with a block; see [`AdbError::Block`].
///
/// ```
/// use apk_index::adb::BlockErrorKind;
/// assert_eq!(BlockErrorKind::MissingPadding.to_string(), "the padding to 8 bytes is missing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockErrorKind {
    /// Fewer bytes than a block header remain.
    #[error("truncated block header")]
    TruncatedHeader,
    /// The raw size is smaller than the header itself.
    #[error("block size {0} is smaller than its header")]
    SizeTooSmall(u64),
    /// The payload runs past the end of the stream.
    #[error("block of {size} bytes runs past the end of the stream")]
    PastEnd {
        /// The raw size (header and payload).
        size: u64,
    },
    /// The stream ends without the block's padding.
    #[error("the padding to 8 bytes is missing")]
    MissingPadding,
    /// A padding byte is not zero.
    #[error("non-zero padding byte")]
    NonZeroPadding,
    /// An extended header whose reserved word is not zero.
    #[error("non-zero reserved word in an extended block header")]
    NonZeroReserved,
    /// An extended header whose block type is 3 or more.
    #[error("invalid block type {0} in an extended header")]
    BadExtendedType(u32),
    /// An extended header used for a size that fits a normal header is accepted; a size
    /// that does not fit in memory is not.
    #[error("block size {0} does not fit in memory")]
    Huge(u64),
    /// The first block is not an ADB block.
    #[error("the first block is not an ADB block")]
    FirstNotAdb,
    /// A second ADB block.
    #[error("more than one ADB block")]
    SecondAdb,
    /// A SIG block after a DATA block.
    #[error("a signature block after a data block")]
    SigAfterData,
    /// A DATA block in a file whose schema is not `pckg`.
    #[error("a data block in a file that is not a package")]
    DataNotPackage,
    /// The stream has no blocks at all.
    #[error("no ADB block")]
    NoAdb,
    /// The ADB payload is shorter than its 8-byte header.
    #[error("ADB block payload of {0} bytes is too short")]
    AdbTooShort(usize),
    /// The ADB header's compat version is not 0.
    #[error("unsupported ADB compat version {0}")]
    CompatVersion(u8),
    /// A version-0 SIG payload shorter than its 18-byte header.
    #[error("signature block of {0} bytes is too short")]
    SigTooShort(usize),
    /// A DATA payload shorter than its 8-byte header.
    #[error("data block of {0} bytes is too short")]
    DataTooShort(usize),
}

/// What is wrong with a value; see [`AdbError::Value`].
///
/// ```
/// use apk_index::adb::ValueErrorKind;
/// let kind = ValueErrorKind::UnknownType(5);
/// assert_eq!(kind.to_string(), "unknown value type 0x5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueErrorKind {
    /// The data a value refers to lies (partly) outside the ADB payload.
    #[error("{len} bytes at offset {at:#x} run past the end of the {payload_len}-byte payload")]
    OutOfBounds {
        /// Where the data starts.
        at: u64,
        /// How many bytes were needed.
        len: u64,
        /// The payload length.
        payload_len: usize,
    },
    /// A value type that does not exist (4–7, 0xB, 0xC, 0xF).
    #[error("unknown value type {0:#x}")]
    UnknownType(u8),
    /// A special value other than NULL, TRUE and FALSE.
    #[error("unknown special value {0:#x}")]
    BadSpecial(u32),
    /// The value has the wrong type for its field.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the schema wants.
        expected: &'static str,
        /// What the file has.
        found: &'static str,
    },
    /// A string that is not UTF-8.
    #[error("string is not UTF-8")]
    NotUtf8,
    /// The root value is not an object.
    #[error("the root value is not an object")]
    RootNotObject,
}

/// What is wrong with a DATA block; see [`AdbError::Data`].
///
/// ```
/// use apk_index::adb::DataErrorKind;
/// let kind = DataErrorKind::Unexpected { path_index: 3, file_index: 1 };
/// assert!(kind.to_string().contains("3/1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataErrorKind {
    /// A DATA block when no further file needs one.
    #[error("block {path_index}/{file_index} where no more file data was expected")]
    Unexpected {
        /// The block's path index.
        path_index: u32,
        /// The block's file index.
        file_index: u32,
    },
    /// A DATA block for another file than the next one needing data.
    #[error(
        "block {found_path}/{found_file} where {path} ({path_index}/{file_index}) was expected"
    )]
    OutOfOrder {
        /// The expected file's path.
        path: String,
        /// The expected path index.
        path_index: u32,
        /// The expected file index.
        file_index: u32,
        /// The block's path index.
        found_path: u32,
        /// The block's file index.
        found_file: u32,
    },
    /// The block's length differs from the file's size.
    #[error("{path}: {found} bytes of data for a file of {expected} bytes")]
    SizeMismatch {
        /// The file's path.
        path: String,
        /// The size in the file entry.
        expected: u64,
        /// The length of the data.
        found: u64,
    },
    /// The data does not hash to the file's hash.
    #[error("{path}: file integrity error (hash mismatch)")]
    HashMismatch {
        /// The file's path.
        path: String,
    },
    /// A regular file has no hash, or one of an unsupported length.
    #[error("{path}: no usable hash for a regular file")]
    NoHash {
        /// The file's path.
        path: String,
    },
    /// The file list needs more data than the DATA blocks give.
    #[error("no data block for {path}")]
    Missing {
        /// The first file left without data.
        path: String,
    },
}
