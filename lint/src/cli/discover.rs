//! Which files to lint: the workspace root, directory walks, excludes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// A path that could not be walked or read, reported but not fatal.
#[derive(Debug)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

/// Finds the directory to lint when no paths are given, as cargo would: the
/// nearest package, or the workspace that lists it among its members.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    let package = start
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file())?;
    if workspace_table(package).is_some() {
        return Some(package.to_path_buf());
    }
    for dir in package.ancestors().skip(1) {
        if let Some(workspace) = workspace_table(dir) {
            return Some(if is_member(dir, &workspace, package) {
                dir.to_path_buf()
            } else {
                package.to_path_buf()
            });
        }
    }
    Some(package.to_path_buf())
}

/// What the tool reads from a `Cargo.toml`.
#[derive(Debug)]
pub struct Manifest {
    /// It has a `[package]` table.
    pub is_package: bool,
    /// `[package] name`.
    pub package_name: Option<String>,
    /// `[lib] name`.
    pub lib_name: Option<String>,
    /// Its `[workspace]` table (shared: asked for once per package).
    pub workspace: Option<Arc<toml::Table>>,
}

impl Manifest {
    fn parse(text: &str) -> Option<Manifest> {
        let mut table: toml::Table = text.parse().ok()?;
        let name_in = |table: &toml::Table, key: &str| {
            Some(table.get(key)?.get("name")?.as_str()?.to_string())
        };
        Some(Manifest {
            is_package: table.contains_key("package"),
            package_name: name_in(&table, "package"),
            lib_name: name_in(&table, "lib"),
            workspace: match table.remove("workspace") {
                Some(toml::Value::Table(workspace)) => Some(Arc::new(workspace)),
                _ => None,
            },
        })
    }
}

/// `dir/Cargo.toml`, or `None` when it is missing, unreadable or not TOML.
/// Parsed once per content: one run asks about each manifest from the walk,
/// the configuration, the workspace root and the crate facts, and parsing
/// every manifest three times was a tenth of a run from a warm cache (perf).
/// The file is read each time, so an edited manifest is never answered from
/// its old content.
pub fn manifest(dir: &Path) -> Option<Arc<Manifest>> {
    type Parsed = HashMap<PathBuf, (u64, Option<Arc<Manifest>>)>;
    static PARSED: OnceLock<Mutex<Parsed>> = OnceLock::new();
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).ok()?;
    let hash = super::cache::content_hash(text.as_bytes());
    let parsed = PARSED.get_or_init(Default::default);
    let known = parsed
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&path)
        .cloned();
    match known {
        Some((seen, manifest)) if seen == hash => manifest,
        _ => {
            let manifest = Manifest::parse(&text).map(Arc::new);
            parsed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(path, (hash, manifest.clone()));
            manifest
        }
    }
}

/// The `[workspace]` table of `dir/Cargo.toml`, if it has one.
fn workspace_table(dir: &Path) -> Option<Arc<toml::Table>> {
    manifest(dir)?.workspace.clone()
}

/// Whether `package` is a member of the workspace rooted at `root`, by
/// cargo's rules: the root package itself, or a directory matched by a
/// `members` glob and not under an `exclude` entry.
pub fn is_member(root: &Path, workspace: &toml::Table, package: &Path) -> bool {
    let Ok(relative) = package.strip_prefix(root) else {
        return false;
    };
    if relative.as_os_str().is_empty() {
        return true;
    }
    let relative = relative.to_string_lossy().replace('\\', "/");
    let patterns = |key: &str| -> Vec<String> {
        workspace
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(|p| p.trim_start_matches("./").trim_end_matches('/').to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let matches = |pattern: &String| {
        globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .is_ok_and(|g| g.compile_matcher().is_match(&relative))
    };
    let excluded = patterns("exclude")
        .iter()
        .any(|e| matches(e) || relative.starts_with(&format!("{e}/")));
    !excluded && patterns("members").iter().any(matches)
}

/// The packages of the workspace rooted at `root` (its own package, if it
/// has one, and its members), by name, read from the manifests: cargo is
/// never run. Member globs are expanded over the directories below `root`
/// as deep as the deepest pattern reaches.
pub fn workspace_members(root: &Path) -> Vec<(String, PathBuf)> {
    let Some(workspace) = workspace_table(root) else {
        return package_name(root)
            .map(|n| (n, root.to_path_buf()))
            .into_iter()
            .collect();
    };
    let depth = workspace
        .get("members")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .map(|p| {
            if p.contains("**") {
                8
            } else {
                Path::new(p).components().count()
            }
        })
        .max()
        .unwrap_or(0);
    let mut dirs = vec![root.to_path_buf()];
    let mut level = vec![root.to_path_buf()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for dir in &level {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                let hidden = name.to_string_lossy().starts_with('.');
                if !hidden && name != "target" && path.is_dir() {
                    next.push(path);
                }
            }
        }
        dirs.extend(next.iter().cloned());
        level = next;
    }
    let mut members: Vec<(String, PathBuf)> = dirs
        .into_iter()
        .filter(|dir| dir.join("Cargo.toml").is_file() && is_member(root, &workspace, dir))
        .filter_map(|dir| package_name(&dir).map(|name| (name, dir)))
        .collect();
    members.sort();
    members
}

/// `[package] name` of `dir/Cargo.toml`.
fn package_name(dir: &Path) -> Option<String> {
    manifest(dir)?.package_name.clone()
}

pub fn exclude_set(globs: &[String]) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = Glob::new(glob.trim_start_matches("./"))
            .map_err(|e| format!("invalid glob `{glob}`: {e}"))?;
        builder.add(glob);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The `.rs` files under `roots`, sorted, without duplicates. Skips hidden
/// entries, what `.gitignore` excludes, cargo `target/` directories, the
/// packages' integration tests (`tests/` beside a package manifest) and
/// whatever matches `exclude` (matched against the path relative to the
/// walked root and as displayed). A file named explicitly is linted even if
/// it is ignored by git, but not if it matches `exclude`.
pub fn rust_files(
    roots: &[PathBuf],
    exclude: &GlobSet,
    threads: usize,
    errors: &mut Vec<WalkError>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for root in roots {
        if let Some(link) = symlink_component(root) {
            errors.push(WalkError {
                path: root.clone(),
                message: format!(
                    "not followed: `{}` is a symbolic link, which may lead out of the linted tree; name its target instead",
                    link.display()
                ),
            });
            continue;
        }
        match std::fs::metadata(root) {
            Err(e) => errors.push(WalkError {
                path: root.clone(),
                message: format!("cannot read: {e}"),
            }),
            Ok(meta) if meta.is_file() => {
                if !is_excluded(root, root.parent().unwrap_or(root), exclude) {
                    files.push(root.clone());
                }
            }
            Ok(_) => walk(root, exclude, threads, &mut files, errors),
        }
    }
    files.sort();
    files.dedup();
    files
}

/// The first component of a relative path that is a symbolic link. A path
/// relative to the current directory may run through the linted tree, which
/// can be hostile (a pull request may turn `src` into a link to `/`), so it
/// must not pass through links; absolute paths are the user's own choice.
fn symlink_component(path: &Path) -> Option<PathBuf> {
    if path.is_absolute() {
        return None;
    }
    let mut prefix = PathBuf::new();
    for component in path.components() {
        prefix.push(component);
        let is_link = std::fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink());
        if matches!(component, std::path::Component::Normal(_)) && is_link {
            return Some(prefix);
        }
    }
    None
}

