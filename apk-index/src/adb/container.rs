//! The file wrapper (spec section 1) and the inner stream of blocks (spec section 2).

use std::borrow::Cow;
use std::io::Read;

use super::error::{AdbError, BlockErrorKind};
use super::schema::SchemaId;
use super::value::Adb;

/// How an ADB file is compressed: its first 4 (or 6) bytes.
///
/// ```
/// use apk_index::adb::{self, Compression};
/// let (compression, stream) = adb::decompress_with_info(b"ADB.indx", &adb::ReadOptions::default())?;
/// assert_eq!(compression, Compression::None);
/// assert_eq!(&stream[..], b"ADB.indx");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// `ADB.`: the file is the inner stream.
    None,
    /// `ADBd`: raw deflate.
    Deflate,
    /// `ADBc` algorithm 0: not compressed, behind the 6-byte `ADBc` header.
    StoredWithHeader {
        /// The level byte (information only).
        level: u8,
    },
    /// `ADBc` algorithm 1: raw deflate.
    DeflateWithLevel {
        /// The level byte (information only).
        level: u8,
    },
    /// `ADBc` algorithm 2: a zstd frame.
    Zstd {
        /// The level byte (information only).
        level: u8,
    },
}

/// Limits for reading ADB files from memory.
///
/// ```
/// use apk_index::adb::ReadOptions;
/// let small = ReadOptions { max_size: 1 << 20 };
/// assert!(small.max_size < ReadOptions::default().max_size);
/// ```
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The largest inner stream a compressed file may expand to, in bytes (default 2 GiB).
    pub max_size: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_size: 2 << 30 }
    }
}

/// Removes the compression wrapper of an ADB file, giving the inner stream (which starts with
/// `ADB.` and the schema id). An uncompressed file is returned borrowed.
///
/// The end of the compressed stream must be the end of the file, and the stream must end
/// properly (a truncated deflate or zstd stream is an error, as is a zstd checksum mismatch).
///
/// ```
/// use apk_index::adb;
/// let stream = adb::decompress(b"ADB.pckg", &adb::ReadOptions::default())?;
/// assert_eq!(&stream[..], b"ADB.pckg");
/// assert!(adb::decompress(b"PK\x03\x04", &adb::ReadOptions::default()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decompress<'a>(file: &'a [u8], options: &ReadOptions) -> Result<Cow<'a, [u8]>, AdbError> {
    decompress_with_info(file, options).map(|(_, stream)| stream)
}

/// [`decompress`], also telling how the file was compressed.
///
/// ```
/// use apk_index::adb::{self, Compression};
/// let (compression, _) = adb::decompress_with_info(b"ADBd\x03\x00", &adb::ReadOptions::default())?;
/// assert_eq!(compression, Compression::Deflate);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decompress_with_info<'a>(
    file: &'a [u8],
    options: &ReadOptions,
) -> Result<(Compression, Cow<'a, [u8]>), AdbError> {
    let not_adb = || AdbError::NotAdb {
        found: file.iter().take(4).copied().collect(),
    };
    let (compression, body) = match file {
        [b'A', b'D', b'B', b'.', ..] => (Compression::None, file),
        [b'A', b'D', b'B', b'd', rest @ ..] => (Compression::Deflate, rest),
        [b'A', b'D', b'B', b'c', alg, level, rest @ ..] => {
            let compression = match alg {
                0 => Compression::StoredWithHeader { level: *level },
                1 => Compression::DeflateWithLevel { level: *level },
                2 => Compression::Zstd { level: *level },
                other => return Err(AdbError::UnknownCompression(*other)),
            };
            (compression, rest)
        }
        _ => return Err(not_adb()),
    };
    let stream = match compression {
        Compression::None | Compression::StoredWithHeader { .. } => {
            if body.len() as u64 > options.max_size {
                return Err(AdbError::TooLarge {
                    limit: options.max_size,
                });
            }
            Cow::Borrowed(body)
        }
        Compression::Deflate | Compression::DeflateWithLevel { .. } => {
            Cow::Owned(inflate(body, options.max_size)?)
        }
        Compression::Zstd { .. } => Cow::Owned(unzstd(body, options.max_size)?),
    };
    Ok((compression, stream))
}

/// Reads all of `reader` into a vector, failing when it yields more than `limit` bytes.
fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    Ok(out)
}

