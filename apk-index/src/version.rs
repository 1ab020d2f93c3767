//! Package versions: parsing, validation and comparison (apk-tools rules).
//!
//! HELPER-OWNED STUB: replaced by the full implementation. The signatures below are the contract.

use std::cmp::Ordering;

/// Which apk-tools release's version rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rules {
    /// apk-tools 2.14: lax validation, leading zeros as special tokens.
    V2,
    /// apk-tools 3.0: strict validation, leading-zero groups compared as strings, `~hash`.
    #[default]
    V3,
}

/// Whether `text` is a valid version under `rules`.
pub fn is_valid(text: &[u8], rules: Rules) -> bool {
    let _ = (text, rules);
    unimplemented!()
}

/// Compare two version strings under `rules`.
pub fn compare(a: &[u8], b: &[u8], rules: Rules) -> Ordering {
    let _ = (a, b, rules);
    unimplemented!()
}
