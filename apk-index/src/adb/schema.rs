//! The ADB schemas of apk-tools 3: field numbers, names and kinds (spec section 4).
//!
//! A schema id ([`SchemaId`]) names the root object of a file; the [`ObjectSchema`] tables
//! give, for every object, the meaning of each slot. Field `i` of an object is slot `i` of its
//! slot vector, so [`ObjectSchema::field`] takes the 1-based field number.
//!
//! ```
//! use apk_index::adb::schema::{self, FieldKind};
//!
//! let info = schema::PKGINFO.field(schema::pkginfo::DEPENDS).unwrap();
//! assert_eq!(info.name, "depends");
//! assert!(matches!(info.kind, FieldKind::Array(FieldKind::Dependency)));
//! assert_eq!(schema::PKGINFO.index_of("tags"), Some(21));
//! ```

use std::fmt;

/// The schema id at offset 4 of the inner stream: which root object the file holds.
///
/// ```
/// use apk_index::adb::SchemaId;
/// assert_eq!(SchemaId::PACKAGE.to_string(), "pckg");
/// assert_eq!(SchemaId::from_bytes(*b"indx"), SchemaId::INDEX);
/// assert_eq!(SchemaId(0x12345678).to_string(), "0x12345678");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaId(pub u32);

impl SchemaId {
    /// `pckg`: a package.
    ///
    /// ```
    /// assert_eq!(&apk_index::adb::SchemaId::PACKAGE.to_bytes(), b"pckg");
    /// ```
    pub const PACKAGE: SchemaId = SchemaId(0x676B_6370);
    /// `indx`: a repository index.
    ///
    /// ```
    /// assert_eq!(&apk_index::adb::SchemaId::INDEX.to_bytes(), b"indx");
    /// ```
    pub const INDEX: SchemaId = SchemaId(0x7864_6E69);
    /// `idb\0`: the installed database (experimental in apk-tools 3.0).
    ///
    /// ```
    /// assert_eq!(&apk_index::adb::SchemaId::INSTALLED_DB.to_bytes(), b"idb\0");
    /// ```
    pub const INSTALLED_DB: SchemaId = SchemaId(0x0062_6469);

    /// The id stored as these four bytes (little-endian).
    ///
    /// ```
    /// use apk_index::adb::SchemaId;
    /// assert_eq!(SchemaId::from_bytes(*b"pckg"), SchemaId::PACKAGE);
    /// ```
    pub fn from_bytes(bytes: [u8; 4]) -> SchemaId {
        SchemaId(u32::from_le_bytes(bytes))
    }

    /// The four bytes of the id as stored.
    ///
    /// ```
    /// use apk_index::adb::SchemaId;
    /// assert_eq!(&SchemaId::PACKAGE.to_bytes(), b"pckg");
    /// ```
    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }

    /// The short name of a known schema: `pckg`, `indx` or `idb`.
    ///
    /// ```
    /// use apk_index::adb::SchemaId;
    /// assert_eq!(SchemaId::INSTALLED_DB.name(), Some("idb"));
    /// ```
    pub fn name(self) -> Option<&'static str> {
        match self {
            SchemaId::PACKAGE => Some("pckg"),
            SchemaId::INDEX => Some("indx"),
            SchemaId::INSTALLED_DB => Some("idb"),
            _ => None,
        }
    }

    /// The schema of the root object of a file with this id, for the known ids.
    ///
    /// ```
    /// use apk_index::adb::{SchemaId, schema};
    /// assert_eq!(SchemaId::INDEX.root().map(|s| s.name), Some("index"));
    /// ```
    pub fn root(self) -> Option<&'static ObjectSchema> {
        match self {
            SchemaId::PACKAGE => Some(&PACKAGE),
            SchemaId::INDEX => Some(&INDEX),
            SchemaId::INSTALLED_DB => Some(&INSTALLED_DB),
            _ => None,
        }
    }
}

impl fmt::Display for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#010x}", self.0),
        }
    }
}

