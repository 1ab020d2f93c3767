//! Solving: a solver built from loaded indexes and an installed database, and the changeset
//! (or apk's error report) for a world.

use std::ffi::c_int;

use ::apk_index::{Dependency, InstalledDb, InstalledDbOptions, Rules};
use ::apk_solver::{ChangeKind, Changeset, Engine, Repository, Solver, SolverOptions, SolverTask};

use crate::error::{Error, apk_result};
use crate::ffi::{Castable, OwnershipBox, free_box, to_boxed_mut_ptr, try_ref};
use crate::index::apk_index;
use crate::rslice::apk_str;

/// A solver over a fixed set of repository indexes and installed packages. Made by
/// `apk_solver_new`, freed by `apk_solver_free`. It does not borrow the indexes or the
/// database bytes it was made from; any number of threads may solve with one at once.
#[allow(non_camel_case_types)]
pub struct apk_solver {
    _private: [u8; 0],
}

impl Castable for apk_solver {
    type Ownership = OwnershipBox;
    type RustType = Solver;
}

/// The result of a successful solve: the changes in the order apk applies them, and apk's
/// transcript. Made by `apk_solver_solve`, freed by `apk_changeset_free`.
#[allow(non_camel_case_types)]
pub struct apk_changeset {
    _private: [u8; 0],
}

/// What an `apk_changeset` points to: the changeset and its transcript, kept so `apk_str`
/// views of them stay valid until `apk_changeset_free`.
pub(crate) struct ChangesetHandle {
    changeset: Changeset,
    transcript: String,
}

impl Castable for apk_changeset {
    type Ownership = OwnershipBox;
    type RustType = ChangesetHandle;
}

/// Which engine `apk_solver_solve` runs.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum apk_engine {
    /// apk-tools' greedy pass, and when its selection breaks a rule the complete search; a
    /// changeset found that way has `apk_changeset_differs_from_apk` true.
    Auto = 0,
    /// apk-tools' greedy pass only: the same choices and failures as apk-tools 3.0.
    Greedy = 1,
    /// The complete (CDCL) search only.
    Cdcl = 2,
}

/// What happens to one package, as `apk_change.kind`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum apk_change_kind {
    /// `Installing`: a package that was not installed.
    Install = 0,
    /// `Upgrading`: a newer version replaces the installed one.
    Upgrade = 1,
    /// `Downgrading`: an older version replaces the installed one.
    Downgrade = 2,
    /// `Replacing`: the same version with another identity replaces the installed one.
    Replace = 3,
    /// `Reinstalling`: the installed package is installed again.
    Reinstall = 4,
    /// `Purging`: the installed package is removed.
    Purge = 5,
    /// `Updating pinning`: the package stays, pinned to another repository tag.
    UpdatePinning = 6,
    /// A kind this version of the C API does not know.
    Other = 99,
}

/// One change, as filled in by `apk_changeset_change`. The strings are views valid until
/// `apk_changeset_free`; an absent version (`old_version` of an install, `new_version` of a
/// purge) is `{ NULL, 0 }`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct apk_change {
    /// What happens.
    pub kind: apk_change_kind,
    /// The package name.
    pub name: apk_str,
    /// The version installed before, if any.
    pub old_version: apk_str,
    /// The version installed after, if any.
    pub new_version: apk_str,
}

fn kind_to_c(kind: ChangeKind) -> apk_change_kind {
    match kind {
        ChangeKind::Install => apk_change_kind::Install,
        ChangeKind::Upgrade => apk_change_kind::Upgrade,
        ChangeKind::Downgrade => apk_change_kind::Downgrade,
        ChangeKind::Replace => apk_change_kind::Replace,
        ChangeKind::Reinstall => apk_change_kind::Reinstall,
        ChangeKind::Purge => apk_change_kind::Purge,
        ChangeKind::UpdatePinning => apk_change_kind::UpdatePinning,
        _ => apk_change_kind::Other,
    }
}

fn engine_from_c(engine: c_int) -> Result<Engine, Error> {
    match engine {
        0 => Ok(Engine::Auto),
        1 => Ok(Engine::Greedy),
        2 => Ok(Engine::Cdcl),
        other => Err(Error::InvalidFlags(other as u32)),
    }
}

