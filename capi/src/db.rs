//! The package database of a root: open it, edit world, solve and commit, read what is
//! installed.

use std::ffi::{CString, c_char};

use ::apk_db::{CommitOptions, Database, Event, LockWait, OpenOptions, Transaction};
use apk_index::{Dependency, Rules};
use apk_solver::command::{Invocation, run as solve_command};

use crate::error::{Error, apk_result};
use crate::ffi::{Castable, OwnershipBox, free_box, path_from_bytes, to_boxed_mut_ptr};

/// `apk_db_open` flag: create the database layout (`lib/apk/db/installed`, world, arch, …)
/// when the root has none, as `apk --initdb` does. Without it a root without a database
/// fails with `APK_RESULT_NO_DATABASE`.
pub const APK_DB_INITDB: u32 = 1;

/// `apk_db_open` flag: load repository indexes without checking their signatures, as
/// `apk --allow-untrusted` does.
pub const APK_DB_ALLOW_UNTRUSTED: u32 = 2;

/// `apk_db_open` flag: use no package or index cache, as `apk --no-cache` does.
pub const APK_DB_NO_CACHE: u32 = 4;

/// `apk_db_open` flag: do not take the database lock; the handle can read the database and
/// simulate commits (`APK_COMMIT_SIMULATE`) but not apply them. Cannot be combined with
/// `APK_DB_INITDB`.
pub const APK_DB_READ_ONLY: u32 = 8;

/// Every flag `apk_db_open` knows.
const OPEN_FLAGS: u32 = APK_DB_INITDB | APK_DB_ALLOW_UNTRUSTED | APK_DB_NO_CACHE | APK_DB_READ_ONLY;

/// `apk_db_commit` flag: do not run package scripts or triggers, as `apk --no-scripts`
/// does.
pub const APK_COMMIT_NO_SCRIPTS: u32 = 1;

/// `apk_db_commit` flag: solve and report what would happen, as `apk --simulate` does, but
/// change nothing: no file, no database entry, and not the handle's installed packages or
/// world.
pub const APK_COMMIT_SIMULATE: u32 = 2;

/// `apk_db_commit` flag: remove changed configuration (protected) files of removed packages
/// too, as `apk --purge` does.
pub const APK_COMMIT_PURGE: u32 = 4;

/// Every flag `apk_db_commit` knows.
const COMMIT_FLAGS: u32 = APK_COMMIT_NO_SCRIPTS | APK_COMMIT_SIMULATE | APK_COMMIT_PURGE;

/// The package database of a root (`lib/apk/db/installed`, world, keys, repositories, …),
/// opened by `apk_db_open` and freed by `apk_db_free`.
///
/// Unless opened with `APK_DB_READ_ONLY` the handle holds the root's database lock
/// (`lib/apk/db/lock`) until it is freed, so only one writable handle per root can be open
/// at a time, in this process or any other.
///
/// World is edited in memory with `apk_db_world_add` and `apk_db_world_del` and written to
/// the root by the next successful `apk_db_commit`, which installs and removes packages to
/// satisfy it, as `apk add` and `apk del` do.
///
/// Strings returned by the getters are NUL-terminated UTF-8 owned by the handle: the
/// installed package strings stay valid until the next `apk_db_commit` on the handle or
/// `apk_db_free`, the world entries until the next `apk_db_world_add`, `apk_db_world_del`,
/// `apk_db_commit` or `apk_db_free`. Never free them.
///
/// A handle is not for concurrent use: `apk_db_world_add`, `apk_db_world_del` and
/// `apk_db_commit` must not run at the same time as any other call on the same handle. The
/// getters only read, and may run on several threads at once between those calls.
#[allow(non_camel_case_types)]
pub struct apk_db {
    _private: [u8; 0],
}

/// One installed package as the getters hand it out. A string holding a NUL byte (which no
/// valid database has) cannot be a C string and is `None`.
struct InstalledEntry {
    name: Option<CString>,
    version: Option<CString>,
    /// `dir/name` of each file, in the database's order.
    files: Vec<Option<CString>>,
}

/// What an `apk_db` handle points to: the database plus NUL-terminated copies of what the
/// getters return, rebuilt whenever the database changes.
pub(crate) struct DbHandle {
    db: Database,
    read_only: bool,
    /// Lines apk prints before its first solve after opening (repairs of an interrupted
    /// transaction); they go to the first commit's transcript or report.
    notes: Vec<String>,
    installed: Vec<InstalledEntry>,
    world: Vec<Option<CString>>,
}

impl Castable for apk_db {
    type Ownership = OwnershipBox;
    type RustType = DbHandle;
}

