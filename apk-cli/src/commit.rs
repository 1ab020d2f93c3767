//! The applets that change a root: `add`, `del`, `upgrade`, `fix` (solve, then commit) and
//! `update` (refresh the indexes).
//!
//! ```text
//! apk-rs [--root ROOT] [--initdb] [-X URL]… [--repositories-file F] [--keys-dir D]
//!        [--arch A] [--allow-untrusted] [--no-cache] [--no-network] [-U] [-s|--simulate]
//!        [--no-scripts] [--purge] [--clean-protected] [--force-overwrite]
//!        [--force-broken-world] [--wait N] [-q] [-v] COMMAND [OPTIONS] ARGS…
//! ```
//!
//! Global and applet options may be mixed, as apk allows. World editing, solver flags and the
//! transcript of the solve come from [`apk_solver::command`] (so `--simulate` prints exactly
//! what apk-tools prints); the commit is [`apk_db::Transaction`], whose events are printed as
//! apk-tools prints them:
//!
//! ```text
//! (1/2) Installing libgreet (2.1-r0)
//! (2/2) Installing hello (1.0-r0)
//!   Executing hello-1.0-r0.post-install
//! OK: 55 B in 2 packages
//! ```

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use apk_db::{CommitOptions, Database, Event, LockWait, OpenOptions, Transaction};
use apk_index::{Index, IndexOptions, PackageInfo};
use apk_solver::command::{Applet, Invocation, run as solve_command};
use apk_solver::{Repository, RepositoryKind};

/// The applets handled here.
pub const APPLETS: [&str; 5] = ["add", "del", "upgrade", "fix", "update"];

/// Whether the command line (without the program name) names one of [`APPLETS`] as its
/// command.
pub fn requested(args: &[String]) -> bool {
    match expand_abbreviations(args) {
        Ok(expanded) => command_word(&expanded).is_some_and(|a| APPLETS.contains(&a)),
        // An ambiguous option: `run` reports it if the command is one of ours.
        Err(_) => command_word(args).is_some_and(|a| APPLETS.contains(&a)),
    }
}

/// The options every applet here takes (apk's global options), for `--help`.
const GLOBAL_HELP: &str = "\
Global options:
  -p, --root ROOT            Manage the file system rooted at ROOT instead of /
      --initdb               Create the database layout in ROOT first
  -X, --repository URL       Use this repository too (repeatable)
      --repositories-file F  Read the repositories from F instead of ROOT/etc/apk/repositories
      --keys-dir DIR         Read the trusted keys from DIR instead of ROOT/etc/apk/keys
      --arch ARCH            The primary architecture
      --allow-untrusted      Accept unsigned or untrusted indexes and packages
      --no-cache             Use no package cache
      --no-network           Use no network: remote repositories are unavailable
  -U, --update-cache         Refresh the cached indexes first
      --cache-max-age MIN    Refresh cached indexes older than MIN minutes
  -s, --simulate             Print what would be done, change nothing
      --no-scripts           Run no package scripts
      --purge                Remove changed configuration files too
      --clean-protected      Keep no .apk-new files
      --force-overwrite      Overwrite files other packages own
      --force-broken-world   Go on with the parts of world that can be installed
      --no-commit-hooks      Run no commit hooks
      --wait SEC             Wait up to SEC seconds for the database lock
  -q, --quiet                Print less
  -v, --verbose              Print more
      --progress, --no-progress
                             Show (or not) a progress bar on stderr
      --why                  After a failed solve, explain each problem from world down
Long options may be abbreviated to any unambiguous prefix (--update is --update-cache).
";

