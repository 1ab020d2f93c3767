//! Property test: on random small universes (at most 6 names with at most 3 versions each,
//! dependencies with every operator, `!` conflicts, versioned and unversioned provides,
//! provider priorities and install_if) and random worlds, **every changeset the solver returns
//! leaves an installed set that satisfies every rule** (see [`check_rules`]).
//!
//! When the solver reports the world unsatisfiable, [`brute_force_solve`] searches every
//! selection of at most one package per name. A valid selection there means apk's greedy pass
//! missed a solution: such cases are counted and printed, not failed (a complete engine closes
//! them; it can reuse [`brute_force_solve`] and [`check_rules`] as its oracle).
//!
//! Universes start with an empty installed database, so the final installed set is exactly
//! the changeset's `Installing` entries. Shrunk failures are kept in
//! `props.proptest-regressions` beside this file (commit it).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use apk_index::{Dependency, DependencyRef, Index, IndexOptions, Rules};
use apk_solver::command::read_installed;
use apk_solver::{ChangeKind, Engine, Repository, Solver, SolverOptions, SolverTask};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

/// The largest universe: names `n0`…`n5`, plus virtual names `v0`, `v1` that only provides
/// create.
const MAX_NAMES: usize = 6;
const VIRTUAL_NAMES: usize = 2;

/// A generated dependency: `[!]name[op version]`.
#[derive(Debug, Clone)]
pub struct GenDep {
    /// Name index: below the universe's name count a real name `nI`, above it `v(I - count)`.
    pub name: usize,
    /// Operator and version, if constrained.
    pub constraint: Option<(&'static str, u8)>,
    /// `!`.
    pub conflict: bool,
}

/// A generated package.
#[derive(Debug, Clone)]
pub struct GenPkg {
    /// Own name index.
    pub name: usize,
    /// Version, 1 to 3.
    pub version: u8,
    /// `D:`.
    pub depends: Vec<GenDep>,
    /// `p:` entries: name index and version (`None` for a virtual provide).
    pub provides: Vec<(usize, Option<u8>)>,
    /// `i:` names.
    pub install_if: Vec<usize>,
    /// `k:` (0: none).
    pub priority: u8,
}

/// A generated universe and world.
#[derive(Debug, Clone)]
pub struct GenCase {
    /// Number of real names.
    pub names: usize,
    /// Packages, unique by (name, version).
    pub pkgs: Vec<GenPkg>,
    /// World.
    pub world: Vec<GenDep>,
}

impl GenCase {
    /// The text of name index `i`.
    pub fn name(&self, i: usize) -> String {
        if i < self.names {
            format!("n{i}")
        } else {
            format!("v{}", i - self.names)
        }
    }

    fn dep_text(&self, d: &GenDep) -> String {
        let mut s = String::new();
        if d.conflict {
            s.push('!');
        }
        s.push_str(&self.name(d.name));
        if let Some((op, v)) = d.constraint {
            let _ = write!(s, "{op}{v}");
        }
        s
    }

    /// The package's identity in the index (`X1` + 40 hex digits, unique per package).
    pub fn identity(i: usize) -> String {
        format!("X1{i:040x}")
    }

    /// The universe as APKINDEX text.
    pub fn index_text(&self) -> String {
        let mut t = String::new();
        for (i, p) in self.pkgs.iter().enumerate() {
            let _ = writeln!(t, "C:{}", Self::identity(i));
            let _ = writeln!(t, "P:{}\nV:{}\nS:1\nI:1", self.name(p.name), p.version);
            let list = |deps: Vec<String>| deps.join(" ");
            if !p.depends.is_empty() {
                let _ = writeln!(
                    t,
                    "D:{}",
                    list(p.depends.iter().map(|d| self.dep_text(d)).collect())
                );
            }
            if !p.provides.is_empty() {
                let provides = p
                    .provides
                    .iter()
                    .map(|&(n, v)| match v {
                        Some(v) => format!("{}={v}", self.name(n)),
                        None => self.name(n),
                    })
                    .collect();
                let _ = writeln!(t, "p:{}", list(provides));
            }
            if !p.install_if.is_empty() {
                let iif = p.install_if.iter().map(|&n| self.name(n)).collect();
                let _ = writeln!(t, "i:{}", list(iif));
            }
            if p.priority > 0 {
                let _ = writeln!(t, "k:{}", p.priority);
            }
            t.push('\n');
        }
        t
    }

