//! The solver test mode of apk-tools 2's test binary: solve without a root.
//!
//! ```text
//! apk-rs --test-repo [!][TAG:]FILE … [--test-instdb FILE] [--test-world "DEPS"] [--force]
//!        COMMAND ARGS…
//! ```
//!
//! * `--test-repo` (repeatable, in repositories-file order): an index, as APKINDEX text or an
//!   `APKINDEX.tar.gz` (told apart by the gzip magic, never by the file name); `TAG:` pins it
//!   to a repository tag; a leading `!` makes it the cache's index of non-repository packages.
//! * `--test-instdb`: the installed database (`lib/apk/db/installed` text); default empty.
//! * `--test-world`: world, as one space-separated argument; default empty.
//! * `--force`: `--force-broken-world`.
//! * `--why`: when no solution exists, follow apk's report with a `why:` block, the
//!   [`apk_solver::Derivation`] of each problem (the steps from world down to the clash).
//!   Without it the output is exactly apk-tools'.
//! * COMMAND: `add`, `del`, `upgrade` or `fix` with apk's flags (see
//!   [`apk_solver::command::Invocation`]). Nothing is installed: the output is what
//!   `apk --simulate` prints.
//!
//! Output is apk-tools' transcript, split the way apk splits it: `ERROR:` and `WARNING:`
//! messages (with the indented lines of the error report, and the `why:` block) on stderr,
//! the rest on stdout, in order. The exit status is the number of errors (capped at 255), as
//! apk's.
//!
//! Because `--test-repo` goes before the command like a global option, `main` looks for the
//! test options in the raw arguments before clap sees
//! them and hands the whole command line here; see [`requested`].

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use apk_index::{Dependency, Index, IndexOptions, InstalledDb, Rules};
use apk_solver::command::{Invocation, read_installed, run as run_command};
use apk_solver::{Repository, RepositoryKind};

/// The options of apk-tools 2's test binary; any of them selects the test mode.
const TEST_OPTIONS: [&str; 3] = ["--test-repo", "--test-instdb", "--test-world"];

/// Whether the command line (without the program name) asks for the test mode: it has one of
/// the `--test-*` options (or an abbreviation of one, as apk's option parser takes them).
pub fn requested(args: &[String]) -> bool {
    args.iter().any(|a| {
        let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
        name.len() > "--test-".len() && TEST_OPTIONS.iter().any(|o| o.starts_with(name))
    })
}

/// Run the test mode on `args` (the command line without the program name), writing the
/// transcript to `out` (stdout) and `err` (stderr).
pub fn run(
    args: &[String],
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let args = match crate::commit::expand_abbreviations(args) {
        Ok(args) => args,
        Err(msg) => {
            writeln!(err, "ERROR: {msg}")?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let inv = match Invocation::parse(&args) {
        Ok(inv) => inv,
        Err(e) => {
            writeln!(err, "ERROR: {e}")?;
            return Ok(ExitCode::FAILURE);
        }
    };
    // One thread per index file, as apk-rs loads a root's repositories.
    let indexes: Vec<anyhow::Result<Index>> = std::thread::scope(|s| {
        let loading: Vec<_> = inv
            .test_repos
            .iter()
            .map(|tr| {
                let path = Path::new(&tr.path);
                (
                    path,
                    std::thread::Builder::new()
                        .spawn_scoped(s, || load_index(path))
                        .ok(),
                )
            })
            .collect();
        loading
            .into_iter()
            .map(|(path, h)| match h {
                Some(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("index loader failed"))),
                // No thread could start for it: load it here.
                None => load_index(path),
            })
            .collect()
    });
    let mut repos = Vec::with_capacity(inv.test_repos.len());
    for (tr, index) in inv.test_repos.iter().zip(indexes) {
        let mut repo = Repository::new(index?);
        repo.tag = tr.tag.clone();
        if tr.cache {
            repo.kind = RepositoryKind::Cache;
        }
        repos.push(repo);
    }
    let installed = match &inv.test_instdb {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("{path}: cannot read"))?;
            read_installed(&bytes)
        }
        None => InstalledDb::default(),
    };
    let world = inv.test_world.as_deref().map_or_else(Vec::new, parse_world);
    let outcome = run_command(&inv, repos, &installed, world);
    write_transcript(&outcome.transcript, out, err)?;
    Ok(ExitCode::from(
        u8::try_from(outcome.exit_status.max(0)).unwrap_or(u8::MAX),
    ))
}

