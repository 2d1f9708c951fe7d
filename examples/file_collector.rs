//! A bot that sits in a room and saves every file shared there.
//!
//! ```sh
//! cargo run --example file_collector -- 127.0.0.1:5555 '#drop' ./inbox [collector]
//! ```
//!
//! For each `FILE <room> <from> <id> <size> <sha256> <filename>` event it
//! sends `FETCH <id>`, streams the `DATA` body into a temporary file in the
//! directory, checks its sha256 against the event's, and renames it to a
//! safe name made from the sender's label: directory parts, control
//! characters and leading dots removed, length bounded, and ` (1)`,
//! ` (2)`, ... added before the extension when the name is taken. An
//! existing file is never overwritten. Each saved file gives one line on
//! stdout:
//!
//! ```text
//! saved <path> <size> <sha256>
//! ```
//!
//! Downloads run one at a time; files announced meanwhile wait in a queue.
//! Files sent to the bot's own nickname are saved the same way. If the
//! server goes away, the bot reconnects (with back-off), joins again and
//! resumes the queue.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use chatroom::client::ServerLine;
use chatroom::core::ErrorCode;
use chatroom::core::Event;
use chatroom::core::FileId;
use chatroom::proto::native::render::{OkReply, Reply};
use chatroom::proto::native::verb::ProtocolError;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long to wait for any line before giving up on the connection (the
/// server PINGs idle clients well before this).
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a download may stall without a byte arriving.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest server line accepted.
const MAX_LINE: u64 = 64 * 1024;
/// Bytes copied at a time.
const CHUNK: usize = 64 * 1024;
/// The longest saved name, before any ` (n)` suffix.
const MAX_NAME_BYTES: usize = 100;
/// An extension longer than this is not kept apart when shortening a name.
const MAX_EXT_BYTES: usize = 16;
/// How many ` (n)` suffixes are tried before giving up on a name.
const MAX_COPIES: u32 = 10_000;

const USAGE: &str = "usage: file_collector ADDR ROOM DIR [NICK]";

/// A file announced by a `FILE` event, waiting to be fetched.
#[derive(Debug, Clone)]
struct Offer {
    id: FileId,
    from: String,
    size: u64,
    sha256: String,
    filename: String,
}

/// One connection to the server.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    out: OwnedWriteHalf,
}

impl Conn {
    async fn send(&mut self, line: &str) -> anyhow::Result<()> {
        self.out.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(())
    }

    /// The next server line, at most [`MAX_LINE`] bytes long.
    async fn next(&mut self) -> anyhow::Result<ServerLine> {
        let mut buf = Vec::new();
        let mut limited = (&mut self.reader).take(MAX_LINE);
        let n = tokio::time::timeout(READ_TIMEOUT, limited.read_until(b'\n', &mut buf))
            .await
            .context("server silent for too long")??;
        if n == 0 {
            bail!("server closed the connection");
        }
        if buf.last() != Some(&b'\n') {
            bail!("the server sent an unterminated or over-long line");
        }
        let line = String::from_utf8(buf).context("the server sent a line that is not UTF-8")?;
        Ok(ServerLine::parse(&line)?)
    }
}

