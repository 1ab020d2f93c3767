//! `apk-rs adbdump` and `apk-rs verify` on apk v3 (ADB) files made by apk-tools 3.0.6
//! (`$APK_CORPUS/apk3-made`; skipped with a note when `APK_CORPUS` is unset).

use std::path::PathBuf;

use crate::util::Dir;

fn apk3() -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("APK_CORPUS").filter(|c| !c.is_empty()) else {
        eprintln!("note: APK_CORPUS is not set; skipping the apk v3 corpus tests");
        return None;
    };
    let dir = PathBuf::from(corpus).join("apk3-made");
    assert!(
        dir.join("README.md").is_file(),
        "APK_CORPUS is set but {} is not readable",
        dir.display()
    );
    Some(dir)
}

const FILES: [&str; 9] = [
    "x86_64/Packages.adb",
    "x86_64/fooplug-1-r0.apk",
    "x86_64/hello3-1.0-r0.apk",
    "x86_64/libgreet-2.1-r0.apk",
    "x86_64/trig-1-r0.apk",
    "variants/Packages-unsigned.adb",
    "variants/hello3-uncompressed.apk",
    "variants/hello3-unsigned.apk",
    "variants/hello3-zstd.apk",
];

#[test]
fn adbdump_prints_what_apk_tools_prints() {
    let Some(dir) = apk3() else { return };
    let work = Dir::new();
    std::fs::create_dir(work.join("nokeys")).expect("create a directory");
    let mut args = vec!["adbdump".into(), "--keys-dir".into(), "nokeys".into()];
    args.extend(FILES.iter().map(|f| dir.join(f).into_os_string()));
    let expected: String = FILES
        .iter()
        .map(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            std::fs::read_to_string(dir.join(format!("expected/{name}.adbdump.txt")))
                .expect("read an expected dump")
        })
        .collect();
    work.apk(&args).assert(0, &expected);
}

#[test]
fn verify_accepts_signed_v3_files() {
    let Some(dir) = apk3() else { return };
    let work = Dir::new();
    let keys = dir.join("keys").into_os_string();
    let mut args = vec!["verify".into(), "--keys-dir".into(), keys];
    args.extend(FILES.iter().map(|f| dir.join(f).into_os_string()));
    let expected: String = FILES
        .iter()
        .map(|f| {
            let verdict = if f.contains("unsigned") {
                "UNTRUSTED"
            } else {
                "OK"
            };
            format!("{}: {verdict}\n", dir.join(f).display())
        })
        .collect();
    work.apk(&args).assert(2, &expected);
}

#[test]
fn adbdump_reports_broken_files() {
    let work = Dir::new();
    work.create("broken.adb", b"ADB.pckg\x01\x02");
    work.create("text.adb", "hello\n");
    let out = work.apk(["adbdump", "broken.adb", "text.adb"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "ERROR: broken.adb: block at stream offset 8: truncated block header\n\
         ERROR: text.adb: not an ADB file (it starts with 68656c6c)\n"
    );
}

#[test]
fn extract_writes_v3_packages() {
    let Some(dir) = apk3() else { return };
    let work = Dir::new();
    let pkg = dir.join("x86_64/hello3-1.0-r0.apk");
    let keys = dir.join("keys").into_os_string();
    let out = work.apk([
        "-v".into(),
        "extract".into(),
        "--keys-dir".into(),
        keys,
        "--destination".into(),
        "out".into(),
        pkg.clone().into_os_string(),
    ]);
    out.assert(
        0,
        &format!("{}: 3 files, 9 directories, 1 symlinks\n", pkg.display()),
    );
    assert_eq!(
        std::fs::read_link(work.join("out/usr/bin/hi3")).expect("a symlink"),
        std::path::Path::new("hello3")
    );
}
