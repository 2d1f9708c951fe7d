//! The `chatroom` server binary: reads the CLI and configuration, starts
//! logging, binds, and serves until SIGINT or SIGTERM; SIGHUP reloads the
//! configuration file and the TLS certificate.

use std::path::PathBuf;

use clap::Parser;
use tracing::{error, info};

use chatroom::config::{Config, SharedConfig};
use chatroom::server::Reloader;

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
}

fn main() -> std::process::ExitCode {
    match serve(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Each error's message already names its cause; the chain
            // would repeat it.
            eprintln!("chatroom: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(listen) = &cli.listen {
        config.server.listen = listen.clone();
        config.validate()?;
    }
    let logging = chatroom::logging::init(&config.log)?;
    let prepared = chatroom::server::prepare(&config)?;
    let tls = prepared.tls().cloned();
    let system = actix_rt::System::new();
    let result = system.block_on(async move {
        let listeners = chatroom::server::bind(&config).await?;
        let live = SharedConfig::reading_motd(config);
        let reloader = Reloader::new(live.clone(), cli.config)
            .with_listen(cli.listen)
            .with_tls(tls)
            .with_log_level(logging.level());
        reload_on_sighup(reloader);
        chatroom::server::run(listeners, live, prepared, shutdown_signal()).await;
        anyhow::Ok(())
    });
    if let Err(e) = &result {
        error!("{e}");
    } else {
        info!("exiting");
    }
    result
}

/// Reloads the configuration file (and the TLS certificate) on every
/// SIGHUP; the reload logs how it went, and keeps the old configuration
/// (or certificate) if the new one is bad.
fn reload_on_sighup(reloader: Reloader) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                let reloader = std::sync::Arc::new(reloader);
                actix_rt::spawn(async move {
                    while hup.recv().await.is_some() {
                        info!("SIGHUP: reloading");
                        let reloader = std::sync::Arc::clone(&reloader);
                        // Reading files: off the thread the sessions run on.
                        let _ = tokio::task::spawn_blocking(move || reloader.reload()).await;
                    }
                });
            }
            Err(e) => error!(%e, "cannot watch SIGHUP: the configuration cannot be reloaded"),
        }
    }
    #[cfg(not(unix))]
    let _ = reloader;
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
