//! One connection's socket, driven from its session's context.
//!
//! A [`Link`] owns the whole TCP stream: it is the stream of what the client
//! sent ([`Incoming`]) and, each time the session's context polls it, the
//! [`Writer`] that drains the connection's [`SendQueue`](crate::transport::send_queue::SendQueue)
//! into the same socket. One object and no task of its own per connection
//! (no split halves, no writer task): idle clients are what a chat server
//! has most of.
//!
//! The stream ends only once the writer has ended, so whatever was queued
//! before a close still goes out after the client's side has ended.
//!
//! Back-pressure: while the connection's queue is backlogged (a quarter of
//! `limits.sendq_bytes`), the client is not read. When the server falls
//! behind on its output (every client talking at once, flood control
//! lifted), the clients it owes most stop adding work until it is written,
//! instead of everyone's queue growing until some reader is dropped; the
//! client's own socket buffers what it sends meanwhile.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite};

use tokio_util::codec::Decoder;

use super::reader::FrameReader;
use super::send_queue::{Writer, WriterEnd};

/// Frames read in a row before queued output gets its turn: replies to a
/// burst of commands go out in one write, and a client that never stops
/// sending still hears back.
const READ_BURST: u8 = 16;

/// What a [`Link`] yields to its session.
#[derive(Debug)]
pub enum Incoming<F> {
    /// Something the client sent.
    Frame(F),
    /// The client's side ended: closed, or a read failed (the error).
    Closed(Option<io::Error>),
    /// The writer ended (the last item before the stream ends).
    WriterEnded(WriterEnd),
}

/// A connection's socket: frames in, queued output out.
pub struct Link<S, D, G = ()> {
    reader: FrameReader<S, D>,
    writer: Writer,
    read_done: bool,
    writer_done: bool,
    /// Frames yielded since the writer was last polled.
    since_write: u8,
    /// The batch of the turn's writers this one waits for, if its write
    /// was deferred ([`Writer::defer`]).
    batch: Option<u8>,
    /// Held for as long as the socket is open.
    _guard: G,
}

impl<S, D, G> Link<S, D, G> {
    /// A link reading `io` with `codec` and writing with `writer`, holding
    /// `guard` until the socket is dropped.
    pub fn new(io: S, codec: D, writer: Writer, guard: G) -> Self {
        Link {
            reader: FrameReader::new(io, codec),
            writer,
            read_done: false,
            writer_done: false,
            since_write: 0,
            batch: None,
            _guard: guard,
        }
    }
}

