//! A shell inside a test root, for the scripts that run chrooted there: the host's `/bin/sh`
//! and the libraries `ldd` lists, copied to the same paths under the root.
//!
//! Shared (through `#[path]`) by the end-to-end tests of apk-db and apk-cli.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Copies the host's `/bin/sh` (as `bin/sh`) and the libraries it needs into `root`; returns
/// what it copied, as paths relative to the root (`bin/sh` first).
pub fn install_shell(root: &Path) -> Vec<String> {
    let sh = fs::canonicalize("/bin/sh").expect("/bin/sh");
    fs::create_dir_all(root.join("bin")).expect("mkdir bin");
    fs::copy(&sh, root.join("bin/sh")).expect("copy /bin/sh");
    let mut copied = vec!["bin/sh".to_owned()];
    let out = Command::new("ldd").arg(&sh).output().expect("ldd");
    for word in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let Some(rel) = word.strip_prefix('/') else {
            continue;
        };
        let dst = root.join(rel);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::copy(word, &dst).unwrap_or_else(|e| panic!("copy {word}: {e}"));
        if !copied.iter().any(|c| c == rel) {
            copied.push(rel.to_owned());
        }
    }
    copied
}
