//! The crash journal: how a root survives `kill -9` in the middle of a transaction.
//!
//! apk-tools writes its database only at the end of a commit, so a crash leaves files the
//! database does not know. apk-rs appends what it is about to do, and what it has done, to
//! `lib/apk/db/apk-rs.journal` (each record fsynced before the work it announces):
//!
//! ```text
//! apk-rs-journal 1
//! stage hello                      extraction to temporary names starts
//! begin hello                      all temporaries are written; the plan follows:
//! tmp usr/bin\t.apk.<hex>\thello   rename this temporary to this name ("-": delete it)
//! script post-install <hex>        the package's scripts, for scripts.tar
//! record <n>                       then n bytes: its installed-db record
//! placed hello                     every rename done
//! done hello                       old files purged, the package is complete
//! remove libgreet                  removing starts
//! removed libgreet                 removing is complete
//! ```
//!
//! The next package may be staged ahead while one is placed: its `stage` line then comes
//! before the `begin` of the one before it.
//!
//! Opening the database ([`Database::open`](crate::Database::open)) replays a journal left
//! behind: completed steps go into the database; the step in progress is rolled forward (its
//! remaining temporaries renamed, or its remaining files removed), and then temporaries of an
//! extraction that had not reached `begin` are deleted. The database is then written and the
//! journal removed. Scripts of the interrupted step do not run again; the repair says so.
//!
//! World is not journaled: after a crash it is the world from before the transaction (the
//! command did not complete), while the packages and their files agree with each other at
//! package granularity; the next command solves from that world and converges.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use apk_index::{InstalledDb, InstalledDbOptions, PackageInfo};
use apk_pkg::ScriptKind;

use crate::database::layout;

