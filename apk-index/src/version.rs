//! Package versions: parsing, validation and comparison (apk-tools rules).
//!
//! A version looks like `N{.N}…{letter}{_suffix{N}}…{~hash}{-rN}`, for example `1.2.3`,
//! `2.0_rc1-r2`, `0.1_git20240101~1234abcd-r0`. Two rule sets exist:
//!
//! * [`Rules::V3`] (apk-tools 3.0, the default): strict validation, digit groups after the first
//!   that start with `0` compare as strings, `~hash` allowed.
//! * [`Rules::V2`] (apk-tools 2.14): lax validation, a run of leading zeros after a `.` is a
//!   special token that sorts below any ordinary number.
//!
//! [`compare`], [`compare_fuzzy`], [`matches()`] and [`is_valid`] work on raw bytes, never
//! allocate and never panic, whatever the input. Invalid input still gets a deterministic order.
//! [`Version`] is an owned, validated version string.
//!
//! ```
//! use apk_index::version::{compare, Rules, Version};
//! use std::cmp::Ordering;
//!
//! assert_eq!(compare(b"1.0_rc1", b"1.0", Rules::V3), Ordering::Less);
//! let v: Version = "1.2.3-r1".parse()?;
//! assert!(v > Version::parse("1.2.3")?);
//! # Ok::<(), apk_index::version::ParseVersionError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Which apk-tools release's version rules apply.
///
/// ```
/// use apk_index::version::{is_valid, Rules};
///
/// assert_eq!(Rules::default(), Rules::V3);
/// assert!(is_valid(b"0.1a1", Rules::V2));
/// assert!(!is_valid(b"0.1a1", Rules::V3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rules {
    /// apk-tools 2.14: lax validation, leading zeros as special tokens.
    V2,
    /// apk-tools 3.0: strict validation, leading-zero groups compared as strings, `~hash`.
    #[default]
    V3,
}

// ---------------------------------------------------------------------------------------------
// Operator bits (apk's dependency mask).

const OP_EQUAL: u8 = 1;
const OP_LESS: u8 = 2;
const OP_GREATER: u8 = 4;
const OP_FUZZY: u8 = 8;

// ---------------------------------------------------------------------------------------------
// Suffixes.

/// Rank of a suffix name whose name is not recognised: between `_rc` and "no suffix"/`_cvs`.
const SUFFIX_UNKNOWN: u8 = 4;
/// Suffix ranks at or below this are pre-release suffixes.
const SUFFIX_LAST_PRE: u8 = 3;

/// Known suffix names and their rank, in the order a v2 prefix match tries them.
const SUFFIXES: [(&[u8], u8); 9] = [
    (b"alpha", 0),
    (b"beta", 1),
    (b"pre", 2),
    (b"rc", 3),
    (b"cvs", 5),
    (b"svn", 6),
    (b"git", 7),
    (b"hg", 8),
    (b"p", 9),
];

/// The rank of a suffix name: v3 needs an exact name, v2 a known name at its start.
fn suffix_rank(name: &[u8], rules: Rules) -> u8 {
    for (known, rank) in SUFFIXES {
        let hit = match rules {
            Rules::V3 => name == known,
            Rules::V2 => name.starts_with(known),
        };
        if hit {
            return rank;
        }
    }
    SUFFIX_UNKNOWN
}

// ---------------------------------------------------------------------------------------------
// Small byte helpers.

/// Length of the run at the start of `s` whose bytes satisfy `f`.
#[inline]
fn run_len(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&c| !f(c)).unwrap_or(s.len())
}

#[inline]
fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

#[inline]
fn is_lower(c: u8) -> bool {
    c.is_ascii_lowercase()
}

#[inline]
fn is_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
}

/// Strip leading `0` bytes.
#[inline]
fn strip_zeros(s: &[u8]) -> &[u8] {
    let n = run_len(s, |c| c == b'0');
    s.get(n..).unwrap_or_default()
}

/// Compare two runs of ASCII digits by numeric value, without overflow at any length.
#[inline]
fn cmp_numeric(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether a run of ASCII digits has a value that fits in a `u64`.
fn fits_u64(digits: &[u8]) -> bool {
    const MAX: &[u8] = b"18446744073709551615";
    let d = strip_zeros(digits);
    d.len() < MAX.len() || (d.len() == MAX.len() && d <= MAX)
}

// ---------------------------------------------------------------------------------------------
// Tokens.

/// The value of a digit-group token.
#[derive(Debug, Clone, Copy)]
enum Digits<'a> {
    /// v2: a run of this many leading zeros after a `.`; sorts below every number, and more
    /// zeros sort lower.
    Zeros(usize),
    /// v3: a group after a `.` starting with `0`; compared as a string, below every number.
    ZeroStr(&'a [u8]),
    /// An ordinary number, compared numerically.
    Num(&'a [u8]),
}

impl Digits<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Digits::Zeros(x), Digits::Zeros(y)) => y.cmp(x),
            (Digits::ZeroStr(x), Digits::ZeroStr(y)) => x.cmp(y),
            (Digits::Num(x), Digits::Num(y)) => cmp_numeric(x, y),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Digits::Zeros(_) => 0,
            Digits::ZeroStr(_) => 1,
            Digits::Num(_) => 2,
        }
    }
}