/// Inflates one complete raw deflate stream that must end exactly at the end of `body`.
fn inflate(body: &[u8], limit: u64) -> Result<Vec<u8>, AdbError> {
    let corrupt = |message: &str| AdbError::Decompress {
        algorithm: "deflate",
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned()),
    };
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut inflater = flate2::Decompress::new(false);
    let mut out: Vec<u8> = Vec::with_capacity(body.len().saturating_mul(4).clamp(4096, 1 << 26));
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit_usize {
                return Err(AdbError::TooLarge { limit });
            }
            let room = limit_usize.saturating_add(1) - out.len();
            out.reserve(out.len().max(64 * 1024).min(room).max(1));
        }
        let in_before = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
        let out_before = out.len();
        let input = body.get(in_before..).unwrap_or_default();
        let status = inflater
            .decompress_vec(input, &mut out, flate2::FlushDecompress::None)
            .map_err(|e| AdbError::Decompress {
                algorithm: "deflate",
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?;
        if out.len() > limit_usize {
            return Err(AdbError::TooLarge { limit });
        }
        if status == flate2::Status::StreamEnd {
            break;
        }
        let progressed = inflater.total_in() as usize != in_before || out.len() != out_before;
        if !progressed && out.len() < out.capacity() {
            // Neither input consumed nor output made with room to spare: the input ran out
            // before the final block.
            return Err(corrupt("unexpected end of the compressed data"));
        }
    }
    let used = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
    if used < body.len() {
        return Err(AdbError::TrailingData((body.len() - used) as u64));
    }
    Ok(out)
}

fn unzstd(body: &[u8], limit: u64) -> Result<Vec<u8>, AdbError> {
    let decompress_error = |message: String| AdbError::Decompress {
        algorithm: "zstd",
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
    };
    // The decoder is a third-party parser of untrusted input: a panic inside it must not
    // take the caller down, so it is contained here and reported as corrupt data.
    let result = std::panic::catch_unwind(|| -> Result<Vec<u8>, AdbError> {
        let mut source = body;
        let mut decoder = ruzstd::decoding::StreamingDecoder::new(&mut source)
            .map_err(|e| decompress_error(e.to_string()))?;
        let out = read_limited(&mut decoder, limit).map_err(|e| decompress_error(e.to_string()))?;
        if out.len() as u64 > limit {
            return Err(AdbError::TooLarge { limit });
        }
        let frame = decoder.into_frame_decoder();
        if !frame.is_finished() {
            return Err(decompress_error(
                "unexpected end of the compressed data".into(),
            ));
        }
        if let Some(stored) = frame.get_checksum_from_data() {
            if frame.get_calculated_checksum() != Some(stored) {
                return Err(decompress_error("zstd checksum mismatch".into()));
            }
        }
        let declared = frame.content_size();
        if declared != 0 && declared != out.len() as u64 {
            return Err(decompress_error(format!(
                "zstd frame declares {declared} bytes but holds {}",
                out.len()
            )));
        }
        if !source.is_empty() {
            return Err(AdbError::TrailingData(source.len() as u64));
        }
        Ok(out)
    });
    match result {
        Ok(result) => result,
        Err(_) => Err(decompress_error("zstd decoder failed".into())),
    }
}

/// The kind of a block (the top two bits of its header word).
///
/// ```
/// use apk_index::adb::BlockKind;
/// assert_eq!(BlockKind::from_type(1), Some(BlockKind::Sig));
/// assert_eq!(BlockKind::from_type(3), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Type 0: the database.
    Adb,
    /// Type 1: a signature.
    Sig,
    /// Type 2: the contents of one file.
    Data,
}

impl BlockKind {
    /// The kind with this type number (0–2).
    ///
    /// ```
    /// use apk_index::adb::BlockKind;
    /// assert_eq!(BlockKind::from_type(2), Some(BlockKind::Data));
    /// ```
    pub fn from_type(t: u32) -> Option<BlockKind> {
        match t {
            0 => Some(BlockKind::Adb),
            1 => Some(BlockKind::Sig),
            2 => Some(BlockKind::Data),
            _ => None,
        }
    }
}