/// The result of a successful `apk_db_commit`: the transcript and the summary. Freed by
/// `apk_commit_result_free`; its strings stay valid until then.
#[allow(non_camel_case_types)]
pub struct apk_commit_result {
    _private: [u8; 0],
}

/// What an `apk_commit_result` points to.
pub(crate) struct CommitResultHandle {
    lines: Vec<Option<CString>>,
    errors: usize,
    installed_size: u64,
    packages: usize,
}

impl Castable for apk_commit_result {
    type Ownership = OwnershipBox;
    type RustType = CommitResultHandle;
}

/// `text` as a C string, or `None` when it holds a NUL byte.
fn c_string(text: &str) -> Option<CString> {
    CString::new(text).ok()
}

/// The pointer C gets for an entry: NULL for an absent one.
fn c_ptr(text: Option<&Option<CString>>) -> *const c_char {
    text.and_then(Option::as_ref)
        .map_or(std::ptr::null(), |t| t.as_ptr())
}

/// The path of file `name` in directory `dir` (relative to the root, no leading `/`).
fn file_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Pushes each line of `text` onto `lines`.
fn push_lines(lines: &mut Vec<String>, text: &str) {
    lines.extend(text.lines().map(str::to_owned));
}

/// One commit event as apk prints it, or `None` for events apk does not print (progress).
fn event_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Change {
            position,
            total,
            change,
        } => {
            let width = total.to_string().len();
            format!("({position:>width$}/{total}) {change}")
        }
        Event::Script { package, script } => format!("  Executing {package}.{script}"),
        Event::Trigger { package } => format!("Executing {package}.trigger"),
        Event::ScriptOutput(line) => format!("* {line}"),
        Event::NewConfig { path } => format!("  Installing file to {path}"),
        Event::Warning(message) => format!("WARNING: {message}"),
        Event::Error(message) => format!("ERROR: {message}"),
        _ => return None,
    })
}

impl DbHandle {
    fn new(db: Database, read_only: bool) -> DbHandle {
        let notes = db
            .recovered()
            .iter()
            .map(|note| format!("WARNING: recovered an interrupted transaction: {note}"))
            .collect();
        let mut handle = DbHandle {
            db,
            read_only,
            notes,
            installed: Vec::new(),
            world: Vec::new(),
        };
        handle.refresh_installed();
        handle.refresh_world();
        handle
    }

    /// Rebuilds the C strings of the installed packages.
    fn refresh_installed(&mut self) {
        self.installed = self
            .db
            .installed()
            .packages
            .iter()
            .map(|p| InstalledEntry {
                name: c_string(&p.name),
                version: c_string(&p.version),
                files: p
                    .dirs
                    .iter()
                    .flat_map(|d| {
                        d.files
                            .iter()
                            .map(|f| c_string(&file_path(&d.path, &f.name)))
                    })
                    .collect(),
            })
            .collect();
    }

    /// Rebuilds the C strings of world.
    fn refresh_world(&mut self) {
        self.world = self
            .db
            .world()
            .iter()
            .map(|d| c_string(&d.to_string()))
            .collect();
    }

    /// Replaces world, keeping it sorted by name as apk writes it.
    fn set_world(&mut self, mut world: Vec<Dependency>) {
        world.sort_by(|a, b| a.name().cmp(b.name()));
        self.db.set_world(world);
        self.refresh_world();
    }

