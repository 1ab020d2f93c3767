//! The ADB block's value heap (spec section 3): value words, blobs, integers and slot vectors.

use super::error::{AdbError, BlockErrorKind, ValueErrorKind};

/// The payload of an ADB block: an 8-byte header (compat version, version, root value) and a
/// heap of values. Every offset in a value word counts from the first payload byte.
///
/// Construction checks the header; every read checks its offset and length against the
/// payload, so any byte string can be given.
///
/// ```
/// use apk_index::adb::{Adb, Value};
///
/// // compat 0, ver 0, root = object at P+8 with n=2 and field 1 = immediate int 7.
/// let payload = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 7, 0, 0, 0x10];
/// let adb = Adb::new(&payload)?;
/// let root = adb.root()?;
/// assert_eq!(root.get(1)?, Value::Int(7));
/// assert_eq!(root.get(2)?, Value::Null);
/// assert!(adb.value(0x8000_1000).is_err()); // a blob far outside the payload
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adb<'a> {
    payload: &'a [u8],
}

/// A decoded value word.
///
/// ```
/// use apk_index::adb::{Adb, Value};
/// let payload = [0u8; 8];
/// let adb = Adb::new(&payload)?;
/// assert_eq!(adb.value(0x1000_0000)?, Value::Int(0));
/// assert_eq!(adb.value(0)?, Value::Null);
/// assert_eq!(adb.value(0)?.type_name(), "null");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Absent (`0x00000000`).
    Null,
    /// The special value TRUE.
    True,
    /// The special value FALSE.
    False,
    /// An integer, from any of the three integer forms.
    Int(u64),
    /// A byte string, from any of the three blob forms.
    Blob(&'a [u8]),
    /// An object or array (a slot vector).
    Vector(Vector<'a>),
}

impl Value<'_> {
    /// A short name of the value's type, for messages.
    ///
    /// ```
    /// use apk_index::adb::Value;
    /// assert_eq!(Value::Int(3).type_name(), "integer");
    /// assert_eq!(Value::Blob(b"x").type_name(), "blob");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::True | Value::False => "boolean",
            Value::Int(_) => "integer",
            Value::Blob(_) => "blob",
            Value::Vector(v) => match v.tag() {
                VectorTag::Array => "array",
                VectorTag::Object => "object",
            },
        }
    }
}

/// How a slot vector was tagged. apk tags most arrays as objects, so the tag is not reliable:
/// only the schema says whether a vector is an object or an array.
///
/// ```
/// use apk_index::adb::{Adb, Value, VectorTag};
/// let payload = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
/// let adb = Adb::new(&payload)?;
/// let Value::Vector(v) = adb.value(0xD000_0008)? else { unreachable!() };
/// assert_eq!(v.tag(), VectorTag::Array);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorTag {
    /// Type `0xD`.
    Array,
    /// Type `0xE`.
    Object,
}

/// An object or array: a vector of `n` slots whose slot 0 is `n`.
///
/// For an object, slot `i` is field `i`; a slot beyond the vector reads as NULL. For an array
/// the items are slots `1..n`. The whole vector was checked to lie inside the payload when it
/// was decoded.
///
/// ```
/// use apk_index::adb::{Adb, Value};
/// // root = array-tagged vector at P+8 with two items: int 1 and int 2.
/// let payload = [0, 0, 0, 0, 8, 0, 0, 0xD0, 3, 0, 0, 0, 1, 0, 0, 0x10, 2, 0, 0, 0x10];
/// let adb = Adb::new(&payload)?;
/// let root = adb.root()?;
/// assert_eq!(root.len(), 2);
/// let items: Vec<Value> = root.items().collect::<Result<_, _>>()?;
/// assert_eq!(items, [Value::Int(1), Value::Int(2)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vector<'a> {
    adb: Adb<'a>,
    offset: u32,
    slots: u32,
    tag: VectorTag,
}

const TYPE_SPECIAL: u8 = 0x0;
const TYPE_INT: u8 = 0x1;
const TYPE_INT32: u8 = 0x2;
const TYPE_INT64: u8 = 0x3;
const TYPE_BLOB8: u8 = 0x8;
const TYPE_BLOB16: u8 = 0x9;
const TYPE_BLOB32: u8 = 0xA;
const TYPE_ARRAY: u8 = 0xD;
const TYPE_OBJECT: u8 = 0xE;

