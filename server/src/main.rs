//! The `tickwire-server` binary: flags, logging, the runtime, and the shutdown signal.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use tokio_util::sync::CancellationToken;

/// An authoritative 60 Hz multiplayer game-state server over binary WebSocket.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "TICKWIRE_BIND", default_value = "127.0.0.1:7000")]
    bind: SocketAddr,

    /// Address of the admin endpoint (`/healthz`, `/metrics`, `/rooms`). Loopback by
    /// default: it is for the operator, not for players.
    #[arg(long, env = "TICKWIRE_ADMIN_BIND", default_value = "127.0.0.1:7001")]
    admin_bind: SocketAddr,

    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, env = "TICKWIRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Runtime worker threads. 1 (the default) runs everything on one thread: a snapshot
    /// is handed to its writers without crossing threads, which is the cheapest per client
    /// on a small machine. More spreads rooms and connections over a multi-threaded runtime.
    #[arg(long, env = "TICKWIRE_THREADS", default_value_t = 1)]
    threads: usize,

    #[command(flatten)]
    config: tickwire_server::Config,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the span fields (peer, player, room) included.
    Json,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    }
    .context("cannot start the runtime")?;
    runtime.block_on(serve(cli))
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(cli.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cli.bind))?;
    let admin = tokio::net::TcpListener::bind(cli.admin_bind)
        .await
        .with_context(|| format!("cannot listen on {} for the admin endpoint", cli.admin_bind))?;
    let addr = listener.local_addr()?;
    let admin_addr = admin.local_addr()?;
    println!("tickwire-server listening on ws://{addr}");
    println!("tickwire-server admin on http://{admin_addr}");
    tracing::info!(%addr, %admin_addr, tick_rate = cli.config.tick_rate, "listening");

    let shutdown = CancellationToken::new();
    let shutdown_for_signal = shutdown.clone();
    tokio::spawn(async move {
        signal().await;
        tracing::info!("shutting down: draining connections (a second signal exits at once)");
        shutdown_for_signal.cancel();
        signal().await;
        tracing::warn!("second signal: exiting without draining");
        std::process::exit(130);
    });
    tickwire_server::run_with_admin(listener, Some(admin), cli.config, shutdown).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::warn!(cause = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