    /// Loads the indexes, solves world against them and, unless `simulate`, applies the
    /// changes; returns apk's transcript and summary.
    fn commit(&mut self, flags: u32) -> Result<CommitResultHandle, Error> {
        let simulate = flags & APK_COMMIT_SIMULATE != 0;
        if self.read_only && !simulate {
            return Err(Error::ReadOnly);
        }
        let mut lines = std::mem::take(&mut self.notes);
        self.db.load_indexes(false);
        for repository in self.db.loaded_repositories() {
            if let Some(error) = &repository.error {
                lines.push(format!("WARNING: {error}"));
            }
        }
        // `add` without arguments: solve world as it is, with no flags.
        let mut invocation =
            Invocation::parse(["add"]).expect("`add` alone is a valid solver command line");
        invocation.arch = self.db.arches().to_vec();
        let outcome = solve_command(
            &invocation,
            self.db.solver_repositories(),
            self.db.installed(),
            self.db.world().to_vec(),
        );
        let changeset = match outcome.changeset {
            Some(changeset) if outcome.exit_status == 0 => changeset,
            _ => {
                push_lines(&mut lines, &outcome.transcript);
                let mut report = lines.join("\n");
                report.push('\n');
                return Err(Error::Unsatisfiable(report));
            }
        };
        if simulate {
            push_lines(&mut lines, &outcome.transcript);
            return Ok(CommitResultHandle {
                lines: lines.iter().map(|l| c_string(l)).collect(),
                errors: 0,
                installed_size: changeset.installed_size(),
                packages: changeset.package_count(),
            });
        }
        push_lines(&mut lines, &outcome.preamble);
        let mut options = CommitOptions::default();
        options.no_scripts = flags & APK_COMMIT_NO_SCRIPTS != 0;
        options.purge = flags & APK_COMMIT_PURGE != 0;
        let transaction = Transaction::new(&mut self.db, changeset, outcome.world);
        let committed = transaction.commit(&options, &mut |event| {
            lines.extend(event_line(&event));
        });
        // A failed commit may have changed some of the installed packages.
        self.refresh_installed();
        self.refresh_world();
        match committed {
            Ok(summary) => {
                lines.push(summary.to_string());
                Ok(CommitResultHandle {
                    lines: lines.iter().map(|l| c_string(l)).collect(),
                    errors: summary.errors,
                    installed_size: summary.installed_size,
                    packages: summary.packages,
                })
            }
            // A failed commit records what it completed before the failure (the root and
            // the database agree); the handle stays usable.
            Err(error) => Err(Error::from(error)),
        }
    }
}

