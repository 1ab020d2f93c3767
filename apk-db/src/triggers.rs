//! `lib/apk/db/triggers`: which installed packages have trigger globs, and glob matching.
//!
//! The file has one line per package with triggers: the package identity as written in the
//! installed database (`Q1…`), then its globs, all separated by single spaces. apk matches each
//! glob against the absolute paths of directories with `fnmatch(glob, path, FNM_PATHNAME)`:
//! `*`, `?` and bracket expressions never match `/`. A glob starting with `+` (apk-tools 3)
//! passes only directories modified in the transaction; the `+` is not part of the pattern.
//!
//! ```
//! use apk_db::triggers::{TriggerDb, glob_matches};
//!
//! let text = "Q1nIfHYZu9A4o3zaj83KVpthUB1Do= /usr/share/foo/*\n";
//! let db = TriggerDb::parse(text)?;
//! assert_eq!(db.entries[0].globs, ["/usr/share/foo/*"]);
//! assert_eq!(db.write(), text);
//! assert!(glob_matches("/usr/share/foo/*", "/usr/share/foo/plugA"));
//! assert!(!glob_matches("/usr/share/foo/*", "/usr/share/foo/plugA/sub"));
//! # Ok::<(), apk_db::triggers::TriggerError>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};

/// Where the trigger database lives, relative to the root.
pub const TRIGGERS_PATH: &str = "lib/apk/db/triggers";

/// Returned when a trigger database cannot be read or a line has no package identity.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// The line starts with a glob (`/…` or `+/…`) instead of a package identity.
    #[error("triggers line {line}: missing package identity before '{token}'")]
    MissingIdentity {
        /// The 1-based line number.
        line: usize,
        /// The first token of the line.
        token: String,
    },
    /// The file exists but could not be read (or is not UTF-8).
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// One package's line: its identity and its trigger globs, both as written.
///
/// ```
/// use apk_db::triggers::TriggerEntry;
/// let e = TriggerEntry { identity: "Q1abc".into(), globs: vec!["/usr/share/icons/*".into()] };
/// assert_eq!(e.trigger_globs().next().map(|g| g.only_modified()), Some(false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TriggerEntry {
    /// The package identity (`C:` of the installed record), as written.
    pub identity: String,
    /// The globs, as written (a v3 `+` prefix included).
    pub globs: Vec<String>,
}

impl TriggerEntry {
    /// The globs, compiled.
    pub fn trigger_globs(&self) -> impl Iterator<Item = TriggerGlob> + '_ {
        self.globs.iter().map(|g| TriggerGlob::new(g))
    }

    /// Whether any glob matches `path` (an absolute directory path), ignoring the `+` prefix.
    ///
    /// ```
    /// use apk_db::triggers::TriggerEntry;
    /// let e = TriggerEntry { identity: "Q1x".into(), globs: vec!["/bin".into(), "+/lib/*".into()] };
    /// assert!(e.matches("/lib/modules"));
    /// assert!(!e.matches("/usr/bin"));
    /// ```
    pub fn matches(&self, path: &str) -> bool {
        self.globs.iter().any(|g| glob_matches(g, path))
    }
}

/// The whole trigger database, in file order.
///
/// ```
/// use apk_db::triggers::{TriggerDb, TriggerEntry};
/// let mut db = TriggerDb::default();
/// db.set("Q1a", vec!["/bin".into(), "/sbin".into()]);
/// db.set("Q1b", vec!["/usr/share/fonts/*".into()]);
/// assert_eq!(db.write(), "Q1a /bin /sbin\nQ1b /usr/share/fonts/*\n");
/// assert!(db.remove("Q1a").is_some());
/// assert_eq!(db.get("Q1b").map(|e| e.globs.len()), Some(1));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TriggerDb {
    /// One entry per package line.
    pub entries: Vec<TriggerEntry>,
}

fn is_glob_token(token: &str) -> bool {
    token.starts_with('/') || token.starts_with('+')
}

