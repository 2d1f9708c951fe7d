//! Reading a socket into frames, with no buffer kept while idle. The
//! decoder (a protocol's codec) decides what a frame is.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_util::Stream;
use tokio::io::AsyncRead;
use tokio_util::codec::Decoder;

/// Bytes read from a socket at once.
const READ_SIZE: usize = 64 * 1024;

thread_local! {
    /// One read buffer per thread, shared by every connection on it: a
    /// connection keeps only the bytes it has not decoded yet.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; READ_SIZE]);
}

/// A stream of decoded frames from a socket that holds no buffer while idle.
///
/// `FramedRead` keeps an 8 KiB buffer per connection forever, and even a
/// buffer freed when idle is held while the session waits for a room's
/// answer: with ten thousand clients joining at once that is the bulk of
/// the server's memory. This reader reads into a per-thread scratch buffer
/// and keeps, per connection, only the bytes of an unfinished line.
pub struct FrameReader<R, D> {
    io: R,
    codec: D,
    buf: BytesMut,
    eof: bool,
}

impl<R, D> FrameReader<R, D> {
    /// Wraps a reader with a decoder.
    pub fn new(io: R, codec: D) -> Self {
        FrameReader {
            io,
            codec,
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// The stream being read (to write to it too).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.io
    }
}

impl<R: AsyncRead + Unpin, D: Decoder<Error = io::Error> + Unpin> Stream for FrameReader<R, D> {
    type Item = io::Result<D::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.eof {
                return Poll::Ready(this.codec.decode_eof(&mut this.buf).transpose());
            }
            if let Some(frame) = this.codec.decode(&mut this.buf)? {
                if this.buf.is_empty() {
                    this.buf = BytesMut::new();
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            let read = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let mut rb = tokio::io::ReadBuf::new(&mut scratch[..]);
                match Pin::new(&mut this.io).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => {
                        this.buf.extend_from_slice(rb.filled());
                        Poll::Ready(Ok(rb.filled().len()))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            });
            match read {
                Poll::Ready(Ok(0)) => this.eof = true,
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
