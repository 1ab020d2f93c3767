//! Dependencies: `[!]name[@tag][op version]`, and space-separated lists of them.
//!
//! The same grammar serves world, `D:` (depends), `p:` (provides), `i:` (install_if), `r:`
//! (replaces) and the command line. The name runs up to the first of `<>=~@`; the operator is the
//! longest run of `<>=~` after it; with `><` (the checksum mask) the "version" is a package
//! identity such as `Q1…`, otherwise it must be a valid version under the chosen [`Rules`].

use std::fmt;
use std::str::FromStr;

use crate::checksum::Checksum;
use crate::version::{self, Rules};

/// A version comparison operator, stored as apk's bit mask.
///
/// `=` is EQUAL (1), `<` LESS (2), `>` GREATER (4) and `~` FUZZY|EQUAL (8|1); `<=`, `>=`,
/// `<~`, `>~` combine them, and `><` (LESS|GREATER) marks a checksum dependency.
///
/// ```
/// use apk_index::Op;
/// let op = Op::parse(b">=").unwrap();
/// assert_eq!(op, Op::GREATER_EQUAL);
/// assert_eq!(op.to_string(), ">=");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Op(u8);

impl Op {
    /// Bit: equal.
    pub const EQUAL_BIT: u8 = 1;
    /// Bit: less.
    pub const LESS_BIT: u8 = 2;
    /// Bit: greater.
    pub const GREATER_BIT: u8 = 4;
    /// Bit: fuzzy (prefix) match.
    pub const FUZZY_BIT: u8 = 8;

    /// `=`
    pub const EQUAL: Op = Op(1);
    /// `<`
    pub const LESS: Op = Op(2);
    /// `>`
    pub const GREATER: Op = Op(4);
    /// `<=`
    pub const LESS_EQUAL: Op = Op(3);
    /// `>=`
    pub const GREATER_EQUAL: Op = Op(5);
    /// `~`
    pub const FUZZY: Op = Op(9);
    /// `<~`
    pub const LESS_FUZZY: Op = Op(11);
    /// `>~`
    pub const GREATER_FUZZY: Op = Op(13);
    /// `><`: the "version" is a package identity checksum.
    pub const CHECKSUM: Op = Op(6);

    /// Parse an operator spelled with `<`, `>`, `=` and `~` (each character adds its bit).
    ///
    /// Returns `None` for an empty string, other characters, or a mask that is no operator.
    ///
    /// ```
    /// use apk_index::Op;
    /// assert_eq!(Op::parse(b"~"), Some(Op::FUZZY));
    /// assert_eq!(Op::parse(b"<>="), None);
    /// ```
    pub fn parse(text: &[u8]) -> Option<Op> {
        let mut bits = 0u8;
        for &c in text {
            bits |= match c {
                b'=' => Self::EQUAL_BIT,
                b'<' => Self::LESS_BIT,
                b'>' => Self::GREATER_BIT,
                b'~' => Self::FUZZY_BIT | Self::EQUAL_BIT,
                _ => return None,
            };
        }
        Op::from_bits(bits)
    }

    /// The operator with the given bit mask, if it is one apk knows.
    ///
    /// ```
    /// use apk_index::Op;
    /// assert_eq!(Op::from_bits(3), Some(Op::LESS_EQUAL));
    /// assert_eq!(Op::from_bits(7), None);
    /// ```
    pub fn from_bits(bits: u8) -> Option<Op> {
        match bits {
            1 | 2 | 3 | 4 | 5 | 6 | 9 | 11 | 13 => Some(Op(bits)),
            _ => None,
        }
    }

