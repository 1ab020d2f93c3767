//! `apk-rs version`: compare (`-t`) and validate (`-c`) version strings.
//!
//! * `version -t A B` prints one line, `<`, `=` or `>`: how `A` compares with `B`. Exit 0.
//!   Under the v3 rules an invalid version on either side prints `=`, as apk-tools 3.0 does;
//!   under the v2 rules invalid versions still get apk-tools 2.14's best-effort order.
//! * `version -c V…` prints every version that is *invalid* under the rules in use, one per
//!   line, in argument order, and exits with their count (capped at 255).
//!
//! `--version-rules v2|v3` (default `v3`) picks apk-tools 2.14's or 3.0's rules
//! ([`apk_index::Rules`]). Without `-t` or `-c`, apk lists installed packages against the
//! repositories; that needs the installed database and is not implemented yet.

use std::cmp::Ordering;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use apk_index::version::{self, Rules};

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

    /// The versions: exactly two with `-t`, any number with `-c`.
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
        } else {
            bail!(
                "listing installed packages against the repositories is not implemented yet \
                 (use -t to compare or -c to validate versions)"
            )
        }
    }
}

/// Runs `version`, writing its transcript to `out`.
pub fn run(args: Args, _global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
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
    }
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
