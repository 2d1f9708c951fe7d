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
    /// Asks the running server's admin listener (admin.listen) for
    /// GET /healthz and exits 0 if it answers 200: a container's health
    /// check, which needs no HTTP client in the image.
    #[arg(long)]
    check_health: bool,
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
    let run = if matches!(cli.command, Some(Tool::HashPassword)) {
        hash_password()
    } else if cli.check_health {
        check_health(&cli)
    } else {
        serve(cli)
    };
    match run {
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

/// `GET /healthz` on the admin listener the configuration names (on
/// loopback when it listens on every address); `Ok` on a `200`.
fn check_health(cli: &Cli) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    use std::time::Duration;

    let config = Config::load(cli.config.as_deref())?;
    let Some(mut addr) = config.admin_listen_addr()? else {
        anyhow::bail!("admin.listen is off: nothing to ask");
    };
    if addr.ip().is_unspecified() {
        let loopback: std::net::IpAddr = if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        addr.set_ip(loopback);
    }
    let timeout = Duration::from_secs(5);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| anyhow::anyhow!("{addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.take(4096).read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) == Some("200") {
        println!("{addr}: ok");
        Ok(())
    } else {
        anyhow::bail!("{addr}: {status:?}")
    }
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
