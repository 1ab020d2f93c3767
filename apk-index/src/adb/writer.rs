//! Writing ADB files: the value heap of an ADB block (spec section 3), blocks and their
//! padding (2.2), SIG blocks (5), DATA blocks (6) and the compression wrapper (1).
//!
//! [`AdbWriter`] builds one ADB block payload the way apk-tools 3 lays it out: every value is
//! appended to a heap as it is written, identical data is stored once, vectors and 32/64-bit
//! integers are aligned to 4 bytes, blob16 data to 2, and objects lose their trailing NULL
//! slots. [`AdbStreamWriter`] then writes a whole file: wrapper, `ADB.` + schema, the ADB
//! block, SIG blocks ([`sign_payload`]) and DATA blocks, each padded to 8 bytes.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use sha2::{Digest, Sha512};

use super::container::{BlockKind, Compression};
use super::schema::SchemaId;
use super::trust::key_id;
use super::value::VectorTag;
use crate::keys::{SignError, SigningKey};

/// The largest payload offset a value word can hold (28 bits).
const MAX_OFFSET: usize = 0x0FFF_FFFF;

/// The largest payload of a block with the normal 4-byte header.
const MAX_NORMAL_PAYLOAD: u64 = 0x3FFF_FFFF - 4;

/// The digest id apk writes in SIG blocks: SHA-512.
const HASH_ALG_SHA512: u8 = 4;

/// Returned when writing ADB data fails.
///
/// ```
/// use apk_index::adb::{AdbStreamWriter, AdbWriteError, Compression, SchemaId};
/// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::INDEX, Compression::None)?;
/// let err = file.write_sig(&[0, 4]).unwrap_err();
/// assert!(matches!(err, AdbWriteError::Order(_)));
/// # Ok::<(), AdbWriteError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdbWriteError {
    /// The ADB payload outgrew the 28-bit offsets of value words (256 MiB), or a value is
    /// longer than its encoding allows.
    #[error("ADB data too large: {what}")]
    TooLarge {
        /// What did not fit.
        what: String,
    },
    /// Blocks were written out of the order apk requires (ADB, SIG…, DATA…), or a DATA
    /// block's contents did not have the announced length.
    #[error("ADB blocks written out of order: {0}")]
    Order(&'static str),
    /// A value that the schema does not allow (an invalid name, dependency or field).
    #[error("invalid {field}: {value:?}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The rejected value.
        value: String,
    },
    /// Signing failed.
    #[error("failed to sign with {key_name}")]
    Sign {
        /// The key's name.
        key_name: String,
        /// The cause.
        #[source]
        source: SignError,
    },
    /// The ADB data being copied from (a package being indexed) is invalid.
    #[error("invalid source package")]
    Read(#[source] super::error::AdbError),
    /// A compression algorithm or level that cannot be written.
    #[error("unsupported compression {0:?}")]
    Compression(String),
    /// Writing to the output failed.
    #[error("failed to write the ADB file")]
    Io(#[from] io::Error),
}

/// Builds the payload of one ADB block: an 8-byte header and a heap of values.
///
/// Every method that writes data returns the *value word* that refers to it (spec 3.2), to be
/// stored in an object or array slot or as the root. `0` is NULL (absent). Identical data
/// (blobs, integers, objects, arrays with the same bytes and alignment) is written once and
/// referenced again, as apk does; [`blob_unique`](Self::blob_unique) reserves space that is
/// never shared.
///
/// ```
/// use apk_index::adb::{Adb, AdbWriter, Value};
///
/// let mut w = AdbWriter::new();
/// let name = w.blob(b"hello")?;
/// let again = w.blob(b"hello")?;
/// assert_eq!(name, again); // stored once
/// let size = w.int(300_000)?;
/// let root = w.object(&[name, 0, size])?;
/// let payload = w.finish(root);
///
/// let adb = Adb::new(&payload)?;
/// let root = adb.root()?;
/// assert_eq!(root.get(1)?, Value::Blob(b"hello"));
/// assert_eq!(root.get(2)?, Value::Null);
/// assert_eq!(root.get(3)?, Value::Int(300_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct AdbWriter {
    payload: Vec<u8>,
    dedup: HashMap<(u8, Vec<u8>), u32>,
}