/// An open journal of the transaction in progress.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    path: PathBuf,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Journal {
    /// Start a journal for a new transaction.
    pub(crate) fn begin(root: &Path) -> io::Result<Journal> {
        let path = root.join(layout::JOURNAL);
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        file.write_all(b"apk-rs-journal 1\n")?;
        file.sync_all()?;
        if let Some(d) = path.parent() {
            if let Ok(d) = File::open(d) {
                let _ = d.sync_all();
            }
        }
        Ok(Journal { file, path })
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        self.file.sync_data()
    }

    /// Extraction of `name` to temporary names starts.
    pub(crate) fn staging(&mut self, name: &str) -> io::Result<()> {
        self.append(format!("stage {name}\n").as_bytes())
    }

    /// Everything of `record` is at temporary names; `renames` says where each goes.
    pub(crate) fn planned(
        &mut self,
        record: &PackageInfo,
        renames: &[(String, String, Option<String>)],
        scripts: &[(ScriptKind, Vec<u8>)],
        triggers: &[String],
    ) -> io::Result<()> {
        let mut out = format!("begin {}\n", record.name);
        for (dir, tmp, final_name) in renames {
            out.push_str(&format!(
                "tmp {dir}\t{tmp}\t{}\n",
                final_name.as_deref().unwrap_or("-")
            ));
        }
        for (kind, body) in scripts {
            out.push_str(&format!("script {} {}\n", kind.name(), hex(body)));
        }
        if !triggers.is_empty() {
            out.push_str(&format!("trigger {}\n", triggers.join(" ")));
        }
        let mut text = Vec::new();
        InstalledDb {
            packages: vec![record.clone()],
        }
        .write_to(&mut text)?;
        out.push_str(&format!("record {}\n", text.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&text);
        self.append(&bytes)
    }

    /// Every rename of `name` is done.
    pub(crate) fn placed(&mut self, name: &str) -> io::Result<()> {
        self.append(format!("placed {name}\n").as_bytes())
    }

    /// `record` is installed and the old version's files are gone.
    pub(crate) fn package_done(&mut self, record: &PackageInfo) -> io::Result<()> {
        self.append(format!("done {}\n", record.name).as_bytes())
    }

    /// Removal of `name` starts.
    pub(crate) fn removing(&mut self, name: &str) -> io::Result<()> {
        self.append(format!("remove {name}\n").as_bytes())
    }

    /// `name` is removed.
    pub(crate) fn package_removed(&mut self, name: &str) -> io::Result<()> {
        self.append(format!("removed {name}\n").as_bytes())
    }

    /// The database is written: the journal is no longer needed.
    pub(crate) fn finish(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// One step read back from a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Staging started, nothing planned yet.
    Staging(String),
    /// An install with its plan; `placed`/`done` say how far it got.
    Install {
        record: Box<PackageInfo>,
        renames: Vec<(String, String, Option<String>)>,
        scripts: Vec<(ScriptKind, Vec<u8>)>,
        triggers: Vec<String>,
        placed: bool,
        done: bool,
    },
    /// A removal; `done` says whether it completed.
    Remove { name: String, done: bool },
}

/// An install being read back: what its `begin` line names, then its renames (directory,
/// temporary name, final name), scripts and trigger globs.
type Pending = (
    String,
    Vec<(String, String, Option<String>)>,
    Vec<(ScriptKind, Vec<u8>)>,
    Vec<String>,
);

/// Parse a journal. A torn last record (a crash while appending) is ignored.
pub(crate) fn parse(data: &[u8]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut pos = 0;
    let mut first = true;
    let mut pending: Option<Pending> = None;
    while pos < data.len() {
        let Some(nl) = data[pos..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = String::from_utf8_lossy(&data[pos..pos + nl]).into_owned();
        pos += nl + 1;
        if first {
            first = false;
            if line != "apk-rs-journal 1" {
                return steps;
            }
            continue;
        }
        let (cmd, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match cmd {
            "stage" => steps.push(Step::Staging(rest.to_owned())),
            "begin" => pending = Some((rest.to_owned(), Vec::new(), Vec::new(), Vec::new())),
            "tmp" => {
                if let Some(p) = &mut pending {
                    let mut parts = rest.split('\t');
                    if let (Some(d), Some(t), Some(f)) = (parts.next(), parts.next(), parts.next())
                    {
                        let f = (f != "-").then(|| f.to_owned());
                        p.1.push((d.to_owned(), t.to_owned(), f));
                    }
                }
            }
            "script" => {
                if let Some(p) = &mut pending {
                    if let Some((k, h)) = rest.split_once(' ') {
                        if let (Some(kind), Some(body)) = (script_kind(k), unhex(h)) {
                            p.2.push((kind, body));
                        }
                    }
                }
            }
            "trigger" => {
                if let Some(p) = &mut pending {
                    p.3 = rest.split(' ').map(str::to_owned).collect();
                }
            }
            "record" => {
                let Ok(n) = rest.parse::<usize>() else { break };
                let Some(text) = data.get(pos..pos + n) else {
                    break;
                };
                pos += n;
                let Some((_, renames, scripts, triggers)) = pending.take() else {
                    continue;
                };
                let Ok(db) = InstalledDb::from_bytes(text, &InstalledDbOptions::default()) else {
                    break;
                };
                let Some(record) = db.packages.into_iter().next() else {
                    continue;
                };
                // The step replaces its "stage" line, which need not be the last one: the
                // next package may be staged ahead while this one is placed.
                steps.retain(|s| !matches!(s, Step::Staging(n) if *n == record.name));
                steps.push(Step::Install {
                    record: Box::new(record),
                    renames,
                    scripts,
                    triggers,
                    placed: false,
                    done: false,
                });
            }
            "placed" | "done" => {
                let step = steps
                    .iter_mut()
                    .rev()
                    .find(|s| matches!(s, Step::Install { record, .. } if record.name == rest));
                if let Some(Step::Install { placed, done, .. }) = step {
                    *placed = true;
                    if cmd == "done" {
                        *done = true;
                    }
                }
            }
            "remove" => steps.push(Step::Remove {
                name: rest.to_owned(),
                done: false,
            }),
            "removed" => {
                let step = steps
                    .iter_mut()
                    .rev()
                    .find(|s| matches!(s, Step::Remove { name, .. } if name == rest));
                if let Some(Step::Remove { done, .. }) = step {
                    *done = true;
                }
            }
            _ => break,
        }
    }
    steps
}

fn script_kind(name: &str) -> Option<ScriptKind> {
    [
        ScriptKind::PreInstall,
        ScriptKind::PostInstall,
        ScriptKind::PreUpgrade,
        ScriptKind::PostUpgrade,
        ScriptKind::PreDeinstall,
        ScriptKind::PostDeinstall,
        ScriptKind::Trigger,
    ]
    .into_iter()
    .find(|k| k.name() == name)
}

/// Remove every leftover temporary extraction name (`.apk.` + 48 hex digits) under `root`,
/// not crossing into other file systems, `proc`, `sys` or `dev`.
pub(crate) fn sweep_temporaries(root: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(root_meta) = fs::symlink_metadata(root) else {
        return 0;
    };
    let dev = root_meta.dev();
    let mut removed = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(n) = name.to_str() else { continue };
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                if meta.dev() == dev && !(dir == root && matches!(n, "proc" | "sys" | "dev")) {
                    stack.push(e.path());
                }
                continue;
            }
            if is_temp_name(n) && fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

fn is_temp_name(n: &str) -> bool {
    n.strip_prefix(".apk.")
        .is_some_and(|h| h.len() == 48 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The temporary name the extractor gives `path` of package `name` (apk-tools' scheme: the
/// first 24 bytes of SHA-256 over the name, a NUL and the path, in hex, after `.apk.`).
pub(crate) fn temp_name(name: &str, path: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    format!(".apk.{}", hex(&h.finalize()[..24]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_journal_keeps_complete_steps() {
        let mut rec = PackageInfo::new("a", "1");
        rec.identity = None;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/apk/db")).unwrap();
        let mut j = Journal::begin(dir.path()).unwrap();
        j.staging("a").unwrap();
        j.planned(
            &rec,
            &[("usr/bin".into(), ".apk.x".into(), Some("a".into()))],
            &[(ScriptKind::PostInstall, b"#!/bin/sh\n".to_vec())],
            &[],
        )
        .unwrap();
        j.placed("a").unwrap();
        j.package_done(&rec).unwrap();
        j.removing("b").unwrap();
        let mut data = std::fs::read(dir.path().join(layout::JOURNAL)).unwrap();
        data.extend_from_slice(b"remov");
        let steps = parse(&data);
        assert_eq!(steps.len(), 2);
        assert!(
            matches!(&steps[0], Step::Install { done: true, renames, scripts, .. } if renames.len() == 1 && scripts.len() == 1)
        );
        assert_eq!(
            steps[1],
            Step::Remove {
                name: "b".into(),
                done: false
            }
        );
    }

    #[test]
    fn staged_ahead_steps_pair_up_by_name() {
        let rec = |name: &str| {
            let mut r = PackageInfo::new(name, "1");
            r.identity = None;
            r
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/apk/db")).unwrap();
        let mut j = Journal::begin(dir.path()).unwrap();
        // b is staged ahead while a is placed; then c while b is.
        j.staging("b").unwrap();
        j.staging("a").unwrap();
        j.planned(&rec("a"), &[], &[], &[]).unwrap();
        j.placed("a").unwrap();
        j.package_done(&rec("a")).unwrap();
        j.staging("c").unwrap();
        j.planned(&rec("b"), &[], &[], &[]).unwrap();
        j.placed("b").unwrap();
        let data = std::fs::read(dir.path().join(layout::JOURNAL)).unwrap();
        let steps = parse(&data);
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(
            matches!(&steps[0], Step::Install { record, done: true, .. } if record.name == "a")
        );
        assert_eq!(steps[1], Step::Staging("c".into()));
        assert!(matches!(
            &steps[2],
            Step::Install { record, placed: true, done: false, .. } if record.name == "b"
        ));
    }

    #[test]
    fn temp_names() {
        assert!(is_temp_name(&format!(".apk.{}", "a".repeat(48))));
        assert!(!is_temp_name(".apk.abc"));
        assert!(!is_temp_name("hello"));
    }
}
