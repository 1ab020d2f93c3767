//! The repository list: `etc/apk/repositories`, `etc/apk/repositories.d/*.list`,
//! `lib/apk/repositories.d/*.list` and `-X URL` arguments; index and package URLs; cache file
//! names.
//!
//! # Line forms
//!
//! * blank lines and lines starting with `#` are ignored;
//! * `[@tag] URL`: the apk-tools 2 form, a v2 repository (or a direct index when the URL ends in
//!   `.adb` or `.tar.gz`);
//! * `v2|v3 [@tag] URL [component…]` and `ndx [@tag] URL`: the apk-tools 3 forms. Each
//!   component makes one repository, `URL/component`; `ndx` takes no components. A token
//!   starting with `#` after the URL starts a trailing comment;
//! * `set [-default] NAME=value`: defines `${NAME}` for the lines after it. Names are letters,
//!   digits and `_`, starting with a letter; `APK_` names are reserved (`APK_ARCH` is built in).
//!   `-default` keeps an existing value.
//!
//! A URL is `http://…`, `https://…`, `file:/…` or an absolute path. `${NAME}` is expanded in
//! URLs, components and `set` values; an undefined name is an error.
//!
//! At most [`MAX_REPOSITORIES`] repositories and [`MAX_TAGS`] tags (counting the untagged
//! default) are allowed. A repository listed twice (same URL and format) is kept once.
//!
//! ```
//! use apk_db::repositories::{RepositoryFormat, RepositoryList};
//!
//! let text = "\
//! ## Alpine
//! https://dl-cdn.alpinelinux.org/alpine/v3.17/main
//! @edge https://dl-cdn.alpinelinux.org/alpine/edge/testing
//! set mirror=https://mirror.example/alpine
//! v3 ${mirror}/edge main community
//! ";
//! let list = RepositoryList::parse(text, "x86_64")?;
//! assert_eq!(list.len(), 4);
//! let edge = &list.repositories()[1];
//! assert_eq!(edge.tag.as_deref(), Some("edge"));
//! assert_eq!(
//!     edge.index_url("x86_64"),
//!     "https://dl-cdn.alpinelinux.org/alpine/edge/testing/x86_64/APKINDEX.tar.gz"
//! );
//! let community = &list.repositories()[3];
//! assert_eq!(community.format, RepositoryFormat::V3);
//! assert_eq!(
//!     community.index_url("x86_64"),
//!     "https://mirror.example/alpine/edge/community/x86_64/Packages.adb"
//! );
//! # Ok::<(), apk_db::repositories::RepositoryError>(())
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use apk_index::Checksum;
use apk_index::adb::{PkgnameSpecError, PkgnameVars};
use sha1::{Digest, Sha1};

/// The most repositories apk accepts.
pub const MAX_REPOSITORIES: usize = 32;
/// The most repository tags apk accepts, counting the untagged default (so 15 named tags).
pub const MAX_TAGS: usize = 16;

/// The main repositories file, relative to the root.
pub const REPOSITORIES_PATH: &str = "etc/apk/repositories";
/// The directories of `*.list` files, relative to the root, in the order they are read.
pub const REPOSITORIES_DIRS: [&str; 2] = ["etc/apk/repositories.d", "lib/apk/repositories.d"];

/// The layout and index format of a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepositoryFormat {
    /// `<url>/<arch>/APKINDEX.tar.gz` (the apk-tools 2 layout).
    V2,
    /// `<url>/<arch>/Packages.adb`.
    V3,
    /// The URL is the index file itself; packages are next to it.
    Ndx,
}

impl RepositoryFormat {
    /// The keyword of the line form (`v2`, `v3`, `ndx`).
    ///
    /// ```
    /// use apk_db::repositories::RepositoryFormat;
    /// assert_eq!(RepositoryFormat::Ndx.keyword(), "ndx");
    /// ```
    pub fn keyword(self) -> &'static str {
        match self {
            RepositoryFormat::V2 => "v2",
            RepositoryFormat::V3 => "v3",
            RepositoryFormat::Ndx => "ndx",
        }
    }

    fn from_keyword(word: &str) -> Option<RepositoryFormat> {
        match word {
            "v2" => Some(RepositoryFormat::V2),
            "v3" => Some(RepositoryFormat::V3),
            "ndx" => Some(RepositoryFormat::Ndx),
            _ => None,
        }
    }
}