/// Walks `root` on `threads` threads (ignore's parallel walker): from a
/// warm cache the walk was the largest part of a run, all of it on one core.
/// The order the threads find entries in does not matter: the files are
/// sorted afterwards, and so are the errors here.
fn walk(
    root: &Path,
    exclude: &GlobSet,
    threads: usize,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<WalkError>,
) {
    let filter_root = root.to_path_buf();
    let filter_exclude = exclude.clone();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(move |entry| {
            let path = entry.path();
            if entry.depth() > 0 && is_excluded(path, &filter_root, &filter_exclude) {
                return false;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let named = entry.depth() == 0;
            !(is_dir && (is_cargo_target_dir(path) || !named && is_integration_test_dir(path)))
        })
        .build_parallel();
    let found: Mutex<(Vec<PathBuf>, Vec<WalkError>)> = Mutex::default();
    walker.run(|| {
        Box::new(|entry| {
            let mut found = found.lock().unwrap_or_else(PoisonError::into_inner);
            match entry {
                Ok(entry) => {
                    if entry.file_type().is_some_and(|t| t.is_file())
                        && entry.path().extension().is_some_and(|e| e == "rs")
                    {
                        found.0.push(entry.into_path());
                    }
                }
                Err(e) => found.1.push(WalkError {
                    path: error_path(&e).unwrap_or_else(|| root.to_path_buf()),
                    message: e.to_string(),
                }),
            }
            ignore::WalkState::Continue
        })
    });
    let (found_files, mut found_errors) =
        found.into_inner().unwrap_or_else(PoisonError::into_inner);
    found_errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    files.extend(found_files);
    errors.extend(found_errors);
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

/// A directory cargo builds into: named `target` and marked by cargo, or
/// named `target` next to a Cargo.toml. (A source module called `target`
/// is neither.)
fn is_cargo_target_dir(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "target")
        && (dir.join("CACHEDIR.TAG").exists()
            || dir.join(".rustc_info.json").exists()
            || dir.parent().is_some_and(|p| p.join("Cargo.toml").exists()))
}

/// A package's integration tests: `tests/` next to a manifest with a
/// `[package]` (not itself a package). Every file in it is test code, which
/// the rules skip as they skip `#[cfg(test)]` modules: a test helper that
/// returns early or deletes on every exit leaves nothing behind in
/// production. Walked only when named (`cargo lifecycle-lint crate/tests`).
fn is_integration_test_dir(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "tests")
        && !dir.join("Cargo.toml").exists()
        && dir
            .parent()
            .and_then(manifest)
            .is_some_and(|manifest| manifest.is_package)
}

fn is_excluded(path: &Path, root: &Path, exclude: &GlobSet) -> bool {
    if exclude.is_empty() {
        return false;
    }
    let relative = path.strip_prefix(root).unwrap_or(path);
    exclude.is_match(relative) || exclude.is_match(crate::cli::display_path(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parsed manifest is kept by content: an edit is seen by the next
    /// question, a broken manifest is no manifest.
    #[test]
    fn a_manifest_is_answered_from_its_current_content() {
        let dir =
            std::env::temp_dir().join(format!("lifecycle-lint-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let write = |text: &str| std::fs::write(dir.join("Cargo.toml"), text).unwrap();
        write("[package]\nname = \"a\"\n");
        let first = manifest(&dir).expect("a manifest");
        assert!(first.is_package);
        assert_eq!(first.package_name.as_deref(), Some("a"));
        assert!(first.workspace.is_none());
        write("[package]\nname = \"b\"\n[lib]\nname = \"b_lib\"\n[workspace]\nmembers = [\"x\"]\n");
        let second = manifest(&dir).expect("a manifest");
        assert_eq!(second.package_name.as_deref(), Some("b"));
        assert_eq!(second.lib_name.as_deref(), Some("b_lib"));
        assert!(second.workspace.is_some());
        write("[package\n");
        assert!(manifest(&dir).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(manifest(&dir).is_none());
    }
}
