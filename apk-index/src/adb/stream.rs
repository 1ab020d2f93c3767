//! Reading an ADB file as it streams (spec sections 1, 2 and 6): the compression wrapper is
//! removed on the fly, the ADB and SIG blocks are kept in memory (the "head"), and the DATA
//! blocks that follow are handed out one at a time, never held whole. What a package of any
//! size needs to be verified and extracted with a fixed amount of memory.

use std::io::{self, BufRead, Read};

use super::container::{Compression, ReadOptions};
use super::error::{AdbError, BlockErrorKind, DataErrorKind};
use super::model::{Directory, FileEntry};
use super::schema::SchemaId;

/// The header of one DATA block ([`BlockReader::next_data`]): which file it holds and how
/// many bytes of contents follow.
///
/// ```
/// use apk_index::adb::{self, BlockReader};
/// let stream = adb::tests_support::tiny_package();
/// let mut reader = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
/// let data = reader.next_data()?.expect("one DATA block");
/// assert_eq!((data.path_index, data.file_index, data.size), (1, 1, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    /// 1-based slot of the directory in `paths`.
    pub path_index: u32,
    /// 1-based slot of the file in that directory's `files`.
    pub file_index: u32,
    /// The length of the contents, in bytes.
    pub size: u64,
    /// Offset of the block header in the inner stream.
    pub offset: u64,
}

/// An ADB file read from a [`BufRead`] source as it streams.
///
/// [`open`](Self::open) removes the compression wrapper (inflating or decoding zstd as the
/// bytes are needed) and reads the file header, the ADB block and the SIG blocks: the
/// [`head`](Self::head), itself a valid inner stream without DATA blocks, which
/// [`AdbFile::parse`](super::AdbFile::parse) reads. The DATA blocks are then read one at a
/// time with [`next_data`](Self::next_data) and [`read_data`](Self::read_data); memory use
/// does not depend on their size.
///
/// The order rules of apk are checked as the blocks come (one ADB block first, SIG blocks
/// before any DATA block, DATA blocks only in packages), as are the zero padding of every
/// block, a stream that ends exactly at a block boundary, a compressed stream that ends
/// properly and nothing after it.
///
/// ```
/// use apk_index::adb::{self, AdbFile, BlockReader, SchemaId};
///
/// let stream = adb::tests_support::tiny_package();
/// let mut reader = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
/// assert_eq!(AdbFile::parse(reader.head())?.schema(), SchemaId::PACKAGE);
/// let mut contents = Vec::new();
/// while let Some(block) = reader.next_data()? {
///     assert_eq!((block.path_index, block.file_index), (1, 1));
///     let mut buf = [0u8; 8];
///     loop {
///         let n = reader.read_data(&mut buf)?;
///         if n == 0 { break; }
///         contents.extend_from_slice(&buf[..n]);
///     }
/// }
/// assert_eq!(contents, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BlockReader<R: BufRead> {
    inner: Decoder<R>,
    compression: Compression,
    schema: SchemaId,
    head: Vec<u8>,
    /// Where the next unread byte of the inner stream is.
    offset: u64,
    /// The DATA block found while reading the head, not yet handed out, and its padding.
    pending: Option<(DataHeader, u64)>,
    /// Contents of the current DATA block not yet read, and its padding after them.
    left: u64,
    padding: u64,
    /// The end of the stream was reached (and checked).
    ended: bool,
    /// [`next_data`](Self::next_data) was called.
    started: bool,
}

impl<R: BufRead> std::fmt::Debug for BlockReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockReader")
            .field("compression", &self.compression)
            .field("schema", &self.schema)
            .field("head", &self.head.len())
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

/// What a block header says.
struct Header {
    kind: u32,
    header_len: u64,
    payload: u64,
    offset: u64,
    /// The header's bytes (the first `header_len`).
    raw: [u8; 16],
}

