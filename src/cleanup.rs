//! Temporary directories removed when the run is interrupted too: a
//! SIGINT or SIGTERM (a cancelled CI job, Ctrl-C) runs no destructors, so
//! live temporary directories are registered here and the signal handler
//! removes them before the process exits.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Keeps `path` registered while it lives.
pub struct Registered(PathBuf);

impl Registered {
    pub fn new(path: &Path) -> Self {
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.to_path_buf());
        Self(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p != &self.0);
    }
}

/// Remove every registered directory (the signal handler's work).
pub fn remove_all() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for dir in live {
        // The run (or a git it started) may still be writing into it: try
        // again until it is gone, for at most a second.
        for _ in 0..100 {
            if std::fs::remove_dir_all(&dir).is_ok() || !dir.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// On SIGINT or SIGTERM: remove the registered directories and exit 130
/// (the shell's code for an interrupted command).
pub fn on_interrupt() {
    // Another handler already installed (a test harness): keep it.
    let _ = ctrlc::set_handler(|| {
        remove_all();
        eprintln!("readygate: interrupted; temporary files removed");
        std::process::exit(130);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_directories_are_removed_and_dropped_ones_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept");
        let removed = dir.path().join("removed");
        std::fs::create_dir(&kept).unwrap();
        std::fs::create_dir(&removed).unwrap();
        let guard = Registered::new(&removed);
        drop(Registered::new(&kept));
        remove_all();
        assert!(kept.exists());
        assert!(!removed.exists());
        drop(guard);
    }
}
