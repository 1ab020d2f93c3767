//! `etc/apk/world`: the dependencies the user asked for, the only source of truth for what is
//! installed.
//!
//! On read, spaces, tabs and newlines all separate entries. On write, apk puts one dependency
//! per line, sorted by name, and an empty world is a single newline (what apk-tools 3 writes).
//!
//! ```
//! use apk_db::world::{parse_world, write_world};
//!
//! let deps = parse_world("busybox alpine-baselayout\nfoo@edge>=1.2\n")?;
//! assert_eq!(deps.len(), 3);
//! assert_eq!(write_world(&deps), "alpine-baselayout\nbusybox\nfoo@edge>=1.2\n");
//! assert_eq!(write_world(&[]), "\n");
//! # Ok::<(), apk_db::world::WorldError>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};

use apk_index::{Dependency, ParseDependencyError, Rules};

/// Where the world file lives, relative to the root.
pub const WORLD_PATH: &str = "etc/apk/world";

/// Returned when a world file cannot be read or holds a token that is not a dependency.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorldError {
    /// A token that does not follow `[!]name[@tag][op version]`.
    #[error("world line {line}: bad dependency '{token}': {source}")]
    BadToken {
        /// The 1-based line number of the token.
        line: usize,
        /// The token as written.
        token: String,
        /// Why it was rejected.
        source: ParseDependencyError,
    },
    /// The world file exists but could not be read (or is not UTF-8).
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Parse world text: every whitespace-separated token is one dependency.
///
/// A token is accepted when it is valid under the v3 version rules or, failing that, the v2
/// rules, so that a world written by either apk-tools release reads back.
///
/// ```
/// use apk_db::world::{parse_world, WorldError};
///
/// let deps = parse_world("a  b\tc\r\n\n")?;
/// assert_eq!(deps.iter().map(|d| d.name()).collect::<Vec<_>>(), ["a", "b", "c"]);
///
/// let err = parse_world("ok\nbad>=\n").unwrap_err();
/// assert!(matches!(&err, WorldError::BadToken { line: 2, token, .. } if token == "bad>="));
/// # Ok::<(), WorldError>(())
/// ```
pub fn parse_world(text: &str) -> Result<Vec<Dependency>, WorldError> {
    let mut deps = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        for token in line.split([' ', '\t', '\r']).filter(|t| !t.is_empty()) {
            let dep = Dependency::parse(token, Rules::V3)
                .or_else(|_| Dependency::parse(token, Rules::V2))
                .map_err(|source| WorldError::BadToken {
                    line: i + 1,
                    token: token.to_owned(),
                    source,
                })?;
            deps.push(dep);
        }
    }
    Ok(deps)
}

/// Write world text: one dependency per line, sorted by name (byte order; entries with the same
/// name keep their order). An empty world is written as `"\n"`.
///
/// ```
/// use apk_db::world::write_world;
/// use apk_index::Dependency;
///
/// let deps: Vec<Dependency> = vec!["zlib".parse()?, "!foo".parse()?, "bash<6".parse()?];
/// assert_eq!(write_world(&deps), "bash<6\n!foo\nzlib\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_world(deps: &[Dependency]) -> String {
    if deps.is_empty() {
        return "\n".to_owned();
    }
    let mut sorted: Vec<&Dependency> = deps.iter().collect();
    sorted.sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
    let mut out = String::new();
    for dep in sorted {
        use std::fmt::Write as _;
        let _ = writeln!(out, "{dep}");
    }
    out
}

/// Read `<root>/etc/apk/world`. A missing file is an empty world.
///
/// ```
/// let root = tempfile::tempdir()?;
/// assert!(apk_db::world::load_world(root.path())?.is_empty());
/// std::fs::create_dir_all(root.path().join("etc/apk"))?;
/// std::fs::write(root.path().join("etc/apk/world"), "musl\n")?;
/// assert_eq!(apk_db::world::load_world(root.path())?[0].name(), "musl");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_world(root: &Path) -> Result<Vec<Dependency>, WorldError> {
    let path = root.join(WORLD_PATH);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_world(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(WorldError::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_order() {
        let deps = parse_world(" c\n\n b a \r\n").unwrap();
        assert_eq!(
            deps.iter().map(|d| d.name()).collect::<Vec<_>>(),
            ["c", "b", "a"]
        );
        assert_eq!(write_world(&deps), "a\nb\nc\n");
    }

    #[test]
    fn empty_world() {
        assert!(parse_world("").unwrap().is_empty());
        assert!(parse_world("\n").unwrap().is_empty());
        assert_eq!(write_world(&[]), "\n");
    }

    #[test]
    fn v2_only_versions_accepted() {
        // `3.2p4` is a valid v2 version but not a v3 one.
        let deps = parse_world("owfs=3.2p4-r0\n").unwrap();
        assert_eq!(deps[0].to_string(), "owfs=3.2p4-r0");
    }

    #[test]
    fn error_names_token_and_line() {
        let err = parse_world("a\nb c@\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("'c@'"), "{msg}");
    }

    #[test]
    fn sort_is_by_name_bytes() {
        let deps = parse_world("b>1 B a-b a_b a").unwrap();
        assert_eq!(write_world(&deps), "B\na\na-b\na_b\nb>1\n");
    }
}