    /// The bit mask.
    ///
    /// ```
    /// use apk_index::Op;
    /// assert_eq!(Op::FUZZY.bits(), 9);
    /// ```
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The canonical spelling.
    ///
    /// ```
    /// use apk_index::Op;
    /// assert_eq!(Op::LESS_FUZZY.as_str(), "<~");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self.0 {
            1 => "=",
            2 => "<",
            3 => "<=",
            4 => ">",
            5 => ">=",
            6 => "><",
            9 => "~",
            11 => "<~",
            13 => ">~",
            _ => "?",
        }
    }

    /// Whether version `candidate` satisfies `self version` under `rules`.
    ///
    /// Always false for [`Op::CHECKSUM`], which compares identities, not versions.
    ///
    /// ```
    /// use apk_index::{Op, Rules};
    /// assert!(Op::GREATER_EQUAL.matches("1.2-r0", "1.2", Rules::V3));
    /// assert!(Op::FUZZY.matches("3.6.9", "3.6", Rules::V3));
    /// ```
    pub fn matches(self, candidate: &str, version: &str, rules: Rules) -> bool {
        if self == Op::CHECKSUM {
            return false;
        }
        version::matches(candidate.as_bytes(), self.0, version.as_bytes(), rules)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dependency borrowed from the text it was parsed from.
///
/// ```
/// use apk_index::{DependencyRef, Op, Rules};
/// let dep = DependencyRef::parse(b"!foo@edge>=1.2", Rules::V3)?;
/// assert!(dep.conflict());
/// assert_eq!(dep.name(), "foo");
/// assert_eq!(dep.tag(), Some("edge"));
/// assert_eq!(dep.constraint(), Some((Op::GREATER_EQUAL, "1.2")));
/// assert_eq!(dep.to_string(), "!foo@edge>=1.2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DependencyRef<'a> {
    name: &'a str,
    tag: Option<&'a str>,
    constraint: Option<(Op, &'a str)>,
    conflict: bool,
}

/// An owned dependency; see [`DependencyRef`] for the borrowed form and the grammar.
///
/// ```
/// use apk_index::Dependency;
/// let dep: Dependency = "so:libc.musl-x86_64.so.1".parse()?;
/// assert_eq!(dep.name(), "so:libc.musl-x86_64.so.1");
/// assert_eq!(dep.constraint(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dependency {
    name: Box<str>,
    tag: Option<Box<str>>,
    constraint: Option<(Op, Box<str>)>,
    conflict: bool,
}

/// Returned when a dependency token does not follow `[!]name[@tag][op version]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid dependency '{token}': {kind}")]
pub struct ParseDependencyError {
    token: String,
    kind: ParseDependencyErrorKind,
}

impl ParseDependencyError {
    /// The token that was rejected.
    pub fn token(&self) -> &str {
        &self.token
    }
    /// The rule it broke.
    pub fn kind(&self) -> ParseDependencyErrorKind {
        self.kind
    }
}

/// Why a dependency token was rejected; see [`ParseDependencyError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseDependencyErrorKind {
    /// The token is empty, or is only `!`.
    #[error("missing package name")]
    EmptyName,
    /// The name or tag holds bytes that are not UTF-8, or control characters.
    #[error("name holds control characters or is not UTF-8")]
    BadName,
    /// `@` with nothing after it.
    #[error("empty repository tag after '@'")]
    EmptyTag,
    /// The operator characters do not form one of `= < > <= >= ~ <~ >~ ><`.
    #[error("unknown operator (expected one of = < > <= >= ~ <~ >~ ><)")]
    BadOperator,
    /// An operator with no version after it.
    #[error("missing version after the operator")]
    MissingVersion,
    /// The version after the operator is not valid under the rules in use.
    #[error("invalid version after the operator")]
    InvalidVersion,
    /// `><` followed by something that is not a package identity.
    #[error("invalid checksum after '><'")]
    BadChecksum,
}

fn is_op_char(c: u8) -> bool {
    matches!(c, b'<' | b'>' | b'=' | b'~')
}

fn check_text(text: &str) -> Result<&str, ParseDependencyErrorKind> {
    if text.bytes().any(|c| c.is_ascii_control() || c == b' ') {
        return Err(ParseDependencyErrorKind::BadName);
    }
    Ok(text)
}