/// One repository.
///
/// A line with components gives one `Repository` per component: `url` already ends with
/// `/<component>` and `components` holds that one component (so the line can be printed back);
/// without components, `components` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    /// The tag after `@`, if any; untagged repositories are allowed by default.
    pub tag: Option<String>,
    /// The repository URL (or index URL for [`RepositoryFormat::Ndx`]), variables expanded.
    pub url: String,
    /// The layout.
    pub format: RepositoryFormat,
    /// The component this repository was expanded from, if the line named components.
    pub components: Vec<String>,
}

/// Whether a URL names an index file rather than a repository directory.
fn is_direct_index(url: &str) -> bool {
    url.ends_with(".adb") || url.ends_with(".tar.gz")
}

/// `base/rest`, without doubling a `/` at the end of `base`.
fn join(base: &str, rest: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{rest}")
    } else {
        format!("{base}/{rest}")
    }
}

impl Repository {
    /// An untagged repository without components.
    ///
    /// ```
    /// use apk_db::repositories::{Repository, RepositoryFormat};
    /// let r = Repository::new("/srv/repo", RepositoryFormat::V2);
    /// assert_eq!(r.index_url("aarch64"), "/srv/repo/aarch64/APKINDEX.tar.gz");
    /// ```
    pub fn new(url: &str, format: RepositoryFormat) -> Repository {
        Repository {
            tag: None,
            url: url.to_owned(),
            format,
            components: Vec::new(),
        }
    }

    /// Whether [`Repository::url`] is the index file itself (an `ndx` repository, or a URL
    /// ending in `.adb` or `.tar.gz`).
    pub fn is_direct_index(&self) -> bool {
        self.format == RepositoryFormat::Ndx || is_direct_index(&self.url)
    }

    /// The URL of the repository's index for `arch`.
    ///
    /// ```
    /// use apk_db::repositories::{Repository, RepositoryFormat};
    /// let v2 = Repository::new("https://example.org/alpine/main", RepositoryFormat::V2);
    /// assert_eq!(v2.index_url("x86_64"), "https://example.org/alpine/main/x86_64/APKINDEX.tar.gz");
    /// let v3 = Repository::new("https://example.org/owrt/", RepositoryFormat::V3);
    /// assert_eq!(v3.index_url("aarch64"), "https://example.org/owrt/aarch64/Packages.adb");
    /// let ndx = Repository::new("https://example.org/r/packages.adb", RepositoryFormat::Ndx);
    /// assert_eq!(ndx.index_url("x86_64"), "https://example.org/r/packages.adb");
    /// ```
    pub fn index_url(&self, arch: &str) -> String {
        if self.is_direct_index() {
            return self.url.clone();
        }
        let file = match self.format {
            RepositoryFormat::V3 => "Packages.adb",
            RepositoryFormat::V2 | RepositoryFormat::Ndx => "APKINDEX.tar.gz",
        };
        join(&join(&self.url, arch), file)
    }

    /// The URL of a package: `<url>/<arch>/<name>-<version>.apk`, or, for a direct index URL,
    /// `<name>-<version>.apk` in the index file's directory. `arch` is the package's
    /// architecture (`A:`).
    ///
    /// ```
    /// use apk_db::repositories::{Repository, RepositoryFormat};
    /// let v2 = Repository::new("http://example.org/main", RepositoryFormat::V2);
    /// assert_eq!(v2.package_url("x86_64", "musl", "1.2.3-r4"), "http://example.org/main/x86_64/musl-1.2.3-r4.apk");
    /// let ndx = Repository::new("file:///srv/r/packages.adb", RepositoryFormat::Ndx);
    /// assert_eq!(ndx.package_url("x86_64", "musl", "1.2.3-r4"), "file:///srv/r/musl-1.2.3-r4.apk");
    /// ```
    pub fn package_url(&self, arch: &str, name: &str, version: &str) -> String {
        let file = format!("{name}-{version}.apk");
        if self.is_direct_index() {
            return match self.url.rfind('/') {
                Some(slash) => format!("{}{file}", &self.url[..=slash]),
                None => file,
            };
        }
        join(&join(&self.url, arch), &file)
    }

