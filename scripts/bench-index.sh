#!/usr/bin/env bash
# Whole-process index loading against `gzip -dc` of the same files (issue 2's yardstick):
# Alpine 3.17 main+community, 17,818 packages, inflated, untarred, signature-checked and
# parsed fully into the model.
#
#   APK_CORPUS=../shared/corpus scripts/bench-index.sh
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${APK_CORPUS:-../shared/corpus}
dir=$corpus/Paper-Dragon_docker-sh
keys=$corpus/csmith_apkutils
cargo build --release -p apk-index --example index_load >/dev/null
hyperfine -N -w 5 -r 50 \
  "gzip -dc $dir/main-APKINDEX.tar.gz $dir/community-APKINDEX.tar.gz" \
  "target/release/examples/index_load --keys-dir $keys $dir/main-APKINDEX.tar.gz $dir/community-APKINDEX.tar.gz"