/// What a field holds, and how `adbdump` shows it.
///
/// ```
/// use apk_index::adb::schema::{self, FieldKind};
/// let mode = schema::ACL.field(schema::acl::MODE).unwrap();
/// assert!(matches!(mode.kind, FieldKind::Octal));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum FieldKind {
    /// Text, stored as a blob.
    String,
    /// Bytes, stored as a blob and shown as hex.
    Binary,
    /// An unsigned integer (any of the integer forms).
    Int,
    /// An integer shown in octal (file modes).
    Octal,
    /// An integer holding Unix seconds.
    Time,
    /// A dependency object (name, version, match), shown as a dependency token.
    Dependency,
    /// An object of the given schema.
    Object(&'static ObjectSchema),
    /// An array whose items are of the given kind.
    Array(&'static FieldKind),
    /// A blob holding a whole ADB block whose root is an object of the given schema.
    NestedAdb(&'static ObjectSchema),
}

/// One field of an object schema.
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::INDEX.field(1).map(|f| f.name), Some("description"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FieldSchema {
    /// The field's name, as `adbdump` prints it.
    pub name: &'static str,
    /// What the field holds.
    pub kind: FieldKind,
}

/// The fields of one kind of object, in slot order (slot 1 first).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::FILE.fields.len(), 6);
/// assert!(schema::FILE.field(0).is_none());
/// assert!(schema::FILE.field(7).is_none());
/// ```
#[derive(Debug)]
pub struct ObjectSchema {
    /// A name for messages.
    pub name: &'static str,
    /// The fields: `fields[i]` is field number `i + 1`.
    pub fields: &'static [FieldSchema],
}

impl ObjectSchema {
    /// Field number `i` (1-based), or `None` for 0 and numbers beyond the schema.
    ///
    /// ```
    /// use apk_index::adb::schema;
    /// assert_eq!(schema::DIR.field(3).map(|f| f.name), Some("files"));
    /// ```
    pub fn field(&self, i: u32) -> Option<&'static FieldSchema> {
        let i = usize::try_from(i).ok()?.checked_sub(1)?;
        self.fields.get(i)
    }

    /// The number of the field called `name`.
    ///
    /// ```
    /// use apk_index::adb::schema;
    /// assert_eq!(schema::SCRIPTS.index_of("post-install"), Some(3));
    /// assert_eq!(schema::SCRIPTS.index_of("nope"), None);
    /// ```
    pub fn index_of(&self, name: &str) -> Option<u32> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| u32::try_from(i + 1).ok())
    }
}

const fn f(name: &'static str, kind: FieldKind) -> FieldSchema {
    FieldSchema { name, kind }
}

const DEPS: FieldKind = FieldKind::Array(&FieldKind::Dependency);
const STRINGS: FieldKind = FieldKind::Array(&FieldKind::String);

/// The dependency object (spec 4.3).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::DEPENDENCY.field(schema::dependency::MATCH).map(|f| f.name), Some("match"));
/// ```
pub static DEPENDENCY: ObjectSchema = ObjectSchema {
    name: "dependency",
    fields: &[
        f("name", FieldKind::String),
        f("version", FieldKind::String),
        f("match", FieldKind::Int),
    ],
};

/// Field numbers of [`DEPENDENCY`].
///
/// ```
/// assert_eq!(apk_index::adb::schema::dependency::VERSION, 2);
/// ```
pub mod dependency {
    /// The provided or required name.
    pub const NAME: u32 = 1;
    /// The version (absent: any version).
    pub const VERSION: u32 = 2;
    /// The operator bit mask (absent with a version: equal).
    pub const MATCH: u32 = 3;
}

/// The package info object, inside packages and as index entries (spec 4.2).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::PKGINFO.field(schema::pkginfo::FILE_SIZE).map(|f| f.name), Some("file-size"));
/// ```
pub static PKGINFO: ObjectSchema = ObjectSchema {
    name: "pkginfo",
    fields: &[
        f("name", FieldKind::String),
        f("version", FieldKind::String),
        f("hashes", FieldKind::Binary),
        f("description", FieldKind::String),
        f("arch", FieldKind::String),
        f("license", FieldKind::String),
        f("origin", FieldKind::String),
        f("maintainer", FieldKind::String),
        f("url", FieldKind::String),
        f("repo-commit", FieldKind::Binary),
        f("build-time", FieldKind::Time),
        f("installed-size", FieldKind::Int),
        f("file-size", FieldKind::Int),
        f("provider-priority", FieldKind::Int),
        f("depends", DEPS),
        f("provides", DEPS),
        f("replaces", DEPS),
        f("install-if", DEPS),
        f("recommends", DEPS),
        f("layer", FieldKind::Int),
        f("tags", STRINGS),
    ],
};

