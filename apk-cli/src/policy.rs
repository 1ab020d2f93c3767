//! `apk-rs policy`: every version of a package and where it comes from.
//!
//! ```text
//! hello policy:
//!   1.0-r0:
//!     lib/apk/db/installed
//!     /srv/repo-a
//!   1.1-r0:
//!     @edge https://example.org/edge/main
//! ```
//!
//! For each name: the versions of the packages with that name, lowest first, and under each
//! version its sources: `lib/apk/db/installed` when that version is installed, then each
//! repository holding it in repositories-file order (`@tag URL` for a tagged repository).
//! A name no package has prints only its header.

use std::io::Write;
use std::process::ExitCode;

use crate::Global;
use crate::query::{self, Universe, line};

/// Options of `apk-rs policy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Package names.
    #[arg(value_name = "NAME", required = true)]
    names: Vec<String>,
}

/// Runs `policy`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let db = query::open(global, true)?;
    let u = Universe::new(&db);
    let repos = db.loaded_repositories();
    for name in &args.names {
        line(out, format!("{name} policy:"))?;
        let mut pkgs = u.by_name(name).to_vec();
        pkgs.sort_by(|&a, &b| {
            u.compare_versions(u.pkgs[a].info.version(), u.pkgs[b].info.version())
                .then_with(|| a.cmp(&b))
        });
        let mut i = 0;
        while i < pkgs.len() {
            let version = u.pkgs[pkgs[i]].info.version();
            line(out, format!("  {version}:"))?;
            // Packages of the same version with different identities share the heading.
            let group: Vec<usize> = pkgs[i..]
                .iter()
                .copied()
                .take_while(|&j| u.pkgs[j].info.version() == version)
                .collect();
            i += group.len();
            if group.iter().any(|&j| u.pkgs[j].installed.is_some()) {
                line(out, "    lib/apk/db/installed")?;
            }
            let mut sources: Vec<usize> = group
                .iter()
                .flat_map(|&j| u.pkgs[j].repos.iter().copied())
                .collect();
            sources.sort_unstable();
            sources.dedup();
            for r in sources {
                let Some(repo) = repos.get(r) else { continue };
                match &repo.repository.tag {
                    Some(tag) => line(out, format!("    @{tag} {}", repo.repository.url))?,
                    None => line(out, format!("    {}", repo.repository.url))?,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