/// The `--help` text of `applet`.
fn usage(applet: &str) -> String {
    let (line, about, options) = match applet {
        "add" => (
            "add [OPTIONS] PACKAGE[@TAG][OP VERSION]|FILE.apk...",
            "Add packages to world and install them with what they need.",
            "  -t, --virtual NAME[=VERSION]\n\
             \x20                            Install a new virtual package depending on the\n\
             \x20                            packages, and put it (not them) in world\n\
             \x20 -u, --upgrade              Upgrade the packages and what they depend on\n\
             \x20 -l, --latest               Take the latest version, whatever the repository\n",
        ),
        "del" => (
            "del [OPTIONS] PACKAGE...",
            "Remove packages from world and uninstall what is no longer needed.",
            "  -r, --rdepends             Remove what depends on the packages too\n",
        ),
        "upgrade" => (
            "upgrade [OPTIONS] [PACKAGE...]",
            "Upgrade the installed packages (or those named); apk-tools goes first.",
            "  -a, --available            Allow downgrades and replacements to what the\n\
             \x20                            repositories have\n\
             \x20 -l, --latest               Take the latest version, whatever the repository\n\
             \x20     --ignore               Upgrade everything but the named packages\n\
             \x20     --prune                Drop world entries no repository has\n\
             \x20     --self-upgrade-only    Only upgrade apk-tools (--preupgrade-only)\n\
             \x20     --no-self-upgrade      Do not upgrade apk-tools first (--no-preupgrade)\n\
             \x20     --preupgrade-depends DEP\n\
             \x20                            Upgrade DEP first too (!NAME: not NAME)\n",
        ),
        "fix" => (
            "fix [OPTIONS] [PACKAGE...]",
            "Repair packages without changing world; without names, those recorded with errors.",
            "  -r, --reinstall            Reinstall the packages\n\
             \x20 -u, --upgrade              Upgrade them\n\
             \x20 -d, --depends              Fix what they depend on too\n",
        ),
        _ => ("update", "Refresh the repository indexes.", ""),
    };
    let mut text = format!("Usage: apk-rs [GLOBAL OPTIONS] {line}\n\n{about}\n\n");
    if !options.is_empty() {
        text.push_str("Options:\n");
        text.push_str(options);
        text.push('\n');
    }
    text.push_str(GLOBAL_HELP);
    text
}

/// Options that take a value, so that their value is not taken for the command word.
const VALUE_OPTIONS: [&str; 16] = [
    "--root",
    "-p",
    "--repository",
    "-X",
    "--repositories-file",
    "--keys-dir",
    "--arch",
    "--wait",
    "--cache-max-age",
    "--cache-dir",
    "-t",
    "--virtual",
    "--preupgrade-depends",
    "--test-repo",
    "--test-instdb",
    "--test-world",
];

/// Every long option the applets of this module (and the test mode) take, global or their
/// own. apk parses its command line with `getopt_long`, which takes any unambiguous prefix of
/// a long option for the option: `apk add --update` means `--update-cache`.
const LONG_OPTIONS: [&str; 50] = [
    "--allow-untrusted",
    "--arch",
    "--available",
    "--cache-dir",
    "--cache-max-age",
    "--clean-protected",
    "--depends",
    "--force",
    "--force-broken-world",
    "--force-missing-repositories",
    "--force-non-repository",
    "--force-old-apk",
    "--force-overwrite",
    "--force-refresh",
    "--ignore",
    "--initdb",
    "--interactive",
    "--keys-dir",
    "--latest",
    "--no-cache",
    "--no-commit-hooks",
    "--no-network",
    "--no-preupgrade",
    "--no-progress",
    "--no-scripts",
    "--no-self-upgrade",
    "--preupgrade-depends",
    "--preupgrade-only",
    "--progress",
    "--prune",
    "--purge",
    "--quiet",
    "--rdepends",
    "--reinstall",
    "--repositories-file",
    "--repository",
    "--root",
    "--root-tmpfs",
    "--self-upgrade-only",
    "--simulate",
    "--test-instdb",
    "--test-repo",
    "--test-world",
    "--update-cache",
    "--upgrade",
    "--verbose",
    "--virtual",
    "--wait",
    "--why",
    "--help",
];