/// A temporary file that is removed unless it was kept.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("not yet kept")
    }

    /// Renames it to `to`, which it replaces.
    async fn keep_as(mut self, to: &Path) -> io::Result<()> {
        tokio::fs::rename(self.path(), to).await?;
        self.0 = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A downloaded body, in its temporary file.
struct Body {
    temp: TempFile,
    size: u64,
    sha256: String,
    /// Set when the disk refused the content (the body was still read to
    /// its end, so the connection stays in sync).
    write_error: Option<io::Error>,
}

/// The bot's state, which outlives connections.
struct Collector {
    room: String,
    nick: String,
    dir: PathBuf,
    /// Files announced and not yet fetched, oldest first.
    queue: VecDeque<Offer>,
    /// Numbers temporary files.
    downloads: u64,
}

impl Collector {
    /// Connects, picks a free nickname and joins the room.
    async fn connect(&mut self, addr: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, out) = stream.into_split();
        let mut conn = Conn {
            reader: BufReader::new(read),
            out,
        };
        match conn.next().await? {
            ServerLine::Reply(Reply::Hello { .. }) => {}
            ServerLine::Reply(Reply::Err(e)) => bail!("refused: {} {}", e.code, e.text),
            other => bail!("unexpected greeting {other:?}"),
        }
        let mut nick = None;
        for attempt in 0..10 {
            let wanted = if attempt == 0 {
                self.nick.clone()
            } else {
                format!("{}{attempt}", self.nick)
            };
            conn.send(&format!("NICK {wanted}")).await?;
            match self.final_reply(&mut conn).await? {
                Ok(_) => {
                    nick = Some(wanted);
                    break;
                }
                Err(e) if e.code == ErrorCode::NickInUse => continue,
                Err(e) => bail!("NICK refused: {} {}", e.code, e.text),
            }
        }
        let nick = nick.context("no free nickname")?;
        conn.send(&format!("JOIN {}", self.room)).await?;
        match self.final_reply(&mut conn).await? {
            Ok(OkReply::Join(name)) => self.room = name.as_str().to_string(),
            Ok(other) => bail!("unexpected reply {other:?}"),
            Err(e) => bail!("JOIN refused: {} {}", e.code, e.text),
        }
        println!("joined {} as {nick}", self.room);
        Ok(conn)
    }

    /// Reads until the final reply of the last command, handling events
    /// that arrive meanwhile.
    async fn final_reply(
        &mut self,
        conn: &mut Conn,
    ) -> anyhow::Result<Result<OkReply, ProtocolError>> {
        loop {
            match conn.next().await? {
                ServerLine::Reply(Reply::Ok(ok)) => return Ok(Ok(ok)),
                ServerLine::Reply(Reply::Err(e)) => return Ok(Err(e)),
                other => self.on_line(conn, other).await?,
            }
        }
    }

    /// Reacts to a line that is not the reply being waited for.
    async fn on_line(&mut self, conn: &mut Conn, line: ServerLine) -> anyhow::Result<()> {
        match line {
            ServerLine::Reply(Reply::Ping(token)) => conn.send(&format!("PONG {token}")).await?,
            ServerLine::Reply(Reply::Server(text)) => eprintln!("server: {text}"),
            ServerLine::Event(Event::File {
                from,
                id,
                size,
                sha256,
                filename,
                ..
            }) => self.queue.push_back(Offer {
                id,
                from: from.as_str().to_string(),
                size,
                sha256,
                filename,
            }),
            _ => {}
        }
        Ok(())
    }

    /// Fetches queued files, and waits for more.
    async fn serve(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        loop {
            if let Some(offer) = self.queue.pop_front() {
                if let Err(e) = self.fetch(conn, &offer).await {
                    // The connection failed: try again after reconnecting.
                    self.queue.push_front(offer);
                    return Err(e);
                }
            } else {
                let line = conn.next().await?;
                self.on_line(conn, line).await?;
            }
        }
    }

    /// Downloads one file and saves it. Only connection failures are
    /// errors; a refused or corrupt file is reported and skipped.
    async fn fetch(&mut self, conn: &mut Conn, offer: &Offer) -> anyhow::Result<()> {
        let what = format!(
            "file {} ({:?} from {})",
            offer.id, offer.filename, offer.from
        );
        conn.send(&format!("FETCH {}", offer.id)).await?;
        let size = loop {
            match conn.next().await? {
                ServerLine::Reply(Reply::Data { size, .. }) => break size,
                ServerLine::Reply(Reply::Err(e)) => {
                    eprintln!("error: {what} refused: {} {}", e.code, e.text);
                    return Ok(());
                }
                ServerLine::Reply(Reply::Ok(other)) => bail!("unexpected reply {other:?} to FETCH"),
                other => self.on_line(conn, other).await?,
            }
        };
        let body = self.receive(conn, size).await?;
        // The body is done: line framing resumes, up to `OK FETCH`.
        match self.final_reply(conn).await? {
            Ok(OkReply::Fetch(_)) => {}
            Ok(other) => bail!("unexpected reply {other:?} to FETCH"),
            Err(e) => {
                eprintln!("error: {what} failed: {} {}", e.code, e.text);
                return Ok(());
            }
        }
        if let Some(e) = body.write_error {
            eprintln!(
                "error: {what} could not be written to {}: {e}",
                self.dir.display()
            );
            return Ok(());
        }
        if body.size != offer.size || body.sha256 != offer.sha256 {
            eprintln!(
                "error: {what} is corrupt: announced {} bytes with sha256 {}, received {} bytes with sha256 {}; discarded",
                offer.size, offer.sha256, body.size, body.sha256
            );
            return Ok(());
        }
        match save(body.temp, &self.dir, &safe_name(&offer.filename)).await {
            Ok(path) => println!("saved {} {} {}", path.display(), body.size, body.sha256),
            Err(e) => eprintln!("error: {what} could not be saved: {e}"),
        }
        Ok(())
    }

    /// Reads exactly `size` raw bytes from the connection into a new
    /// temporary file in the directory, hashing them on the way.
    async fn receive(&mut self, conn: &mut Conn, size: u64) -> anyhow::Result<Body> {
        self.downloads += 1;
        let path = self.dir.join(format!(
            ".collector-{}-{}.part",
            std::process::id(),
            self.downloads
        ));
        let temp = TempFile(Some(path));
        let (mut file, mut write_error) = match tokio::fs::File::create(temp.path()).await {
            Ok(file) => (Some(file), None),
            Err(e) => (None, Some(e)),
        };
        let mut body = (&mut conn.reader).take(size);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        let mut received = 0u64;
        loop {
            let n = tokio::time::timeout(BODY_TIMEOUT, body.read(&mut buf))
                .await
                .context("download stalled")??;
            if n == 0 {
                break;
            }
            received += n as u64;
            hasher.update(&buf[..n]);
            if let Some(f) = file.as_mut() {
                if let Err(e) = f.write_all(&buf[..n]).await {
                    write_error = Some(e);
                    file = None;
                }
            }
        }
        if received != size {
            bail!("server closed the connection after {received} of {size} bytes");
        }
        if let Some(mut f) = file {
            // tokio writes in the background: wait until the data is in.
            if let Err(e) = f.flush().await {
                write_error = Some(e);
            }
        }
        Ok(Body {
            temp,
            size,
            sha256: chatroom::core::files::content::hex(&hasher.finalize()),
            write_error,
        })
    }
}

