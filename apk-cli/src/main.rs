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
//!   [`index`], [`info`], [`list`], [`search`], [`policy`], [`dot`], [`manifest`], [`stats`],
//!   [`audit`], [`cache`], [`fetch`], [`adbdump`]; [`query`] holds what the database readers share) with
//!   its own clap options struct, its own validated configuration and one entry function, `run`, which writes
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
//!   `version -c` (invalid versions), `verify` (files that did not verify), `info -e`
//!   (packages not installed), `info -W` (files without an owner), `fetch` and
//!   `cache download` (packages that could not be fetched); the solver test mode exits with
//!   the number of solver errors, as apk does.
//!
//! A closed stdout (`apk-rs … | head`) is not an error: the program stops writing and exits 0.

mod adbdump;
mod adbsign;
mod audit;
mod cache;
mod commit;
mod convndx;
mod dot;
mod extract;
mod fetch;
mod index;
mod info;
mod list;
mod manifest;
mod mkndx;
mod mkpkg;
mod policy;
mod query;
mod search;
mod stats;
mod test_mode;
mod verify;
mod version;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The commands parsed outside clap, listed after the others in `--help`.
const ROOT_COMMANDS: &str = "\
Commands that change a root (see `apk-rs COMMAND --help`):
  add      Add packages to world and install them with what they need
  del      Remove packages from world and uninstall what is no longer needed
  upgrade  Upgrade the installed packages
  fix      Repair packages without changing world
  update   Refresh the repository indexes

Solving without a root, as apk-tools 2's test binary:
  apk-rs --test-repo [TAG:]FILE... [--test-instdb FILE] [--test-world DEPS] COMMAND ARGS...";

/// The help heading of the global options.
const GLOBAL: &str = "Global options";

/// apk-rs: an apk-tools compatible package manager.
///
/// Global options may appear before or after the command name.
#[derive(Debug, Parser)]
#[command(name = "apk-rs", version, after_help = ROOT_COMMANDS)]
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

    /// Use an additional repository (may be repeated).
    #[arg(short = 'X', long = "repository", value_name = "REPO", global = true, help_heading = GLOBAL)]
    repositories: Vec<String>,

    /// Read the repositories from FILE instead of ROOT/etc/apk/repositories.
    #[arg(long = "repositories-file", value_name = "FILE", global = true, help_heading = GLOBAL)]
    repositories_file: Option<PathBuf>,

    /// Use ARCH as the primary architecture.
    #[arg(long = "arch", value_name = "ARCH", global = true, help_heading = GLOBAL)]
    arch: Option<String>,

    /// Do not use the package cache.
    #[arg(long = "no-cache", global = true, help_heading = GLOBAL)]
    no_cache: bool,

    /// Do not use the network; cached remote indexes are still read.
    #[arg(long = "no-network", global = true, help_heading = GLOBAL)]
    no_network: bool,

    /// Refresh cached remote indexes older than MINUTES (default 240).
    #[arg(long = "cache-max-age", value_name = "MINUTES", global = true, help_heading = GLOBAL)]
    cache_max_age: Option<u64>,

    /// Refresh the cached remote indexes now.
    #[arg(short = 'U', long = "update-cache", global = true, help_heading = GLOBAL)]
    update_cache: bool,

    /// Show what would be done without doing it.
    #[arg(long = "simulate", global = true, help_heading = GLOBAL)]
    simulate: bool,

    /// Wait up to SECONDS for the database lock.
    #[arg(long = "wait", value_name = "SECONDS", global = true, help_heading = GLOBAL)]
    wait: Option<u64>,

    #[command(subcommand)]
    command: Command,
}

/// The applets.
#[derive(Debug, Subcommand)]
enum Command {
    /// Compare installed packages with the repositories, or compare and validate versions.
    Version(version::Args),
    /// Check the signatures of repository indexes (APKINDEX.tar.gz) and packages (.apk).
    Verify(verify::Args),
    /// Unpack packages safely into a directory.
    Extract(extract::Args),
    /// Build a (signed) repository index from package files.
    Index(index::Args),
    /// Build a signed package from a file tree, metadata and scripts (v2 or v3 format).
    Mkpkg(mkpkg::Args),
    /// Build a (signed) v3 repository index, Packages.adb, from package files.
    Mkndx(mkndx::Args),
    /// Convert v2 indexes (APKINDEX.tar.gz) into one (signed) v3 index.
    Convndx(convndx::Args),
    /// Sign, re-sign or re-compress v3 packages and indexes in place.
    Adbsign(adbsign::Args),
    /// Show installed packages, or details of packages.
    Info(info::Args),
    /// List packages matching patterns.
    List(list::Args),
    /// Search packages by name or description.
    Search(search::Args),
    /// Show the versions of packages and the repositories providing them.
    Policy(policy::Args),
    /// Print the dependency graph as Graphviz input.
    Dot(dot::Args),
    /// Print the checksum of every file of installed packages.
    Manifest(manifest::Args),
    /// Print counts of installed and available packages.
    Stats(stats::Args),
    /// Compare the file system with the installed database.
    Audit(audit::Args),
    /// Manage the package cache.
    Cache(cache::Args),
    /// Download packages from the repositories.
    Fetch(fetch::Args),
    /// Print apk v3 (ADB) packages and indexes as text, like apk-tools 3's adbdump.
    Adbdump(adbdump::Args),
}