impl Default for AdbWriter {
    fn default() -> Self {
        AdbWriter::new()
    }
}

const TYPE_INT: u32 = 0x1000_0000;
const TYPE_INT32: u32 = 0x2000_0000;
const TYPE_INT64: u32 = 0x3000_0000;
const TYPE_BLOB8: u32 = 0x8000_0000;
const TYPE_BLOB16: u32 = 0x9000_0000;
const TYPE_BLOB32: u32 = 0xA000_0000;
const TYPE_ARRAY: u32 = 0xD000_0000;
const TYPE_OBJECT: u32 = 0xE000_0000;

impl AdbWriter {
    /// An empty payload: the 8-byte header (compat 0, version 0, root NULL).
    ///
    /// ```
    /// let w = apk_index::adb::AdbWriter::new();
    /// assert_eq!(w.len(), 8);
    /// ```
    pub fn new() -> AdbWriter {
        AdbWriter {
            payload: vec![0u8; 8],
            dedup: HashMap::new(),
        }
    }

    /// The payload length so far.
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// w.blob(b"abc")?;
    /// assert_eq!(w.len(), 12);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether nothing but the header has been written.
    ///
    /// ```
    /// assert!(apk_index::adb::AdbWriter::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.payload.len() <= 8
    }

    /// The payload written so far (the root word is still NULL).
    ///
    /// ```
    /// let w = apk_index::adb::AdbWriter::new();
    /// assert_eq!(w.payload(), &[0u8; 8]);
    /// ```
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Appends `bytes` aligned to `align` (padding with zeros), or finds an identical earlier
    /// copy with the same alignment. Returns the offset.
    fn data(&mut self, align: u8, bytes: &[u8]) -> Result<u32, AdbWriteError> {
        let key = (align, bytes.to_vec());
        if let Some(&at) = self.dedup.get(&key) {
            return Ok(at);
        }
        let at = self.append(align, bytes)?;
        self.dedup.insert(key, at);
        Ok(at)
    }

    /// Appends `bytes` aligned to `align` without de-duplication.
    fn append(&mut self, align: u8, bytes: &[u8]) -> Result<u32, AdbWriteError> {
        let align = usize::from(align.max(1));
        let at = self.payload.len().div_ceil(align) * align;
        if at > MAX_OFFSET {
            return Err(AdbWriteError::TooLarge {
                what: format!(
                    "the ADB payload passed {} bytes, the reach of a value word",
                    MAX_OFFSET + 1
                ),
            });
        }
        self.payload.resize(at, 0);
        self.payload.extend_from_slice(bytes);
        // `at` fits in 28 bits, checked above.
        Ok(at as u32)
    }

    /// Writes an unsigned integer in the smallest form: immediate below 2^28, else a 32-bit
    /// or 64-bit value on the heap. 0 is written as a present value (`0x10000000`).
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// assert_eq!(w.int(319)?, 0x1000_013F);
    /// assert_eq!(w.int(0)?, 0x1000_0000);
    /// assert_eq!(w.int(1_700_000_000)? >> 28, 0x2);
    /// assert_eq!(w.int(5_000_000_000)? >> 28, 0x3);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn int(&mut self, value: u64) -> Result<u32, AdbWriteError> {
        if value <= 0x0FFF_FFFF {
            return Ok(TYPE_INT | value as u32);
        }
        if let Ok(v) = u32::try_from(value) {
            let at = self.data(4, &v.to_le_bytes())?;
            return Ok(TYPE_INT32 | at);
        }
        let at = self.data(4, &value.to_le_bytes())?;
        Ok(TYPE_INT64 | at)
    }

    /// The length prefix, type and alignment of a blob of `len` bytes.
    fn blob_header(len: usize) -> Result<(Vec<u8>, u32, u8), AdbWriteError> {
        if let Ok(n) = u8::try_from(len) {
            Ok((vec![n], TYPE_BLOB8, 1))
        } else if let Ok(n) = u16::try_from(len) {
            Ok((n.to_le_bytes().to_vec(), TYPE_BLOB16, 2))
        } else if let Ok(n) = u32::try_from(len) {
            Ok((n.to_le_bytes().to_vec(), TYPE_BLOB32, 4))
        } else {
            Err(AdbWriteError::TooLarge {
                what: format!("a blob of {len} bytes"),
            })
        }
    }

    /// Writes a byte string: blob8 up to 255 bytes, blob16 up to 65535, blob32 above. An
    /// empty blob is not written: it is NULL (absent), as in apk.
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// assert_eq!(w.blob(b"")?, 0);
    /// assert_eq!(w.blob(b"x86_64")?, 0x8000_0008);
    /// assert_eq!(w.blob(&[7u8; 300])? >> 28, 0x9);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn blob(&mut self, bytes: &[u8]) -> Result<u32, AdbWriteError> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let (mut data, kind, align) = Self::blob_header(bytes.len())?;
        data.extend_from_slice(bytes);
        let at = self.data(align, &data)?;
        Ok(kind | at)
    }

    /// Reserves a blob of `len` zero bytes that is never shared with other values (apk's
    /// place for a package's unique id, filled in once the payload is complete). Returns the
    /// value word and the payload offset of the first data byte.
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// let (word, at) = w.blob_unique(20)?;
    /// assert_eq!((word, at), (0x8000_0008, 9));
    /// assert_ne!(w.blob(&[0u8; 20])?, word); // an equal blob is stored apart
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn blob_unique(&mut self, len: usize) -> Result<(u32, usize), AdbWriteError> {
        if len == 0 {
            return Ok((0, self.payload.len()));
        }
        let (header, kind, align) = Self::blob_header(len)?;
        let mut data = header.clone();
        data.resize(header.len() + len, 0);
        let at = self.append(align, &data)?;
        Ok((kind | at, at as usize + header.len()))
    }

    /// Writes a slot vector with `tag`, cutting trailing NULL slots; a vector left with no
    /// slots is NULL.
    fn vector(&mut self, slots: &[u32], tag: VectorTag) -> Result<u32, AdbWriteError> {
        let used = slots.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        if used == 0 {
            return Ok(0);
        }
        let n = u32::try_from(used + 1).map_err(|_| AdbWriteError::TooLarge {
            what: format!("a vector of {used} slots"),
        })?;
        let mut bytes = Vec::with_capacity((used + 1) * 4);
        bytes.extend_from_slice(&n.to_le_bytes());
        for slot in &slots[..used] {
            bytes.extend_from_slice(&slot.to_le_bytes());
        }
        let at = self.data(4, &bytes)?;
        Ok(match tag {
            VectorTag::Array => TYPE_ARRAY,
            VectorTag::Object => TYPE_OBJECT,
        } | at)
    }

    /// Writes an object: `fields[i]` is field `i + 1`. Trailing absent fields are cut; an
    /// object with no field present is NULL.
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// assert_eq!(w.object(&[0, 0])?, 0);
    /// let obj = w.object(&[0x1000_01ED, 0, 0])?;
    /// assert_eq!(&w.payload()[8..16], &[2, 0, 0, 0, 0xED, 1, 0, 0x10]);
    /// assert_eq!(obj, 0xE000_0008);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn object(&mut self, fields: &[u32]) -> Result<u32, AdbWriteError> {
        self.vector(fields, VectorTag::Object)
    }

    /// Writes an array of the non-NULL `items`, in the order given, tagged as apk tags the
    /// arrays it builds (`0xE`, like an object; see [`array_tagged`](Self::array_tagged)).
    /// An empty array is NULL.
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// let a = w.blob(b"a")?;
    /// assert_eq!(w.array(&[])?, 0);
    /// assert_eq!(w.array(&[a, 0, a])? >> 28, 0xE);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn array(&mut self, items: &[u32]) -> Result<u32, AdbWriteError> {
        self.array_tagged(items, VectorTag::Object)
    }

    /// Writes an array of the non-NULL `items` with an explicit tag (`0xD` for
    /// [`VectorTag::Array`]).
    ///
    /// ```
    /// use apk_index::adb::{AdbWriter, VectorTag};
    /// let mut w = AdbWriter::new();
    /// let x = w.blob(b"user.a\0b")?;
    /// assert_eq!(w.array_tagged(&[x], VectorTag::Array)? >> 28, 0xD);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn array_tagged(&mut self, items: &[u32], tag: VectorTag) -> Result<u32, AdbWriteError> {
        let items: Vec<u32> = items.iter().copied().filter(|&w| w != 0).collect();
        self.vector(&items, tag)
    }

    /// Writes a vector of `slots` exactly as given (trailing NULL slots cut), with `tag`:
    /// what copying an object or array from another ADB needs.
    ///
    /// ```
    /// use apk_index::adb::{AdbWriter, VectorTag};
    /// let mut w = AdbWriter::new();
    /// assert_eq!(w.vector_tagged(&[0x1000_0001, 0], VectorTag::Array)?, 0xD000_0008);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn vector_tagged(&mut self, slots: &[u32], tag: VectorTag) -> Result<u32, AdbWriteError> {
        self.vector(slots, tag)
    }

    /// Writes an object with no fields (`n = 1`): apk never writes one except as a root,
    /// which may not be NULL.
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// assert_eq!(w.empty_object()?, 0xE000_0008);
    /// assert_eq!(&w.payload()[8..], &[1, 0, 0, 0]);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn empty_object(&mut self) -> Result<u32, AdbWriteError> {
        let at = self.data(4, &1u32.to_le_bytes())?;
        Ok(TYPE_OBJECT | at)
    }

    /// Sets the root value and returns the finished payload.
    ///
    /// ```
    /// let mut w = apk_index::adb::AdbWriter::new();
    /// let root = w.object(&[0x1000_0001])?;
    /// let payload = w.finish(root);
    /// assert_eq!(&payload[4..8], &root.to_le_bytes());
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn finish(mut self, root: u32) -> Vec<u8> {
        self.payload[4..8].copy_from_slice(&root.to_le_bytes());
        self.payload
    }
}

