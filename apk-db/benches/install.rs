//! Installing, the main job: 40 generated packages of 25 files each (1,000 files, about
//! 8 MiB) from a local repository into a fresh root: open the database with `--initdb`, load
//! the index, solve, and commit (fetch, verify against the index, stage on every core, place,
//! write the database). On `/dev/shm` when there is one. Run with `cargo bench -p apk-db`.
//! The whole-process comparison with `tar` on 200 packages is `scripts/bench-install.sh`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::path::{Path, PathBuf};

use apk_db::{CommitOptions, Database, OpenOptions, Transaction};
use apk_index::PackageInfo;
use apk_pkg::{IndexBuilder, PackageBuilder};
use apk_solver::command::{Invocation, run};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};

const PACKAGES: usize = 40;
const FILES: usize = 25;

fn scratch() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

fn repository(dir: &Path) -> Vec<String> {
    let arch_dir = dir.join("x86_64");
    std::fs::create_dir_all(&arch_dir).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut index = IndexBuilder::new();
    let mut names = Vec::new();
    for p in 0..PACKAGES {
        let name = format!("bench{p:02}");
        let mut info = PackageInfo::new(&name, "1.0-r0");
        info.arch = Some("x86_64".into());
        let mut b = PackageBuilder::new(info);
        let base = format!("usr/share/{name}");
        b.add_dir("usr", 0o755).unwrap();
        b.add_dir("usr/share", 0o755).unwrap();
        b.add_dir(&base, 0o755).unwrap();
        for f in 0..FILES {
            let mut data = Vec::with_capacity(8192);
            while data.len() < 8192 {
                if rng.gen_bool(0.5) {
                    data.extend_from_slice(b"library ");
                } else {
                    data.extend((0..4).map(|_| rng.r#gen::<u8>()));
                }
            }
            b.add_file(&format!("{base}/f{f:02}"), 0o644, data).unwrap();
        }
        let path = arch_dir.join(format!("{name}-1.0-r0.apk"));
        b.write(std::fs::File::create(&path).unwrap()).unwrap();
        index.add_file(&path).unwrap();
        names.push(name);
    }
    std::fs::write(
        arch_dir.join("APKINDEX.tar.gz"),
        index.write_archive(&[]).unwrap(),
    )
    .unwrap();
    names
}

fn install(c: &mut Criterion) {
    let work = tempfile::tempdir_in(scratch()).unwrap();
    let repo = work.path().join("repo");
    let names = repository(&repo);
    let mut args = vec!["add".to_owned()];
    args.extend(names);
    let inv = Invocation::parse(&args).unwrap();
    c.bench_function("install 40 packages (1,000 files) into a fresh root", |b| {
        b.iter_batched(
            || {
                let root = tempfile::tempdir_in(work.path()).unwrap();
                std::fs::create_dir_all(root.path().join("etc/apk")).unwrap();
                std::fs::write(
                    root.path().join("etc/apk/repositories"),
                    format!("{}\n", repo.display()),
                )
                .unwrap();
                root
            },
            |root| {
                let opts = OpenOptions::new(root.path())
                    .initdb(true)
                    .arch("x86_64")
                    .allow_untrusted(true)
                    .no_cache(true);
                let mut db = Database::open(&opts).unwrap();
                db.load_indexes(false);
                let out = run(&inv, db.solver_repositories(), db.installed(), Vec::new());
                let cs = out.changeset.unwrap();
                let summary = Transaction::new(&mut db, cs, out.world)
                    .commit(&CommitOptions::default(), &mut |_| {})
                    .unwrap();
                black_box(summary);
                drop(db);
                root
            },
            BatchSize::PerIteration,
        )
    });
}

criterion_group!(benches, install);
criterion_main!(benches);
