//! Keys: the trusted public keys that check signatures, and the private keys that make them.
//!
//! apk knows a public key by the **name of its file** in the keys directory (for example
//! `alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`). A signature entry in an archive is
//! named `.SIGN.<ALG>.<key file name>`, and a signature is checked only against the key with
//! exactly that name. [`KeySet`] is that directory held in memory: a map from file name to
//! [`PublicKey`].
//!
//! Signatures are RSA PKCS#1 v1.5 over a digest chosen by the entry's algorithm
//! ([`SignatureAlgorithm`]): `RSA` is SHA-1, `RSA256` is SHA-256, `RSA512` is SHA-512. The legacy
//! `DSA` algorithm is not supported; its entries are treated as unknown and skipped.
//!
//! [`SigningKey`] is a private key together with the public key name it signs as. abuild's
//! convention is that the private key `foo.rsa` signs as `foo.rsa.pub`, which is what
//! [`SigningKey::from_file`] does.
//!
//! Keys are RSA, or ECDSA over P-256 (`prime256v1`, what OpenWrt signs its v3 repositories
//! with). The v2 `.SIGN.*` signatures are RSA only; v3 (ADB) signatures may be either
//! ([`PublicKey::verify_adb`], [`SigningKey::sign_adb`]).
//!
//! ```
//! use apk_index::keys::{KeySet, SignatureAlgorithm, parse_sign_entry_name};
//!
//! let (alg, key) = parse_sign_entry_name(".SIGN.RSA256.builder@example.org-1234.rsa.pub")
//!     .expect("an RSA256 signature entry");
//! assert_eq!(alg, SignatureAlgorithm::RsaSha256);
//! assert_eq!(key, "builder@example.org-1234.rsa.pub");
//!
//! let keys = KeySet::new();
//! assert!(keys.get(key).is_none());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

/// The smallest RSA modulus, in bits, that a [`SigningKey`] accepts.
///
/// Smaller keys are insecure, and a PKCS#1 v1.5 SHA-512 signature does not fit in them.
pub const MIN_SIGNING_KEY_BITS: usize = 1024;

/// A signature algorithm of apk's `.SIGN.<ALG>.<key>` entries: RSA PKCS#1 v1.5 with a digest.
///
/// Its text form is the `<ALG>` part of the entry name (`RSA`, `RSA256`, `RSA512`).
///
/// ```
/// use apk_index::keys::SignatureAlgorithm;
///
/// let alg: SignatureAlgorithm = "RSA256".parse()?;
/// assert_eq!(alg, SignatureAlgorithm::RsaSha256);
/// assert_eq!(alg.to_string(), "RSA256");
/// assert_eq!(SignatureAlgorithm::from_sign_name("DSA"), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignatureAlgorithm {
    /// `RSA`: RSA PKCS#1 v1.5 over SHA-1; what abuild and Alpine's index signing produce.
    RsaSha1,
    /// `RSA256`: RSA PKCS#1 v1.5 over SHA-256.
    RsaSha256,
    /// `RSA512`: RSA PKCS#1 v1.5 over SHA-512.
    RsaSha512,
}

impl SignatureAlgorithm {
    /// All supported algorithms, weakest digest first.
    pub const ALL: [SignatureAlgorithm; 3] = [
        SignatureAlgorithm::RsaSha1,
        SignatureAlgorithm::RsaSha256,
        SignatureAlgorithm::RsaSha512,
    ];

    /// The algorithm named `name` in a `.SIGN.<name>.<key>` entry, or `None` for `DSA` and
    /// anything unknown. Case-sensitive, as apk is.
    pub fn from_sign_name(name: &str) -> Option<SignatureAlgorithm> {
        match name {
            "RSA" => Some(SignatureAlgorithm::RsaSha1),
            "RSA256" => Some(SignatureAlgorithm::RsaSha256),
            "RSA512" => Some(SignatureAlgorithm::RsaSha512),
            _ => None,
        }
    }

    /// The name of the algorithm in a `.SIGN.<name>.<key>` entry.
    pub fn sign_name(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha1 => "RSA",
            SignatureAlgorithm::RsaSha256 => "RSA256",
            SignatureAlgorithm::RsaSha512 => "RSA512",
        }
    }

    /// The length in bytes of this algorithm's digest (20, 32 or 64).
    pub fn digest_len(self) -> usize {
        match self {
            SignatureAlgorithm::RsaSha1 => 20,
            SignatureAlgorithm::RsaSha256 => 32,
            SignatureAlgorithm::RsaSha512 => 64,
        }
    }

    /// The digest of `message` under this algorithm's hash function.
    ///
    /// ```
    /// use apk_index::keys::SignatureAlgorithm;
    ///
    /// assert_eq!(SignatureAlgorithm::RsaSha256.digest(b"").len(), 32);
    /// ```
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            SignatureAlgorithm::RsaSha1 => Sha1::digest(message).to_vec(),
            SignatureAlgorithm::RsaSha256 => Sha256::digest(message).to_vec(),
            SignatureAlgorithm::RsaSha512 => Sha512::digest(message).to_vec(),
        }
    }

    /// The PKCS#1 v1.5 padding scheme (the DigestInfo prefix) for this digest.
    fn padding(self) -> Pkcs1v15Sign {
        match self {
            SignatureAlgorithm::RsaSha1 => Pkcs1v15Sign::new::<Sha1>(),
            SignatureAlgorithm::RsaSha256 => Pkcs1v15Sign::new::<Sha256>(),
            SignatureAlgorithm::RsaSha512 => Pkcs1v15Sign::new::<Sha512>(),
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sign_name())
    }
}

impl FromStr for SignatureAlgorithm {
    type Err = ParseSignatureAlgorithmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignatureAlgorithm::from_sign_name(s)
            .ok_or_else(|| ParseSignatureAlgorithmError { name: s.to_owned() })
    }
}

/// Returned by [`SignatureAlgorithm::from_str`] for a name other than `RSA`, `RSA256`, `RSA512`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signature algorithm {name:?}")]
pub struct ParseSignatureAlgorithmError {
    name: String,
}

