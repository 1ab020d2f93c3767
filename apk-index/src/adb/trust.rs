//! Trust: signature blocks, key ids, package identity and the unique id (spec 5 and 7).

use sha2::{Digest, Sha256, Sha512};

use super::container::{AdbFile, ReadOptions, decompress};
use super::error::AdbError;
use super::model::Package;
use super::schema::{self, SchemaId};
use super::stream::BlockReader;
use super::value::Adb;
use crate::keys::{KeySet, PublicKey};

/// The v3 key id of a public key: the first 16 bytes of SHA-512 over its bare encoding, the
/// PKCS#1 `RSAPublicKey` DER for RSA (not the SubjectPublicKeyInfo of the `.pub` file), the
/// uncompressed point `04 ‖ X ‖ Y` for ECDSA P-256.
///
/// ```
/// use apk_index::PublicKey;
/// use apk_index::adb::key_id;
///
/// let key = PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----
/// MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAPW/GbcXJXm7F8vR+M0NZWh+sx1uO+dD
/// aSnYsHZ/5qfrcks6aYihF1olMqyda9J3RlElZK03N92bqICC+XQMTukCAwEAAQ==
/// -----END PUBLIC KEY-----
/// ")?;
/// assert_eq!(key_id(&key).len(), 16);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn key_id(key: &PublicKey) -> [u8; 16] {
    let mut id = [0u8; 16];
    let digest = Sha512::digest(key.adb_id_material());
    id.copy_from_slice(&digest[..16]);
    id
}

/// The identity of a v3 package as indexes record it (`hashes` of an index entry): SHA-256
/// of the package's ADB block payload. Compression, signatures and DATA blocks do not enter.
///
/// ```
/// use apk_index::adb::{self, AdbFile, package_identity};
/// let data = adb::tests_support::tiny_index();
/// let file = AdbFile::parse(&data)?;
/// assert_eq!(package_identity(&file.adb()).len(), 32);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn package_identity(adb: &Adb<'_>) -> [u8; 32] {
    Sha256::digest(adb.payload()).into()
}

/// The 20-byte unique id that `mkpkg` stores in a package's `info.hashes`: the first 20 bytes
/// of SHA-256 over the ADB payload with those 20 bytes set to zero.
///
/// Returns `None` when the root has no `info.hashes` blob of 20 bytes. Comparing the result
/// with the stored value checks the id (see [`Package::check_unique_id`]).
///
/// ```
/// use apk_index::adb::{self, AdbFile, unique_id};
/// let data = adb::tests_support::tiny_index();
/// // An index has no `info` object at field 1 of its root.
/// assert!(unique_id(&AdbFile::parse(&data)?.adb()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn unique_id(adb: &Adb<'_>) -> Result<Option<[u8; 20]>, AdbError> {
    let Some(info) = adb.root()?.vector(schema::package::INFO)? else {
        return Ok(None);
    };
    let Some((start, len)) = info.blob_data_offset(schema::pkginfo::HASHES) else {
        return Ok(None);
    };
    if len != 20 {
        return Ok(None);
    }
    let payload = adb.payload();
    let (Some(before), Some(after)) = (payload.get(..start), payload.get(start + len..)) else {
        return Ok(None);
    };
    let mut hasher = Sha256::new();
    hasher.update(before);
    hasher.update([0u8; 20]);
    hasher.update(after);
    let digest = hasher.finalize();
    let mut id = [0u8; 20];
    id.copy_from_slice(&digest[..20]);
    Ok(Some(id))
}

/// Which trusted key proved a file authentic.
///
/// ```
/// use apk_index::adb::{self, AdbError, AdbFile};
/// let data = adb::tests_support::tiny_index();
/// let file = AdbFile::parse(&data)?;
/// let err = file.verify_signature(&apk_index::KeySet::new()).unwrap_err();
/// assert!(matches!(err, AdbError::Unsigned));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The file name of the trusted key in the [`KeySet`].
    pub key_name: String,
    /// The key id in the SIG block.
    pub key_id: [u8; 16],
    /// The digest algorithm of the ADB payload (4 = SHA-512).
    pub hash_alg: u8,
}

