//! `GET /files/<id>?token=<token>`: a shared file for whoever holds a
//! token from `LINK` (see [`crate::core::files::link`]), streamed from
//! disk a chunk at a time, whole or one byte range.
//!
//! A bad or expired token is 403 whether or not the file exists; a file
//! that is gone (or a malformed id) is 404.

use std::io::SeekFrom;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::TryStreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{
    HeaderValue, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, IF_RANGE, RANGE,
};
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use tracing::{debug, warn};

use super::media::{disposition, media_for};
use super::range::{self, Ranged};
use super::routes::{empty, plain, Body};
use crate::core::files::GetFile;
use crate::core::services::Services;
use crate::core::store::FileRecord;
use crate::core::FileId;

/// Bytes read from disk and sent at once.
const CHUNK: usize = 64 * 1024;

/// The value of `name` in a query string (not percent-decoded: tokens
/// need no escaping).
fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The answer to a download of the file whose id is `word`.
pub(super) async fn download(
    core: &Arc<Services>,
    word: &str,
    req: Request<Incoming>,
    head: bool,
) -> Response<Body> {
    let Some(id) = FileId::parse(word) else {
        return plain(StatusCode::NOT_FOUND);
    };
    let token = req.uri().query().and_then(|q| query_param(q, "token"));
    let Some(Ok(())) = token.map(|t| core.links.verify(&id, t, SystemTime::now())) else {
        debug!(%id, "download refused: token");
        return plain(StatusCode::FORBIDDEN);
    };
    let (file, source) = match core.files.send(GetFile { id: id.clone() }).await {
        Ok(Some((file, path))) => (file, Source::Path(path)),
        // Cluster mode: received on another node, kept in Redis (the
        // token says LINK found it there for this user).
        _ => match core.file_elsewhere(id).await {
            Some((file, content)) => (file, Source::Open(content)),
            None => return plain(StatusCode::NOT_FOUND),
        },
    };
    let etag = format!("\"{}\"", file.sha256);
    let ranged = match req.headers().get(RANGE).and_then(|r| r.to_str().ok()) {
        // A range of another version than the one the client has: all of it.
        Some(_)
            if req
                .headers()
                .get(IF_RANGE)
                .is_some_and(|v| v.as_bytes() != etag.as_bytes()) =>
        {
            Ranged::Full
        }
        Some(r) => range::parse(r, file.size),
        None => Ranged::Full,
    };
    let (status, start, len) = match ranged {
        Ranged::Full => (StatusCode::OK, 0, file.size),
        Ranged::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Ranged::Unsatisfiable => {
            let mut res = plain(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", file.size)) {
                res.headers_mut().insert(CONTENT_RANGE, v);
            }
            return res;
        }
    };
    let body = if head {
        empty()
    } else {
        match open(source, start, len).await {
            Ok(body) => body,
            Err(e) => {
                // Deleted by retention since the lookup, most likely.
                warn!(%e, id = %file.id, "cannot read a shared file");
                return plain(StatusCode::NOT_FOUND);
            }
        }
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    describe(&mut res, &file, &etag, len);
    if status == StatusCode::PARTIAL_CONTENT {
        let end = start + len - 1;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", file.size)) {
            res.headers_mut().insert(CONTENT_RANGE, v);
        }
    }
    res
}

/// Where a download's bytes come from.
enum Source {
    /// A file of this node's, at its path.
    Path(std::path::PathBuf),
    /// A file another node received, spooled here from Redis.
    Open(tokio::fs::File),
}

/// `len` bytes of the file from `start`, as a body read a chunk at a time
/// (never the whole file in memory).
async fn open(source: Source, start: u64, len: u64) -> std::io::Result<Body> {
    let mut file = match source {
        Source::Path(path) => tokio::fs::File::open(path).await?,
        Source::Open(file) => file,
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start)).await?;
    }
    let stream = ReaderStream::with_capacity(file.take(len), CHUNK).map_ok(Frame::data);
    Ok(StreamBody::new(stream).boxed_unsync())
}

/// The headers that describe `file`, `len` bytes of it being sent.
fn describe(res: &mut Response<Body>, file: &FileRecord, etag: &str, len: u64) {
    let media = media_for(&file.filename);
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(media.content_type));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // A file's content never changes under its id.
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=600"),
    );
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition(&file.filename, media.inline)) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    // Opened on its own, a file runs nothing and loads nothing.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(query_param("token=1.ab", "token"), Some("1.ab"));
        assert_eq!(query_param("x=1&token=2.cd&y", "token"), Some("2.cd"));
        assert_eq!(query_param("tokens=1", "token"), None);
        assert_eq!(query_param("", "token"), None);
    }
}