impl ParseSignatureAlgorithmError {
    /// The name that was not recognised.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One `.SIGN.<ALG>.<key name>` entry, in a signed index archive or a package.
///
/// ```
/// use apk_index::keys::{Signature, SignatureAlgorithm};
/// let sig = Signature::from_entry(".SIGN.RSA256.build.rsa.pub", vec![1, 2, 3]).unwrap();
/// assert_eq!(sig.algorithm(), SignatureAlgorithm::RsaSha256);
/// assert_eq!(sig.key_name(), "build.rsa.pub");
/// assert_eq!(sig.signature(), &[1, 2, 3]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    algorithm: SignatureAlgorithm,
    key_name: String,
    signature: Vec<u8>,
}

impl Signature {
    /// A signature by the key named `key_name`.
    pub fn new(
        algorithm: SignatureAlgorithm,
        key_name: impl Into<String>,
        signature: Vec<u8>,
    ) -> Self {
        Signature {
            algorithm,
            key_name: key_name.into(),
            signature,
        }
    }

    /// The signature held by an archive entry named `.SIGN.<ALG>.<key name>`, or `None` when
    /// the name is not that of a supported signature (see [`parse_sign_entry_name`]).
    pub fn from_entry(entry_name: &str, signature: Vec<u8>) -> Option<Self> {
        parse_sign_entry_name(entry_name)
            .map(|(algorithm, key_name)| Signature::new(algorithm, key_name, signature))
    }

    /// The signature algorithm, from the `<ALG>` part of the entry name.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The file name of the public key that checks this signature.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The raw RSA signature (the entry's contents).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("algorithm", &self.algorithm)
            .field("key_name", &self.key_name)
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

/// Which trusted key and algorithm proved an index or package authentic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBy {
    key_name: String,
    algorithm: SignatureAlgorithm,
}

impl VerifiedBy {
    /// The file name of the trusted key whose signature checked out.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The algorithm of that signature.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
}

/// Why a set of signatures did not prove something authentic; see [`check_signatures`].
/// Callers turn it into their own error ("index is not signed", "package is not signed", …).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// There is no (supported) signature.
    Unsigned,
    /// No signature is by a trusted key; the key names of all signatures, in order.
    UntrustedKey(Vec<String>),
    /// The first signature by a trusted key does not match; that key's name.
    BadSignature(String),
}

/// apk's rule for signed archives: signatures are tried in order, those whose key is not in
/// `keys` are skipped, and the first one whose key is trusted decides. `digest` gives the digest
/// of the signed bytes for an algorithm (`None` if it was not computed, which fails the check).
///
/// ```
/// use apk_index::keys::{check_signatures, KeySet, Rejection};
/// assert_eq!(check_signatures(&[], &KeySet::new(), |_| None), Err(Rejection::Unsigned));
/// ```
pub fn check_signatures<'d>(
    signatures: &[Signature],
    keys: &KeySet,
    digest: impl Fn(SignatureAlgorithm) -> Option<&'d [u8]>,
) -> Result<VerifiedBy, Rejection> {
    if signatures.is_empty() {
        return Err(Rejection::Unsigned);
    }
    for sig in signatures {
        let Some(key) = keys.get(&sig.key_name) else {
            continue;
        };
        let good = digest(sig.algorithm)
            .is_some_and(|d| key.verify_digest(sig.algorithm, d, &sig.signature));
        return if good {
            Ok(VerifiedBy {
                key_name: sig.key_name.clone(),
                algorithm: sig.algorithm,
            })
        } else {
            Err(Rejection::BadSignature(sig.key_name.clone()))
        };
    }
    Err(Rejection::UntrustedKey(
        signatures.iter().map(|s| s.key_name.clone()).collect(),
    ))
}

/// Splits a signature entry name `.SIGN.<ALG>.<key name>` into its algorithm and key name.
///
/// Returns `None` when `name` is not a signature entry, when the algorithm is not supported
/// (`DSA` or unknown), or when the key name is empty or contains a `/` (a key name is a file
/// name, never a path).
///
/// ```
/// use apk_index::keys::{SignatureAlgorithm, parse_sign_entry_name};
///
/// assert_eq!(
///     parse_sign_entry_name(".SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"),
///     Some((SignatureAlgorithm::RsaSha1, "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")),
/// );
/// assert_eq!(parse_sign_entry_name(".SIGN.DSA.old.pub"), None);
/// assert_eq!(parse_sign_entry_name("APKINDEX"), None);
/// ```
pub fn parse_sign_entry_name(name: &str) -> Option<(SignatureAlgorithm, &str)> {
    let rest = name.strip_prefix(".SIGN.")?;
    let (alg, key_name) = rest.split_once('.')?;
    let alg = SignatureAlgorithm::from_sign_name(alg)?;
    if key_name.is_empty() || key_name.contains('/') {
        return None;
    }
    Some((alg, key_name))
}

/// A public key that checks apk signatures: RSA (v2 and v3), or ECDSA P-256 (v3 only).
///
/// ```
/// use apk_index::keys::PublicKey;
///
/// let pem = b"-----BEGIN PUBLIC KEY-----
/// MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAPW/GbcXJXm7F8vR+M0NZWh+sx1uO+dD
/// aSnYsHZ/5qfrcks6aYihF1olMqyda9J3RlElZK03N92bqICC+XQMTukCAwEAAQ==
/// -----END PUBLIC KEY-----
/// ";
/// let key = PublicKey::from_pem(pem)?;
/// assert_eq!(key.bits(), 512);
/// assert_eq!(PublicKey::from_pem(key.to_pem().as_bytes())?, key);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: PublicInner,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicInner {
    Rsa(RsaPublicKey),
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match &self.key {
            PublicInner::Rsa(k) => k.hash(state),
            PublicInner::EcdsaP256(k) => k.to_encoded_point(false).as_bytes().hash(state),
        }
    }
}

/// The kind of a [`PublicKey`] or [`SigningKey`].
///
/// ```
/// use apk_index::keys::{KeyKind, SigningKey};
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// # use rand::SeedableRng;
/// let key = SigningKey::generate_ecdsa_p256("openwrt.pem", &mut rng)?;
/// assert_eq!(key.public_key().kind(), KeyKind::EcdsaP256);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA (any of the v2 algorithms, and v3 with SHA-512).
    Rsa,
    /// ECDSA over NIST P-256 (`prime256v1`); v3 signatures only.
    EcdsaP256,
}

