#!/usr/bin/env bash
# Extraction and verification throughput of `apk-rs` against GNU tar on the same package,
# and peak memory extracting a package much larger than any buffer.
#
#   scripts/bench-extract.sh [WORKDIR]
#
# Needs hyperfine, GNU tar, python3 and /usr/bin/time. Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/apk-rs-bench.XXXXXX)}
mkdir -p "$work"
cargo build --release -p apk-cli >/dev/null
apk=$PWD/target/release/apk-rs

if [ ! -f "$work/bench.rsa" ]; then
  mkdir -p "$work/keys"
  openssl genrsa -out "$work/bench.rsa" 2048 2>/dev/null
  openssl rsa -in "$work/bench.rsa" -pubout -out "$work/keys/bench.rsa.pub" 2>/dev/null
fi
if [ ! -f "$work/tree.apk" ]; then
  # 2,000 files, about 80 MiB, text-like content that compresses about 3:1 like real binaries.
  python3 - "$work/tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
total = 0
for i in range(2000):
    d = os.path.join(root, "usr", "share", f"d{i % 40:02d}")
    os.makedirs(d, exist_ok=True)
    size = int(rng.expovariate(1 / 42000))
    chunks, n = [], 0
    while n < size:
        w = rng.choice(words) if rng.random() < 0.7 else bytes(rng.getrandbits(8) for _ in range(8))
        chunks.append(w); n += len(w) + 1
    data = b" ".join(chunks)[:size]
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(data)
    total += len(data)
print(f"{total} bytes in 2000 files")
PY
  "$apk" mkpkg -I name:benchtree -I version:1.0-r0 -F "$work/tree" --sign-key "$work/bench.rsa" -o "$work/tree.apk"
fi
ls -l "$work/tree.apk"

for out in "$work/out" /dev/shm/apk-rs-bench-out; do
  echo "== extraction into $out: apk-rs extract (verified) vs tar -xzf (same package file)"
  hyperfine -N -w 2 -r 10 \
    --prepare "sh -c 'rm -rf $out && mkdir $out'" \
    "$apk --keys-dir $work/keys extract --destination $out $work/tree.apk" \
    "tar --warning=no-unknown-keyword -xzf $work/tree.apk -C $out"
  rm -rf "$out"
done

echo "== verification (stream everything, check datahash and every file checksum)"
hyperfine -N -w 2 -r 10 "$apk verify --keys-dir $work/keys $work/tree.apk" "gzip -t $work/tree.apk"

if [ ! -f "$work/big.apk" ]; then
  mkdir -p "$work/big/usr/share"
  head -c 512M /dev/urandom > "$work/big/usr/share/blob"
  "$apk" mkpkg -I name:big -I version:1.0-r0 -F "$work/big" --sign-key "$work/bench.rsa" -o "$work/big.apk"
  rm -rf "$work/big"
fi
echo "== peak memory extracting a 512 MiB package"
rm -rf "$work/bigout" && mkdir "$work/bigout"
/usr/bin/time -f "max RSS %M KiB, %e s" "$apk" --keys-dir "$work/keys" extract --destination "$work/bigout" "$work/big.apk"
rm -rf "$work/bigout"
