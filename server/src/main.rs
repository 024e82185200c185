//! The `tickwire-server` binary: flags, logging, the runtime, and the shutdown signal;
//! the `token` subcommand, which mints a player's token with the server's secret; and the
//! `replay` subcommand, which checks recorded matches.

use std::net::SocketAddr;
use std::time::Duration;

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

    #[command(flatten)]
    config: tickwire_server::Config,

    /// Without a subcommand, the server runs.
    #[command(subcommand)]
    command: Option<Command>,
}

/// What else the binary does than serve.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print a player's token, signed with --auth-secret, to stdout.
    Token(TokenArgs),
    /// Re-run recorded matches (files written with --record) offline and check every
    /// tick's world hash; prints the first tick that differs, and fails if any does.
    Replay(ReplayArgs),
}

/// The recordings to replay.
#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// Recording files (`*.twr`).
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
}

/// The claims of a token to mint.
#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// The user id (the `sub` claim).
    #[arg(long)]
    sub: String,

    /// The display name (1 to 32 characters); the user id when absent.
    #[arg(long)]
    name: Option<String>,

    /// How long the token is valid, e.g. `90s`, `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    ttl: Duration,

    /// Private rooms the user may join without their key, comma-separated.
    #[arg(long, value_delimiter = ',')]
    rooms: Vec<String>,
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
    if let Some(secret) = &cli.config.auth_secret {
        anyhow::ensure!(!secret.is_empty(), "--auth-secret must not be empty");
    }
    // A game's schema is its author's promise to every client: a broken one stops the
    // server here, with the rule it breaks, rather than in a client.
    for game in tickwire_server::registry::GAMES {
        game.check()?;
    }
    match &cli.command {
        Some(Command::Token(args)) => return print_token(cli.config.auth_secret.as_deref(), args),
        Some(Command::Replay(args)) => return replay(&args.files),
        None => {}
    }
    match &cli.config.auth_secret {
        None => tracing::warn!(
            "no --auth-secret: anyone can connect as anyone (anonymous development mode); \
             set --auth-secret or TICKWIRE_AUTH_SECRET before exposing this server"
        ),
        // HS256 is only as strong as its key, and a short one falls to an offline guess.
        Some(secret) if secret.len() < 32 => {
            tracing::warn!(
                "the --auth-secret is shorter than 32 bytes: tokens can be forged by guessing it"
            );
        }
        Some(_) => {}
    }
    // This runtime is the front (accepting, handshakes, the lobby, the admin endpoint);
    // the rooms get threads of their own (`--threads`, `workers.rs`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
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

/// The `token` subcommand: mints a token with the server's secret and prints it.
fn print_token(secret: Option<&str>, args: &TokenArgs) -> anyhow::Result<()> {
    let secret =
        secret.context("the token subcommand needs --auth-secret or TICKWIRE_AUTH_SECRET")?;
    anyhow::ensure!(
        tickwire_server::auth::valid_user_id(&args.sub),
        "--sub must be 1 to 128 characters with no control characters"
    );
    if let Some(name) = &args.name {
        anyhow::ensure!(
            tickwire_server::auth::valid_display_name(name),
            "--name must be 1 to 32 characters with no control characters"
        );
    }
    anyhow::ensure!(!args.ttl.is_zero(), "--ttl must be longer than zero");
    let auth = tickwire_server::auth::Auth::new(secret.as_bytes());
    println!(
        "{}",
        auth.mint(&args.sub, args.name.as_deref(), args.ttl, &args.rooms)
    );
    Ok(())
}

/// The `replay` subcommand: replays each file and says how it went, a line each.
fn replay(files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for file in files {
        match tickwire_server::registry::replay_file(file) {
            Ok(done) => writeln!(
                out,
                "{}: room {}, {} ticks {}..={} ({} joins/leaves/drops, {} inputs): \
                 every tick's world hash matches{}",
                file.display(),
                done.room,
                done.steps,
                done.start_tick + 1,
                done.last_tick,
                done.membership,
                done.inputs,
                if done.cut_short {
                    " (the file ends in a record cut short)"
                } else {
                    ""
                }
            )?,
            Err(err) => {
                failed += 1;
                writeln!(out, "{}: {err}", file.display())?;
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} recordings did not replay",
        files.len()
    );
    Ok(())
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