impl PublicKey {
    /// Parses a PEM public key: SPKI (`-----BEGIN PUBLIC KEY-----`, what Alpine's key files
    /// hold; an RSA or an ECDSA P-256 key) or PKCS#1 (`-----BEGIN RSA PUBLIC KEY-----`). Text
    /// before the PEM block is ignored.
    ///
    /// Moduli above 4096 bits are rejected (the limit of the `rsa` crate), as are elliptic
    /// curves other than P-256.
    pub fn from_pem(pem: &[u8]) -> Result<PublicKey, ParseKeyError> {
        let text = std::str::from_utf8(pem).map_err(|_| ParseKeyError::NotText)?;
        let key = if let Some(start) = text.find(SPKI_BEGIN) {
            let spki = &text[start..];
            match RsaPublicKey::from_public_key_pem(spki) {
                Ok(key) => PublicInner::Rsa(key),
                Err(rsa_error) => match p256::ecdsa::VerifyingKey::from_public_key_pem(spki) {
                    Ok(key) => PublicInner::EcdsaP256(key),
                    Err(_) => return Err(ParseKeyError::Spki(rsa_error)),
                },
            }
        } else if let Some(start) = text.find(PKCS1_PUBLIC_BEGIN) {
            PublicInner::Rsa(
                RsaPublicKey::from_pkcs1_pem(&text[start..]).map_err(ParseKeyError::Pkcs1)?,
            )
        } else {
            return Err(ParseKeyError::NoPublicKey);
        };
        Ok(PublicKey { key })
    }

    /// The key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, `\n` line endings), the form of
    /// Alpine's `*.rsa.pub` files.
    pub fn to_pem(&self) -> String {
        let pem = match &self.key {
            PublicInner::Rsa(k) => k.to_public_key_pem(LineEnding::LF),
            PublicInner::EcdsaP256(k) => k.to_public_key_pem(LineEnding::LF),
        };
        pem.expect("a validated public key always encodes as SPKI")
    }

    /// The size of the key in bits: the RSA modulus, or 256 for P-256.
    pub fn bits(&self) -> usize {
        match &self.key {
            PublicInner::Rsa(k) => k.n().bits(),
            PublicInner::EcdsaP256(_) => 256,
        }
    }

    /// RSA or ECDSA P-256.
    pub fn kind(&self) -> KeyKind {
        match &self.key {
            PublicInner::Rsa(_) => KeyKind::Rsa,
            PublicInner::EcdsaP256(_) => KeyKind::EcdsaP256,
        }
    }

    /// The underlying `rsa` key, for an RSA key.
    pub fn as_rsa(&self) -> Option<&RsaPublicKey> {
        match &self.key {
            PublicInner::Rsa(k) => Some(k),
            PublicInner::EcdsaP256(_) => None,
        }
    }

    /// The underlying `p256` key, for an ECDSA P-256 key.
    pub fn as_ecdsa_p256(&self) -> Option<&p256::ecdsa::VerifyingKey> {
        match &self.key {
            PublicInner::Rsa(_) => None,
            PublicInner::EcdsaP256(k) => Some(k),
        }
    }

    /// Whether `signature` is a valid RSA PKCS#1 v1.5 signature of `message` under `alg` (a
    /// v2 signature; an ECDSA key gives `false`).
    ///
    /// The message is hashed with the algorithm's digest first; see
    /// [`verify_digest`](Self::verify_digest) when the digest is already known.
    pub fn verify(&self, alg: SignatureAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        self.verify_digest(alg, &alg.digest(message), signature)
    }

    /// Whether `signature` is a valid RSA PKCS#1 v1.5 signature over `digest`, a digest made
    /// with `alg`'s hash function (for callers that hash a stream as it goes by).
    ///
    /// A digest of the wrong length, or an ECDSA key, gives `false`.
    pub fn verify_digest(&self, alg: SignatureAlgorithm, digest: &[u8], signature: &[u8]) -> bool {
        if digest.len() != alg.digest_len() {
            return false;
        }
        match &self.key {
            PublicInner::Rsa(k) => k.verify(alg.padding(), digest, signature).is_ok(),
            PublicInner::EcdsaP256(_) => false,
        }
    }

    /// Whether `signature` is a valid v3 (ADB) signature of `message` with SHA-512 as its
    /// digest: RSA PKCS#1 v1.5, or for a P-256 key ECDSA with a DER-encoded signature.
    ///
    /// ```
    /// use apk_index::keys::SigningKey;
    /// # use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    /// let key = SigningKey::generate_ecdsa_p256("openwrt.pem", &mut rng)?;
    /// let signature = key.sign_adb(b"message")?;
    /// assert!(key.public_key().verify_adb(b"message", &signature));
    /// assert!(!key.public_key().verify_adb(b"massage", &signature));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_adb(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.key {
            PublicInner::Rsa(_) => self.verify(SignatureAlgorithm::RsaSha512, message, signature),
            PublicInner::EcdsaP256(k) => {
                let Ok(signature) = p256::ecdsa::Signature::from_der(signature) else {
                    return false;
                };
                k.verify_prehash(&Sha512::digest(message), &signature)
                    .is_ok()
            }
        }
    }

    /// The bytes a v3 key id is the SHA-512 of: the PKCS#1 `RSAPublicKey` DER of an RSA key,
    /// the uncompressed point (`04 ‖ X ‖ Y`) of a P-256 key.
    pub(crate) fn adb_id_material(&self) -> Vec<u8> {
        match &self.key {
            PublicInner::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPublicKey;
                // Encoding a validated key cannot fail; empty material matches nothing.
                k.to_pkcs1_der()
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default()
            }
            PublicInner::EcdsaP256(k) => k.to_encoded_point(false).as_bytes().to_vec(),
        }
    }
}

impl From<RsaPublicKey> for PublicKey {
    fn from(key: RsaPublicKey) -> Self {
        PublicKey {
            key: PublicInner::Rsa(key),
        }
    }
}

impl From<p256::ecdsa::VerifyingKey> for PublicKey {
    fn from(key: p256::ecdsa::VerifyingKey) -> Self {
        PublicKey {
            key: PublicInner::EcdsaP256(key),
        }
    }
}

/// Files in a keys directory larger than this cannot be a PEM public key and are skipped.
const MAX_KEY_FILE_SIZE: u64 = 1 << 20;

const SPKI_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PKCS1_PUBLIC_BEGIN: &str = "-----BEGIN RSA PUBLIC KEY-----";
const PKCS8_PRIVATE_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PKCS1_PRIVATE_BEGIN: &str = "-----BEGIN RSA PRIVATE KEY-----";
const ENCRYPTED_PRIVATE_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const SEC1_PRIVATE_BEGIN: &str = "-----BEGIN EC PRIVATE KEY-----";

