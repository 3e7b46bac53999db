//! Runs the Node.js scripts in `tests/npm` (the graphql-http audit, a graphql-request client,
//! ajv). Their dependencies are pinned by `tests/npm/package-lock.json` and installed with
//! `npm ci` when `node_modules` is missing or older than the lockfile. Node.js 18+ and npm must
//! be installed; a test that needs them fails (rather than skips) without them.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// `tests/npm`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm")
}

static INSTALLED: Mutex<bool> = Mutex::new(false);

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// `npm ci` in `tests/npm` unless its `node_modules` is already installed from the current
/// lockfile (npm writes `node_modules/.package-lock.json` on every install).
pub fn ensure_installed() {
    let mut done = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let dir = dir();
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let locked = modified(&dir.join("package-lock.json"));
    let fresh = matches!((installed, locked), (Some(i), Some(l)) if i >= l);
    if !fresh {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run npm ({e}): install Node.js 18+ and npm to run this test")
            });
        assert!(
            out.status.success(),
            "npm ci in {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    *done = true;
}

/// Runs `node SCRIPT ARGS...` in `tests/npm` with `stdin`, and returns its standard output.
/// Panics (showing standard error) when it fails. Blocking: call it from `spawn_blocking`.
pub fn run(script: &str, args: &[&str], stdin: Option<&str>) -> String {
    ensure_installed();
    let mut child = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js 18+"));
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write to node");
    drop(input);
    let out = child.wait_with_output().expect("node runs");
    assert!(
        out.status.success(),
        "node {script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("node prints UTF-8")
}