impl<R: BufRead> BlockReader<R> {
    /// Opens an ADB file: any wrapper (`ADB.`, `ADBd`, `ADBc` with deflate, zstd or none),
    /// then the header and every block up to the first DATA block, which stays unread.
    /// `options.max_size` bounds the head (the ADB and SIG blocks), not the DATA blocks.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbError, BlockReader};
    /// let options = adb::ReadOptions::default();
    /// assert!(matches!(BlockReader::open(&b"PK\x03\x04"[..], &options), Err(AdbError::NotAdb { .. })));
    /// let index = adb::tests_support::tiny_index();
    /// let mut reader = BlockReader::open(&index[..], &options)?;
    /// assert_eq!(reader.head(), &index[..]);
    /// assert!(reader.next_data()?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(file: R, options: &ReadOptions) -> Result<BlockReader<R>, AdbError> {
        let (compression, inner) = Decoder::new(file)?;
        let mut reader = BlockReader {
            inner,
            compression,
            schema: SchemaId::from_bytes([0; 4]),
            head: Vec::new(),
            offset: 0,
            pending: None,
            left: 0,
            padding: 0,
            ended: false,
            started: false,
        };
        let mut header = [0u8; 8];
        let got = reader.read_up_to(&mut header)?;
        if got < 8 || &header[..4] != b"ADB." {
            return Err(AdbError::BadHeader);
        }
        reader.schema = SchemaId::from_bytes([header[4], header[5], header[6], header[7]]);
        reader.head.extend_from_slice(&header);
        let mut seen_adb = false;
        while let Some(h) = reader.read_header()? {
            let err = |kind| AdbError::Block {
                offset: h.offset,
                kind,
            };
            match h.kind {
                0 if seen_adb => return Err(err(BlockErrorKind::SecondAdb)),
                0 | 1 => {
                    if h.kind == 1 && !seen_adb {
                        return Err(err(BlockErrorKind::FirstNotAdb));
                    }
                    seen_adb = true;
                    let raw = h.raw.get(..h.header_len as usize).unwrap_or_default();
                    reader.head.extend_from_slice(raw);
                    reader.read_head_block(&h, options)?;
                }
                _ => {
                    if !seen_adb {
                        return Err(err(BlockErrorKind::FirstNotAdb));
                    }
                    let data = reader.data_header(&h)?;
                    reader.pending = Some((data, padding_of(h.header_len + h.payload)));
                    break;
                }
            }
        }
        if !seen_adb {
            return Err(AdbError::Block {
                offset: 8,
                kind: BlockErrorKind::NoAdb,
            });
        }
        Ok(reader)
    }

    /// The file's compression wrapper.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The schema id of the file header.
    ///
    /// ```
    /// use apk_index::adb::{self, BlockReader, SchemaId};
    /// let stream = adb::tests_support::tiny_index();
    /// let reader = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
    /// assert_eq!(reader.schema(), SchemaId::INDEX);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schema(&self) -> SchemaId {
        self.schema
    }

    /// The inner stream up to the first DATA block: the file header, the ADB block and the
    /// SIG blocks, padding included.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Whether the DATA blocks have begun to be read ([`next_data`](Self::next_data) was
    /// called): the reader cannot go back to them.
    ///
    /// ```
    /// use apk_index::adb::{self, BlockReader};
    /// let stream = adb::tests_support::tiny_package();
    /// let mut reader = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
    /// assert!(!reader.data_started());
    /// reader.next_data()?;
    /// assert!(reader.data_started());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn data_started(&self) -> bool {
        self.started
    }

    /// Where the next unread byte of the inner stream is (after the wrapper is removed).
    ///
    /// ```
    /// use apk_index::adb::{self, BlockReader};
    /// let stream = adb::tests_support::tiny_index();
    /// let reader = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
    /// assert_eq!(reader.offset(), stream.len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Takes the [`head`](Self::head) out of the reader (leaving it empty), without copying.
    ///
    /// ```
    /// use apk_index::adb::{self, BlockReader};
    /// let stream = adb::tests_support::tiny_index();
    /// let mut reader = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
    /// assert_eq!(reader.take_head(), stream);
    /// assert!(reader.head().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_head(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.head)
    }

    /// Moves to the next DATA block, skipping whatever of the current one was not read, and
    /// returns its header; `None` at the end of the file (after checking that the stream ends
    /// there). A SIG or ADB block after a DATA block is an error.
    pub fn next_data(&mut self) -> Result<Option<DataHeader>, AdbError> {
        self.started = true;
        if let Some((data, padding)) = self.pending.take() {
            self.left = data.size;
            self.padding = padding;
            return Ok(Some(data));
        }
        if self.ended {
            return Ok(None);
        }
        // Skip the rest of the current block.
        let mut sink = [0u8; 8192];
        while self.left > 0 {
            let want = usize::try_from(self.left.min(sink.len() as u64)).unwrap_or(sink.len());
            let n = self.read_data(&mut sink[..want])?;
            if n == 0 {
                break;
            }
        }
        self.skip_padding()?;
        let Some(h) = self.read_header()? else {
            return Ok(None);
        };
        let kind = match h.kind {
            0 => BlockErrorKind::SecondAdb,
            1 => BlockErrorKind::SigAfterData,
            _ => {
                let data = self.data_header(&h)?;
                self.left = data.size;
                self.padding = padding_of(h.header_len + h.payload);
                return Ok(Some(data));
            }
        };
        Err(AdbError::Block {
            offset: h.offset,
            kind,
        })
    }

    /// [`next_data`](Self::next_data) for `file` (in `dir`), which needs data: the next block
    /// must be its (indexes and size, [`DataHeader::check_for`]), and there must be one.
    pub fn next_data_for(
        &mut self,
        dir: &Directory<'_>,
        file: &FileEntry<'_>,
    ) -> Result<DataHeader, AdbError> {
        let Some(header) = self.next_data()? else {
            return Err(AdbError::Data {
                offset: self.offset,
                kind: DataErrorKind::Missing {
                    path: dir.file_path(file),
                },
            });
        };
        header.check_for(dir, file)?;
        Ok(header)
    }

    /// Checks that no DATA block is left (every file had its block), reading to the end.
    pub fn expect_end(&mut self) -> Result<(), AdbError> {
        match self.next_data()? {
            None => Ok(()),
            Some(extra) => Err(AdbError::Data {
                offset: extra.offset,
                kind: DataErrorKind::Unexpected {
                    path_index: extra.path_index,
                    file_index: extra.file_index,
                },
            }),
        }
    }

    /// Reads contents of the current DATA block into `buf`; 0 at its end (or before the
    /// first [`next_data`](Self::next_data)). A stream that ends inside the block is an error.
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, AdbError> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.left.min(buf.len() as u64)).unwrap_or(buf.len());
        let start = self.offset;
        let n = self
            .inner
            .read(&mut buf[..want])
            .map_err(|e| self.inner.error(e))?;
        if n == 0 {
            return Err(AdbError::Block {
                offset: start,
                kind: BlockErrorKind::PastEnd { size: self.left },
            });
        }
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(n)
    }

    /// Reads as many bytes as `buf` holds, fewer only at the end of the stream.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, AdbError> {
        let mut got = 0;
        while got < buf.len() {
            let n = self
                .inner
                .read(&mut buf[got..])
                .map_err(|e| self.inner.error(e))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        self.offset += got as u64;
        Ok(got)
    }

    /// Reads a block header; `None` at a clean end of the stream (which is then checked).
    fn read_header(&mut self) -> Result<Option<Header>, AdbError> {
        let offset = self.offset;
        let err = |kind| AdbError::Block { offset, kind };
        let mut word = [0u8; 4];
        match self.read_up_to(&mut word)? {
            0 => {
                self.inner.finish()?;
                self.ended = true;
                return Ok(None);
            }
            4 => {}
            _ => return Err(err(BlockErrorKind::TruncatedHeader)),
        }
        let w = u32::from_le_bytes(word);
        let mut ext = [0u8; 12];
        let (kind, header_len, raw_size) = if w >> 30 == 3 {
            if self.read_up_to(&mut ext)? < 12 {
                return Err(err(BlockErrorKind::TruncatedHeader));
            }
            if ext[..4] != [0, 0, 0, 0] {
                return Err(err(BlockErrorKind::NonZeroReserved));
            }
            let mut size = [0u8; 8];
            size.copy_from_slice(&ext[4..]);
            (w & 0x3FFF_FFFF, 16u64, u64::from_le_bytes(size))
        } else {
            (w >> 30, 4u64, u64::from(w & 0x3FFF_FFFF))
        };
        if kind > 2 {
            return Err(err(BlockErrorKind::BadExtendedType(kind)));
        }
        if raw_size < header_len {
            return Err(err(BlockErrorKind::SizeTooSmall(raw_size)));
        }
        if raw_size > u64::MAX - 8 {
            return Err(err(BlockErrorKind::Huge(raw_size)));
        }
        let mut raw = [0u8; 16];
        raw[..4].copy_from_slice(&word);
        raw[4..].copy_from_slice(&ext);
        Ok(Some(Header {
            kind,
            header_len,
            payload: raw_size - header_len,
            offset,
            raw,
        }))
    }

    /// Reads the payload and padding of an ADB or SIG block into the head.
    fn read_head_block(&mut self, h: &Header, options: &ReadOptions) -> Result<(), AdbError> {
        let total = h.header_len + h.payload + padding_of(h.header_len + h.payload);
        if (self.head.len() as u64).saturating_add(total) > options.max_size {
            return Err(AdbError::TooLarge {
                limit: options.max_size,
            });
        }
        // Grown as the bytes arrive, so that a header claiming a huge block costs nothing
        // until the bytes are there.
        let mut left = h.payload;
        let mut chunk = [0u8; 16 * 1024];
        while left > 0 {
            let want = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
            let got = self.read_up_to(&mut chunk[..want])?;
            self.head.extend_from_slice(&chunk[..got]);
            if got < want {
                return Err(AdbError::Block {
                    offset: h.offset,
                    kind: BlockErrorKind::PastEnd {
                        size: h.header_len + h.payload,
                    },
                });
            }
            left -= got as u64;
        }
        let pad = padding_of(h.header_len + h.payload);
        let mut zeros = [0u8; 8];
        let pad_slice = &mut zeros[..pad as usize];
        if self.read_up_to(pad_slice)? < pad_slice.len() {
            return Err(AdbError::Block {
                offset: h.offset,
                kind: BlockErrorKind::MissingPadding,
            });
        }
        if pad_slice.iter().any(|&b| b != 0) {
            return Err(AdbError::Block {
                offset: h.offset,
                kind: BlockErrorKind::NonZeroPadding,
            });
        }
        self.head.extend_from_slice(pad_slice);
        Ok(())
    }

    /// Reads the 8-byte start of a DATA payload.
    fn data_header(&mut self, h: &Header) -> Result<DataHeader, AdbError> {
        let err = |kind| AdbError::Block {
            offset: h.offset,
            kind,
        };
        if self.schema != SchemaId::PACKAGE {
            return Err(err(BlockErrorKind::DataNotPackage));
        }
        if h.payload < 8 {
            return Err(err(BlockErrorKind::DataTooShort(h.payload as usize)));
        }
        let mut ids = [0u8; 8];
        if self.read_up_to(&mut ids)? < 8 {
            return Err(err(BlockErrorKind::PastEnd {
                size: h.header_len + h.payload,
            }));
        }
        Ok(DataHeader {
            path_index: u32::from_le_bytes([ids[0], ids[1], ids[2], ids[3]]),
            file_index: u32::from_le_bytes([ids[4], ids[5], ids[6], ids[7]]),
            size: h.payload - 8,
            offset: h.offset,
        })
    }

    /// Reads the current block's padding, which must be zeros.
    fn skip_padding(&mut self) -> Result<(), AdbError> {
        let offset = self.offset;
        let mut zeros = [0u8; 8];
        let pad = &mut zeros[..self.padding as usize];
        self.padding = 0;
        if self.read_up_to(pad)? < pad.len() {
            return Err(AdbError::Block {
                offset,
                kind: BlockErrorKind::MissingPadding,
            });
        }
        if pad.iter().any(|&b| b != 0) {
            return Err(AdbError::Block {
                offset,
                kind: BlockErrorKind::NonZeroPadding,
            });
        }
        Ok(())
    }
}

