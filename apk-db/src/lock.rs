//! The database lock, `lib/apk/db/lock`: an exclusive `flock` held for as long as a
//! [`DbLock`] lives.
//!
//! The lock is taken with `flock(LOCK_EX | LOCK_NB)`. Without a wait it fails at once when
//! another process (or another open of the file in this process: `flock` locks belong to the
//! open file description) holds it; with a wait (`--wait N`) it retries until the deadline.
//!
//! ```
//! use std::time::Duration;
//! use apk_db::lock::{DbLock, LockError};
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir_all(root.path().join("lib/apk/db"))?;
//! let lock = DbLock::acquire(root.path(), None)?;
//! let second = DbLock::acquire(root.path(), Some(Duration::from_millis(50)));
//! assert!(matches!(second, Err(LockError::Timeout { .. })));
//! drop(lock);
//! let _again = DbLock::acquire(root.path(), None)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};
use rustix::io::Errno;

/// Where the lock file lives, relative to the root.
pub const LOCK_PATH: &str = "lib/apk/db/lock";

/// How long to sleep between attempts while waiting for the lock.
const RETRY_INTERVAL: Duration = Duration::from_millis(50);

/// Returned when the database lock cannot be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process holds the lock (no wait was asked for).
    #[error("Unable to lock database: {}: locked by another process", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// Another process still held the lock when the wait ran out.
    #[error(
        "Unable to lock database: {}: still locked after waiting {:.1} s",
        path.display(),
        waited.as_secs_f64()
    )]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long was waited.
        waited: Duration,
    },
    /// The lock file could not be opened or created, or `flock` failed otherwise.
    #[error("Unable to lock database: {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// The held database lock; released when dropped.
#[derive(Debug)]
pub struct DbLock {
    file: File,
    path: PathBuf,
}

impl DbLock {
    /// Lock `<root>/lib/apk/db/lock`, creating the file (not its directories) if missing.
    ///
    /// With `wait`, a held lock is retried until `wait` has passed.
    ///
    /// ```
    /// use apk_db::lock::{DbLock, LockError};
    /// let root = tempfile::tempdir()?;
    /// // No lib/apk/db directory: an I/O error naming the path.
    /// let err = DbLock::acquire(root.path(), None).unwrap_err();
    /// assert!(matches!(err, LockError::Io { .. }));
    /// assert!(err.to_string().starts_with("Unable to lock database: "));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire(root: &Path, wait: Option<Duration>) -> Result<DbLock, LockError> {
        DbLock::acquire_file(&root.join(LOCK_PATH), wait)
    }

    /// Lock the given lock file (created if missing, mode 0600); see [`DbLock::acquire`].
    ///
    /// ```
    /// use apk_db::lock::DbLock;
    /// let dir = tempfile::tempdir()?;
    /// let lock = DbLock::acquire_file(&dir.path().join("lock"), None)?;
    /// assert!(lock.path().ends_with("lock"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire_file(path: &Path, wait: Option<Duration>) -> Result<DbLock, LockError> {
        let io_err = |source: io::Error| LockError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_err)?;
        let start = Instant::now();
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {
                    return Ok(DbLock {
                        file,
                        path: path.to_owned(),
                    });
                }
                Err(Errno::INTR) => continue,
                Err(Errno::WOULDBLOCK) => {}
                Err(e) => return Err(io_err(e.into())),
            }
            let Some(wait) = wait else {
                return Err(LockError::Locked {
                    path: path.to_owned(),
                });
            };
            let waited = start.elapsed();
            if waited >= wait {
                return Err(LockError::Timeout {
                    path: path.to_owned(),
                    waited,
                });
            }
            std::thread::sleep(RETRY_INTERVAL.min(wait - waited));
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DbLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes it explicit.
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/apk/db")).unwrap();
        dir
    }

    #[test]
    fn second_open_conflicts_until_drop() {
        let root = root();
        let first = DbLock::acquire(root.path(), None).unwrap();
        assert!(root.path().join(LOCK_PATH).is_file());
        let err = DbLock::acquire(root.path(), None).unwrap_err();
        assert!(matches!(err, LockError::Locked { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("Unable to lock database: "), "{msg}");
        assert!(msg.contains("lib/apk/db/lock"), "{msg}");
        drop(first);
        DbLock::acquire(root.path(), None).unwrap();
    }

    #[test]
    fn wait_times_out() {
        let root = root();
        let _first = DbLock::acquire(root.path(), None).unwrap();
        let start = Instant::now();
        let err = DbLock::acquire(root.path(), Some(Duration::from_millis(200))).unwrap_err();
        let elapsed = start.elapsed();
        assert!(matches!(err, LockError::Timeout { .. }), "{err:?}");
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[test]
    fn wait_succeeds_when_released() {
        let root = root();
        let first = DbLock::acquire(root.path(), None).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(first);
        });
        let lock = DbLock::acquire(root.path(), Some(Duration::from_secs(10)));
        releaser.join().unwrap();
        assert!(lock.is_ok(), "{lock:?}");
    }
}
