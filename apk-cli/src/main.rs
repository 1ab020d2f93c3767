//! `apk-rs`: an apk-compatible command line over the apk-rs crates.
//!
//! # Layout
//!
//! * This file holds the top-level [`Cli`] (apk's global options plus one subcommand per
//!   applet), turns the raw flags into a validated [`Global`] configuration once, and maps the
//!   outcome to an exit code.
//! * `--test-repo` (or another `--test-*` option, or `add`/`del`/`upgrade`/`fix` as the
//!   command) switches to the solver test mode of apk-tools 2's test binary ([`test_mode`]),
//!   which has its own argument syntax and bypasses clap.
//! * Each applet lives in its own module ([`version`], [`verify`], [`mkpkg`], [`extract`],
//!   [`index`]) with its own clap options struct, its own validated configuration and one entry function, `run`, which writes
//!   its transcript to the writer it is given and returns the exit code.
//!
//! Only this crate prints, reads the environment or exits: the library crates return values and
//! typed errors, and the applets turn those into apk's transcript lines.
//!
//! # Exit codes
//!
//! * `0`: success.
//! * `1`: a fatal error; the whole error chain is printed once on stderr as `ERROR: …`.
//! * `2`: a command-line usage error (reported by clap).
//! * Applets that check several things exit with the number of failures, capped at 255:
//!   `version -c` (invalid versions) and `verify` (files that did not verify); the solver
//!   test mode exits with the number of solver errors, as apk does.
//!
//! A closed stdout (`apk-rs … | head`) is not an error: the program stops writing and exits 0.

mod extract;
mod index;
mod mkpkg;
mod test_mode;
mod verify;
mod version;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The help heading of the global options.
const GLOBAL: &str = "Global options";

/// apk-rs: an apk-tools compatible package manager.
///
/// Global options may appear before or after the command name.
#[derive(Debug, Parser)]
#[command(name = "apk-rs", version)]
struct Cli {
    /// Manage the file system rooted at ROOT instead of /.
    #[arg(short = 'p', long = "root", value_name = "ROOT", global = true, help_heading = GLOBAL)]
    root: Option<PathBuf>,

    /// Read the trusted public keys from DIR instead of ROOT/etc/apk/keys.
    #[arg(long = "keys-dir", value_name = "DIR", global = true, help_heading = GLOBAL)]
    keys_dir: Option<PathBuf>,

    /// Accept unsigned or untrusted indexes and packages (`verify` reports them regardless).
    #[arg(long = "allow-untrusted", global = true, help_heading = GLOBAL)]
    allow_untrusted: bool,

    /// Print less; may be repeated.
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    quiet: u8,

    /// Print more; may be repeated.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

/// The applets.
#[derive(Debug, Subcommand)]
enum Command {
    /// Compare or validate version strings (installed-package listing is not implemented yet).
    Version(version::Args),
    /// Check the signatures of repository indexes (APKINDEX.tar.gz) and packages (.apk).
    Verify(verify::Args),
    /// Unpack packages safely into a directory.
    Extract(extract::Args),
    /// Build a (signed) repository index from package files.
    Index(index::Args),
    /// Build a signed package from a file tree, metadata and scripts (v2 format).
    Mkpkg(mkpkg::Args),
}

/// The validated global configuration that every applet receives.
#[derive(Debug, Clone)]
struct Global {
    /// The root of the managed file system (`--root`, default `/`).
    #[expect(dead_code, reason = "verify and version do not touch the root yet")]
    root: PathBuf,
    /// The keys directory: `--keys-dir` when given, otherwise `ROOT/etc/apk/keys`.
    keys_dir: PathBuf,
    /// Whether `--keys-dir` was given explicitly (then it must exist).
    keys_dir_explicit: bool,
    /// `--allow-untrusted`.
    allow_untrusted: bool,
    /// The number of `-v` minus the number of `-q`: 0 is normal, negative is quiet.
    verbosity: i16,
}

impl Global {
    /// Validates the raw global flags.
    fn from_cli(cli: &Cli) -> Global {
        let root = cli.root.clone().unwrap_or_else(|| PathBuf::from("/"));
        let (keys_dir, keys_dir_explicit) = match &cli.keys_dir {
            Some(dir) => (dir.clone(), true),
            None => (root.join("etc/apk/keys"), false),
        };
        Global {
            root,
            keys_dir,
            keys_dir_explicit,
            allow_untrusted: cli.allow_untrusted,
            verbosity: i16::from(cli.verbose) - i16::from(cli.quiet),
        }
    }
}

/// An exit code for a count of failures: the count itself, capped at 255.
fn failure_count_exit_code(failures: usize) -> ExitCode {
    ExitCode::from(u8::try_from(failures).unwrap_or(u8::MAX))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // If stderr is gone too there is nobody left to tell.
            let _ = writeln!(io::stderr().lock(), "ERROR: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the applet.
fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if test_mode::requested(&args) {
        let mut out = io::stdout().lock();
        let mut err = io::stderr().lock();
        return test_mode::run(&args, &mut out, &mut err);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` arrive here too, with exit code 0.
            err.print()?;
            return Ok(ExitCode::from(
                u8::try_from(err.exit_code()).unwrap_or(u8::MAX),
            ));
        }
    };
    let global = Global::from_cli(&cli);
    let mut out = io::stdout().lock();
    let code = match cli.command {
        Command::Version(args) => version::run(args, &global, &mut out)?,
        Command::Verify(args) => verify::run(args, &global, &mut out)?,
        Command::Extract(args) => extract::run(args, &global, &mut out)?,
        Command::Index(args) => index::run(args, &global, &mut out)?,
        Command::Mkpkg(args) => mkpkg::run(args, &global, &mut out)?,
    };
    out.flush()?;
    Ok(code)
}

/// Whether `err` was caused by writing to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
