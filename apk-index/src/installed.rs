//! The installed database text (`lib/apk/db/installed`): APKINDEX records plus install-time
//! fields and the list of owned directories and files.

use std::io::{self, Write};

use crate::checksum::Checksum;
use crate::dependency::{Dependency, DependencyRef};
use crate::package::{Acl, InstalledDir, InstalledFile, PackageInfo};
use crate::version::Rules;

/// How to read an installed database.
///
/// ```
/// use apk_index::InstalledDbOptions;
/// let opts = InstalledDbOptions { allow_unknown_fields: true, ..Default::default() };
/// assert!(opts.allow_unknown_fields);
/// ```
#[derive(Debug, Clone, Default)]
pub struct InstalledDbOptions {
    /// Keep fields this version does not know instead of failing (apk's `--force-old-apk`).
    pub allow_unknown_fields: bool,
}

/// The packages of an installed database, in file order.
///
/// A dependency is accepted when it is valid under the v3 or the v2 version rules, so that a
/// database written by any apk-tools release reads back; the solver applies the rules in force when it uses them.
///
/// ```
/// use apk_index::{InstalledDb, InstalledDbOptions};
/// let text = "C:Q1FF4YFta38d5wuxH9v4onw2JUKW0=\nP:musl\nV:1.2.3-r4\nA:x86_64\nS:1\nI:2\nT:libc\nU:\nL:MIT\nF:lib\nR:libc.so\na:0:0:755\nZ:Q1FF4YFta38d5wuxH9v4onw2JUKW0=\n\n";
/// let db = InstalledDb::from_bytes(text.as_bytes(), &InstalledDbOptions::default())?;
/// assert_eq!(db.packages[0].dirs[0].files[0].name, "libc.so");
/// let mut out = Vec::new();
/// db.write_to(&mut out)?;
/// assert_eq!(out, text.as_bytes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledDb {
    /// The installed packages.
    pub packages: Vec<PackageInfo>,
}

/// Returned by [`InstalledDb::from_bytes`]: what is wrong and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("installed database line {line}: {kind}")]
pub struct ReadInstalledError {
    line: usize,
    kind: ReadInstalledErrorKind,
}

impl ReadInstalledError {
    /// The 1-based line number.
    pub fn line(&self) -> usize {
        self.line
    }
    /// What is wrong.
    pub fn kind(&self) -> &ReadInstalledErrorKind {
        &self.kind
    }
}

/// What is wrong in an installed database; see [`ReadInstalledError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadInstalledErrorKind {
    /// A line that is not `X:value`.
    #[error("expected a 'X:value' line")]
    Malformed,
    /// The text is not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A field this version does not know (allowed with `allow_unknown_fields`).
    #[error("unknown field '{0}:' (the database was written by a newer apk)")]
    UnknownField(char),
    /// A record without `P:`.
    #[error("package record without a name (P:)")]
    MissingName,
    /// A numeric field that is not a number.
    #[error("field '{0}:' is not a number")]
    BadNumber(char),
    /// A checksum that does not parse.
    #[error("invalid checksum in '{0}:'")]
    BadChecksum(char),
    /// An ACL that does not parse.
    #[error("invalid permissions in '{0}:'")]
    BadAcl(char),
    /// A dependency token that does not parse.
    #[error(transparent)]
    BadDependency(#[from] crate::dependency::ParseDependencyError),
    /// `M:` or `R:` before any `F:`.
    #[error("'{0}:' before any directory (F:)")]
    NoDirectory(char),
    /// `a:` or `Z:` before any `R:` of the current directory.
    #[error("'{0}:' before any file (R:)")]
    NoFile(char),
}

fn parse_deps(value: &str, line: usize) -> Result<Vec<Dependency>, ReadInstalledError> {
    value
        .split([' ', '\t'])
        .filter(|t| !t.is_empty())
        .map(|t| {
            DependencyRef::parse(t.as_bytes(), Rules::V3)
                .or_else(|_| DependencyRef::parse(t.as_bytes(), Rules::V2))
                .map(|d| d.to_owned())
                .map_err(|e| ReadInstalledError {
                    line,
                    kind: e.into(),
                })
        })
        .collect()
}

/// Ends the record being read, if any: (package, whether it had a `P:`, its first line).
fn finish_record(
    record: Option<(PackageInfo, bool, usize)>,
    packages: &mut Vec<PackageInfo>,
) -> Result<(), ReadInstalledError> {
    match record {
        None => Ok(()),
        Some((_, false, first)) => Err(ReadInstalledError {
            line: first,
            kind: ReadInstalledErrorKind::MissingName,
        }),
        Some((pkg, true, _)) => {
            packages.push(pkg);
            Ok(())
        }
    }
}

