//! The client side of one benchmark connection, whatever its protocol:
//! connecting, a cheap line reader, and set-up dialogues (read lines until
//! one answers). Lines are looked at as bytes; nothing is allocated per
//! line.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::proto::{Kind, Proto};

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

    /// Whether the last read filled the buffer: the socket may hold more.
    pub fn is_full(&self) -> bool {
        self.end == self.buf.len()
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

/// One connection, split: a line reader and the write half, and the
/// protocol it speaks.
pub struct Conn {
    /// Reads server lines.
    pub rd: LineReader<OwnedReadHalf>,
    /// Writes client lines.
    pub wr: OwnedWriteHalf,
    /// The protocol spoken on it.
    pub proto: Proto,
}

/// What a set-up dialogue makes of one server line.
pub enum Step {
    /// The line it waited for: the dialogue is over.
    Done,
    /// Not that line: read on.
    Next,
    /// Answer with these bytes (a `PONG`, another nickname), and read on.
    Send(Vec<u8>),
    /// The dialogue failed.
    Fail(String),
}

impl Conn {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream, capacity: usize, proto: Proto) -> Self {
        let (rd, wr) = stream.into_split();
        Conn {
            rd: LineReader::new(rd, capacity),
            wr,
            proto,
        }
    }

    /// Writes `line` (which must end in the protocol's line end) within
    /// `limit`.
    pub async fn send(&mut self, line: &[u8], limit: Duration) -> anyhow::Result<()> {
        write_within(&mut self.wr, line, limit).await
    }

    /// Hands every line read to `step` until it says [`Step::Done`] or
    /// [`Step::Fail`], within `limit` in all.
    pub async fn dialogue(
        &mut self,
        what: &str,
        limit: Duration,
        mut step: impl FnMut(&[u8]) -> Step,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        let mut answer: Vec<u8> = Vec::new();
        loop {
            let mut done = false;
            while let Some(line) = self.rd.next_line() {
                match step(line) {
                    Step::Done => {
                        done = true;
                        break;
                    }
                    Step::Next => {}
                    Step::Send(bytes) => answer.extend_from_slice(&bytes),
                    Step::Fail(e) => bail!("waiting for {what}: {e}"),
                }
            }
            if !answer.is_empty() {
                self.send(&answer, limit).await?;
                answer.clear();
            }
            if done {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, self.rd.fill()).await {
                Err(_) => bail!("no {what} from the server within {limit:?}"),
                Ok(Ok(0)) => bail!("the server closed the connection while waiting for {what}"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e).context(format!("reading {what}")),
            }
        }
    }

    /// Reads lines until one for which `done` says yes, within `limit` in
    /// all. Errors and the server's farewell fail; `PING` is answered;
    /// anything else (events, names) is skipped.
    pub async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[u8]) -> bool,
    ) -> anyhow::Result<()> {
        let proto = self.proto;
        self.dialogue(what, limit, |line| {
            if done(line) {
                return Step::Done;
            }
            match proto.classify(line) {
                Kind::Err | Kind::Refused | Kind::Server => Step::Fail(format!(
                    "the server said: {}",
                    String::from_utf8_lossy(line).trim_end()
                )),
                Kind::Ping => Step::Send(proto.pong_for(line)),
                _ => Step::Next,
            }
        })
        .await
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!rd.is_full());
        while rd.fill().await.unwrap() > 0 {
            while let Some(l) = rd.next_line() {
                lines.push(String::from_utf8(l.to_vec()).unwrap());
            }
        }
        writer.await.unwrap();
        assert!(!rd.is_full(), "a read that came up short leaves room");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "one");
        assert_eq!(lines[1], "two");
        assert_eq!(lines[2].len(), 1000);
    }
}