    /// The URL of a package of this repository whose index may carry a `pkgname-spec` (v3
    /// indexes, [`Index::pkgname_spec`](apk_index::Index::pkgname_spec)): the expanded
    /// template, taken as it is when it holds `://`, otherwise relative to the repository
    /// URL (for a direct index URL, to the index file's directory). Without a template, the
    /// default layout of [`package_url`](Self::package_url).
    ///
    /// ```
    /// use apk_db::repositories::{Repository, RepositoryFormat};
    /// use apk_index::adb::PkgnameVars;
    /// let r = Repository::new("https://example.org/owrt", RepositoryFormat::V3);
    /// let vars = PkgnameVars { name: "luci", version: "1-r0", arch: "aarch64", hash: None };
    /// assert_eq!(r.package_url_in(None, &vars)?, "https://example.org/owrt/aarch64/luci-1-r0.apk");
    /// assert_eq!(r.package_url_in(Some("pool/${name:1}/${name}_${version}.apk"), &vars)?,
    ///     "https://example.org/owrt/pool/l/luci_1-r0.apk");
    /// assert_eq!(r.package_url_in(Some("https://cdn.example.org/${name}.apk"), &vars)?,
    ///     "https://cdn.example.org/luci.apk");
    /// # Ok::<(), apk_index::adb::PkgnameSpecError>(())
    /// ```
    pub fn package_url_in(
        &self,
        spec: Option<&str>,
        vars: &PkgnameVars<'_>,
    ) -> Result<String, PkgnameSpecError> {
        let Some(spec) = spec else {
            return Ok(self.package_url(vars.arch, vars.name, vars.version));
        };
        let path = vars.expand(spec)?;
        if path.contains("://") {
            return Ok(path);
        }
        if self.is_direct_index() {
            return Ok(match self.url.rfind('/') {
                Some(slash) => format!("{}{path}", &self.url[..=slash]),
                None => path,
            });
        }
        Ok(join(&self.url, &path))
    }

    /// The name of this repository's index in the cache: [`cache_index_name`] of
    /// [`Repository::url`] (the repository URL as written, which is what apk-tools 2 hashes).
    ///
    /// ```
    /// use apk_db::repositories::{Repository, RepositoryFormat};
    /// let r = Repository::new("https://dl-cdn.alpinelinux.org/alpine/v3.17/main", RepositoryFormat::V2);
    /// assert_eq!(r.cache_index_name(), "APKINDEX.ac15ed62.tar.gz");
    /// ```
    pub fn cache_index_name(&self) -> String {
        cache_index_name(&self.url)
    }
}

impl fmt::Display for Repository {
    /// The repository as one line of a repositories file, such that parsing the line gives
    /// this repository back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.format == RepositoryFormat::V2
            && self.components.is_empty()
            && !is_direct_index(&self.url);
        let auto_ndx = self.format == RepositoryFormat::Ndx && is_direct_index(&self.url);
        let mut sep = "";
        if !plain && !auto_ndx {
            f.write_str(self.format.keyword())?;
            sep = " ";
        }
        if let Some(tag) = &self.tag {
            write!(f, "{sep}@{tag}")?;
            sep = " ";
        }
        // `url` is `base/component`: print the base (with its `/`) and the component.
        let base = match self.components.as_slice() {
            [component] => self
                .url
                .strip_suffix(component.as_str())
                .filter(|base| base.ends_with('/')),
            _ => None,
        };
        match (base, self.components.first()) {
            (Some(base), Some(component)) => write!(f, "{sep}{base} {component}"),
            _ => write!(f, "{sep}{}", self.url),
        }
    }
}

/// What is wrong with a repositories line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepositoryErrorKind {
    /// No URL after the type keyword or tag.
    #[error("missing repository URL")]
    MissingUrl,
    /// The URL is not `http://`, `https://`, `file:/` or an absolute path.
    #[error("'{0}' is not a URL or absolute path (expected http://, https://, file:/ or /…)")]
    BadUrl(String),
    /// `@` with an invalid or empty tag.
    #[error("invalid repository tag '{0}'")]
    BadTag(String),
    /// A component that expands to nothing or to a `#…` comment.
    #[error("invalid repository component '{0}'")]
    BadComponent(String),
    /// Components on an `ndx` line.
    #[error("an ndx repository takes no components")]
    ComponentsWithNdx,
    /// A `set` line that is not `set [-default] NAME=value`.
    #[error("invalid set line (expected 'set [-default] NAME=value')")]
    BadSet,
    /// A variable name that is not letters, digits and `_` starting with a letter.
    #[error("invalid variable name '{0}'")]
    BadVariableName(String),
    /// An attempt to set an `APK_` variable.
    #[error("variable '{0}' is reserved")]
    ReservedVariable(String),
    /// `${NAME}` with no such variable.
    #[error("undefined variable '{0}'")]
    UndefinedVariable(String),
    /// `${` without a closing `}`.
    #[error("unterminated '${{' in '{0}'")]
    UnterminatedVariable(String),
    /// Expansion left a `${` in a URL or component (a variable whose value holds `$`).
    #[error("'{0}' still holds '${{' after expansion")]
    UnexpandedVariable(String),
    /// More than [`MAX_REPOSITORIES`] repositories.
    #[error("too many repositories (at most 32): '{0}'")]
    TooManyRepositories(String),
    /// More than [`MAX_TAGS`] tags.
    #[error("too many repository tags (at most 15 besides the untagged default): '@{0}'")]
    TooManyTags(String),
}

