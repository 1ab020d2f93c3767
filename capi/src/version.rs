//! Package versions: validation, comparison and constraint matching.

use std::cmp::Ordering;
use std::ffi::{c_char, c_int, c_uint};

use apk_index::Op;
use apk_index::version::{self, Rules, Version};

use crate::error::{Error, apk_result};

/// Which apk-tools release's version rules apply; pass one as the `int rules` parameter.
///
/// Any other value is rejected (`APK_RESULT_INVALID_RULES`, or `false` from the functions
/// returning `bool`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum apk_rules {
    /// apk-tools 2.x: lax validation; after a `.`, a run of leading zeros sorts below any
    /// ordinary number (`8.2.0 > 8.2.001`).
    V2 = 2,
    /// apk-tools 3.x, the default in apk-tools today: strict validation; digit groups after
    /// the first that start with `0` compare as strings (`8.2.0 < 8.2.001`); `~hash` allowed.
    V3 = 3,
}

/// The `int rules` parameter as library rules.
pub(crate) fn rules_from_c(rules: c_int) -> Result<Rules, Error> {
    match rules {
        2 => Ok(Rules::V2),
        3 => Ok(Rules::V3),
        other => Err(Error::InvalidRules(other)),
    }
}

/// Version comparison operators as apk's bit mask: EQUAL 1, LESS 2, GREATER 4, and FUZZY 8
/// (only ever together with EQUAL: `~` is 9). Used by `apk_version_match` and returned by
/// `apk_dependency_op`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum apk_op {
    /// `=`
    Equal = 1,
    /// `<`
    Less = 2,
    /// `<=`
    LessEqual = 3,
    /// `>`
    Greater = 4,
    /// `>=`
    GreaterEqual = 5,
    /// `><`: the "version" is a package identity (`Q1…`), not a version.
    Checksum = 6,
    /// The fuzzy bit alone; not an operator by itself.
    FuzzyBit = 8,
    /// `~`: same version prefix (`3.6.9 ~ 3.6`).
    Fuzzy = 9,
    /// `<~`
    LessFuzzy = 11,
    /// `>~`
    GreaterFuzzy = 13,
}

/// Compares versions `a` and `b` under `rules` (an `apk_rules` value) and stores -1, 0 or 1 in
/// `*result_out` for a < b, a == b (`1.0-r1` and `1.0-r01` are equal) and a > b.
///
/// Both must be NUL-terminated UTF-8 strings that are valid versions under `rules`.
///
/// Returns `APK_RESULT_NULL_PARAMETER` if any pointer is NULL, `APK_RESULT_INVALID_RULES`,
/// `APK_RESULT_INVALID_UTF8`, or `APK_RESULT_INVALID_VERSION` (the last error names the
/// version and the offending byte). `*result_out` is written only on success.
#[unsafe(no_mangle)]
pub extern "C" fn apk_version_compare(
    a: *const c_char,
    b: *const c_char,
    rules: c_int,
    result_out: *mut c_int,
) -> apk_result {
    ffi_boundary! {
        let a = try_str!(a);
        let b = try_str!(b);
        let result_out = try_out!(result_out);
        let rules = try_ok!(rules_from_c(rules));
        let a = try_ok!(Version::parse_with(a, rules));
        let b = try_ok!(Version::parse_with(b, rules));
        result_out.write(match a.compare_with(&b, rules) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        });
        apk_result::Ok
    }
}

/// Whether the NUL-terminated string `v` is a valid version under `rules` (an `apk_rules`
/// value). Returns `false` when `v` is NULL or `rules` is unknown.
#[unsafe(no_mangle)]
pub extern "C" fn apk_version_validate(v: *const c_char, rules: c_int) -> bool {
    ffi_boundary! {
        let v = try_cstr_bytes!(v);
        let rules = try_ok!(rules_from_c(rules));
        version::is_valid(v, rules)
    }
}

/// Whether version `a` satisfies the constraint "`op_mask` `b`" under `rules`, as a package
/// at version `a` satisfies a dependency `name<op><b>`: for example
/// `apk_version_match("1.2.3-r1", APK_OP_GREATER_EQUAL, "1.2", APK_RULES_V3)` is `true`.
///
/// `op_mask` is one of the `apk_op` operators (not `APK_OP_FUZZY_BIT` alone);
/// `APK_OP_CHECKSUM` never matches a version. The versions are compared as given, without
/// validation (invalid text still gets a deterministic order); use `apk_version_validate`
/// first if that matters. Returns `false` when a pointer is NULL, a string is not UTF-8, or
/// `op_mask` or `rules` is unknown.
#[unsafe(no_mangle)]
pub extern "C" fn apk_version_match(
    a: *const c_char,
    op_mask: c_uint,
    b: *const c_char,
    rules: c_int,
) -> bool {
    ffi_boundary! {
        let a = try_str!(a);
        let b = try_str!(b);
        let rules = try_ok!(rules_from_c(rules));
        let Some(op) = u8::try_from(op_mask).ok().and_then(Op::from_bits) else {
            return false;
        };
        op.matches(a, b, rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_values_are_apks_masks() {
        let pairs = [
            (apk_op::Equal, Op::EQUAL),
            (apk_op::Less, Op::LESS),
            (apk_op::LessEqual, Op::LESS_EQUAL),
            (apk_op::Greater, Op::GREATER),
            (apk_op::GreaterEqual, Op::GREATER_EQUAL),
            (apk_op::Checksum, Op::CHECKSUM),
            (apk_op::Fuzzy, Op::FUZZY),
            (apk_op::LessFuzzy, Op::LESS_FUZZY),
            (apk_op::GreaterFuzzy, Op::GREATER_FUZZY),
        ];
        for (c, rust) in pairs {
            assert_eq!(c as u8, rust.bits(), "{c:?}");
        }
        assert_eq!(apk_op::FuzzyBit as u8, Op::FUZZY_BIT);
    }

    #[test]
    fn rules_values() {
        assert_eq!(rules_from_c(apk_rules::V2 as c_int).ok(), Some(Rules::V2));
        assert_eq!(rules_from_c(apk_rules::V3 as c_int).ok(), Some(Rules::V3));
        assert!(rules_from_c(0).is_err());
    }

    #[test]
    fn compare_and_match() {
        let mut out = 7;
        let r = apk_version_compare(c"8.2.0".as_ptr(), c"8.2.001".as_ptr(), 2, &mut out);
        assert_eq!((r, out), (apk_result::Ok, 1));
        let r = apk_version_compare(c"8.2.0".as_ptr(), c"8.2.001".as_ptr(), 3, &mut out);
        assert_eq!((r, out), (apk_result::Ok, -1));
        let r = apk_version_compare(c"1..2".as_ptr(), c"1".as_ptr(), 3, &mut out);
        assert_eq!((r, out), (apk_result::InvalidVersion, -1));
        let r = apk_version_compare(c"1".as_ptr(), c"1".as_ptr(), 3, std::ptr::null_mut());
        assert_eq!(r, apk_result::NullParameter);
        assert!(apk_version_match(c"3.6.9".as_ptr(), 9, c"3.6".as_ptr(), 3));
        assert!(!apk_version_match(c"3.6.9".as_ptr(), 8, c"3.6".as_ptr(), 3));
        assert!(!apk_version_match(c"3.6.9".as_ptr(), 9, c"3.6".as_ptr(), 4));
        assert!(apk_version_validate(c"0.1a1".as_ptr(), 2));
        assert!(!apk_version_validate(c"0.1a1".as_ptr(), 3));
        assert!(!apk_version_validate(std::ptr::null(), 3));
    }
}