/// One block of the inner stream.
///
/// ```
/// use apk_index::adb::{self, AdbFile, BlockKind};
/// let data = adb::tests_support::tiny_index();
/// let file = AdbFile::parse(&data)?;
/// let block = &file.blocks()[0];
/// assert_eq!(block.kind, BlockKind::Adb);
/// assert_eq!((block.offset, block.payload.len(), block.extended), (8, 180, false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    /// The block kind.
    pub kind: BlockKind,
    /// Offset of the block header in the inner stream.
    pub offset: u64,
    /// Whether the 16-byte extended header was used.
    pub extended: bool,
    /// The payload (no header, no padding).
    pub payload: &'a [u8],
}

/// A SIG block (spec 5.1).
///
/// ```
/// use apk_index::adb::SigBlock;
/// let mut payload = vec![0u8, 4];
/// payload.extend_from_slice(&[0xAA; 16]);
/// payload.extend_from_slice(b"signature");
/// let sig = SigBlock::parse(&payload)?;
/// assert_eq!((sig.version, sig.hash_alg), (0, 4));
/// assert_eq!(sig.key_id, Some([0xAA; 16]));
/// assert_eq!(sig.signature, b"signature");
/// # Ok::<(), apk_index::adb::BlockErrorKind>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigBlock<'a> {
    /// `sign_ver`: only version 0 is understood; other blocks are skipped by verifiers.
    pub version: u8,
    /// The digest of the ADB payload that is signed (4 = SHA-512); 0 for an empty payload.
    pub hash_alg: u8,
    /// The signing key's id, for version 0.
    pub key_id: Option<[u8; 16]>,
    /// The signature bytes, for version 0 (empty otherwise).
    pub signature: &'a [u8],
    /// The whole payload.
    pub payload: &'a [u8],
}

impl<'a> SigBlock<'a> {
    /// Reads a SIG payload. A version-0 payload shorter than its 18-byte header is an error;
    /// a payload of another version is kept as it is.
    ///
    /// ```
    /// use apk_index::adb::{BlockErrorKind, SigBlock};
    /// assert_eq!(SigBlock::parse(&[0, 4, 1]), Err(BlockErrorKind::SigTooShort(3)));
    /// assert_eq!(SigBlock::parse(&[1, 9]).map(|s| s.key_id), Ok(None));
    /// ```
    pub fn parse(payload: &'a [u8]) -> Result<SigBlock<'a>, BlockErrorKind> {
        let version = payload.first().copied().unwrap_or(0);
        let hash_alg = payload.get(1).copied().unwrap_or(0);
        if version != 0 || payload.is_empty() {
            if payload.is_empty() {
                return Err(BlockErrorKind::SigTooShort(0));
            }
            return Ok(SigBlock {
                version,
                hash_alg,
                key_id: None,
                signature: &[],
                payload,
            });
        }
        let (Some(id), Some(signature)) = (payload.get(2..18), payload.get(18..)) else {
            return Err(BlockErrorKind::SigTooShort(payload.len()));
        };
        let mut key_id = [0u8; 16];
        key_id.copy_from_slice(id);
        Ok(SigBlock {
            version,
            hash_alg,
            key_id: Some(key_id),
            signature,
            payload,
        })
    }
}

/// A DATA block (spec section 6): the contents of one file of a package.
///
/// ```
/// use apk_index::adb::DataBlock;
/// let payload = [3, 0, 0, 0, 1, 0, 0, 0, b'h', b'i'];
/// let data = DataBlock::parse(&payload, 0)?;
/// assert_eq!((data.path_index, data.file_index, data.contents), (3, 1, &b"hi"[..]));
/// # Ok::<(), apk_index::adb::BlockErrorKind>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataBlock<'a> {
    /// 1-based slot of the directory in `paths`.
    pub path_index: u32,
    /// 1-based slot of the file in that directory's `files`.
    pub file_index: u32,
    /// The file contents.
    pub contents: &'a [u8],
    /// Offset of the block header in the inner stream.
    pub offset: u64,
}

