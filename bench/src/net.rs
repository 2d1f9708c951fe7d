//! The client side of one benchmark connection: connecting, a cheap line
//! reader, the set-up dialogue (HELLO, NICK, JOIN) and the bench message
//! format. Lines are looked at as bytes; nothing is allocated per line.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// Reads a byte stream and hands out complete lines (without the `\n`).
pub struct LineReader<R> {
    io: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// The longest server line the reader accepts (a NAMES line of a full room
/// is split by the server, so this is generous).
const MAX_LINE: usize = 4 << 20;

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader with a buffer of `capacity` bytes to start with.
    pub fn new(io: R, capacity: usize) -> Self {
        LineReader {
            io,
            buf: vec![0; capacity.max(256)],
            start: 0,
            end: 0,
        }
    }

    /// Reads whatever the socket has (one read call); `Ok(0)` is EOF.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "server line longer than 4 MiB",
                ));
            }
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        let n = self.io.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// The next complete line already read, if any.
    pub fn next_line(&mut self) -> Option<&[u8]> {
        let pending = &self.buf[self.start..self.end];
        let at = memchr::memchr(b'\n', pending)?;
        let line = &self.buf[self.start..self.start + at];
        self.start += at + 1;
        Some(line)
    }

    /// Gives the stream back (buffered bytes are dropped).
    pub fn into_inner(self) -> R {
        self.io
    }
}

/// Connects with a time limit, sets `TCP_NODELAY`, and an abortive close
/// (`SO_LINGER` 0) so that runs of thousands of connections do not leave
/// the client's ports in `TIME_WAIT`.
pub async fn connect(addr: SocketAddr, limit: Duration) -> anyhow::Result<TcpStream> {
    let stream = timeout(limit, TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("connect to {addr} timed out after {limit:?}"))?
        .with_context(|| format!("connect to {addr}"))?;
    stream.set_nodelay(true)?;
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    Ok(stream)
}

/// One connection, split: a line reader and the write half.
pub struct Conn {
    /// Reads server lines.
    pub rd: LineReader<OwnedReadHalf>,
    /// Writes client lines.
    pub wr: OwnedWriteHalf,
}

impl Conn {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream, capacity: usize) -> Self {
        let (rd, wr) = stream.into_split();
        Conn {
            rd: LineReader::new(rd, capacity),
            wr,
        }
    }

    /// Writes `line` (which must end in `\n`) within `limit`.
    pub async fn send(&mut self, line: &[u8], limit: Duration) -> anyhow::Result<()> {
        write_within(&mut self.wr, line, limit).await
    }

    /// Reads lines until one for which `done` says yes, within `limit` in
    /// all. `ERR` and `SERVER` lines fail; `PING` is answered; anything
    /// else (events, NAMES lines) is skipped.
    pub async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[u8]) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let mut pong: Option<Vec<u8>> = None;
            while let Some(line) = self.rd.next_line() {
                if done(line) {
                    return Ok(());
                }
                match classify(line) {
                    Kind::Err | Kind::Server => bail!(
                        "waiting for {what}, the server said: {}",
                        String::from_utf8_lossy(line)
                    ),
                    Kind::Ping => pong = Some(pong_for(line)),
                    _ => {}
                }
            }
            if let Some(p) = pong {
                self.send(&p, limit).await?;
            }
            match tokio::time::timeout_at(deadline, self.rd.fill()).await {
                Err(_) => bail!("no {what} from the server within {limit:?}"),
                Ok(Ok(0)) => bail!("the server closed the connection while waiting for {what}"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e).context(format!("reading {what}")),
            }
        }
    }
}

/// Writes all of `bytes` within `limit`.
pub async fn write_within<W: AsyncWrite + Unpin>(
    wr: &mut W,
    bytes: &[u8],
    limit: Duration,
) -> anyhow::Result<()> {
    match timeout(limit, wr.write_all(bytes)).await {
        Ok(res) => res.context("write to the server"),
        Err(_) => bail!("the server did not take our data within {limit:?}"),
    }
}