/// Moves `temp` into `dir` under `name`, or under `name (1)`, `name (2)`...
/// if taken. A name is claimed by creating it exclusively, so a file that
/// exists, or appears meanwhile, is never overwritten.
async fn save(temp: TempFile, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for copy in 0..=MAX_COPIES {
        let path = dir.join(numbered(name, copy));
        let claimed = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await;
        match claimed {
            Ok(placeholder) => {
                drop(placeholder);
                if let Err(e) = temp.keep_as(&path).await {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(e);
                }
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{name} and {MAX_COPIES} numbered copies exist already"),
    ))
}

/// A file name made from a sender's label, safe to create in a directory:
/// only its last component (after `/` or `\`), without control characters,
/// leading dots or surrounding spaces, at most [`MAX_NAME_BYTES`] bytes
/// (the extension is kept when shortening), and `file` if nothing is left.
fn safe_name(label: &str) -> String {
    let last = label.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    if clean.is_empty() {
        return "file".to_string();
    }
    if clean.len() <= MAX_NAME_BYTES {
        return clean.to_string();
    }
    let (stem, ext) = split_ext(clean);
    let ext = if ext.len() <= MAX_EXT_BYTES { ext } else { "" };
    let stem = truncate(stem, MAX_NAME_BYTES - ext.len());
    format!("{}{ext}", stem.trim_end())
}

/// `name` with ` (copy)` before its extension; `name` itself for 0.
fn numbered(name: &str, copy: u32) -> String {
    if copy == 0 {
        return name.to_string();
    }
    let (stem, ext) = split_ext(name);
    format!("{stem} ({copy}){ext}")
}

/// Splits `report.final.pdf` into `report.final` and `.pdf`; a name with
/// no dot after its first character has no extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char
/// boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, room, dir, nick) = match args.as_slice() {
        [addr, room, dir] => (addr, room, dir, "collector"),
        [addr, room, dir, nick] => (addr, room, dir, nick.as_str()),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let dir = PathBuf::from(dir);
    tokio::fs::create_dir_all(&dir)
        .await
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut collector = Collector {
        room: room.clone(),
        nick: nick.to_string(),
        dir,
        queue: VecDeque::new(),
        downloads: 0,
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        match collector.connect(addr).await {
            Ok(mut conn) => {
                backoff = Duration::from_secs(1);
                if let Err(e) = collector.serve(&mut conn).await {
                    eprintln!("disconnected: {e:#}");
                }
            }
            Err(e) => eprintln!("cannot connect to {addr}: {e:#}"),
        }
        eprintln!("reconnecting in {backoff:?}");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        let long_ext = format!("{}.txt", "x".repeat(150));
        let multibyte = format!("a{}", "é".repeat(80));
        let cases: [(&str, String); 14] = [
            ("report.pdf", "report.pdf".into()),
            ("../evil name.txt", "evil name.txt".into()),
            ("/etc/passwd", "passwd".into()),
            (r"..\..\windows\win.ini", "win.ini".into()),
            ("dir/", "file".into()),
            ("..", "file".into()),
            ("...", "file".into()),
            (".bashrc", "bashrc".into()),
            ("  . hidden ", "hidden".into()),
            ("a\u{7}b\tc\u{1b}[31m.txt", "abc[31m.txt".into()),
            ("\u{0}", "file".into()),
            (&long_ext, format!("{}.txt", "x".repeat(96))),
            // 1 + 49 * 2 = 99 bytes: the 50th é would cross the limit.
            (&multibyte, format!("a{}", "é".repeat(49))),
            ("né.tar.gz", "né.tar.gz".into()),
        ];
        for (label, want) in cases {
            let got = safe_name(label);
            assert_eq!(got, want, "{label:?}");
            assert!(got.len() <= MAX_NAME_BYTES);
        }
    }

    #[test]
    fn numbered_names() {
        assert_eq!(numbered("a.txt", 0), "a.txt");
        assert_eq!(numbered("a.txt", 1), "a (1).txt");
        assert_eq!(numbered("archive.tar.gz", 2), "archive.tar (2).gz");
        assert_eq!(numbered("README", 3), "README (3)");
    }

    #[tokio::test]
    async fn save_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        for (i, want) in ["x.txt", "x (1).txt", "x (2).txt"].iter().enumerate() {
            let temp = dir.path().join(format!(".t{i}"));
            std::fs::write(&temp, i.to_string()).unwrap();
            let path = save(TempFile(Some(temp.clone())), dir.path(), "x.txt")
                .await
                .unwrap();
            assert_eq!(path, dir.path().join(want));
            assert_eq!(std::fs::read_to_string(&path).unwrap(), i.to_string());
            assert!(!temp.exists());
        }
    }
}
