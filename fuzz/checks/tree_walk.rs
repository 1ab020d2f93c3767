//! What an extraction left in a directory: the tree walk and the temporary-name test that the
//! `extract` and `extract_adb` checks share.
//!
//! Included, via `#[path]`, at the crate root of whoever includes those checks (as
//! `mod tree_walk`), like `gzip_streams.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// What the walk found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

/// Everything below `root`, never following symlinks. Directories and files are made readable
/// first (their modes come from the package, 0 included).
pub fn walk(root: &Path) -> BTreeMap<PathBuf, Kind> {
    let mut found = BTreeMap::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let dir = root.join(&rel);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod a directory");
        for entry in fs::read_dir(&dir).expect("listing a directory") {
            let entry = entry.expect("listing a directory");
            let path = rel.join(entry.file_name());
            let ft = entry.file_type().expect("file type");
            let kind = if ft.is_dir() {
                todo.push(path.clone());
                Kind::Dir
            } else if ft.is_file() {
                let file = root.join(&path);
                fs::set_permissions(&file, fs::Permissions::from_mode(0o600))
                    .expect("chmod a file");
                Kind::File
            } else if ft.is_symlink() {
                Kind::Symlink
            } else {
                Kind::Other
            };
            found.insert(path, kind);
        }
    }
    found
}

/// `.apk.` and 48 lowercase hex digits: the extractor's temporary names.
pub fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(".apk.").is_some_and(|hex| {
        hex.len() == 48
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
