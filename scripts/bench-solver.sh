#!/usr/bin/env bash
# Whole-process solving (issue 4's yardstick): load and verify Alpine 3.17 main+community,
# build the solver, solve a world, print the transcript. Three worlds (7 names, 500 names,
# every installable name of main) and the complete engine on the last, for the example built
# with the system allocator and with mimalloc (`--features bench-mimalloc`).
#
#   APK_CORPUS=../shared/corpus scripts/bench-solver.sh [BEFORE]
#
# With BEFORE (a `solve` example binary built from another commit; it is run without
# `--keys-dir`, which older ones lack), the three worlds are also timed interleaved: each round
# runs every binary once, which keeps a busy machine's drift out of the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${APK_CORPUS:-../shared/corpus}
dir=$corpus/Paper-Dragon_docker-sh
keys="--keys-dir $corpus/csmith_apkutils"
repos="--repo $dir/main-APKINDEX.tar.gz --repo $dir/community-APKINDEX.tar.gz"
worlds=target/solver-bench-worlds
cargo build --release -p apk-solver --example solve --features bench-mimalloc >/dev/null
cp target/release/examples/solve target/solve-mimalloc
cargo build --release -p apk-solver --example solve >/dev/null
cp target/release/examples/solve target/solve-system
mkdir -p $worlds
[ -s $worlds/main500.txt ] || target/solve-system $repos --print-world main500 >$worlds/main500.txt
[ -s $worlds/mainall.txt ] || target/solve-system $repos --print-world mainall >$worlds/mainall.txt
w7=$(tr '\n' ' ' <"$dir/rootfs/etc/apk/world")
w500="--world-file $worlds/main500.txt"
wall="--world-file $worlds/mainall.txt"
for b in target/solve-system target/solve-mimalloc; do
  hyperfine -N -w 3 -r 30 "$b $keys $repos $w7" "$b $keys $repos $w500" "$b $keys $repos $wall" \
    "$b --engine cdcl $keys $repos $wall"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $# -ge 1 ]; then
  before=$1
  for w in "$w7" "$w500" "$wall"; do
    python3 scripts/interleave.py 30 \
      before "exec $before $repos $w" \
      system "exec target/solve-system $repos $w" \
      "system, keys" "exec target/solve-system $keys $repos $w" \
      "mimalloc, keys" "exec target/solve-mimalloc $keys $repos $w"
  done
fi
