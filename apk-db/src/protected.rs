//! Protected paths: where an upgrade writes `<file>.apk-new` instead of replacing a file the
//! user changed.
//!
//! The built-in rules are `+etc`, `@etc/init.d` and `!etc/apk`; more come from
//! `etc/apk/protected_paths.d/*.list`, one rule per line. A rule is a path relative to the root
//! with a prefix:
//!
//! | prefix | meaning | [`Protection`] |
//! |---|---|---|
//! | `+` or none | protected if the file has changed | [`Protection::Protected`] |
//! | `@` | only symlinks are protected | [`Protection::SymlinksOnly`] |
//! | `!` | always protected (and listed by `audit --backup`) | [`Protection::Always`] |
//! | `-` | not protected | [`Protection::None`] |
//!
//! A path takes the rule of its longest matching prefix, compared component by component, so
//! `etc/apk/keys/x` is [`Protection::Always`] (from `!etc/apk`) while `etc/apkfoo` is only
//! [`Protection::Protected`] (from `+etc`). A later rule for the same path replaces an earlier one.
//!
//! ```
//! use apk_db::protected::{ProtectedPaths, Protection};
//!
//! let mut rules = ProtectedPaths::default();
//! assert_eq!(rules.classify("etc/hello.conf"), Protection::Protected);
//! assert_eq!(rules.classify("etc/init.d/sshd"), Protection::SymlinksOnly);
//! assert_eq!(rules.classify("etc/apk/world"), Protection::Always);
//! assert_eq!(rules.classify("usr/bin/sh"), Protection::None);
//! rules.add_rule("-etc/ssl/certs")?;
//! assert_eq!(rules.classify("etc/ssl/certs/ca.pem"), Protection::None);
//! # Ok::<(), apk_db::protected::ProtectedError>(())
//! ```

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// The directory of extra rule files, relative to the root.
pub const PROTECTED_PATHS_DIR: &str = "etc/apk/protected_paths.d";

/// How a path is protected; see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// Not protected: files are replaced.
    None,
    /// Protected when the file on disk differs from what the database recorded (`+`).
    Protected,
    /// Only symlinks are protected (`@`).
    SymlinksOnly,
    /// Always protected (`!`).
    Always,
}

impl Protection {
    /// The rule prefix character for this protection (`-`, `+`, `@`, `!`).
    ///
    /// ```
    /// use apk_db::protected::Protection;
    /// assert_eq!(Protection::Always.prefix(), '!');
    /// ```
    pub fn prefix(self) -> char {
        match self {
            Protection::None => '-',
            Protection::Protected => '+',
            Protection::SymlinksOnly => '@',
            Protection::Always => '!',
        }
    }
}

/// Returned when a rule file cannot be read or a rule names no path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectedError {
    /// A rule with a prefix and no path (`+`, `!/`, …).
    #[error("{file}:{line}: protected path rule '{rule}' names no path")]
    EmptyPath {
        /// The rule file (or `<rule>` for [`ProtectedPaths::add_rule`]).
        file: String,
        /// The 1-based line number.
        line: usize,
        /// The rule as written.
        rule: String,
    },
    /// A rule file or the rule directory could not be read (or is not UTF-8).
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// A set of protected-path rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedPaths {
    /// Normalised path (components joined by `/`) → protection, plus rule order for listing.
    rules: HashMap<String, Protection>,
    order: Vec<String>,
}

impl Default for ProtectedPaths {
    /// The built-in rules: `+etc`, `@etc/init.d`, `!etc/apk`.
    fn default() -> Self {
        let mut p = ProtectedPaths::empty();
        p.insert("etc", Protection::Protected);
        p.insert("etc/init.d", Protection::SymlinksOnly);
        p.insert("etc/apk", Protection::Always);
        p
    }
}

/// Split a path into its non-empty components, dropping `.` components.
fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

fn normalise(path: &str) -> String {
    components(path).collect::<Vec<_>>().join("/")
}

