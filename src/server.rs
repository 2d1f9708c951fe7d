//! Start-up and shutdown: binds the listener, accepts connections, starts
//! a [`Session`] for each, and on shutdown tells every client and waits for
//! their queues to drain.

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix::WeakAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::config::Config;
use crate::core::directory::Directory;
use crate::core::files::FileStore;
use crate::core::flood::FloodRule;
use crate::core::names::NameLimits;
use crate::core::ErrorCode;
use crate::proto::native::render::Reply;
use crate::proto::native::session::Session;
use crate::proto::native::session::{IdleCheck, Shutdown};
use crate::proto::native::verb::{ProtocolError, VerbTag};
use crate::storage::{Database, Loaded, Relay, StorageError};
use crate::transport::idle::IdleWheel;

/// Connections waiting to be accepted.
const LISTEN_BACKLOG: u32 = 1024;
/// How late an idle check may be.
const IDLE_TICK: Duration = Duration::from_millis(250);
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

/// The open sockets, counted for `max_clients` and for the shutdown's
/// wait. (The sessions themselves are listed by [`ServerState::idle`].)
#[derive(Default)]
pub struct Connections {
    open: AtomicUsize,
    all_closed: Notify,
}

impl Connections {
    /// Sockets open now, including ones still flushing before close.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn open_socket(self: &Arc<Self>) -> SocketGuard {
        self.open.fetch_add(1, Ordering::AcqRel);
        SocketGuard(Arc::clone(self))
    }
}

/// Counts one open socket until dropped (by the connection's writer,
/// the last thing to finish with it).
pub struct SocketGuard(Arc<Connections>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

/// What every session shares: configuration, the registry, counters.
pub struct ServerState {
    /// The configuration.
    pub config: Arc<Config>,
    /// Name bounds for the parser.
    pub names: NameLimits,
    /// Every connection's flood limits.
    pub flood: FloodRule,
    /// The nick registry and room directory.
    pub registry: Addr<Directory>,
    /// When the server started.
    pub started: Instant,
    /// The live connections.
    pub connections: Arc<Connections>,
    /// The index of shared files.
    pub files: Addr<FileStore>,
    /// The message store, where history is kept.
    pub db: Option<Database>,
    /// Sessions waiting for their next idle check: every live session.
    pub idle: IdleWheel<WeakAddr<Session>>,
}

/// What start-up found on disk, ready for [`run`].
pub struct Prepared {
    /// The database and the relay of its answers, where history is kept.
    store: Option<(Database, Relay)>,
    loaded: Loaded,
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
    let indexed: HashSet<String> = loaded.files.iter().map(|f| f.id.clone()).collect();
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
    Ok(Prepared { store, loaded })
}

/// Binds the configured listen address (or `listen`, if given).
pub async fn bind(config: &Config) -> Result<TcpListener, ServerError> {
    let addr = config.listen_addr()?;
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

/// Serves on `listener` until `shutdown` resolves, then says goodbye to
/// every client and returns once their queues are flushed (or after a
/// grace period). Must run inside an actix `System`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    prepared: Prepared,
    shutdown: impl Future<Output = ()>,
) {
    let config = Arc::new(config);
    let Prepared { store, loaded } = prepared;
    let (db, relay) = store.unzip();
    if let Some(relay) = relay {
        // On this thread, where the sessions run: waking them is local.
        actix_rt::spawn(relay.run());
    }
    let registry = Directory::new(Arc::clone(&config), db.clone(), loaded.rooms).start();
    let files = FileStore::new(&config.files, db.clone(), loaded.files).start();
    let state = Arc::new(ServerState {
        db: db.clone(),
        files,
        names: config.limits.names(),
        flood: FloodRule::new(config.limits.flood_burst, config.limits.flood_rate_per_sec),
        config,
        registry,
        started: Instant::now(),
        connections: Arc::new(Connections::default()),
        idle: IdleWheel::new(IDLE_TICK),
    });
    match listener.local_addr() {
        Ok(addr) => info!("listening on {addr}"),
        Err(e) => warn!(%e, "listening on an unknown address"),
    }
    tokio::pin!(shutdown);
    let mut idle_tick = tokio::time::interval(state.idle.tick());
    idle_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = idle_tick.tick() => {
                for session in state.idle.take_due(Instant::now()) {
                    if let Some(session) = session.upgrade() {
                        session.do_send(IdleCheck);
                    }
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => accept(stream, peer, &state),
                Err(e) => {
                    // Out of file descriptors, mostly: wait, do not spin.
                    warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    info!("shutting down");
    // Every session is on the idle wheel (or is handling its check, and
    // will find the wheel closed when it schedules the next one).
    let sessions = state.idle.close();
    for session in sessions.iter().filter_map(WeakAddr::upgrade) {
        session.do_send(Shutdown);
    }
    let connections = Arc::clone(&state.connections);
    let drained = async {
        loop {
            let notified = connections.all_closed.notified();
            if connections.open() == 0 {
                break;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        warn!(
            open = state.connections.open(),
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

fn accept(stream: TcpStream, peer: SocketAddr, state: &Arc<ServerState>) {
    // Replies are small and latency matters more than packet count.
    if let Err(e) = stream.set_nodelay(true) {
        warn!(%e, %peer, "set_nodelay failed");
    }
    if state.connections.open() >= state.config.limits.max_clients {
        info!(%peer, "refused: server full");
        let line = Reply::Err(ProtocolError::new(
            VerbTag::Star,
            ErrorCode::ServerFull,
            "the server is full, try again later",
        ))
        .to_line();
        actix::spawn(async move {
            let mut stream = stream;
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                let _ = stream.write_all(&line).await;
                let _ = stream.shutdown().await;
            })
            .await;
        });
        return;
    }
    let guard = state.connections.open_socket();
    Session::start(stream, peer, guard, Arc::clone(state));
}

/// A server running on its own thread, for tests and embedding.
pub struct ServerHandle {
    addr: SocketAddr,
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
                let listener = match bind(&config).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let addr = listener.local_addr();
                let _ = ready_tx.send(Ok(addr));
                run(listener, config, prepared, async {
                    let _ = stop_rx.await;
                })
                .await;
            });
        });
        let addr = match ready_rx.recv() {
            Ok(Ok(Ok(addr))) => addr,
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
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