impl InstalledDb {
    /// Parse the text of `lib/apk/db/installed`.
    pub fn from_bytes(
        text: &[u8],
        options: &InstalledDbOptions,
    ) -> Result<InstalledDb, ReadInstalledError> {
        let text = std::str::from_utf8(text).map_err(|e| ReadInstalledError {
            line: text[..e.valid_up_to()]
                .iter()
                .filter(|&&c| c == b'\n')
                .count()
                + 1,
            kind: ReadInstalledErrorKind::NotUtf8,
        })?;
        let mut packages = Vec::new();
        let mut cur: Option<(PackageInfo, bool, usize)> = None;
        for (n, line) in text.split('\n').enumerate() {
            let line_no = n + 1;
            if line.is_empty() {
                finish_record(cur.take(), &mut packages)?;
                continue;
            }
            let bytes = line.as_bytes();
            if bytes.len() < 2 || bytes[1] != b':' {
                return Err(ReadInstalledError {
                    line: line_no,
                    kind: ReadInstalledErrorKind::Malformed,
                });
            }
            let key = bytes[0];
            let value = &line[2..];
            let (pkg, named, _) =
                cur.get_or_insert_with(|| (PackageInfo::default(), false, line_no));
            let err = |kind| ReadInstalledError {
                line: line_no,
                kind,
            };
            let number = |v: &str| -> Result<u64, ReadInstalledError> {
                v.parse::<u64>()
                    .map_err(|_| err(ReadInstalledErrorKind::BadNumber(char::from(key))))
            };
            let checksum = |v: &str| -> Result<Checksum, ReadInstalledError> {
                v.parse()
                    .map_err(|_| err(ReadInstalledErrorKind::BadChecksum(char::from(key))))
            };
            let acl = |v: &str| -> Result<Acl, ReadInstalledError> {
                v.parse()
                    .map_err(|_| err(ReadInstalledErrorKind::BadAcl(char::from(key))))
            };
            match key {
                b'C' => pkg.identity = Some(checksum(value)?),
                b'P' => {
                    pkg.name = value.to_owned();
                    *named = true;
                }
                b'V' => pkg.version = value.to_owned(),
                b'A' => pkg.arch = Some(value.to_owned()),
                b'S' => pkg.size = number(value)?,
                b'I' => pkg.installed_size = number(value)?,
                b'T' => pkg.description = value.to_owned(),
                b'U' => pkg.url = value.to_owned(),
                b'L' => pkg.license = value.to_owned(),
                b'o' => pkg.origin = Some(value.to_owned()),
                b'm' => pkg.maintainer = Some(value.to_owned()),
                b't' => pkg.build_time = number(value)?,
                b'c' => pkg.commit = Some(value.to_owned()),
                b'k' => {
                    pkg.provider_priority = u32::try_from(number(value)?)
                        .map_err(|_| err(ReadInstalledErrorKind::BadNumber('k')))?
                }
                b'D' => pkg.depends.extend(parse_deps(value, line_no)?),
                b'p' => pkg.provides.extend(parse_deps(value, line_no)?),
                b'i' => pkg.install_if.extend(parse_deps(value, line_no)?),
                b'r' => pkg.replaces.extend(parse_deps(value, line_no)?),
                b'q' => {
                    pkg.replaces_priority = u32::try_from(number(value)?)
                        .map_err(|_| err(ReadInstalledErrorKind::BadNumber('q')))?
                }
                b's' => pkg.repository_tag = Some(value.to_owned()),
                b'f' => pkg.flags = Some(value.to_owned()),
                b'g' => pkg.tags.push(value.to_owned()),
                b'F' => pkg.dirs.push(InstalledDir {
                    path: value.to_owned(),
                    acl: None,
                    files: Vec::new(),
                }),
                b'M' => {
                    let a = acl(value)?;
                    let dir = pkg
                        .dirs
                        .last_mut()
                        .ok_or_else(|| err(ReadInstalledErrorKind::NoDirectory('M')))?;
                    dir.acl = Some(a);
                }
                b'R' => {
                    let dir = pkg
                        .dirs
                        .last_mut()
                        .ok_or_else(|| err(ReadInstalledErrorKind::NoDirectory('R')))?;
                    dir.files.push(InstalledFile {
                        name: value.to_owned(),
                        acl: None,
                        checksum: None,
                    });
                }
                b'a' | b'Z' => {
                    let file = pkg
                        .dirs
                        .last_mut()
                        .and_then(|d| d.files.last_mut())
                        .ok_or_else(|| err(ReadInstalledErrorKind::NoFile(char::from(key))))?;
                    if key == b'a' {
                        file.acl = Some(acl(value)?);
                    } else {
                        file.checksum = Some(checksum(value)?);
                    }
                }
                _ => {
                    if !options.allow_unknown_fields {
                        return Err(err(ReadInstalledErrorKind::UnknownField(char::from(key))));
                    }
                    pkg.extra.push((key, value.to_owned()));
                }
            }
        }
        finish_record(cur.take(), &mut packages)?;
        Ok(InstalledDb { packages })
    }

    /// Write the database text: each package's record followed by a blank line.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::new();
        for p in &self.packages {
            p.write_installed_record(&mut buf)?;
            buf.push(b'\n');
        }
        out.write_all(&buf)
    }
}
