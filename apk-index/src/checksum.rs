//! Binary digests as apk writes them in text: `Q1…`, `X1…`, `Q2…`, `X2…` and bare-hex MD5.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

/// Standard base64 that ignores stray low bits in the last character, as apk-tools' decoder
/// does (so `…yysF=` and `…yysE=` are the same digest).
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// The hash function behind a [`Checksum`], as far as its text form tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumKind {
    /// Legacy MD5 (32 hex digits, no prefix). apk-tools 3 no longer accepts it.
    Md5,
    /// A 20-byte digest: SHA-1, or SHA-256 cut to 160 bits where the installed db says so (`f:S`).
    Sha1,
    /// A full 32-byte SHA-256 digest.
    Sha256,
}

/// How a [`Checksum`] was (and will again be) spelled in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumForm {
    /// `Q1` + base64: the normal form of SHA-1 (and of a SHA-256 too long for SHA-1, in v3).
    Q1,
    /// `X1` + hex.
    X1,
    /// `Q2` + base64 of SHA-256.
    Q2,
    /// `X2` + hex of SHA-256.
    X2,
    /// 32 hex digits with no prefix: MD5.
    Md5Hex,
}

/// A digest with the text form it came in, so that printing gives the same text back.
///
/// ```
/// use apk_index::Checksum;
/// let c: Checksum = "Q1FF4YFta38d5wuxH9v4onw2JUKW0=".parse()?;
/// assert_eq!(c.as_bytes().len(), 20);
/// assert_eq!(c.to_string(), "Q1FF4YFta38d5wuxH9v4onw2JUKW0=");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum {
    bytes: [u8; 32],
    len: u8,
    form: ChecksumForm,
}

/// Returned by [`Checksum::parse`] when the text is not a checksum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid checksum '{text}': {kind}")]
pub struct ParseChecksumError {
    text: String,
    kind: ParseChecksumErrorKind,
}

impl ParseChecksumError {
    /// The text that was rejected.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Why it was rejected.
    pub fn kind(&self) -> ParseChecksumErrorKind {
        self.kind
    }
}

/// Why a checksum was rejected; see [`ParseChecksumError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseChecksumErrorKind {
    /// Neither `Q1`, `X1`, `Q2`, `X2` nor 32 hex digits.
    #[error("unknown prefix (expected Q1, X1, Q2, X2 or 32 hex digits)")]
    UnknownPrefix,
    /// The base64 part does not decode.
    #[error("bad base64")]
    BadBase64,
    /// The hex part has a non-hex digit or an odd length.
    #[error("bad hex")]
    BadHex,
    /// The digest has a length no supported hash has.
    #[error("wrong digest length")]
    BadLength,
}

impl Checksum {
    /// Build a checksum from raw digest bytes (20 bytes: SHA-1, 32: SHA-256, 16: MD5) and a form.
    ///
    /// Returns `None` when the length does not fit the form.
    ///
    /// ```
    /// use apk_index::{Checksum, ChecksumForm};
    /// let c = Checksum::from_digest(&[0u8; 20], ChecksumForm::Q1).unwrap();
    /// assert_eq!(c.to_string(), "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    /// ```
    pub fn from_digest(digest: &[u8], form: ChecksumForm) -> Option<Checksum> {
        let ok = match form {
            ChecksumForm::Q1 | ChecksumForm::X1 => digest.len() == 20 || digest.len() == 32,
            ChecksumForm::Q2 | ChecksumForm::X2 => digest.len() == 32,
            ChecksumForm::Md5Hex => digest.len() == 16,
        };
        if !ok {
            return None;
        }
        let mut bytes = [0u8; 32];
        bytes[..digest.len()].copy_from_slice(digest);
        Some(Checksum {
            bytes,
            len: digest.len() as u8,
            form,
        })
    }