/// One token of a version string.
#[derive(Debug, Clone, Copy)]
enum Tok<'a> {
    /// Anything not understood: the rest of the string, compared as bytes.
    Invalid(&'a [u8]),
    /// The end of the string.
    End,
    /// `-rN`: the digits (possibly empty).
    Revision(&'a [u8]),
    /// `~hash` (v3): the hex digits (possibly empty).
    Hash(&'a [u8]),
    /// `_name`: its rank and the name itself (which breaks ties between unknown names).
    Suffix(u8, &'a [u8]),
    /// A single lower-case letter.
    Letter(u8),
    /// A digit group (including a suffix's number).
    Digits(Digits<'a>),
}

impl Tok<'_> {
    /// Where a token type sorts against a different type. This folds the section-4 rules into
    /// one order: a pre-release suffix is less than anything; otherwise the later type in
    /// `digits < letter < suffix < hash < revision < end` is the lesser side.
    fn class(&self) -> u8 {
        match self {
            Tok::Invalid(_) => 0,
            Tok::Suffix(rank, _) if *rank <= SUFFIX_LAST_PRE => 1,
            Tok::End => 2,
            Tok::Revision(_) => 3,
            Tok::Hash(_) => 4,
            Tok::Suffix(..) => 5,
            Tok::Letter(_) => 6,
            Tok::Digits(_) => 7,
        }
    }

    fn is_end(&self) -> bool {
        matches!(self, Tok::End)
    }

    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Tok::Invalid(x), Tok::Invalid(y)) | (Tok::Hash(x), Tok::Hash(y)) => x.cmp(y),
            (Tok::End, Tok::End) => Ordering::Equal,
            (Tok::Revision(x), Tok::Revision(y)) => cmp_numeric(x, y),
            (Tok::Suffix(rx, nx), Tok::Suffix(ry, ny)) => rx.cmp(ry).then_with(|| {
                if *rx == SUFFIX_UNKNOWN {
                    nx.cmp(ny)
                } else {
                    Ordering::Equal
                }
            }),
            (Tok::Letter(x), Tok::Letter(y)) => x.cmp(y),
            (Tok::Digits(x), Tok::Digits(y)) => x.cmp(y),
            _ => self.class().cmp(&other.class()),
        }
    }
}

/// Splits any bytes into tokens. Lax: every byte string gives a finite token sequence ending
/// in [`Tok::End`], so comparison is a deterministic order even for invalid versions.
struct Tokens<'a> {
    s: &'a [u8],
    pos: usize,
    rules: Rules,
}

impl<'a> Tokens<'a> {
    /// Tokens of `s` from byte `pos` on; `pos` must be a token boundary (see
    /// [`shared_restart`]).
    #[inline]
    fn starting_at(s: &'a [u8], pos: usize, rules: Rules) -> Self {
        Tokens { s, pos, rules }
    }

    /// The bytes from `from` on (empty when out of range).
    #[inline]
    fn rest(&self, from: usize) -> &'a [u8] {
        self.s.get(from..).unwrap_or_default()
    }

    /// Take the run of bytes satisfying `f` starting at `from`; move past it.
    #[inline]
    fn take_run(&mut self, from: usize, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest(from);
        let n = run_len(rest, f);
        self.pos = from + n;
        rest.get(..n).unwrap_or_default()
    }

    /// Everything left is one invalid token.
    fn invalid(&mut self) -> Tok<'a> {
        let rest = self.rest(self.pos);
        self.pos = self.s.len();
        Tok::Invalid(rest)
    }

    fn next_tok(&mut self) -> Tok<'a> {
        let Some(&c) = self.s.get(self.pos) else {
            return Tok::End;
        };
        let next = self.s.get(self.pos + 1).copied();
        match c {
            b'0'..=b'9' => Tok::Digits(Digits::Num(self.take_run(self.pos, is_digit))),
            b'.' => match next {
                Some(d) if is_digit(d) => {
                    let start = self.pos + 1;
                    match self.rules {
                        Rules::V2 if d == b'0' => {
                            let zeros = self.take_run(start, |c| c == b'0');
                            Tok::Digits(Digits::Zeros(zeros.len()))
                        }
                        Rules::V2 => Tok::Digits(Digits::Num(self.take_run(start, is_digit))),
                        Rules::V3 => {
                            let run = self.take_run(start, is_digit);
                            if d == b'0' {
                                Tok::Digits(Digits::ZeroStr(run))
                            } else {
                                Tok::Digits(Digits::Num(run))
                            }
                        }
                    }
                }
                _ => self.invalid(),
            },
            b'a'..=b'z' => {
                self.pos += 1;
                Tok::Letter(c)
            }
            b'_' => {
                let name = self.take_run(self.pos + 1, is_lower);
                Tok::Suffix(suffix_rank(name, self.rules), name)
            }
            b'-' if next == Some(b'r') => Tok::Revision(self.take_run(self.pos + 2, is_digit)),
            b'~' if self.rules == Rules::V3 => Tok::Hash(self.take_run(self.pos + 1, is_hex)),
            _ => self.invalid(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison.

/// Compare two version strings under `rules`.
///
/// Walks both strings token by token (apk-formats section 4). Works on any bytes: invalid
/// versions get a deterministic order (for instance `1.0 < 1.0bc`), and huge numbers are
/// compared without overflow. Never allocates, never panics.
///
/// ```
/// use apk_index::version::{compare, Rules};
/// use std::cmp::Ordering::*;
///
/// assert_eq!(compare(b"1.2", b"1.10", Rules::V3), Less);
/// assert_eq!(compare(b"1.0_p1", b"1.0", Rules::V3), Greater);
/// assert_eq!(compare(b"1.0-r1", b"1.0-r01", Rules::V3), Equal);
/// // Leading zeros differ between the rule sets.
/// assert_eq!(compare(b"8.2.0", b"8.2.001", Rules::V3), Less);
/// assert_eq!(compare(b"8.2.0", b"8.2.001", Rules::V2), Greater);
/// ```
#[must_use]
pub fn compare(a: &[u8], b: &[u8], rules: Rules) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let start = shared_restart(a, b);
    compare_from(a, b, start, rules)
}

/// The token walk of [`compare`], starting both strings at byte `start`.
#[inline]
fn compare_from(a: &[u8], b: &[u8], start: usize, rules: Rules) -> Ordering {
    let mut ta = Tokens::starting_at(a, start, rules);
    let mut tb = Tokens::starting_at(b, start, rules);
    loop {
        let (x, y) = (ta.next_tok(), tb.next_tok());
        match x.cmp(&y) {
            Ordering::Equal if x.is_end() => return Ordering::Equal,
            Ordering::Equal => {}
            other => return other,
        }
    }
}

/// A byte offset where both strings can start their token walk, skipping a shared prefix.
///
/// Returns the position of the last `.` in the common prefix of `a` and `b`, provided the
/// bytes before it are only digit groups separated by single dots (otherwise 0). Those bytes
/// tokenize identically in both strings and every earlier token ends at or before that `.`
/// (a digit run stops at the `.`), so the tokens before it compare equal and the walk may
/// start there. Both rule sets tokenize digit groups this way.
#[inline]
fn shared_restart(a: &[u8], b: &[u8]) -> usize {
    let mut restart = 0;
    let mut prev = 0u8;
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        if x != y {
            break;
        }
        if x == b'.' {
            // `..` (or a leading `.` followed by `.`) starts an invalid token: stop before it.
            if prev == b'.' {
                break;
            }
            restart = i;
        } else if !x.is_ascii_digit() {
            break;
        }
        prev = x;
    }
    restart
}

