//! Dependency solving with apk-tools' semantics.
//!
//! Given the loaded repositories, the installed database and world (plus the flags of apk's
//! `add`, `del`, `upgrade` and `fix`), [`Solver::solve`] decides which packages end up
//! installed and returns a [`Changeset`] in the order apk-tools 3.0 applies it, or a
//! [`SolveError`] carrying apk's `unable to select packages` [`ErrorReport`].
//!
//! # The pieces
//!
//! * [`Repository`]: one loaded index with its pinning tag and kind; [`SolverOptions`]: the
//!   environment (arch, `--no-network`, version rules).
//! * [`Solver`]: the repository view built once from repositories and installed packages
//!   (packages deduplicated by identity, names interned).
//! * [`SolverTask`]: world, global [`SolverFlags`] and per-name [`NameFlags`]; which
//!   [`Engine`] to run.
//! * [`Changeset`] and [`Change`]: the result, printable as apk's transcript with
//!   [`Changeset::transcript`].
//! * [`ErrorReport`]: apk's `unable to select packages` report, byte for byte as apk prints
//!   it, plus its [`Derivation`]: for each problem, the steps from world down to the clash
//!   (`world requires a`, `a-3 (chosen for a) depends on b`, …), read off the same final
//!   selection along the shortest dependency paths. The derivation is never part of the
//!   report's text; `--why` prints it in [`command`].
//! * [`command`]: apk's solving commands (`add`, `del`, `upgrade`, `fix`) on top of the
//!   solver, producing the exact transcript apk-tools prints.
//!
//! # Why a greedy engine first, and a complete one second
//!
//! apk-tools does not search: it decides one name at a time in a fixed order with a fixed
//! preference list (spec section 9). To print the same transcript we must make the same
//! choices, so [`Engine::Greedy`] reimplements that documented pass. The result is then
//! checked against every rule; whatever breaks a rule becomes the error report, so a returned
//! changeset always satisfies world.
//!
//! The greedy pass can fail although a solution exists (the newest version of a package
//! needs something that clashes deep down, where an older one would do). [`Engine::Cdcl`]
//! encodes the same rules as clauses and searches with conflict-driven learning, deciding in
//! apk's preference order so that it returns apk's selection whenever that one is valid. The
//! default, [`Engine::Auto`], runs the greedy pass and only when it fails tries the complete
//! search: a selection found that way is marked [`Changeset::differs_from_apk`] and its
//! transcript starts with a `NOTE:` line ([`Changeset::note`]); when the search finds nothing
//! either, the error is apk's report. Every selection, whichever engine made it, goes through
//! the same rule check before it is returned.
//!
//! # Example
//!
//! ```
//! use apk_index::{Index, IndexOptions, InstalledDb, InstalledDbOptions};
//! use apk_solver::{Repository, Solver, SolverOptions, SolverTask};
//!
//! let text = "P:a\nV:2\nI:1\nD:b\n\nP:b\nV:1\nI:1\n\n";
//! let repo = Repository::new(Index::from_text(text, &IndexOptions::default()));
//! let installed = InstalledDb::from_bytes(b"", &InstalledDbOptions::default())?;
//! let solver = Solver::new(&[repo], &installed, &SolverOptions::default());
//! let task = SolverTask { world: vec!["a".parse()?], ..SolverTask::default() };
//! let changes = solver.solve(&task)?;
//! assert_eq!(changes.transcript(), "(1/2) Installing b (1)\n(2/2) Installing a (2)\nOK: 2 B in 2 packages\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod cdcl;
mod changeset;
pub mod command;
mod derivation;
mod greedy;
mod model;
mod report;
mod task;

use std::borrow::Cow;

pub use changeset::{Change, ChangeKind, Changeset, PackageVersion, human_size};
pub use derivation::{Derivation, Explanation};
pub use model::{Repository, RepositoryKind, SolverOptions};
pub use report::{ErrorReport, NameProblem, PackageProblem, Problem};
pub use task::{Engine, NameFlags, SolverFlags, SolverTask};

