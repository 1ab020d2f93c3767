//! Load indexes, solve a world, print the transcript (or apk's error report): the
//! whole-process measurement behind BENCHMARKS.md's "Solver" section.
//!
//! ```text
//! cargo run --release -p apk-solver --example solve -- \
//!     [--engine auto|greedy|cdcl] [--arch ARCH] [--keys-dir DIR] [--times] [--repeat N] \
//!     [--world-file FILE] [--print-world alpine7|main500|mainall] \
//!     --repo INDEX.tar.gz [--repo …] [WORLD…]
//! ```
//!
//! The indexes load on one thread per file ([`Index::open_each`]), each verified against the
//! keys in `--keys-dir` when it is given (as apk does), and each goes into a [`SolverBuilder`]
//! as soon as it and those before it are loaded, while later ones still load. `--times` prints
//! on stderr when loading (with the building that overlapped it), building and solving
//! ended. `--repeat N` then solves N more times and prints the fastest and the median of those
//! solves on stderr: the solver alone, its memory warm, steadier on a busy machine than whole
//! processes.
//!
//! `--print-world` prints one of the benchmark worlds (see `benches/worlds/mod.rs`; the
//! first `--repo` is taken as `main`) instead of solving, so that a timed run can read it with
//! `--world-file` without paying for building it. Exit status: 0 solved, 1 unsatisfiable,
//! 2 usage or load error.

#[path = "../benches/worlds/mod.rs"]
mod worlds;

// With `--features bench-mimalloc`: mimalloc backs its heap with transparent huge pages, so the
// ~40 MB the run touches costs a few dozen page faults instead of ~8,000.
#[cfg(feature = "bench-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use std::time::Instant;

use apk_index::{Index, IndexOptions, InstalledDb, InstalledDbOptions, KeySet};
use apk_solver::{Engine, Repository, SolverBuilder, SolverOptions};

fn usage(msg: &str) -> ExitCode {
    eprintln!("solve: {msg}");
    eprintln!(
        "usage: solve [--engine auto|greedy|cdcl] [--arch ARCH] [--keys-dir DIR] \
         [--times] [--repeat N] [--world-file FILE] [--print-world alpine7|main500|mainall] \
         --repo FILE [--repo FILE…] [WORLD…]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut repos = Vec::new();
    let mut world: Vec<String> = Vec::new();
    let mut engine = Engine::Auto;
    let mut arch = String::from("x86_64");
    let mut print_world = None;
    let mut keys_dir = None;
    let mut times = false;
    let mut repeat = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().ok_or_else(|| format!("{what} needs a value"));
        let r = match a.as_str() {
            "--repo" => value("--repo").map(|v| repos.push(v)),
            "--arch" => value("--arch").map(|v| arch = v),
            "--keys-dir" => value("--keys-dir").map(|v| keys_dir = Some(v)),
            "--times" => {
                times = true;
                Ok(())
            }
            "--repeat" => value("--repeat").and_then(|v| {
                repeat = v
                    .parse()
                    .map_err(|_| format!("--repeat {v}: not a count"))?;
                Ok(())
            }),
            "--print-world" => value("--print-world").map(|v| print_world = Some(v)),
            "--world-file" => value("--world-file").and_then(|f| {
                std::fs::read_to_string(&f)
                    .map(|t| world.extend(t.split_whitespace().map(str::to_owned)))
                    .map_err(|e| format!("{f}: {e}"))
            }),
            "--engine" => value("--engine").and_then(|v| {
                engine = match v.as_str() {
                    "auto" => Engine::Auto,
                    "greedy" => Engine::Greedy,
                    "cdcl" => Engine::Cdcl,
                    _ => return Err(format!("unknown engine {v}")),
                };
                Ok(())
            }),
            _ if a.starts_with("--") => Err(format!("unknown option {a}")),
            _ => {
                world.push(a);
                Ok(())
            }
        };
        if let Err(e) = r {
            return usage(&e);
        }
    }
    if repos.is_empty() {
        return usage("no --repo given");
    }
    let t0 = Instant::now();
    let keys = match keys_dir.map(KeySet::from_dir).transpose() {
        Ok(k) => k,
        Err(e) => return usage(&format!("keys: {e}")),
    };
    let options = SolverOptions {
        arches: vec![arch],
        ..SolverOptions::default()
    };
    let Ok(empty) = InstalledDb::from_bytes(b"", &InstalledDbOptions::default()) else {
        return usage("empty installed db");
    };
    let opts = IndexOptions::default();
    // Each index goes into the solver as soon as it is loaded, while the later ones still load.
    let mut builder = SolverBuilder::new(&options);
    let mut repositories = Vec::new();
    let mut failed = None;
    Index::open_each(&repos, keys.as_ref(), &opts, |i, loaded| match loaded {
        Ok(index) if failed.is_none() => {
            let repo = Repository::new(index);
            builder.add_repository(&repo);
            repositories.push(repo);
        }
        Ok(_) => {}
        Err(e) => {
            failed.get_or_insert(format!("{}: {e}", repos[i]));
        }
    });
    if let Some(e) = failed {
        return usage(&e);
    }
    if times {
        eprintln!("loaded {:?}", t0.elapsed());
    }
    let main_names = print_world
        .as_ref()
        .map(|_| worlds::main_names(&repositories[0].index));
    let solver = builder.finish(&empty);
    if times {
        eprintln!("built {:?}", t0.elapsed());
    }
    if let (Some(which), Some(names)) = (print_world, main_names) {
        let w = match which.as_str() {
            "main500" => worlds::together(&solver, worlds::first_installable(&solver, &names, 500)),
            "mainall" => worlds::all_installable(&solver, &names),
            "alpine7" => match worlds::corpus_dir() {
                Some(dir) => (worlds::alpine_world(&dir), 0),
                None => return usage("alpine7 needs APK_CORPUS"),
            },
            _ => return usage(&format!("unknown world {which}")),
        };
        eprintln!(
            "{} names ({} dropped as not installable together)",
            w.0.len(),
            w.1
        );
        println!("{}", w.0.join("\n"));
        return ExitCode::SUCCESS;
    }
    let task = worlds::task(&world, engine);
    let solved = solver.solve(&task);
    if times {
        eprintln!("solved {:?}", t0.elapsed());
    }
    if repeat > 0 {
        let mut each: Vec<_> = (0..repeat)
            .map(|_| {
                let t = Instant::now();
                drop(std::hint::black_box(solver.solve(&task)));
                t.elapsed()
            })
            .collect();
        each.sort();
        eprintln!(
            "{repeat} more solves: fastest {:?}, median {:?}",
            each[0],
            each[repeat / 2]
        );
    }
    let code = match solved {
        Ok(cs) => {
            print!("{}", cs.transcript());
            ExitCode::SUCCESS
        }
        Err(e) => {
            print!("{}", e.report());
            ExitCode::from(1)
        }
    };
    // The process ends here: freeing the solver and the indexes piece by piece would only cost
    // time (as with apk-tools, the kernel reclaims it all at once).
    std::mem::forget(solver);
    std::mem::forget(repositories);
    code
}