impl<'a> DataBlock<'a> {
    /// Reads a DATA payload; `offset` is where its block starts in the stream.
    ///
    /// ```
    /// use apk_index::adb::{BlockErrorKind, DataBlock};
    /// assert_eq!(DataBlock::parse(&[1, 0, 0], 0), Err(BlockErrorKind::DataTooShort(3)));
    /// ```
    pub fn parse(payload: &'a [u8], offset: u64) -> Result<DataBlock<'a>, BlockErrorKind> {
        let (Some(p), Some(f), Some(contents)) =
            (payload.get(0..4), payload.get(4..8), payload.get(8..))
        else {
            return Err(BlockErrorKind::DataTooShort(payload.len()));
        };
        Ok(DataBlock {
            path_index: u32::from_le_bytes([p[0], p[1], p[2], p[3]]),
            file_index: u32::from_le_bytes([f[0], f[1], f[2], f[3]]),
            contents,
            offset,
        })
    }
}

/// A parsed inner stream: the schema id and the blocks, checked for apk's order rules
/// (one ADB block first, then SIG blocks, then DATA blocks, the latter only in packages),
/// for 8-byte padding of zeros after every block, and for ending exactly at a block boundary.
///
/// Borrowed from the stream: nothing is copied.
///
/// ```
/// use apk_index::adb::{self, AdbFile, SchemaId};
/// let data = adb::tests_support::tiny_index();
/// let file = AdbFile::parse(&data)?;
/// assert_eq!(file.schema(), SchemaId::INDEX);
/// assert_eq!(file.adb().payload().len(), 180);
/// assert!(file.signatures().is_empty());
/// assert!(file.data_blocks().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct AdbFile<'a> {
    stream: &'a [u8],
    schema: SchemaId,
    adb: Adb<'a>,
    blocks: Vec<Block<'a>>,
    sigs: Vec<SigBlock<'a>>,
    data: Vec<DataBlock<'a>>,
}

impl<'a> AdbFile<'a> {
    /// Parses an inner stream (as given by [`decompress`]).
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// assert_eq!(file.blocks().len(), 2);
    /// assert!(AdbFile::parse(&stream[..stream.len() - 1]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(stream: &'a [u8]) -> Result<AdbFile<'a>, AdbError> {
        let (Some(magic), Some(schema)) = (stream.get(0..4), stream.get(4..8)) else {
            return Err(AdbError::BadHeader);
        };
        if magic != b"ADB." {
            return Err(AdbError::BadHeader);
        }
        let schema = SchemaId::from_bytes([schema[0], schema[1], schema[2], schema[3]]);
        let mut blocks = Vec::new();
        let mut sigs = Vec::new();
        let mut data = Vec::new();
        let mut adb = None;
        let mut pos = 8usize;
        while pos < stream.len() {
            let offset = pos as u64;
            let err = |kind| AdbError::Block { offset, kind };
            let (block, next) = read_block(stream, pos).map_err(err)?;
            match block.kind {
                BlockKind::Adb => {
                    if adb.is_some() {
                        return Err(err(BlockErrorKind::SecondAdb));
                    }
                    adb = Some(Adb::new(block.payload).map_err(|e| match e {
                        AdbError::Block { kind, .. } => err(kind),
                        other => other,
                    })?);
                }
                BlockKind::Sig => {
                    if adb.is_none() {
                        return Err(err(BlockErrorKind::FirstNotAdb));
                    }
                    if !data.is_empty() {
                        return Err(err(BlockErrorKind::SigAfterData));
                    }
                    sigs.push(SigBlock::parse(block.payload).map_err(err)?);
                }
                BlockKind::Data => {
                    if adb.is_none() {
                        return Err(err(BlockErrorKind::FirstNotAdb));
                    }
                    if schema != SchemaId::PACKAGE {
                        return Err(err(BlockErrorKind::DataNotPackage));
                    }
                    data.push(DataBlock::parse(block.payload, offset).map_err(err)?);
                }
            }
            blocks.push(block);
            pos = next;
        }
        let Some(adb) = adb else {
            return Err(AdbError::Block {
                offset: 8,
                kind: BlockErrorKind::NoAdb,
            });
        };
        Ok(AdbFile {
            stream,
            schema,
            adb,
            blocks,
            sigs,
            data,
        })
    }

    /// Parses an inner stream and checks that its schema is `expected`.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbError, AdbFile, SchemaId};
    /// let data = adb::tests_support::tiny_index();
    /// assert!(matches!(
    ///     AdbFile::parse_schema(&data, SchemaId::PACKAGE),
    ///     Err(AdbError::WrongSchema { .. })
    /// ));
    /// ```
    pub fn parse_schema(stream: &'a [u8], expected: SchemaId) -> Result<AdbFile<'a>, AdbError> {
        let file = AdbFile::parse(stream)?;
        if file.schema != expected {
            return Err(AdbError::WrongSchema {
                expected,
                found: file.schema,
            });
        }
        Ok(file)
    }

    /// The whole inner stream.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile};
    /// let stream = adb::tests_support::tiny_index();
    /// assert_eq!(AdbFile::parse(&stream)?.stream().len(), 192);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream(&self) -> &'a [u8] {
        self.stream
    }

    /// The schema id.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, SchemaId};
    /// let stream = adb::tests_support::tiny_package();
    /// assert_eq!(AdbFile::parse(&stream)?.schema(), SchemaId::PACKAGE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schema(&self) -> SchemaId {
        self.schema
    }

    /// The ADB block.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile};
    /// let stream = adb::tests_support::tiny_index();
    /// assert_eq!(AdbFile::parse(&stream)?.adb().payload(), &stream[12..]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adb(&self) -> Adb<'a> {
        self.adb
    }

    /// All blocks in stream order.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, BlockKind};
    /// let stream = adb::tests_support::tiny_package();
    /// let kinds: Vec<BlockKind> = AdbFile::parse(&stream)?.blocks().iter().map(|b| b.kind).collect();
    /// assert_eq!(kinds, [BlockKind::Adb, BlockKind::Data]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn blocks(&self) -> &[Block<'a>] {
        &self.blocks
    }

    /// The SIG blocks in stream order.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile};
    /// let stream = adb::tests_support::tiny_package();
    /// assert!(AdbFile::parse(&stream)?.signatures().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signatures(&self) -> &[SigBlock<'a>] {
        &self.sigs
    }

    /// The DATA blocks in stream order.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// assert_eq!(file.data_blocks()[0].contents, b"hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn data_blocks(&self) -> &[DataBlock<'a>] {
        &self.data
    }
}

