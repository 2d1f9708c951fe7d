//! Start-up and shutdown, where the layers are put together: opens the
//! store, starts the core's actors, binds the listener and hands each
//! accepted connection to its front end; on shutdown tells every client
//! and waits for their queues to drain.

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::config::Config;
use crate::core::directory::Directory;
use crate::core::files::link::LinkSigner;
use crate::core::files::FileStore;
use crate::core::flood::FloodRule;
use crate::core::names::NameLimits;
use crate::core::services::Services;
use crate::core::store::{Database, Loaded, Relay, StorageError};
use crate::core::FileId;
use crate::proto::http::HttpFrontEnd;
use crate::proto::irc::front::IrcFrontEnd;
use crate::proto::native::front::NativeFrontEnd;
use crate::transport::connections::Connections;

/// Connections waiting to be accepted.
const LISTEN_BACKLOG: u32 = 1024;
/// How long shutdown waits for clients' queues to drain.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The files directory cannot be prepared.
    #[error("configuration key `files.dir`: cannot use {dir}: {source}")]
    Files {
        /// The directory.
        dir: String,
        /// The OS error.
        source: io::Error,
    },
    /// No random key for file links.
    #[error(transparent)]
    Random(#[from] crate::core::files::link::KeyError),
    /// The history database cannot be used.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
}

/// What start-up found on disk, ready for [`run`].
pub struct Prepared {
    /// The database and the relay of its answers, where history is kept.
    store: Option<(Database, Relay)>,
    loaded: Loaded,
    links: LinkSigner,
}

/// Prepares what the server needs on disk: the history database (opened,
/// migrated and loaded, where history is kept) and the files directory,
/// cleaned of content no index entry points to (a crash mid-upload, or a
/// run without history) and reconciled with the index.
pub fn prepare(config: &Config) -> Result<Prepared, ServerError> {
    let (store, mut loaded) = if config.history.enabled {
        let (db, loaded, relay) = Database::open(&config.history.db)?;
        (Some((db, relay)), loaded)
    } else {
        (None, Loaded::default())
    };
    let db = store.as_ref().map(|(db, _)| db);
    let dir = &config.files.dir;
    let indexed: HashSet<FileId> = loaded.files.iter().map(|f| f.id.clone()).collect();
    let (removed, present) =
        crate::core::files::content::prepare_dir(dir, &indexed).map_err(|source| {
            ServerError::Files {
                dir: dir.display().to_string(),
                source,
            }
        })?;
    if removed > 0 {
        info!(removed, dir = %dir.display(), "removed files no index entry points to");
    }
    loaded.files.retain(|f| {
        let kept = present.contains(&f.id);
        if let (false, Some(db)) = (kept, db) {
            warn!(id = %f.id, "forgetting an indexed file whose content is gone");
            db.remove_file(&f.id);
        }
        kept
    });
    let links = LinkSigner::random()?;
    Ok(Prepared {
        store,
        loaded,
        links,
    })
}

/// The sockets the server accepts clients on.
pub struct Listeners {
    /// The native protocol's (`server.listen`).
    pub native: TcpListener,
    /// The IRC protocol's (`irc.listen`), unless it is off.
    pub irc: Option<TcpListener>,
    /// The HTTP listener's (`http.listen`), unless it is off.
    pub http: Option<TcpListener>,
}

/// Binds the configured listen addresses: `server.listen`, and
/// `irc.listen` and `http.listen` unless they are empty.
pub async fn bind(config: &Config) -> Result<Listeners, ServerError> {
    let native = bind_addr(config.listen_addr()?)?;
    let irc = config.irc_listen_addr()?.map(bind_addr).transpose()?;
    let http = config.http_listen_addr()?.map(bind_addr).transpose()?;
    Ok(Listeners { native, irc, http })
}

fn bind_addr(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let bind = || -> io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        // The usual 128 drops SYNs when thousands connect at once (each
        // retried a second later); the kernel caps this at somaxconn.
        socket.listen(LISTEN_BACKLOG)
    };
    bind().map_err(|source| ServerError::Bind { addr, source })
}

