//! A real Vendure server for tests and the demo: `connectors/vendure/server/server.js` (Vendure
//! 3 with the sql.js SQLite driver, an in-memory database and the job queue in-process) seeded
//! with a [`World`] slice, started as a child process on a free loopback port.
//!
//! [`VendureServer::start`] installs the Node dependencies with `npm ci` when
//! `server/node_modules` is missing (the npm registry must be reachable then; about 20 s),
//! writes the fixture, spawns `node server.js`, waits for its `READY` line and kills the process
//! when dropped. The server also stops by itself when the process that started it exits (it
//! watches its standard input). Seed a small world (`World::with_sizes`, 40 to 100 products):
//! seeding goes through Vendure's services and takes roughly a fifth of a second per product.
//!
//! **Test-only credentials**: superadmin `superadmin` / `superadmin-test-only`
//! ([`SUPERADMIN_USERNAME`], [`SUPERADMIN_PASSWORD`]), and a read-only administrator
//! ([`READER_USERNAME`], [`READER_PASSWORD`]). The server listens on 127.0.0.1 only.
//!
//! [`fault_proxy`] puts a [`SimServer`](samlet_testkit::sim::SimServer) in front of a running server, so tests can count
//! requests and inject faults (5xx, 429, malformed bodies) in front of the real Vendure.

mod fixture;
mod npm;
mod proxy;

pub use fixture::{
    B2B_TOKEN, CATEGORY_FACET, ONLINE_TOKEN, READER_PASSWORD, READER_USERNAME, STORE_TOKEN,
};
pub use proxy::{fault_proxy, vendure_error};

use crate::config::{PriceChannels, VendureConfig};
use samlet_connector::http::Secret;
use samlet_testkit::World;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The superadmin's identifier on the test server (test-only).
pub const SUPERADMIN_USERNAME: &str = "superadmin";
/// The superadmin's password on the test server (test-only, never use it elsewhere).
pub const SUPERADMIN_PASSWORD: &str = "superadmin-test-only";
/// Path prefixes of the Admin API (where fault-injection tests inject faults; the `login`
/// mutation is posted there too).
pub const API_PATHS: &[&str] = &["/admin-api"];

/// How many lines of the server's output an error message quotes.
const TAIL_LINES: usize = 40;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Port on 127.0.0.1; 0 (the default) lets the OS pick a free one.
    pub port: u16,
    /// How long to wait for `READY` (after `npm ci`). Default 180 s: a busy 2-core machine
    /// can be slow to seed.
    pub ready_timeout: Duration,
    /// The Node project (`package.json`, `server.js`). Default: `$SAMLET_VENDURE_SERVER_DIR`,
    /// else this crate's `server/` directory.
    pub server_dir: PathBuf,
    /// The Node.js executable. Default: `$SAMLET_NODE`, else `node` on the `PATH`.
    pub node: PathBuf,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            port: 0,
            ready_timeout: Duration::from_secs(180),
            server_dir: std::env::var_os("SAMLET_VENDURE_SERVER_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("server")),
            node: std::env::var_os("SAMLET_NODE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("node")),
        }
    }
}

/// How long starting took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTimings {
    /// `npm ci`, when `node_modules` was missing.
    pub npm_install: Option<Duration>,
    /// Vendure's bootstrap (schema synchronisation on the empty database) and job queue start,
    /// as the server measured it.
    pub boot: Duration,
    /// Seeding the world slice, as the server measured it.
    pub seed: Duration,
    /// From spawning `node` to its `READY` line.
    pub ready: Duration,
}

/// A running Vendure server; the process is killed when this is dropped.
#[derive(Debug)]
pub struct VendureServer {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    port: u16,
    timings: StartTimings,
}

impl VendureServer {
    /// Starts a server seeded with `world` on a free port (see the module docs). The slow
    /// part runs on a blocking thread.
    pub async fn start(world: &World) -> io::Result<VendureServer> {
        Self::start_with(world, ServerOptions::default()).await
    }

    /// [`VendureServer::start`] with explicit options.
    pub async fn start_with(world: &World, options: ServerOptions) -> io::Result<VendureServer> {
        let fixture = fixture::fixture(world).map_err(io::Error::other)?;
        tokio::task::spawn_blocking(move || launch(&fixture, &options))
            .await
            .map_err(io::Error::other)?
    }

