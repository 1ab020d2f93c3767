//! `adbdump`: the text apk-tools 3 prints for an ADB file.
//!
//! The layout (a YAML-like tree, `# N items` after array names, the block lines) follows the
//! `adbdump` output of apk-tools 3.0.6 for packages and indexes. Three things were not seen in
//! its output and are this implementation's choice: the status text of a signature that
//! verifies or fails with a trusted key ([`SignatureStatus::message`]), an empty line inside
//! a multi-line string (printed without indentation), and installed-database (`idb`) nested
//! packages (printed as array items holding the package object).

use super::container::{AdbFile, ReadOptions, decompress};
use super::error::AdbError;
use super::model::{AdbDependency, Budget};
use super::schema::{FieldKind, ObjectSchema};
use super::trust::SignatureStatus;
use super::value::{Adb, Value, Vector};
use crate::keys::KeySet;

/// How many bytes of a SIG payload (after version and digest id) the signature line shows.
const SIG_PREVIEW: usize = 54;

/// The `adbdump` text of a parsed file. Signatures are checked against `keys` (`None`: no
/// trusted key, so every signature shows as `UNTRUSTED signature`, as with
/// `apk adbdump --allow-untrusted` and an empty keys directory).
///
/// The text is bytes: strings are printed as stored, which need not be UTF-8.
///
/// ```
/// use apk_index::adb::{self, AdbFile};
/// let data = adb::tests_support::tiny_index();
/// let text = adb::dump(&AdbFile::parse(&data)?, None)?;
/// let text = String::from_utf8(text)?;
/// assert!(text.starts_with("#%SCHEMA: 78646E69\n# ADB block, size: 180, compat: 0, ver: 0\n"));
/// assert!(text.contains("packages: # 1 items\n  - name: hello\n    version: 1.0-r0\n"));
/// assert!(text.contains("    depends: # 1 items\n      - libc\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dump(file: &AdbFile<'_>, keys: Option<&KeySet>) -> Result<Vec<u8>, AdbError> {
    let adb = file.adb();
    let mut d = Dumper::new(&adb);
    d.push(format!("#%SCHEMA: {:08X}\n", file.schema().0).as_bytes())?;
    let statuses = file.signature_status(keys);
    let mut statuses = statuses.iter();
    for block in file.blocks() {
        match block.kind {
            super::BlockKind::Adb => {
                d.push(
                    format!(
                        "# ADB block, size: {}, compat: {}, ver: {}\n",
                        adb.payload().len(),
                        adb.compat_version(),
                        adb.version()
                    )
                    .as_bytes(),
                )?;
                if let Some(schema) = file.schema().root() {
                    let root = adb.root()?;
                    d.object(&root, schema, 0, false)?;
                }
            }
            super::BlockKind::Sig => {
                let p = block.payload;
                let body = p.get(2..).unwrap_or_default();
                let shown = body.get(..SIG_PREVIEW).unwrap_or(body);
                let status = statuses.next().map_or("", SignatureStatus::message);
                d.push(
                    format!(
                        "# sig v{:02x} h{:02x} {}{}: {}\n",
                        p.first().copied().unwrap_or(0),
                        p.get(1).copied().unwrap_or(0),
                        hex(shown),
                        if shown.len() < body.len() { ".." } else { "" },
                        status
                    )
                    .as_bytes(),
                )?;
            }
            super::BlockKind::Data => {
                d.push(format!("# data block, size: {}\n", block.payload.len()).as_bytes())?;
            }
        }
    }
    Ok(d.out)
}