    /// A SHA-1 digest in the usual `Q1` form.
    ///
    /// ```
    /// use apk_index::Checksum;
    /// assert!(Checksum::sha1([1u8; 20]).to_string().starts_with("Q1"));
    /// ```
    pub fn sha1(digest: [u8; 20]) -> Checksum {
        let mut bytes = [0u8; 32];
        bytes[..20].copy_from_slice(&digest);
        Checksum {
            bytes,
            len: 20,
            form: ChecksumForm::Q1,
        }
    }

    /// Parse any of the text forms.
    ///
    /// ```
    /// use apk_index::{Checksum, ChecksumKind};
    /// let md5 = Checksum::parse(b"0123456789abcdef0123456789abcdef")?;
    /// assert_eq!(md5.kind(), ChecksumKind::Md5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(text: &[u8]) -> Result<Checksum, ParseChecksumError> {
        Self::parse_inner(text, false).map_err(|kind| ParseChecksumError {
            text: String::from_utf8_lossy(text).into_owned(),
            kind,
        })
    }

    /// Parse the way apk-tools reads a `C:` field: like [`Checksum::parse`], except that a
    /// base64 form whose last character carries stray low bits is accepted and means the
    /// digest those bits are dropped from. Two such spellings of one digest are one package
    /// identity to apk. The result prints in canonical form, so it may not print back as read.
    ///
    /// ```
    /// use apk_index::Checksum;
    /// let odd = b"Q1hdUpqRv5mYgJEqW52UmVsvmyysF=";
    /// assert!(Checksum::parse(odd).is_err());
    /// let c = Checksum::parse_lenient(odd)?;
    /// assert_eq!(c, Checksum::parse(b"Q1hdUpqRv5mYgJEqW52UmVsvmyysE=")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_lenient(text: &[u8]) -> Result<Checksum, ParseChecksumError> {
        Self::parse_inner(text, true).map_err(|kind| ParseChecksumError {
            text: String::from_utf8_lossy(text).into_owned(),
            kind,
        })
    }

    fn parse_inner(text: &[u8], lenient: bool) -> Result<Checksum, ParseChecksumErrorKind> {
        let mut bytes = [0u8; 32];
        let (form, body) = match text {
            [b'Q', b'1', rest @ ..] => (ChecksumForm::Q1, rest),
            [b'X', b'1', rest @ ..] => (ChecksumForm::X1, rest),
            [b'Q', b'2', rest @ ..] => (ChecksumForm::Q2, rest),
            [b'X', b'2', rest @ ..] => (ChecksumForm::X2, rest),
            _ if text.len() == 32 && text.iter().all(u8::is_ascii_hexdigit) => {
                (ChecksumForm::Md5Hex, text)
            }
            _ => return Err(ParseChecksumErrorKind::UnknownPrefix),
        };
        let len = match form {
            ChecksumForm::Q1 | ChecksumForm::Q2 => {
                // 20 bytes encode to 28 characters, 32 bytes to 44.
                if body.len() != 28 && body.len() != 44 {
                    return Err(ParseChecksumErrorKind::BadLength);
                }
                let decoded = if lenient {
                    BASE64_LENIENT.decode_slice(body, &mut bytes)
                } else {
                    BASE64.decode_slice(body, &mut bytes)
                };
                decoded.map_err(|_| ParseChecksumErrorKind::BadBase64)?
            }
            ChecksumForm::X1 | ChecksumForm::X2 | ChecksumForm::Md5Hex => {
                if body.len() % 2 != 0 || body.len() > 64 {
                    return Err(ParseChecksumErrorKind::BadHex);
                }
                for (i, pair) in body.chunks_exact(2).enumerate() {
                    let hi = hex_value(pair[0]).ok_or(ParseChecksumErrorKind::BadHex)?;
                    let lo = hex_value(pair[1]).ok_or(ParseChecksumErrorKind::BadHex)?;
                    bytes[i] = (hi << 4) | lo;
                }
                body.len() / 2
            }
        };
        // The base64 engine refuses non-canonical padding and stray low bits, so a `Q` form
        // prints back as read. Hex prints in lower case: refuse upper case, which would not.
        if matches!(
            form,
            ChecksumForm::X1 | ChecksumForm::X2 | ChecksumForm::Md5Hex
        ) && body.iter().any(u8::is_ascii_uppercase)
        {
            return Err(ParseChecksumErrorKind::BadHex);
        }
        Checksum::from_digest(&bytes[..len], form).ok_or(ParseChecksumErrorKind::BadLength)
    }

    /// The digest bytes.
    ///
    /// ```
    /// use apk_index::Checksum;
    /// assert_eq!(Checksum::sha1([7u8; 20]).as_bytes(), &[7u8; 20]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The text form this checksum prints in.
    ///
    /// ```
    /// use apk_index::{Checksum, ChecksumForm};
    /// assert_eq!(Checksum::sha1([0; 20]).form(), ChecksumForm::Q1);
    /// ```
    pub fn form(&self) -> ChecksumForm {
        self.form
    }

    /// Which hash this is, judged by form and length.
    ///
    /// ```
    /// use apk_index::{Checksum, ChecksumKind};
    /// assert_eq!(Checksum::sha1([0; 20]).kind(), ChecksumKind::Sha1);
    /// ```
    pub fn kind(&self) -> ChecksumKind {
        match (self.form, self.len) {
            (ChecksumForm::Md5Hex, _) => ChecksumKind::Md5,
            (_, 20) => ChecksumKind::Sha1,
            _ => ChecksumKind::Sha256,
        }
    }

    /// The first 4 bytes as 8 lower-case hex digits, as used in cache file names.
    ///
    /// ```
    /// use apk_index::Checksum;
    /// assert_eq!(Checksum::sha1([0xab; 20]).short_hex(), "abababab");
    /// ```
    pub fn short_hex(&self) -> String {
        let mut s = String::with_capacity(8);
        for b in self.as_bytes().iter().take(4) {
            push_hex(&mut s, *b);
        }
        s
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn push_hex(s: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    s.push(char::from(DIGITS[usize::from(b >> 4)]));
    s.push(char::from(DIGITS[usize::from(b & 15)]));
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.form {
            ChecksumForm::Q1 => "Q1",
            ChecksumForm::X1 => "X1",
            ChecksumForm::Q2 => "Q2",
            ChecksumForm::X2 => "X2",
            ChecksumForm::Md5Hex => "",
        };
        f.write_str(prefix)?;
        match self.form {
            ChecksumForm::Q1 | ChecksumForm::Q2 => {
                let mut buf = [0u8; 44];
                let n = BASE64
                    .encode_slice(self.as_bytes(), &mut buf)
                    .map_err(|_| fmt::Error)?;
                // Base64 output is ASCII.
                f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
            }
            _ => {
                let mut s = String::with_capacity(64);
                for b in self.as_bytes() {
                    push_hex(&mut s, *b);
                }
                f.write_str(&s)
            }
        }
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({self})")
    }
}

impl FromStr for Checksum {
    type Err = ParseChecksumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Checksum::parse(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip() {
        for text in [
            "Q1FF4YFta38d5wuxH9v4onw2JUKW0=",
            "X1000102030405060708090a0b0c0d0e0f10111213",
            "0123456789abcdef0123456789abcdef",
            "Q2AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "X2000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "Q1AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ] {
            let c = Checksum::parse(text.as_bytes()).unwrap();
            assert_eq!(c.to_string(), text);
        }
        assert_eq!(
            Checksum::parse(b"Q1AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
                .unwrap()
                .kind(),
            ChecksumKind::Sha256
        );
    }

    #[test]
    fn rejects() {
        for text in [
            "",
            "Q1",
            "Q1abc",
            "Z1aaaa",
            "X1zz",
            "X1abc",
            "Q1!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(Checksum::parse(text.as_bytes()).is_err(), "{text}");
        }
        // Non-canonical base64 (stray low bits) would not print back the same: refused.
        assert!(Checksum::parse(b"Q1FF4YFta38d5wuxH9v4onw2JUKW1=").is_err());
    }
}