/// Accepts a connection on `listener`, or never if there is none.
async fn accept(listener: Option<&TcpListener>) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Serves on `listeners` until `shutdown` resolves, then says goodbye to
/// every client and returns once their queues are flushed (or after a
/// grace period). Must run inside an actix `System`.
pub async fn run(
    listeners: Listeners,
    config: Config,
    prepared: Prepared,
    shutdown: impl Future<Output = ()>,
) {
    let config = Arc::new(config);
    let Prepared {
        store,
        loaded,
        links,
    } = prepared;
    let (db, relay) = store.unzip();
    if let Some(relay) = relay {
        // On this thread, where the sessions run: waking them is local.
        actix_rt::spawn(relay.run());
    }
    let directory = Directory::new(Arc::clone(&config), db.clone(), loaded.rooms).start();
    let files = FileStore::new(&config.files, db.clone(), loaded.files).start();
    let core = Arc::new(Services {
        db: db.clone(),
        files,
        names: NameLimits::from_config(&config.limits),
        flood: FloodRule::new(config.limits.flood_burst, config.limits.flood_rate_per_sec),
        config,
        directory,
        started: Instant::now(),
        links,
    });
    let connections = Arc::new(Connections::default());
    let native = NativeFrontEnd::new(Arc::clone(&core), Arc::clone(&connections));
    let irc = IrcFrontEnd::new(Arc::clone(&core), Arc::clone(&connections));
    let Listeners {
        native: listener,
        irc: irc_listener,
        http: http_listener,
    } = listeners;
    let http = HttpFrontEnd::new(
        core,
        native.clone(),
        irc_listener.is_some().then(|| irc.clone()),
    );
    match listener.local_addr() {
        Ok(addr) => info!("listening on {addr}"),
        Err(e) => warn!(%e, "listening on an unknown address"),
    }
    if let Some(l) = &irc_listener {
        match l.local_addr() {
            Ok(addr) => info!("IRC listening on {addr}"),
            Err(e) => warn!(%e, "IRC listening on an unknown address"),
        }
    }
    if let Some(l) = &http_listener {
        match l.local_addr() {
            Ok(addr) => info!("HTTP listening on {addr}"),
            Err(e) => warn!(%e, "HTTP listening on an unknown address"),
        }
    }
    tokio::pin!(shutdown);
    // One tick for both front ends: their wheels turn at the same rate.
    let mut idle_tick = tokio::time::interval(native.idle_tick().min(irc.idle_tick()));
    idle_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = idle_tick.tick() => {
                native.check_idle();
                irc.check_idle();
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => native.accept_tcp(stream, peer),
                Err(e) => {
                    // Out of file descriptors, mostly: wait, do not spin.
                    warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            accepted = accept(irc_listener.as_ref()) => match accepted {
                Ok((stream, peer)) => irc.accept_tcp(stream, peer),
                Err(e) => {
                    warn!(%e, "IRC accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            accepted = accept(http_listener.as_ref()) => match accepted {
                Ok((stream, peer)) => http.accept_tcp(stream, peer),
                Err(e) => {
                    warn!(%e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    drop(irc_listener);
    drop(http_listener);
    info!("shutting down");
    native.shut_down();
    irc.shut_down();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.all_closed())
        .await
        .is_err()
    {
        warn!(
            open = connections.open(),
            "some clients did not drain in time"
        );
    }
    // Every message acknowledged and every room saved is on disk before
    // the process exits.
    if let Some(db) = db {
        db.flush().await;
    }
    info!("stopped");
}

/// A server running on its own thread, for tests and embedding.
pub struct ServerHandle {
    addr: SocketAddr,
    irc_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// Binds `config`'s listen address and serves on a new thread.
    pub fn start(config: Config) -> Result<ServerHandle, ServerError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let prepared = match prepare(&config) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let listeners = match bind(&config).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let addrs = listeners.native.local_addr().and_then(|native| {
                    let irc = listeners
                        .irc
                        .as_ref()
                        .map(TcpListener::local_addr)
                        .transpose()?;
                    let http = listeners
                        .http
                        .as_ref()
                        .map(TcpListener::local_addr)
                        .transpose()?;
                    Ok((native, irc, http))
                });
                let _ = ready_tx.send(Ok(addrs));
                run(listeners, config, prepared, async {
                    let _ = stop_rx.await;
                })
                .await;
            });
        });
        let (addr, irc_addr, http_addr) = match ready_rx.recv() {
            Ok(Ok(Ok(addrs))) => addrs,
            Ok(Ok(Err(source))) => {
                return Err(ServerError::Bind {
                    addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                    source,
                })
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(ServerError::Bind {
                    addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                    source: io::Error::other("server thread died"),
                })
            }
        };
        Ok(ServerHandle {
            addr,
            irc_addr,
            http_addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the IRC listener listens on, unless IRC is off.
    pub fn irc_addr(&self) -> Option<SocketAddr> {
        self.irc_addr
    }

    /// The address the HTTP listener listens on, unless HTTP is off.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Shuts the server down (as SIGTERM would) and waits for it.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