use changeset::Difference;
use greedy::{Greedy, SolveEngine};
use model::{Dep, Universe};

/// A solver over a fixed set of repositories and installed packages. Build it once, solve
/// as many tasks as needed.
///
/// ```
/// use apk_index::{Index, IndexOptions, InstalledDb, InstalledDbOptions};
/// use apk_solver::{Repository, Solver, SolverOptions, SolverTask};
///
/// let repo = Repository::new(Index::from_text("P:a\nV:1\n\n", &IndexOptions::default()));
/// let installed = InstalledDb::from_bytes(b"", &InstalledDbOptions::default())?;
/// let solver = Solver::new(&[repo], &installed, &SolverOptions::default());
/// let err = solver
///     .solve(&SolverTask { world: vec!["b".parse()?], ..SolverTask::default() })
///     .unwrap_err();
/// assert_eq!(err.error_count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Solver {
    universe: Universe,
}

/// Builds a [`Solver`] one repository at a time, so that the first repositories are taken in
/// while later ones still load ([`Index::open_each`](apk_index::Index::open_each)).
/// [`Solver::new`] is this over a list.
///
/// ```
/// use apk_index::{Index, IndexOptions, InstalledDb};
/// use apk_solver::{Repository, SolverBuilder, SolverOptions, SolverTask};
///
/// let texts = ["P:a\nV:1\nD:b\n\n", "P:b\nV:1\n\n"];
/// let mut builder = SolverBuilder::new(&SolverOptions::default());
/// for text in texts {
///     builder.add_repository(&Repository::new(Index::from_text(text, &IndexOptions::default())));
/// }
/// let solver = builder.finish(&InstalledDb::default());
/// let task = SolverTask { world: vec!["a".parse()?], ..SolverTask::default() };
/// assert_eq!(solver.solve(&task)?.changes().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SolverBuilder {
    builder: model::Builder,
}

impl SolverBuilder {
    /// A builder with no repository yet.
    pub fn new(options: &SolverOptions) -> SolverBuilder {
        SolverBuilder {
            builder: model::Builder::with_capacity(options, 0, 0),
        }
    }

    /// Adds the next repository, in repositories-file order (which decides ties, as in
    /// apk). Beyond the 63rd, repositories are ignored, as apk ignores them.
    pub fn add_repository(&mut self, repository: &Repository) {
        self.builder.add(repository);
    }

    /// The solver over the repositories added and the installed database.
    pub fn finish(self, installed: &apk_index::InstalledDb) -> Solver {
        Solver {
            universe: self.builder.finish(installed),
        }
    }
}

/// Returned by [`Solver::solve`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SolveError {
    /// No acceptable selection was found; the report says why, in apk's words.
    #[error("unable to select packages")]
    Unsatisfiable {
        /// apk's report.
        report: ErrorReport,
    },
}

impl SolveError {
    /// The error report.
    pub fn report(&self) -> &ErrorReport {
        match self {
            SolveError::Unsatisfiable { report } => report,
        }
    }

    /// The number of errors; apk-tools exits with it.
    pub fn error_count(&self) -> usize {
        self.report().error_count()
    }

    /// The report's [`Derivation`]: why each problem arose, from world down.
    pub fn derivation(&self) -> &Derivation {
        self.report().derivation()
    }
}

impl Solver {
    /// Build the repository view from `repositories` (in repositories-file order) and the
    /// installed database.
    pub fn new(
        repositories: &[Repository],
        installed: &apk_index::InstalledDb,
        options: &SolverOptions,
    ) -> Solver {
        Solver {
            universe: Universe::build(repositories, installed, options),
        }
    }

    /// Whether some index entry cannot be installed (apk warns `The indexes contain broken
    /// packages which are not installable.`).
    pub fn has_broken_packages(&self) -> bool {
        self.universe.broken_indexes
    }