/// The validated global configuration that every applet receives.
#[derive(Debug, Clone)]
struct Global {
    /// The root of the managed file system (`--root`, default `/`).
    root: PathBuf,
    /// The keys directory: `--keys-dir` when given, otherwise `ROOT/etc/apk/keys`.
    keys_dir: PathBuf,
    /// Whether `--keys-dir` was given explicitly (then it must exist).
    keys_dir_explicit: bool,
    /// `--allow-untrusted`.
    allow_untrusted: bool,
    /// The number of `-v` minus the number of `-q`: 0 is normal, negative is quiet.
    verbosity: i16,
    /// `--repository`/`-X` URLs, in order.
    repositories: Vec<String>,
    /// `--repositories-file`.
    repositories_file: Option<PathBuf>,
    /// `--arch`.
    arch: Option<String>,
    /// `--no-cache`.
    no_cache: bool,
    /// `--no-network`.
    no_network: bool,
    /// `--cache-max-age`, in minutes.
    cache_max_age: Option<u64>,
    /// `-U`/`--update-cache`.
    update_cache: bool,
    /// `--wait`, in seconds.
    wait: Option<u64>,
    /// `--simulate`.
    simulate: bool,
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
            repositories: cli.repositories.clone(),
            repositories_file: cli.repositories_file.clone(),
            arch: cli.arch.clone(),
            no_cache: cli.no_cache,
            no_network: cli.no_network,
            cache_max_age: cli.cache_max_age,
            update_cache: cli.update_cache,
            wait: cli.wait,
            simulate: cli.simulate,
        }
    }

    /// The options to open the root's database with; `lock` says whether (and how long) to
    /// wait for the lock, `None` opening it read-only.
    fn open_options(&self, lock: Option<apk_db::LockWait>) -> apk_db::OpenOptions {
        let mut options = apk_db::OpenOptions::new(&self.root)
            .lock(lock)
            .allow_untrusted(self.allow_untrusted)
            .no_cache(self.no_cache);
        if self.keys_dir_explicit {
            options = options.keys_dir(&self.keys_dir);
        }
        if let Some(arch) = &self.arch {
            options = options.arch(arch);
        }
        options.extra_repositories = self.repositories.clone();
        options.repositories_file = self.repositories_file.clone();
        options.no_network = self.no_network;
        options.update_cache = self.update_cache;
        // apk-tools prepares its static index cache for every command without --no-cache.
        options.prepare_cache = true;
        if let Some(minutes) = self.cache_max_age {
            options.cache_max_age = std::time::Duration::from_secs(minutes.saturating_mul(60));
        }
        options
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

/// `--print-arch`: the root's primary architecture (`--arch`, else the first word of
/// `ROOT/etc/apk/arch`, else this machine's), as apk prints it for scripts.
fn print_arch(args: &[String]) -> String {
    let mut root = PathBuf::from("/");
    let mut arch = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.split_once('=') {
            Some(("--root", v)) => root = PathBuf::from(v),
            Some(("--arch", v)) => arch = Some(v.to_owned()),
            _ => match a.as_str() {
                "--root" | "-p" => root = it.next().map_or(root, PathBuf::from),
                "--arch" => arch = it.next().cloned().or(arch),
                _ => {}
            },
        }
    }
    arch.or_else(|| {
        std::fs::read_to_string(root.join(apk_db::database::layout::ARCH))
            .ok()?
            .split_whitespace()
            .next()
            .map(str::to_owned)
    })
    .unwrap_or_else(|| apk_db::default_arch().to_owned())
}

/// Parses the command line and runs the applet.
fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.iter().any(|a| a == "--print-arch") {
        let mut out = io::stdout().lock();
        writeln!(out, "{}", print_arch(&args))?;
        return Ok(ExitCode::SUCCESS);
    }
    if test_mode::requested(&args) {
        let mut out = io::stdout().lock();
        let mut err = io::stderr().lock();
        return test_mode::run(&args, &mut out, &mut err);
    }
    if commit::requested(&args) {
        let mut out = io::stdout().lock();
        let mut err = io::stderr().lock();
        return commit::run(&args, &mut out, &mut err);
    }
    // As apk's `getopt_long`: any unambiguous prefix of a long option is the option.
    fn infer_long_args(cmd: clap::Command) -> clap::Command {
        cmd.infer_long_args(true).mut_subcommands(infer_long_args)
    }
    let parsed = infer_long_args(<Cli as clap::CommandFactory>::command())
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
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
        Command::Mkndx(args) => mkndx::run(args, &global, &mut out)?,
        Command::Convndx(args) => convndx::run(args, &global, &mut out)?,
        Command::Adbsign(args) => adbsign::run(args, &global, &mut out)?,
        Command::Info(args) => info::run(args, &global, &mut out)?,
        Command::List(args) => list::run(args, &global, &mut out)?,
        Command::Search(args) => search::run(args, &global, &mut out)?,
        Command::Policy(args) => policy::run(args, &global, &mut out)?,
        Command::Dot(args) => dot::run(args, &global, &mut out)?,
        Command::Manifest(args) => manifest::run(args, &global, &mut out)?,
        Command::Stats(args) => stats::run(args, &global, &mut out)?,
        Command::Audit(args) => audit::run(args, &global, &mut out)?,
        Command::Cache(args) => cache::run(args, &global, &mut out)?,
        Command::Fetch(args) => fetch::run(args, &global, &mut out)?,
        Command::Adbdump(args) => adbdump::run(args, &global, &mut out)?,
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
