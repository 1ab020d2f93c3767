//! Extraction, the hot path of installing: a generated package of 200 files (8 KiB each,
//! contents that compress about 2:1) read, verified (per-file SHA-1, datahash) and written
//! through temporary names into a fresh directory (on `/dev/shm` when there is one, so the
//! numbers measure apk-pkg rather than the disk). Run with `cargo bench -p apk-pkg`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::path::PathBuf;

use apk_index::PackageInfo;
use apk_pkg::{Extractor, PackageBuilder, PackageReader};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};

fn package() -> (Vec<u8>, u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut b = PackageBuilder::new(PackageInfo::new("bench", "1.0-r0"));
    b.add_dir("usr", 0o755).unwrap();
    b.add_dir("usr/share", 0o755).unwrap();
    b.add_dir("usr/share/bench", 0o755).unwrap();
    let mut total = 0u64;
    for i in 0..200 {
        let mut data = Vec::with_capacity(8192);
        while data.len() < 8192 {
            if rng.gen_bool(0.5) {
                data.extend_from_slice(b"package ");
            } else {
                data.extend((0..4).map(|_| rng.r#gen::<u8>()));
            }
        }
        total += data.len() as u64;
        b.add_file(&format!("usr/share/bench/f{i:03}"), 0o644, data)
            .unwrap();
    }
    let mut out = Vec::new();
    b.write(&mut out).unwrap();
    (out, total)
}

fn scratch() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

fn extract(c: &mut Criterion) {
    let (apk, bytes) = package();
    let mut g = c.benchmark_group("extract 200 files");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("stage + commit into a fresh directory", |b| {
        b.iter_batched(
            || tempfile::tempdir_in(scratch()).unwrap(),
            |dir| {
                let mut reader = PackageReader::new(&apk[..]).unwrap();
                black_box(Extractor::new().extract(&mut reader, dir.path()).unwrap());
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("read and verify only", |b| {
        b.iter(|| {
            let mut reader = PackageReader::new(&apk[..]).unwrap();
            while let Some(mut e) = reader.next_entry().unwrap() {
                let mut buf = [0u8; 16384];
                while e.read_content(&mut buf).unwrap() > 0 {}
            }
            black_box(reader.finish().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, extract);
criterion_main!(benches);
