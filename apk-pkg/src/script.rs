//! Package scripts: the control-stream entries `.pre-install`, `.post-install`, … and `.trigger`.

use std::fmt;

/// The kind of a package script, named as in the control stream without the leading dot.
///
/// ```
/// use apk_pkg::ScriptKind;
/// assert_eq!(ScriptKind::from_entry_name(".post-install"), Some(ScriptKind::PostInstall));
/// assert_eq!(ScriptKind::PostUpgrade.entry_name(), ".post-upgrade");
/// assert_eq!("pre-deinstall".parse::<ScriptKind>(), Ok(ScriptKind::PreDeinstall));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScriptKind {
    /// Runs before a package is installed (new version as argument).
    PreInstall,
    /// Runs after a package is installed (new version).
    PostInstall,
    /// Runs before an upgrade (new version, old version).
    PreUpgrade,
    /// Runs after an upgrade (new version, old version).
    PostUpgrade,
    /// Runs before removal (old version).
    PreDeinstall,
    /// Runs after removal (old version).
    PostDeinstall,
    /// Runs once per transaction with the directories that matched the package's triggers.
    Trigger,
}

impl ScriptKind {
    /// Every kind, in apk's order.
    pub const ALL: [ScriptKind; 7] = [
        ScriptKind::PreInstall,
        ScriptKind::PostInstall,
        ScriptKind::PreUpgrade,
        ScriptKind::PostUpgrade,
        ScriptKind::PreDeinstall,
        ScriptKind::PostDeinstall,
        ScriptKind::Trigger,
    ];

    /// The name without the dot, as used in `scripts.tar` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ScriptKind::PreInstall => "pre-install",
            ScriptKind::PostInstall => "post-install",
            ScriptKind::PreUpgrade => "pre-upgrade",
            ScriptKind::PostUpgrade => "post-upgrade",
            ScriptKind::PreDeinstall => "pre-deinstall",
            ScriptKind::PostDeinstall => "post-deinstall",
            ScriptKind::Trigger => "trigger",
        }
    }

    /// The tar entry name in the control stream (`.post-install`).
    pub fn entry_name(self) -> &'static str {
        match self {
            ScriptKind::PreInstall => ".pre-install",
            ScriptKind::PostInstall => ".post-install",
            ScriptKind::PreUpgrade => ".pre-upgrade",
            ScriptKind::PostUpgrade => ".post-upgrade",
            ScriptKind::PreDeinstall => ".pre-deinstall",
            ScriptKind::PostDeinstall => ".post-deinstall",
            ScriptKind::Trigger => ".trigger",
        }
    }

    /// The kind for a control-stream entry name, if it is a script.
    pub fn from_entry_name(name: &str) -> Option<ScriptKind> {
        ScriptKind::ALL.into_iter().find(|k| k.entry_name() == name)
    }
}

impl fmt::Display for ScriptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Returned when a script kind name is not one of apk's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown script type '{0}' (expected pre-install, post-install, pre-upgrade, post-upgrade, pre-deinstall, post-deinstall or trigger)"
)]
pub struct ParseScriptKindError(String);

impl std::str::FromStr for ScriptKind {
    type Err = ParseScriptKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScriptKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ParseScriptKindError(s.to_owned()))
    }
}
