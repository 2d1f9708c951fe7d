//! A WebSocket as the byte stream a session reads and writes, so that a
//! session runs unchanged over it: the same codec, limits, flood control,
//! send queue and ping timeout as over TCP.
//!
//! Coming in, each message becomes bytes for the session's codec: a text
//! message is a line (a LF is added unless it ends in one; a message holding
//! several LF-separated lines is several lines), a binary message is raw
//! bytes (a `FILE` body, concatenated across messages), or a line too where
//! the protocol says so ([`Lines::Binary`]). Going out, each line the
//! session writes (its LF, and a CR before it, dropped) is one message, and
//! the raw bytes a line announces (a `FETCH` body after its `DATA` line) go
//! as binary messages, one per write. Which lines announce bytes is the
//! protocol's to say: see [`OutboundFraming`]. Nothing here knows a
//! command.
//!
//! WebSocket pings are answered, and a close ends the stream (the session
//! sees the client's side end); closing the stream sends a close.
//! Output the WebSocket could not write at once is flushed whenever the
//! connection is polled again, for reading or writing.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Longest output line buffered while it is written in pieces: far above
/// any line a session renders, it only guards against a runaway writer.
const MAX_OUTPUT_LINE: usize = 1 << 20;

/// What follows a line in a protocol's output: the protocol's knowledge,
/// handed to the adapter.
pub trait OutboundFraming: Unpin {
    /// How many raw bytes follow `line` (a whole line the session wrote,
    /// without its line ending) before the next line.
    fn body_after(&self, line: &[u8]) -> u64;
}

/// Which kind of WebSocket message carries a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Text messages carry lines both ways; binary messages from the
    /// client are raw bytes, and raw bytes go out as binary messages.
    Text,
    /// Binary messages carry lines both ways (IRCv3's `binary.ircv3.net`);
    /// a text message from the client is a line too.
    Binary,
}

/// A WebSocket read and written as a byte stream of lines.
pub struct WebSocketLink<S, F> {
    ws: WebSocketStream<S>,
    framing: F,
    lines: Lines,
    /// The rest of the last message received, not read yet.
    unread: Bytes,
    /// The LF that ends the last message received is still to be read.
    newline_owed: bool,
    /// The client closed (or the connection ended): reads give EOF.
    read_closed: bool,
    /// The start of a line being written, until its LF comes.
    line: BytesMut,
    /// Raw bytes still to send after the last line.
    body_left: u64,
}

impl<S, F> WebSocketLink<S, F>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: OutboundFraming,
{
    /// A link over an open WebSocket (the handshake done), with `lines`
    /// carried as its protocol says and its output framed by `framing`.
    pub fn new(ws: WebSocketStream<S>, lines: Lines, framing: F) -> Self {
        WebSocketLink {
            ws,
            framing,
            lines,
            unread: Bytes::new(),
            newline_owed: false,
            read_closed: false,
            line: BytesMut::new(),
            body_left: 0,
        }
    }

    /// Pushes out what the WebSocket holds, without waiting: its waker is
    /// registered, and an error shows at the next read or write.
    fn kick(&mut self, cx: &mut Context<'_>) {
        let _ = Pin::new(&mut self.ws).poll_flush(cx);
    }

    fn send(&mut self, msg: Message) -> io::Result<()> {
        Pin::new(&mut self.ws).start_send(msg).map_err(write_error)
    }

