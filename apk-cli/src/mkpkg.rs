//! `apk-rs mkpkg`: build a signed package, driven like apk-tools 3's `mkpkg`.
//!
//! ```text
//! apk-rs mkpkg -I name:hello -I version:1.0-r0 -I arch:x86_64 -I "depends:musl so:libc.so"
//!              -F build/root -s post-install:hello.post-install
//!              -t '/usr/share/hello/*' -s trigger:hello.trigger
//!              --sign-key ~/.abuild/me@example.org-1234.rsa -o hello-1.0-r0.apk
//! ```
//!
//! * `-I KEY:VALUE` (repeatable) sets metadata, with apk3 mkpkg's key names (see [`INFO_KEYS`]).
//!   `depends`, `provides`, `replaces` and `install-if` take space-separated dependency lists
//!   and may be repeated to add more; the other keys may be given once. `name` and `version`
//!   are required.
//! * `-F DIR` takes the file tree from `DIR` (every entry owned by root; modes from disk).
//! * `-s TYPE:FILE` adds a script (`pre-install`, `post-install`, `pre-upgrade`,
//!   `post-upgrade`, `pre-deinstall`, `post-deinstall`, `trigger`); `-t GLOB` a trigger glob.
//! * `--sign-key FILE` (repeatable) signs with a PEM private key. As with abuild, the signature
//!   names the public key `FILE`'s name plus `.pub` (`.SIGN.RSA.NAME.pub`): the file users put
//!   in `/etc/apk/keys`. `--sign-alg` picks `RSA` (SHA-1, the default, what abuild makes),
//!   `RSA256` or `RSA512`.
//! * `-o FILE` is the output (default `NAME-VERSION.apk` in the current directory). The package
//!   is written to `FILE.tmp` and renamed into place, so a failed build leaves no partial file.
//! * `--format v2` (the default) writes the v2 format every apk-tools release installs;
//!   `--format v3` writes apk-tools 3's ADB format, laid out as apk-tools 3's `mkpkg` lays it
//!   out (the same inputs give the same ADB block, signature and DATA blocks). v3 packages
//!   are signed over SHA-512 whatever `--sign-alg` says (RSA PKCS#1 v1.5, or ECDSA for a
//!   P-256 key), and the key is found by its key id, not its name. v2 packages need an RSA
//!   key.
//! * `--compression ALG[:LEVEL]` (v3 only): `deflate` (the default, `ADBd`), `deflate:N`,
//!   `zstd[:N]` or `none`, as apk-tools 3 takes it.
//!
//! v2: every tar entry's mtime is `SOURCE_DATE_EPOCH` when that is set, otherwise 0, so the
//! same inputs always give the same bytes. v3, as apk-tools 3: every file's mtime is
//! `SOURCE_DATE_EPOCH` when that is set, otherwise the file's own. Nothing is printed on
//! success; with `-v` one line, `FILE: IDENTITY`.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use apk_index::adb::Compression;
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{Dependency, PackageInfo};
use apk_pkg::{BuildOptions, PackageBuilder, ScriptKind};

use crate::Global;

/// The `-I` keys, in apk3 mkpkg's names.
pub const INFO_KEYS: [&str; 17] = [
    "name",
    "version",
    "description",
    "arch",
    "license",
    "origin",
    "maintainer",
    "url",
    "commit",
    "repo-commit",
    "build-time",
    "provider-priority",
    "replaces-priority",
    "depends",
    "provides",
    "replaces",
    "install-if",
];

/// The package formats `--format` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// apk-tools 2 packages: signature, control and data gzip members.
    V2,
    /// apk-tools 3 ADB packages.
    V3,
}

