//! The result cache: `target/lifecycle-lint/cache-*.json` under the workspace.
//!
//! Per file (by displayed path) it keeps the xxh3 hash of the content, the
//! crate facts the file contributes, and its result (findings or the reason
//! it could not be linted). An entry is used only when the content hash
//! matches. A file whose [`FileStamp`] (size, modification and change times,
//! inode) is the one recorded with its entry is taken to hold the content
//! hashed then and is not read again: the stamp is recorded only when both
//! times were at least [`SETTLED`] old when the run started, so a write in
//! the same clock tick as the earlier read (the racy case git handles the
//! same way) cannot leave an old stamp on new content; a write moves the
//! change time even when a tool restores the modification time.
//!
//! The whole cache is dropped when the tool binary or the settings
//! (vocabularies, rule levels, pre-filter) differ, and every result — but not
//! the per-file facts — when the crate's facts as a whole differ, since a
//! `Drop` impl in one file changes the findings of another.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::analyze::ProblemKind;
use super::location::{Position, Region};

/// One file per settings key (runs with different configurations in one
/// workspace keep apart): `cache-<hash of the key>.json`.
fn file_name(key: &str) -> String {
    format!("cache-{:016x}.json", content_hash(key.as_bytes()))
}
/// Bumped when the layout below changes.
const FORMAT: u32 = 2;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Cache {
    format: u32,
    /// The tool binary and the settings the results were computed with.
    pub key: String,
    /// The crate facts the results were computed with.
    pub facts_digest: u64,
    pub files: HashMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub hash: u64,
    /// The file's stamp when it was read, if it had settled by then.
    pub stamp: Option<FileStamp>,
    /// It holds a suppression comment.
    pub has_marker: bool,
    /// Deleting `Drop` types this file defines: (type, delete call).
    pub facts: Vec<(String, String)>,
    /// `None` until the file was linted with the current facts.
    pub result: Option<CachedResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CachedResult {
    Findings(Vec<CachedFinding>),
    Problem {
        kind: ProblemKind,
        message: String,
        position: Option<Position>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedFinding {
    pub rule: String,
    pub region: Region,
    pub message: String,
    pub labels: Vec<(Region, String)>,
    pub help: String,
    /// The rewrites offered with it, located in the file's text.
    #[serde(default)]
    pub fixes: Vec<super::fixes::Suggestion>,
}

/// How old a file's times must be for its stamp to stand for its content.
/// Generous: some file systems keep times to the second or two, and the
/// kernel stamps files from a coarse clock.
pub const SETTLED: Duration = Duration::from_secs(2);

/// What the file system says of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    len: u64,
    modified_ns: u128,
    /// The inode's change time (every write moves it, and no tool sets it);
    /// 0 where the platform has none.
    changed_ns: u128,
    inode: u64,
}

impl FileStamp {
    pub fn of(metadata: &std::fs::Metadata) -> Option<FileStamp> {
        let since_epoch = |t: SystemTime| t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_nanos());
        let modified_ns = since_epoch(metadata.modified().ok()?)?;
        #[cfg(unix)]
        let (changed_ns, inode) = {
            use std::os::unix::fs::MetadataExt;
            let changed = u128::try_from(metadata.ctime()).ok()? * 1_000_000_000
                + u128::try_from(metadata.ctime_nsec()).ok()?;
            (changed, metadata.ino())
        };
        #[cfg(not(unix))]
        let (changed_ns, inode) = (0, 0);
        Some(FileStamp {
            len: metadata.len(),
            modified_ns,
            changed_ns,
            inode,
        })
    }

    /// Both times lie at least [`SETTLED`] before `started`.
    pub fn settled_before(&self, started: SystemTime) -> bool {
        let Some(limit) = started
            .checked_sub(SETTLED)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        else {
            return false;
        };
        self.modified_ns < limit.as_nanos() && self.changed_ns < limit.as_nanos()
    }
}

impl Cache {
    pub fn new(key: String, facts_digest: u64) -> Cache {
        Cache {
            format: FORMAT,
            key,
            facts_digest,
            files: HashMap::new(),
        }
    }
}

/// Where the cache lives: `$CARGO_TARGET_DIR/lifecycle-lint`, else
/// `<workspace root>/target/lifecycle-lint`; outside a cargo workspace, and
/// without `CARGO_TARGET_DIR`, nowhere (no cache).
pub fn directory(workspace_root: Option<&Path>) -> Option<PathBuf> {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root?.join("target"),
    };
    Some(target.join("lifecycle-lint"))
}

/// Loads the cache in `dir` if it was written with `key`; anything else
/// (missing, unreadable, another version) is an empty cache.
pub fn load(dir: &Path, key: &str) -> Cache {
    let fresh = || Cache::new(key.to_string(), 0);
    let Ok(text) = std::fs::read(dir.join(file_name(key))) else {
        return fresh();
    };
    match serde_json::from_slice::<Cache>(&text) {
        Ok(cache) if cache.format == FORMAT && cache.key == key => cache,
        _ => fresh(),
    }
}

/// Writes the cache atomically (a temporary file renamed into place), so
/// an interrupted run never leaves a torn cache behind.
pub fn save(dir: &Path, cache: &Cache) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = file_name(&cache.key);
    let temporary = dir.join(format!("{name}.{}.tmp", std::process::id()));
    let text = serde_json::to_vec(cache).map_err(|e| e.to_string())?;
    std::fs::write(&temporary, text)
        .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
    std::fs::rename(&temporary, dir.join(&name))
        .map_err(|e| format!("cannot write the cache in {}: {e}", dir.display()))
}

/// What the results depend on besides each file's content: the binary
/// itself (its version, size and modification time, so a rebuilt tool with
/// changed rules never reuses old results) and the settings.
pub fn key(settings_digest: &str) -> String {
    let binary = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}:{}", m.len(), modified.map_or(0, |d| d.as_nanos()))
        })
        .unwrap_or_default();
    format!("{}|{binary}|{settings_digest}", env!("CARGO_PKG_VERSION"))
}

pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}