impl apk_solver {
    /// Builds a solver over `indexes_len` loaded indexes at `indexes` (in repositories-file
    /// order, untagged, all treated as available) and the installed database `installed`
    /// (`installed_len` bytes of `lib/apk/db/installed` text; NULL with 0 for an empty root).
    /// `arch` (NUL-terminated, e.g. `"x86_64"`) restricts packages to that arch and `noarch`;
    /// NULL accepts every arch. The solver copies what it needs: the indexes and the bytes
    /// may be freed afterwards. The new solver is stored in `*solver_out`; free it with
    /// `apk_solver_free`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` (also for a NULL element of `indexes`),
    /// `APK_RESULT_INVALID_UTF8` (`arch`) or `APK_RESULT_INSTALLED_DB` (the database does not
    /// parse). `*solver_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_solver_new(
        indexes: *const *const apk_index,
        indexes_len: usize,
        installed: *const u8,
        installed_len: usize,
        arch: *const std::ffi::c_char,
        solver_out: *mut *mut apk_solver,
    ) -> apk_result {
        ffi_boundary! {
            let handles = try_slice!(indexes, indexes_len);
            let installed = try_slice!(installed, installed_len);
            let arch = try_opt_str!(arch);
            let solver_out = try_out!(solver_out);
            let mut repositories = Vec::with_capacity(handles.len());
            for &handle in handles {
                // SAFETY: the function's contract is that every element is a live
                // `apk_index` handle.
                match unsafe { try_ref::<apk_index>(handle) } {
                    Some(index) => repositories.push(Repository::new(index.shared())),
                    None => fail!(Error::NullParameter("indexes[i]")),
                }
            }
            let db = try_ok!(InstalledDb::from_bytes(installed, &InstalledDbOptions::default()));
            let options = SolverOptions {
                arches: arch.map(|a| vec![a.to_owned()]).unwrap_or_default(),
                ..SolverOptions::default()
            };
            solver_out.write(to_boxed_mut_ptr(Solver::new(&repositories, &db, &options)));
            apk_result::Ok
        }
    }

    /// Solves the world `world` (`world_len` bytes of `etc/apk/world` text: dependencies
    /// separated by whitespace, read under apk-tools 3.0's version rules) with `engine` (an
    /// `apk_engine` value). The changeset is stored in `*changeset_out`; free it with
    /// `apk_changeset_free`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER`, `APK_RESULT_INVALID_UTF8` (the world),
    /// `APK_RESULT_INVALID_FLAGS` (an unknown `engine`), `APK_RESULT_INVALID_WORLD` (an entry
    /// does not parse) or `APK_RESULT_UNSATISFIABLE`: no selection satisfies the world, and
    /// `apk_last_error` returns apk's report (`ERROR: unable to select packages:` and its
    /// indented lines, newline-terminated). `*changeset_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_solver_solve(
        solver: *const apk_solver,
        world: *const u8,
        world_len: usize,
        engine: c_int,
        changeset_out: *mut *mut apk_changeset,
    ) -> apk_result {
        ffi_boundary! {
            let solver = try_ref_from_ptr!(solver);
            let world = try_slice!(world, world_len);
            let changeset_out = try_out!(changeset_out);
            let engine = try_ok!(engine_from_c(engine));
            let Ok(world) = std::str::from_utf8(world) else {
                fail!(Error::InvalidUtf8("world"))
            };
            let mut deps = Vec::new();
            for token in world.split_whitespace() {
                match Dependency::parse(token, Rules::V3) {
                    Ok(d) => deps.push(d),
                    Err(e) => fail!(Error::World(e)),
                }
            }
            let task = SolverTask { world: deps, engine, ..SolverTask::default() };
            let changeset = try_ok!(solver.solve(&task));
            let transcript = changeset.transcript();
            changeset_out.write(to_boxed_mut_ptr(ChangesetHandle { changeset, transcript }));
            apk_result::Ok
        }
    }

    /// Frees a solver. Does nothing when `solver` is NULL. Call it once per solver.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_solver_free(solver: *mut apk_solver) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `solver` is NULL or a handle from
            // `apk_solver_new` that has not been freed.
            unsafe { free_box(solver) }
        }
    }
}

impl apk_changeset {
    /// The number of changes; 0 if `changeset` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_changeset_len(changeset: *const apk_changeset) -> usize {
        ffi_boundary! {
            try_ref_from_ptr!(changeset).changeset.changes().len()
        }
    }

    /// Fills `*change_out` with change number `position` (from 0, in the order apk applies
    /// them). Its strings are valid until `apk_changeset_free(changeset)`.
    ///
    /// Returns `APK_RESULT_NULL_PARAMETER` or `APK_RESULT_OUT_OF_RANGE`.
    /// `*change_out` is written only on success.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_changeset_change(
        changeset: *const apk_changeset,
        position: usize,
        change_out: *mut apk_change,
    ) -> apk_result {
        ffi_boundary! {
            let handle = try_ref_from_ptr!(changeset);
            let change_out = try_out!(change_out);
            let changes = handle.changeset.changes();
            let Some(change) = changes.get(position) else {
                fail!(Error::OutOfRange { position, len: changes.len() })
            };
            change_out.write(apk_change {
                kind: kind_to_c(change.kind),
                name: apk_str::new(&change.name),
                old_version: apk_str::from_option(change.old.as_ref().map(|v| v.version.as_str())),
                new_version: apk_str::from_option(change.new.as_ref().map(|v| v.version.as_str())),
            });
            apk_result::Ok
        }
    }

    /// The transcript apk-tools prints for the changeset (`(1/2) Installing b (1)` lines and
    /// the `OK:` summary, newline-terminated), preceded by a `NOTE:` line when
    /// `apk_changeset_differs_from_apk` is true. Valid until `apk_changeset_free`;
    /// `{ NULL, 0 }` if `changeset` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_changeset_transcript(changeset: *const apk_changeset) -> apk_str {
        ffi_boundary! {
            apk_str::new(&try_ref_from_ptr!(changeset).transcript)
        }
    }

    /// Whether the changeset is not what apk-tools would print: apk-tools fails on this world
    /// and the complete search found a selection (`APK_ENGINE_AUTO`), or `APK_ENGINE_CDCL`
    /// chose other packages than apk-tools. False if `changeset` is NULL.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_changeset_differs_from_apk(changeset: *const apk_changeset) -> bool {
        ffi_boundary! {
            try_ref_from_ptr!(changeset).changeset.differs_from_apk()
        }
    }

    /// Frees a changeset and every `apk_str` obtained from it. Does nothing when `changeset`
    /// is NULL. Call it once per changeset.
    #[unsafe(no_mangle)]
    pub extern "C" fn apk_changeset_free(changeset: *mut apk_changeset) {
        ffi_boundary! {
            // SAFETY: the function's contract is that `changeset` is NULL or a handle from
            // `apk_solver_solve` that has not been freed.
            unsafe { free_box(changeset) }
        }
    }
}
