//! Compiles `tests/c/test_solver.c` against `include/apk.h`, links it with the static library
//! and runs it on an index and installed database made here: it builds a solver, solves a
//! world, walks the changeset, lets the default engine fall back to the complete search, and
//! reads apk's report for an unsatisfiable world. Runs natively, under valgrind when
//! installed, and with sanitizers when the compiler has them.

use std::path::PathBuf;

use crate::c_program::{assert_passed, run_c_program};

const APKINDEX: &str = "\
P:a\nV:2\nA:x86_64\nS:1\nI:10\nD:b\n\n\
P:b\nV:1\nA:noarch\nS:1\nI:20\n\n\
P:c\nV:1\nA:x86_64\nS:1\nI:1\nD:!a\n\n\
P:skipped\nV:1\nA:aarch64\nS:1\nI:1\n\n\
P:t\nV:2\nA:x86_64\nS:1\nI:1\nD:p q\n\n\
P:t\nV:1\nA:x86_64\nS:1\nI:1\n\n\
P:p\nV:1\nA:x86_64\nS:1\nI:1\np:v=1\n\n\
P:q\nV:1\nA:x86_64\nS:1\nI:1\np:v=1\n\n";

const INSTALLED: &str = "P:old\nV:1\nA:x86_64\nS:1\nI:5\n\n";

const EXPECTED_LINES: &[&str] = &[
    "world 'a' (engine 0):",
    "change: purge old 1 -",
    "change: install b - 1",
    "change: install a - 2",
    "(1/3) Purging old (1)",
    "(2/3) Installing b (1)",
    "(3/3) Installing a (2)",
    "OK: 30 B in 2 packages",
    "world 't' (engine 0):",
    "NOTE: apk-tools would fail with 'unable to select packages' here; this selection was \
     found by apk-rs's complete (CDCL) solver",
    "change: install t - 1",
    "report:",
    "ERROR: unable to select packages:",
    "  a-2:",
    "    breaks: c-1[!a]",
    "    satisfies: world[a]",
];

struct Fixture {
    dir: tempfile::TempDir,
    args: Vec<PathBuf>,
}

fn make_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let index = dir.path().join("APKINDEX");
    let installed = dir.path().join("installed");
    std::fs::write(&index, APKINDEX).expect("write the index");
    std::fs::write(&installed, INSTALLED).expect("write the installed database");
    Fixture {
        args: vec![index, installed],
        dir,
    }
}

#[test]
fn solver_program_passes() {
    let fixture = make_fixture();
    run_c_program("test_solver", fixture.dir.path(), |run| {
        assert_passed(&run.what, &run.output(&fixture.args), EXPECTED_LINES);
    });
}