/// The header of a block of `kind` with a payload of `payload_len` bytes: the 4-byte form,
/// or the 16-byte extended form when the raw size does not fit in 30 bits (spec 2.2).
///
/// ```
/// use apk_index::adb::{BlockKind, block_header};
/// assert_eq!(block_header(BlockKind::Sig, 274), [0x16, 0x01, 0x00, 0x40]);
/// assert_eq!(block_header(BlockKind::Data, 1_073_741_838).len(), 16);
/// ```
pub fn block_header(kind: BlockKind, payload_len: u64) -> Vec<u8> {
    let t: u32 = match kind {
        BlockKind::Adb => 0,
        BlockKind::Sig => 1,
        BlockKind::Data => 2,
    };
    if payload_len <= MAX_NORMAL_PAYLOAD {
        // Fits in 30 bits, checked above.
        let raw = (payload_len + 4) as u32;
        ((t << 30) | raw).to_le_bytes().to_vec()
    } else {
        let mut header = (0xC000_0000u32 | t).to_le_bytes().to_vec();
        header.extend_from_slice(&[0u8; 4]);
        header.extend_from_slice(&(payload_len.saturating_add(16)).to_le_bytes());
        header
    }
}

/// How many zero bytes follow a block of `header_len + payload_len` raw bytes.
fn padding_len(raw: u64) -> usize {
    (raw.wrapping_neg() & 7) as usize
}

