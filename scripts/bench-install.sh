#!/bin/sh
# Install benchmark: 200 packages, 10,000 files, ~80 MiB into a fresh root with apk-rs,
# against GNU tar extracting the same files from one .tar.gz.
#   scripts/bench-install.sh [WORKDIR]
set -eu
work=${1:-/dev/shm/apk-rs-bench-install}
cd "$(dirname "$0")/.."
cargo build --release -q -p apk-cli --bin apk-rs --example bench_repo
if [ ! -f "$work/world" ]; then
    rm -rf "$work"
    target/release/examples/bench_repo "$work"
fi
du -sh "$work/tree" "$work/repo"
apk=$PWD/target/release/apk-rs
hyperfine --warmup 2 --runs 15 \
    --prepare "rm -rf $work/root $work/tarroot; mkdir -p $work/root/etc/apk $work/tarroot; cp -r $work/keys $work/root/etc/apk/keys; echo $work/repo > $work/root/etc/apk/repositories" \
    "$apk --root $work/root --initdb --no-cache --no-scripts -q add $(cat "$work/world")" \
    "tar -xzf $work/all.tar.gz -C $work/tarroot"