impl<S, D, G> Stream for Link<S, D, G>
where
    S: AsyncRead + AsyncWrite + Unpin,
    D: Decoder<Error = io::Error> + Unpin,
    G: Unpin,
{
    type Item = Incoming<D::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.writer_done {
            return Poll::Ready(None);
        }
        loop {
            let paused = this.writer.is_backlogged();
            if !this.read_done && this.since_write < READ_BURST && !paused {
                match Pin::new(&mut this.reader).poll_next(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        this.since_write += 1;
                        return Poll::Ready(Some(Incoming::Frame(frame)));
                    }
                    Poll::Ready(Some(Err(e))) => {
                        this.read_done = true;
                        return Poll::Ready(Some(Incoming::Closed(Some(e))));
                    }
                    Poll::Ready(None) => {
                        this.read_done = true;
                        return Poll::Ready(Some(Incoming::Closed(None)));
                    }
                    Poll::Pending => {}
                }
            }
            // Read until it would block (or a burst's worth): now write.
            let burst_over = this.since_write >= READ_BURST;
            this.since_write = 0;
            if !this.writer.defer(&mut this.batch, cx) {
                if let Poll::Ready(end) = this.writer.poll_write(this.reader.get_mut(), cx) {
                    this.writer_done = true;
                    return Poll::Ready(Some(Incoming::WriterEnded(end)));
                }
            }
            // The writer waits for the socket (or for more to write, when
            // nothing is queued), or for the turn's batch: a wake-up will
            // come.
            let skipped = burst_over || (paused && !this.writer.is_backlogged());
            if this.read_done || !skipped {
                // Reading waits too: for the socket, or (paused) for the
                // writer, which wakes this stream when it can go on.
                return Poll::Pending;
            }
            // The reader was not polled to Pending: read on, or no wake-up
            // would come for what is already in the socket.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::send_queue::SendQueue;
    use bytes::Bytes;
    use futures_util::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Lines, the simplest frames a protocol could have.
    struct Lines;

    impl Decoder for Lines {
        type Item = String;
        type Error = std::io::Error;

        fn decode(&mut self, buf: &mut bytes::BytesMut) -> std::io::Result<Option<String>> {
            Ok(memchr::memchr(b'\n', buf).map(|i| {
                let line = buf.split_to(i + 1);
                String::from_utf8_lossy(&line[..i]).into_owned()
            }))
        }
    }

    fn link(
        io: tokio::io::DuplexStream,
        queue: &SendQueue,
    ) -> Link<tokio::io::DuplexStream, Lines> {
        Link::new(io, Lines, Writer::new(queue.clone()), ())
    }

    #[tokio::test]
    async fn reads_frames_writes_replies_and_flushes_after_the_client_ends() {
        let queue = SendQueue::new(10_000);
        let (server, mut client) = tokio::io::duplex(4096);
        let mut link = link(server, &queue);
        client.write_all(b"NICK a\nPING x\n").await.unwrap();
        client.shutdown().await.unwrap();
        let mut lines = Vec::new();
        loop {
            match link.next().await {
                Some(Incoming::Frame(l)) => {
                    queue.push(Bytes::from(format!("OK {l}\n"))).unwrap();
                    lines.push(l);
                }
                Some(Incoming::Closed(None)) => {
                    // What was queued before the close still goes out.
                    queue.push(Bytes::from_static(b"bye\n")).unwrap();
                    queue.close();
                }
                Some(Incoming::WriterEnded(end)) => {
                    assert!(matches!(end, WriterEnd::Closed), "{end:?}");
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(
            link.next().await.is_none(),
            "the stream ends after the writer"
        );
        assert_eq!(lines, ["NICK a", "PING x"]);
        let mut got = String::new();
        client.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "OK NICK a\nOK PING x\nbye\n");
    }

    #[tokio::test]
    async fn a_long_burst_of_lines_lets_replies_out_in_between() {
        let queue = SendQueue::new(1_000_000);
        let (server, mut client) = tokio::io::duplex(1 << 20);
        let mut link = link(server, &queue);
        let burst: String = (0..100).map(|i| format!("PING {i}\n")).collect();
        client.write_all(burst.as_bytes()).await.unwrap();
        let mut frames = 0;
        while frames < 100 {
            match link.next().await {
                Some(Incoming::Frame(_)) => {
                    frames += 1;
                    queue.push(Bytes::from_static(b"PONG\n")).unwrap();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Replies to earlier lines were written while later ones were read.
        let mut got = vec![0u8; 5 * 100];
        let n = client.read(&mut got).await.unwrap();
        assert!(n >= 5 * usize::from(READ_BURST), "only {n} bytes so far");
        assert!(got[..n].starts_with(b"PONG\nPONG\n"));
    }

    #[tokio::test]
    async fn a_backlogged_connection_is_not_read_until_its_output_is_written() {
        use futures_util::FutureExt;
        // A quarter of 400 is the mark; the socket buffer holds 64 bytes.
        let queue = SendQueue::new(400);
        let (server, mut client) = tokio::io::duplex(64);
        let mut link = link(server, &queue);
        queue.push(Bytes::from(vec![b'x'; 199])).unwrap();
        queue.push(Bytes::from_static(b"\n")).unwrap();
        client.write_all(b"PING 1\n").await.unwrap();
        // 64 bytes fit the socket; 136 still wait: not read.
        assert!(link.next().now_or_never().is_none());
        assert!(link.writer.is_backlogged());
        let mut buf = [0u8; 64];
        let mut read = 0;
        loop {
            match link.next().now_or_never() {
                None => {}
                Some(Some(Incoming::Frame(l))) => {
                    assert_eq!(l, "PING 1");
                    // Read once at most 100 bytes were left unwritten.
                    assert!(read + 64 >= 100, "read with {read} bytes taken");
                    assert!(!link.writer.is_backlogged());
                    return;
                }
                Some(other) => panic!("unexpected {other:?}"),
            }
            // The writer has filled the socket: take what it holds.
            read += client.read(&mut buf).await.unwrap();
            assert!(read <= 200, "the output ran out before the line was read");
        }
    }

    #[tokio::test]
    async fn a_queue_overflow_ends_the_stream() {
        let queue = SendQueue::new(10);
        let (server, _client) = tokio::io::duplex(64);
        let mut link = link(server, &queue);
        assert!(queue
            .push(Bytes::from_static(b"0123456789ABCDEF\n"))
            .is_err());
        match link.next().await {
            Some(Incoming::WriterEnded(WriterEnd::Overflowed)) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(link.next().await.is_none());
    }
}
