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

    /// Runtime worker threads. 1 (the default) runs everything on one thread: a snapshot
    /// is handed to its writers without crossing threads, which is the cheapest per client
    /// on a small machine. More spreads rooms and connections over a multi-threaded runtime.
    #[arg(long, env = "TICKWIRE_THREADS", default_value_t = 1)]
    threads: usize,

    #[command(flatten)]
    config: tickwire_server::Config,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
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
    let addr = listener.local_addr()?;
    println!("tickwire-server listening on ws://{addr}");
    tracing::info!(%addr, tick_rate = cli.config.tick_rate, "listening");

    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));
    tickwire_server::run(listener, cli.config, shutdown).await
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn signal_shutdown(shutdown: CancellationToken) {
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
    tracing::info!("shutting down");
    shutdown.cancel();
}
