//! The `pkgname-spec` of a v3 index (spec 4.1): the template of a package's download path.

use std::fmt::Write as _;

/// The values a `pkgname-spec` template may use, for one package.
///
/// ```
/// use apk_index::adb::PkgnameVars;
/// let vars = PkgnameVars { name: "musl", version: "1.2.5-r0", arch: "x86_64", hash: None };
/// assert_eq!(vars.expand("${arch}/${name}-${version}.apk")?, "x86_64/musl-1.2.5-r0.apk");
/// # Ok::<(), apk_index::adb::PkgnameSpecError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PkgnameVars<'a> {
    /// `${name}`.
    pub name: &'a str,
    /// `${version}`.
    pub version: &'a str,
    /// `${arch}`: the package's architecture.
    pub arch: &'a str,
    /// `${hash}`, written in lowercase hex: the package's hash as its index records it.
    pub hash: Option<&'a [u8]>,
}

/// Why a `pkgname-spec` template cannot be expanded.
///
/// ```
/// use apk_index::adb::{PkgnameSpecError, PkgnameVars};
/// let vars = PkgnameVars { name: "a", version: "1", arch: "x86_64", hash: None };
/// assert!(matches!(vars.expand("${nope}.apk"), Err(PkgnameSpecError::UnknownVariable(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkgnameSpecError {
    /// `${…}` names a variable other than `name`, `version`, `arch` and `hash`.
    #[error("unknown variable ${{{0}}} in the pkgname-spec")]
    UnknownVariable(String),
    /// A `${` without its `}`.
    #[error("unterminated ${{ in the pkgname-spec")]
    Unterminated,
    /// `${key:N}` where N is not a number.
    #[error("invalid length in ${{{0}}} of the pkgname-spec")]
    BadLength(String),
    /// `${hash}` for a package whose index records no hash.
    #[error("the pkgname-spec uses ${{hash}} but the package has none")]
    NoHash,
}

impl PkgnameVars<'_> {
    /// Expands `template`: `${name}`, `${version}`, `${arch}` and `${hash}` are replaced by
    /// their values, `${key:N}` by the first N characters of the value; everything else is
    /// copied as it is.
    ///
    /// ```
    /// use apk_index::adb::PkgnameVars;
    /// let vars = PkgnameVars { name: "musl", version: "1.2.5-r0", arch: "x86_64", hash: Some(&[0xab, 0xcd, 0xef]) };
    /// assert_eq!(vars.expand("${hash:2}/${hash}/${name:2}.apk")?, "ab/abcdef/mu.apk");
    /// # Ok::<(), apk_index::adb::PkgnameSpecError>(())
    /// ```
    pub fn expand(&self, template: &str) -> Result<String, PkgnameSpecError> {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or(PkgnameSpecError::Unterminated)?;
            let var = &after[..end];
            let (key, len) = match var.split_once(':') {
                Some((key, n)) => (
                    key,
                    Some(
                        n.parse::<usize>()
                            .map_err(|_| PkgnameSpecError::BadLength(var.to_owned()))?,
                    ),
                ),
                None => (var, None),
            };
            let value = match key {
                "name" => self.name.to_owned(),
                "version" => self.version.to_owned(),
                "arch" => self.arch.to_owned(),
                "hash" => {
                    let hash = self.hash.ok_or(PkgnameSpecError::NoHash)?;
                    hash.iter().fold(String::new(), |mut s, b| {
                        let _ = write!(s, "{b:02x}");
                        s
                    })
                }
                _ => return Err(PkgnameSpecError::UnknownVariable(key.to_owned())),
            };
            match len {
                Some(n) => out.extend(value.chars().take(n)),
                None => out.push_str(&value),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{PkgnameSpecError, PkgnameVars};

    const VARS: PkgnameVars<'static> = PkgnameVars {
        name: "busybox",
        version: "1.36.1-r0",
        arch: "aarch64",
        hash: Some(&[0x01, 0xfe]),
    };

    #[test]
    fn templates_expand() {
        assert_eq!(VARS.expand("plain.apk").unwrap(), "plain.apk");
        assert_eq!(VARS.expand("").unwrap(), "");
        assert_eq!(
            VARS.expand("${arch}/${name}-${version}.apk").unwrap(),
            "aarch64/busybox-1.36.1-r0.apk"
        );
        assert_eq!(VARS.expand("$name/${hash}").unwrap(), "$name/01fe");
        assert_eq!(VARS.expand("${name:0}x${name:99}").unwrap(), "xbusybox");
    }

    #[test]
    fn bad_templates_are_refused() {
        assert_eq!(VARS.expand("${name"), Err(PkgnameSpecError::Unterminated));
        assert_eq!(
            VARS.expand("${name:x}"),
            Err(PkgnameSpecError::BadLength("name:x".into()))
        );
        assert_eq!(
            VARS.expand("${url}"),
            Err(PkgnameSpecError::UnknownVariable("url".into()))
        );
        let no_hash = PkgnameVars { hash: None, ..VARS };
        assert_eq!(no_hash.expand("${hash}"), Err(PkgnameSpecError::NoHash));
        assert_eq!(no_hash.expand("${name}").unwrap(), "busybox");
    }
}
