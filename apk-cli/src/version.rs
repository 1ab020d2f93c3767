//! `apk-rs version`: installed packages against the repositories, and version strings.
//!
//! * `version [NAME…]` lists the installed packages (sorted by name, those matching the glob
//!   patterns when given) against the best version the repositories have:
//!
//!   ```text
//!   Installed:                                Available:
//!   hello-1.0-r0                            < 1.1-r0
//!   ```
//!
//!   The header, then per package `name-version` padded to 40 columns, the comparison
//!   (`<` older than the repositories', `=` same, `>` newer, `?` in no repository) and the
//!   available version (` @tag` follows when the package was installed from a tagged
//!   repository). Only repositories the package is allowed from count: untagged ones and
//!   those with the tag it was installed with (`-a`: all). By default packages that are up
//!   to date (`=`) are left out; `-v` shows all and `-l OPS` shows those whose comparison is
//!   one of the characters of OPS (e.g. `-l '<'`). `-q` prints only the names, without header.
//! * `version -I` prints each repository index's description and URL: `DESCRIPTION [URL]`.
//! * `version -t A B` prints one line, `<`, `=` or `>`: how `A` compares with `B`. Exit 0.
//!   Under the v3 rules an invalid version on either side prints `=`, as apk-tools 3.0 does;
//!   under the v2 rules invalid versions still get apk-tools 2.14's best-effort order.
//! * `version -c V…` prints every version that is *invalid* under the rules in use, one per
//!   line, in argument order, and exits with their count (capped at 255).
//!
//! `--version-rules v2|v3` (default `v3`) picks apk-tools 2.14's or 3.0's rules
//! ([`apk_index::Rules`]).

use std::cmp::Ordering;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use apk_index::version::{self, Rules};

use crate::query::{self, Universe};
use crate::{Global, failure_count_exit_code};

/// Options of `apk-rs version`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compare the two given versions and print `<`, `=` or `>`.
    #[arg(short = 't', long = "test", conflicts_with = "check")]
    test: bool,

    /// Print the given versions that are invalid; exit with their count.
    #[arg(short = 'c', long = "check")]
    check: bool,

    /// The version rules: v3 (apk-tools 3.0: strict validation, leading-zero groups compare
    /// as strings) or v2 (apk-tools 2.14: lax validation, leading zeros sort low).
    #[arg(long = "version-rules", value_name = "RULES", default_value = "v3")]
    rules: RulesArg,

    /// List only packages whose comparison result is one of these characters (`<>=?`).
    #[arg(short = 'l', long = "limit", value_name = "OPS")]
    limit: Option<String>,

    /// Compare against the repositories of every tag, not only the allowed ones.
    #[arg(short = 'a', long = "all")]
    all: bool,

    /// Print the description and URL of each repository index.
    #[arg(short = 'I', long = "indexes")]
    indexes: bool,

    /// The versions: exactly two with `-t`, any number with `-c`; otherwise package name
    /// patterns.
    #[arg(value_name = "VERSION")]
    versions: Vec<OsString>,
}

/// The values of `--version-rules`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RulesArg {
    // No doc comments here: clap would show them as a long value list in `--help`; the
    // option's own help describes both.
    V2,
    V3,
}

impl From<RulesArg> for Rules {
    fn from(arg: RulesArg) -> Rules {
        match arg {
            RulesArg::V2 => Rules::V2,
            RulesArg::V3 => Rules::V3,
        }
    }
}

/// What `version` was asked to do, validated.
#[derive(Debug)]
enum Mode {
    /// `-t A B`.
    Test(OsString, OsString),
    /// `-c V…`.
    Check(Vec<OsString>),
    /// `-I`.
    Indexes,
    /// Installed packages against the repositories.
    List {
        /// Name patterns.
        patterns: Vec<String>,
        /// `-l`.
        limit: Option<String>,
        /// `-a`.
        all_tags: bool,
    },
}

impl Mode {
    fn from_args(args: Args) -> anyhow::Result<Mode> {
        if args.test {
            let Ok([a, b]) = <[OsString; 2]>::try_from(args.versions) else {
                bail!("version -t takes exactly two versions");
            };
            Ok(Mode::Test(a, b))
        } else if args.check {
            Ok(Mode::Check(args.versions))
        } else if args.indexes {
            Ok(Mode::Indexes)
        } else {
            Ok(Mode::List {
                patterns: args
                    .versions
                    .iter()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect(),
                limit: args.limit,
                all_tags: args.all,
            })
        }
    }
}