    /// Takes bytes from the start of `data` (one message's worth at most);
    /// how many were taken.
    fn take(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.body_left > 0 {
            let n = usize::try_from(self.body_left).map_or(data.len(), |b| b.min(data.len()));
            self.body_left -= n as u64;
            self.send(Message::Binary(Bytes::copy_from_slice(&data[..n])))?;
            return Ok(n);
        }
        let Some(end) = memchr::memchr(b'\n', data) else {
            if self.line.len() + data.len() > MAX_OUTPUT_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "output line too long for a WebSocket message",
                ));
            }
            self.line.extend_from_slice(data);
            return Ok(data.len());
        };
        self.line.extend_from_slice(&data[..end]);
        let mut line = self.line.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.is_empty() {
            return Ok(end + 1);
        }
        self.body_left = self.framing.body_after(&line);
        let line = line.freeze();
        let msg = match self.lines {
            Lines::Text => Message::Text(Utf8Bytes::try_from(line.clone()).unwrap_or_else(|_| {
                // Sessions render UTF-8; should one not, the client still
                // gets a readable line rather than a dropped connection.
                Utf8Bytes::from(String::from_utf8_lossy(&line).into_owned())
            })),
            Lines::Binary => Message::Binary(line),
        };
        self.send(msg)?;
        Ok(end + 1)
    }

    /// Writes from `slices`, a message at a time, while the WebSocket
    /// takes them.
    fn write_slices(
        &mut self,
        cx: &mut Context<'_>,
        slices: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut written = 0;
        for slice in slices {
            let mut data: &[u8] = slice;
            while !data.is_empty() {
                match Pin::new(&mut self.ws).poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) if written == 0 => return Poll::Ready(Err(write_error(e))),
                    Poll::Pending if written == 0 => return Poll::Pending,
                    // Report what was taken; the error or wait comes next time.
                    Poll::Ready(Err(_)) | Poll::Pending => return Poll::Ready(Ok(written)),
                }
                let n = match self.take(data) {
                    Ok(n) => n,
                    Err(e) if written == 0 => return Poll::Ready(Err(e)),
                    Err(_) => return Poll::Ready(Ok(written)),
                };
                written += n;
                data = &data[n..];
            }
        }
        self.kick(cx);
        Poll::Ready(Ok(written))
    }
}

/// An error of the write side as the session's writer sees it.
fn write_error(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        WsError::ConnectionClosed | WsError::AlreadyClosed => io::ErrorKind::BrokenPipe.into(),
        other => io::Error::other(other.to_string()),
    }
}

impl<S, F> crate::transport::connections::Carried for WebSocketLink<S, F> {
    const TRANSPORT: crate::telemetry::Transport = crate::telemetry::Transport::Ws;
}

impl<S, F> AsyncRead for WebSocketLink<S, F>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: OutboundFraming,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The session polls its reader at every wake-up: output the socket
        // could not take earlier (and pongs) goes out now.
        this.kick(cx);
        loop {
            if !this.unread.is_empty() {
                let n = this.unread.len().min(buf.remaining());
                buf.put_slice(&this.unread[..n]);
                this.unread.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.newline_owed {
                this.newline_owed = false;
                buf.put_slice(b"\n");
                return Poll::Ready(Ok(()));
            }
            if this.read_closed {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    this.read_closed = true;
                }
                Some(Err(WsError::Io(e))) => return Poll::Ready(Err(e)),
                // Too large, not UTF-8, a protocol violation: the
                // connection cannot go on.
                Some(Err(e)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        e.to_string(),
                    )))
                }
                Some(Ok(Message::Text(text))) => {
                    let bytes = Bytes::from(text);
                    this.newline_owed = !bytes.ends_with(b"\n");
                    this.unread = bytes;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    this.newline_owed = this.lines == Lines::Binary && !bytes.ends_with(b"\n");
                    this.unread = bytes;
                }
                Some(Ok(Message::Close(_))) => {
                    this.read_closed = true;
                    // The answering close is queued: send it.
                    this.kick(cx);
                }
                // Pings are answered by the WebSocket itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            }
        }
    }
}