/// Options of `apk-rs mkpkg`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Package metadata (repeatable). Keys: name, version, description, arch, license, origin,
    /// maintainer, url, commit, build-time, provider-priority, replaces-priority, depends,
    /// provides, replaces, install-if.
    #[arg(short = 'I', long = "info", value_name = "KEY:VALUE")]
    info: Vec<String>,

    /// Take the package's files from the directory DIR.
    #[arg(short = 'F', long = "files", value_name = "DIR")]
    files: Option<PathBuf>,

    /// Add a script (repeatable). TYPE: pre-install, post-install, pre-upgrade, post-upgrade,
    /// pre-deinstall, post-deinstall or trigger.
    #[arg(short = 's', long = "script", value_name = "TYPE:FILE")]
    scripts: Vec<OsString>,

    /// Add a trigger glob, e.g. '/usr/share/fonts/*' (repeatable; needs a trigger script).
    #[arg(short = 't', long = "trigger", value_name = "GLOB")]
    triggers: Vec<String>,

    /// Sign with the PEM private key KEYFILE, as the public key named KEYFILE's name + ".pub"
    /// (repeatable).
    #[arg(long = "sign-key", value_name = "KEYFILE")]
    sign_keys: Vec<PathBuf>,

    /// The signature algorithm: RSA (SHA-1, as abuild signs), RSA256 or RSA512.
    #[arg(long = "sign-alg", value_name = "ALG", default_value = "RSA")]
    sign_alg: String,

    /// Write the package to FILE (default: NAME-VERSION.apk).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// The package format to write.
    #[arg(
        long = "format",
        value_name = "FORMAT",
        value_enum,
        default_value = "v2"
    )]
    format: Format,

    /// The compression of v3 packages: deflate (default), deflate:LEVEL, zstd, zstd:LEVEL or none.
    #[arg(long = "compression", value_name = "ALG[:LEVEL]")]
    compression: Option<String>,
}

/// The validated command line.
struct Config {
    info: PackageInfo,
    files: Option<PathBuf>,
    scripts: Vec<(ScriptKind, Vec<u8>)>,
    triggers: Vec<String>,
    keys: Vec<SigningKey>,
    sign_alg: SignatureAlgorithm,
    output: PathBuf,
    /// `SOURCE_DATE_EPOCH`, when set.
    mtime: Option<u64>,
    format: Format,
    compression: Compression,
}

impl Config {
    fn from_args(args: Args) -> anyhow::Result<Config> {
        let compression = match (&args.compression, args.format) {
            (None, _) => Compression::Deflate,
            (Some(_), Format::V2) => {
                bail!("--compression applies to --format v3 only (v2 packages are gzip)")
            }
            (Some(spec), Format::V3) => spec.parse()?,
        };
        let info = parse_info(&args.info)?;
        let mut scripts = Vec::new();
        for spec in &args.scripts {
            let text = spec.to_string_lossy();
            let Some((kind, _)) = text.split_once(':') else {
                bail!("invalid script {text:?}: expected TYPE:FILE");
            };
            let kind: ScriptKind = kind.parse()?;
            // The file name is everything after the first ':' (kept as raw bytes).
            let path = {
                use std::os::unix::ffi::OsStrExt;
                let bytes = spec.as_bytes();
                let colon = bytes.iter().position(|&b| b == b':').unwrap_or(bytes.len());
                PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[colon + 1..]))
            };
            if scripts.iter().any(|(k, _)| *k == kind) {
                bail!("more than one {kind} script");
            }
            let body = fs::read(&path)
                .with_context(|| format!("failed to read script {}", path.display()))?;
            scripts.push((kind, body));
        }
        let sign_alg: SignatureAlgorithm = args.sign_alg.parse()?;
        let keys = args
            .sign_keys
            .iter()
            .map(|path| SigningKey::from_file(path).map_err(anyhow::Error::from))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let output = args
            .output
            .unwrap_or_else(|| PathBuf::from(format!("{}-{}.apk", info.name, info.version)));
        let mtime = match std::env::var_os("SOURCE_DATE_EPOCH") {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| {
                        anyhow!("SOURCE_DATE_EPOCH {value:?} is not a number of seconds")
                    })?,
            ),
        };
        Ok(Config {
            info,
            files: args.files,
            scripts,
            triggers: args.triggers,
            keys,
            sign_alg,
            output,
            mtime,
            format: args.format,
            compression,
        })
    }
}