/// Runs `version`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let rules = Rules::from(args.rules);
    match Mode::from_args(args)? {
        Mode::Test(a, b) => {
            let op = test(a.as_encoded_bytes(), b.as_encoded_bytes(), rules);
            writeln!(out, "{op}").context("failed to write the result")?;
            Ok(ExitCode::SUCCESS)
        }
        Mode::Check(versions) => {
            let mut invalid = 0;
            for v in &versions {
                let bytes = v.as_encoded_bytes();
                if !version::is_valid(bytes, rules) {
                    invalid += 1;
                    out.write_all(bytes)
                        .and_then(|()| out.write_all(b"\n"))
                        .context("failed to write the result")?;
                }
            }
            Ok(failure_count_exit_code(invalid))
        }
        Mode::Indexes => {
            let db = query::open(global, true)?;
            for repo in db.loaded_repositories() {
                if let Some(index) = &repo.index {
                    let desc = index.description().unwrap_or("");
                    query::line(out, format!("{desc} [{}]", repo.repository.url))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Mode::List {
            patterns,
            limit,
            all_tags,
        } => list(&patterns, limit.as_deref(), all_tags, rules, global, out),
    }
}

/// `version` without `-t`/`-c`/`-I`: installed packages against the repositories.
fn list(
    patterns: &[String],
    limit: Option<&str>,
    all_tags: bool,
    rules: Rules,
    global: &Global,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let db = query::open(global, true)?;
    let mut u = Universe::new(&db);
    u.rules = rules;
    let repos = db.loaded_repositories();
    let mut installed: Vec<usize> = (0..u.pkgs.len())
        .filter(|&i| u.pkgs[i].installed.is_some())
        .filter(|&i| query::matches_any(patterns, u.pkgs[i].info.name()))
        .collect();
    installed.sort_by(|&a, &b| u.pkgs[a].info.name().cmp(u.pkgs[b].info.name()));
    if global.verbosity >= 0 {
        query::line(out, format!("{:<42}{}", "Installed:", "Available:"))?;
    }
    for i in installed {
        let pkg = &u.pkgs[i];
        let tag = pkg.installed.and_then(|p| p.repository_tag.as_deref());
        let allowed = |r: usize| {
            all_tags
                || repos.get(r).is_some_and(|l| {
                    l.repository.tag.is_none() || l.repository.tag.as_deref() == tag
                })
        };
        let latest = u
            .by_name(pkg.info.name())
            .iter()
            .copied()
            .filter(|&j| u.pkgs[j].repos.iter().any(|&r| allowed(r)))
            .max_by(|&a, &b| {
                u.compare_versions(u.pkgs[a].info.version(), u.pkgs[b].info.version())
            });
        let (op, available) = match latest {
            Some(j) => {
                let v = u.pkgs[j].info.version();
                let op = match u.compare_versions(pkg.info.version(), v) {
                    Ordering::Less => '<',
                    Ordering::Equal => '=',
                    Ordering::Greater => '>',
                };
                (op, v)
            }
            None => ('?', ""),
        };
        let shown = match limit {
            Some(ops) => ops.contains(op),
            None => global.verbosity > 0 || op != '=',
        };
        if !shown {
            continue;
        }
        if global.verbosity < 0 {
            query::line(out, pkg.info.name())?;
            continue;
        }
        let mut text = format!("{:<40}{op} {available}", query::name_ver(&pkg.info));
        if let Some(t) = tag {
            text.push_str(&format!(" @{t}"));
        }
        query::line(out, text.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The result symbol of `version -t a b`.
fn test(a: &[u8], b: &[u8], rules: Rules) -> &'static str {
    // apk-tools 3.0 cannot order invalid versions and answers `=`.
    if rules == Rules::V3 && !(version::is_valid(a, rules) && version::is_valid(b, rules)) {
        return "=";
    }
    match version::compare(a, b, rules) {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_v3_versions_compare_equal() {
        assert_eq!(test(b"1.0bc", b"1.0", Rules::V3), "=");
        assert_eq!(test(b"1.0bc", b"1.0", Rules::V2), ">");
        assert_eq!(test(b"1.0", b"1.0.1", Rules::V3), "<");
    }
}
