//! The admin front end: the operator's own HTTP listener (`admin.listen`,
//! `127.0.0.1:9555` by default), apart from the clients' so that it can be
//! kept private. Two routes:
//!
//! - `GET /metrics`: every metric in the Prometheus text format (the
//!   `metrics-exporter-prometheus` recorder's rendering; the gauges that
//!   are sampled rather than counted are read just before);
//! - `GET /healthz`: `200 ok` once the listeners are bound and the
//!   database is open, `503` before and while shutting down.
//!
//! Served like [`proto::http`](crate::proto::http): hyper's HTTP/1 server
//! driven as a task on the server's actix thread; no request body is
//! read, the head is bounded in time, and at most [`MAX_CONNECTIONS`]
//! connections are served at once.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpStream;
use tracing::{debug, info};

use crate::core::directory::GetCounts;
use crate::core::services::Services;
use crate::telemetry::{self, Sampled};
use crate::transport::connections;

/// Admin connections served at once (a scraper or two, a health check).
pub const MAX_CONNECTIONS: usize = 16;
/// Seconds a client has to send a request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The content type of the Prometheus text format.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a connection refused for lack of room is told.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

struct Shared {
    core: Arc<Services>,
    metrics: Option<PrometheusHandle>,
    ready: Cell<bool>,
    open: Cell<usize>,
}

/// The admin front end (a handle: clones share it).
#[derive(Clone)]
pub struct AdminFrontEnd(Rc<Shared>);

/// Counts one open admin connection until dropped.
struct Open(Rc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.set(self.0.open.get() - 1);
    }
}

impl AdminFrontEnd {
    /// The front end over `core`, rendering `metrics` (none: `/metrics`
    /// answers 503). Not ready until [`AdminFrontEnd::set_ready`].
    pub fn new(core: Arc<Services>, metrics: Option<PrometheusHandle>) -> Self {
        AdminFrontEnd(Rc::new(Shared {
            core,
            metrics,
            ready: Cell::new(false),
            open: Cell::new(0),
        }))
    }

    /// Whether `/healthz` says the server is ready: set once the
    /// listeners are bound and the database is open, cleared at shutdown.
    pub fn set_ready(&self, ready: bool) {
        self.0.ready.set(ready);
    }

    /// Serves a freshly accepted connection in a task of its own on this
    /// thread.
    pub fn accept_tcp(&self, stream: TcpStream, peer: SocketAddr) {
        if self.0.open.get() >= MAX_CONNECTIONS {
            info!(%peer, "admin connection refused: too many");
            connections::refuse(stream, BUSY);
            return;
        }
        self.0.open.set(self.0.open.get() + 1);
        let open = Open(Rc::clone(&self.0));
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT);
        let front = self.clone();
        let service = service_fn(move |req| {
            let front = front.clone();
            async move { Ok::<_, Infallible>(front.answer(req).await) }
        });
        actix::spawn(async move {
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(%peer, %e, "admin connection ended");
            }
            drop(open);
        });
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        if path != "/metrics" && path != "/healthz" {
            return text(StatusCode::NOT_FOUND, "not found\n");
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut res = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        if path == "/healthz" {
            return match self.0.ready.get() {
                true => text(StatusCode::OK, "ok\n"),
                false => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
            };
        }
        match &self.0.metrics {
            Some(handle) => metrics_response(render(&self.0.core, handle).await),
            None => text(StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder\n"),
        }
    }
}

/// Samples the gauges read at scrape time, then renders every metric in
/// the Prometheus text format.
pub async fn render(core: &Services, handle: &PrometheusHandle) -> String {
    let counts = core.directory.send(GetCounts).await.ok();
    let database_bytes = match core.db {
        Some(_) => Some(database_bytes(&core.config().history.db).await),
        None => None,
    };
    telemetry::sample(Sampled {
        users: counts.as_ref().map_or(0, |c| c.users),
        rooms: counts.as_ref().map_or(0, |c| c.rooms),
        database_bytes,
    });
    handle.render()
}

/// The database's size on disk: its file, its write-ahead log and its
/// shared-memory index.
async fn database_bytes(db: &std::path::Path) -> u64 {
    let mut total = 0;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        if let Ok(meta) = tokio::fs::metadata(&path).await {
            total += meta.len();
        }
    }
    total
}

/// A `200` carrying `body` as Prometheus text.
fn metrics_response(body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
    res
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