/// Turns the `-I KEY:VALUE` arguments into package metadata.
fn parse_info(items: &[String]) -> anyhow::Result<PackageInfo> {
    let mut info = PackageInfo::default();
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        let Some((key, value)) = item.split_once(':') else {
            bail!("invalid -I {item:?}: expected KEY:VALUE");
        };
        let Some(key) = INFO_KEYS.iter().copied().find(|k| *k == key) else {
            bail!(
                "unknown info key {key:?}; known keys: {}",
                INFO_KEYS.join(", ")
            );
        };
        let is_list = matches!(key, "depends" | "provides" | "replaces" | "install-if");
        let canonical = if key == "repo-commit" { "commit" } else { key };
        if !is_list {
            if seen.contains(&canonical) {
                bail!("info key {key:?} given more than once");
            }
            seen.push(canonical);
        }
        let number = |what: &str| -> anyhow::Result<u64> {
            value
                .trim()
                .parse()
                .with_context(|| format!("invalid {what} {value:?}: not a number"))
        };
        let priority = |what: &str| -> anyhow::Result<u32> {
            u32::try_from(number(what)?).with_context(|| format!("{what} {value} is too large"))
        };
        let deps = || -> anyhow::Result<Vec<Dependency>> {
            value
                .split_ascii_whitespace()
                .map(|t| {
                    t.parse::<Dependency>()
                        .with_context(|| format!("invalid -I {key}"))
                })
                .collect()
        };
        match canonical {
            "name" => info.name = value.to_owned(),
            "version" => info.version = value.to_owned(),
            "description" => info.description = value.to_owned(),
            "arch" => info.arch = Some(value.to_owned()),
            "license" => info.license = value.to_owned(),
            "origin" => info.origin = Some(value.to_owned()),
            "maintainer" => info.maintainer = Some(value.to_owned()),
            "url" => info.url = value.to_owned(),
            "commit" => info.commit = Some(value.to_owned()),
            "build-time" => info.build_time = number(key)?,
            "provider-priority" => info.provider_priority = priority(key)?,
            "replaces-priority" => info.replaces_priority = priority(key)?,
            "depends" => info.depends.extend(deps()?),
            "provides" => info.provides.extend(deps()?),
            "replaces" => info.replaces.extend(deps()?),
            "install-if" => info.install_if.extend(deps()?),
            other => unreachable!("info key {other} is in INFO_KEYS but not handled"),
        }
    }
    if info.name.is_empty() {
        bail!("no package name: give -I name:NAME");
    }
    if info.version.is_empty() {
        bail!("no package version: give -I version:VERSION");
    }
    Ok(info)
}

/// Runs `apk-rs mkpkg`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = Config::from_args(args)?;
    let mut options = BuildOptions::default();
    options.mtime = config.mtime.unwrap_or(0);
    // apk-tools 3 records each file's own mtime unless SOURCE_DATE_EPOCH is set.
    options.keep_tree_mtimes = config.format == Format::V3 && config.mtime.is_none();
    options.adb_compression = config.compression;
    // Keep the temporary data member next to the output, not in a possibly small /tmp.
    let out_dir = match config.output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    options.temp_dir = Some(out_dir);

    let mut builder = PackageBuilder::with_options(config.info, options);
    if let Some(dir) = &config.files {
        builder.add_tree(dir)?;
    }
    for (kind, body) in config.scripts {
        builder.script(kind, body);
    }
    builder.triggers(config.triggers);
    for key in &config.keys {
        builder.sign_with(key, config.sign_alg);
    }

    let identity = match config.format {
        Format::V2 => write_atomically(&config.output, |file| Ok(builder.write(file)?.identity))?,
        Format::V3 => write_atomically(&config.output, |file| {
            let built = builder.write_v3(file)?;
            built.info.identity.ok_or_else(|| anyhow!("no identity"))
        })?,
    };
    if global.verbosity > 0 {
        writeln!(out, "{}: {}", config.output.display(), identity)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `output` through `OUTPUT.tmp`, renamed into place only when `write` succeeded.
fn write_atomically<T>(
    output: &Path,
    write: impl FnOnce(&mut fs::File) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut tmp = output.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut file = fs::File::create(&tmp)
            .with_context(|| format!("failed to create {}", tmp.display()))?;
        let value =
            write(&mut file).with_context(|| format!("failed to build {}", output.display()))?;
        file.sync_all()
            .with_context(|| format!("failed to write {}", tmp.display()))?;
        fs::rename(&tmp, output).with_context(|| {
            format!("failed to rename {} to {}", tmp.display(), output.display())
        })?;
        Ok(value)
    })();
    if result.is_err() {
        // Best effort: the error being reported matters more than a leftover.
        let _ = fs::remove_file(&tmp);
    }
    result
}