/// Connects, reads `HELLO`, and registers `nick`.
pub async fn connect_and_register(
    addr: SocketAddr,
    nick: &str,
    limit: Duration,
    capacity: usize,
) -> anyhow::Result<Conn> {
    let mut conn = Conn::new(connect(addr, limit).await?, capacity);
    conn.wait_for("HELLO", limit, |l| l.starts_with(b"HELLO "))
        .await?;
    conn.send(format!("NICK {nick}\n").as_bytes(), limit)
        .await?;
    conn.wait_for("OK NICK", limit, |l| l.starts_with(b"OK NICK"))
        .await?;
    Ok(conn)
}

/// Joins `room` and waits for `OK JOIN`.
pub async fn join(conn: &mut Conn, room: &str, limit: Duration) -> anyhow::Result<()> {
    conn.send(format!("JOIN {room}\n").as_bytes(), limit)
        .await?;
    conn.wait_for("OK JOIN", limit, |l| l.starts_with(b"OK JOIN"))
        .await
}

/// What a server line is, as far as the benchmark cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `MSG <room> <from> <text>`
    Msg,
    /// `OK MSG <room>`
    OkMsg,
    /// Any other `OK`.
    Ok,
    /// `ERR ...`
    Err,
    /// `PING <token>`
    Ping,
    /// `SERVER <text>`
    Server,
    /// `QUIT`, `PART` or `KICK`: someone left a room.
    Left,
    /// Anything else (JOIN, NAMES, ...).
    Other,
}

/// Classifies a line by its first bytes.
#[inline]
pub fn classify(line: &[u8]) -> Kind {
    match line.first() {
        Some(b'M') if line.starts_with(b"MSG ") => Kind::Msg,
        Some(b'O') if line.starts_with(b"OK MSG") => Kind::OkMsg,
        Some(b'O') if line.starts_with(b"OK ") => Kind::Ok,
        Some(b'E') if line.starts_with(b"ERR ") => Kind::Err,
        Some(b'P') if line.starts_with(b"PING") => Kind::Ping,
        Some(b'P') if line.starts_with(b"PART ") => Kind::Left,
        Some(b'S') if line.starts_with(b"SERVER") => Kind::Server,
        Some(b'Q') if line.starts_with(b"QUIT ") => Kind::Left,
        Some(b'K') if line.starts_with(b"KICK ") => Kind::Left,
        _ => Kind::Other,
    }
}

/// The `PONG` answering a `PING [token]` line.
pub fn pong_for(ping: &[u8]) -> Vec<u8> {
    let mut out = b"PONG".to_vec();
    out.extend_from_slice(&ping[4..]);
    out.push(b'\n');
    out
}

/// What a bench message carries: `<sender>:<seq>:<nanos> <padding>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The sender's global client number.
    pub sender: u64,
    /// Its sequence number, from 0.
    pub seq: u64,
    /// When it was sent (or due, at a fixed rate), in ns since the run began.
    pub nanos: u64,
}

/// Appends `MSG <room> <sender>:<seq>:<nanos> xxx...\n`, the text padded
/// with `x` to `size` bytes (never cut below the stamp).
pub fn push_msg(out: &mut Vec<u8>, room: &str, stamp: Stamp, size: usize) {
    out.extend_from_slice(b"MSG ");
    out.extend_from_slice(room.as_bytes());
    out.push(b' ');
    let text_start = out.len();
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(stamp.sender).as_bytes());
    out.push(b':');
    out.extend_from_slice(digits.format(stamp.seq).as_bytes());
    out.push(b':');
    out.extend_from_slice(digits.format(stamp.nanos).as_bytes());
    let stamp_len = out.len() - text_start;
    if size > stamp_len + 1 {
        out.push(b' ');
        out.resize(text_start + size, b'x');
    }
    out.push(b'\n');
}