    /// Whether any repository holds a package named `name` (installed-only packages do not
    /// count).
    pub fn is_available(&self, name: &str) -> bool {
        let u = &self.universe;
        u.name_ids.get(name).is_some_and(|n| {
            u.providers(n)
                .iter()
                .any(|p| u.pkgs[p.pkg as usize].repos != 0)
        })
    }

    /// Solve `task`.
    pub fn solve(&self, task: &SolverTask) -> Result<Changeset, SolveError> {
        let mut world_deps: Vec<apk_index::Dependency> = task.world.clone();
        loop {
            let mut universe = Cow::Borrowed(&self.universe);
            if world_deps
                .iter()
                .any(|d| !universe.name_ids.contains_key(d.name()))
            {
                let u = universe.to_mut();
                for d in &world_deps {
                    u.intern(d.name());
                }
            }
            let u: &Universe = &universe;
            let world: Vec<Dep> = world_deps
                .iter()
                .map(|d| {
                    let tag = d
                        .tag()
                        .and_then(|t| u.tags.iter().position(|x| x == t))
                        .map(|t| t as u16);
                    let name = u.name_ids.get(d.name()).unwrap_or(0);
                    Dep::new(name, &d.as_ref(), tag)
                })
                .collect();
            let world_names: Vec<_> = world
                .iter()
                .filter(|d| !d.conflict)
                .map(|d| d.name)
                .collect();
            let check = |sel: &greedy::Selection| {
                let order = changeset::install_order(u, sel, &world_names);
                let problems = report::check(u, sel, &world, &order);
                (order, problems)
            };
            let (selection, (order, problems)) = match task.engine {
                Engine::Greedy | Engine::Auto => {
                    let sel = Greedy.run(u, &world, task);
                    let checked = check(&sel);
                    (sel, checked)
                }
                Engine::Cdcl => {
                    let run = cdcl::run(u, &world, task, &|sel| check(sel).1.is_empty());
                    let found = run.found.map(|sel| {
                        let checked = check(&sel);
                        (sel, checked)
                    });
                    match found {
                        Some((sel, (order, problems))) if problems.is_empty() => {
                            let diff = if !run.greedy_valid {
                                Some(Difference::ApkFails)
                            } else if sel.selected != run.greedy.selected {
                                Some(Difference::OtherChoice)
                            } else {
                                None
                            };
                            return Ok(changeset::build(u, &sel, &order, &u.installed_order)
                                .with_difference(diff));
                        }
                        _ => {
                            let checked = check(&run.greedy);
                            (run.greedy, checked)
                        }
                    }
                }
            };
            if problems.is_empty() {
                return Ok(changeset::build(u, &selection, &order, &u.installed_order));
            }
            if task.engine == Engine::Auto
                && let Some(sel) = cdcl::run(u, &world, task, &|sel| check(sel).1.is_empty()).found
            {
                let (order, problems) = check(&sel);
                if problems.is_empty() {
                    return Ok(changeset::build(u, &sel, &order, &u.installed_order)
                        .with_difference(Some(Difference::ApkFails)));
                }
            }
            if task.force_broken_world {
                let before = world_deps.len();
                let mut keep = Vec::new();
                for (d, w) in world_deps.iter().zip(&world) {
                    let bad = if w.conflict {
                        false
                    } else {
                        let sel: Vec<_> = u
                            .providers(w.name)
                            .iter()
                            .filter(|p| selection.selected[p.pkg as usize])
                            .collect();
                        sel.is_empty() || sel.iter().any(|p| selection.errored[p.pkg as usize])
                    };
                    if !bad {
                        keep.push(d.clone());
                    }
                }
                if keep.len() < before {
                    world_deps = keep;
                    continue;
                }
            }
            let why = derivation::derive(u, &selection, &world, &order, &problems);
            return Err(SolveError::Unsatisfiable {
                report: ErrorReport::new(problems).with_derivation(why),
            });
        }
    }
}