impl TriggerDb {
    /// Parse the text of `lib/apk/db/triggers`. Blank lines are skipped; tokens are separated
    /// by spaces or tabs. A line with an identity and no globs is kept (with no globs).
    ///
    /// ```
    /// use apk_db::triggers::TriggerDb;
    /// assert!(TriggerDb::parse("")?.entries.is_empty());
    /// assert!(TriggerDb::parse("/bin /sbin\n").is_err());
    /// # Ok::<(), apk_db::triggers::TriggerError>(())
    /// ```
    pub fn parse(text: &str) -> Result<TriggerDb, TriggerError> {
        let mut entries = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let mut tokens = line.split([' ', '\t', '\r']).filter(|t| !t.is_empty());
            let Some(identity) = tokens.next() else {
                continue;
            };
            if is_glob_token(identity) {
                return Err(TriggerError::MissingIdentity {
                    line: i + 1,
                    token: identity.to_owned(),
                });
            }
            entries.push(TriggerEntry {
                identity: identity.to_owned(),
                globs: tokens.map(str::to_owned).collect(),
            });
        }
        Ok(TriggerDb { entries })
    }

    /// Read `<root>/lib/apk/db/triggers`; a missing file is an empty database.
    ///
    /// ```
    /// let root = tempfile::tempdir()?;
    /// assert!(apk_db::triggers::TriggerDb::load(root.path())?.entries.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(root: &Path) -> Result<TriggerDb, TriggerError> {
        let path = root.join(TRIGGERS_PATH);
        match std::fs::read_to_string(&path) {
            Ok(text) => TriggerDb::parse(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(TriggerDb::default()),
            Err(source) => Err(TriggerError::Io { path, source }),
        }
    }

    /// The text apk writes: `identity glob glob…\n` per entry, in order. Empty when there are
    /// no entries.
    pub fn write(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&e.identity);
            for g in &e.globs {
                out.push(' ');
                out.push_str(g);
            }
            out.push('\n');
        }
        out
    }

    /// The entry of the package with this identity.
    pub fn get(&self, identity: &str) -> Option<&TriggerEntry> {
        self.entries.iter().find(|e| e.identity == identity)
    }

    /// Set a package's globs: replaces its entry in place, or appends a new one.
    pub fn set(&mut self, identity: &str, globs: Vec<String>) {
        match self.entries.iter_mut().find(|e| e.identity == identity) {
            Some(e) => e.globs = globs,
            None => self.entries.push(TriggerEntry {
                identity: identity.to_owned(),
                globs,
            }),
        }
    }

    /// Remove a package's entry, returning it.
    pub fn remove(&mut self, identity: &str) -> Option<TriggerEntry> {
        let i = self.entries.iter().position(|e| e.identity == identity)?;
        Some(self.entries.remove(i))
    }
}

/// One compiled trigger glob.
///
/// ```
/// use apk_db::triggers::TriggerGlob;
/// let g = TriggerGlob::new("+/usr/lib/gdk-pixbuf-2.0/*/loaders");
/// assert!(g.only_modified());
/// assert_eq!(g.pattern(), "/usr/lib/gdk-pixbuf-2.0/*/loaders");
/// assert!(g.matches("/usr/lib/gdk-pixbuf-2.0/2.10.0/loaders"));
/// assert!(!g.matches("/usr/lib/gdk-pixbuf-2.0/a/b/loaders"));
/// ```
#[derive(Debug, Clone)]
pub struct TriggerGlob {
    text: String,
    only_modified: bool,
    compiled: Option<Pattern>,
}

impl TriggerGlob {
    /// Compile a glob as written in the trigger database or a package's `triggers` field.
    pub fn new(text: &str) -> TriggerGlob {
        let (only_modified, pattern) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        TriggerGlob {
            text: text.to_owned(),
            only_modified,
            compiled: Pattern::new(&translate_fnmatch(pattern)).ok(),
        }
    }

    /// The glob as written, with any `+` prefix.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The pattern matched against paths (without the `+` prefix).
    pub fn pattern(&self) -> &str {
        if self.only_modified {
            &self.text[1..]
        } else {
            &self.text
        }
    }

    /// Whether the glob had the apk-tools 3 `+` prefix: it passes only directories modified in
    /// the transaction.
    pub fn only_modified(&self) -> bool {
        self.only_modified
    }

    /// `fnmatch(pattern, path, FNM_PATHNAME)`.
    pub fn matches(&self, path: &str) -> bool {
        match &self.compiled {
            Some(p) => p.matches_with(path, MATCH_OPTIONS),
            // Only reachable for patterns the translation could not make valid: compare literally.
            None => self.pattern() == path,
        }
    }
}

const MATCH_OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// `fnmatch(glob, path, FNM_PATHNAME)`, after removing a v3 `+` prefix from `glob`.
///
/// `*` matches any run of characters except `/` (so `**` is the same as `*`), `?` one
/// character except `/`, `[…]`/`[!…]`/`[^…]` one character of (not of) a set, never `/`;
/// `\c` matches `c` literally; a `[` without a closing `]` is an ordinary character.
///
/// ```
/// use apk_db::triggers::glob_matches;
/// assert!(glob_matches("/lib/modules/*", "/lib/modules/6.1.0"));
/// assert!(!glob_matches("/lib/modules/*", "/lib/modules/6.1.0/kernel"));
/// assert!(glob_matches("/usr/lib/pango/*/modules", "/usr/lib/pango/1.8.0/modules"));
/// assert!(glob_matches("+/usr/share/mime", "/usr/share/mime"));
/// assert!(!glob_matches("/usr/?", "/usr/"));
/// ```
pub fn glob_matches(glob: &str, path: &str) -> bool {
    TriggerGlob::new(glob).matches(path)
}