/// Reads the stamp of a received `MSG <room> <from> <text>` line; `None`
/// for a message that is not ours.
#[inline]
pub fn parse_msg(line: &[u8]) -> Option<Stamp> {
    let rest = line.get(4..)?;
    let rest = &rest[memchr::memchr(b' ', rest)? + 1..];
    let text = &rest[memchr::memchr(b' ', rest)? + 1..];
    let (sender, text) = number(text, b':')?;
    let (seq, text) = number(text, b':')?;
    let (nanos, _) = number(text, b' ')?;
    Some(Stamp { sender, seq, nanos })
}

/// A decimal number ending at `end` (or at the end of `s`), and the rest.
#[inline]
fn number(s: &[u8], end: u8) -> Option<(u64, &[u8])> {
    let mut n: u64 = 0;
    for (i, &b) in s.iter().enumerate() {
        if b == end {
            return (i > 0).then_some((n, &s[i + 1..]));
        }
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (!s.is_empty()).then_some((n, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_through_the_server_rendering() {
        let stamp = Stamp {
            sender: 7,
            seq: 123,
            nanos: 9_876_543_210,
        };
        let mut out = Vec::new();
        push_msg(&mut out, "#bench_0", stamp, 64);
        let line = std::str::from_utf8(&out).unwrap();
        let text = line.strip_prefix("MSG #bench_0 ").unwrap().trim_end();
        assert_eq!(text.len(), 64);
        let event = format!("MSG #bench_0 b1_7 {text}");
        assert_eq!(parse_msg(event.as_bytes()), Some(stamp));
    }

    #[test]
    fn a_short_size_keeps_the_stamp_whole() {
        let stamp = Stamp {
            sender: 1,
            seq: 2,
            nanos: 3,
        };
        let mut out = Vec::new();
        push_msg(&mut out, "#r", stamp, 1);
        assert_eq!(out, b"MSG #r 1:2:3\n");
        assert_eq!(parse_msg(b"MSG #r n 1:2:3"), Some(stamp));
    }

    #[test]
    fn foreign_messages_are_not_ours() {
        assert_eq!(parse_msg(b"MSG #r alice hello there"), None);
        assert_eq!(parse_msg(b"MSG #r alice 1:2"), None);
        assert_eq!(parse_msg(b"MSG #r alice ::"), None);
    }

    #[test]
    fn lines_are_classified_by_their_first_word() {
        assert_eq!(classify(b"MSG #r a b"), Kind::Msg);
        assert_eq!(classify(b"OK MSG #r"), Kind::OkMsg);
        assert_eq!(classify(b"OK JOIN #r"), Kind::Ok);
        assert_eq!(classify(b"ERR MSG RATE_LIMITED slow down"), Kind::Err);
        assert_eq!(classify(b"PING 123"), Kind::Ping);
        assert_eq!(classify(b"QUIT bob connection closed"), Kind::Left);
        assert_eq!(classify(b"JOIN #r bob"), Kind::Other);
        assert_eq!(pong_for(b"PING 123"), b"PONG 123\n");
    }

    #[tokio::test]
    async fn the_reader_splits_lines_across_reads_and_grows() {
        let (mut a, b) = tokio::io::duplex(8);
        let writer = tokio::spawn(async move {
            let long = "y".repeat(1000);
            a.write_all(format!("one\ntwo\n{long}\nthree").as_bytes())
                .await
                .unwrap();
        });
        let mut rd = LineReader::new(b, 16);
        let mut lines = Vec::new();
        while rd.fill().await.unwrap() > 0 {
            while let Some(l) = rd.next_line() {
                lines.push(String::from_utf8(l.to_vec()).unwrap());
            }
        }
        writer.await.unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "one");
        assert_eq!(lines[1], "two");
        assert_eq!(lines[2].len(), 1000);
    }
}