/// Compare as a fuzzy (`~`) dependency does: `a` is the package's version, `b` the
/// dependency's.
///
/// * v3: [`Ordering::Equal`] when `a` begins with all of `b`'s tokens (`3.6.9 ~ 3.6`, but not
///   `3.8 ~ 3.8.1`); otherwise the ordinary [`compare`] result.
/// * v2: equal while both have tokens, so a prefix match in either direction.
///
/// ```
/// use apk_index::version::{compare_fuzzy, Rules};
/// use std::cmp::Ordering::*;
///
/// assert_eq!(compare_fuzzy(b"3.6.9", b"3.6", Rules::V3), Equal);
/// assert_eq!(compare_fuzzy(b"3.8", b"3.8.1", Rules::V3), Less);
/// assert_eq!(compare_fuzzy(b"3.8", b"3.8.1", Rules::V2), Equal);
/// ```
#[must_use]
pub fn compare_fuzzy(a: &[u8], b: &[u8], rules: Rules) -> Ordering {
    let start = shared_restart(a, b);
    let mut ta = Tokens::starting_at(a, start, rules);
    let mut tb = Tokens::starting_at(b, start, rules);
    loop {
        let (x, y) = (ta.next_tok(), tb.next_tok());
        let prefix_done = match rules {
            Rules::V3 => y.is_end(),
            Rules::V2 => x.is_end() || y.is_end(),
        };
        if prefix_done {
            return Ordering::Equal;
        }
        match x.cmp(&y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
}

/// Whether version `a` satisfies the constraint `op b`.
///
/// `op_bits` is apk's operator mask: EQUAL = 1, LESS = 2, GREATER = 4, FUZZY = 8. So `=` is 1,
/// `<` is 2, `<=` is 3, `>` is 4, `>=` is 5, `~` is 9, `<~` is 11 and `>~` is 13. With FUZZY
/// the comparison is [`compare_fuzzy`], otherwise [`compare`]; the result matches when its bit
/// (Less → 2, Equal → 1, Greater → 4) is in the mask.
///
/// ```
/// use apk_index::version::{matches, Rules};
///
/// assert!(matches(b"1.2.3-r1", 5, b"1.2", Rules::V3)); // >=
/// assert!(!matches(b"1.2", 2, b"1.2", Rules::V3)); // <
/// assert!(matches(b"3.6.9", 9, b"3.6", Rules::V3)); // ~
/// assert!(!matches(b"3.8", 9, b"3.8.1", Rules::V3)); // ~
/// ```
#[must_use]
pub fn matches(a: &[u8], op_bits: u8, b: &[u8], rules: Rules) -> bool {
    let ord = if op_bits & OP_FUZZY != 0 {
        compare_fuzzy(a, b, rules)
    } else {
        compare(a, b, rules)
    };
    let bit = match ord {
        Ordering::Less => OP_LESS,
        Ordering::Equal => OP_EQUAL,
        Ordering::Greater => OP_GREATER,
    };
    op_bits & bit != 0
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// Whether `text` is a valid version under `rules`.
///
/// * v3 is strict: `digits(.digits)*[letter](_suffix[digits])*[~hex][-rdigits]`, with every
///   number fitting in 64 bits.
/// * v2 is lax: it also accepts forms such as `a`, `.1`, `_pre1`, `1.0_` and `0.1a1`, and any
///   suffix that merely starts with a known name; it rejects digit groups of 18 or more digits.
///
/// Never allocates, never panics.
///
/// ```
/// use apk_index::version::{is_valid, Rules};
///
/// assert!(is_valid(b"0.1_git20240101_pre1~1234abcd-r2", Rules::V3));
/// assert!(!is_valid(b"0.1_foobar", Rules::V3));
/// assert!(is_valid(b"_pre1", Rules::V2));
/// assert!(!is_valid(b"1.123456789012345678", Rules::V2));
/// ```
#[must_use]
pub fn is_valid(text: &[u8], rules: Rules) -> bool {
    validate(text, rules).is_ok()
}

fn validate(s: &[u8], rules: Rules) -> Result<(), (ParseVersionErrorKind, usize)> {
    match rules {
        Rules::V3 => validate_v3(s),
        Rules::V2 => validate_v2(s),
    }
}

use ParseVersionErrorKind as K;

/// A cursor for the validators.
struct Scan<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    #[inline]
    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.s.get(self.i + ahead).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    #[inline]
    fn run(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.s.get(self.i..).unwrap_or_default();
        let n = run_len(rest, f);
        self.i += n;
        rest.get(..n).unwrap_or_default()
    }
}

/// v3: a run of digits that must be a 64-bit number; `required` rejects an empty run.
fn v3_number(sc: &mut Scan<'_>, required: ParseVersionErrorKind) -> Result<bool, (K, usize)> {
    let start = sc.i;
    let digits = sc.run(is_digit);
    if digits.is_empty() {
        return match required {
            K::Empty => Ok(false),
            kind => Err((kind, start)),
        };
    }
    if !fits_u64(digits) {
        return Err((K::NumberTooLarge, start));
    }
    Ok(true)
}

fn validate_v3(s: &[u8]) -> Result<(), (K, usize)> {
    if s.is_empty() {
        return Err((K::Empty, 0));
    }
    let mut sc = Scan { s, i: 0 };
    // digits(.digits)*
    loop {
        v3_number(&mut sc, K::ExpectedDigit)?;
        if !sc.eat(b'.') {
            break;
        }
    }
    // [letter]
    if sc.peek().is_some_and(is_lower) {
        sc.i += 1;
    }
    // (_suffix[digits])*
    while sc.eat(b'_') {
        let start = sc.i;
        let name = sc.run(is_lower);
        if suffix_rank(name, Rules::V3) == SUFFIX_UNKNOWN {
            return Err((K::UnknownSuffix, start));
        }
        // Passing `Empty` as the "required" kind makes the number optional.
        v3_number(&mut sc, K::Empty)?;
    }
    // [~hash]
    if sc.eat(b'~') {
        let start = sc.i;
        if sc.run(is_hex).is_empty() {
            return Err((K::BadHash, start));
        }
        if sc.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Err((K::BadHash, sc.i));
        }
    }
    // [-r digits]
    if sc.eat(b'-') {
        if !sc.eat(b'r') {
            return Err((K::BadRevision, sc.i));
        }
        v3_number(&mut sc, K::BadRevision)?;
    }
    match sc.peek() {
        None => Ok(()),
        Some(_) => Err((K::UnexpectedCharacter, sc.i)),
    }
}

/// v2 rejects digit groups of this many digits or more.
const V2_MAX_DIGITS: usize = 18;

/// v2: a run of digits (possibly empty) shorter than [`V2_MAX_DIGITS`].
fn v2_number(sc: &mut Scan<'_>) -> Result<usize, (K, usize)> {
    let start = sc.i;
    let n = sc.run(is_digit).len();
    if n >= V2_MAX_DIGITS {
        return Err((K::NumberTooLarge, start));
    }
    Ok(n)
}

fn validate_v2(s: &[u8]) -> Result<(), (K, usize)> {
    if s.is_empty() {
        return Err((K::Empty, 0));
    }
    // Phases: 0 = digit groups and letters in any mix (no two letters in a row),
    // 1 = suffixes, 2 = after the revision (only the end may follow).
    let mut phase = 0u8;
    let mut after_letter = false;
    let mut sc = Scan { s, i: 0 };
    while let Some(c) = sc.peek() {
        match c {
            b'0'..=b'9' if phase == 0 => {
                v2_number(&mut sc)?;
                after_letter = false;
            }
            b'.' if phase == 0 => {
                sc.i += 1;
                if v2_number(&mut sc)? == 0 {
                    return Err((K::ExpectedDigit, sc.i));
                }
                after_letter = false;
            }
            b'a'..=b'z' if phase == 0 => {
                if after_letter {
                    return Err((K::UnexpectedCharacter, sc.i));
                }
                sc.i += 1;
                after_letter = true;
            }
            b'_' if phase <= 1 => {
                sc.i += 1;
                let start = sc.i;
                let name = sc.run(is_lower);
                if !name.is_empty() && suffix_rank(name, Rules::V2) == SUFFIX_UNKNOWN {
                    return Err((K::UnknownSuffix, start));
                }
                v2_number(&mut sc)?;
                phase = 1;
            }
            b'-' if phase <= 1 => {
                if sc.peek_at(1) != Some(b'r') {
                    return Err((K::BadRevision, sc.i + 1));
                }
                sc.i += 2;
                if v2_number(&mut sc)? == 0 {
                    return Err((K::BadRevision, sc.i));
                }
                phase = 2;
            }
            _ => return Err((K::UnexpectedCharacter, sc.i)),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// Which validation rule rejected a version string.
///
/// ```
/// use apk_index::version::{ParseVersionErrorKind, Version};
///
/// let err = Version::parse("1.0-x").unwrap_err();
/// assert_eq!(err.kind(), ParseVersionErrorKind::BadRevision);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseVersionErrorKind {
    /// The version is empty.
    Empty,
    /// A digit was required (at the start, or after a `.`).
    ExpectedDigit,
    /// `_` is not followed by a known suffix name.
    UnknownSuffix,
    /// `~` is not followed by lower-case hex digits only.
    BadHash,
    /// `-` is not followed by `r` and digits.
    BadRevision,
    /// A character that the grammar does not allow at this place.
    UnexpectedCharacter,
    /// A number does not fit in 64 bits (v3) or has 18 or more digits (v2).
    NumberTooLarge,
}

impl fmt::Display for ParseVersionErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            K::Empty => "empty version",
            K::ExpectedDigit => "expected a digit",
            K::UnknownSuffix => "unknown suffix",
            K::BadHash => "bad commit hash, expected lower-case hex digits",
            K::BadRevision => "bad revision, expected '-r' and digits",
            K::UnexpectedCharacter => "unexpected character",
            K::NumberTooLarge => "number too large",
        })
    }
}