    /// World as dependencies.
    pub fn world_deps(&self) -> Vec<Dependency> {
        self.world
            .iter()
            .filter_map(|d| Dependency::parse(&self.dep_text(d), Rules::V3).ok())
            .collect()
    }
}

fn dep_strategy(names: usize, conflict_weight: u32) -> impl Strategy<Value = GenDep> {
    let ops = prop_oneof![
        4 => Just(None),
        1 => (
            prop::sample::select(vec!["=", "<", ">", "<=", ">=", "~"]),
            1u8..=3
        )
            .prop_map(Some),
    ];
    (
        0..names + VIRTUAL_NAMES,
        ops,
        prop::bool::weighted(f64::from(conflict_weight) / 10.0),
    )
        .prop_map(|(name, constraint, conflict)| GenDep {
            name,
            constraint,
            conflict,
        })
}

fn pkg_strategy(names: usize) -> impl Strategy<Value = GenPkg> {
    let provide = (
        0..names + VIRTUAL_NAMES,
        prop_oneof![Just(None), (1u8..=3).prop_map(Some)],
    );
    (
        0..names,
        1u8..=3,
        prop::collection::vec(dep_strategy(names, 2), 0..=2),
        prop::collection::vec(provide, 0..=1),
        prop_oneof![
            4 => Just(Vec::new()),
            1 => prop::collection::vec(0..names, 1..=2),
        ],
        prop_oneof![3 => Just(0u8), 1 => 1u8..=2],
    )
        .prop_map(
            |(name, version, depends, provides, install_if, priority)| GenPkg {
                name,
                version,
                depends,
                provides,
                install_if,
                priority,
            },
        )
}

/// Random universes and worlds.
pub fn case_strategy() -> impl Strategy<Value = GenCase> {
    (1..=MAX_NAMES)
        .prop_flat_map(|names| {
            (
                Just(names),
                prop::collection::vec(pkg_strategy(names), 1..=names * 3),
                prop::collection::vec(dep_strategy(names, 1), 1..=3),
            )
        })
        .prop_map(|(names, mut pkgs, world)| {
            let mut seen = BTreeSet::new();
            pkgs.retain(|p| seen.insert((p.name, p.version)));
            GenCase { names, pkgs, world }
        })
}

/// Whether package `p` offers name `name` in a way that meets `dep`'s version part; `None`
/// when it does not provide the name at all.
fn offers(case: &GenCase, p: &GenPkg, dep: &GenDep) -> Option<bool> {
    let text = case.dep_text(&GenDep {
        conflict: false,
        ..dep.clone()
    });
    let parsed = DependencyRef::parse(text.as_bytes(), Rules::V3).ok()?;
    let mut entries: Vec<Option<String>> = Vec::new();
    if p.name == dep.name {
        entries.push(Some(p.version.to_string()));
    }
    for &(n, v) in &p.provides {
        if n == dep.name {
            entries.push(v.map(|v| v.to_string()));
        }
    }
    if entries.is_empty() {
        return None;
    }
    Some(
        entries
            .iter()
            .any(|v| parsed.version_matches(v.as_deref(), Rules::V3)),
    )
}

/// Whether `dep` (of `requirer`, or of world when `None`) holds in the installed set `set`.
fn dep_holds(case: &GenCase, set: &[usize], requirer: Option<usize>, dep: &GenDep) -> bool {
    let matching = set
        .iter()
        .filter(|&&i| !(dep.conflict && Some(i) == requirer))
        .any(|&i| offers(case, &case.pkgs[i], dep) == Some(true));
    matching != dep.conflict
}

/// Check every rule on the installed set `set` (package indexes): world is satisfied, every
/// installed package's dependencies are, nothing conflicts, one package per name, and a name
/// provided with a version (own names included) has exactly one provider installed
/// (unversioned provides may coexist). Returns the first broken rule.
pub fn check_rules(case: &GenCase, set: &[usize]) -> Result<(), String> {
    for d in &case.world {
        if !dep_holds(case, set, None, d) {
            return Err(format!("world[{}] is not satisfied", case.dep_text(d)));
        }
    }
    for &i in set {
        let p = &case.pkgs[i];
        for d in &p.depends {
            if !dep_holds(case, set, Some(i), d) {
                return Err(format!(
                    "{}-{}[{}] is not satisfied",
                    case.name(p.name),
                    p.version,
                    case.dep_text(d)
                ));
            }
        }
    }
    for n in 0..case.names + VIRTUAL_NAMES {
        let own = set.iter().filter(|&&i| case.pkgs[i].name == n).count();
        if own > 1 {
            return Err(format!("{} packages named {}", own, case.name(n)));
        }
        let providers: Vec<usize> = set
            .iter()
            .copied()
            .filter(|&i| {
                let p = &case.pkgs[i];
                p.name == n || p.provides.iter().any(|&(x, _)| x == n)
            })
            .collect();
        let versioned = providers.iter().any(|&i| {
            let p = &case.pkgs[i];
            p.name == n || p.provides.iter().any(|&(x, v)| x == n && v.is_some())
        });
        if versioned && providers.len() > 1 {
            return Err(format!(
                "{} is provided with a version and has {} providers",
                case.name(n),
                providers.len()
            ));
        }
    }
    Ok(())
}

/// Search every selection of at most one package per name for one that passes
/// [`check_rules`]; the first found (fewest packages first is not promised).
pub fn brute_force_solve(case: &GenCase) -> Option<Vec<usize>> {
    let per_name: Vec<Vec<usize>> = (0..case.names)
        .map(|n| {
            (0..case.pkgs.len())
                .filter(|&i| case.pkgs[i].name == n)
                .collect()
        })
        .collect();
    let radix: Vec<usize> = per_name.iter().map(|v| v.len() + 1).collect();
    let total: usize = radix.iter().product();
    let mut set = Vec::with_capacity(case.names);
    for mut code in 0..total {
        set.clear();
        for (n, &r) in radix.iter().enumerate() {
            let choice = code % r;
            code /= r;
            if choice > 0 {
                set.push(per_name[n][choice - 1]);
            }
        }
        if check_rules(case, &set).is_ok() {
            return Some(set.clone());
        }
    }
    None
}

/// What one case came to.
enum Verdict {
    Solved,
    BothUnsatisfiable,
    /// The solver failed, yet a valid selection exists.
    Missed(Vec<usize>),
}

/// Solve `case` with `engine`; `Err` when a returned changeset breaks a rule.
fn run_case(case: &GenCase, engine: Engine) -> Result<Verdict, String> {
    let index = Index::from_text(case.index_text(), &IndexOptions::default());
    let solver = Solver::new(
        &[Repository::new(index)],
        &read_installed(b""),
        &SolverOptions::default(),
    );
    let task = SolverTask {
        world: case.world_deps(),
        engine,
        ..SolverTask::default()
    };
    match solver.solve(&task) {
        Ok(cs) => {
            let mut set = Vec::new();
            for c in cs.changes() {
                if c.kind != ChangeKind::Install {
                    return Err(format!("unexpected change from nothing: {c}"));
                }
                let id = c.new.as_ref().and_then(|v| v.identity.clone());
                let i = (0..case.pkgs.len())
                    .find(|&i| Some(GenCase::identity(i)) == id)
                    .ok_or_else(|| format!("installed package not in the universe: {c}"))?;
                set.push(i);
            }
            check_rules(case, &set).map_err(|why| {
                format!(
                    "{why}\nworld: {:?}\nindex:\n{}transcript:\n{}",
                    case.world_deps()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>(),
                    case.index_text(),
                    cs.transcript()
                )
            })?;
            Ok(Verdict::Solved)
        }
        Err(e) => {
            // Every problem of the report is explained, each by at least one step.
            let d = e.derivation();
            let n = e.report().problems().len();
            if d.explanations().len() != n || d.explanations().iter().any(|x| x.steps.is_empty()) {
                return Err(format!(
                    "derivation does not explain the {n} problems:\n{}{d}",
                    e.report()
                ));
            }
            Ok(match brute_force_solve(case) {
                Some(set) => Verdict::Missed(set),
                None => Verdict::BothUnsatisfiable,
            })
        }
    }
}

/// Run the property for `engine` over `cases` random cases; prints the tallies.
fn property(engine: Engine, cases: u32) {
    let config = Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let tally = std::cell::RefCell::new((0usize, 0usize, Vec::<String>::new()));
    let result = runner.run(&case_strategy(), |case| {
        match run_case(&case, engine) {
            Err(why) => return Err(TestCaseError::fail(why)),
            Ok(Verdict::Solved) => tally.borrow_mut().0 += 1,
            Ok(Verdict::BothUnsatisfiable) => tally.borrow_mut().1 += 1,
            Ok(Verdict::Missed(set)) => {
                let names: Vec<String> = set
                    .iter()
                    .map(|&i| format!("{}-{}", case.name(case.pkgs[i].name), case.pkgs[i].version))
                    .collect();
                let world: Vec<String> =
                    case.world_deps().iter().map(ToString::to_string).collect();
                tally.borrow_mut().2.push(format!(
                    "world {world:?}: brute force installs {names:?}\n{}",
                    case.index_text()
                ));
            }
        }
        Ok(())
    });
    let (solved, unsat, missed) = tally.into_inner();
    println!(
        "{engine:?}: {solved} solved and valid, {unsat} unsatisfiable (confirmed by brute force), \
         {} missed although brute force finds a solution",
        missed.len()
    );
    for m in missed.iter().take(3) {
        println!("missed: {m}");
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn greedy_solutions_satisfy_every_rule() {
    property(Engine::Greedy, 512);
}

#[test]
fn brute_force_agrees_with_the_rules() {
    // a needs b; b conflicts with c; world wants a and c: impossible. Without c: {a, b}.
    let dep = |name, conflict| GenDep {
        name,
        constraint: None,
        conflict,
    };
    let pkg = |name, depends| GenPkg {
        name,
        version: 1,
        depends,
        provides: Vec::new(),
        install_if: Vec::new(),
        priority: 0,
    };
    let mut case = GenCase {
        names: 3,
        pkgs: vec![
            pkg(0, vec![dep(1, false)]),
            pkg(1, vec![dep(2, true)]),
            pkg(2, vec![]),
        ],
        world: vec![dep(0, false), dep(2, false)],
    };
    assert_eq!(brute_force_solve(&case), None);
    case.world.pop();
    assert_eq!(brute_force_solve(&case), Some(vec![0, 1]));
    assert!(check_rules(&case, &[0]).is_err());
}
