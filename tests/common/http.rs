//! A plain HTTP/1.1 client over a `TcpStream`: one request written as raw
//! bytes, the answer read to its end (`Connection: close`), so that tests
//! see exactly what the server sends.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::READ_TIMEOUT;

/// An answer.
#[derive(Debug)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent (no transfer coding is used by the routes tested).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of header `name` (lower case), if present once or more.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` (the whole request, as bytes) and reads the answer until
/// the server closes.
pub fn raw(addr: SocketAddr, request: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.write_all(request).expect("write");
    let mut got = Vec::new();
    if let Err(e) = stream.read_to_end(&mut got) {
        // A reset after the answer (the server closed with unread input).
        assert!(
            e.kind() == std::io::ErrorKind::ConnectionReset && !got.is_empty(),
            "no answer: {e}"
        );
    }
    parse(&got)
}

/// `method path` with `headers` (each `Name: value`), `Connection: close`.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> HttpResponse {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    raw(addr, req.as_bytes())
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    request(addr, "GET", path, &[])
}

fn parse(got: &[u8]) -> HttpResponse {
    let end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(got)));
    let head = std::str::from_utf8(&got[..end]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("a header");
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: got[end + 4..].to_vec(),
    }
}
