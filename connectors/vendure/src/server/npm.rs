//! Installs the Vendure server's Node dependencies with `npm ci` (exactly what
//! `package-lock.json` pins) when `node_modules` is missing, once per machine even when several
//! test processes start servers at the same time.

use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A lock directory older than this was left by a killed install.
const STALE_LOCK: Duration = Duration::from_secs(600);
/// How many lines of npm's output an error message quotes.
const TAIL_LINES: usize = 30;

fn installed(dir: &Path) -> bool {
    let modules = dir.join("node_modules");
    // npm writes node_modules/.package-lock.json last.
    modules.join(".package-lock.json").is_file()
        && modules.join("@vendure/core/package.json").is_file()
        && modules.join("sql.js/package.json").is_file()
}

/// Removes the lock directory when the install ends, however it ends.
struct LockGuard<'a>(&'a Path);

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(self.0);
    }
}

/// Runs `npm ci` in `dir` unless its dependencies are installed; returns how long it took.
pub(super) fn ensure_installed(dir: &Path) -> io::Result<Option<Duration>> {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let _one_at_a_time = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    if installed(dir) {
        return Ok(None);
    }
    // Across processes: whoever creates the lock directory installs; the others wait.
    let lock = dir.join(".npm-ci.lock");
    let waited = Instant::now();
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if installed(dir) {
                    return Ok(None);
                }
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .unwrap_or_default();
                if age > STALE_LOCK {
                    let _ = std::fs::remove_dir(&lock);
                } else if waited.elapsed() > STALE_LOCK {
                    return Err(io::Error::other(format!(
                        "another process has been installing {} for over {STALE_LOCK:?}",
                        dir.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(e),
        }
    }
    let _guard = LockGuard(&lock);
    if installed(dir) {
        return Ok(None);
    }
    let started = Instant::now();
    let npm = std::env::var_os("SAMLET_NPM").unwrap_or_else(|| "npm".into());
    let output = Command::new(&npm)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .env("VENDURE_DISABLE_TELEMETRY", "true")
        .output()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot run `npm ci` in {} (install Node.js 20+ with npm): {e}",
                    dir.display()
                ),
            )
        })?;
    if !output.status.success() || !installed(dir) {
        let text = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
        return Err(io::Error::other(format!(
            "`npm ci` in {} failed ({}):\n{tail}",
            dir.display(),
            output.status
        )));
    }
    Ok(Some(started.elapsed()))
}