/// The rule and place of a validation failure, as shown in [`ParseVersionError`]'s message.
struct Detail(ParseVersionErrorKind, usize);

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            K::Empty => write!(f, "{}", self.0),
            kind => write!(f, "{kind} at byte {}", self.1),
        }
    }
}

/// A version string that failed validation.
///
/// ```
/// use apk_index::version::{ParseVersionErrorKind, Version};
///
/// let err = Version::parse("0.1_foobar").unwrap_err();
/// assert_eq!(err.text(), "0.1_foobar");
/// assert_eq!(err.kind(), ParseVersionErrorKind::UnknownSuffix);
/// assert_eq!(err.offset(), 4);
/// assert_eq!(err.to_string(), "invalid version '0.1_foobar': unknown suffix at byte 4");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version '{text}': {}", Detail(*.kind, *.offset))]
pub struct ParseVersionError {
    text: Box<str>,
    kind: ParseVersionErrorKind,
    offset: usize,
}

impl ParseVersionError {
    /// The rejected text.
    ///
    /// ```
    /// # use apk_index::version::Version;
    /// assert_eq!(Version::parse("1..2").unwrap_err().text(), "1..2");
    /// ```
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Which rule rejected it.
    ///
    /// ```
    /// # use apk_index::version::{ParseVersionErrorKind, Version};
    /// assert_eq!(Version::parse("").unwrap_err().kind(), ParseVersionErrorKind::Empty);
    /// ```
    #[must_use]
    pub fn kind(&self) -> ParseVersionErrorKind {
        self.kind
    }

