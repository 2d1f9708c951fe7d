//! The `chatroom` server binary: reads the CLI and configuration, starts
//! logging, binds, and serves until SIGINT or SIGTERM; SIGHUP reloads the
//! TLS certificate.

use std::path::PathBuf;

use clap::Parser;
use tracing::{error, info};

use chatroom::config::Config;
use chatroom::transport::tls::TlsAcceptorHandle;

/// jemalloc: size-class slabs keep idle connections' many small objects
/// dense, and it returns freed pages to the OS (see .cargo/config.toml),
/// where glibc's malloc keeps the high-water mark of a burst for good.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A chat-room server with a plain-text line protocol (try: nc localhost 5555).
///
/// Configuration is layered: built-in defaults, then --config FILE (TOML),
/// then environment variables CHATROOM_<SECTION>__<KEY> (for example
/// CHATROOM_LIMITS__MAX_CLIENTS=50), then --listen.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// A TOML configuration file (see config/default.toml for every key).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on, overriding server.listen (e.g. 127.0.0.1:0).
    #[arg(short, long, value_name = "ADDR")]
    listen: Option<String>,
    #[command(subcommand)]
    command: Option<Tool>,
}

/// Tools besides serving.
#[derive(Debug, clap::Subcommand)]
enum Tool {
    /// Reads a password from standard input (its first line) and prints its
    /// argon2id hash, a PHC string for `[operators.<name>] password`.
    HashPassword,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Tool::HashPassword) => hash_password(),
        None => serve(cli),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Each error's message already names its cause; the chain
            // would repeat it.
            eprintln!("chatroom: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `chatroom hash-password`: the first line of stdin, hashed.
fn hash_password() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    let hash = chatroom::core::opers::hash_password(password)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    println!("{hash}");
    Ok(())
}

fn serve(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(listen) = cli.listen {
        config.server.listen = listen;
        config.validate()?;
    }
    let _log_guard = chatroom::logging::init(&config.log)?;
    let prepared = chatroom::server::prepare(&config)?;
    let tls = prepared.tls().cloned();
    let system = actix_rt::System::new();
    let result = system.block_on(async move {
        let listeners = chatroom::server::bind(&config).await?;
        if let Some(tls) = tls {
            reload_on_sighup(tls);
        }
        chatroom::server::run(listeners, config, prepared, shutdown_signal()).await;
        anyhow::Ok(())
    });
    if let Err(e) = &result {
        error!("{e}");
    } else {
        info!("exiting");
    }
    result
}

/// Reloads the TLS certificate and key on every SIGHUP (the reload logs
/// how it went, and keeps the old certificate if the new one is bad).
/// Without TLS, SIGHUP keeps its default action.
fn reload_on_sighup(tls: TlsAcceptorHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                actix_rt::spawn(async move {
                    while hup.recv().await.is_some() {
                        info!("SIGHUP: reloading the TLS certificate");
                        let tls = tls.clone();
                        // Reading files: off the thread the sessions run on.
                        let _ = tokio::task::spawn_blocking(move || tls.reload()).await;
                    }
                });
            }
            Err(e) => error!(%e, "cannot watch SIGHUP: the TLS certificate cannot be reloaded"),
        }
    }
    #[cfg(not(unix))]
    let _ = tls;
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                error!(%e, "cannot watch SIGTERM; only SIGINT stops the server");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
