//! Start-up and shutdown, where the layers are put together: opens the
//! store, starts the core's actors, loads the TLS certificate, binds the
//! listeners and hands each accepted connection to its front end (over TLS
//! after its handshake); on shutdown tells every client and waits for
//! their queues to drain.

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::config::{Config, SharedConfig};
use crate::core::cluster::ClusterPlan;
use crate::core::directory::Directory;
use crate::core::files::link::LinkSigner;
use crate::core::files::FileStore;
use crate::core::gate::PasswordGate;
use crate::core::opers::ServerBans;
use crate::core::services::{PerLine, Services};
use crate::core::store::{Database, Loaded, Relay, StorageError};
use crate::core::FileId;
use crate::proto::admin::AdminFrontEnd;
use crate::proto::http::HttpFrontEnd;
use crate::proto::irc::front::IrcFrontEnd;
use crate::proto::native::front::NativeFrontEnd;
use crate::transport::connections::Connections;
use crate::transport::send_queue::PacedBudget;
use crate::transport::tls::{Handshakes, TlsAcceptorHandle, TlsError};

mod reload;

pub use reload::{ReloadError, Reloaded, Reloader};

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
    /// The TLS certificate or key cannot be used (the message names the
    /// file).
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// `[cluster]` cannot be used.
    #[error(transparent)]
    Cluster(#[from] crate::core::cluster::ClusterError),
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
    tls: Option<TlsAcceptorHandle>,
    links: LinkSigner,
    /// Cluster mode's Redis and node id; `None` standalone.
    cluster: Option<ClusterPlan>,
}

impl Prepared {
    /// The TLS certificate, where a TLS listener is on or a certificate
    /// is configured: what SIGHUP reloads ([`TlsAcceptorHandle::reload`]).
    pub fn tls(&self) -> Option<&TlsAcceptorHandle> {
        self.tls.as_ref()
    }
}

/// Prepares what the server needs on disk: the history database (opened,
/// migrated and loaded, where history is kept) and the files directory,
/// cleaned of content no index entry points to (a crash mid-upload, or a
/// run without history) and reconciled with the index; and the TLS
/// certificate, read (or generated) and checked.
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
    let tls = if config.tls_listener_on() || config.tls_cert_configured() {
        Some(TlsAcceptorHandle::from_config(config)?)
    } else {
        None
    };
    let links = LinkSigner::random()?;
    let cluster = ClusterPlan::new(&config.cluster, config.history.max_messages_per_room)?;
    Ok(Prepared {
        store,
        loaded,
        tls,
        links,
        cluster,
    })
}

/// The sockets the server accepts clients on.
pub struct Listeners {
    /// The native protocol's (`server.listen`), unless it is off.
    pub native: Option<TcpListener>,
    /// The IRC protocol's (`irc.listen`), unless it is off.
    pub irc: Option<TcpListener>,
    /// The native protocol's over TLS (`tls.listen`), unless it is off.
    pub tls: Option<TcpListener>,
    /// The IRC protocol's over TLS (`irc.tls_listen`), unless it is off.
    pub irc_tls: Option<TcpListener>,
    /// The HTTP listener's (`http.listen`), unless it is off.
    pub http: Option<TcpListener>,
    /// The HTTPS listener's (`http.tls_listen`), unless it is off.
    pub https: Option<TcpListener>,
    /// The admin listener's (`admin.listen`: metrics, health), unless it
    /// is off.
    pub admin: Option<TcpListener>,
}