/// Returned by [`PublicKey::from_pem`] and [`KeySet::add_pem`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseKeyError {
    /// The input is not UTF-8 text, so it cannot be PEM.
    #[error("public key is not pem text")]
    NotText,
    /// The text has neither a `BEGIN PUBLIC KEY` nor a `BEGIN RSA PUBLIC KEY` block.
    #[error("no pem public key block found")]
    NoPublicKey,
    /// A `BEGIN PUBLIC KEY` block that is neither a valid RSA nor a valid ECDSA P-256 SPKI
    /// key (the error is the RSA parser's).
    #[error("invalid spki public key (neither rsa nor ecdsa p-256)")]
    Spki(#[source] rsa::pkcs8::spki::Error),
    /// A `BEGIN RSA PUBLIC KEY` block that is not a valid PKCS#1 key.
    #[error("invalid pkcs#1 rsa public key")]
    Pkcs1(#[source] rsa::pkcs1::Error),
}

/// A set of trusted public keys, each known by its file name, like apk's `etc/apk/keys`.
///
/// Names iterate in sorted order.
///
/// ```
/// use apk_index::keys::KeySet;
///
/// let mut keys = KeySet::new();
/// keys.add_pem("test.rsa.pub", b"-----BEGIN PUBLIC KEY-----
/// MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAPW/GbcXJXm7F8vR+M0NZWh+sx1uO+dD
/// aSnYsHZ/5qfrcks6aYihF1olMqyda9J3RlElZK03N92bqICC+XQMTukCAwEAAQ==
/// -----END PUBLIC KEY-----
/// ")?;
/// assert_eq!(keys.len(), 1);
/// assert!(keys.get("test.rsa.pub").is_some());
/// assert_eq!(keys.names().collect::<Vec<_>>(), ["test.rsa.pub"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: BTreeMap<String, PublicKey>,
}

impl KeySet {
    /// An empty key set.
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Loads every public key in the directory `dir`, each named by its file name.
    ///
    /// Symbolic links are followed (Alpine's `etc/apk/keys` links into `usr/share/apk/keys`).
    /// Skipped: dangling links, subdirectories, files whose name is not UTF-8, files over 1 MiB,
    /// and files with no `BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY` block (a private key kept
    /// next to its public half, a README). A public key block that does not parse is an error
    /// naming the file.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<KeySet, LoadKeysError> {
        Self::from_dir_inner(dir.as_ref())
    }

    fn from_dir_inner(dir: &Path) -> Result<KeySet, LoadKeysError> {
        let read_dir = |source| LoadKeysError::ReadDir {
            path: dir.to_owned(),
            source,
        };
        let mut keys = KeySet::new();
        for entry in std::fs::read_dir(dir).map_err(read_dir)? {
            let entry = entry.map_err(read_dir)?;
            let path = entry.path();
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let metadata = match std::fs::metadata(&path) {
                Ok(metadata) => metadata,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(LoadKeysError::Read { path, source }),
            };
            if !metadata.is_file() || metadata.len() > MAX_KEY_FILE_SIZE {
                continue;
            }
            let contents = match std::fs::read(&path) {
                Ok(contents) => contents,
                Err(source) => return Err(LoadKeysError::Read { path, source }),
            };
            let has_public_block = memchr::memmem::find(&contents, SPKI_BEGIN.as_bytes())
                .or_else(|| memchr::memmem::find(&contents, PKCS1_PUBLIC_BEGIN.as_bytes()))
                .is_some();
            if !has_public_block {
                continue;
            }
            match PublicKey::from_pem(&contents) {
                Ok(key) => {
                    keys.insert(name, key);
                }
                Err(source) => return Err(LoadKeysError::Parse { path, source }),
            }
        }
        Ok(keys)
    }

    /// Parses `pem` (see [`PublicKey::from_pem`]) and adds it as `name`, replacing any key
    /// already known by that name.
    pub fn add_pem(&mut self, name: &str, pem: &[u8]) -> Result<(), ParseKeyError> {
        let key = PublicKey::from_pem(pem)?;
        self.insert(name, key);
        Ok(())
    }

    /// Adds `key` as `name`, returning the key previously known by that name.
    pub fn insert(&mut self, name: impl Into<String>, key: PublicKey) -> Option<PublicKey> {
        self.keys.insert(name.into(), key)
    }

    /// Removes and returns the key named `name`.
    pub fn remove(&mut self, name: &str) -> Option<PublicKey> {
        self.keys.remove(name)
    }

    /// The key whose file name is `name`.
    pub fn get(&self, name: &str) -> Option<&PublicKey> {
        self.keys.get(name)
    }

    /// Whether a key named `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.keys.contains_key(name)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.keys.keys().map(String::as_str)
    }

    /// The `(name, key)` pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PublicKey)> + '_ {
        self.keys.iter().map(|(name, key)| (name.as_str(), key))
    }
}

/// Returned by [`KeySet::from_dir`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadKeysError {
    /// The directory could not be listed.
    #[error("failed to list keys directory {}", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file in the directory could not be read.
    #[error("failed to read key file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file holds a public key block that does not parse.
    #[error("invalid public key in {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ParseKeyError,
    },
}

/// A private key (RSA, or ECDSA P-256 for v3 signatures) and the name of the public key file
/// it signs as.
///
/// ```
/// use apk_index::keys::{SignatureAlgorithm, SigningKey};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let key = SigningKey::generate("me@example.org-1.rsa.pub", 1024, &mut rng)?;
/// let signature = key.sign(SignatureAlgorithm::RsaSha1, b"message")?;
/// assert!(key.public_key().verify(SignatureAlgorithm::RsaSha1, b"message", &signature));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    key_name: String,
    key: PrivateInner,
}