impl<'a> Adb<'a> {
    /// Checks the 8-byte header of an ADB block payload (compat version 0).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// assert!(Adb::new(&[0; 8]).is_ok());
    /// assert!(Adb::new(&[0; 7]).is_err()); // too short
    /// assert!(Adb::new(&[1, 0, 0, 0, 0, 0, 0, 0]).is_err()); // compat version 1
    /// ```
    pub fn new(payload: &'a [u8]) -> Result<Adb<'a>, AdbError> {
        let block = |kind| AdbError::Block { offset: 0, kind };
        let Some(&compat) = payload.first() else {
            return Err(block(BlockErrorKind::AdbTooShort(payload.len())));
        };
        if payload.len() < 8 {
            return Err(block(BlockErrorKind::AdbTooShort(payload.len())));
        }
        if compat != 0 {
            return Err(block(BlockErrorKind::CompatVersion(compat)));
        }
        Ok(Adb { payload })
    }

    /// The payload bytes (what signatures and the package identity are computed over).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0u8; 8];
    /// assert_eq!(Adb::new(&p)?.payload().len(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The compat version (always 0: other values are refused by [`Adb::new`]).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// assert_eq!(Adb::new(&[0; 8])?.compat_version(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compat_version(&self) -> u8 {
        self.payload.first().copied().unwrap_or(0)
    }

    /// The format version byte (written 0 by apk, ignored on read).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 3, 0, 0, 0, 0, 0, 0];
    /// assert_eq!(Adb::new(&p)?.version(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn version(&self) -> u8 {
        self.payload.get(1).copied().unwrap_or(0)
    }

    /// The root value word (payload offset 4).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0];
    /// assert_eq!(Adb::new(&p)?.root_word(), 0xE000_0008);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn root_word(&self) -> u32 {
        self.u32_at(4).unwrap_or(0)
    }

    /// The root object. A root that is not a slot vector (including NULL) is an error.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// assert!(Adb::new(&[0; 8])?.root().is_err()); // a NULL root
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn root(&self) -> Result<Vector<'a>, AdbError> {
        match self.value(self.root_word())? {
            Value::Vector(v) => Ok(v),
            _ => Err(AdbError::Value {
                offset: 4,
                kind: ValueErrorKind::RootNotObject,
            }),
        }
    }

    /// `len` bytes at payload offset `at`, if they lie inside the payload.
    fn bytes(&self, at: u64, len: u64) -> Result<&'a [u8], AdbError> {
        let out_of_bounds = || AdbError::Value {
            offset: at,
            kind: ValueErrorKind::OutOfBounds {
                at,
                len,
                payload_len: self.payload.len(),
            },
        };
        let start = usize::try_from(at).map_err(|_| out_of_bounds())?;
        let len_usize = usize::try_from(len).map_err(|_| out_of_bounds())?;
        let end = start.checked_add(len_usize).ok_or_else(out_of_bounds)?;
        self.payload.get(start..end).ok_or_else(out_of_bounds)
    }

    fn u32_at(&self, at: u64) -> Result<u32, AdbError> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Decodes a value word, following its offset (checked) for the types that have one.
    ///
    /// ```
    /// use apk_index::adb::{Adb, Value};
    /// // An int32 at P+8 and a blob16 at P+12.
    /// let p = [0, 0, 0, 0, 0, 0, 0, 0, 0x2A, 0, 0, 0x80, 2, 0, b'o', b'k'];
    /// let adb = Adb::new(&p)?;
    /// assert_eq!(adb.value(0x2000_0008)?, Value::Int(0x8000_002A));
    /// assert_eq!(adb.value(0x9000_000C)?, Value::Blob(b"ok"));
    /// assert!(adb.value(0x9000_000E).is_err()); // the length runs past the end
    /// assert!(adb.value(0x5000_0000).is_err()); // no such type
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self, word: u32) -> Result<Value<'a>, AdbError> {
        let kind = (word >> 28) as u8;
        let low = word & 0x0FFF_FFFF;
        let at = u64::from(low);
        Ok(match kind {
            TYPE_SPECIAL => match low {
                0 => Value::Null,
                1 => Value::True,
                2 => Value::False,
                _ => {
                    return Err(AdbError::Value {
                        offset: at,
                        kind: ValueErrorKind::BadSpecial(low),
                    });
                }
            },
            TYPE_INT => Value::Int(u64::from(low)),
            TYPE_INT32 => Value::Int(u64::from(self.u32_at(at)?)),
            TYPE_INT64 => {
                let b = self.bytes(at, 8)?;
                let mut v = [0u8; 8];
                v.copy_from_slice(b);
                Value::Int(u64::from_le_bytes(v))
            }
            TYPE_BLOB8 => {
                let len = self.bytes(at, 1)?[0];
                Value::Blob(self.bytes(at + 1, u64::from(len))?)
            }
            TYPE_BLOB16 => {
                let b = self.bytes(at, 2)?;
                let len = u16::from_le_bytes([b[0], b[1]]);
                Value::Blob(self.bytes(at + 2, u64::from(len))?)
            }
            TYPE_BLOB32 => {
                let len = self.u32_at(at)?;
                Value::Blob(self.bytes(at + 4, u64::from(len))?)
            }
            TYPE_ARRAY | TYPE_OBJECT => {
                let slots = self.u32_at(at)?;
                // The whole vector must lie inside the payload.
                self.bytes(at, u64::from(slots) * 4)?;
                Value::Vector(Vector {
                    adb: *self,
                    offset: low,
                    slots,
                    tag: if kind == TYPE_ARRAY {
                        VectorTag::Array
                    } else {
                        VectorTag::Object
                    },
                })
            }
            other => {
                return Err(AdbError::Value {
                    offset: at,
                    kind: ValueErrorKind::UnknownType(other),
                });
            }
        })
    }
}