/// Rewrite fnmatch syntax into the `glob` crate's: collapse `*` runs (the crate gives `**` a
/// recursive meaning that fnmatch does not have), turn `\c` into a bracketed literal, `[^` into
/// `[!`, and escape a `[` that does not open a complete bracket expression.
fn translate_fnmatch(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                out.push('*');
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                continue;
            }
            '\\' if i + 1 < chars.len() => {
                out.push_str(&Pattern::escape(&chars[i + 1].to_string()));
                i += 2;
                continue;
            }
            '[' => {
                if let Some((end, negated, start)) = bracket_end(&chars, i) {
                    out.push('[');
                    if negated {
                        out.push('!');
                    }
                    out.extend(&chars[start..end]);
                    out.push(']');
                    i = end + 1;
                    continue;
                }
                out.push_str("[[]");
            }
            ']' => out.push_str("[]]"),
            '?' => out.push('?'),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// For a `[` at `open`: the index of the closing `]`, whether the set is negated, and where
/// the set's characters start. `None` when there is no complete bracket expression.
fn bracket_end(chars: &[char], open: usize) -> Option<(usize, bool, usize)> {
    let mut start = open + 1;
    let negated = matches!(chars.get(start), Some('!' | '^'));
    if negated {
        start += 1;
    }
    // The first character of the set may be `]` itself; the set is never empty.
    chars.get(start)?;
    let end = chars[start + 1..].iter().position(|&c| c == ']')? + start + 1;
    Some((end, negated, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_never_crosses_slash() {
        assert!(glob_matches("/usr/share/fonts/*", "/usr/share/fonts/misc"));
        assert!(!glob_matches(
            "/usr/share/fonts/*",
            "/usr/share/fonts/misc/x"
        ));
        assert!(!glob_matches("/usr/share/fonts/*", "/usr/share/fonts"));
        assert!(glob_matches("/usr/share/fonts/*", "/usr/share/fonts/"));
        assert!(glob_matches("/*/bin", "/usr/bin"));
        assert!(!glob_matches("/*/bin", "/usr/local/bin"));
    }

    #[test]
    fn double_star_is_not_recursive() {
        assert!(glob_matches("/usr/**", "/usr/lib"));
        assert!(!glob_matches("/usr/**", "/usr/lib/x"));
        assert!(glob_matches("/a**b", "/axxb"));
        assert!(!glob_matches("/a/**/b", "/a/b"));
        assert!(glob_matches("/a/**/b", "/a/x/b"));
        assert!(!glob_matches("/a/***/b", "/a/x/y/b"));
    }

    #[test]
    fn question_and_brackets() {
        assert!(glob_matches("/lib?", "/lib6"));
        assert!(!glob_matches("/lib?", "/lib"));
        assert!(!glob_matches("/a?b", "/a/b"));
        assert!(glob_matches("/lib[0-9]", "/lib6"));
        assert!(!glob_matches("/lib[0-9]", "/libx"));
        assert!(glob_matches("/lib[!0-9]", "/libx"));
        assert!(glob_matches("/lib[^0-9]", "/libx"));
        assert!(!glob_matches("/lib[^0-9]", "/lib3"));
        assert!(!glob_matches("/a[!x]b", "/a/b"));
        assert!(glob_matches("/a[]]b", "/a]b"));
        assert!(glob_matches("/a[!]]b", "/axb"));
    }

    #[test]
    fn literal_specials() {
        // An unclosed bracket is an ordinary character.
        assert!(glob_matches("/a[b", "/a[b"));
        assert!(!glob_matches("/a[b", "/ab"));
        assert!(glob_matches("/a]b", "/a]b"));
        assert!(glob_matches("/a\\*b", "/a*b"));
        assert!(!glob_matches("/a\\*b", "/axb"));
        assert!(glob_matches("/a\\?", "/a?"));
        assert!(glob_matches("/a[", "/a["));
        assert!(glob_matches("/a\\", "/a\\"));
    }

    #[test]
    fn leading_dot_and_exact() {
        assert!(glob_matches("/etc/*", "/etc/.hidden"));
        assert!(glob_matches("/bin", "/bin"));
        assert!(!glob_matches("/bin", "/bin/"));
        assert!(!glob_matches("/bin", "/sbin"));
        assert!(!glob_matches("/Bin", "/bin"));
    }

    #[test]
    fn plus_prefix() {
        let g = TriggerGlob::new("+/usr/share/mime");
        assert!(g.only_modified());
        assert_eq!(g.as_str(), "+/usr/share/mime");
        assert_eq!(g.pattern(), "/usr/share/mime");
        assert!(g.matches("/usr/share/mime"));
        assert!(!TriggerGlob::new("/x").only_modified());
        assert!(!glob_matches("+/x", "+/x"));
    }

    #[test]
    fn parse_write() {
        let text = "Q1a /bin /usr/bin\nQ1b /x/*\n";
        let db = TriggerDb::parse(text).unwrap();
        assert_eq!(db.entries.len(), 2);
        assert_eq!(db.write(), text);
        let db = TriggerDb::parse("Q1a\t/bin  /sbin\r\n\n").unwrap();
        assert_eq!(db.write(), "Q1a /bin /sbin\n");
        let err = TriggerDb::parse("Q1a /b\n+/x /y\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