/// Binds the configured listen addresses that are not empty:
/// `server.listen`, `irc.listen`, `tls.listen`, `irc.tls_listen`,
/// `http.listen`, `http.tls_listen`, `admin.listen`.
pub async fn bind(config: &Config) -> Result<Listeners, ServerError> {
    let bind_some = |addr: Option<SocketAddr>| addr.map(bind_addr).transpose();
    Ok(Listeners {
        native: bind_some(config.listen_addr()?)?,
        irc: bind_some(config.irc_listen_addr()?)?,
        tls: bind_some(config.tls_listen_addr()?)?,
        irc_tls: bind_some(config.irc_tls_listen_addr()?)?,
        http: bind_some(config.http_listen_addr()?)?,
        https: bind_some(config.https_listen_addr()?)?,
        admin: bind_some(config.admin_listen_addr()?)?,
    })
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

/// Grows the descriptor table for `max_clients` now, not one doubling at
/// a time while clients wait (`transport/fd_table.rs`); warns when the
/// open-files limit is below it.
fn make_room_for_clients(max_clients: usize) {
    match crate::transport::fd_table::make_room(max_clients) {
        Ok(table) if table.limited() => warn!(
            limit = table.limit,
            max_clients,
            "the open-files limit (ulimit -n) is below limits.max_clients + {}: \
             clients past it will be refused by the system",
            crate::transport::fd_table::SPARE
        ),
        Ok(table) => debug!(descriptors = table.slots, "descriptor table sized"),
        Err(e) => warn!(%e, "could not size the descriptor table in advance"),
    }
}

/// After a failed accept (out of file descriptors, mostly): wait, do not
/// spin.
async fn accept_failed(e: io::Error, what: &str) {
    warn!(%e, "{what}accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Serves on `listeners` until `shutdown` resolves, then says goodbye to
/// every client and returns once their queues are flushed (or after a
/// grace period). Must run inside an actix `System`.
pub async fn run(
    listeners: Listeners,
    live: SharedConfig,
    prepared: Prepared,
    shutdown: impl Future<Output = ()>,
) {
    let config = live.get();
    // Before any metric is touched: handles taken earlier would be no-ops.
    let metrics = crate::telemetry::install();
    let Prepared {
        store,
        loaded,
        tls,
        links,
        cluster,
    } = prepared;
    // Standalone (`cluster.redis_url` empty): `None`, and no Redis code
    // runs on any path.
    let cluster = match cluster.map(ClusterPlan::start).transpose() {
        Ok(cluster) => cluster,
        Err(e) => {
            tracing::error!(%e, "cluster mode cannot start; serving nobody");
            return;
        }
    };
    let (db, relay) = store.unzip();
    if let Some(relay) = relay {
        // On this thread, where the sessions run: waking them is local.
        actix_rt::spawn(relay.run());
    }
    let bans = ServerBans::new(loaded.server_bans, db.clone());
    if let Some(db) = &db {
        // History retention, in the background (nothing to do unless
        // history.retention_days or max_messages_per_room is set).
        actix_rt::spawn(db.clone().prune_forever(live.clone()));
    }
    if live.load().accounts.enabled && (db.is_some() || cluster.is_some()) {
        // The dummy hash unknown accounts are checked against is made now,
        // so that the first of them costs what any other does.
        std::thread::spawn(crate::core::accounts::password::warm_up);
    }
    // A cluster node's accounts are the cluster's, in Redis: those of its
    // own database (from a standalone past) are not used.
    let accounts = match cluster {
        Some(_) => Vec::new(),
        None => loaded.accounts,
    };
    let directory = Directory::new(live.clone(), db.clone(), loaded.rooms, accounts)
        .with_cluster(cluster.clone());
    let reserved = directory.reserved();
    if let Some(cluster) = &cluster {
        let reserved = reserved.clone();
        cluster.follow_accounts(move |name| reserved.insert(name));
    }
    let directory = directory.start();
    if let Some(cluster) = &cluster {
        actix_rt::spawn(tell_cluster_link(cluster.link(), directory.clone()));
        if let Some(lost) = cluster.lost_nicks() {
            actix_rt::spawn(crate::core::directory::let_go_of_lost_nicks(
                lost,
                directory.clone(),
            ));
        }
        cluster.serve_inbox(directory.clone().recipient());
    }
    let files = FileStore::new(&config.files, db.clone(), loaded.files).start();
    let large_replies = PacedBudget::new(config.limits.large_replies_bytes);
    let budget = Arc::clone(&large_replies);
    live.on_replace(move |config| budget.set_max(config.limits.large_replies_bytes));
    let per_line = Arc::new(PerLine::of(&config));
    let set = Arc::clone(&per_line);
    live.on_replace(move |config| set.set(config));
    let core = Arc::new(Services {
        db: db.clone(),
        files,
        live: live.clone(),
        directory,
        started: Instant::now(),
        links,
        bans,
        large_replies,
        gate: PasswordGate::default(),
        joins: tokio::sync::Semaphore::new(crate::core::services::JOINS_AT_ONCE),
        per_line,
        cluster,
        reserved,
    });
    let connections = Arc::new(Connections::default());
    // Shared with the TLS handshakes' tasks, on this thread.
    let native = Rc::new(NativeFrontEnd::new(
        Arc::clone(&core),
        Arc::clone(&connections),
    ));
    let irc = Rc::new(IrcFrontEnd::new(
        Arc::clone(&core),
        Arc::clone(&connections),
    ));
    let Listeners {
        native: listener,
        irc: irc_listener,
        tls: mut tls_listener,
        irc_tls: mut irc_tls_listener,
        http: http_listener,
        https: mut https_listener,
        admin: admin_listener,
    } = listeners;
    // The IRC subprotocols of its WebSocket while IRC is on.
    let irc_on = irc_listener.is_some() || irc_tls_listener.is_some();
    let admin = AdminFrontEnd::new(Arc::clone(&core), metrics);
    let http = HttpFrontEnd::new(core, (*native).clone(), irc_on.then(|| (*irc).clone()));
    let handshakes = tls.map(|tls| Handshakes::new(tls, Arc::clone(&connections), live.clone()));
    let tls_bound =
        tls_listener.is_some() || irc_tls_listener.is_some() || https_listener.is_some();
    if handshakes.is_none() && tls_bound {
        warn!("TLS listeners bound without a certificate (from `prepare`): not serving them");
        (tls_listener, irc_tls_listener, https_listener) = (None, None, None);
    }
    for (listener, what) in [
        (&listener, ""),
        (&irc_listener, "IRC "),
        (&tls_listener, "TLS "),
        (&irc_tls_listener, "IRC TLS "),
        (&http_listener, "HTTP "),
        (&https_listener, "HTTPS "),
        // Last: tests take the first `listening on` line as the native one.
        (&admin_listener, "admin "),
    ] {
        match listener.as_ref().map(TcpListener::local_addr) {
            Some(Ok(addr)) => info!("{what}listening on {addr}"),
            Some(Err(e)) => warn!(%e, "{what}listening on an unknown address"),
            None => {}
        }
    }
    // Before the first accept: clients connecting meanwhile wait in the
    // listen backlog, once, instead of at every doubling.
    make_room_for_clients(config.limits.max_clients);
    // A reload may raise it (a table already big enough is left as it is).
    live.on_replace(|config| make_room_for_clients(config.limits.max_clients));
    // Listeners bound, database open (by `prepare`), actors started.
    admin.set_ready(true);
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
            accepted = accept(listener.as_ref()) => match accepted {
                Ok((stream, peer)) => native.accept_tcp(stream, peer),
                Err(e) => accept_failed(e, "").await,
            },
            accepted = accept(irc_listener.as_ref()) => match accepted {
                Ok((stream, peer)) => irc.accept_tcp(stream, peer),
                Err(e) => accept_failed(e, "IRC ").await,
            },
            accepted = accept(tls_listener.as_ref()) => match (accepted, &handshakes) {
                (Ok((stream, peer)), Some(h)) => {
                    let native = Rc::clone(&native);
                    h.start(stream, peer, move |stream, peer| native.accept(stream, peer));
                }
                (Ok(_), None) => {} // never: the listener is dropped
                (Err(e), _) => accept_failed(e, "TLS ").await,
            },
            accepted = accept(irc_tls_listener.as_ref()) => match (accepted, &handshakes) {
                (Ok((stream, peer)), Some(h)) => {
                    let irc = Rc::clone(&irc);
                    h.start(stream, peer, move |stream, peer| irc.accept(stream, peer));
                }
                (Ok(_), None) => {} // never: the listener is dropped
                (Err(e), _) => accept_failed(e, "IRC TLS ").await,
            },
            accepted = accept(http_listener.as_ref()) => match accepted {
                Ok((stream, peer)) => http.accept_tcp(stream, peer),
                Err(e) => accept_failed(e, "HTTP ").await,
            },
            accepted = accept(https_listener.as_ref()) => match (accepted, &handshakes) {
                (Ok((stream, peer)), Some(h)) => {
                    let http = http.clone();
                    h.start(stream, peer, move |stream, peer| http.serve(stream, peer));
                }
                (Ok(_), None) => {} // never: the listener is dropped
                (Err(e), _) => accept_failed(e, "HTTPS ").await,
            },
            accepted = accept(admin_listener.as_ref()) => match accepted {
                Ok((stream, peer)) => admin.accept_tcp(stream, peer),
                Err(e) => accept_failed(e, "admin ").await,
            },
        }
    }
    drop((
        listener,
        irc_listener,
        tls_listener,
        irc_tls_listener,
        http_listener,
        https_listener,
    ));
    // The admin listener stays until the end: `/healthz` says 503 while
    // the clients drain.
    admin.set_ready(false);
    let admin_serving = actix::spawn(async move {
        if let Some(listener) = admin_listener {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => admin.accept_tcp(stream, peer),
                    Err(e) => accept_failed(e, "admin ").await,
                }
            }
        }
    });
    info!("shutting down");
    if let Some(h) = &handshakes {
        h.stop();
    }
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
    admin_serving.abort();
    info!("stopped");
}