impl<'a> DependencyRef<'a> {
    /// Parse one token. Version validity is checked under `rules`.
    ///
    /// ```
    /// use apk_index::{DependencyRef, Rules};
    /// assert!(DependencyRef::parse(b"foo=", Rules::V3).is_err());
    /// assert!(DependencyRef::parse(b"foo><Q1FF4YFta38d5wuxH9v4onw2JUKW0=", Rules::V3).is_ok());
    /// ```
    pub fn parse(token: &'a [u8], rules: Rules) -> Result<DependencyRef<'a>, ParseDependencyError> {
        let text = std::str::from_utf8(token).map_err(|_| ParseDependencyError {
            token: String::from_utf8_lossy(token).into_owned(),
            kind: ParseDependencyErrorKind::BadName,
        })?;
        Self::parse_str(text, rules)
    }

    /// Parse one token from a `&str`; see [`DependencyRef::parse`].
    ///
    /// ```
    /// use apk_index::{DependencyRef, Rules};
    /// assert_eq!(DependencyRef::parse_str("a@edge", Rules::V3)?.tag(), Some("edge"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_str(
        token: &'a str,
        rules: Rules,
    ) -> Result<DependencyRef<'a>, ParseDependencyError> {
        Self::parse_inner(token, rules).map_err(|kind| ParseDependencyError {
            token: token.to_owned(),
            kind,
        })
    }

    fn parse_inner(token: &'a str, rules: Rules) -> Result<Self, ParseDependencyErrorKind> {
        let (conflict, rest) = match token.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, token),
        };
        // One pass finds where the name ends and checks its characters.
        let mut name_end = rest.len();
        for (i, c) in rest.bytes().enumerate() {
            if is_op_char(c) || c == b'@' {
                name_end = i;
                break;
            }
            if c.is_ascii_control() || c == b' ' {
                return Err(ParseDependencyErrorKind::BadName);
            }
        }
        let name = &rest[..name_end];
        if name.is_empty() {
            return Err(ParseDependencyErrorKind::EmptyName);
        }
        let mut rest = &rest[name_end..];
        let mut tag = None;
        if let Some(after) = rest.strip_prefix('@') {
            let end = after.bytes().position(is_op_char).unwrap_or(after.len());
            let t = check_text(&after[..end])?;
            if t.is_empty() {
                return Err(ParseDependencyErrorKind::EmptyTag);
            }
            tag = Some(t);
            rest = &after[end..];
        }
        let mut constraint = None;
        if !rest.is_empty() {
            let op_end = rest
                .bytes()
                .position(|c| !is_op_char(c))
                .unwrap_or(rest.len());
            let op = Op::parse(&rest.as_bytes()[..op_end])
                .ok_or(ParseDependencyErrorKind::BadOperator)?;
            let ver = &rest[op_end..];
            if ver.is_empty() {
                return Err(ParseDependencyErrorKind::MissingVersion);
            }
            if op == Op::CHECKSUM {
                Checksum::parse(ver.as_bytes())
                    .map_err(|_| ParseDependencyErrorKind::BadChecksum)?;
            } else if !version::is_valid(ver.as_bytes(), rules) {
                return Err(ParseDependencyErrorKind::InvalidVersion);
            }
            constraint = Some((op, ver));
        }
        Ok(DependencyRef {
            name,
            tag,
            constraint,
            conflict,
        })
    }

    /// Assemble a dependency from parts that are already known to be valid.
    ///
    /// ```
    /// use apk_index::{DependencyRef, Op};
    /// let d = DependencyRef::from_parts("musl", None, Some((Op::GREATER_EQUAL, "1.2")), false);
    /// assert_eq!(d.to_string(), "musl>=1.2");
    /// ```
    pub fn from_parts(
        name: &'a str,
        tag: Option<&'a str>,
        constraint: Option<(Op, &'a str)>,
        conflict: bool,
    ) -> Self {
        DependencyRef {
            name,
            tag,
            constraint,
            conflict,
        }
    }

    /// The package (or provided) name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// The repository tag after `@`, if any.
    pub fn tag(&self) -> Option<&'a str> {
        self.tag
    }
    /// The operator and version (or identity, for [`Op::CHECKSUM`]), if any.
    pub fn constraint(&self) -> Option<(Op, &'a str)> {
        self.constraint
    }
    /// Whether this is a `!` conflict.
    pub fn conflict(&self) -> bool {
        self.conflict
    }

    /// Whether a provider of this name at `version` satisfies the version part (ignoring `!`).
    ///
    /// `version` is `None` for an unversioned (virtual) provide, which satisfies only
    /// dependencies without a constraint.
    ///
    /// ```
    /// use apk_index::{DependencyRef, Rules};
    /// let d = DependencyRef::parse(b"foo<2", Rules::V3)?;
    /// assert!(d.version_matches(Some("1.9"), Rules::V3));
    /// assert!(!d.version_matches(None, Rules::V3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn version_matches(&self, version: Option<&str>, rules: Rules) -> bool {
        match (self.constraint, version) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some((op, want)), Some(have)) => op.matches(have, want, rules),
        }
    }

    /// An owned copy.
    ///
    /// ```
    /// use apk_index::{DependencyRef, Rules};
    /// let owned = DependencyRef::parse(b"a>1", Rules::V3)?.to_owned();
    /// assert_eq!(owned.to_string(), "a>1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_owned(&self) -> Dependency {
        Dependency {
            name: self.name.into(),
            tag: self.tag.map(Into::into),
            constraint: self.constraint.map(|(op, v)| (op, v.into())),
            conflict: self.conflict,
        }
    }
}