/// The short options of the applets here: flags, and those that take a value.
const SHORT_FLAGS: &str = "Usqvuialrdh";
const SHORT_VALUES: &str = "pXt";

/// A group of short options (`-sU`, `-pROOT`) as separate arguments (`-s -U`, `-p ROOT`), as
/// `getopt` reads it; `None` when `arg` is not such a group.
fn split_short_flags(arg: &str) -> Option<Vec<String>> {
    let letters = arg.strip_prefix('-')?;
    if letters.len() < 2 || letters.starts_with('-') {
        return None;
    }
    let mut out = Vec::new();
    for (i, c) in letters.char_indices() {
        if SHORT_FLAGS.contains(c) {
            out.push(format!("-{c}"));
        } else if SHORT_VALUES.contains(c) {
            out.push(format!("-{c}"));
            let rest = &letters[i + c.len_utf8()..];
            if !rest.is_empty() {
                out.push(rest.to_owned());
            }
            return Some(out);
        } else {
            return None;
        }
    }
    Some(out)
}

/// `args` with every abbreviated long option (a unique prefix of one of [`LONG_OPTIONS`])
/// written out in full, `--name=value` split into `--name value` for an option that takes
/// a value, and groups of short options split (`-sU` into `-s -U`); the value of an option is
/// left alone. An exact name always wins (`--force` is not `--force-overwrite`); a prefix
/// of several names is an error naming them.
pub(crate) fn expand_abbreviations(args: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a.clone());
            out.extend(it.cloned());
            break;
        }
        let Some(body) = a.strip_prefix("--").filter(|b| !b.is_empty()) else {
            if let Some(split) = split_short_flags(a) {
                // `-sU` is `-s -U`; a value option ends the group (`-pROOT`, or its value
                // is the next argument).
                let takes_next = split
                    .last()
                    .is_some_and(|last| VALUE_OPTIONS.contains(&last.as_str()));
                out.extend(split);
                if takes_next {
                    out.extend(it.next().cloned());
                }
                continue;
            }
            out.push(a.clone());
            if VALUE_OPTIONS.contains(&a.as_str()) {
                out.extend(it.next().cloned());
            }
            continue;
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (format!("--{n}"), Some(v)),
            None => (a.clone(), None),
        };
        let full = if LONG_OPTIONS.contains(&name.as_str()) {
            name
        } else {
            let matches: Vec<&str> = LONG_OPTIONS
                .iter()
                .copied()
                .filter(|o| o.starts_with(name.as_str()))
                .collect();
            match matches.as_slice() {
                [one] => (*one).to_owned(),
                [] => name,
                several => {
                    return Err(format!(
                        "option '{name}' is ambiguous; possibilities: {}",
                        several.join(" ")
                    ));
                }
            }
        };
        let takes_value = VALUE_OPTIONS.contains(&full.as_str());
        match value {
            // `--name=value` becomes `--name value`, the one form every parser here reads.
            Some(v) if takes_value => {
                out.push(full);
                out.push(v.to_owned());
            }
            Some(v) => out.push(format!("{full}={v}")),
            None => {
                out.push(full);
                if takes_value {
                    out.extend(it.next().cloned());
                }
            }
        }
    }
    Ok(out)
}

fn command_word(args: &[String]) -> Option<&str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if VALUE_OPTIONS.contains(&a.as_str()) {
            it.next();
            continue;
        }
        if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

/// The global options this module takes out before the solver's parser sees the rest.
#[derive(Debug, Default)]
struct Globals {
    root: Option<PathBuf>,
    initdb: bool,
    repositories: Vec<String>,
    repositories_file: Option<PathBuf>,
    keys_dir: Option<PathBuf>,
    arch: Option<String>,
    allow_untrusted: bool,
    no_cache: bool,
    no_network: bool,
    update_cache: bool,
    simulate: bool,
    no_scripts: bool,
    purge: bool,
    clean_protected: bool,
    force_overwrite: bool,
    wait: Option<u64>,
    quiet: u8,
    cache_max_age: Option<u64>,
    /// `--progress` / `--no-progress`; default: when stderr is a terminal.
    progress: Option<bool>,
    /// `--no-commit-hooks`.
    no_commit_hooks: bool,
}

