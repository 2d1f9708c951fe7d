//! The HTTP listener with a plain HTTP client: the web client's page and
//! assets, file links (`LINK`, then `GET /files/<id>?token=…`) with
//! ranges and their refusals, and what no route answers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::http::{get, raw, request};
use common::{start, Client};

#[test]
fn the_page_and_its_assets_are_served_with_their_policy() {
    let s = start("[history]\nenabled = false");
    let addr = s.http_addr();
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.body, include_bytes!("../web/index.html"));
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let csp = page.header("content-security-policy").expect("a policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{addr} wss://{addr};")),
        "{csp}"
    );
    let js = get(addr, "/app.js");
    assert_eq!(js.status, 200);
    assert_eq!(js.body, include_bytes!("../web/app.js"));
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let css = get(addr, "/app.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.body, include_bytes!("../web/app.css"));
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
}

#[test]
fn head_answers_like_get_without_the_body() {
    let s = start("[history]\nenabled = false");
    let res = request(s.http_addr(), "HEAD", "/app.js", &[]);
    assert_eq!(res.status, 200);
    assert!(res.body.is_empty());
    let len = include_bytes!("../web/app.js").len().to_string();
    assert_eq!(res.header("content-length"), Some(len.as_str()));
    assert_eq!(
        res.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
}

#[test]
fn no_other_route_exists() {
    let s = start("[history]\nenabled = false");
    let addr = s.http_addr();
    for path in [
        "/index.html",
        "/web/index.html",
        "/app.js/",
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "//etc/passwd",
        "/files",
        "/files/",
        "/files/../../Cargo.toml",
        "/files/..%2F..%2FCargo.toml",
        "/files/0123456789abcdef0123/../../x",
        "/src/main.rs",
        "/favicon.ico",
    ] {
        let res = get(addr, path);
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    let post = request(addr, "POST", "/", &["Content-Length: 0"]);
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let put = request(addr, "PUT", "/ws", &["Content-Length: 0"]);
    assert_eq!(put.status, 405);
    // /ws without an upgrade.
    assert_eq!(get(addr, "/ws").status, 426);
}

#[test]
fn an_oversized_head_is_refused() {
    let s = start("[history]\nenabled = false\n[http]\nmax_header_bytes = 2048");
    let addr = s.http_addr();
    let big = format!("X-Filler: {}", "a".repeat(3000));
    assert_eq!(request(addr, "GET", "/", &[&big]).status, 431);
    // Many small headers add up too.
    let many: Vec<String> = (0..200).map(|i| format!("X-H{i}: {i:020}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(request(addr, "GET", "/", &many).status, 431);
    // A request within the bound is fine.
    assert_eq!(request(addr, "GET", "/", &["X-Small: 1"]).status, 200);
}

#[test]
fn a_head_sent_too_slowly_is_dropped() {
    let s = start("[history]\nenabled = false\n[http]\nheader_timeout_secs = 1");
    let mut stream = TcpStream::connect(s.http_addr()).unwrap();
    stream.set_read_timeout(Some(common::READ_TIMEOUT)).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    // Closed (possibly after a 408) well before the read timeout.
    let _ = stream.read_to_end(&mut rest);
    assert!(started.elapsed() < common::READ_TIMEOUT);
    assert!(
        rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[test]
fn connections_past_the_bound_are_turned_away() {
    let s = start("[history]\nenabled = false\n[http]\nmax_connections = 1");
    let addr = s.http_addr();
    // An idle connection holds the one place.
    let idle = TcpStream::connect(addr).unwrap();
    // Served in order: once the idle one is counted, the next is refused.
    let refused = raw(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(refused.status, 503);
    drop(idle);
}

/// Uploads `data` as `name` from `alice` (in `#r`) and returns its id.
fn upload(alice: &mut Client, name: &str, data: &[u8]) -> String {
    alice.send(&format!("FILE #r {} {name}", data.len()));
    alice.send_bytes(data);
    let ok = alice.line();
    ok.strip_prefix("OK FILE ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("got {ok:?}"))
        .to_owned()
}

/// `LINK id` from `c`: the path it answers.
fn link(c: &mut Client, id: &str) -> String {
    c.send(&format!("LINK {id}"));
    let ok = c.line();
    let prefix = format!("OK LINK {id} ");
    let path = ok
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("got {ok:?}"));
    assert!(path.starts_with(&format!("/files/{id}?token=")), "{path}");
    path.to_owned()
}

#[test]
fn a_link_downloads_the_exact_bytes_for_a_while() {
    let s = start("[history]\nenabled = false");
    let mut alice = Client::join(s.addr(), "alice", "#r");
    let mut outsider = Client::register(s.addr(), "eve");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let id = upload(&mut alice, "Zoë's photo.png", &data);
    let path = link(&mut alice, &id);

    let res = get(s.http_addr(), &path);
    assert_eq!(res.status, 200);
    assert!(res.body == data, "the body differs");
    assert_eq!(res.header("content-type"), Some("image/png"));
    assert_eq!(
        res.header("content-disposition"),
        Some("inline; filename=\"Zo__s photo.png\"; filename*=UTF-8''Zo%C3%AB%27s%20photo.png")
    );
    assert_eq!(res.header("accept-ranges"), Some("bytes"));
    assert_eq!(res.header("content-length"), Some("300000"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(res.header("referrer-policy"), Some("no-referrer"));

    // HEAD: the same head, no body.
    let head = request(s.http_addr(), "HEAD", &path, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("300000"));
    assert!(head.body.is_empty());

    // Whoever may not FETCH it gets no link either.
    outsider.send(&format!("LINK {id}"));
    outsider.expect(&format!("ERR LINK NO_SUCH_FILE no file {id} for you"));
    outsider.send("LINK ../../etc/passwd");
    outsider.expect("ERR LINK NO_SUCH_FILE no file ../../etc/passwd for you");
    outsider.send("LINK");
    outsider.expect("ERR LINK BAD_SYNTAX usage: LINK <id>");
}

#[test]
fn ranges_are_served_as_parts() {
    let s = start("[history]\nenabled = false");
    let mut alice = Client::join(s.addr(), "alice", "#r");
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let id = upload(&mut alice, "notes.txt", &data);
    let path = link(&mut alice, &id);
    let addr = s.http_addr();

    let part = request(addr, "GET", &path, &["Range: bytes=10-19"]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &data[10..20]);
    assert_eq!(part.header("content-range"), Some("bytes 10-19/1000"));
    assert_eq!(part.header("content-length"), Some("10"));
    assert_eq!(
        part.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let tail = request(addr, "GET", &path, &["Range: bytes=-5"]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, &data[995..]);
    assert_eq!(tail.header("content-range"), Some("bytes 995-999/1000"));

    let past = request(addr, "GET", &path, &["Range: bytes=1000-"]);
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */1000"));

    // Several ranges: the whole file, which RFC 9110 allows.
    let several = request(addr, "GET", &path, &["Range: bytes=0-1,5-6"]);
    assert_eq!(several.status, 200);
    assert_eq!(several.body, data);
}

#[test]
fn a_bad_or_missing_token_is_forbidden() {
    let s = start("[history]\nenabled = false");
    let mut alice = Client::join(s.addr(), "alice", "#r");
    let a = upload(&mut alice, "a.txt", b"aaaa");
    let b = upload(&mut alice, "b.txt", b"bbbb");
    let path_a = link(&mut alice, &a);
    let token_a = path_a.split_once("token=").unwrap().1;
    let (expiry, mac) = token_a.split_once('.').unwrap();
    let addr = s.http_addr();
    let flipped = format!(
        "{}{}",
        &mac[..mac.len() - 1],
        if mac.ends_with('0') { '1' } else { '0' }
    );
    let later: u64 = expiry.parse::<u64>().unwrap() + 3600;
    for path in [
        format!("/files/{a}"),
        format!("/files/{a}?token="),
        format!("/files/{a}?token={expiry}.{flipped}"),
        format!("/files/{a}?token={later}.{mac}"),
        // A's token opens A only.
        format!("/files/{b}?token={token_a}"),
        // And a token for nothing that exists.
        format!("/files/0123456789abcdef0123?token={token_a}"),
    ] {
        assert_eq!(get(addr, &path).status, 403, "{path}");
    }
    assert_eq!(get(addr, &path_a).status, 200);
}

#[test]
fn a_file_past_its_retention_is_gone() {
    let s = start("[history]\nenabled = false\n[files]\nretention_secs = 1");
    let mut alice = Client::join(s.addr(), "alice", "#r");
    let id = upload(&mut alice, "short.txt", b"short-lived");
    let path = link(&mut alice, &id);
    let first = get(s.http_addr(), &path);
    assert_eq!(
        (first.status, first.body.as_slice()),
        (200, &b"short-lived"[..])
    );
    // Retention deletes it within a second or so: poll, bounded.
    let deadline = Instant::now() + common::READ_TIMEOUT;
    loop {
        let res = get(s.http_addr(), &path);
        if res.status == 404 {
            break;
        }
        assert_eq!(res.status, 200);
        assert!(Instant::now() < deadline, "never expired");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn types_shown_inline_and_types_only_downloaded() {
    let s = start("[history]\nenabled = false");
    let mut alice = Client::join(s.addr(), "alice", "#r");
    for (name, content_type, disposition) in [
        ("x.svg", "image/svg+xml", "attachment"),
        ("page.html", "application/octet-stream", "attachment"),
        ("a.JPG", "image/jpeg", "inline"),
        ("log.md", "text/plain; charset=utf-8", "inline"),
    ] {
        let id = upload(&mut alice, name, b"<svg onload=alert(1)>");
        let res = get(s.http_addr(), &link(&mut alice, &id));
        assert_eq!(res.status, 200);
        assert_eq!(res.header("content-type"), Some(content_type), "{name}");
        let d = res.header("content-disposition").unwrap();
        assert!(d.starts_with(&format!("{disposition}; ")), "{name}: {d}");
        let csp = res.header("content-security-policy").unwrap();
        assert!(csp.contains("sandbox"), "{name}: {csp}");
    }
}
