//! HELPER-OWNED STUB: RSA public key sets and signing keys.
