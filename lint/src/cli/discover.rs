//! Which files to lint: the workspace root, directory walks, excludes.

use std::path::{Path, PathBuf};

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
            let relative = package.strip_prefix(dir).ok()?;
            return Some(if is_member(&workspace, relative) {
                dir.to_path_buf()
            } else {
                package.to_path_buf()
            });
        }
    }
    Some(package.to_path_buf())
}

/// The `[workspace]` table of `dir/Cargo.toml`, if it has one.
fn workspace_table(dir: &Path) -> Option<toml::Table> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let manifest: toml::Table = text.parse().ok()?;
    match manifest.get("workspace")? {
        toml::Value::Table(table) => Some(table.clone()),
        _ => None,
    }
}

fn is_member(workspace: &toml::Table, relative: &Path) -> bool {
    let globs = |key: &str| -> Vec<String> {
        workspace
            .get(key)
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let matches = |patterns: Vec<String>| {
        exclude_set(&patterns).is_ok_and(|set| set.is_match(relative))
            || patterns
                .iter()
                .any(|p| Path::new(p.trim_end_matches('/')) == relative)
    };
    matches(globs("members")) && !matches(globs("exclude"))
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
/// entries, what `.gitignore` excludes, cargo `target/` directories and
/// whatever matches `exclude` (matched against the path relative to the
/// walked root and as displayed). A file named explicitly is linted even if
/// it is ignored by git, but not if it matches `exclude`.
pub fn rust_files(
    roots: &[PathBuf],
    exclude: &GlobSet,
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
            Ok(_) => walk(root, exclude, &mut files, errors),
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

fn walk(root: &Path, exclude: &GlobSet, files: &mut Vec<PathBuf>, errors: &mut Vec<WalkError>) {
    let filter_root = root.to_path_buf();
    let filter_exclude = exclude.clone();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            let path = entry.path();
            if entry.depth() > 0 && is_excluded(path, &filter_root, &filter_exclude) {
                return false;
            }
            !(entry.file_type().is_some_and(|t| t.is_dir()) && is_cargo_target_dir(path))
        })
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_some_and(|t| t.is_file())
                    && entry.path().extension().is_some_and(|e| e == "rs")
                {
                    files.push(entry.into_path());
                }
            }
            Err(e) => errors.push(WalkError {
                path: error_path(&e).unwrap_or_else(|| root.to_path_buf()),
                message: e.to_string(),
            }),
        }
    }
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

fn is_excluded(path: &Path, root: &Path, exclude: &GlobSet) -> bool {
    if exclude.is_empty() {
        return false;
    }
    let relative = path.strip_prefix(root).unwrap_or(path);
    exclude.is_match(relative) || exclude.is_match(crate::cli::display_path(path))
}