    /// The byte offset in [`text`](Self::text) where the problem was found.
    ///
    /// ```
    /// # use apk_index::version::Version;
    /// assert_eq!(Version::parse("1..2").unwrap_err().offset(), 2);
    /// ```
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }
}

// ---------------------------------------------------------------------------------------------
// Version.

/// An owned, validated version string.
///
/// Equality and ordering follow [`compare`] under [`Rules::V3`], so `1.0-r1 == 1.0-r01` even
/// though the texts differ (which is why `Version` does not implement `Hash`). [`Display`]
/// prints the original text unchanged.
///
/// [`Display`]: fmt::Display
///
/// ```
/// use apk_index::version::Version;
///
/// let a = Version::parse("1.0-r1")?;
/// let b: Version = "1.0-r01".parse()?;
/// assert_eq!(a, b);
/// assert_eq!(b.to_string(), "1.0-r01");
/// assert!(Version::parse("1.0_rc1")? < Version::parse("1.0")?);
/// # Ok::<(), apk_index::version::ParseVersionError>(())
/// ```
#[derive(Clone)]
pub struct Version {
    text: Box<str>,
}

impl Version {
    /// Validate `text` under [`Rules::V3`] and keep a copy.
    ///
    /// # Errors
    ///
    /// A [`ParseVersionError`] naming the rule and byte offset when `text` is not valid.
    ///
    /// ```
    /// use apk_index::version::Version;
    ///
    /// assert_eq!(Version::parse("2.0_p1-r3")?.as_str(), "2.0_p1-r3");
    /// assert!(Version::parse("0.1bc").is_err());
    /// # Ok::<(), apk_index::version::ParseVersionError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Version, ParseVersionError> {
        Version::parse_with(text, Rules::V3)
    }

    /// Validate `text` under `rules` and keep a copy.
    ///
    /// # Errors
    ///
    /// A [`ParseVersionError`] naming the rule and byte offset when `text` is not valid.
    ///
    /// ```
    /// use apk_index::version::{Rules, Version};
    ///
    /// assert!(Version::parse_with("0.1a1", Rules::V2).is_ok());
    /// assert!(Version::parse_with("0.1a1", Rules::V3).is_err());
    /// ```
    pub fn parse_with(text: &str, rules: Rules) -> Result<Version, ParseVersionError> {
        match validate(text.as_bytes(), rules) {
            Ok(()) => Ok(Version { text: text.into() }),
            Err((kind, offset)) => Err(ParseVersionError {
                text: text.into(),
                kind,
                offset,
            }),
        }
    }

    /// The version text, exactly as parsed.
    ///
    /// ```
    /// use apk_index::version::Version;
    ///
    /// assert_eq!(Version::parse("1.02")?.as_str(), "1.02");
    /// # Ok::<(), apk_index::version::ParseVersionError>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Compare with another version under the given rules (the `Ord` impl uses [`Rules::V3`]).
    ///
    /// ```
    /// use apk_index::version::{Rules, Version};
    /// use std::cmp::Ordering;
    ///
    /// let a = Version::parse("8.2.0")?;
    /// let b = Version::parse("8.2.001")?;
    /// assert_eq!(a.compare_with(&b, Rules::V3), Ordering::Less);
    /// assert_eq!(a.compare_with(&b, Rules::V2), Ordering::Greater);
    /// # Ok::<(), apk_index::version::ParseVersionError>(())
    /// ```
    #[must_use]
    pub fn compare_with(&self, other: &Version, rules: Rules) -> Ordering {
        compare(self.text.as_bytes(), other.text.as_bytes(), rules)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Version").field(&self.text).finish()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Version {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl AsRef<str> for Version {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.compare_with(other, Rules::V3)
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cmp3(a: &str, b: &str) -> Ordering {
        compare(a.as_bytes(), b.as_bytes(), Rules::V3)
    }

    fn cmp2(a: &str, b: &str) -> Ordering {
        compare(a.as_bytes(), b.as_bytes(), Rules::V2)
    }

    #[test]
    fn section_4_table() {
        use Ordering::*;
        let table = [
            ("1.0", "1.0.0", Less),
            ("1.2.3", "1.2.3.0", Less),
            ("1.0", "1.0a", Less),
            ("1.0a", "1.0_alpha", Greater),
            ("1.0_rc1", "1.0", Less),
            ("1.0", "1.0_p1", Less),
            ("1.0_git1", "1.0", Greater),
            ("1.0-r0", "1.0", Greater),
            ("1.0-r1", "1.0.1", Less),
            ("1.0_rc1_p2", "1.0_rc1", Greater),
            ("2.0_p1", "2.0-r1", Greater),
            ("1.2", "1.10", Less),
            ("1.0-r1", "1.0-r01", Equal),
        ];
        for (a, b, want) in table {
            for rules in [Rules::V2, Rules::V3] {
                assert_eq!(
                    compare(a.as_bytes(), b.as_bytes(), rules),
                    want,
                    "{a} vs {b} {rules:?}"
                );
                assert_eq!(
                    compare(b.as_bytes(), a.as_bytes(), rules),
                    want.reverse(),
                    "{b} vs {a} {rules:?}"
                );
            }
        }
    }

    #[test]
    fn suffix_order() {
        let order = [
            "1.0_alpha",
            "1.0_beta",
            "1.0_pre",
            "1.0_rc",
            "1.0",
            "1.0_cvs",
            "1.0_svn",
            "1.0_git",
            "1.0_hg",
            "1.0_p",
        ];
        for pair in order.windows(2) {
            assert_eq!(cmp3(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(cmp2(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    #[test]
    fn leading_zeros() {
        use Ordering::*;
        assert_eq!(cmp3("8.2.0", "8.2.001"), Less);
        assert_eq!(cmp3("8.2.0015", "8.2.002"), Less);
        assert_eq!(cmp3("1.010", "1.01"), Greater);
        assert_eq!(cmp3("0.1", "0.01"), Greater);
        assert_eq!(cmp3("1.06-r6", "006"), Less);
        assert_eq!(cmp3("006", "6"), Equal);
        assert_eq!(cmp2("8.2.0", "8.2.001"), Greater);
        assert_eq!(cmp2("0.01", "0.06"), Less);
        assert_eq!(cmp2("1.2.07.8", "1.2.12.04"), Less);
    }

    #[test]
    fn hashes() {
        use Ordering::*;
        assert_eq!(cmp3("1.0~1234", "1.0~2345"), Less);
        assert_eq!(cmp3("1.0~1234-r1", "1.0~2345-r0"), Less);
        assert_eq!(cmp3("1.0~1234-r1", "1.0~1234-r0"), Greater);
    }

    #[test]
    fn huge_numbers() {
        use Ordering::*;
        let big = "1".repeat(500);
        let bigger = format!("2{}", &big[1..]);
        assert_eq!(cmp3(&big, &bigger), Less);
        assert_eq!(cmp3(&format!("0000{big}"), &big), Equal);
        assert_eq!(
            cmp3(&format!("1.0-r{big}"), &format!("1.0-r{bigger}")),
            Less
        );
        assert_eq!(cmp2(&format!("1.{big}"), &format!("1.{bigger}")), Less);
        assert!(is_valid(b"18446744073709551615", Rules::V3));
        assert!(is_valid(b"0018446744073709551615", Rules::V3));
        assert!(!is_valid(b"18446744073709551616", Rules::V3));
        assert!(!is_valid(b"1.0-r99999999999999999999", Rules::V3));
        assert!(is_valid(b"12345678901234567", Rules::V2));
        assert!(!is_valid(b"123456789012345678", Rules::V2));
    }

    #[test]
    fn invalid_inputs_are_ordered() {
        use Ordering::*;
        assert_eq!(cmp3("1.0", "1.0bc"), Less);
        assert_eq!(cmp3("23_foo", "4_beta"), Greater);
        assert_eq!(cmp2("1.0", "1.0bc"), Less);
        assert_eq!(compare(b"\xff\xfe", b"\xff\xfe", Rules::V3), Equal);
        assert_eq!(compare(b"1.0\xff", b"1.0\xfe", Rules::V3), Greater);
        assert_eq!(compare(b"", b"1", Rules::V3), Less);
    }

    #[test]
    fn fuzzy() {
        let f3 = |a: &str, b: &str| compare_fuzzy(a.as_bytes(), b.as_bytes(), Rules::V3);
        let f2 = |a: &str, b: &str| compare_fuzzy(a.as_bytes(), b.as_bytes(), Rules::V2);
        for a in [
            "3.6.0",
            "3.6.9",
            "3.6_pre1",
            "3.6.0_pre1",
            "3.6.9_post1",
            "3.6",
        ] {
            assert_eq!(f3(a, "3.6"), Ordering::Equal, "{a}");
        }
        assert_eq!(f3("3.8", "3.8.1"), Ordering::Less);
        assert_eq!(f3("3.8.0.1", "3.8.1"), Ordering::Less);
        assert_eq!(f3("3.6.9", "3.8"), Ordering::Less);
        assert_eq!(f2("3.8", "3.8.1"), Ordering::Equal);
        assert_eq!(f2("3.8.1", "3.8"), Ordering::Equal);
        assert_eq!(f2("3.7", "3.8"), Ordering::Less);
    }

    #[test]
    fn matches_ops() {
        let m = |a: &str, op: u8, b: &str| matches(a.as_bytes(), op, b.as_bytes(), Rules::V3);
        assert!(m("1.0", 1, "1.0"));
        assert!(m("1.0", 3, "1.0"));
        assert!(m("1.0", 5, "1.0"));
        assert!(!m("1.0", 2, "1.0"));
        assert!(!m("1.0", 4, "1.0"));
        assert!(m("3.5", 11, "3.6"));
        assert!(m("3.6.2", 11, "3.6"));
        assert!(m("3.7", 13, "3.6"));
        assert!(!m("3.7", 11, "3.6"));
        assert!(m("1.0", 6, "2.0"));
    }

    #[test]
    fn validity_v3() {
        let good = [
            "1",
            "1.2",
            "0.1_pre2",
            "0.1_pre2~1234abcd",
            "0.1_p1_pre2",
            "0.1_alpha1_pre2",
            "0.1_git20240101_pre1",
            "1.0a",
            "1.0a_rc1~0f-r0",
            "1.0-r0",
            "006",
        ];
        for v in good {
            assert!(is_valid(v.as_bytes(), Rules::V3), "{v}");
        }
        let bad = [
            "",
            "0.1bc",
            "0.1bc1",
            "0.1a1",
            "0.1a.1",
            "0.1_pre2~",
            "0.1_pre2~1234xbcd",
            "0.1_pre2~1234abcd_pre1",
            "0.1_pre2-r1~1234xbcd",
            "0.1_foobar",
            "0.1_foobar1",
            "0.1-pre1.1",
            "0.1-r",
            "0.1-r2_pre1",
            "0.1-r2_p3_pre1",
            "0.1-r2-r3",
            "0.1-r2.1",
            ".1",
            "a",
            "_pre1",
            "-r1",
            "0.1_",
            "0.1_-r0",
            "0.1__alpha",
            "0.1_1_alpha",
            "1.",
            "1..2",
            "1.0 ",
            "1.0A",
            "1.0~ABC",
            "1.0_prefoo",
        ];
        for v in bad {
            assert!(!is_valid(v.as_bytes(), Rules::V3), "{v}");
        }
        assert!(!is_valid(b"1.0\xff", Rules::V3));
    }

    #[test]
    fn validity_v2() {
        let good = [
            "a",
            ".1",
            "_pre1",
            "1.0_",
            "0.1a1",
            "1.0_prefoo1",
            "1.0-r1",
            "1.2.3_rc1_p2-r3",
            "1.0.0_pre20191002222144-r0",
        ];
        for v in good {
            assert!(is_valid(v.as_bytes(), Rules::V2), "{v}");
        }
        let bad = [
            "",
            "1.0bc",
            "0.1_foobar",
            "1.0~abc",
            "1.0-r",
            "1.0-x",
            "1.0-r1-r2",
            "1.0-r1_p1",
            "1..2",
            "1.",
            "1.0 ",
            "1.0A",
        ];
        for v in bad {
            assert!(!is_valid(v.as_bytes(), Rules::V2), "{v}");
        }
    }

    #[test]
    fn error_details() {
        let e = |s: &str| {
            let err = Version::parse(s).expect_err(s);
            (err.kind(), err.offset())
        };
        assert_eq!(e(""), (K::Empty, 0));
        assert_eq!(e(".1"), (K::ExpectedDigit, 0));
        assert_eq!(e("1..2"), (K::ExpectedDigit, 2));
        assert_eq!(e("0.1_foobar"), (K::UnknownSuffix, 4));
        assert_eq!(e("0.1_"), (K::UnknownSuffix, 4));
        assert_eq!(e("0.1_pre2~"), (K::BadHash, 9));
        assert_eq!(e("0.1~12x"), (K::BadHash, 6));
        assert_eq!(e("0.1-r"), (K::BadRevision, 5));
        assert_eq!(e("0.1-pre1"), (K::BadRevision, 4));
        assert_eq!(e("0.1bc"), (K::UnexpectedCharacter, 4));
        assert_eq!(e("0.1-r2-r3"), (K::UnexpectedCharacter, 6));
        assert_eq!(e("1.99999999999999999999"), (K::NumberTooLarge, 2));
        assert_eq!(
            Version::parse("0.1_foobar").map_err(|e| e.to_string()),
            Err("invalid version '0.1_foobar': unknown suffix at byte 4".to_owned())
        );
        assert_eq!(
            Version::parse("").map_err(|e| e.to_string()),
            Err("invalid version '': empty version".to_owned())
        );
    }

    #[test]
    fn version_type() {
        let a = Version::parse("1.0-r1").expect("valid");
        let b = Version::parse("1.0-r01").expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert_eq!(b.to_string(), "1.0-r01");
        assert_eq!(b.as_ref(), "1.0-r01");
        assert_eq!(format!("{a:?}"), "Version(\"1.0-r1\")");
        let mut v: Vec<Version> = ["1.0", "1.0_rc1", "1.0-r0", "0.9", "1.0a"]
            .iter()
            .map(|s| s.parse().expect("valid"))
            .collect();
        v.sort();
        let sorted: Vec<&str> = v.iter().map(Version::as_str).collect();
        assert_eq!(sorted, ["0.9", "1.0_rc1", "1.0", "1.0-r0", "1.0a"]);
    }

    const VALID_V3: &str = "[0-9]{1,6}(\\.[0-9]{1,6}){0,3}[a-z]?\
        (_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]{0,4}){0,3}(~[0-9a-f]{1,8})?(-r[0-9]{1,3})?";

    /// Bytes drawn mostly from the characters versions are made of.
    fn version_ish() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                8 => prop::sample::select(b"0123456789.._-r~abcpgz".to_vec()),
                1 => any::<u8>(),
            ],
            0..24,
        )
    }

    /// [`compare`] without the shared-prefix shortcut.
    fn compare_reference(a: &[u8], b: &[u8], rules: Rules) -> Ordering {
        compare_from(a, b, 0, rules)
    }

    /// [`compare_fuzzy`] without the shared-prefix shortcut.
    fn compare_fuzzy_reference(a: &[u8], b: &[u8], rules: Rules) -> Ordering {
        let (mut ta, mut tb) = (
            Tokens::starting_at(a, 0, rules),
            Tokens::starting_at(b, 0, rules),
        );
        loop {
            let (x, y) = (ta.next_tok(), tb.next_tok());
            let done = match rules {
                Rules::V3 => y.is_end(),
                Rules::V2 => x.is_end() || y.is_end(),
            };
            if done {
                return Ordering::Equal;
            }
            match x.cmp(&y) {
                Ordering::Equal => {}
                other => return other,
            }
        }
    }

    #[test]
    fn shared_restart_points() {
        assert_eq!(shared_restart(b"1.2.3", b"1.2.4"), 3);
        assert_eq!(shared_restart(b"1.2.3", b"1.3"), 1);
        assert_eq!(shared_restart(b"1.2", b"1.2"), 1);
        assert_eq!(shared_restart(b"12.3", b"13.3"), 0);
        assert_eq!(shared_restart(b"1..2", b"1..3"), 1);
        assert_eq!(shared_restart(b"1.0a.5", b"1.0a.6"), 1);
        assert_eq!(shared_restart(b".1.2", b".1.3"), 2);
    }

    proptest! {
        #[test]
        fn shortcut_matches_reference(a in version_ish(), b in version_ish()) {
            // Share a random prefix so the shortcut actually kicks in.
            let b = [&a[..a.len() / 2], &b[..]].concat();
            for rules in [Rules::V2, Rules::V3] {
                prop_assert_eq!(compare(&a, &b, rules), compare_reference(&a, &b, rules));
                prop_assert_eq!(compare_fuzzy(&a, &b, rules), compare_fuzzy_reference(&a, &b, rules));
                prop_assert_eq!(compare_fuzzy(&b, &a, rules), compare_fuzzy_reference(&b, &a, rules));
            }
        }

        #[test]
        fn valid_versions_round_trip(s in VALID_V3) {
            prop_assert!(is_valid(s.as_bytes(), Rules::V3));
            let v = Version::parse(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(v.to_string(), s.clone());
            let back: Version = v.to_string().parse().map_err(|e: ParseVersionError| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back.as_str(), s.as_str());
            prop_assert_eq!(back.cmp(&v), Ordering::Equal);
        }

        #[test]
        fn compare_antisymmetric_any_bytes(a in any::<Vec<u8>>(), b in any::<Vec<u8>>()) {
            for rules in [Rules::V2, Rules::V3] {
                prop_assert_eq!(compare(&a, &b, rules), compare(&b, &a, rules).reverse());
                prop_assert_eq!(compare(&a, &a, rules), Ordering::Equal);
                let _ = compare_fuzzy(&a, &b, rules);
                let _ = is_valid(&a, rules);
            }
        }

        #[test]
        fn compare_antisymmetric_version_ish(a in version_ish(), b in version_ish()) {
            for rules in [Rules::V2, Rules::V3] {
                prop_assert_eq!(compare(&a, &b, rules), compare(&b, &a, rules).reverse());
                for op in 0..16u8 {
                    let _ = matches(&a, op, &b, rules);
                }
                let _ = is_valid(&a, rules);
            }
        }

        #[test]
        fn compare_transitive(a in version_ish(), b in version_ish(), c in version_ish()) {
            for rules in [Rules::V2, Rules::V3] {
                let (ab, bc, ac) = (compare(&a, &b, rules), compare(&b, &c, rules), compare(&a, &c, rules));
                if ab != Ordering::Greater && bc != Ordering::Greater {
                    prop_assert_ne!(ac, Ordering::Greater);
                }
                if ab == Ordering::Equal && bc == Ordering::Equal {
                    prop_assert_eq!(ac, Ordering::Equal);
                }
            }
        }

        #[test]
        fn v2_accepts_valid_v3_without_hash(s in VALID_V3) {
            let no_hash: String = match s.split_once('~') {
                Some((head, tail)) => {
                    let rev = tail.find('-').map_or("", |i| &tail[i..]);
                    format!("{head}{rev}")
                }
                None => s.clone(),
            };
            prop_assert!(is_valid(no_hash.as_bytes(), Rules::V2), "{}", no_hash);
        }
    }
}
