//! Index loading: the hot path of every apk command.
//!
//! Always runs on a synthetic Alpine-shaped index; with `APK_CORPUS` set, also on Alpine
//! 3.17's main+community pair (17,818 packages). Run with `cargo bench -p apk-index`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::path::PathBuf;

use apk_index::archive::write_index_archive;
use apk_index::{
    DependencyRef, Index, IndexArchive, IndexOptions, KeySet, Rules, SignatureAlgorithm,
    SigningKey, version,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;

#[path = "support/synth.rs"]
#[allow(dead_code)]
mod synth;

fn synthetic(c: &mut Criterion) {
    let packages = synth::packages(5000, "x86_64", 7);
    let text = synth::apkindex_text(&packages);
    let key = SigningKey::generate(
        "bench.rsa.pub",
        2048,
        &mut rand::rngs::StdRng::seed_from_u64(7),
    )
    .expect("key");
    let archive = write_index_archive(&text, None, &[(&key, SignatureAlgorithm::RsaSha256)])
        .expect("archive");
    let mut keys = KeySet::new();
    keys.insert("bench.rsa.pub", key.public_key());
    let opts = IndexOptions::default();

    let mut g = c.benchmark_group("synthetic 5000 packages");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse APKINDEX text", |b| {
        let bytes = bytes::Bytes::from(text.clone());
        b.iter(|| black_box(Index::from_text(bytes.clone(), &opts)))
    });
    g.bench_function("read + verify + parse archive", |b| {
        b.iter(|| black_box(Index::from_archive_bytes(&archive, Some(&keys), &opts).expect("load")))
    });
    let index = Index::from_text(text.clone(), &opts);
    g.bench_function("write APKINDEX text", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(text.len());
            index.write_text(&mut out).expect("write");
            black_box(out)
        })
    });
    g.finish();
}

fn micro(c: &mut Criterion) {
    let mut g = c.benchmark_group("tokens");
    g.bench_function("version compare 1.2.3_rc1-r0 vs 1.2.3-r0 (v3)", |b| {
        b.iter(|| {
            version::compare(
                black_box(b"1.2.3_rc1-r0"),
                black_box(b"1.2.3-r0"),
                Rules::V3,
            )
        })
    });
    g.bench_function("version validate 2.38.1_git20230101-r12 (v3)", |b| {
        b.iter(|| version::is_valid(black_box(b"2.38.1_git20230101-r12"), Rules::V3))
    });
    g.bench_function("dependency parse so:libcrypto.so.3>=3.0.8-r0", |b| {
        b.iter(|| DependencyRef::parse(black_box(b"so:libcrypto.so.3>=3.0.8-r0"), Rules::V3))
    });
    g.finish();
}

fn alpine(c: &mut Criterion) {
    let Some(corpus) = std::env::var_os("APK_CORPUS").map(PathBuf::from) else {
        eprintln!("APK_CORPUS not set: skipping the Alpine 3.17 benchmarks");
        return;
    };
    let dir = corpus.join("Paper-Dragon_docker-sh");
    let paths = [
        dir.join("main-APKINDEX.tar.gz"),
        dir.join("community-APKINDEX.tar.gz"),
    ];
    let keys = KeySet::from_dir(corpus.join("csmith_apkutils")).expect("keys");
    let data: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let archives: Vec<IndexArchive> = data
        .iter()
        .map(|d| IndexArchive::from_bytes(d).expect("archive"))
        .collect();
    let opts = IndexOptions::default();

    let mut g = c.benchmark_group("alpine 3.17 main+community");
    g.sample_size(30);
    g.bench_function("inflate + untar (IndexArchive::from_bytes)", |b| {
        b.iter(|| {
            for d in &data {
                black_box(IndexArchive::from_bytes(d).expect("archive"));
            }
        })
    });
    g.bench_function("verify signatures", |b| {
        b.iter(|| {
            for a in &archives {
                black_box(a.verify(&keys).expect("verify"));
            }
        })
    });
    g.bench_function("parse APKINDEX text", |b| {
        b.iter(|| {
            for a in &archives {
                black_box(Index::from_archive(a, &opts));
            }
        })
    });
    g.bench_function("open + verify + parse both files (Index::open_many)", |b| {
        b.iter(|| {
            for r in Index::open_many(&paths, Some(&keys), &opts) {
                black_box(r.expect("load"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, synthetic, micro, alpine);
criterion_main!(benches);
