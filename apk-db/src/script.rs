//! Running package scripts and commit hooks inside the root.
//!
//! The script is written to `ROOT/lib/apk/exec/<name>-<version>.<type>` and executed with
//! `argv[0]` set to the script type, the environment reduced to `PATH` (plus apk-tools 3's
//! `APK_SCRIPT` and `APK_PACKAGE`), and — unless the root is `/` — after `chroot(ROOT)`.
//! Without root privileges the chroot happens in a new user namespace, so an unprivileged
//! user can still run the scripts of a root they own.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use apk_pkg::ScriptKind;

use crate::database::layout;

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScriptOutcome {
    /// Exit status 0.
    Ok {
        /// What it printed, line by line.
        output: Vec<String>,
    },
    /// It could not run or exited with an error.
    Failed {
        /// What it printed, line by line.
        output: Vec<String>,
        /// Why it failed, as apk says it.
        message: String,
    },
}

/// Run one script of package `name`-`version` with `args`.
pub(crate) fn run_script(
    root: &Path,
    name: &str,
    version: &str,
    kind: ScriptKind,
    body: &[u8],
    args: &[String],
) -> ScriptOutcome {
    let exec_dir = root.join(layout::EXEC);
    let file_name = format!("{name}-{version}.{}", kind.name());
    let host_path = exec_dir.join(&file_name);
    let failed = |message: String| ScriptOutcome::Failed {
        output: Vec::new(),
        message,
    };
    if let Err(e) = std::fs::create_dir_all(&exec_dir) {
        return failed(format!("{}: {e}", exec_dir.display()));
    }
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&host_path)?;
        f.write_all(body)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&host_path);
        return failed(format!("{}: {e}", host_path.display()));
    }
    let inside = Path::new("/").join(layout::EXEC).join(&file_name);
    let outcome = run_in_root(
        root,
        &inside,
        kind.name(),
        args,
        &[("APK_SCRIPT", kind.name()), ("APK_PACKAGE", name)],
    );
    let _ = std::fs::remove_file(&host_path);
    outcome
}

/// Run `program` (a path inside the root) with `argv[0]` set to `arg0`, the environment
/// reduced to `PATH` plus `env`, chrooted into `root` unless it is `/`.
pub(crate) fn run_in_root(
    root: &Path,
    program: &Path,
    arg0: &str,
    args: &[String],
    env: &[(&str, &str)],
) -> ScriptOutcome {
    let failed = |message: String| ScriptOutcome::Failed {
        output: Vec::new(),
        message,
    };
    let is_slash = root.canonicalize().is_ok_and(|p| p == Path::new("/"));
    // Inside the root after chroot, and the same path on the host when the root is `/`.
    let mut cmd = Command::new(program);
    cmd.arg0(arg0)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !is_slash {
        use std::os::unix::ffi::OsStrExt;
        let Ok(croot) = std::ffi::CString::new(root.as_os_str().as_bytes()) else {
            return failed(format!("{}: not a valid path", root.display()));
        };
        let unprivileged = !rustix::process::geteuid().is_root();
        #[allow(unsafe_code)]
        // SAFETY: the closure runs in the forked child before exec and only makes system
        // calls (unshare, chroot, chdir) through rustix: no allocation, no locks.
        unsafe {
            cmd.pre_exec(move || {
                if unprivileged {
                    rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWUSER)
                        .map_err(std::io::Error::from)?;
                }
                rustix::process::chroot(croot.as_c_str()).map_err(std::io::Error::from)?;
                rustix::process::chdir(c"/").map_err(std::io::Error::from)?;
                Ok(())
            });
        }
    }
    match cmd.output() {
        Ok(out) => {
            let mut output = Vec::new();
            for stream in [&out.stdout, &out.stderr] {
                for line in String::from_utf8_lossy(stream).lines() {
                    output.push(line.to_owned());
                }
            }
            match out.status.code() {
                Some(0) => ScriptOutcome::Ok { output },
                Some(code) => ScriptOutcome::Failed {
                    output,
                    message: format!("script exited with error {code}"),
                },
                None => ScriptOutcome::Failed {
                    output,
                    message: "script killed by a signal".into(),
                },
            }
        }
        Err(e) => failed(format!("failed to execute: {e}")),
    }
}