/// The addresses of a server's listeners, `None` where one is off.
#[derive(Debug, Clone, Copy)]
struct ListenAddrs {
    native: Option<SocketAddr>,
    irc: Option<SocketAddr>,
    tls: Option<SocketAddr>,
    irc_tls: Option<SocketAddr>,
    http: Option<SocketAddr>,
    https: Option<SocketAddr>,
    admin: Option<SocketAddr>,
}

impl ListenAddrs {
    fn of(listeners: &Listeners) -> io::Result<ListenAddrs> {
        let addr = |l: &Option<TcpListener>| l.as_ref().map(TcpListener::local_addr).transpose();
        Ok(ListenAddrs {
            native: addr(&listeners.native)?,
            irc: addr(&listeners.irc)?,
            tls: addr(&listeners.tls)?,
            irc_tls: addr(&listeners.irc_tls)?,
            http: addr(&listeners.http)?,
            https: addr(&listeners.https)?,
            admin: addr(&listeners.admin)?,
        })
    }
}

/// A server running on its own thread, for tests and embedding.
pub struct ServerHandle {
    addrs: ListenAddrs,
    tls: Option<TlsAcceptorHandle>,
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
                let addrs = ListenAddrs::of(&listeners);
                let _ = ready_tx.send(Ok((addrs, prepared.tls().cloned())));
                run(
                    listeners,
                    SharedConfig::reading_motd(config),
                    prepared,
                    async {
                        let _ = stop_rx.await;
                    },
                )
                .await;
            });
        });
        let (addrs, tls) = match ready_rx.recv() {
            Ok(Ok((Ok(addrs), tls))) => (addrs, tls),
            Ok(Ok((Err(source), _))) => {
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
            addrs,
            tls,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address the plain native listener listens on, unless it is off.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addrs.native
    }

    /// The address the IRC listener listens on, unless IRC is off.
    pub fn irc_addr(&self) -> Option<SocketAddr> {
        self.addrs.irc
    }

    /// The address the native-over-TLS listener listens on, unless it is off.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.addrs.tls
    }

    /// The address the IRC-over-TLS listener listens on, unless it is off.
    pub fn irc_tls_addr(&self) -> Option<SocketAddr> {
        self.addrs.irc_tls
    }

    /// The address the HTTP listener listens on, unless HTTP is off.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.addrs.http
    }

    /// The address the HTTPS listener listens on, unless it is off.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.addrs.https
    }

    /// The address the admin listener (metrics, health) listens on,
    /// unless it is off.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.addrs.admin
    }

    /// The TLS certificate the server serves, if any: its fingerprint,
    /// and [`TlsAcceptorHandle::reload`], what SIGHUP does.
    pub fn tls(&self) -> Option<&TlsAcceptorHandle> {
        self.tls.as_ref()
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

/// Cluster mode: tells every user of this node, once, when Redis goes
/// away and once when it is back (`SERVER` / IRC `NOTICE`).
async fn tell_cluster_link(
    mut link: tokio::sync::watch::Receiver<bool>,
    directory: actix::Addr<Directory>,
) {
    let mut told = true;
    while link.changed().await.is_ok() {
        let reachable = *link.borrow_and_update();
        if reachable != told {
            told = reachable;
            let order = crate::core::opers::ServerOrder::ClusterLink { reachable };
            directory.do_send(crate::core::directory::OrderAll { order });
        }
    }
}