fn split_globals(args: &[String]) -> anyhow::Result<(Globals, Vec<String>)> {
    let mut g = Globals::default();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || -> anyhow::Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .with_context(|| format!("option '{name}' needs a value")),
            }
        };
        match name {
            "--root" | "-p" => g.root = Some(PathBuf::from(value()?)),
            "--initdb" => g.initdb = true,
            "--repository" | "-X" => g.repositories.push(value()?),
            "--repositories-file" => g.repositories_file = Some(PathBuf::from(value()?)),
            "--keys-dir" => g.keys_dir = Some(PathBuf::from(value()?)),
            "--arch" => g.arch = Some(value()?),
            "--allow-untrusted" => g.allow_untrusted = true,
            "--no-cache" => g.no_cache = true,
            "--no-network" => {
                g.no_network = true;
                rest.push(a.clone());
            }
            "-U" | "--update-cache" => g.update_cache = true,
            "-s" | "--simulate" => g.simulate = true,
            "--no-scripts" => g.no_scripts = true,
            "--purge" => g.purge = true,
            "--clean-protected" => g.clean_protected = true,
            "--force-overwrite" => g.force_overwrite = true,
            "--wait" => {
                let v = value()?;
                g.wait = Some(
                    v.parse()
                        .with_context(|| format!("--wait: '{v}' is not a number"))?,
                );
            }
            "--cache-max-age" => {
                let v = value()?;
                g.cache_max_age = Some(
                    v.parse()
                        .with_context(|| format!("--cache-max-age: '{v}' is not a number"))?,
                );
            }
            "-q" | "--quiet" => g.quiet += 1,
            "--progress" => g.progress = Some(true),
            "--no-progress" => g.progress = Some(false),
            "--no-commit-hooks" => g.no_commit_hooks = true,
            "--interactive"
            | "-i"
            | "--force-non-repository"
            | "--force-refresh"
            | "--force-old-apk"
            | "--force-missing-repositories" => {}
            _ => rest.push(a.clone()),
        }
    }
    Ok((g, rest))
}