/// What checking one SIG block gave; see [`AdbFile::signature_status`].
///
/// ```
/// use apk_index::adb::SignatureStatus;
/// assert_eq!(SignatureStatus::UntrustedKey.message(), "UNTRUSTED signature");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureStatus {
    /// The signature verifies with the trusted key of this name.
    Verified(String),
    /// No trusted key has the block's key id (or no keys were given).
    UntrustedKey,
    /// The key is trusted but the signature does not verify.
    BadSignature(String),
    /// The block's version or payload digest is not supported; it is skipped.
    Unsupported,
}

impl SignatureStatus {
    /// The text `adbdump` prints after a signature line.
    ///
    /// `UNTRUSTED signature` is what apk-tools 3 prints when it has no matching key; the
    /// wording for the other outcomes is this implementation's.
    ///
    /// ```
    /// use apk_index::adb::SignatureStatus;
    /// assert_eq!(SignatureStatus::Verified("k.pub".into()).message(), "OK");
    /// ```
    pub fn message(&self) -> &'static str {
        match self {
            SignatureStatus::Verified(_) => "OK",
            SignatureStatus::UntrustedKey => "UNTRUSTED signature",
            SignatureStatus::BadSignature(_) => "BAD signature",
            SignatureStatus::Unsupported => "unsupported signature",
        }
    }
}

/// The digest of `payload` for a SIG block's `hash_alg`, for the ids a verifier accepts
/// (3 SHA-256, 4 SHA-512, 5 SHA-256 cut to 20 bytes).
fn payload_digest(hash_alg: u8, payload: &[u8]) -> Option<Vec<u8>> {
    match hash_alg {
        3 => Some(Sha256::digest(payload).to_vec()),
        4 => Some(Sha512::digest(payload).to_vec()),
        5 => Some(Sha256::digest(payload)[..20].to_vec()),
        _ => None,
    }
}

impl AdbFile<'_> {
    /// The message a SIG block signs: schema ‖ SIG header (18 bytes) ‖ digest of the ADB
    /// payload.
    fn signed_message(&self, sig_header: &[u8], digest: &[u8]) -> Vec<u8> {
        let mut message = Vec::with_capacity(4 + sig_header.len() + digest.len());
        message.extend_from_slice(&self.schema().to_bytes());
        message.extend_from_slice(sig_header);
        message.extend_from_slice(digest);
        message
    }

    /// Checks every SIG block against `keys` (`None`: no trusted keys), in file order.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile};
    /// let data = adb::tests_support::tiny_index();
    /// assert!(AdbFile::parse(&data)?.signature_status(None).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signature_status(&self, keys: Option<&KeySet>) -> Vec<SignatureStatus> {
        let trusted: Vec<([u8; 16], &str, &PublicKey)> = keys
            .map(|keys| {
                keys.iter()
                    .map(|(name, key)| (key_id(key), name, key))
                    .collect()
            })
            .unwrap_or_default();
        let payload = self.adb().payload();
        let mut digests: Vec<(u8, Option<Vec<u8>>)> = Vec::new();
        self.signatures()
            .iter()
            .map(|sig| {
                let Some(id) = sig.key_id else {
                    return SignatureStatus::Unsupported;
                };
                let Some(header) = sig.payload.get(..18) else {
                    return SignatureStatus::Unsupported;
                };
                let digest = match digests.iter().find(|(alg, _)| *alg == sig.hash_alg) {
                    Some((_, d)) => d.clone(),
                    None => {
                        let d = payload_digest(sig.hash_alg, payload);
                        digests.push((sig.hash_alg, d.clone()));
                        d
                    }
                };
                let Some(digest) = digest else {
                    return SignatureStatus::Unsupported;
                };
                let mut status = SignatureStatus::UntrustedKey;
                for (_, name, key) in trusted.iter().filter(|(kid, _, _)| *kid == id) {
                    let message = self.signed_message(header, &digest);
                    if key.verify_adb(&message, sig.signature) {
                        return SignatureStatus::Verified((*name).to_owned());
                    }
                    status = SignatureStatus::BadSignature((*name).to_owned());
                }
                status
            })
            .collect()
    }

    /// Verifies the file's signatures against the trusted `keys`: the file is authentic when
    /// one version-0 SIG block, with a supported payload digest, verifies (RSA PKCS#1 v1.5 or
    /// ECDSA P-256, over SHA-512) with a key whose [`key_id`] matches. Blocks by unknown keys
    /// are skipped.
    ///
    /// This covers the ADB block only; for a package, [`Package::check_data`] checks the DATA
    /// blocks against the file hashes the ADB block holds ([`verify_bytes`] does both).
    ///
    /// ```
    /// use apk_index::adb::{self, AdbError, AdbFile};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// assert!(matches!(file.verify_signature(&apk_index::KeySet::new()), Err(AdbError::Unsigned)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_signature(&self, keys: &KeySet) -> Result<Verified, AdbError> {
        let statuses = self.signature_status(Some(keys));
        let mut bad = None;
        let mut key_ids = Vec::new();
        for (sig, status) in self.signatures().iter().zip(&statuses) {
            match status {
                SignatureStatus::Verified(name) => {
                    return Ok(Verified {
                        key_name: name.clone(),
                        key_id: sig.key_id.unwrap_or_default(),
                        hash_alg: sig.hash_alg,
                    });
                }
                SignatureStatus::BadSignature(name) => {
                    bad.get_or_insert_with(|| name.clone());
                }
                SignatureStatus::UntrustedKey | SignatureStatus::Unsupported => {}
            }
            if let Some(id) = sig.key_id {
                key_ids.push(id);
            }
        }
        if let Some(key_name) = bad {
            return Err(AdbError::BadSignature { key_name });
        }
        if key_ids.is_empty() {
            return Err(AdbError::Unsigned);
        }
        Err(AdbError::UntrustedKey { key_ids })
    }
}