/// [`dump`] of a whole file as stored (any compression).
///
/// ```
/// use apk_index::adb;
/// let data = adb::tests_support::tiny_index();
/// let text = adb::dump_bytes(&data, None, &adb::ReadOptions::default())?;
/// assert!(text.starts_with(b"#%SCHEMA: 78646E69\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dump_bytes(
    data: &[u8],
    keys: Option<&KeySet>,
    options: &ReadOptions,
) -> Result<Vec<u8>, AdbError> {
    let stream = decompress(data, options)?;
    let file = AdbFile::parse(&stream)?;
    dump(&file, keys)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Dumper {
    out: Vec<u8>,
    budget: Budget,
    /// The most output bytes a payload of this size may produce.
    limit: usize,
}

impl Dumper {
    fn new(adb: &Adb<'_>) -> Dumper {
        Dumper {
            out: Vec::new(),
            budget: Budget::for_adb(adb),
            limit: adb
                .payload()
                .len()
                .saturating_mul(32)
                .saturating_add(1 << 20),
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), AdbError> {
        if self.out.len().saturating_add(bytes.len()) > self.limit {
            return Err(AdbError::TooManyItems {
                limit: self.limit as u64,
            });
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// The start of a line at `indent`; with `dash`, the last two columns hold `- `.
    fn lead(&mut self, indent: usize, dash: bool) -> Result<(), AdbError> {
        if dash && indent >= 2 {
            self.push(&b" ".repeat(indent - 2))?;
            self.push(b"- ")
        } else {
            self.push(&b" ".repeat(indent))
        }
    }

    /// Prints the present fields of `obj`, one per line at `indent`; with `dash` the first
    /// line starts the item of an array (`- `).
    fn object(
        &mut self,
        obj: &Vector<'_>,
        schema: &ObjectSchema,
        indent: usize,
        mut dash: bool,
    ) -> Result<(), AdbError> {
        for (i, field) in (1u32..).zip(schema.fields) {
            let value = obj.get(i).map_err(|e| e.context(field.name))?;
            if value == Value::Null {
                continue;
            }
            self.lead(indent, dash)?;
            dash = false;
            self.push(field.name.as_bytes())?;
            self.push(b":")?;
            self.field_value(value, &field.kind, indent)
                .map_err(|e| e.context(field.name))?;
        }
        if dash {
            // An array item with no fields at all.
            self.lead(indent, true)?;
            self.push(b"\n")?;
        }
        Ok(())
    }

    /// Prints a field's value after `name:`.
    fn field_value(
        &mut self,
        value: Value<'_>,
        kind: &FieldKind,
        indent: usize,
    ) -> Result<(), AdbError> {
        match kind {
            FieldKind::Object(schema) => {
                self.push(b"\n")?;
                let obj = vector(value)?;
                self.object(&obj, schema, indent + 2, false)
            }
            FieldKind::Array(item) => {
                let array = vector(value)?;
                self.budget.take(array.len() as u64)?;
                self.push(format!(" # {} items\n", array.len()).as_bytes())?;
                for (n, item_value) in array.items().enumerate() {
                    let item_value = item_value.map_err(|e| e.context(format!("[{n}]")))?;
                    self.item(item_value, item, indent + 2)
                        .map_err(|e| e.context(format!("[{n}]")))?;
                }
                Ok(())
            }
            scalar => {
                self.push(b" ")?;
                self.scalar(value, scalar, indent)
            }
        }
    }

    /// Prints one array item at `indent` (the column of its `-`).
    fn item(&mut self, value: Value<'_>, kind: &FieldKind, indent: usize) -> Result<(), AdbError> {
        if value == Value::Null {
            return Ok(());
        }
        match kind {
            FieldKind::Object(schema) => self.object(&vector(value)?, schema, indent + 2, true),
            FieldKind::NestedAdb(schema) => {
                let Value::Blob(block) = value else {
                    return Err(wrong(value, "nested ADB blob"));
                };
                let nested = nested_adb(block)?;
                let root = nested.root()?;
                // The nested block has its own heap and its own budget.
                let mut inner = Dumper {
                    out: Vec::new(),
                    budget: Budget::for_adb(&nested),
                    limit: self.limit.saturating_sub(self.out.len()),
                };
                inner.object(&root, schema, indent + 2, true)?;
                self.push(&inner.out)
            }
            FieldKind::Array(_) => Err(wrong(value, "scalar or object")),
            scalar => {
                self.lead(indent, false)?;
                self.push(b"- ")?;
                self.scalar(value, scalar, indent + 2)
            }
        }
    }

    /// Prints a scalar and ends the line (a multi-line string continues below at
    /// `indent + 2`).
    fn scalar(
        &mut self,
        value: Value<'_>,
        kind: &FieldKind,
        indent: usize,
    ) -> Result<(), AdbError> {
        match kind {
            FieldKind::String => {
                let text = blob(value)?;
                if text.contains(&b'\n') {
                    self.push(b"|\n")?;
                    let body = text.strip_suffix(b"\n").unwrap_or(text);
                    for line in body.split(|&c| c == b'\n') {
                        if !line.is_empty() {
                            self.push(&b" ".repeat(indent + 2))?;
                            self.push(line)?;
                        }
                        self.push(b"\n")?;
                    }
                    Ok(())
                } else {
                    self.push(text)?;
                    self.push(b"\n")
                }
            }
            FieldKind::Binary => {
                let bytes = blob(value)?;
                self.push(hex(bytes).as_bytes())?;
                self.push(b"\n")
            }
            FieldKind::Int | FieldKind::Time => {
                self.push(int(value)?.to_string().as_bytes())?;
                self.push(b"\n")
            }
            FieldKind::Octal => self.push(format!("0{:o}\n", int(value)?).as_bytes()),
            FieldKind::Dependency => {
                let dep = AdbDependency::from_object(&vector(value)?)?;
                self.push(dep.to_string().as_bytes())?;
                self.push(b"\n")
            }
            FieldKind::Object(_) | FieldKind::Array(_) | FieldKind::NestedAdb(_) => {
                Err(wrong(value, "scalar"))
            }
        }
    }
}

fn wrong(value: Value<'_>, expected: &'static str) -> AdbError {
    AdbError::Value {
        offset: 0,
        kind: super::error::ValueErrorKind::WrongType {
            expected,
            found: value.type_name(),
        },
    }
}

fn vector<'a>(value: Value<'a>) -> Result<Vector<'a>, AdbError> {
    match value {
        Value::Vector(v) => Ok(v),
        other => Err(wrong(other, "object or array")),
    }
}

fn blob<'a>(value: Value<'a>) -> Result<&'a [u8], AdbError> {
    match value {
        Value::Blob(b) => Ok(b),
        other => Err(wrong(other, "blob")),
    }
}

fn int(value: Value<'_>) -> Result<u64, AdbError> {
    match value {
        Value::Int(n) => Ok(n),
        other => Err(wrong(other, "integer")),
    }
}

/// The ADB payload inside a nested-ADB blob (spec 3.4): one whole ADB block, padded.
pub(crate) fn nested_adb(block: &[u8]) -> Result<Adb<'_>, AdbError> {
    let fail = |kind| AdbError::Block { offset: 0, kind };
    let (parsed, next) = super::container::read_block(block, 0).map_err(fail)?;
    if parsed.kind != super::BlockKind::Adb {
        return Err(fail(super::BlockErrorKind::FirstNotAdb));
    }
    if next != block.len() {
        return Err(AdbError::Invalid(
            "a nested ADB holds more than one block".into(),
        ));
    }
    Adb::new(parsed.payload)
}