/// Returned when a repositories file cannot be read or a line is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepositoryError {
    /// A line that is invalid; `file` is the path, `<text>` for [`RepositoryList::parse`] or
    /// `--repository` for [`RepositoryList::push_url`].
    #[error("{file}:{line}: {kind}")]
    Line {
        /// Where the line came from.
        file: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        kind: RepositoryErrorKind,
    },
    /// A file or directory could not be read (or is not UTF-8).
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// The repositories, in order, and the variables defined so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryList {
    repositories: Vec<Repository>,
    vars: BTreeMap<String, String>,
}

fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && !tag.chars().any(|c| {
            c.is_control() || c.is_whitespace() || matches!(c, '@' | '<' | '>' | '=' | '~')
        })
}

fn valid_url(url: &str) -> bool {
    url.starts_with("http://")
        || url.starts_with("https://")
        || url.starts_with("file:/")
        || url.starts_with('/')
}

impl RepositoryList {
    /// An empty list for a database whose primary architecture is `arch` (`${APK_ARCH}`).
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let list = RepositoryList::new("x86_64");
    /// assert!(list.is_empty());
    /// assert_eq!(list.var("APK_ARCH"), Some("x86_64"));
    /// ```
    pub fn new(arch: &str) -> RepositoryList {
        let mut vars = BTreeMap::new();
        vars.insert("APK_ARCH".to_owned(), arch.to_owned());
        RepositoryList {
            repositories: Vec::new(),
            vars,
        }
    }

    /// Parse the text of one repositories file; see the [module documentation](self).
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let list = RepositoryList::parse("v2 /srv/${APK_ARCH}-extra\n", "armv7")?;
    /// assert_eq!(list.repositories()[0].url, "/srv/armv7-extra");
    /// let err = RepositoryList::parse("\nftp://old.example/alpine\n", "x86_64").unwrap_err();
    /// assert!(err.to_string().starts_with("<text>:2: "));
    /// # Ok::<(), apk_db::repositories::RepositoryError>(())
    /// ```
    pub fn parse(text: &str, arch: &str) -> Result<RepositoryList, RepositoryError> {
        let mut list = RepositoryList::new(arch);
        list.add_text(text, "<text>")?;
        Ok(list)
    }