/// Field numbers of [`PKGINFO`].
///
/// ```
/// assert_eq!(apk_index::adb::schema::pkginfo::DEPENDS, 15);
/// ```
pub mod pkginfo {
    /// `name` (P).
    pub const NAME: u32 = 1;
    /// `version` (V).
    pub const VERSION: u32 = 2;
    /// `hashes` (C): the identity in an index, the unique id in a package.
    pub const HASHES: u32 = 3;
    /// `description` (T).
    pub const DESCRIPTION: u32 = 4;
    /// `arch` (A).
    pub const ARCH: u32 = 5;
    /// `license` (L).
    pub const LICENSE: u32 = 6;
    /// `origin` (o).
    pub const ORIGIN: u32 = 7;
    /// `maintainer` (m).
    pub const MAINTAINER: u32 = 8;
    /// `url` (U).
    pub const URL: u32 = 9;
    /// `repo-commit` (c), 20 bytes.
    pub const REPO_COMMIT: u32 = 10;
    /// `build-time` (t).
    pub const BUILD_TIME: u32 = 11;
    /// `installed-size` (I).
    pub const INSTALLED_SIZE: u32 = 12;
    /// `file-size` (S), index entries only.
    pub const FILE_SIZE: u32 = 13;
    /// `provider-priority` (k).
    pub const PROVIDER_PRIORITY: u32 = 14;
    /// `depends` (D).
    pub const DEPENDS: u32 = 15;
    /// `provides` (p).
    pub const PROVIDES: u32 = 16;
    /// `replaces` (r).
    pub const REPLACES: u32 = 17;
    /// `install-if` (i).
    pub const INSTALL_IF: u32 = 18;
    /// `recommends`.
    pub const RECOMMENDS: u32 = 19;
    /// `layer`.
    pub const LAYER: u32 = 20;
    /// `tags` (g).
    pub const TAGS: u32 = 21;
}

/// The ACL object (spec 4.7).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::ACL.fields.len(), 4);
/// ```
pub static ACL: ObjectSchema = ObjectSchema {
    name: "acl",
    fields: &[
        f("mode", FieldKind::Octal),
        f("user", FieldKind::String),
        f("group", FieldKind::String),
        f("xattrs", FieldKind::Array(&FieldKind::Binary)),
    ],
};

/// Field numbers of [`ACL`].
///
/// ```
/// assert_eq!(apk_index::adb::schema::acl::MODE, 1);
/// ```
pub mod acl {
    /// Permission bits.
    pub const MODE: u32 = 1;
    /// Owner name.
    pub const USER: u32 = 2;
    /// Group name.
    pub const GROUP: u32 = 3;
    /// Extended attributes, `name\0value` each.
    pub const XATTRS: u32 = 4;
}

/// A file entry (spec 4.7).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::FILE.field(schema::file::TARGET).map(|f| f.name), Some("target"));
/// ```
pub static FILE: ObjectSchema = ObjectSchema {
    name: "file",
    fields: &[
        f("name", FieldKind::String),
        f("acl", FieldKind::Object(&ACL)),
        f("size", FieldKind::Int),
        f("mtime", FieldKind::Time),
        f("hash", FieldKind::Binary),
        f("target", FieldKind::Binary),
    ],
};

/// Field numbers of [`FILE`].
///
/// ```
/// assert_eq!(apk_index::adb::schema::file::HASH, 5);
/// ```
pub mod file {
    /// One path component.
    pub const NAME: u32 = 1;
    /// Permissions and owner.
    pub const ACL: u32 = 2;
    /// Content length (link length for symlinks).
    pub const SIZE: u32 = 3;
    /// Modification time.
    pub const MTIME: u32 = 4;
    /// Content hash (SHA-256).
    pub const HASH: u32 = 5;
    /// Type bits and data for non-regular files and hard links.
    pub const TARGET: u32 = 6;
}