/// Reads the block at `pos`, returning it and where the next block starts.
pub(crate) fn read_block(stream: &[u8], pos: usize) -> Result<(Block<'_>, usize), BlockErrorKind> {
    let word = stream
        .get(pos..pos.saturating_add(4))
        .ok_or(BlockErrorKind::TruncatedHeader)?;
    let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
    let (kind, header_len, raw_size, extended) = if word >> 30 == 3 {
        let ext = stream
            .get(pos..pos.saturating_add(16))
            .ok_or(BlockErrorKind::TruncatedHeader)?;
        let t = word & 0x3FFF_FFFF;
        if ext[4..8] != [0, 0, 0, 0] {
            return Err(BlockErrorKind::NonZeroReserved);
        }
        let mut size = [0u8; 8];
        size.copy_from_slice(&ext[8..16]);
        (t, 16u64, u64::from_le_bytes(size), true)
    } else {
        (word >> 30, 4u64, u64::from(word & 0x3FFF_FFFF), false)
    };
    let kind = BlockKind::from_type(kind).ok_or(BlockErrorKind::BadExtendedType(kind))?;
    if raw_size < header_len {
        return Err(BlockErrorKind::SizeTooSmall(raw_size));
    }
    let padded = raw_size
        .checked_add(7)
        .map(|s| s & !7)
        .ok_or(BlockErrorKind::Huge(raw_size))?;
    let raw = usize::try_from(raw_size).map_err(|_| BlockErrorKind::Huge(raw_size))?;
    let padded = usize::try_from(padded).map_err(|_| BlockErrorKind::Huge(raw_size))?;
    let end = pos.checked_add(raw).ok_or(BlockErrorKind::Huge(raw_size))?;
    let next = pos
        .checked_add(padded)
        .ok_or(BlockErrorKind::Huge(raw_size))?;
    if end > stream.len() {
        return Err(BlockErrorKind::PastEnd { size: raw_size });
    }
    let padding = stream
        .get(end..next)
        .ok_or(BlockErrorKind::MissingPadding)?;
    if padding.iter().any(|&b| b != 0) {
        return Err(BlockErrorKind::NonZeroPadding);
    }
    let payload = stream
        .get(pos + header_len as usize..end)
        .ok_or(BlockErrorKind::PastEnd { size: raw_size })?;
    Ok((
        Block {
            kind,
            offset: pos as u64,
            extended,
            payload,
        },
        next,
    ))
}