/// Makes the payload of a SIG block (spec 5): version 0, digest 4 (SHA-512), the key id of
/// `key` and an RSA PKCS#1 v1.5 signature with SHA-512 over `schema ‖ the 18 header bytes ‖
/// SHA-512(adb_payload)`. The same key and payload always give the same bytes.
///
/// ```
/// use apk_index::adb::{AdbWriter, SchemaId, key_id, sign_payload};
/// use apk_index::SigningKey;
/// use rand::SeedableRng;
///
/// let key = SigningKey::generate("test.rsa.pub", 1024, &mut rand::rngs::StdRng::seed_from_u64(7))?;
/// let payload = AdbWriter::new().finish(0);
/// let sig = sign_payload(SchemaId::INDEX, &payload, &key)?;
/// assert_eq!(&sig[..2], &[0, 4]);
/// assert_eq!(&sig[2..18], &key_id(&key.public_key()));
/// assert_eq!(sig.len(), 18 + 128);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sign_payload(
    schema: SchemaId,
    adb_payload: &[u8],
    key: &SigningKey,
) -> Result<Vec<u8>, AdbWriteError> {
    let mut header = vec![0u8, HASH_ALG_SHA512];
    header.extend_from_slice(&key_id(&key.public_key()));
    let mut message = Vec::with_capacity(4 + 18 + 64);
    message.extend_from_slice(&schema.to_bytes());
    message.extend_from_slice(&header);
    message.extend_from_slice(&Sha512::digest(adb_payload));
    let signature = key
        .sign_adb(&message)
        .map_err(|source| AdbWriteError::Sign {
            key_name: key.key_name().to_owned(),
            source,
        })?;
    header.extend_from_slice(&signature);
    Ok(header)
}