impl<S, F> AsyncWrite for WebSocketLink<S, F>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: OutboundFraming,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write_slices(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write_slices(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().ws)
            .poll_flush(cx)
            .map_err(write_error)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.get_mut().ws).poll_close(cx)) {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(write_error(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// Lines starting `BODY <n>` are followed by n raw bytes.
    struct Bodies;

    impl OutboundFraming for Bodies {
        fn body_after(&self, line: &[u8]) -> u64 {
            std::str::from_utf8(line)
                .ok()
                .and_then(|l| l.strip_prefix("BODY "))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        }
    }

    async fn pair(
        lines: Lines,
    ) -> (
        WebSocketLink<DuplexStream, Bodies>,
        WebSocketStream<DuplexStream>,
    ) {
        let (server, client) = tokio::io::duplex(1 << 16);
        let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        (WebSocketLink::new(server, lines, Bodies), client)
    }

    async fn next(client: &mut WebSocketStream<DuplexStream>) -> Message {
        client.next().await.expect("a message").expect("no error")
    }

    #[tokio::test]
    async fn text_messages_are_lines_and_binary_ones_raw_bytes() {
        let (mut link, mut client) = pair(Lines::Text).await;
        client.send(Message::text("NICK a")).await.unwrap();
        client.send(Message::text("PING 1\nPING 2")).await.unwrap();
        client.send(Message::text("FILE #r 5 x\n")).await.unwrap();
        client.send(Message::binary(&b"ab"[..])).await.unwrap();
        client.send(Message::binary(&b"c\nd"[..])).await.unwrap();
        client
            .send(Message::Ping(Bytes::from_static(b"p")))
            .await
            .unwrap();
        client.send(Message::Close(None)).await.unwrap();
        let mut got = Vec::new();
        link.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"NICK a\nPING 1\nPING 2\nFILE #r 5 x\nabc\nd");
        // The ping was answered, and the close too.
        assert_eq!(
            next(&mut client).await,
            Message::Pong(Bytes::from_static(b"p"))
        );
        assert!(matches!(next(&mut client).await, Message::Close(_)));
    }

    #[tokio::test]
    async fn each_line_is_a_message_and_an_announced_body_binary() {
        let (mut link, mut client) = pair(Lines::Text).await;
        // Lines cut anywhere, a body cut across writes, CRLF endings.
        link.write_all(b"HELLO x\nOK NI").await.unwrap();
        link.write_all(b"CK a\r\nBODY 6\nabc").await.unwrap();
        link.write_all(b"\nefOK BODY\n").await.unwrap();
        link.shutdown().await.unwrap();
        assert_eq!(next(&mut client).await, Message::text("HELLO x"));
        assert_eq!(next(&mut client).await, Message::text("OK NICK a"));
        assert_eq!(next(&mut client).await, Message::text("BODY 6"));
        let mut body = Vec::new();
        while body.len() < 6 {
            match next(&mut client).await {
                Message::Binary(b) => body.extend_from_slice(&b),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(body, b"abc\nef");
        assert_eq!(next(&mut client).await, Message::text("OK BODY"));
        assert!(matches!(next(&mut client).await, Message::Close(_)));
    }

    #[tokio::test]
    async fn binary_lines_go_both_ways_as_binary_messages() {
        let (mut link, mut client) = pair(Lines::Binary).await;
        client.send(Message::binary(&b"PING :x"[..])).await.unwrap();
        client.send(Message::text("PING :y")).await.unwrap();
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while got.len() < 16 {
            let n = link.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"PING :x\nPING :y\n");
        link.write_all(b":srv PONG srv :x\r\n").await.unwrap();
        assert_eq!(
            next(&mut client).await,
            Message::binary(&b":srv PONG srv :x"[..])
        );
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_an_error_not_a_panic() {
        let (server, client) = tokio::io::duplex(1 << 16);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(100))
            .max_frame_size(Some(100));
        let server = WebSocketStream::from_raw_socket(server, Role::Server, Some(config)).await;
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let mut link = WebSocketLink::new(server, Lines::Text, Bodies);
        client.send(Message::text("x".repeat(200))).await.unwrap();
        let mut buf = [0u8; 64];
        let err = link.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