#[derive(Clone)]
enum PrivateInner {
    Rsa(Box<RsaPrivateKey>),
    EcdsaP256(p256::ecdsa::SigningKey),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("SigningKey")
            .field("key_name", &self.key_name)
            .field("kind", &self.public_key().kind())
            .field("bits", &self.public_key().bits())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PEM private key that signs as `key_name`: RSA as PKCS#1
    /// (`-----BEGIN RSA PRIVATE KEY-----`, what abuild-keygen writes) or PKCS#8
    /// (`-----BEGIN PRIVATE KEY-----`), or ECDSA P-256 as SEC1 (`-----BEGIN EC PRIVATE
    /// KEY-----`, what `openssl ecparam -genkey` writes) or PKCS#8.
    ///
    /// Encrypted keys are not supported. The key name must be a non-empty file name (no `/`,
    /// no NUL) and an RSA key at least [`MIN_SIGNING_KEY_BITS`] bits.
    pub fn from_pem(key_name: &str, pem: &[u8]) -> Result<SigningKey, SigningKeyError> {
        let text = std::str::from_utf8(pem).map_err(|_| SigningKeyError::NotText)?;
        if let Some(start) = text.find(PKCS1_PRIVATE_BEGIN) {
            let key =
                RsaPrivateKey::from_pkcs1_pem(&text[start..]).map_err(SigningKeyError::Pkcs1)?;
            SigningKey::from_rsa(key_name, key)
        } else if let Some(start) = text.find(SEC1_PRIVATE_BEGIN) {
            let key = p256::SecretKey::from_sec1_pem(&text[start..])
                .map_err(|_| SigningKeyError::Sec1)?;
            SigningKey::from_ecdsa_p256(key_name, key.into())
        } else if let Some(start) = text.find(PKCS8_PRIVATE_BEGIN) {
            let pkcs8 = &text[start..];
            match RsaPrivateKey::from_pkcs8_pem(pkcs8) {
                Ok(key) => SigningKey::from_rsa(key_name, key),
                Err(rsa_error) => match p256::ecdsa::SigningKey::from_pkcs8_pem(pkcs8) {
                    Ok(key) => SigningKey::from_ecdsa_p256(key_name, key),
                    Err(_) => Err(SigningKeyError::Pkcs8(rsa_error)),
                },
            }
        } else if text.contains(ENCRYPTED_PRIVATE_BEGIN) {
            Err(SigningKeyError::Encrypted)
        } else {
            Err(SigningKeyError::NoPrivateKey)
        }
    }