    /// Read the repositories of a root: `etc/apk/repositories`, then the `*.list` files of
    /// `etc/apk/repositories.d` and `lib/apk/repositories.d` (each directory in name order; a
    /// file name already seen in an earlier directory is skipped). Missing files and
    /// directories are fine.
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let root = tempfile::tempdir()?;
    /// std::fs::create_dir_all(root.path().join("lib/apk/repositories.d"))?;
    /// std::fs::write(
    ///     root.path().join("lib/apk/repositories.d/distro.list"),
    ///     "set -default mirror=https://dl.example\nv3 ${mirror}/stable base\n",
    /// )?;
    /// let list = RepositoryList::load(root.path(), "aarch64")?;
    /// assert_eq!(list.repositories()[0].url, "https://dl.example/stable/base");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(root: &Path, arch: &str) -> Result<RepositoryList, RepositoryError> {
        let mut list = RepositoryList::new(arch);
        list.add_file(&root.join(REPOSITORIES_PATH), true)?;
        let mut seen = HashSet::new();
        for dir in REPOSITORIES_DIRS {
            let dir = root.join(dir);
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(RepositoryError::Io { path: dir, source }),
            };
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| RepositoryError::Io {
                    path: dir.clone(),
                    source,
                })?;
                let name = entry.file_name();
                if name.to_string_lossy().ends_with(".list") {
                    names.push(name);
                }
            }
            names.sort();
            for name in names {
                if seen.insert(name.clone()) {
                    list.add_file(&dir.join(&name), true)?;
                }
            }
        }
        Ok(list)
    }

    /// Add the repositories of one file (`--repositories-file`). With `missing_ok`, a missing
    /// file adds nothing.
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let mut list = RepositoryList::new("x86_64");
    /// list.add_file(std::path::Path::new("/nonexistent/repositories"), true)?;
    /// assert!(list.add_file(std::path::Path::new("/nonexistent/repositories"), false).is_err());
    /// # Ok::<(), apk_db::repositories::RepositoryError>(())
    /// ```
    pub fn add_file(&mut self, path: &Path, missing_ok: bool) -> Result<(), RepositoryError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if missing_ok && e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(RepositoryError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        self.add_text(&text, &path.display().to_string())
    }

    /// Add the repositories of a file's text; `file` names it in errors.
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let mut list = RepositoryList::new("x86_64");
    /// list.add_text("set base=/srv\n", "a.list")?;
    /// list.add_text("${base}/main\n", "b.list")?;
    /// assert_eq!(list.repositories()[0].url, "/srv/main");
    /// # Ok::<(), apk_db::repositories::RepositoryError>(())
    /// ```
    pub fn add_text(&mut self, text: &str, file: &str) -> Result<(), RepositoryError> {
        for (i, line) in text.split('\n').enumerate() {
            self.add_line(line, true)
                .map_err(|kind| RepositoryError::Line {
                    file: file.to_owned(),
                    line: i + 1,
                    kind,
                })?;
        }
        Ok(())
    }

    /// Add a repository given on the command line (`-X`/`--repository`): a URL, or any
    /// repository line form (`@tag URL`, `v3 URL main`…) except `set`.
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let mut list = RepositoryList::new("x86_64");
    /// list.push_url("https://example.org/extra")?;
    /// list.push_url("@testing https://example.org/testing")?;
    /// assert_eq!(list.len(), 2);
    /// assert!(list.push_url("set a=b").is_err());
    /// assert!(list.push_url("relative/path").is_err());
    /// # Ok::<(), apk_db::repositories::RepositoryError>(())
    /// ```
    pub fn push_url(&mut self, url: &str) -> Result<(), RepositoryError> {
        let err = |kind| RepositoryError::Line {
            file: "--repository".to_owned(),
            line: 1,
            kind,
        };
        if url.contains('\n') {
            return Err(err(RepositoryErrorKind::BadUrl(url.to_owned())));
        }
        let line = url.trim();
        if line.is_empty() || line.starts_with('#') {
            return Err(err(RepositoryErrorKind::MissingUrl));
        }
        self.add_line(line, false).map_err(err)
    }

    /// Define a variable as a `set NAME=value` line would (the value is used as given, not
    /// expanded); `APK_` names are refused. Returns the previous value.
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let mut list = RepositoryList::new("x86_64");
    /// list.set_var("mirror", "https://m.example")?;
    /// assert_eq!(list.var("mirror"), Some("https://m.example"));
    /// assert!(list.set_var("APK_ARCH", "x").is_err());
    /// # Ok::<(), apk_db::repositories::RepositoryErrorKind>(())
    /// ```
    pub fn set_var(
        &mut self,
        name: &str,
        value: &str,
    ) -> Result<Option<String>, RepositoryErrorKind> {
        if !valid_var_name(name) {
            return Err(RepositoryErrorKind::BadVariableName(name.to_owned()));
        }
        if name.starts_with("APK_") {
            return Err(RepositoryErrorKind::ReservedVariable(name.to_owned()));
        }
        Ok(self.vars.insert(name.to_owned(), value.to_owned()))
    }

    /// The value of a variable (`APK_ARCH` included).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The repositories, in order.
    pub fn repositories(&self) -> &[Repository] {
        &self.repositories
    }

    /// The number of repositories.
    pub fn len(&self) -> usize {
        self.repositories.len()
    }

    /// Whether there are no repositories.
    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty()
    }

    /// The distinct tags, in order of first use.
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let list = RepositoryList::parse("@a /x\n/y\n@b /z\n@a /w\n", "x86_64")?;
    /// assert_eq!(list.tags(), ["a", "b"]);
    /// # Ok::<(), apk_db::repositories::RepositoryError>(())
    /// ```
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = Vec::new();
        for tag in self.repositories.iter().filter_map(|r| r.tag.as_deref()) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags
    }

    /// Expand `${NAME}` references.
    fn expand(&self, text: &str) -> Result<String, RepositoryErrorKind> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| RepositoryErrorKind::UnterminatedVariable(text.to_owned()))?;
            let name = &after[..end];
            let value = self
                .vars
                .get(name)
                .ok_or_else(|| RepositoryErrorKind::UndefinedVariable(name.to_owned()))?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Expand a URL or component, refusing a result that would expand again when re-read.
    fn expand_token(&self, token: &str) -> Result<String, RepositoryErrorKind> {
        let expanded = self.expand(token)?;
        if expanded.contains("${") {
            return Err(RepositoryErrorKind::UnexpandedVariable(expanded));
        }
        Ok(expanded)
    }

    fn add_line(&mut self, line: &str, allow_set: bool) -> Result<(), RepositoryErrorKind> {
        let mut tokens = line
            .split([' ', '\t', '\r'])
            .filter(|t| !t.is_empty())
            .peekable();
        let Some(&first) = tokens.peek() else {
            return Ok(());
        };
        if first.starts_with('#') {
            return Ok(());
        }
        if first == "set" {
            if !allow_set {
                return Err(RepositoryErrorKind::BadUrl(line.trim().to_owned()));
            }
            tokens.next();
            return self.set_line(tokens.collect());
        }
        let explicit = RepositoryFormat::from_keyword(first);
        if explicit.is_some() {
            tokens.next();
        }
        let mut tag = None;
        if let Some(t) = tokens.peek().and_then(|t| t.strip_prefix('@')) {
            if !valid_tag(t) {
                return Err(RepositoryErrorKind::BadTag(t.to_owned()));
            }
            tag = Some(t.to_owned());
            tokens.next();
        }
        let raw_url = tokens.next().ok_or(RepositoryErrorKind::MissingUrl)?;
        let url = self.expand_token(raw_url)?;
        if !valid_url(&url) {
            return Err(RepositoryErrorKind::BadUrl(url));
        }
        let mut components = Vec::new();
        for token in tokens {
            if token.starts_with('#') {
                break;
            }
            let component = self.expand_token(token)?;
            if component.is_empty() || component.starts_with('#') {
                return Err(RepositoryErrorKind::BadComponent(component));
            }
            components.push(component);
        }
        let format = explicit.unwrap_or(if is_direct_index(&url) {
            RepositoryFormat::Ndx
        } else {
            RepositoryFormat::V2
        });
        if format == RepositoryFormat::Ndx && !components.is_empty() {
            return Err(RepositoryErrorKind::ComponentsWithNdx);
        }
        if components.is_empty() {
            return self.push(Repository {
                tag,
                url,
                format,
                components,
            });
        }
        for component in components {
            self.push(Repository {
                tag: tag.clone(),
                url: join(&url, &component),
                format,
                components: vec![component],
            })?;
        }
        Ok(())
    }

    fn set_line(&mut self, args: Vec<&str>) -> Result<(), RepositoryErrorKind> {
        let (keep_existing, assignment) = match args.as_slice() {
            ["-default", assignment] => (true, *assignment),
            [assignment] => (false, *assignment),
            _ => return Err(RepositoryErrorKind::BadSet),
        };
        let (name, value) = assignment
            .split_once('=')
            .ok_or(RepositoryErrorKind::BadSet)?;
        if !valid_var_name(name) {
            return Err(RepositoryErrorKind::BadVariableName(name.to_owned()));
        }
        if name.starts_with("APK_") {
            return Err(RepositoryErrorKind::ReservedVariable(name.to_owned()));
        }
        if keep_existing && self.vars.contains_key(name) {
            return Ok(());
        }
        let value = self.expand(value)?;
        self.vars.insert(name.to_owned(), value);
        Ok(())
    }

    fn push(&mut self, repo: Repository) -> Result<(), RepositoryErrorKind> {
        if self
            .repositories
            .iter()
            .any(|r| r.url == repo.url && r.format == repo.format)
        {
            return Ok(());
        }
        if self.repositories.len() >= MAX_REPOSITORIES {
            return Err(RepositoryErrorKind::TooManyRepositories(repo.url));
        }
        if let Some(tag) = &repo.tag {
            let tags = self.tags();
            if !tags.contains(&tag.as_str()) && tags.len() + 1 >= MAX_TAGS {
                return Err(RepositoryErrorKind::TooManyTags(tag.clone()));
            }
        }
        self.repositories.push(repo);
        Ok(())
    }
}