/// A directory entry of `paths` (spec 4.6).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::DIR.field(schema::dir::ACL).map(|f| f.name), Some("acl"));
/// ```
pub static DIR: ObjectSchema = ObjectSchema {
    name: "dir",
    fields: &[
        f("name", FieldKind::String),
        f("acl", FieldKind::Object(&ACL)),
        f("files", FieldKind::Array(&FieldKind::Object(&FILE))),
    ],
};

/// Field numbers of [`DIR`].
///
/// ```
/// assert_eq!(apk_index::adb::schema::dir::FILES, 3);
/// ```
pub mod dir {
    /// Path relative to the package root (absent for the root).
    pub const NAME: u32 = 1;
    /// Permissions and owner.
    pub const ACL: u32 = 2;
    /// The files in the directory.
    pub const FILES: u32 = 3;
}

/// The scripts object (spec 4.8).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::SCRIPTS.field(1).map(|f| f.name), Some("trigger"));
/// ```
pub static SCRIPTS: ObjectSchema = ObjectSchema {
    name: "scripts",
    fields: &[
        f("trigger", FieldKind::String),
        f("pre-install", FieldKind::String),
        f("post-install", FieldKind::String),
        f("pre-deinstall", FieldKind::String),
        f("post-deinstall", FieldKind::String),
        f("pre-upgrade", FieldKind::String),
        f("post-upgrade", FieldKind::String),
    ],
};

/// The package root object, schema `pckg` (spec 4.5).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::PACKAGE.field(schema::package::TRIGGERS).map(|f| f.name), Some("triggers"));
/// ```
pub static PACKAGE: ObjectSchema = ObjectSchema {
    name: "package",
    fields: &[
        f("info", FieldKind::Object(&PKGINFO)),
        f("paths", FieldKind::Array(&FieldKind::Object(&DIR))),
        f("scripts", FieldKind::Object(&SCRIPTS)),
        f("triggers", STRINGS),
        f("replaces-priority", FieldKind::Int),
    ],
};

/// Field numbers of [`PACKAGE`].
///
/// ```
/// assert_eq!(apk_index::adb::schema::package::PATHS, 2);
/// ```
pub mod package {
    /// The package info.
    pub const INFO: u32 = 1;
    /// The directories and their files.
    pub const PATHS: u32 = 2;
    /// The scripts.
    pub const SCRIPTS: u32 = 3;
    /// Trigger globs.
    pub const TRIGGERS: u32 = 4;
    /// Replaces priority.
    pub const REPLACES_PRIORITY: u32 = 5;
}

/// The index root object, schema `indx` (spec 4.1).
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::INDEX.field(schema::index::PKGNAME_SPEC).map(|f| f.name), Some("pkgname-spec"));
/// ```
pub static INDEX: ObjectSchema = ObjectSchema {
    name: "index",
    fields: &[
        f("description", FieldKind::String),
        f("packages", FieldKind::Array(&FieldKind::Object(&PKGINFO))),
        f("pkgname-spec", FieldKind::String),
    ],
};

/// Field numbers of [`INDEX`].
///
/// ```
/// assert_eq!(apk_index::adb::schema::index::PACKAGES, 2);
/// ```
pub mod index {
    /// Repository description.
    pub const DESCRIPTION: u32 = 1;
    /// The package entries.
    pub const PACKAGES: u32 = 2;
    /// Download path template.
    pub const PKGNAME_SPEC: u32 = 3;
}

/// The installed-database root object, schema `idb` (spec 4.9): packages as nested ADBs.
///
/// ```
/// use apk_index::adb::schema;
/// assert_eq!(schema::INSTALLED_DB.field(1).map(|f| f.name), Some("packages"));
/// ```
pub static INSTALLED_DB: ObjectSchema = ObjectSchema {
    name: "installed-db",
    fields: &[f(
        "packages",
        FieldKind::Array(&FieldKind::NestedAdb(&PACKAGE)),
    )],
};