/// The zero bytes after a block of `raw` bytes (header and payload).
fn padding_of(raw: u64) -> u64 {
    (8 - raw % 8) % 8
}

/// The compression wrapper, removed as the inner stream is read.
enum Decoder<R: BufRead> {
    /// `ADB.` (its 4 bytes, already read, come first) or `ADBc` algorithm 0.
    Plain(io::Chain<io::Cursor<Vec<u8>>, R>),
    Deflate(Inflate<R>),
    Zstd(Box<Zstd<R>>),
}

impl<R: BufRead> Decoder<R> {
    fn new(mut file: R) -> Result<(Compression, Decoder<R>), AdbError> {
        let io = |e: io::Error| AdbError::Decompress {
            algorithm: "read",
            source: e,
        };
        let mut magic = [0u8; 4];
        let got = read_full(&mut file, &mut magic).map_err(io)?;
        if got < 4 || &magic[..3] != b"ADB" {
            return Err(AdbError::NotAdb {
                found: magic[..got].to_vec(),
            });
        }
        match magic[3] {
            b'.' => Ok((
                Compression::None,
                Decoder::Plain(io::Cursor::new(magic.to_vec()).chain(file)),
            )),
            b'd' => Ok((Compression::Deflate, Decoder::Deflate(Inflate::new(file)))),
            b'c' => {
                let mut params = [0u8; 2];
                if read_full(&mut file, &mut params).map_err(io)? < 2 {
                    return Err(AdbError::NotAdb {
                        found: magic.to_vec(),
                    });
                }
                let [alg, level] = params;
                match alg {
                    0 => Ok((
                        Compression::StoredWithHeader { level },
                        Decoder::Plain(io::Cursor::new(Vec::new()).chain(file)),
                    )),
                    1 => Ok((
                        Compression::DeflateWithLevel { level },
                        Decoder::Deflate(Inflate::new(file)),
                    )),
                    2 => Ok((
                        Compression::Zstd { level },
                        Decoder::Zstd(Box::new(Zstd::new(file)?)),
                    )),
                    other => Err(AdbError::UnknownCompression(other)),
                }
            }
            _ => Err(AdbError::NotAdb {
                found: magic.to_vec(),
            }),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Deflate(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }

    /// The inner stream ended: checks that the compressed stream ended properly and that
    /// nothing follows it.
    fn finish(&mut self) -> Result<(), AdbError> {
        let left = match self {
            Decoder::Plain(_) => return Ok(()),
            Decoder::Deflate(r) => r.input.fill_buf().map(<[u8]>::len),
            Decoder::Zstd(r) => r.finish()?,
        };
        match left {
            Ok(0) => Ok(()),
            Ok(n) => Err(AdbError::TrailingData(n as u64)),
            Err(e) => Err(self.error(e)),
        }
    }

    /// An I/O error of the inner stream as the error of its decoder.
    fn error(&self, e: io::Error) -> AdbError {
        let algorithm = match self {
            Decoder::Plain(_) => "read",
            Decoder::Deflate(_) => "deflate",
            Decoder::Zstd(_) => "zstd",
        };
        AdbError::Decompress {
            algorithm,
            source: e,
        }
    }
}

/// Reads until `buf` is full or the source ends; the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A raw deflate stream inflated as it is read, which (unlike a plain decoder) tells a stream
/// cut short from one that ended, and leaves its source just after the stream's end.
struct Inflate<R> {
    input: R,
    z: flate2::Decompress,
    done: bool,
}

impl<R: BufRead> Inflate<R> {
    fn new(input: R) -> Inflate<R> {
        Inflate {
            input,
            z: flate2::Decompress::new(false),
            done: false,
        }
    }
}

impl<R: BufRead> Read for Inflate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.input.fill_buf()?;
            let eof = input.is_empty();
            let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, buf, flate2::FlushDecompress::None)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let consumed = usize::try_from(self.z.total_in() - in_before).unwrap_or(usize::MAX);
            let produced = usize::try_from(self.z.total_out() - out_before).unwrap_or(0);
            self.input.consume(consumed);
            if status == flate2::Status::StreamEnd {
                self.done = true;
                return Ok(produced);
            }
            if produced > 0 {
                return Ok(produced);
            }
            if eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "unexpected end of the compressed data",
                ));
            }
            if consumed == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the deflate stream makes no progress",
                ));
            }
        }
    }
}

