//! Writing a folder all at once: render into a temporary folder next to the destination, then
//! rename it into place, so a failure leaves nothing half-written.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::errors::{Error, Result};

/// A temporary folder that becomes `<parent>/<name>` on [`Staging::install`] and disappears
/// if dropped before.
#[derive(Debug)]
pub(crate) struct Staging {
    dir: TempDir,
    target: PathBuf,
}

impl Staging {
    /// Prepares `<parent>/<name>`: refuses an existing target unless `force`, and creates the
    /// temporary folder beside it (which also proves the parent is writable).
    pub(crate) fn new(parent: &Path, name: &str, force: bool) -> Result<Staging> {
        let target = parent.join(name);
        if target.symlink_metadata().is_ok() && !force {
            return Err(Error::TargetExists { path: target });
        }
        if parent.exists() && !parent.is_dir() {
            return Err(Error::io(
                "create the project in",
                parent,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"),
            ));
        }
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
        let prefix = format!(".{name}.bia-new-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        // A project folder gets the usual permissions, not a temporary folder's 0700.
        #[cfg(unix)]
        builder.permissions(
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
        );
        let dir = builder
            .tempdir_in(parent)
            .map_err(|e| Error::io("write to", parent, e))?;
        Ok(Staging { dir, target })
    }

    /// Where to write.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Moves the folder into place, replacing an existing target (only reached with `force`).
    pub(crate) fn install(self) -> Result<PathBuf> {
        let Staging { dir, target } = self;
        let parent = target.parent().unwrap_or(Path::new("."));
        if target.symlink_metadata().is_ok() {
            // Move the old one aside first, so a failure can put it back.
            let old = tempfile::Builder::new()
                .prefix(".bia-old-")
                .tempdir_in(parent)
                .map_err(|e| Error::io("write to", parent, e))?;
            let aside = old.path().join("old");
            std::fs::rename(&target, &aside).map_err(|e| Error::io("replace", &target, e))?;
            if let Err(e) = std::fs::rename(dir.path(), &target) {
                let _ = std::fs::rename(&aside, &target);
                return Err(Error::io("write", &target, e));
            }
            let _ = dir.keep();
            drop(old);
        } else {
            std::fs::rename(dir.path(), &target).map_err(|e| Error::io("write", &target, e))?;
            let _ = dir.keep();
        }
        Ok(target)
    }
}

/// A temporary file in `dir` with the permissions of `like` (if it exists), else 0644.
pub(crate) fn temp_file(dir: &Path, like: Option<&Path>) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".bia-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = like
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0o644, |m| m.permissions().mode() & 0o7777);
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = like;
    builder
        .tempfile_in(dir)
        .map_err(|e| Error::io("write to", dir, e))
}

/// Replaces (or creates) `path` with `contents` in one step.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    let file = temp_file(parent, Some(path))?;
    std::fs::write(file.path(), contents).map_err(|e| Error::io("write", path, e))?;
    file.persist(path)
        .map_err(|e| Error::io("write", path, e.error))?;
    Ok(())
}
