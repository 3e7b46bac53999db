//! The `samlet` binary: parses the command line and calls into the library.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use samlet::Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// Samlet: one GraphQL graph over your CRM, PIM, ERP and marketing systems.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object per line) for log pipelines.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "SAMLET_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the graph for a configuration file.
    Serve {
        /// The configuration file (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file without connecting; prints each problem as
    /// `file:line:col: key: what to write`.
    Check {
        /// The configuration file (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Print the JSON Schema of the configuration file (for editors; also checked in as
    /// schema/samlet.config.schema.json).
    ConfigSchema,
    #[cfg(feature = "demo")]
    /// Run the embedded demo: simulated vendors serving a generated world, wired to the
    /// gateway over real HTTP, with a GraphQL IDE at /graphql.
    Demo {
        /// Port to serve the gateway on.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// World seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// World scale factor (1 = 2,000 products, 10,000 customers, 50,000 orders).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Which stack of simulated vendors: `a` (Salesforce, Akeneo, Business Central,
        /// Klaviyo) or `b` (Creatio, Optimizely, Voyado, Salesforce Marketing Cloud).
        #[arg(long, value_enum, default_value = "a")]
        stack: samlet::demo::Stack,
        /// Latency every simulator adds to each answer, e.g. `20ms` (for benchmarks).
        #[arg(long, value_parser = samlet::config::parse_duration, default_value = "0ms")]
        latency: std::time::Duration,
        /// Up to this much more latency, varied per request, e.g. `5ms`.
        #[arg(long, value_parser = samlet::config::parse_duration, default_value = "0ms")]
        jitter: std::time::Duration,
        /// Faults every simulator injects into its data API (token endpoints stay healthy), for
        /// soak runs: `5xx=0.02` answers that share of requests with 503, `reset=0.01` drops
        /// that share of connections without answering; comma-separated, e.g.
        /// `5xx=0.02,reset=0.005`. The simulators print their request and fault counts when
        /// they stop.
        #[arg(long, value_parser = parse_faults, default_value = "")]
        faults: Faults,
        /// Print the generated configuration and exit.
        #[arg(long)]
        print_config: bool,
        /// Run only the simulators (for benchmarks: run the gateway as a separate, pinned
        /// process with `samlet serve`); with `--write-config` to save the gateway's config.
        #[arg(long)]
        simulators_only: bool,
        /// Write the generated gateway configuration to this file.
        #[arg(long)]
        write_config: Option<PathBuf>,
    },
}

/// Fault ratios for the demo's simulators (`--faults`).
#[cfg(feature = "demo")]
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    fail: f64,
    reset: f64,
}

#[cfg(feature = "demo")]
fn parse_faults(text: &str) -> Result<Faults, String> {
    let mut f = Faults::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}`: write KIND=SHARE, e.g. 5xx=0.02"))?;
        let share: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| (0.0..=1.0).contains(x))
            .ok_or_else(|| format!("`{part}`: the share must be a number from 0 to 1"))?;
        match k.trim() {
            "5xx" => f.fail = share,
            "reset" => f.reset = share,
            other => return Err(format!("`{other}`: unknown fault (5xx, reset)")),
        }
    }
    if f.fail + f.reset > 1.0 {
        return Err("the shares add up to more than 1".into());
    }
    Ok(f)
}

/// Logs on stderr in `format`; with the `otel` feature and a trace endpoint in `telemetry` (or
/// the environment), the gateway's spans are exported too (the returned exporter must be shut
/// down before exit). A bad endpoint is reported and the gateway runs without exporting.
fn init_logging(format: LogFormat, telemetry: &samlet::trace::TelemetryConfig) -> Traces {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let export = telemetry.export(&|k| std::env::var(k).ok());
    #[cfg(feature = "otel")]
    let started = match &export {
        Ok(Some(e)) => Some(samlet::otel::Exporter::start(e).map(|x| (x, e.traces_url.clone()))),
        _ => None,
    };
    #[cfg(feature = "otel")]
    let exporting = matches!(started, Some(Ok(_)));
    #[cfg(not(feature = "otel"))]
    let exporting = false;
    // Without an exporter the trace spans are off unless RUST_LOG asks for them, so a request
    // pays nothing for them.
    let default = if exporting {
        "info".to_owned()
    } else {
        format!(
            "info,{}=off,{}=off",
            samlet::trace::SPAN_TARGET,
            samlet_connector::trace::SPAN_TARGET
        )
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
    };
    let registry = tracing_subscriber::registry().with(logs.with_filter(filter));
    #[cfg(feature = "otel")]
    match started {
        Some(Ok((exporter, url))) => {
            registry.with(exporter.layer()).init();
            tracing::info!(url = %url, "exporting traces over OTLP/HTTP");
            return Some(exporter);
        }
        Some(Err(e)) => {
            registry.init();
            tracing::error!(error = %format!("{e:#}"), "cannot export traces; running without");
            return None;
        }
        None => {}
    }
    registry.init();
    match export {
        Err(e) => tracing::error!(error = %e, "cannot export traces; running without"),
        #[cfg(not(feature = "otel"))]
        Ok(Some(_)) => tracing::warn!(
            "a trace endpoint is configured but this build has no `otel` feature; not exporting"
        ),
        _ => {}
    }
    None
}

#[cfg(feature = "otel")]
type Traces = Option<samlet::otel::Exporter>;
#[cfg(not(feature = "otel"))]
type Traces = Option<std::convert::Infallible>;

/// Ctrl-C, or SIGTERM (what Kubernetes and `docker stop` send): stop accepting, drain, exit 0.
/// The handlers are installed when this is called, not when the future is first polled, so a
/// signal that arrives while the server starts is not fatal.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            tokio::select! {
                _ = term => {}
                _ = int => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` reads its file first: `[telemetry]` says where traces go before anything logs.
    let loaded = match &cli.command {
        Command::Serve { config } => Some(Config::load(config)),
        _ => None,
    };
    let telemetry = match &loaded {
        Some(Ok(c)) => c.telemetry.clone(),
        _ => samlet::trace::TelemetryConfig::default(),
    };
    let traces = init_logging(cli.log_format, &telemetry);
    let shutdown = shutdown_signal();
    let code = match run(cli, loaded, shutdown).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    #[cfg(feature = "otel")]
    if let Some(exporter) = traces {
        exporter.shutdown().await;
    }
    #[cfg(not(feature = "otel"))]
    let _ = traces;
    code
}

