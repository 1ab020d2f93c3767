//! HELPER-OWNED STUB: `APKINDEX.tar.gz` archives (read, verify, write, sign).
