//! Which route answers a request. The routes are fixed paths (and
//! `/files/` followed by an id); anything else is 404, a known path asked
//! with another method 405, and every answer carries the headers that
//! keep a browser from guessing types or leaking the URL (file links hold
//! a token).

use std::io;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};

use super::{assets, files, upgrade, HttpFrontEnd};

/// Every response's body: fixed bytes, or a file streamed from disk.
pub(super) type Body = UnsyncBoxBody<Bytes, io::Error>;

/// A fixed body.
pub(super) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// No body.
pub(super) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// A short plain-text answer: `<code> <reason>`.
pub(super) fn plain(status: StatusCode) -> Response<Body> {
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let mut res = Response::new(full(text));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut res = plain(StatusCode::METHOD_NOT_ALLOWED);
    res.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    res
}

/// The `Host` header, if it is readable.
pub(super) fn host(req: &Request<Incoming>) -> Option<&str> {
    req.headers().get(HOST).and_then(|h| h.to_str().ok())
}

/// The answer to `req` from `peer`.
pub(super) async fn answer(
    front: &HttpFrontEnd,
    req: Request<Incoming>,
    peer: std::net::SocketAddr,
) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    let readable = head || req.method() == Method::GET;
    let path = req.uri().path();
    let res = if let Some(asset) = assets::find(path) {
        if !readable {
            return finish(method_not_allowed("GET, HEAD"));
        }
        let body = if head { empty() } else { full(asset.body) };
        asset
            .head(host(&req))
            .body(body)
            .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR))
    } else if path == "/ws" {
        if req.method() != Method::GET {
            return finish(method_not_allowed("GET"));
        }
        upgrade::upgrade(front, req, peer)
    } else if path == "/metrics" {
        if !readable {
            return finish(method_not_allowed("GET, HEAD"));
        }
        metrics(front, &req).await
    } else if let Some(id) = path.strip_prefix("/files/") {
        if !readable {
            return finish(method_not_allowed("GET, HEAD"));
        }
        let id = id.to_owned();
        files::download(&front.0.core, &id, req, head).await
    } else {
        plain(StatusCode::NOT_FOUND)
    };
    finish(res)
}

/// `/metrics` on the clients' listener: only with `admin.token` set and
/// given as `Authorization: Bearer <token>`; otherwise it does not exist
/// (404), so that a scan learns nothing.
async fn metrics(front: &HttpFrontEnd, req: &Request<Incoming>) -> Response<Body> {
    let token = front.0.core.config().admin.token.clone();
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let allowed = match given {
        Some(given) => !token.is_empty() && same_secret(given.trim(), &token),
        None => false,
    };
    let handle = crate::telemetry::exporter();
    let (true, Some(handle)) = (allowed, handle) else {
        return plain(StatusCode::NOT_FOUND);
    };
    let text = crate::proto::admin::render(&front.0.core, &handle).await;
    let mut res = Response::new(full(text));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(crate::proto::admin::PROMETHEUS_TEXT),
    );
    res
}

/// Compares two secrets in a time that depends on their lengths only.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Adds the headers every answer carries.
fn finish(mut res: Response<Body>) -> Response<Body> {
    let headers = res.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // File links carry a token: never in a Referer.
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    res
}
