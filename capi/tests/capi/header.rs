//! `include/apk.h` is generated from capi's sources by cbindgen and committed. This test
//! renders it again and fails when the committed file differs; `APK_BLESS=1` rewrites it.

use std::path::{Path, PathBuf};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed header.
pub fn header_path() -> PathBuf {
    crate_dir().join("../include/apk.h")
}

fn render() -> String {
    let config = cbindgen::Config::from_file(crate_dir().join("cbindgen.toml"))
        .expect("capi/cbindgen.toml is a valid cbindgen configuration");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir().join("src/lib.rs"))
        .generate()
        .expect("cbindgen can parse capi's sources")
        .write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let rendered = render();
    let path = header_path();
    if std::env::var_os("APK_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &rendered).expect("write include/apk.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != rendered {
        let first_difference = committed
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(rendered.lines().count()));
        panic!(
            "{} is out of date (first difference at line {}).\n\
             Regenerate it with:\n\n    APK_BLESS=1 cargo test -p capi --test capi header\n\n\
             and commit the result.",
            path.display(),
            first_difference + 1,
        );
    }
}

/// The value of `#define NAME value` in the header.
fn define(header: &str, name: &str) -> Option<String> {
    header.lines().find_map(|line| {
        let rest = line.strip_prefix("#define ")?.strip_prefix(name)?;
        rest.starts_with([' ', '\t'])
            .then(|| rest.trim().to_owned())
    })
}

#[test]
fn header_version_matches_cargo_toml() {
    let header = std::fs::read_to_string(header_path()).expect("read include/apk.h");
    let expected = [
        ("APK_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("APK_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("APK_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ];
    for (name, version) in expected {
        assert_eq!(
            define(&header, name).as_deref(),
            Some(version),
            "{name} in include/apk.h does not match capi's version {}; update \
             `after_includes` in capi/cbindgen.toml and regenerate the header",
            env!("CARGO_PKG_VERSION"),
        );
    }
}