/// Checks a whole ADB file in memory, as `apk verify` does: the wrapper and block structure,
/// a signature by a trusted key, the ADB tree against its schema, and for a package every
/// DATA block against the file list and SHA-256 hashes. (The package's unique id is not
/// checked: it adds nothing to the signature, and apk does not rely on it.)
///
/// ```
/// use apk_index::adb::{self, AdbError};
/// let data = adb::tests_support::tiny_index();
/// let err = adb::verify_bytes(&data, &apk_index::KeySet::new(), &adb::ReadOptions::default());
/// assert!(matches!(err, Err(AdbError::Unsigned)));
/// ```
pub fn verify_bytes(
    data: &[u8],
    keys: &KeySet,
    options: &ReadOptions,
) -> Result<Verified, AdbError> {
    let stream = decompress(data, options)?;
    let file = AdbFile::parse(&stream)?;
    let verified = file.verify_signature(keys)?;
    if file.schema() == SchemaId::PACKAGE {
        Package::from_file(&file)?.check_data(file.data_blocks())?;
    } else {
        // Decode the whole tree: a signed file that does not follow its schema is refused.
        file.adb().root()?;
        if file.schema() == SchemaId::INDEX {
            super::model::IndexFile::from_file(&file)?;
        }
    }
    Ok(verified)
}

/// [`verify_bytes`] for a file read as it streams: only the metadata is held in memory, and a
/// package's DATA blocks are checked one at a time as they are read.
///
/// ```
/// use apk_index::adb::{self, AdbError};
/// let data = adb::tests_support::tiny_package();
/// let err = adb::verify_reader(&data[..], &apk_index::KeySet::new(), &adb::ReadOptions::default());
/// assert!(matches!(err, Err(AdbError::Unsigned)));
/// ```
pub fn verify_reader(
    file: impl std::io::BufRead,
    keys: &KeySet,
    options: &ReadOptions,
) -> Result<Verified, AdbError> {
    let mut blocks = BlockReader::open(file, options)?;
    let head = blocks.take_head();
    let file = AdbFile::parse(&head)?;
    let verified = file.verify_signature(keys)?;
    if file.schema() == SchemaId::PACKAGE {
        Package::from_file(&file)?.check_stream(&mut blocks)?;
    } else {
        file.adb().root()?;
        if file.schema() == SchemaId::INDEX {
            super::model::IndexFile::from_file(&file)?;
        }
        blocks.expect_end()?;
    }
    Ok(verified)
}