impl fmt::Display for RepositoryList {
    /// One line per repository (variables already expanded, no `set` lines); parsing the text
    /// with the same architecture gives the same repositories.
    ///
    /// ```
    /// use apk_db::repositories::RepositoryList;
    /// let list = RepositoryList::parse("@e https://x.example/edge\nv3 /srv main\n", "x86_64")?;
    /// assert_eq!(list.to_string(), "@e https://x.example/edge\nv3 /srv/ main\n");
    /// # Ok::<(), apk_db::repositories::RepositoryError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for repo in &self.repositories {
            writeln!(f, "{repo}")?;
        }
        Ok(())
    }
}

fn hex8(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(8);
    for b in bytes.iter().take(4) {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The cache file name of an index: `APKINDEX.<8 hex>.tar.gz`, the hex being the first 4 bytes
/// of the SHA-1 of `url`.
///
/// apk-tools 2 hashes the **repository URL as written** in the repositories file (not the
/// full `…/<arch>/APKINDEX.tar.gz` URL): all five cached indexes in the real root file systems
/// of the test corpus are named that way. [`Repository::cache_index_name`] passes that URL.
///
/// ```
/// use apk_db::repositories::cache_index_name;
/// assert_eq!(
///     cache_index_name("http://dl-cdn.alpinelinux.org/alpine/v3.10/main"),
///     "APKINDEX.00740ba1.tar.gz"
/// );
/// ```
pub fn cache_index_name(url: &str) -> String {
    format!(
        "APKINDEX.{}.tar.gz",
        hex8(Sha1::digest(url.as_bytes()).as_slice())
    )
}

/// The cache file name of a package: `<name>-<version>.<8 hex>.apk`, the hex being the first
/// 4 bytes of the package identity's digest.
///
/// ```
/// use apk_db::repositories::cache_package_name;
/// let id: apk_index::Checksum = "Q1FF4YFta38d5wuxH9v4onw2JUKW0=".parse()?;
/// assert_eq!(cache_package_name("musl", "1.2.3-r4", &id), "musl-1.2.3-r4.145e1816.apk");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn cache_package_name(name: &str, version: &str, identity: &Checksum) -> String {
    format!("{name}-{version}.{}.apk", hex8(identity.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &RepositoryList) -> Vec<&str> {
        list.repositories().iter().map(|r| r.url.as_str()).collect()
    }

    #[test]
    fn v2_forms() {
        let list = RepositoryList::parse(
            "  # comment\n\nhttp://a/main\n\t@edge   https://b/edge\r\nfile:///srv/r\n/mnt/repo/\n",
            "x86_64",
        )
        .unwrap();
        assert_eq!(
            urls(&list),
            [
                "http://a/main",
                "https://b/edge",
                "file:///srv/r",
                "/mnt/repo/"
            ]
        );
        assert_eq!(list.repositories()[1].tag.as_deref(), Some("edge"));
        assert!(
            list.repositories()
                .iter()
                .all(|r| r.format == RepositoryFormat::V2)
        );
        assert_eq!(
            list.repositories()[3].index_url("x86"),
            "/mnt/repo/x86/APKINDEX.tar.gz"
        );
    }

    #[test]
    fn v3_forms_and_components() {
        let list = RepositoryList::parse(
            "v3 @t https://o/snap base luci # trailing comment\nndx /r/packages.adb\nv2 /x main\n/y/Packages.adb\n",
            "aarch64",
        )
        .unwrap();
        assert_eq!(
            urls(&list),
            [
                "https://o/snap/base",
                "https://o/snap/luci",
                "/r/packages.adb",
                "/x/main",
                "/y/Packages.adb"
            ]
        );
        let r = &list.repositories()[1];
        assert_eq!(r.tag.as_deref(), Some("t"));
        assert_eq!(r.components, ["luci"]);
        assert_eq!(
            r.index_url("aarch64"),
            "https://o/snap/luci/aarch64/Packages.adb"
        );
        assert_eq!(
            r.package_url("aarch64", "luci", "1-r0"),
            "https://o/snap/luci/aarch64/luci-1-r0.apk"
        );
        assert_eq!(list.repositories()[2].format, RepositoryFormat::Ndx);
        assert_eq!(list.repositories()[4].format, RepositoryFormat::Ndx);
        assert_eq!(
            list.repositories()[4].package_url("aarch64", "a", "1"),
            "/y/a-1.apk"
        );
        assert_eq!(list.tags(), ["t"]);
    }

    #[test]
    fn direct_v2_index_url() {
        let list = RepositoryList::parse("https://x/APKINDEX.tar.gz\n", "x86_64").unwrap();
        let r = &list.repositories()[0];
        assert_eq!(r.format, RepositoryFormat::Ndx);
        assert_eq!(r.index_url("x86_64"), "https://x/APKINDEX.tar.gz");
        assert_eq!(r.package_url("x86_64", "a", "1-r0"), "https://x/a-1-r0.apk");
    }

    #[test]
    fn variables() {
        let text = "set -default m=http://one\nset -default m=http://two\nset p=${m}/${APK_ARCH}\nv3 ${p} c\n";
        let list = RepositoryList::parse(text, "riscv64").unwrap();
        assert_eq!(urls(&list), ["http://one/riscv64/c"]);
        assert_eq!(list.var("m"), Some("http://one"));

        let err = |text: &str| {
            RepositoryList::parse(text, "x86_64")
                .unwrap_err()
                .to_string()
        };
        assert!(err("${nope}/main").contains("undefined variable 'nope'"));
        assert!(err("/a/${x").contains("unterminated"));
        assert!(err("set APK_ARCH=x").contains("reserved"));
        assert!(err("set 1x=y").contains("invalid variable name '1x'"));
        assert!(err("set x").contains("invalid set line"));
        assert!(err("set -force x=y").contains("invalid set line"));
        // A value that builds a `${` is refused when used in a URL.
        assert!(err("set d=$\nset u=/${d}{APK_ARCH}\n${u}").contains("still holds"));
    }

    #[test]
    fn errors_have_line_numbers() {
        let e = RepositoryList::parse("/ok\n@ /x\n", "x86_64").unwrap_err();
        assert_eq!(e.to_string(), "<text>:2: invalid repository tag ''");
        let e = RepositoryList::parse("v3 @x\n", "x86_64").unwrap_err();
        assert_eq!(e.to_string(), "<text>:1: missing repository URL");
        let e = RepositoryList::parse("ndx /a.adb main\n", "x86_64").unwrap_err();
        assert!(e.to_string().contains("no components"));
        let e = RepositoryList::parse("relative/repo\n", "x86_64").unwrap_err();
        assert!(e.to_string().contains("'relative/repo' is not a URL"));
    }

    #[test]
    fn limits() {
        let text: String = (0..32).map(|i| format!("/r{i}\n")).collect();
        let mut list = RepositoryList::parse(&text, "x86_64").unwrap();
        assert_eq!(list.len(), 32);
        // A duplicate is not counted.
        list.push_url("/r0").unwrap();
        let e = list.push_url("/r32").unwrap_err();
        assert!(e.to_string().contains("too many repositories"), "{e}");

        let text: String = (0..15).map(|i| format!("@t{i} /r{i}\n")).collect();
        let mut list = RepositoryList::parse(&text, "x86_64").unwrap();
        list.push_url("@t0 /again").unwrap();
        let e = list.push_url("@t15 /r15").unwrap_err();
        assert!(e.to_string().contains("too many repository tags"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        let text = "/a\n@t /b\nv2 /c.tar.gz\nndx /d\nndx /e.adb\nv3 / main\nv2 @x http://h/ a b\n";
        let list = RepositoryList::parse(text, "x86_64").unwrap();
        let printed = list.to_string();
        let again = RepositoryList::parse(&printed, "x86_64").unwrap();
        assert_eq!(again.repositories(), list.repositories(), "{printed}");
        assert_eq!(again.to_string(), printed);
        assert_eq!(list.repositories()[5].url, "/main");
    }

    #[test]
    fn cache_names_match_corpus_file_names() {
        // The corpus' cached index names, from real root file systems.
        for (url, name) in [
            (
                "https://dl-cdn.alpinelinux.org/alpine/v3.17/main",
                "APKINDEX.ac15ed62.tar.gz",
            ),
            (
                "https://dl-cdn.alpinelinux.org/alpine/v3.17/community",
                "APKINDEX.c3d4ed66.tar.gz",
            ),
            (
                "https://dl-cdn.alpinelinux.org/alpine/v3.14/main",
                "APKINDEX.406b1341.tar.gz",
            ),
            (
                "https://dl-cdn.alpinelinux.org/alpine/v3.14/community",
                "APKINDEX.a251b1f2.tar.gz",
            ),
            (
                "http://dl-cdn.alpinelinux.org/alpine/v3.10/community",
                "APKINDEX.d8b2a6f4.tar.gz",
            ),
        ] {
            assert_eq!(cache_index_name(url), name);
        }
        let id = Checksum::sha1([
            0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6,
        ]);
        assert_eq!(cache_package_name("a", "1-r0", &id), "a-1-r0.deadbeef.apk");
    }
}