async fn run(
    cli: Cli,
    loaded: Option<Result<Config, samlet::config::ConfigErrors>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Schema => {
            print!("{}", samlet::graph::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::ConfigSchema => {
            print!("{}", samlet::config::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => match Config::load(&config) {
            Ok(c) => {
                println!(
                    "{}: ok ({} connectors: {})",
                    config.display(),
                    c.connectors.len(),
                    c.connectors
                        .iter()
                        .map(|c| format!("{} ({})", c.name, c.kind()))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Serve { config } => {
            let config = loaded
                .unwrap_or_else(|| Config::load(&config))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let listener = tokio::net::TcpListener::bind(config.server.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.server.listen))?;
            tracing::info!(addr = %config.server.listen, "serving GraphQL at /graphql");
            samlet::serve(config, listener, shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            port,
            host,
            seed,
            scale,
            stack,
            latency,
            jitter,
            faults,
            print_config,
            simulators_only,
            write_config,
        } => {
            use samlet::demo::DemoStack;
            use samlet_testkit::WorldConfig;
            use std::net::SocketAddr;
            let started = std::time::Instant::now();
            // The gateway's port is bound first, so a busy port fails before anything starts
            // (unless only the simulators run here).
            let (listener, addr) = if simulators_only || print_config {
                (None, SocketAddr::new(host, port))
            } else {
                let l = tokio::net::TcpListener::bind(SocketAddr::new(host, port))
                    .await
                    .with_context(|| {
                        format!("cannot listen on {host}:{port}; pass --port to choose another")
                    })?;
                let a = l.local_addr()?;
                (Some(l), a)
            };
            let stack = DemoStack::start(stack, WorldConfig { seed, scale }, addr).await?;
            if print_config {
                print!("{}", stack.config_text);
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(path) = &write_config {
                std::fs::write(path, &stack.config_text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            let config = stack.config()?;
            for m in &stack.members {
                m.simulator
                    .control
                    .set_faults(samlet_testkit::sim::FaultPlan {
                        latency,
                        jitter,
                        fail_ratio: faults.fail,
                        reset_ratio: faults.reset,
                        only_paths: m.api_paths.iter().map(|p| p.to_string()).collect(),
                        ..Default::default()
                    });
            }
            let w = &stack.world;
            println!(
                "Samlet demo: world seed {seed} scale {scale} ({} products, {} customers, {} orders, {} locations) ready in {} ms",
                w.product_count(),
                w.customer_count(),
                w.order_count(),
                w.locations().len(),
                started.elapsed().as_millis()
            );
            for m in &stack.members {
                println!(
                    "  simulator {:<10} {:<28} {}",
                    m.name,
                    m.kind,
                    m.simulator.base_url()
                );
            }
            match listener {
                Some(listener) => {
                    println!("GraphQL and IDE: http://{addr}/graphql");
                    if let Some(erp) = stack.members.iter().find(|m| m.kind == "business-central") {
                        println!(
                            "Subscriptions: ws://{addr}/graphql or Accept: text/event-stream; the ERP calls back when an order placed here ships: curl -X POST {}/_sim/orders/<number>/ship -H 'content-type: application/json' -d '{{\"carrier\":\"PostNord\",\"trackingNumber\":\"00370712345678901234\"}}'",
                            erp.simulator.base_url()
                        );
                    }
                    print_tokens(&stack);
                    samlet::serve(config, listener, shutdown).await?;
                }
                None => {
                    print_tokens(&stack);
                    println!("simulators only; serve the gateway with `samlet serve --config FILE` (see --write-config)");
                    shutdown.await;
                }
            }
            for m in &stack.members {
                let s = &m.simulator.control.stats;
                println!(
                    "simulator {} served {} requests, {} with an injected fault",
                    m.name,
                    s.total(),
                    s.injected()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(feature = "demo")]
fn print_tokens(stack: &samlet::demo::DemoStack) {
    println!("Catalogue queries need no token; customer data does. Demo tokens (24 h), sent as `Authorization: Bearer <token>`:");
    for (who, token) in stack.sample_tokens() {
        println!("  {who}: {token}");
    }
}

#[cfg(all(test, feature = "demo"))]
mod tests {
    use super::parse_faults;

    #[test]
    fn fault_shares_parse_and_bad_ones_say_why() {
        let f = parse_faults("5xx=0.02, reset=0.005").unwrap();
        assert_eq!((f.fail, f.reset), (0.02, 0.005));
        let none = parse_faults("").unwrap();
        assert_eq!((none.fail, none.reset), (0.0, 0.0));
        assert!(parse_faults("5xx").unwrap_err().contains("KIND=SHARE"));
        assert!(parse_faults("5xx=2").unwrap_err().contains("from 0 to 1"));
        assert!(parse_faults("slow=0.1")
            .unwrap_err()
            .contains("unknown fault"));
        assert!(parse_faults("5xx=0.6,reset=0.6")
            .unwrap_err()
            .contains("more than 1"));
    }
}