/// Parse one rule line (already known not to be blank or a comment).
fn parse_rule(rule: &str) -> Option<(String, Protection)> {
    let (protection, path) = match rule.as_bytes().first() {
        Some(b'+') => (Protection::Protected, &rule[1..]),
        Some(b'@') => (Protection::SymlinksOnly, &rule[1..]),
        Some(b'!') => (Protection::Always, &rule[1..]),
        Some(b'-') => (Protection::None, &rule[1..]),
        _ => (Protection::Protected, rule),
    };
    let path = normalise(path.trim());
    (!path.is_empty()).then_some((path, protection))
}

impl ProtectedPaths {
    /// No rules at all: every path is [`Protection::None`].
    ///
    /// ```
    /// use apk_db::protected::{ProtectedPaths, Protection};
    /// assert_eq!(ProtectedPaths::empty().classify("etc/x"), Protection::None);
    /// ```
    pub fn empty() -> ProtectedPaths {
        ProtectedPaths {
            rules: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn insert(&mut self, path: &str, protection: Protection) {
        if self.rules.insert(path.to_owned(), protection).is_none() {
            self.order.push(path.to_owned());
        }
    }

    /// The built-in rules plus every `<root>/etc/apk/protected_paths.d/*.list`, files read in
    /// name order. A missing directory adds nothing.
    ///
    /// ```
    /// use apk_db::protected::{ProtectedPaths, Protection};
    /// let root = tempfile::tempdir()?;
    /// let dir = root.path().join("etc/apk/protected_paths.d");
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("ca.list"), "# certificates\n-etc/ssl/certs\n!usr/local/etc\n")?;
    /// let rules = ProtectedPaths::load(root.path())?;
    /// assert_eq!(rules.classify("etc/ssl/certs/a.pem"), Protection::None);
    /// assert_eq!(rules.classify("usr/local/etc/x"), Protection::Always);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(root: &Path) -> Result<ProtectedPaths, ProtectedError> {
        let mut rules = ProtectedPaths::default();
        let dir = root.join(PROTECTED_PATHS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(rules),
            Err(source) => return Err(ProtectedError::Io { path: dir, source }),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| ProtectedError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".list") {
                files.push(entry.path());
            }
        }
        files.sort();
        for path in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                // A dangling symlink or a directory named `*.list` is not a rule file.
                Err(e) if path.is_dir() || e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ProtectedError::Io { path, source }),
            };
            rules.add_rules(&text, &path.display().to_string())?;
        }
        Ok(rules)
    }

    /// Add the rules of a rule file's text. `file` names it in errors.
    ///
    /// ```
    /// use apk_db::protected::{ProtectedPaths, Protection};
    /// let mut rules = ProtectedPaths::default();
    /// rules.add_rules("\n# comment\n@etc/conf.d\n/opt/app/\n", "my.list")?;
    /// assert_eq!(rules.classify("etc/conf.d/x"), Protection::SymlinksOnly);
    /// assert_eq!(rules.classify("opt/app/config"), Protection::Protected);
    /// assert!(rules.add_rules("!\n", "bad.list").is_err());
    /// # Ok::<(), apk_db::protected::ProtectedError>(())
    /// ```
    pub fn add_rules(&mut self, text: &str, file: &str) -> Result<(), ProtectedError> {
        for (i, line) in text.split('\n').enumerate() {
            let rule = line.trim();
            if rule.is_empty() || rule.starts_with('#') {
                continue;
            }
            let (path, protection) = parse_rule(rule).ok_or_else(|| ProtectedError::EmptyPath {
                file: file.to_owned(),
                line: i + 1,
                rule: rule.to_owned(),
            })?;
            self.insert(&path, protection);
        }
        Ok(())
    }

    /// Add one rule (`+path`, `@path`, `!path`, `-path` or `path`).
    ///
    /// ```
    /// use apk_db::protected::{ProtectedPaths, Protection};
    /// let mut rules = ProtectedPaths::default();
    /// rules.add_rule("!etc")?;
    /// assert_eq!(rules.classify("etc/x"), Protection::Always);
    /// // The more specific built-in rules still win below them.
    /// assert_eq!(rules.classify("etc/init.d/x"), Protection::SymlinksOnly);
    /// # Ok::<(), apk_db::protected::ProtectedError>(())
    /// ```
    pub fn add_rule(&mut self, rule: &str) -> Result<(), ProtectedError> {
        let rule = rule.trim();
        let (path, protection) = parse_rule(rule).ok_or_else(|| ProtectedError::EmptyPath {
            file: "<rule>".to_owned(),
            line: 1,
            rule: rule.to_owned(),
        })?;
        self.insert(&path, protection);
        Ok(())
    }

    /// The protection of `path` (relative to the root; a leading `/` is ignored): the rule of
    /// the longest rule path that is a component-wise prefix of it (or equal to it).
    ///
    /// ```
    /// use apk_db::protected::{ProtectedPaths, Protection};
    /// let rules = ProtectedPaths::default();
    /// assert_eq!(rules.classify("etc"), Protection::Protected);
    /// assert_eq!(rules.classify("/etc/apk"), Protection::Always);
    /// assert_eq!(rules.classify("etcetera/x"), Protection::None);
    /// ```
    pub fn classify(&self, path: &str) -> Protection {
        let parts: Vec<&str> = components(path).collect();
        let mut key = String::new();
        let mut best = Protection::None;
        for part in parts {
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(part);
            if let Some(p) = self.rules.get(&key) {
                best = *p;
            }
        }
        best
    }

    /// The rules in the order they were first added, as `(path, protection)`.
    ///
    /// ```
    /// use apk_db::protected::{ProtectedPaths, Protection};
    /// let defaults = ProtectedPaths::default();
    /// let rules: Vec<_> = defaults.rules().collect();
    /// assert_eq!(rules[0], ("etc", Protection::Protected));
    /// assert_eq!(rules.len(), 3);
    /// ```
    pub fn rules(&self) -> impl Iterator<Item = (&str, Protection)> + '_ {
        self.order.iter().filter_map(|p| {
            self.rules
                .get(p)
                .map(|protection| (p.as_str(), *protection))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let r = ProtectedPaths::default();
        assert_eq!(r.classify("etc/passwd"), Protection::Protected);
        assert_eq!(r.classify("etc/init.d"), Protection::SymlinksOnly);
        assert_eq!(r.classify("etc/init.d/foo"), Protection::SymlinksOnly);
        assert_eq!(r.classify("etc/init.dx"), Protection::Protected);
        assert_eq!(r.classify("etc/apk/keys/k.pub"), Protection::Always);
        assert_eq!(r.classify("etc/apkx"), Protection::Protected);
        assert_eq!(r.classify("usr/etc/x"), Protection::None);
        assert_eq!(r.classify(""), Protection::None);
        assert_eq!(r.classify("etc//apk/./x"), Protection::Always);
    }

    #[test]
    fn most_specific_wins_regardless_of_order() {
        let mut r = ProtectedPaths::empty();
        r.add_rules("-a/b/c\n!a\n@a/b\n", "t").unwrap();
        assert_eq!(r.classify("a/x"), Protection::Always);
        assert_eq!(r.classify("a/b/x"), Protection::SymlinksOnly);
        assert_eq!(r.classify("a/b/c/x"), Protection::None);
        assert_eq!(r.classify("a/b/cd"), Protection::SymlinksOnly);
    }

    #[test]
    fn later_rule_replaces_same_path() {
        let mut r = ProtectedPaths::default();
        r.add_rule("-etc").unwrap();
        assert_eq!(r.classify("etc/x"), Protection::None);
        assert_eq!(r.classify("etc/apk/x"), Protection::Always);
        assert_eq!(r.rules().count(), 3);
        r.add_rule("etc").unwrap();
        assert_eq!(r.classify("etc/x"), Protection::Protected);
    }

    #[test]
    fn empty_rule_is_error() {
        for bad in ["+", "!/", "@ ", "-//"] {
            let mut r = ProtectedPaths::empty();
            assert!(r.add_rule(bad).is_err(), "{bad}");
        }
        let mut r = ProtectedPaths::empty();
        let err = r.add_rules("etc\n\n+/\n", "x.list").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.list:3: protected path rule '+/' names no path"
        );
    }
}