/// A zstd frame decoded as it is read. The decoder is third-party code parsing untrusted
/// input: a panic inside it is reported as corrupt data.
struct Zstd<R: BufRead> {
    decoder: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
    /// The source once the frame is finished.
    rest: Option<R>,
    /// Bytes decoded so far.
    produced: u64,
}

fn zstd_error(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<R: BufRead> Zstd<R> {
    fn new(file: R) -> Result<Zstd<R>, AdbError> {
        let decoder = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ruzstd::decoding::StreamingDecoder::new(file)
        }))
        .map_err(|_| zstd_error("zstd decoder failed".into()))
        .and_then(|d| d.map_err(|e| zstd_error(e.to_string())))
        .map_err(|source| AdbError::Decompress {
            algorithm: "zstd",
            source,
        })?;
        Ok(Zstd {
            decoder: Some(decoder),
            rest: None,
            produced: 0,
        })
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(0);
        };
        let n = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.read(buf)))
            .map_err(|_| zstd_error("zstd decoder failed".into()))??;
        self.produced += n as u64;
        Ok(n)
    }

    /// Checks that the frame ended (and its checksum), returning how many bytes follow it.
    fn finish(&mut self) -> Result<io::Result<usize>, AdbError> {
        let fail = |message: &str| AdbError::Decompress {
            algorithm: "zstd",
            source: zstd_error(message.to_owned()),
        };
        if let Some(decoder) = self.decoder.take() {
            let (source, frame) = decoder.into_parts();
            if !frame.is_finished() {
                return Err(fail("unexpected end of the compressed data"));
            }
            if let Some(stored) = frame.get_checksum_from_data() {
                if frame.get_calculated_checksum() != Some(stored) {
                    return Err(fail("zstd checksum mismatch"));
                }
            }
            let declared = frame.content_size();
            if declared != 0 && declared != self.produced {
                return Err(fail(&format!(
                    "zstd frame declares {declared} bytes but holds {}",
                    self.produced
                )));
            }
            self.rest = Some(source);
        }
        Ok(match self.rest.as_mut() {
            Some(r) => r.fill_buf().map(<[u8]>::len),
            None => Ok(0),
        })
    }
}