/// Load an index file: an `APKINDEX.tar.gz` (unverified, as with `--allow-untrusted`) or
/// plain APKINDEX text.
fn load_index(path: &Path) -> anyhow::Result<Index> {
    let data = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let options = IndexOptions::default();
    if data.starts_with(&[0x1f, 0x8b]) {
        Index::from_archive_bytes(&data, None, &options)
            .with_context(|| format!("{}: cannot load the index", path.display()))
    } else {
        Ok(Index::from_text(data, &options))
    }
}

/// World entries as apk reads `etc/apk/world`: v3 syntax, or v2's where v3 refuses a token.
/// Tokens neither accepts are skipped, as apk skips them.
fn parse_world(text: &str) -> Vec<Dependency> {
    text.split_whitespace()
        .filter_map(|d| {
            Dependency::parse(d, Rules::V3)
                .or_else(|_| Dependency::parse(d, Rules::V2))
                .ok()
        })
        .collect()
}

/// Write `transcript` line by line: messages apk prints with `ERROR:`/`WARNING:`, the `why:`
/// block of `--why` that follows an error report (and the indented lines that continue
/// them) to `err`, everything else to `out`. `out` is flushed
/// before each write to `err` so that a combined capture keeps apk's order.
fn write_transcript(
    transcript: &str,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<()> {
    let mut in_message = false;
    for line in transcript.split_inclusive('\n') {
        let to_err = if line.starts_with("ERROR: ")
            || line.starts_with("WARNING: ")
            || line.starts_with("why:")
        {
            true
        } else {
            in_message && line.starts_with("  ")
        };
        in_message = to_err;
        if to_err {
            out.flush()?;
            err.write_all(line.as_bytes())?;
        } else {
            out.write_all(line.as_bytes())?;
        }
    }
    out.flush()?;
    err.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_messages_from_the_changeset() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_transcript(
            "WARNING: w\n(1/1) Installing a (1)\nERROR: unable to select packages:\n  b (no such package):\n    required by: world[b]\nOK: 1 B in 1 packages\n",
            &mut out,
            &mut err,
        )
        .expect("writing to a Vec");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "(1/1) Installing a (1)\nOK: 1 B in 1 packages\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&err),
            "WARNING: w\nERROR: unable to select packages:\n  b (no such package):\n    required by: world[b]\n"
        );
    }

    #[test]
    fn the_why_block_follows_the_report_on_stderr() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let text = "ERROR: unable to select packages:\n  b (no such package):\n    required by: world[b]\n\
                    why:\n  b (no such package):\n    world requires b\n";
        write_transcript(text, &mut out, &mut err).expect("writing to a Vec");
        assert!(out.is_empty());
        assert_eq!(String::from_utf8_lossy(&err), text);
    }

    #[test]
    fn requested_by_test_options() {
        let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(requested(&args("--test-repo r add a")));
        assert!(requested(&args("--test-world a upgrade")));
        assert!(!requested(&args("--no-network add -t .virtual")));
        assert!(!requested(&args("version -t 1 2")));
        assert!(!requested(&args("-v verify add")));
    }

    #[test]
    fn world_accepts_v2_and_v3_tokens() {
        let world = parse_world("a  b>=1 c@edge");
        let names: Vec<&str> = world.iter().map(|d| d.name()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