impl FromStr for Compression {
    type Err = AdbWriteError;

    /// Parses apk's `--compression` argument: `none`, `deflate`, `deflate:N` (N 0–9; 0 means
    /// the default, written `ADBd`), `zstd` or `zstd:N` (N 0–22).
    ///
    /// ```
    /// use apk_index::adb::Compression;
    /// assert_eq!("none".parse::<Compression>()?, Compression::None);
    /// assert_eq!("deflate".parse::<Compression>()?, Compression::Deflate);
    /// assert_eq!("deflate:6".parse::<Compression>()?, Compression::DeflateWithLevel { level: 6 });
    /// assert_eq!("zstd".parse::<Compression>()?, Compression::Zstd { level: 0 });
    /// assert!("lzma".parse::<Compression>().is_err());
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    fn from_str(spec: &str) -> Result<Compression, AdbWriteError> {
        let bad = || AdbWriteError::Compression(spec.to_owned());
        let (alg, level) = match spec.split_once(':') {
            Some((alg, level)) => (alg, Some(level.parse::<u8>().map_err(|_| bad())?)),
            None => (spec, None),
        };
        match (alg, level) {
            ("none", None) => Ok(Compression::None),
            ("deflate", None | Some(0)) => Ok(Compression::Deflate),
            ("deflate", Some(level @ 1..=9)) => Ok(Compression::DeflateWithLevel { level }),
            ("zstd", None) => Ok(Compression::Zstd { level: 0 }),
            ("zstd", Some(level @ 0..=22)) => Ok(Compression::Zstd { level }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Compression {
    /// The `--compression` spelling of the wrapper.
    ///
    /// ```
    /// use apk_index::adb::Compression;
    /// assert_eq!(Compression::DeflateWithLevel { level: 6 }.to_string(), "deflate:6");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Deflate => f.write_str("deflate"),
            Compression::StoredWithHeader { level } => write!(f, "stored:{level}"),
            Compression::DeflateWithLevel { level } => write!(f, "deflate:{level}"),
            Compression::Zstd { level } => write!(f, "zstd:{level}"),
        }
    }
}

/// The deflate level apk uses when none is given.
const DEFAULT_DEFLATE_LEVEL: u32 = 9;

/// Where the inner stream goes: straight out, through a raw deflate encoder, or into memory
/// for a zstd frame made at the end.
enum Sink<W: Write> {
    Plain(W),
    Deflate(flate2::write::DeflateEncoder<W>),
    Zstd { buffer: Vec<u8>, out: W },
}

impl<W: Write> Sink<W> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Deflate(w) => w.write_all(bytes),
            Sink::Zstd { buffer, .. } => {
                buffer.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<W, AdbWriteError> {
        match self {
            Sink::Plain(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Sink::Deflate(w) => {
                let mut w = w.finish()?;
                w.flush()?;
                Ok(w)
            }
            Sink::Zstd { buffer, mut out } => {
                // The encoder is third-party code: a panic in it is reported, not propagated.
                let frame = std::panic::catch_unwind(|| {
                    ruzstd::encoding::compress_to_vec(
                        &buffer[..],
                        ruzstd::encoding::CompressionLevel::Fastest,
                    )
                })
                .map_err(|_| AdbWriteError::Compression("zstd encoder failed".into()))?;
                out.write_all(&frame)?;
                out.flush()?;
                Ok(out)
            }
        }
    }
}

/// Which blocks may come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Adb,
    Sig,
    Data,
    /// Inside a DATA block: this many content bytes are still expected.
    InData {
        left: u64,
        padding: usize,
    },
}

/// Writes an ADB file block by block, in the order apk requires: the ADB block, then SIG
/// blocks, then DATA blocks (whose contents may be streamed), each padded to 8 bytes, all
/// inside the compression wrapper.
///
/// Compression: [`Compression::None`] writes the inner stream as is (`ADB.`);
/// [`Compression::Deflate`] writes `ADBd` and raw deflate at level 9 (apk's default);
/// [`Compression::DeflateWithLevel`] `ADBc 01 N`; [`Compression::StoredWithHeader`]
/// `ADBc 00 N`; [`Compression::Zstd`] `ADBc 02 N` and a zstd frame, which is made in memory
/// when the file is finished (by a pure-Rust encoder at its fastest level; `N` is recorded
/// only).
///
/// ```
/// use apk_index::adb::{self, AdbFile, AdbStreamWriter, AdbWriter, Compression, SchemaId};
///
/// let mut w = AdbWriter::new();
/// let name = w.blob(b"demo")?;
/// let root = w.object(&[name])?;
/// let payload = w.finish(root);
///
/// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::INDEX, Compression::Deflate)?;
/// file.write_adb(&payload)?;
/// let bytes = file.finish()?;
/// assert!(bytes.starts_with(b"ADBd"));
///
/// let stream = adb::decompress(&bytes, &adb::ReadOptions::default())?;
/// let parsed = AdbFile::parse(&stream)?;
/// assert_eq!(parsed.adb().payload(), &payload[..]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AdbStreamWriter<W: Write> {
    sink: Sink<W>,
    stage: Stage,
}

impl<W: Write> fmt::Debug for AdbStreamWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdbStreamWriter")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl<W: Write> AdbStreamWriter<W> {
    /// Starts a file of `schema` on `out`: writes the wrapper and the `ADB.` + schema header.
    ///
    /// ```
    /// use apk_index::adb::{AdbStreamWriter, Compression, SchemaId};
    /// let file = AdbStreamWriter::new(Vec::new(), SchemaId::PACKAGE, Compression::None)?;
    /// assert!(file.finish().is_err()); // no ADB block yet
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn new(
        mut out: W,
        schema: SchemaId,
        compression: Compression,
    ) -> Result<AdbStreamWriter<W>, AdbWriteError> {
        let mut sink = match compression {
            Compression::None => Sink::Plain(out),
            Compression::Deflate => {
                out.write_all(b"ADBd")?;
                Sink::Deflate(flate2::write::DeflateEncoder::new(
                    out,
                    flate2::Compression::new(DEFAULT_DEFLATE_LEVEL),
                ))
            }
            Compression::StoredWithHeader { level } => {
                out.write_all(&[b'A', b'D', b'B', b'c', 0, level])?;
                Sink::Plain(out)
            }
            Compression::DeflateWithLevel { level } => {
                if level > 9 {
                    return Err(AdbWriteError::Compression(compression.to_string()));
                }
                out.write_all(&[b'A', b'D', b'B', b'c', 1, level])?;
                let level = if level == 0 {
                    DEFAULT_DEFLATE_LEVEL
                } else {
                    u32::from(level)
                };
                Sink::Deflate(flate2::write::DeflateEncoder::new(
                    out,
                    flate2::Compression::new(level),
                ))
            }
            Compression::Zstd { level } => {
                if level > 22 {
                    return Err(AdbWriteError::Compression(compression.to_string()));
                }
                out.write_all(&[b'A', b'D', b'B', b'c', 2, level])?;
                Sink::Zstd {
                    buffer: Vec::new(),
                    out,
                }
            }
        };
        sink.write_all(b"ADB.")?;
        sink.write_all(&schema.to_bytes())?;
        Ok(AdbStreamWriter {
            sink,
            stage: Stage::Adb,
        })
    }

