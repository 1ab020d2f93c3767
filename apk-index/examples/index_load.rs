//! Load (and, with `--keys-dir`, verify) index archives fully into the model.
//!
//! ```text
//! cargo run --release -p apk-index --example index_load -- [--keys-dir DIR] [--v2] FILE…
//! ```
//!
//! Prints one `FILE: N packages` line per file and a final `N packages` line. Files are loaded
//! in parallel, one thread per core. Exit status 1 if any file failed.

use std::process::ExitCode;

use apk_index::{Index, IndexOptions, KeySet, Rules};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut keys_dir = None;
    let mut files = Vec::new();
    let mut options = IndexOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keys-dir" => keys_dir = args.next(),
            "--v2" => options.rules = Rules::V2,
            "-h" | "--help" => {
                println!("usage: index_load [--keys-dir DIR] [--v2] FILE...");
                return ExitCode::SUCCESS;
            }
            _ => files.push(arg),
        }
    }
    let keys = match keys_dir.map(KeySet::from_dir).transpose() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut total = 0;
    let mut failed = false;
    for (file, result) in files
        .iter()
        .zip(Index::open_many(&files, keys.as_ref(), &options))
    {
        match result {
            Ok(index) => {
                total += index.len();
                let signed = index
                    .signed_by()
                    .map(|k| format!(" (signed by {k})"))
                    .unwrap_or_default();
                println!("{file}: {} packages{signed}", index.len());
            }
            Err(e) => {
                failed = true;
                let mut msg = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    msg.push_str(&format!(": {s}"));
                    source = s.source();
                }
                eprintln!("{file}: ERROR: {msg}");
            }
        }
    }
    println!("{total} packages");
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