fn wrong_type(offset: u64, expected: &'static str, found: &Value<'_>) -> AdbError {
    AdbError::Value {
        offset,
        kind: ValueErrorKind::WrongType {
            expected,
            found: found.type_name(),
        },
    }
}

impl<'a> Vector<'a> {
    /// The ADB block the vector is in.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 1, 0, 0, 0];
    /// let adb = Adb::new(&p)?;
    /// assert_eq!(adb.root()?.adb(), adb);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adb(&self) -> Adb<'a> {
        self.adb
    }

    /// Payload offset of the vector (of its slot 0).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 1, 0, 0, 0];
    /// assert_eq!(Adb::new(&p)?.root()?.offset(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// How the vector was tagged (not reliable; see [`VectorTag`]).
    ///
    /// ```
    /// use apk_index::adb::{Adb, VectorTag};
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 1, 0, 0, 0];
    /// assert_eq!(Adb::new(&p)?.root()?.tag(), VectorTag::Object);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tag(&self) -> VectorTag {
        self.tag
    }

    /// The slot count `n` as stored (slot 0 included; 0 for an empty vector).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 1, 0, 0, 0];
    /// assert_eq!(Adb::new(&p)?.root()?.slot_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slot_count(&self) -> u32 {
        self.slots
    }

    /// The number of array items, `n - 1` (0 when `n` is 0 or 1).
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xD0, 2, 0, 0, 0, 5, 0, 0, 0x10];
    /// assert_eq!(Adb::new(&p)?.root()?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.slots.saturating_sub(1) as usize
    }

    /// Whether the vector has no items.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xD0, 1, 0, 0, 0];
    /// assert!(Adb::new(&p)?.root()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.slots <= 1
    }

    /// Payload offset of slot `i`.
    fn slot_offset(&self, i: u32) -> u64 {
        u64::from(self.offset) + u64::from(i) * 4
    }

    /// The raw word in slot `i` (1-based); 0 (NULL) for slot 0 and slots beyond the vector.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 5, 0, 0, 0x10];
    /// let root = Adb::new(&p)?.root()?;
    /// assert_eq!((root.word(1), root.word(2), root.word(0)), (0x1000_0005, 0, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn word(&self, i: u32) -> u32 {
        if i == 0 || i >= self.slots {
            return 0;
        }
        self.adb.u32_at(self.slot_offset(i)).unwrap_or(0)
    }

    /// The value in slot `i` (1-based): field `i` of an object, item `i` of an array.
    ///
    /// ```
    /// use apk_index::adb::{Adb, Value};
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 5, 0, 0, 0x10];
    /// let root = Adb::new(&p)?.root()?;
    /// assert_eq!(root.get(1)?, Value::Int(5));
    /// assert_eq!(root.get(9)?, Value::Null); // beyond the vector: absent
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, i: u32) -> Result<Value<'a>, AdbError> {
        self.adb.value(self.word(i))
    }

    /// The items of an array: slots `1..n`, in order.
    ///
    /// ```
    /// use apk_index::adb::{Adb, Value};
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xD0, 2, 0, 0, 0, 5, 0, 0, 0x10];
    /// let items: Vec<Value> = Adb::new(&p)?.root()?.items().collect::<Result<_, _>>()?;
    /// assert_eq!(items, [Value::Int(5)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn items(&self) -> impl Iterator<Item = Result<Value<'a>, AdbError>> + 'a {
        let v = *self;
        (1..self.slots.max(1)).map(move |i| v.get(i))
    }

    /// Field `i` as a blob; `None` when absent. Another type is an error.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// // root at P+8: n=2, field 1 = blob8 at P+16 ("hi").
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 16, 0, 0, 0x80, 2, b'h', b'i'];
    /// let root = Adb::new(&p)?.root()?;
    /// assert_eq!(root.blob(1)?, Some(&b"hi"[..]));
    /// assert_eq!(root.str(1)?, Some("hi"));
    /// assert_eq!(root.blob(2)?, None);
    /// assert!(root.int(1).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn blob(&self, i: u32) -> Result<Option<&'a [u8]>, AdbError> {
        match self.get(i)? {
            Value::Null => Ok(None),
            Value::Blob(b) => Ok(Some(b)),
            other => Err(wrong_type(self.slot_offset(i), "blob", &other)),
        }
    }

    /// Field `i` as UTF-8 text; `None` when absent.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 16, 0, 0, 0x80, 1, 0xFF];
    /// assert!(Adb::new(&p)?.root()?.str(1).is_err()); // not UTF-8
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn str(&self, i: u32) -> Result<Option<&'a str>, AdbError> {
        match self.blob(i)? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| AdbError::Value {
                    offset: self.slot_offset(i),
                    kind: ValueErrorKind::NotUtf8,
                }),
        }
    }

    /// Field `i` as an integer; `None` when absent.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 0, 0, 0, 0x10];
    /// assert_eq!(Adb::new(&p)?.root()?.int(1)?, Some(0)); // 0 is present, not absent
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn int(&self, i: u32) -> Result<Option<u64>, AdbError> {
        match self.get(i)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(n)),
            other => Err(wrong_type(self.slot_offset(i), "integer", &other)),
        }
    }

    /// Field `i` as an object or array; `None` when absent.
    ///
    /// ```
    /// use apk_index::adb::Adb;
    /// // Field 1 refers back to the root object itself.
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 8, 0, 0, 0xE0];
    /// let root = Adb::new(&p)?.root()?;
    /// assert_eq!(root.vector(1)?, Some(root));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn vector(&self, i: u32) -> Result<Option<Vector<'a>>, AdbError> {
        match self.get(i)? {
            Value::Null => Ok(None),
            Value::Vector(v) => Ok(Some(v)),
            other => Err(wrong_type(self.slot_offset(i), "object or array", &other)),
        }
    }

    /// Payload offset of the data of the blob in field `i` (after its length prefix), when
    /// the field is a blob. Used to find the bytes of a package's unique id.
    pub(crate) fn blob_data_offset(&self, i: u32) -> Option<(usize, usize)> {
        let word = self.word(i);
        let low = (word & 0x0FFF_FFFF) as usize;
        let prefix = match (word >> 28) as u8 {
            TYPE_BLOB8 => 1,
            TYPE_BLOB16 => 2,
            TYPE_BLOB32 => 4,
            _ => return None,
        };
        match self.get(i) {
            Ok(Value::Blob(b)) => Some((low + prefix, b.len())),
            _ => None,
        }
    }
}

/// Reads a value that must be a vector (the item of an array of objects), or `None` for NULL.
pub(crate) fn expect_vector<'a>(value: Value<'a>, at: u64) -> Result<Option<Vector<'a>>, AdbError> {
    match value {
        Value::Null => Ok(None),
        Value::Vector(v) => Ok(Some(v)),
        other => Err(wrong_type(at, "object", &other)),
    }
}

/// Reads a value that must be a blob, or `None` for NULL.
pub(crate) fn expect_blob<'a>(value: Value<'a>, at: u64) -> Result<Option<&'a [u8]>, AdbError> {
    match value {
        Value::Null => Ok(None),
        Value::Blob(b) => Ok(Some(b)),
        other => Err(wrong_type(at, "blob", &other)),
    }
}