    /// Starts a server from synchronous code (e.g. a test's shared fixture), blocking the
    /// calling thread until it is ready.
    pub fn start_blocking(world: &World, options: &ServerOptions) -> io::Result<VendureServer> {
        let fixture = fixture::fixture(world).map_err(io::Error::other)?;
        launch(&fixture, options)
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash (the Admin API is at `/admin-api`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How long starting took.
    pub fn timings(&self) -> StartTimings {
        self.timings
    }

    /// Stops the server and waits for the process to end.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Closing stdin asks the server to close; then make sure.
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_millis(300);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for VendureServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the server's stdout reader reports.
enum Event {
    Ready {
        port: u16,
        boot_ms: u64,
        seed_ms: u64,
    },
    Closed,
}

/// Parses `READY port=<n> start_ms=<n> seed_ms=<n>`.
fn parse_ready(line: &str) -> Option<(u16, u64, u64)> {
    let rest = line.trim().strip_prefix("READY ")?;
    let mut port = None;
    let (mut boot, mut seed) = (0, 0);
    for part in rest.split_whitespace() {
        match part.split_once('=') {
            Some(("port", v)) => port = v.parse().ok(),
            Some(("start_ms", v)) => boot = v.parse().unwrap_or(0),
            Some(("seed_ms", v)) => seed = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    Some((port?, boot, seed))
}

fn fixture_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "samlet-vendure-fixture-{}-{}.json",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    let lines = tail.lock().unwrap_or_else(|e| e.into_inner());
    if lines.is_empty() {
        "(no output)".to_owned()
    } else {
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

fn launch(fixture: &serde_json::Value, options: &ServerOptions) -> io::Result<VendureServer> {
    let npm_install = npm::ensure_installed(&options.server_dir)?;
    let path = fixture_path();
    std::fs::write(
        &path,
        serde_json::to_vec(fixture).map_err(io::Error::other)?,
    )?;
    let started = Instant::now();
    let spawned = Command::new(&options.node)
        .arg(options.server_dir.join("server.js"))
        .arg("--fixture")
        .arg(&path)
        .arg("--port")
        .arg(options.port.to_string())
        .arg("--exit-with-stdin")
        .current_dir(&options.server_dir)
        .env("VENDURE_DISABLE_TELEMETRY", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "cannot run `{}` (Node.js 20+ is needed for the Vendure server): {e}",
                    options.node.display()
                ),
            ));
        }
    };
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let keep = |tail: &Arc<Mutex<VecDeque<String>>>, line: String| {
        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() == TAIL_LINES {
            t.pop_front();
        }
        t.push_back(line);
    };
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        let tail = tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match parse_ready(&line) {
                    Some((port, boot_ms, seed_ms)) => {
                        let _ = tx.send(Event::Ready {
                            port,
                            boot_ms,
                            seed_ms,
                        });
                    }
                    None => keep(&tail, line),
                }
            }
            let _ = tx.send(Event::Closed);
        });
    }
    if let Some(stderr) = child.stderr.take() {
        let tail = tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                keep(&tail, line);
            }
        });
    }
    let outcome = rx.recv_timeout(options.ready_timeout);
    let _ = std::fs::remove_file(&path);
    let fail = |child: &mut Child, what: String| {
        let _ = child.kill();
        let _ = child.wait();
        // Let the readers drain what the process wrote last.
        std::thread::sleep(Duration::from_millis(50));
        io::Error::other(format!(
            "{what}; the server's last output:\n{}",
            tail_text(&tail)
        ))
    };
    match outcome {
        Ok(Event::Ready {
            port,
            boot_ms,
            seed_ms,
        }) => Ok(VendureServer {
            stdin: child.stdin.take(),
            child: Some(child),
            port,
            timings: StartTimings {
                npm_install,
                boot: Duration::from_millis(boot_ms),
                seed: Duration::from_millis(seed_ms),
                ready: started.elapsed(),
            },
        }),
        Ok(Event::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait().ok();
            Err(fail(
                &mut child,
                format!("the Vendure server exited before it was ready ({status:?})"),
            ))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(fail(
            &mut child,
            format!(
                "the Vendure server was not ready within {:?}",
                options.ready_timeout
            ),
        )),
    }
}

/// The fixture `server.js --fixture <path>` seeds from, for `world`, as JSON: for running the
/// server by hand (`npm start -- --fixture <path>`) or from another harness.
pub fn fixture_json(world: &World) -> io::Result<String> {
    let fixture = fixture::fixture(world).map_err(io::Error::other)?;
    serde_json::to_string(&fixture).map_err(io::Error::other)
}

/// The body of a TOML table (no header, no `kind` key) that configures the connector against
/// a test server at `base_url` with its test-only superadmin and its three price channels.
pub fn demo_toml(base_url: &str) -> String {
    format!(
        "base_url = \"{base_url}\"\n\
         username = \"{SUPERADMIN_USERNAME}\"\n\
         password = \"{SUPERADMIN_PASSWORD}\"\n\
         price_channels = {{ online = \"{ONLINE_TOKEN}\", store = \"{STORE_TOKEN}\", groups = {{ B2B = \"{B2B_TOKEN}\" }} }}\n"
    )
}

/// The same, parsed: the config with the test server's credentials and channels for `base_url`.
pub fn demo_config(base_url: &str) -> VendureConfig {
    VendureConfig {
        base_url: base_url.to_owned(),
        admin_api_path: "admin-api".into(),
        username: SUPERADMIN_USERNAME.into(),
        password: Secret::new(SUPERADMIN_PASSWORD),
        channel_token: String::new(),
        price_channels: PriceChannels {
            online: ONLINE_TOKEN.into(),
            store: STORE_TOKEN.into(),
            groups: [(
                samlet_testkit::world::B2B_GROUP.to_owned(),
                B2B_TOKEN.to_owned(),
            )]
            .into_iter()
            .collect(),
        },
        languages: crate::config::default_languages(),
        category_facet: CATEGORY_FACET.into(),
        custom_fields: Default::default(),
        page_size: 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_is_parsed() {
        assert_eq!(
            parse_ready("READY port=4123 start_ms=3500 seed_ms=9000\n"),
            Some((4123, 3500, 9000))
        );
        assert_eq!(parse_ready("READY start_ms=1"), None);
        assert_eq!(parse_ready("warn something"), None);
    }

    #[test]
    fn demo_toml_parses_to_demo_config() {
        let parsed: VendureConfig = toml::from_str(&demo_toml("http://127.0.0.1:1")).unwrap();
        assert_eq!(parsed, demo_config("http://127.0.0.1:1"));
        assert!(parsed.validate().is_empty());
    }
}
