//! Test helpers: a temporary working directory and a way to run `apk-rs` in it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Asserts that two strings are equal, printing both as blocks when they are not.
#[macro_export]
macro_rules! eqnice {
    ($expected:expr, $got:expr $(,)?) => {{
        let expected: &str = &$expected;
        let got: &str = &$got;
        if expected != got {
            panic!("\n\n==== expected ====\n{expected}\n==== got ====\n{got}\n==== end ====\n");
        }
    }};
}

/// A fresh temporary directory, removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// Creates an empty directory.
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `path` inside the directory.
    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.tmp.path().join(path)
    }

    /// Writes `contents` to `path` inside the directory, creating parent directories.
    pub fn create(&self, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::fs::write(&path, contents).expect("write a test file");
        path
    }

    /// Runs `apk-rs args…` with this directory as the working directory.
    pub fn apk<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = Command::new(env!("CARGO_BIN_EXE_apk-rs"))
            .args(&args)
            .current_dir(self.path())
            .output()
            .expect("run apk-rs");
        Output {
            command: format!("apk-rs {}", shell_words(&args)),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
            code: output.status.code().expect("apk-rs exited normally"),
        }
    }
}

/// What one run of `apk-rs` produced.
#[derive(Debug)]
pub struct Output {
    /// The command line, for failure messages.
    pub command: String,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code.
    pub code: i32,
}

impl Output {
    /// Asserts the exit code and the whole stdout, and that stderr is empty.
    #[track_caller]
    pub fn assert(&self, code: i32, stdout: &str) -> &Self {
        self.assert_stdout(code, stdout);
        assert!(
            self.stderr.is_empty(),
            "{}: unexpected stderr:\n{}",
            self.command,
            self.stderr
        );
        self
    }

    /// Asserts the exit code and the whole stdout; stderr may hold anything.
    #[track_caller]
    pub fn assert_stdout(&self, code: i32, stdout: &str) -> &Self {
        if self.stdout != stdout || self.code != code {
            panic!(
                "\n{}\n==== expected (exit {code}) ====\n{stdout}==== got (exit {}) ====\n{}\
                 ==== stderr ====\n{}==== end ====\n",
                self.command, self.code, self.stdout, self.stderr
            );
        }
        self
    }
}

fn shell_words(args: &[std::ffi::OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
