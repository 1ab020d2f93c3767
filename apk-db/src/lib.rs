//! The installed database and transactions on a root.
//!
//! * [`Database`] opens a root (`--root`): installed packages, world, triggers, scripts,
//!   repositories, keys, arch, protected paths, the cache and the lock.
//! * [`Transaction`] applies a solver changeset to it: fetch, verify, extract to temporary
//!   names, rename into place, `.apk-new` for changed protected files, scripts, triggers,
//!   then one atomic database write. A [`journal`] makes a crash at any point recoverable.

#![deny(missing_docs)]

pub mod database;
pub mod fetch;
pub mod journal;
pub mod lock;
pub mod protected;
pub mod repositories;
mod script;
pub mod scripts;
pub mod transaction;
pub mod triggers;
pub mod world;

pub use database::{Database, LoadedRepository, LockWait, OpenError, OpenOptions, default_arch};
pub use transaction::{CommitError, CommitOptions, CommitSummary, Event, Transaction};
