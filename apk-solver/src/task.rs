//! What to solve: world plus the solver flags of apk's commands.

use apk_index::Dependency;

/// apk's solver flags. Global ones apply to every package; per-name ones (see [`NameFlags`])
/// apply to the providers of one name and, when inheritable, to what they depend on.
///
/// ```
/// use apk_solver::SolverFlags;
/// let f = SolverFlags { upgrade: true, ..SolverFlags::NONE };
/// assert!(f.upgrade && !f.latest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SolverFlags {
    /// Prefer newer versions over the installed one (`upgrade`, `add -u`, `fix -u`).
    pub upgrade: bool,
    /// Prefer packages available from a repository (`upgrade -a`): may downgrade or replace.
    pub available: bool,
    /// Prefer the latest version whatever the pinning preference (`-l`, `--latest`).
    pub latest: bool,
    /// Reinstall the selected package even when unchanged (`fix`).
    pub reinstall: bool,
    /// Keep the installed package (`upgrade --ignore`, and names being preupgraded around).
    pub installed: bool,
}

impl SolverFlags {
    /// No flag set.
    pub const NONE: SolverFlags = SolverFlags {
        upgrade: false,
        available: false,
        latest: false,
        reinstall: false,
        installed: false,
    };

    pub(crate) fn bits(self) -> u8 {
        u8::from(self.upgrade)
            | u8::from(self.available) << 1
            | u8::from(self.latest) << 2
            | u8::from(self.reinstall) << 3
            | u8::from(self.installed) << 4
    }
}

pub(crate) const F_UPGRADE: u8 = 1;
pub(crate) const F_AVAILABLE: u8 = 2;
pub(crate) const F_LATEST: u8 = 4;
pub(crate) const F_REINSTALL: u8 = 8;
pub(crate) const F_INSTALLED: u8 = 16;

/// Solver flags set on one name (apk-tools' per-name flags).
///
/// ```
/// use apk_solver::{NameFlags, SolverFlags};
/// let fix = NameFlags::new("b", SolverFlags { reinstall: true, ..SolverFlags::NONE });
/// assert_eq!(fix.name, "b");
/// assert_eq!(fix.inheritable, SolverFlags::NONE);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameFlags {
    /// The name.
    pub name: String,
    /// Flags for the providers of the name.
    pub flags: SolverFlags,
    /// Flags passed on to everything those providers depend on, recursively.
    pub inheritable: SolverFlags,
}

impl NameFlags {
    /// Flags on `name`, not inherited by dependencies.
    pub fn new(name: impl Into<String>, flags: SolverFlags) -> NameFlags {
        NameFlags {
            name: name.into(),
            flags,
            inheritable: SolverFlags::NONE,
        }
    }

    /// Flags on `name`, inherited by its dependencies too.
    pub fn inherited(name: impl Into<String>, flags: SolverFlags) -> NameFlags {
        NameFlags {
            name: name.into(),
            flags,
            inheritable: flags,
        }
    }
}

/// Which engine decides the selection.
///
/// * [`Engine::Greedy`] reimplements apk-tools 3.0's pass: same choices, same failures.
/// * [`Engine::Cdcl`] searches completely (clauses plus conflict-driven learning) with apk's
///   preference order as its decision order; when apk's choice is valid it returns the same
///   packages, otherwise it may find a selection apk-tools misses.
/// * [`Engine::Auto`] (the default) runs the greedy pass and only when that selection breaks
///   a rule tries the complete search; a selection found that way is marked with
///   [`Changeset::differs_from_apk`](crate::Changeset::differs_from_apk). When neither finds
///   one, the error report is apk's (the greedy pass's).
///
/// ```
/// use apk_solver::Engine;
/// assert_eq!(Engine::default(), Engine::Auto);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Engine {
    /// Greedy first, then the complete search when the greedy selection fails.
    #[default]
    Auto,
    /// apk-tools' deterministic greedy pass only (spec section 9).
    Greedy,
    /// The complete (CDCL) search only.
    Cdcl,
}

/// One solver run: the world and the flags of the command.
///
/// ```
/// use apk_solver::{SolverFlags, SolverTask};
/// let task = SolverTask {
///     world: vec!["a".parse()?],
///     flags: SolverFlags { upgrade: true, ..SolverFlags::NONE },
///     ..SolverTask::default()
/// };
/// assert_eq!(task.world.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SolverTask {
    /// The world dependencies (`etc/apk/world`), in the order apk keeps them.
    pub world: Vec<Dependency>,
    /// Global solver flags.
    pub flags: SolverFlags,
    /// Per-name flags.
    pub name_flags: Vec<NameFlags>,
    /// `--force-broken-world`: after a failed solve, drop the world entries that led to
    /// errors and solve again.
    pub force_broken_world: bool,
    /// Which engine to run.
    pub engine: Engine,
}