impl apk_db {
    /// Opens the package database of the root directory `root` (NUL-terminated; `"/"` for
    /// the running system) and stores a new handle in `*db_out`. The caller frees it with
    /// `apk_db_free`.
    ///
    /// `arch` (NUL-terminated, or NULL) makes that architecture the primary one, as
    /// `apk --arch` does (with `APK_DB_INITDB` it is also written to `etc/apk/arch`); with
    /// NULL the root's `etc/apk/arch` decides, or the machine's architecture when there is
    /// none. `flags` is 0 or a bitwise OR of `APK_DB_INITDB`, `APK_DB_ALLOW_UNTRUSTED`,
    /// `APK_DB_NO_CACHE` and `APK_DB_READ_ONLY`.
    ///
    /// Opening reads the installed packages, world, triggers, scripts, the trusted keys
    /// (`etc/apk/keys`), the repositories (`etc/apk/repositories`) and the architectures.
    /// Unless `APK_DB_READ_ONLY` is given it takes the database lock without waiting, and
    /// repairs the root if a transaction was interrupted (the first `apk_db_commit`
    /// transcript then starts with a `WARNING: recovered an interrupted transaction:` line).
    /// Repository indexes are loaded later, by each `apk_db_commit`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (`root` or `db_out`), `APK_RESULT_INVALID_UTF8`
    /// (`arch`), `APK_RESULT_INVALID_FLAGS` (an unknown flag, or `APK_DB_READ_ONLY` with
    /// `APK_DB_INITDB`), `APK_RESULT_NO_DATABASE` (no `lib/apk/db/installed` and no
    /// `APK_DB_INITDB`), `APK_RESULT_LOCKED` (another handle or process holds the lock),
    /// `APK_RESULT_DATABASE` (a database file is malformed), `APK_RESULT_KEY` (the keys
    /// directory cannot be read or holds a bad key) or `APK_RESULT_IO`. `*db_out` is written
    /// only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_open(
        root: *const c_char,
        arch: *const c_char,
        flags: u32,
        db_out: *mut *mut apk_db,
    ) -> apk_result {
        ffi_boundary! {
            let root = try_ok!(path_from_bytes(try_cstr_bytes!(root), "root"));
            let arch = try_opt_str!(arch);
            let db_out = try_out!(db_out);
            if flags & !OPEN_FLAGS != 0 {
                fail!(Error::InvalidFlags(flags));
            }
            let read_only = flags & APK_DB_READ_ONLY != 0;
            if read_only && flags & APK_DB_INITDB != 0 {
                fail!(Error::ConflictingFlags("APK_DB_READ_ONLY and APK_DB_INITDB"));
            }
            let mut options = OpenOptions::new(root)
                .initdb(flags & APK_DB_INITDB != 0)
                .allow_untrusted(flags & APK_DB_ALLOW_UNTRUSTED != 0)
                .no_cache(flags & APK_DB_NO_CACHE != 0)
                .lock((!read_only).then_some(LockWait::NoWait));
            if let Some(arch) = arch {
                options = options.arch(arch);
            }
            let db = try_ok!(Database::open(&options));
            db_out.write(to_boxed_mut_ptr(DbHandle::new(db, read_only)));
            apk_result::Ok
        }
    }

    /// Frees a database handle, releasing its lock and every string its getters returned.
    /// World changes not committed are lost. Does nothing when `db` is NULL. Call it once per
    /// handle.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_free(db: *mut apk_db) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `db` is NULL or a handle from
            // `apk_db_open` that has not been freed.
            unsafe { free_box(db) }
        }
    }

    /// Adds the dependency `dependency` (NUL-terminated, `[!]name[@tag][op version]`, such
    /// as `hello`, `hello>=1.2` or `!foo`) to the handle's world, replacing the entry of the
    /// same name if there is one, as `apk add` does. World stays sorted by name. Nothing is
    /// installed and nothing is written until `apk_db_commit`.
    ///
    /// Invalidates the strings returned by `apk_db_world_entry`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_UTF8` or
    /// `APK_RESULT_INVALID_WORLD` (not a valid world dependency; world is unchanged).
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_world_add(db: *mut apk_db, dependency: *const c_char) -> apk_result {
        ffi_boundary! {
            let handle = try_mut_from_ptr!(db);
            let text = try_str!(dependency);
            let dependency = match Dependency::parse(text, Rules::V3) {
                Ok(dependency) => dependency,
                Err(e) => fail!(Error::World(e)),
            };
            let mut world = handle.db.world().to_vec();
            world.retain(|w| w.name() != dependency.name());
            world.push(dependency);
            handle.set_world(world);
            apk_result::Ok
        }
    }

    /// Removes the world entry for the package name `name` (NUL-terminated, such as `hello`),
    /// whatever its constraint, as `apk del` does. A name that is not in world is not an
    /// error. Nothing is removed from the root and nothing is written until `apk_db_commit`.
    ///
    /// Invalidates the strings returned by `apk_db_world_entry`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` or `APK_RESULT_INVALID_UTF8`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_world_del(db: *mut apk_db, name: *const c_char) -> apk_result {
        ffi_boundary! {
            let handle = try_mut_from_ptr!(db);
            let name = try_str!(name);
            let mut world = handle.db.world().to_vec();
            world.retain(|w| w.name() != name);
            handle.set_world(world);
            apk_result::Ok
        }
    }

    /// The number of world entries; 0 if `db` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_world_len(db: *const apk_db) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(db).world.len()
        }
    }

    /// World entry number `position` (from 0, sorted by name) as dependency text, such as
    /// `hello` or `hello>=1.2`. NUL-terminated, owned by `db`, valid until the next
    /// `apk_db_world_add`, `apk_db_world_del`, `apk_db_commit` or `apk_db_free`. NULL if
    /// `db` is NULL or `position` is out of range.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_world_entry(db: *const apk_db, position: usize) -> *const c_char {
        ffi_boundary! {
            c_ptr(try_ref_from_ptr!(db).world.get(position))
        }
    }

    /// Makes the root match world: loads the repository indexes, solves world against them
    /// and the installed packages as `apk add` does, then installs, upgrades and removes
    /// packages (verified against the signed indexes, extracted safely, scripts and triggers
    /// run) and writes the installed database and world. `flags` is 0 or a bitwise OR of
    /// `APK_COMMIT_NO_SCRIPTS`, `APK_COMMIT_SIMULATE` and `APK_COMMIT_PURGE`.
    ///
    /// On success a new result is stored in `*result_out`; the caller frees it with
    /// `apk_commit_result_free`. Its transcript is what apk prints: a `WARNING:` line for each
    /// repository whose index did not load, the changes (`(1/2) Installing hello (1.0-r0)`),
    /// the scripts run (`  Executing hello-1.0-r0.post-install`) and their output, errors,
    /// and the summary (`OK: 55 B in 2 packages`, or `1 error; 55 B in 2 packages`). Errors
    /// that do not stop the commit, such as a failed script, still give `APK_RESULT_OK`;
    /// `apk_commit_result_errors` counts them. With `APK_COMMIT_SIMULATE` the transcript is
    /// exactly `apk --simulate`'s and nothing changes.
    ///
    /// Invalidates the strings returned by the installed-package getters and
    /// `apk_db_world_entry`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_FLAGS`,
    /// `APK_RESULT_READ_ONLY` (the handle was opened with `APK_DB_READ_ONLY` and
    /// `APK_COMMIT_SIMULATE` is not given), or:
    ///
    /// * `APK_RESULT_UNSATISFIABLE`: no selection of packages satisfies world. Nothing
    ///   changed; `apk_last_error` returns what apk prints, newline-terminated: the
    ///   repository `WARNING:` lines, then apk's report (`ERROR: unable to select packages:`
    ///   and its indented lines). World keeps the entries added, so the caller can remove
    ///   the offending one and commit again.
    /// * `APK_RESULT_COMMIT`: a package to install is in no loaded repository (nothing
    ///   changed), or could not be fetched; `APK_RESULT_PACKAGE` (a package is malformed),
    ///   `APK_RESULT_BAD_SIGNATURE` (a package is not the one its signed index describes) or
    ///   `APK_RESULT_IO`. The commit stopped at that package: the packages handled before it
    ///   stay installed and recorded, the failed one left nothing behind, world on disk is
    ///   unchanged (the handle's world keeps the entries added), and the handle stays usable.
    ///
    /// `*result_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_commit(
        db: *mut apk_db,
        flags: u32,
        result_out: *mut *mut apk_commit_result,
    ) -> apk_result {
        ffi_boundary! {
            let handle = try_mut_from_ptr!(db);
            let result_out = try_out!(result_out);
            if flags & !COMMIT_FLAGS != 0 {
                fail!(Error::InvalidFlags(flags));
            }
            let result = try_ok!(handle.commit(flags));
            result_out.write(to_boxed_mut_ptr(result));
            apk_result::Ok
        }
    }

    /// The number of installed packages; 0 if `db` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_installed_len(db: *const apk_db) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(db).installed.len()
        }
    }

    /// The name of installed package number `position` (from 0, in the installed database's
    /// order). NUL-terminated, owned by `db`, valid until the next `apk_db_commit` or
    /// `apk_db_free`. NULL if `db` is NULL or `position` is out of range.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_installed_name(db: *const apk_db, position: usize) -> *const c_char {
        ffi_boundary! {
            let handle = try_ref_from_ptr!(db);
            c_ptr(handle.installed.get(position).map(|p| &p.name))
        }
    }

    /// The version of installed package number `position`, like `apk_db_installed_name`.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_installed_version(
        db: *const apk_db,
        position: usize,
    ) -> *const c_char {
        ffi_boundary! {
            let handle = try_ref_from_ptr!(db);
            c_ptr(handle.installed.get(position).map(|p| &p.version))
        }
    }

    /// The number of files (regular files and symbolic links, not directories) installed
    /// package number `position` owns; 0 if `db` is NULL or `position` is out of range.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_installed_files_len(db: *const apk_db, position: usize) -> usize {
        ffi_boundary! {
            let handle = try_ref_from_ptr!(db);
            handle.installed.get(position).map_or(0, |p| p.files.len())
        }
    }

    /// File number `file` of installed package number `position`: its path relative to the
    /// root, without a leading `/` (such as `usr/bin/hello`). NUL-terminated, owned by `db`,
    /// valid until the next `apk_db_commit` or `apk_db_free`. NULL if `db` is NULL or either
    /// position is out of range.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_db_installed_file(
        db: *const apk_db,
        position: usize,
        file: usize,
    ) -> *const c_char {
        ffi_boundary! {
            let handle = try_ref_from_ptr!(db);
            c_ptr(handle.installed.get(position).and_then(|p| p.files.get(file)))
        }
    }
}