    fn block(&mut self, kind: BlockKind, payload: &[u8]) -> Result<(), AdbWriteError> {
        let header = block_header(kind, payload.len() as u64);
        self.sink.write_all(&header)?;
        self.sink.write_all(payload)?;
        let pad = padding_len(header.len() as u64 + payload.len() as u64);
        self.sink.write_all(&[0u8; 8][..pad])?;
        Ok(())
    }

    /// Writes the ADB block (exactly once, first).
    ///
    /// ```
    /// use apk_index::adb::{AdbStreamWriter, AdbWriter, Compression, SchemaId};
    /// let payload = AdbWriter::new().finish(0);
    /// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::INDEX, Compression::None)?;
    /// file.write_adb(&payload)?;
    /// assert!(file.write_adb(&payload).is_err());
    /// assert_eq!(file.finish()?.len(), 8 + 12 + 4);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn write_adb(&mut self, payload: &[u8]) -> Result<(), AdbWriteError> {
        if self.stage != Stage::Adb {
            return Err(AdbWriteError::Order("the ADB block must come first, once"));
        }
        self.block(BlockKind::Adb, payload)?;
        self.stage = Stage::Sig;
        Ok(())
    }

    /// Writes a SIG block (after the ADB block, before any DATA block). See
    /// [`sign_payload`].
    ///
    /// ```
    /// use apk_index::adb::{AdbStreamWriter, Compression, SchemaId};
    /// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::INDEX, Compression::None)?;
    /// assert!(file.write_sig(&[0, 4]).is_err()); // no ADB block yet
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn write_sig(&mut self, payload: &[u8]) -> Result<(), AdbWriteError> {
        if self.stage != Stage::Sig {
            return Err(AdbWriteError::Order(
                "SIG blocks go after the ADB block and before DATA blocks",
            ));
        }
        self.block(BlockKind::Sig, payload)
    }

    /// Starts a DATA block for file `file_index` (1-based) of directory `path_index`
    /// (1-based) holding `size` bytes, which must then be given to
    /// [`write_contents`](Self::write_contents), in as many pieces as convenient.
    ///
    /// ```
    /// use apk_index::adb::{AdbStreamWriter, AdbWriter, Compression, SchemaId};
    /// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::PACKAGE, Compression::None)?;
    /// file.write_adb(&AdbWriter::new().finish(0))?;
    /// file.begin_data(1, 1, 5)?;
    /// file.write_contents(b"he")?;
    /// file.write_contents(b"llo")?;
    /// let bytes = file.finish()?;
    /// assert_eq!(&bytes[24..40], b"\x11\x00\x00\x80\x01\x00\x00\x00\x01\x00\x00\x00hell");
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn begin_data(
        &mut self,
        path_index: u32,
        file_index: u32,
        size: u64,
    ) -> Result<(), AdbWriteError> {
        match self.stage {
            Stage::Sig | Stage::Data => {}
            Stage::Adb => return Err(AdbWriteError::Order("DATA before the ADB block")),
            Stage::InData { .. } => {
                return Err(AdbWriteError::Order(
                    "a DATA block started before the previous one was complete",
                ));
            }
        }
        let payload_len = size.checked_add(8).ok_or(AdbWriteError::TooLarge {
            what: format!("a file of {size} bytes"),
        })?;
        let header = block_header(BlockKind::Data, payload_len);
        self.sink.write_all(&header)?;
        self.sink.write_all(&path_index.to_le_bytes())?;
        self.sink.write_all(&file_index.to_le_bytes())?;
        let padding = padding_len((header.len() as u64).saturating_add(payload_len));
        self.stage = Stage::InData {
            left: size,
            padding,
        };
        self.close_data_if_done()
    }

    fn close_data_if_done(&mut self) -> Result<(), AdbWriteError> {
        if let Stage::InData { left: 0, padding } = self.stage {
            self.sink.write_all(&[0u8; 8][..padding])?;
            self.stage = Stage::Data;
        }
        Ok(())
    }

    /// Writes the next piece of the current DATA block's contents. Giving more bytes than
    /// announced is an error.
    ///
    /// ```
    /// use apk_index::adb::{AdbStreamWriter, AdbWriter, Compression, SchemaId};
    /// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::PACKAGE, Compression::None)?;
    /// file.write_adb(&AdbWriter::new().finish(0))?;
    /// file.begin_data(1, 1, 1)?;
    /// assert!(file.write_contents(b"too long").is_err());
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn write_contents(&mut self, bytes: &[u8]) -> Result<(), AdbWriteError> {
        let Stage::InData { left, padding } = self.stage else {
            return Err(AdbWriteError::Order("contents outside a DATA block"));
        };
        if bytes.len() as u64 > left {
            return Err(AdbWriteError::Order(
                "more DATA contents than the block announced",
            ));
        }
        self.sink.write_all(bytes)?;
        self.stage = Stage::InData {
            left: left - bytes.len() as u64,
            padding,
        };
        self.close_data_if_done()
    }

    /// Writes a whole DATA block at once.
    ///
    /// ```
    /// use apk_index::adb::{AdbStreamWriter, AdbWriter, Compression, SchemaId};
    /// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::PACKAGE, Compression::None)?;
    /// file.write_adb(&AdbWriter::new().finish(0))?;
    /// file.write_data(1, 1, b"hi")?;
    /// assert_eq!(file.finish()?.len(), 8 + 16 + 16);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn write_data(
        &mut self,
        path_index: u32,
        file_index: u32,
        contents: &[u8],
    ) -> Result<(), AdbWriteError> {
        self.begin_data(path_index, file_index, contents.len() as u64)?;
        self.write_contents(contents)
    }

    /// Ends the file (finishing the compression) and returns the output. Fails when no ADB
    /// block was written or a DATA block is incomplete.
    ///
    /// ```
    /// use apk_index::adb::{AdbStreamWriter, AdbWriter, Compression, SchemaId};
    /// let mut file = AdbStreamWriter::new(Vec::new(), SchemaId::INDEX, Compression::None)?;
    /// file.write_adb(&AdbWriter::new().finish(0))?;
    /// assert!(file.finish()?.starts_with(b"ADB.indx"));
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn finish(self) -> Result<W, AdbWriteError> {
        match self.stage {
            Stage::Adb => Err(AdbWriteError::Order("no ADB block was written")),
            Stage::InData { .. } => Err(AdbWriteError::Order(
                "the last DATA block is missing contents",
            )),
            Stage::Sig | Stage::Data => self.sink.finish(),
        }
    }
}

/// Writes a complete ADB file without DATA blocks (an index, for example): `payload` as the
/// ADB block and one SIG block per key, in the order given.
///
/// ```
/// use apk_index::adb::{self, AdbWriter, Compression, SchemaId};
/// let payload = AdbWriter::new().finish(0);
/// let bytes = adb::write_file(SchemaId::INDEX, &payload, &[], Compression::None)?;
/// assert_eq!(bytes.len(), 24);
/// # Ok::<(), apk_index::adb::AdbWriteError>(())
/// ```
pub fn write_file(
    schema: SchemaId,
    payload: &[u8],
    keys: &[&SigningKey],
    compression: Compression,
) -> Result<Vec<u8>, AdbWriteError> {
    let mut file = AdbStreamWriter::new(Vec::new(), schema, compression)?;
    file.write_adb(payload)?;
    for key in keys {
        file.write_sig(&sign_payload(schema, payload, key)?)?;
    }
    file.finish()
}