/// Run an applet of [`APPLETS`] on `args` (the command line without the program name).
pub fn run(
    args: &[String],
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let args = match expand_abbreviations(args) {
        Ok(args) => args,
        Err(msg) => {
            writeln!(err, "ERROR: {msg}")?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let args = args.as_slice();
    let options = args.iter().take_while(|a| *a != "--");
    if options.clone().any(|a| a == "-h" || a == "--help") {
        write!(out, "{}", usage(command_word(args).unwrap_or("add")))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (g, rest) = split_globals(args)?;
    let is_update = command_word(&rest) == Some("update");
    // Arguments apk refuses are refused before anything is opened.
    if !is_update {
        match Invocation::parse(&rest) {
            Ok(inv) if inv.applet == Applet::Add => {
                if let Err(msg) = inv.add_dependencies() {
                    let local = inv.args.iter().any(|a| a.ends_with(".apk"));
                    if !local {
                        writeln!(err, "ERROR: {msg}")?;
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                writeln!(err, "ERROR: {e}")?;
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    let root = g.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let mut opts = OpenOptions::new(&root).initdb(g.initdb);
    opts.arch = g.arch.clone();
    opts.keys_dir = g.keys_dir.clone();
    opts.extra_repositories = g.repositories.clone();
    opts.repositories_file = g.repositories_file.clone();
    opts.no_cache = g.no_cache;
    opts.allow_untrusted = g.allow_untrusted;
    opts.no_network = g.no_network;
    opts.update_cache = g.update_cache;
    if let Some(m) = g.cache_max_age {
        opts.cache_max_age = std::time::Duration::from_secs(m * 60);
    }
    opts.lock = if g.simulate {
        None
    } else {
        Some(match g.wait {
            Some(s) => LockWait::Seconds(s),
            None => LockWait::NoWait,
        })
    };
    let mut db = Database::open(&opts)?;
    for note in db.recovered() {
        writeln!(err, "WARNING: recovered an interrupted transaction: {note}")?;
    }
    db.load_indexes(is_update);
    let mut failed_repos = 0usize;
    for l in db.loaded_repositories() {
        if let Some(e) = &l.error {
            failed_repos += 1;
            writeln!(err, "WARNING: {e}")?;
        }
    }
    if is_update {
        for l in db.loaded_repositories() {
            if let Some(index) = &l.index {
                let desc = index.description().unwrap_or_default();
                writeln!(out, "{desc} [{}]", l.repository.url)?;
            }
        }
        if failed_repos > 0 {
            writeln!(
                err,
                "{failed_repos} unavailable, 0 stale; {} distinct packages available",
                db.available_names()
            )?;
            return Ok(crate::failure_count_exit_code(failed_repos));
        }
        writeln!(
            out,
            "OK: {} distinct packages available",
            db.available_names()
        )?;
        return Ok(ExitCode::SUCCESS);
    }

    // Local .apk files given to `add`: a repository of their own, world gets name=version.
    let mut local_files: Vec<(PackageInfo, PathBuf)> = Vec::new();
    let mut rest = rest;
    if command_word(&rest) == Some("add") {
        for a in rest.iter_mut() {
            if a.ends_with(".apk") && std::path::Path::new(a.as_str()).is_file() {
                let path = PathBuf::from(a.as_str());
                let info = read_local_package(&path)?;
                *a = format!("{}={}", info.name, info.version);
                local_files.push((info, path));
            }
        }
    }
    let mut inv = match Invocation::parse(&rest) {
        Ok(inv) => inv,
        Err(e) => {
            writeln!(err, "ERROR: {e}")?;
            return Ok(ExitCode::FAILURE);
        }
    };
    // Solve for the root's architectures (`etc/apk/arch`, `--arch`), not this machine's.
    inv.arch = db.arches().to_vec();
    inv.commit = !g.simulate;
    let mut repos = db.solver_repositories();
    if !local_files.is_empty() {
        let mut text = Vec::new();
        for (info, _) in &local_files {
            info.write_index_record(&mut text)?;
            text.push(b'\n');
        }
        let index = Index::from_text(
            String::from_utf8_lossy(&text).into_owned(),
            &IndexOptions::default(),
        );
        repos.push(Repository::new(index).with_kind(RepositoryKind::Local));
    }
    let world = db.world().to_vec();
    let outcome = solve_command(&inv, repos, db.installed(), world);
    let Some(changeset) = outcome
        .changeset
        .clone()
        .filter(|_| outcome.exit_status == 0)
    else {
        print_split(&outcome.transcript, out, err)?;
        return Ok(crate::failure_count_exit_code(
            usize::try_from(outcome.exit_status).unwrap_or(1),
        ));
    };
    if g.simulate {
        print_split(&outcome.transcript, out, err)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_split(&outcome.preamble, out, err)?;
    let mut tx = Transaction::new(&mut db, changeset, outcome.world.clone());
    if let Some(v) = outcome.virtual_package.clone() {
        tx = tx.with_package(v, None);
    }
    for (info, path) in local_files {
        tx = tx.with_package(info, Some(path));
    }
    let commit_opts = {
        let mut c = CommitOptions::default();
        c.no_scripts = g.no_scripts;
        c.purge = g.purge;
        c.force_overwrite = g.force_overwrite;
        c.clean_protected = g.clean_protected;
        c.no_commit_hooks = g.no_commit_hooks;
        c
    };
    let quiet = g.quiet > 0;
    let show_progress = !quiet
        && g.progress
            .unwrap_or_else(|| std::io::stderr().is_terminal());
    let mut bar = ProgressBar::default();
    let mut io_error: Option<std::io::Error> = None;
    let mut emit = |e: Event| {
        let r = match &e {
            Event::Progress { done, total } if show_progress => bar.draw(*done, *total, err),
            _ => bar
                .clear(err)
                .and_then(|()| print_event(&e, quiet, out, err))
                .and_then(|()| bar.redraw(out, err)),
        };
        if let Err(x) = r {
            io_error.get_or_insert(x);
        }
    };
    let result = tx.commit(&commit_opts, &mut emit);
    let _ = bar.clear(err);
    if let Some(e) = io_error {
        return Err(e.into());
    }
    let summary = result?;
    if summary.errors > 0 {
        writeln!(err, "{summary}")?;
        return Ok(crate::failure_count_exit_code(summary.errors));
    }
    if !quiet {
        writeln!(out, "{summary}")?;
    }
    if outcome.preupgrade && !inv.preupgrade_only {
        // As apk does after its preupgrade: the main upgrade runs as a new transaction, with
        // the database (and its lock) opened afresh and no second preupgrade.
        drop(db);
        if !quiet {
            writeln!(out, "Continuing with the main upgrade transaction:")?;
        }
        let mut again: Vec<String> = args.iter().filter(|a| *a != "--initdb").cloned().collect();
        again.push("--no-self-upgrade".to_owned());
        return run(&again, out, err);
    }
    Ok(ExitCode::SUCCESS)
}

/// A one-line progress bar on stderr (`[#####     ]  50%`), cleared before any other line is
/// printed and drawn again after it.
#[derive(Default)]
struct ProgressBar {
    shown: Option<(u64, u64)>,
}

impl ProgressBar {
    const WIDTH: u64 = 40;

    fn draw(&mut self, done: u64, total: u64, err: &mut impl Write) -> std::io::Result<()> {
        self.shown = Some((done, total));
        let total_nz = total.max(1);
        let filled = (done.min(total_nz) * Self::WIDTH / total_nz) as usize;
        let pct = done.min(total_nz) * 100 / total_nz;
        let width = Self::WIDTH as usize;
        write!(
            err,
            "\r[{:#<filled$}{:width2$}] {pct:>3}%",
            "",
            "",
            width2 = width - filled
        )?;
        err.flush()
    }

    fn clear(&mut self, err: &mut impl Write) -> std::io::Result<()> {
        if self.shown.is_some() {
            write!(err, "\r\x1b[K")?;
            err.flush()?;
        }
        Ok(())
    }

    fn redraw(&mut self, out: &mut impl Write, err: &mut impl Write) -> std::io::Result<()> {
        out.flush()?;
        match self.shown {
            Some((done, total)) => self.draw(done, total, err),
            None => Ok(()),
        }
    }
}

/// Print one commit event as apk-tools prints it.
fn print_event(
    e: &Event,
    quiet: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<()> {
    match e {
        Event::Change {
            position,
            total,
            change,
        } if !quiet => {
            let w = total.to_string().len();
            writeln!(out, "({position:>w$}/{total}) {change}")?;
        }
        Event::Script { package, script } => writeln!(out, "  Executing {package}.{script}")?,
        Event::Trigger { package } => writeln!(out, "Executing {package}.trigger")?,
        Event::ScriptOutput(line) => writeln!(out, "* {line}")?,
        Event::NewConfig { path } => writeln!(out, "  Installing file to {path}")?,
        Event::Warning(w) => writeln!(err, "WARNING: {w}")?,
        Event::Error(m) => writeln!(err, "ERROR: {m}")?,
        _ => {}
    }
    Ok(())
}

/// apk prints errors and warnings (with the indented lines that follow them) on stderr.
fn print_split(text: &str, out: &mut impl Write, err: &mut impl Write) -> std::io::Result<()> {
    let mut to_err = false;
    for line in text.lines() {
        if line.starts_with("ERROR:") || line.starts_with("WARNING:") {
            to_err = true;
        } else if !line.starts_with(' ') && !line.starts_with("why:") {
            to_err = false;
        }
        if to_err {
            writeln!(err, "{line}")?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The metadata and identity of a local `.apk` file. A v3 (ADB) package is known by its own
/// unique id, which is what apk-tools 3 records as `C:` for a package added from a file.
fn read_local_package(path: &std::path::Path) -> anyhow::Result<PackageInfo> {
    let mut magic = [0u8; 3];
    let is_adb = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"ADB";
    if is_adb {
        // Only the metadata is read: the files' data streams later, when it is installed.
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot read the package", path.display()))?;
        let size = file.metadata().map_or(0, |m| m.len());
        let reader = apk_pkg::AdbPackageReader::new(std::io::BufReader::new(file))
            .with_context(|| format!("{}: not a valid package", path.display()))?
            .with_file_size(size);
        let package = reader.package();
        let mut info = package.info().clone();
        if info.identity.is_none() {
            info.identity = apk_index::Checksum::from_digest(
                &package.identity()[..20],
                apk_index::ChecksumForm::Q1,
            );
        }
        return Ok(info);
    }
    let mut reader = apk_pkg::PackageReader::open(path)
        .with_context(|| format!("{}: not a valid package", path.display()))?;
    let mut info = reader.info().clone();
    // `S:` is the size of the package file, which `.PKGINFO` cannot know.
    if info.size == 0 {
        info.size = std::fs::metadata(path).map_or(0, |m| m.len());
    }
    if info.identity.is_none() {
        info.identity = reader.identity();
    }
    if info.identity.is_none() {
        while reader.next_entry()?.is_some() {}
        info.identity = Some(reader.finish()?.identity());
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::expand_abbreviations;

    fn expand(args: &[&str]) -> Result<Vec<String>, String> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        expand_abbreviations(&args)
    }

    #[test]
    fn long_options_take_unique_prefixes() {
        assert_eq!(
            expand(&["add", "--update", "--no-ca", "vim"]).unwrap(),
            ["add", "--update-cache", "--no-cache", "vim"]
        );
        // Exact names win over longer ones they prefix.
        assert_eq!(expand(&["--force", "fix"]).unwrap(), ["--force", "fix"]);
        // Values are not options, `=` forms are split, `--` ends the options.
        assert_eq!(
            expand(&[
                "--root=/r",
                "-X",
                "--upd",
                "--virt",
                "--no-n",
                "add",
                "--",
                "--up"
            ])
            .unwrap(),
            [
                "--root",
                "/r",
                "-X",
                "--upd",
                "--virtual",
                "--no-n",
                "add",
                "--",
                "--up"
            ]
        );
        assert_eq!(
            expand(&["--sim", "--test-wor=a b"]).unwrap(),
            ["--simulate", "--test-world", "a b"]
        );
        // Unknown options pass through for the parser to refuse.
        assert_eq!(expand(&["--bogus"]).unwrap(), ["--bogus"]);
        let err = expand(&["add", "--up", "x"]).unwrap_err();
        assert_eq!(
            err,
            "option '--up' is ambiguous; possibilities: --update-cache --upgrade"
        );
        assert!(expand(&["--repo", "x"]).is_err());
    }

    #[test]
    fn short_option_groups_are_split() {
        assert_eq!(
            expand(&["-sU", "add", "-uq", "x"]).unwrap(),
            ["-s", "-U", "add", "-u", "-q", "x"]
        );
        // A value option ends the group: the rest, or the next argument, is its value.
        assert_eq!(
            expand(&["-qp/r", "add"]).unwrap(),
            ["-q", "-p", "/r", "add"]
        );
        assert_eq!(
            expand(&["-sX", "/repo", "-t", "-v"]).unwrap(),
            ["-s", "-X", "/repo", "-t", "-v"]
        );
        // Not a group of known flags: left for the parser.
        assert_eq!(expand(&["-sZ", "-1"]).unwrap(), ["-sZ", "-1"]);
    }
}