impl apk_commit_result {
    /// The number of transcript lines; 0 if `result` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_commit_result_lines_len(result: *const apk_commit_result) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(result).lines.len()
        }
    }

    /// Transcript line number `position` (from 0), without a newline. NUL-terminated, owned
    /// by `result`, valid until `apk_commit_result_free`. NULL if `result` is NULL or
    /// `position` is out of range.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_commit_result_line(
        result: *const apk_commit_result,
        position: usize,
    ) -> *const c_char {
        ffi_boundary! {
            c_ptr(try_ref_from_ptr!(result).lines.get(position))
        }
    }

    /// The number of errors that did not stop the commit (failed scripts, file conflicts),
    /// each reported by an `ERROR:` line; 0 if `result` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_commit_result_errors(result: *const apk_commit_result) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(result).errors
        }
    }

    /// The total installed size in bytes of the packages installed after the commit (for a
    /// simulation: that would be installed); 0 if `result` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_commit_result_installed_size(result: *const apk_commit_result) -> u64 {
        ffi_boundary! {
            try_ref_from_ptr!(result).installed_size
        }
    }

    /// The number of packages installed after the commit (for a simulation: that would be
    /// installed); 0 if `result` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_commit_result_packages(result: *const apk_commit_result) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(result).packages
        }
    }

    /// Frees a commit result and every string obtained from it. Does nothing when `result`
    /// is NULL. Call it once per result.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_commit_result_free(result: *mut apk_commit_result) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `result` is NULL or a handle from
            // `apk_db_commit` that has not been freed.
            unsafe { free_box(result) }
        }
    }
}
