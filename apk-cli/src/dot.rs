//! `apk-rs dot`: the dependency graph as Graphviz input.
//!
//! ```text
//! digraph "apkindex" {
//!   rankdir=LR;
//!   node [shape=box];
//!   "hello-1.1-r0" -> "libgreet-2.1-r0" [label="so:libgreet.so.2"];
//!   "nothere" [style=dashed, color=red, fontcolor=red, shape=octagon];
//!   "broken-1-r0" -> "nothere" [color=red];
//! }
//! ```
//!
//! The graph starts from the given dependencies (world when none are given) and follows the
//! dependencies of every package reached, depth first; a dependency goes to every package
//! satisfying it (`--installed`: every installed one). An edge is labelled with the
//! dependency when it names something other than the target package (a provided name or a
//! version constraint). A dependency nothing satisfies goes to a red octagon named after it.
//! Conflicts (`!name`) are not drawn.
//!
//! `--errors` keeps only the erroneous part: packages with an unsatisfied dependency, on a
//! dependency cycle, or depending on such a package, and the edges between them. Nothing is
//! printed when the graph is empty.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use apk_index::{Dependency, Rules};

use crate::Global;
use crate::query::{self, Universe, line, name_ver};

/// Options of `apk-rs dot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the erroneous part of the graph (missing dependencies, cycles).
    #[arg(long = "errors")]
    errors: bool,
    /// Use installed packages only.
    #[arg(long = "installed")]
    installed: bool,
    /// Dependencies to start from (default: world).
    #[arg(value_name = "PACKAGE")]
    packages: Vec<String>,
}

/// An edge of the graph.
#[derive(Debug, Clone)]
enum Edge {
    /// To package `to` through dependency `label` (`None` when it just names the package).
    To { to: usize, label: Option<String> },
    /// To a name nothing satisfies.
    Missing(String),
}

/// Quotes a Graphviz ID.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Runs `dot`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let db = query::open(global, !args.installed)?;
    let u = Universe::new(&db);
    let roots: Vec<Dependency> = if args.packages.is_empty() {
        db.world().to_vec()
    } else {
        args.packages
            .iter()
            .map(|p| Dependency::parse(p, Rules::default()))
            .collect::<Result<_, _>>()
            .context("bad package specifier")?
    };
    let usable = |i: usize| !args.installed || u.pkgs[i].installed.is_some();

    // Discover the graph depth first, keeping the discovery order.
    let mut order: Vec<usize> = Vec::new();
    let mut edges: HashMap<usize, Vec<Edge>> = HashMap::new();
    let mut stack: Vec<usize> = Vec::new();
    for dep in roots.iter().rev().filter(|d| !d.conflict()) {
        let starts: Vec<usize> = u
            .providers(&dep.as_ref())
            .into_iter()
            .filter(|&i| usable(i))
            .collect();
        stack.extend(starts.into_iter().rev());
    }
    while let Some(i) = stack.pop() {
        if edges.contains_key(&i) {
            continue;
        }
        order.push(i);
        let mut list = Vec::new();
        for dep in u.pkgs[i].info.depends().iter().filter(|d| !d.conflict()) {
            let targets: Vec<usize> = u
                .providers(&dep)
                .into_iter()
                .filter(|&j| usable(j))
                .collect();
            if targets.is_empty() {
                list.push(Edge::Missing(dep.name().to_owned()));
            }
            for j in targets {
                let plain = dep.name() == u.pkgs[j].info.name() && dep.constraint().is_none();
                list.push(Edge::To {
                    to: j,
                    label: (!plain).then(|| dep.to_string()),
                });
            }
        }
        // Visit the targets in dependency order.
        for e in list.iter().rev() {
            if let Edge::To { to, .. } = e {
                if !edges.contains_key(to) {
                    stack.push(*to);
                }
            }
        }
        edges.insert(i, list);
    }

    let broken = if args.errors {
        Some(erroneous(&order, &edges))
    } else {
        None
    };
    let shown = |i: usize| broken.as_ref().is_none_or(|b| b.contains(&i));

    let mut header = false;
    let mut missing_declared: HashSet<String> = HashSet::new();
    for &i in &order {
        if !shown(i) {
            continue;
        }
        let from = quote(&name_ver(&u.pkgs[i].info));
        for e in edges.get(&i).map_or(&[][..], Vec::as_slice) {
            let text = match e {
                Edge::To { to, label } => {
                    if !shown(*to) {
                        continue;
                    }
                    let to = quote(&name_ver(&u.pkgs[*to].info));
                    match label {
                        Some(l) => format!("  {from} -> {to} [label={}];", quote(l)),
                        None => format!("  {from} -> {to};"),
                    }
                }
                Edge::Missing(name) => {
                    let mut text = String::new();
                    if missing_declared.insert(name.clone()) {
                        text.push_str(&format!(
                            "  {} [style=dashed, color=red, fontcolor=red, shape=octagon];\n",
                            quote(name)
                        ));
                    }
                    text.push_str(&format!("  {from} -> {} [color=red];", quote(name)));
                    text
                }
            };
            if !header {
                line(
                    out,
                    "digraph \"apkindex\" {\n  rankdir=LR;\n  node [shape=box];",
                )?;
                header = true;
            }
            line(out, text)?;
        }
    }
    if header {
        line(out, "}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The erroneous packages: those with a missing dependency or on a cycle, and those that
/// reach one of them.
fn erroneous(order: &[usize], edges: &HashMap<usize, Vec<Edge>>) -> HashSet<usize> {
    let targets = |i: usize| {
        edges
            .get(&i)
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                Edge::To { to, .. } => Some(*to),
                Edge::Missing(_) => None,
            })
            .collect::<Vec<_>>()
    };
    let mut bad: HashSet<usize> = HashSet::new();
    for &i in order {
        let missing = edges
            .get(&i)
            .is_some_and(|l| l.iter().any(|e| matches!(e, Edge::Missing(_))));
        if missing || reaches(i, i, &targets) {
            bad.insert(i);
        }
    }
    // Whatever depends on an erroneous package is erroneous too.
    loop {
        let before = bad.len();
        for &i in order {
            if !bad.contains(&i) && targets(i).iter().any(|t| bad.contains(t)) {
                bad.insert(i);
            }
        }
        if bad.len() == before {
            return bad;
        }
    }
}

/// Whether `goal` is reachable from the successors of `start`.
fn reaches(start: usize, goal: usize, targets: &impl Fn(usize) -> Vec<usize>) -> bool {
    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack = targets(start);
    while let Some(i) = stack.pop() {
        if i == goal {
            return true;
        }
        if seen.insert(i) {
            stack.extend(targets(i));
        }
    }
    false
}
