//! Files of the store on disk: made readable by the agent's account only.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Creates `path` (it must not exist) with mode 0600 where the system has
/// modes. SQLite gives the WAL and shared-memory files the database
/// file's mode, so a database created here keeps all three private.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a rename or a new file in the folder of `path` durable.
pub fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(folder)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