impl fmt::Display for DependencyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.conflict {
            f.write_str("!")?;
        }
        f.write_str(self.name)?;
        if let Some(tag) = self.tag {
            write!(f, "@{tag}")?;
        }
        if let Some((op, version)) = self.constraint {
            write!(f, "{op}{version}")?;
        }
        Ok(())
    }
}

impl Dependency {
    /// Parse one token under `rules`; see [`DependencyRef::parse`].
    ///
    /// ```
    /// use apk_index::{Dependency, Rules};
    /// let d = Dependency::parse("owfs=3.2p4-r0", Rules::V2)?;
    /// assert!(Dependency::parse("owfs=3.2p4-r0", Rules::V3).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(token: &str, rules: Rules) -> Result<Dependency, ParseDependencyError> {
        DependencyRef::parse(token.as_bytes(), rules).map(|d| d.to_owned())
    }

    /// Build one from parts. Returns an error if the parts do not form a valid token.
    ///
    /// ```
    /// use apk_index::{Dependency, Op};
    /// let d = Dependency::new("zlib", None, Some((Op::EQUAL, "1.2.13-r0")), false)?;
    /// assert_eq!(d.to_string(), "zlib=1.2.13-r0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        name: &str,
        tag: Option<&str>,
        constraint: Option<(Op, &str)>,
        conflict: bool,
    ) -> Result<Dependency, ParseDependencyError> {
        let text = DependencyRef::from_parts(name, tag, constraint, conflict).to_string();
        let parsed =
            Dependency::parse(&text, Rules::V3).or_else(|_| Dependency::parse(&text, Rules::V2))?;
        if parsed.as_ref() != DependencyRef::from_parts(name, tag, constraint, conflict) {
            return Err(ParseDependencyError {
                token: text,
                kind: ParseDependencyErrorKind::BadName,
            });
        }
        Ok(parsed)
    }

    /// The borrowed view.
    pub fn as_ref(&self) -> DependencyRef<'_> {
        DependencyRef {
            name: &self.name,
            tag: self.tag.as_deref(),
            constraint: self.constraint.as_ref().map(|(op, v)| (*op, &**v)),
            conflict: self.conflict,
        }
    }
    /// The package (or provided) name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The repository tag after `@`, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    /// The operator and version, if any.
    pub fn constraint(&self) -> Option<(Op, &str)> {
        self.constraint.as_ref().map(|(op, v)| (*op, &**v))
    }
    /// Whether this is a `!` conflict.
    pub fn conflict(&self) -> bool {
        self.conflict
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl FromStr for Dependency {
    type Err = ParseDependencyError;
    /// Parses under the default (v3) rules.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dependency::parse(s, Rules::V3)
    }
}

/// Iterate over the tokens of a dependency list (separated by spaces, tabs or newlines).
///
/// ```
/// use apk_index::{parse_dependency_list, Rules};
/// let deps: Result<Vec<_>, _> = parse_dependency_list(b"musl>=1.2 !foo  so:libz.so.1", Rules::V3).collect();
/// assert_eq!(deps?.len(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_dependency_list(
    text: &[u8],
    rules: Rules,
) -> impl Iterator<Item = Result<DependencyRef<'_>, ParseDependencyError>> {
    text.split(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        .filter(|t| !t.is_empty())
        .map(move |t| DependencyRef::parse(t, rules))
}

/// Write a dependency list as apk does: tokens separated by single spaces.
///
/// ```
/// use apk_index::{write_dependency_list, Dependency};
/// let deps: Vec<Dependency> = vec!["a".parse()?, "b>1".parse()?];
/// assert_eq!(write_dependency_list(deps.iter().map(|d| d.as_ref())), "a b>1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_dependency_list<'a>(deps: impl IntoIterator<Item = DependencyRef<'a>>) -> String {
    let mut out = String::new();
    for (i, d) in deps.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        use std::fmt::Write as _;
        let _ = write!(out, "{d}");
    }
    out
}