    /// Reads the PEM private key file `path` (see [`from_pem`](Self::from_pem)). It signs as
    /// its file name plus `.pub`, abuild's convention: `foo@example.org-1234.rsa` signs as
    /// `foo@example.org-1234.rsa.pub`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<SigningKey, LoadSigningKeyError> {
        Self::from_file_inner(path.as_ref())
    }

    fn from_file_inner(path: &Path) -> Result<SigningKey, LoadSigningKeyError> {
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            return Err(LoadSigningKeyError::BadFileName {
                path: path.to_owned(),
            });
        };
        let key_name = format!("{name}.pub");
        let pem = std::fs::read(path).map_err(|source| LoadSigningKeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        SigningKey::from_pem(&key_name, &pem).map_err(|source| LoadSigningKeyError::Key {
            path: path.to_owned(),
            source,
        })
    }

    /// Wraps an existing `rsa` private key that signs as `key_name`.
    ///
    /// The key is validated; the key name and size rules are those of
    /// [`from_pem`](Self::from_pem).
    pub fn from_rsa(key_name: &str, key: RsaPrivateKey) -> Result<SigningKey, SigningKeyError> {
        check_key_name(key_name)?;
        let bits = key.n().bits();
        if bits < MIN_SIGNING_KEY_BITS {
            return Err(SigningKeyError::TooSmall { bits });
        }
        key.validate().map_err(SigningKeyError::InvalidKey)?;
        Ok(SigningKey {
            key_name: key_name.to_owned(),
            key: PrivateInner::Rsa(Box::new(key)),
        })
    }

    /// Wraps an ECDSA P-256 private key that signs v3 files as `key_name` (the key name rule
    /// of [`from_pem`](Self::from_pem)).
    pub fn from_ecdsa_p256(
        key_name: &str,
        key: p256::ecdsa::SigningKey,
    ) -> Result<SigningKey, SigningKeyError> {
        check_key_name(key_name)?;
        Ok(SigningKey {
            key_name: key_name.to_owned(),
            key: PrivateInner::EcdsaP256(key),
        })
    }

    /// Generates a new ECDSA P-256 key that signs v3 files as `key_name`.
    ///
    /// ```
    /// use apk_index::keys::{KeyKind, SigningKey};
    /// # use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    /// let key = SigningKey::generate_ecdsa_p256("openwrt.pem", &mut rng)?;
    /// assert!(key.private_key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
    /// let again = SigningKey::from_pem("openwrt.pem", key.private_key_pem().as_bytes())?;
    /// assert_eq!(again.public_key(), key.public_key());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generate_ecdsa_p256<R>(
        key_name: &str,
        rng: &mut R,
    ) -> Result<SigningKey, SigningKeyError>
    where
        R: rsa::rand_core::CryptoRngCore,
    {
        SigningKey::from_ecdsa_p256(key_name, p256::ecdsa::SigningKey::random(rng))
    }

    /// Generates a new key of `bits` bits (public exponent 65537) that signs as `key_name`.
    ///
    /// Any `rand_core` 0.6 cryptographic generator works, e.g. `rand::rngs::OsRng` or, in
    /// tests, a seeded `rand::rngs::StdRng`.
    pub fn generate<R>(
        key_name: &str,
        bits: usize,
        rng: &mut R,
    ) -> Result<SigningKey, SigningKeyError>
    where
        R: rsa::rand_core::CryptoRngCore + ?Sized,
    {
        if bits < MIN_SIGNING_KEY_BITS {
            return Err(SigningKeyError::TooSmall { bits });
        }
        let key = RsaPrivateKey::new(rng, bits).map_err(SigningKeyError::Generate)?;
        SigningKey::from_rsa(key_name, key)
    }

    /// The name of the public key file this key signs as, e.g.
    /// `alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The public half of the key.
    pub fn public_key(&self) -> PublicKey {
        match &self.key {
            PrivateInner::Rsa(k) => PublicKey::from(k.to_public_key()),
            PrivateInner::EcdsaP256(k) => PublicKey::from(*k.verifying_key()),
        }
    }

    /// The underlying `rsa` key, for an RSA key.
    pub fn as_rsa(&self) -> Option<&RsaPrivateKey> {
        match &self.key {
            PrivateInner::Rsa(k) => Some(k),
            PrivateInner::EcdsaP256(_) => None,
        }
    }

    /// The private key as PEM with `\n` line endings: PKCS#1 (`-----BEGIN RSA PRIVATE
    /// KEY-----`, the form abuild-keygen writes) for RSA, PKCS#8 (`-----BEGIN PRIVATE
    /// KEY-----`, with the curve named) for P-256.
    pub fn private_key_pem(&self) -> String {
        match &self.key {
            PrivateInner::Rsa(k) => {
                let pem = k
                    .to_pkcs1_pem(LineEnding::LF)
                    .expect("a validated two-prime RSA key always encodes as PKCS#1");
                pem.as_str().to_owned()
            }
            PrivateInner::EcdsaP256(k) => {
                // PKCS#8 names the curve, so OpenSSL (and so apk-tools) reads it back.
                let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(k, LineEnding::LF)
                    .expect("a P-256 secret key always encodes as PKCS#8");
                pem.as_str().to_owned()
            }
        }
    }

    /// Signs `message` as v2 does: hashes it with `alg`'s digest and makes an RSA PKCS#1 v1.5
    /// signature (an ECDSA key gives [`SignError::NotRsa`]).
    ///
    /// The signature is as long as the modulus and, for a given key and message, always the
    /// same bytes (PKCS#1 v1.5 signing is deterministic).
    pub fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_digest(alg, &alg.digest(message))
    }

    /// Signs `message` as v3 (ADB) does, with SHA-512 as the digest: RSA PKCS#1 v1.5, or for a
    /// P-256 key ECDSA with a DER-encoded signature (deterministic, RFC 6979).
    pub fn sign_adb(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.key {
            PrivateInner::Rsa(_) => self.sign(SignatureAlgorithm::RsaSha512, message),
            PrivateInner::EcdsaP256(k) => {
                let signature: p256::ecdsa::Signature = k
                    .sign_prehash(&Sha512::digest(message))
                    .map_err(|_| SignError::Ecdsa)?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
        }
    }

    /// Signs a digest already made with `alg`'s hash function (for callers that hash a stream).
    pub fn sign_digest(
        &self,
        alg: SignatureAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, SignError> {
        if digest.len() != alg.digest_len() {
            return Err(SignError::DigestLength {
                expected: alg.digest_len(),
                actual: digest.len(),
            });
        }
        match &self.key {
            PrivateInner::Rsa(k) => k.sign(alg.padding(), digest).map_err(SignError::Rsa),
            PrivateInner::EcdsaP256(_) => Err(SignError::NotRsa {
                key_name: self.key_name.clone(),
            }),
        }
    }
}

/// A key name must be a non-empty file name.
fn check_key_name(key_name: &str) -> Result<(), SigningKeyError> {
    if key_name.is_empty() || key_name.contains(['/', '\0']) {
        return Err(SigningKeyError::InvalidKeyName {
            key_name: key_name.to_owned(),
        });
    }
    Ok(())
}

/// Returned by [`SigningKey::from_pem`], [`SigningKey::from_rsa`] and [`SigningKey::generate`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// The input is not UTF-8 text, so it cannot be PEM.
    #[error("private key is not pem text")]
    NotText,
    /// The text has no `BEGIN RSA PRIVATE KEY` or `BEGIN PRIVATE KEY` block.
    #[error("no pem private key block found")]
    NoPrivateKey,
    /// The key is an encrypted PKCS#8 key, which is not supported.
    #[error("encrypted private keys are not supported")]
    Encrypted,
    /// A `BEGIN RSA PRIVATE KEY` block that is not a valid PKCS#1 key.
    #[error("invalid pkcs#1 rsa private key")]
    Pkcs1(#[source] rsa::pkcs1::Error),
    /// A `BEGIN PRIVATE KEY` block that is neither a valid PKCS#8 RSA key nor a P-256 one (the
    /// error is the RSA parser's).
    #[error("invalid pkcs#8 private key (neither rsa nor ecdsa p-256)")]
    Pkcs8(#[source] rsa::pkcs8::Error),
    /// A `BEGIN EC PRIVATE KEY` block that is not a valid P-256 key.
    #[error("invalid sec1 ec private key (only p-256 is supported)")]
    Sec1,
    /// The key's components are inconsistent.
    #[error("invalid rsa private key")]
    InvalidKey(#[source] rsa::Error),
    /// The key is smaller than [`MIN_SIGNING_KEY_BITS`].
    #[error("rsa key of {bits} bits is too small (at least 1024 needed)")]
    TooSmall {
        /// The size of the modulus.
        bits: usize,
    },
    /// Generating a key failed.
    #[error("failed to generate an rsa key")]
    Generate(#[source] rsa::Error),
    /// The key name is empty or holds a `/` or NUL.
    #[error("invalid key name {key_name:?}")]
    InvalidKeyName {
        /// The rejected name.
        key_name: String,
    },
}

/// Returned by [`SigningKey::from_file`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadSigningKeyError {
    /// The file could not be read.
    #[error("failed to read private key {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path has no file name, or it is not UTF-8, so the key has no name to sign as.
    #[error("private key path {} has no utf-8 file name", path.display())]
    BadFileName {
        /// The path.
        path: PathBuf,
    },
    /// The file does not hold a usable private key.
    #[error("invalid private key in {}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: SigningKeyError,
    },
}

/// Returned by [`SigningKey::sign`] and [`SigningKey::sign_digest`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The digest passed to [`SigningKey::sign_digest`] has the wrong length for the algorithm.
    #[error("digest is {actual} bytes, the algorithm needs {expected}")]
    DigestLength {
        /// The algorithm's digest length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The RSA operation failed.
    #[error("rsa signing failed")]
    Rsa(#[source] rsa::Error),
    /// The ECDSA operation failed.
    #[error("ecdsa signing failed")]
    Ecdsa,
    /// A v2 signature (`.SIGN.RSA*`) was asked of an ECDSA key.
    #[error("key {key_name} is an ecdsa key; v2 signatures need an rsa key")]
    NotRsa {
        /// The key's name.
        key_name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn key(seed: u64, name: &str) -> SigningKey {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        SigningKey::generate(name, 1024, &mut rng).expect("key generation")
    }

    /// A P-256 key made with `openssl ecparam -name prime256v1 -genkey`, its public key
    /// (`openssl ec -pubout`), the same key as PKCS#8 (`openssl pkcs8 -topk8`), and an
    /// `openssl dgst -sha512 -sign` signature of [`OPENSSL_MESSAGE`]: what apk-tools 3 (which
    /// signs through OpenSSL) makes.
    const OPENSSL_EC_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIATQo6HuIeascO5/VFuuhT73FTi0SoSOsHocLDMYeBMWoAoGCCqGSM49
AwEHoUQDQgAEiKEW/Kd/15f87EjmI5+DIPQplRejflmV0BfO0bP/HYywAmiHRXCW
W8jpUJGveyX8dID2Z1ol+J8Yo/My5VBgew==
-----END EC PRIVATE KEY-----
";
    const OPENSSL_EC_PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiKEW/Kd/15f87EjmI5+DIPQplRej
flmV0BfO0bP/HYywAmiHRXCWW8jpUJGveyX8dID2Z1ol+J8Yo/My5VBgew==
-----END PUBLIC KEY-----
";
    const OPENSSL_EC_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBNCjoe4h5qxw7n9U
W66FPvcVOLRKhI6wehwsMxh4ExahRANCAASIoRb8p3/Xl/zsSOYjn4Mg9CmVF6N+
WZXQF87Rs/8djLACaIdFcJZbyOlQka97Jfx0gPZnWiX4nxij8zLlUGB7
-----END PRIVATE KEY-----
";
    const OPENSSL_MESSAGE: &[u8] = b"apk-rs ecdsa cross-check message";
    const OPENSSL_SIGNATURE: &str = "3045022100f49c0ebb68e64986209f36490694986af2a3b6780d8e393cb748\
                                     bf99b68351a402200458cb33f2e6678cbe11dfc599ef335b1929f46e76a528\
                                     b379e5ac018502cf8e";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn ecdsa_p256_keys_match_openssl() {
        let public = PublicKey::from_pem(OPENSSL_EC_PUB.as_bytes()).expect("spki ec key");
        assert_eq!(public.kind(), KeyKind::EcdsaP256);
        assert_eq!(public.bits(), 256);
        assert!(public.as_rsa().is_none());
        assert_eq!(public.to_pem(), OPENSSL_EC_PUB);
        // OpenSSL's signature verifies; a changed message or signature does not.
        let signature = unhex(OPENSSL_SIGNATURE);
        assert!(public.verify_adb(OPENSSL_MESSAGE, &signature));
        assert!(!public.verify_adb(b"another message", &signature));
        let mut bad = signature.clone();
        bad[10] ^= 1;
        assert!(!public.verify_adb(OPENSSL_MESSAGE, &bad));
        assert!(!public.verify_adb(OPENSSL_MESSAGE, &signature[..20]));
        // v2 signatures are RSA only.
        assert!(!public.verify(SignatureAlgorithm::RsaSha512, OPENSSL_MESSAGE, &signature));

        // Both private key forms load, to the same key, and sign verifiably (`openssl dgst
        // -sha512 -verify` accepts these signatures too).
        for pem in [OPENSSL_EC_KEY, OPENSSL_EC_PKCS8] {
            let signer = SigningKey::from_pem("openwrt.pem", pem.as_bytes()).expect("ec key");
            assert_eq!(signer.public_key(), public);
            let made = signer.sign_adb(OPENSSL_MESSAGE).expect("sign");
            assert!(public.verify_adb(OPENSSL_MESSAGE, &made));
            assert!(matches!(
                signer.sign(SignatureAlgorithm::RsaSha1, b"m"),
                Err(SignError::NotRsa { .. })
            ));
            assert_eq!(signer.private_key_pem(), OPENSSL_EC_PKCS8);
        }
        // A key directory may hold EC keys (OpenWrt's `*.pem`) next to RSA ones.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("openwrt.pem"), OPENSSL_EC_PUB).expect("write");
        let rsa = key(5, "alpine.rsa.pub");
        std::fs::write(dir.path().join("alpine.rsa.pub"), rsa.public_key().to_pem()).expect("w");
        let keys = KeySet::from_dir(dir.path()).expect("keys");
        assert_eq!(keys.get("openwrt.pem"), Some(&public));
        assert_eq!(
            keys.get("alpine.rsa.pub").map(PublicKey::kind),
            Some(KeyKind::Rsa)
        );
        // Other curves are refused.
        let p384 = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEU5vZ4/J5xY0dDXvWwX3JhAXr6xF8qTs6
M3mXlsWcBk3s1UP0cSr+W0/F5vtZAhGIVEr2nB8gZGi3iXDyhMqNl0tkaHeaxbhO
Q7AmiT4pszvzyL6tVbRdkc8h5kG1GREn
-----END PUBLIC KEY-----
";
        assert!(matches!(
            PublicKey::from_pem(p384.as_bytes()),
            Err(ParseKeyError::Spki(_))
        ));
    }

    #[test]
    fn sign_names_round_trip() {
        for alg in SignatureAlgorithm::ALL {
            assert_eq!(
                SignatureAlgorithm::from_sign_name(alg.sign_name()),
                Some(alg)
            );
            assert_eq!(
                alg.to_string().parse::<SignatureAlgorithm>().ok(),
                Some(alg)
            );
            assert_eq!(alg.digest(b"x").len(), alg.digest_len());
        }
        assert!("rsa".parse::<SignatureAlgorithm>().is_err());
        assert_eq!(SignatureAlgorithm::from_sign_name("DSA"), None);
    }

    #[test]
    fn sign_entry_names() {
        assert_eq!(
            parse_sign_entry_name(".SIGN.RSA512.a.b.c"),
            Some((SignatureAlgorithm::RsaSha512, "a.b.c"))
        );
        assert_eq!(parse_sign_entry_name(".SIGN.RSA."), None);
        assert_eq!(parse_sign_entry_name(".SIGN.RSA"), None);
        assert_eq!(parse_sign_entry_name(".SIGN.RSA.a/b"), None);
        assert_eq!(parse_sign_entry_name(".SIGN.DSA.key"), None);
        assert_eq!(parse_sign_entry_name(".SIGN.rsa.key"), None);
        assert_eq!(parse_sign_entry_name("SIGN.RSA.key"), None);
    }

    #[test]
    fn sign_and_verify_each_algorithm() {
        let signer = key(7, "k.rsa.pub");
        let public = signer.public_key();
        for alg in SignatureAlgorithm::ALL {
            let sig = signer.sign(alg, b"hello").expect("sign");
            assert_eq!(sig.len(), 128);
            assert!(public.verify(alg, b"hello", &sig));
            assert!(public.verify_digest(alg, &alg.digest(b"hello"), &sig));
            assert!(!public.verify(alg, b"hellO", &sig));
            assert!(!public.verify_digest(alg, b"short", &sig));
            assert!(!public.verify(alg, b"hello", &sig[1..]));
            assert!(!public.verify(alg, b"hello", &[]));
            for other in SignatureAlgorithm::ALL {
                if other != alg {
                    assert!(!public.verify(other, b"hello", &sig));
                }
            }
            // Deterministic.
            assert_eq!(signer.sign(alg, b"hello").expect("sign"), sig);
        }
        assert!(matches!(
            signer.sign_digest(SignatureAlgorithm::RsaSha1, b"abc"),
            Err(SignError::DigestLength {
                expected: 20,
                actual: 3
            })
        ));
    }

    #[test]
    fn pem_round_trips() {
        let signer = key(8, "k.rsa.pub");
        let pem = signer.private_key_pem();
        assert!(pem.starts_with(PKCS1_PRIVATE_BEGIN));
        let again = SigningKey::from_pem("k.rsa.pub", pem.as_bytes()).expect("pkcs1 private key");
        assert_eq!(again.public_key(), signer.public_key());

        let pkcs8 = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(
            signer.as_rsa().expect("rsa"),
            LineEnding::LF,
        )
        .expect("encode pkcs8");
        let again = SigningKey::from_pem("k.rsa.pub", pkcs8.as_bytes()).expect("pkcs8 key");
        assert_eq!(again.public_key(), signer.public_key());

        let public = signer.public_key();
        let spki = public.to_pem();
        assert!(spki.starts_with(SPKI_BEGIN));
        assert_eq!(PublicKey::from_pem(spki.as_bytes()).expect("spki"), public);
        let pkcs1 = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_pem(
            public.as_rsa().expect("rsa"),
            LineEnding::LF,
        )
        .expect("encode pkcs1");
        assert!(pkcs1.starts_with(PKCS1_PUBLIC_BEGIN));
        assert_eq!(
            PublicKey::from_pem(pkcs1.as_bytes()).expect("pkcs1"),
            public
        );
        let commented = format!("# a comment\n{spki}");
        assert_eq!(
            PublicKey::from_pem(commented.as_bytes()).expect("spki"),
            public
        );
    }

    #[test]
    fn bad_pem_is_an_error() {
        assert!(matches!(
            PublicKey::from_pem(b"\xff\xfe"),
            Err(ParseKeyError::NotText)
        ));
        assert!(matches!(
            PublicKey::from_pem(b"hello"),
            Err(ParseKeyError::NoPublicKey)
        ));
        assert!(matches!(
            PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Err(ParseKeyError::Spki(_))
        ));
        assert!(matches!(
            PublicKey::from_pem(
                b"-----BEGIN RSA PUBLIC KEY-----\n!!\n-----END RSA PUBLIC KEY-----\n"
            ),
            Err(ParseKeyError::Pkcs1(_))
        ));
        assert!(matches!(
            SigningKey::from_pem("k", b"nothing"),
            Err(SigningKeyError::NoPrivateKey)
        ));
        assert!(matches!(
            SigningKey::from_pem("k", b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            Err(SigningKeyError::Encrypted)
        ));
        assert!(matches!(
            SigningKey::from_pem(
                "k",
                b"-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n"
            ),
            Err(SigningKeyError::Pkcs1(_))
        ));
    }

    #[test]
    fn signing_key_rules() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        assert!(matches!(
            SigningKey::generate("k", 512, &mut rng),
            Err(SigningKeyError::TooSmall { bits: 512 })
        ));
        let small = RsaPrivateKey::new(&mut rng, 512).expect("512-bit key");
        assert!(matches!(
            SigningKey::from_rsa("k", small),
            Err(SigningKeyError::TooSmall { bits: 512 })
        ));
        let signer = key(10, "k");
        for bad in ["", "a/b", "a\0b"] {
            assert!(matches!(
                SigningKey::from_rsa(bad, signer.as_rsa().expect("rsa").clone()),
                Err(SigningKeyError::InvalidKeyName { .. })
            ));
        }
        let debug = format!("{signer:?}");
        assert!(debug.contains("bits: 1024"), "{debug}");
        assert!(!debug.contains("primes"), "{debug}");
    }

    #[test]
    fn key_set_from_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = key(11, "a.rsa.pub");
        let b = key(12, "b.rsa.pub");
        std::fs::write(dir.path().join("a.rsa.pub"), a.public_key().to_pem()).expect("write");
        std::fs::write(dir.path().join("b.rsa"), b.private_key_pem()).expect("write");
        std::fs::write(dir.path().join("README"), "not a key").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("missing", dir.path().join("dangling.pub")).expect("ln");
            std::os::unix::fs::symlink("a.rsa.pub", dir.path().join("link.rsa.pub")).expect("ln");
        }
        let keys = KeySet::from_dir(dir.path()).expect("load keys");
        assert_eq!(keys.get("a.rsa.pub"), Some(&a.public_key()));
        assert!(!keys.contains("b.rsa"));
        #[cfg(unix)]
        assert_eq!(
            keys.names().collect::<Vec<_>>(),
            ["a.rsa.pub", "link.rsa.pub"]
        );

        std::fs::write(
            dir.path().join("broken.pub"),
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .expect("write");
        let err = KeySet::from_dir(dir.path()).expect_err("broken key");
        assert!(err.to_string().contains("broken.pub"), "{err}");

        let err = KeySet::from_dir(dir.path().join("nope")).expect_err("missing dir");
        assert!(matches!(err, LoadKeysError::ReadDir { .. }));
    }

    #[test]
    fn signing_key_from_file_names_the_public_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = key(13, "ignored");
        let path = dir.path().join("me@example.org-1.rsa");
        std::fs::write(&path, signer.private_key_pem()).expect("write");
        let loaded = SigningKey::from_file(&path).expect("load");
        assert_eq!(loaded.key_name(), "me@example.org-1.rsa.pub");
        assert_eq!(loaded.public_key(), signer.public_key());
        let err = SigningKey::from_file(dir.path().join("none.rsa")).expect_err("missing");
        assert!(matches!(err, LoadSigningKeyError::Io { .. }));
    }
}
