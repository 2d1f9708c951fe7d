//! The writer side of a [`SendQueue`]: gathering what is queued into
//! vectored writes, streaming file bodies, the close grace period and
//! the overflow notice.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::{wakeups, FileBody, Item, SendQueue, State};

/// How much the writer hands to one write call at most.
pub(super) const MAX_BATCH: usize = 64 * 1024;
/// How many pieces (lines, parts of a log) one write gathers at most.
const MAX_SLICES: usize = 64;
/// How long a closing connection may take to flush what is queued.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// The best-effort notice for a client dropped for not reading, unless
/// its protocol gives another ([`Writer::with_overflow_notice`]).
const OVERFLOW_NOTICE: &[u8] = b"SERVER send queue exceeded\n";

impl SendQueue {
    /// Writes what is queued, lines and spans of room logs, straight from
    /// where they lie with one vectored write (no copy into a buffer of
    /// the connection's); pending while there is nothing to do.
    fn poll_send<W: AsyncWrite + Unpin>(&self, io: &mut W, cx: &mut Context<'_>) -> Poll<Sent> {
        let mut q = self.lock();
        let q = &mut *q;
        if q.state == State::Overflowed {
            return Poll::Ready(Sent::Overflowed {
                mid_line: q.mid_line,
            });
        }
        let mut dropped = false;
        q.release_paced();
        // Nothing to gather (idle, or a file body next): no slices to set up.
        let gather = matches!(q.items.front(), Some(Item::Line(_) | Item::Log(..)));
        let written = if !gather {
            None
        } else {
            // One log locked per write: the first span's. Spans of other
            // rooms' logs wait for the next write.
            let view = q.items.iter().take(MAX_SLICES).find_map(|item| match item {
                Item::Log(reader, _) => Some(reader.view()),
                _ => None,
            });
            let mut slices = Slices::for_items(q.items.len());
            let mut total = 0;
            for item in &q.items {
                if slices.len() + 2 > slices.limit() || total >= MAX_BATCH {
                    break;
                }
                match item {
                    Item::Line(line) => {
                        slices.push(IoSlice::new(line));
                        total += line.len();
                    }
                    Item::Log(reader, span) => {
                        let Some(view) = view.as_ref().filter(|v| v.is_read_by(reader)) else {
                            break;
                        };
                        let Some((front, back)) = view.slices(*span, MAX_BATCH - total) else {
                            // The room dropped lines this member had not had
                            // yet: it is too far behind, as with a full queue.
                            dropped = true;
                            break;
                        };
                        for part in [front, back] {
                            if !part.is_empty() {
                                slices.push(IoSlice::new(part));
                                total += part.len();
                            }
                        }
                        if front.len() + back.len() < span.len() {
                            break;
                        }
                    }
                    Item::Body(_) | Item::Paced(_) => break,
                }
            }
            (slices.len() > 0 && !dropped).then(|| match slices.as_slice() {
                // One piece (a lone line, or a span of one room's log, the
                // common case at any load): a plain write, which a TCP
                // socket makes a `send`, skipping the file layer a
                // `writev` goes through on every call.
                [one] => Pin::new(&mut *io).poll_write(cx, one),
                all => Pin::new(&mut *io).poll_write_vectored(cx, all),
            })
        };
        if dropped {
            let mid_line = q.mid_line;
            // The waker is this writer's own.
            let _ = q.overflow();
            return Poll::Ready(Sent::Overflowed { mid_line });
        }
        match written {
            Some(Poll::Ready(Ok(0))) => Poll::Ready(Sent::Failed(io::ErrorKind::WriteZero.into())),
            Some(Poll::Ready(Ok(n))) => {
                q.consume(n);
                Poll::Ready(Sent::Wrote)
            }
            Some(Poll::Ready(Err(e))) => Poll::Ready(Sent::Failed(e)),
            Some(Poll::Pending) => Poll::Ready(Sent::Blocked),
            None => {
                if matches!(q.items.front(), Some(Item::Body(_))) {
                    if let Some(Item::Body(body)) = q.items.pop_front() {
                        return Poll::Ready(Sent::Body(body));
                    }
                }
                if q.items.is_empty() && q.items.capacity() > 0 {
                    // Most connections are idle most of the time: keep no slots.
                    q.items = VecDeque::new();
                }
                if q.state == State::Closing {
                    return Poll::Ready(Sent::Closed);
                }
                q.wants_data = true;
                q.wake_deferred = false;
                q.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Ready once the queue is closing or overflowed.
    fn poll_interrupt(&self, cx: &mut Context<'_>) -> Poll<State> {
        let mut q = self.lock();
        match q.state {
            State::Open => {
                q.wants_data = false;
                q.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            state => Poll::Ready(state),
        }
    }
}

/// The pieces one vectored write gathers. A queue of one or two items,
/// as most are at a moderate rate, needs a few, kept on the stack: setting
/// up room for many on every write cost more than the copy it saves. A
/// longer queue gets room for [`MAX_SLICES`] on the heap, once per write.
struct Slices<'a> {
    few: [IoSlice<'a>; FEW_SLICES],
    many: Vec<IoSlice<'a>>,
    len: usize,
}

/// Slices kept on the stack: two items' worth (a span may be two).
const FEW_SLICES: usize = 4;

impl<'a> Slices<'a> {
    fn for_items(items: usize) -> Self {
        Slices {
            few: [IoSlice::new(&[]); FEW_SLICES],
            many: if items * 2 > FEW_SLICES {
                Vec::with_capacity(MAX_SLICES)
            } else {
                Vec::new()
            },
            len: 0,
        }
    }

    fn limit(&self) -> usize {
        if self.many.capacity() > 0 {
            MAX_SLICES
        } else {
            FEW_SLICES
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, slice: IoSlice<'a>) {
        if self.many.capacity() > 0 {
            self.many.push(slice);
        } else {
            self.few[self.len] = slice;
        }
        self.len += 1;
    }

    fn as_slice(&self) -> &[IoSlice<'a>] {
        if self.many.capacity() > 0 {
            &self.many
        } else {
            &self.few[..self.len]
        }
    }
}

/// What one [`SendQueue::poll_send`] did.
enum Sent {
    /// Wrote some of what was queued.
    Wrote,
    /// A file body is next: the writer streams it.
    Body(FileBody),
    /// Everything is written and the queue is closing.
    Closed,
    /// Dropped for not reading; `mid_line` if a line was cut short.
    Overflowed { mid_line: bool },
    /// The socket takes no more for now.
    Blocked,
    /// Writing failed.
    Failed(io::Error),
}

/// How a connection's writer ended.
#[derive(Debug)]
pub enum WriterEnd {
    /// The queue was closed and flushed.
    Closed,
    /// The client did not read fast enough.
    Overflowed,
    /// Writing failed (the peer went away) or a closing flush timed out.
    Failed(io::Error),
}

/// A file being streamed, between two of its chunks.
#[derive(Debug)]
struct BodyStream {
    file: tokio::fs::File,
    /// Bytes still to read and send.
    left: u64,
    /// The chunk read last; `chunk[pos..]` is still to be written.
    chunk: Vec<u8>,
    pos: usize,
}

/// What only a download or a close needs: boxed, so that the many idle
/// connections carry one pointer for it.
#[derive(Debug, Default)]
struct Rare {
    body: Option<BodyStream>,
    /// Set once the queue is closing: the flush must end by then.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Everything is flushed; the socket is being shut down.
    shutting_down: bool,
}

/// Drains one [`SendQueue`] into a socket, a poll at a time.
///
/// Not a task of its own: the connection's [`Link`](crate::transport::link::Link)
/// polls it from the session's context, so a connection costs one task.
/// Everything queued at a wake-up goes out in vectored writes straight
/// from the queue (one covers up to 64 lines and spans of one room's log);
/// a file body is read and written one chunk at a time, each written
/// before the next is read.
///
/// Every connection's [`Link`](crate::transport::link::Link) holds one, in
/// the session's task: 24 bytes here (a thin notice, a download's chunk in
/// `Rare`) keep that task's allocation a size class smaller.
#[derive(Debug)]
pub struct Writer {
    queue: SendQueue,
    rare: Option<Box<Rare>>,
    /// Written, if it fits, to a client dropped for not reading.
    overflow_notice: &'static &'static [u8],
}

impl Writer {
    /// A writer for `queue`.
    pub fn new(queue: SendQueue) -> Self {
        Writer::with_overflow_notice(queue, &OVERFLOW_NOTICE)
    }

    /// A writer for `queue` that says `notice` (a whole line of the
    /// client's protocol) to a client dropped for not reading.
    pub fn with_overflow_notice(queue: SendQueue, notice: &'static &'static [u8]) -> Self {
        Writer {
            queue,
            rare: None,
            overflow_notice: notice,
        }
    }

    /// Whether the connection is backlogged (see
    /// [`SendQueue::is_backlogged`]), with what this writer holds.
    pub fn is_backlogged(&self) -> bool {
        let held = self
            .rare
            .as_ref()
            .and_then(|r| r.body.as_ref())
            .map_or(0, |b| b.chunk.len().saturating_sub(b.pos));
        self.queue.is_backlogged(held)
    }

    /// Whether to leave what is queued to the end of the turn, woken with
    /// the writers the thread's rooms gave something to (the thread's
    /// list of deferred wake-ups, `send_queue/wakeups.rs`),
    /// rather than write it now: while the thread fans messages out, the
    /// session's own replies (an `OK MSG`) would otherwise go out in a
    /// write of their own, and the copies its rooms queue for it later in
    /// the turn in another. `batch` is the link's note of the batch it
    /// waits for. A quiet thread writes at once: nothing to gather.
    pub fn defer(&mut self, batch: &mut Option<u8>, cx: &mut Context<'_>) -> bool {
        if let Some(n) = *batch {
            if wakeups::gathering(n) && self.queue.owes_a_little() {
                return true;
            }
            // Woken with the batch (or owing a full write by now).
            *batch = None;
            return false;
        }
        if self.rare.is_some() || !wakeups::batching() || !self.queue.owes_a_little() {
            return false;
        }
        *batch = Some(wakeups::wake_later(cx.waker().clone()));
        true
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Writes what is queued into `io`; ready, with how it ended, once
    /// the queue is closed and flushed or writing cannot go on.
    pub fn poll_write<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<WriterEnd> {
        loop {
            if let Some(body) = self.rare.as_mut().and_then(|r| r.body.as_mut()) {
                if body.pos < body.chunk.len() {
                    if let Err(end) = ready!(self.poll_flush_chunk(io, cx)) {
                        return Poll::Ready(end);
                    }
                    continue;
                }
                // The chunk before is written: it is refilled from 0.
                if let Err(e) = ready!(Self::poll_next_chunk(body, cx)) {
                    return Poll::Ready(WriterEnd::Failed(e));
                }
                if body.chunk.is_empty() {
                    // Downloads are rare: do not keep their chunk buffer.
                    self.rare().body = None;
                }
                continue;
            }
            if self.rare.as_ref().is_some_and(|r| r.shutting_down) {
                return self.poll_shutdown(io, cx);
            }
            match self.queue.poll_send(io, cx) {
                Poll::Ready(Sent::Wrote) => {}
                Poll::Ready(Sent::Blocked) => {
                    return match ready!(self.poll_blocked(cx)) {
                        Err(end) => Poll::Ready(end),
                        // Interrupted by nothing that ends the writer.
                        Ok(()) => Poll::Pending,
                    };
                }
                Poll::Ready(Sent::Failed(e)) => return Poll::Ready(WriterEnd::Failed(e)),
                Poll::Ready(Sent::Body(FileBody { file, size })) => {
                    self.rare().body = Some(BodyStream {
                        file,
                        left: size,
                        chunk: Vec::new(),
                        pos: 0,
                    });
                }
                Poll::Ready(Sent::Closed) => self.rare().shutting_down = true,
                Poll::Ready(Sent::Overflowed { mid_line }) => {
                    if !mid_line {
                        // Best effort, between lines: the client is not
                        // reading, so this may well not fit.
                        let _ = Pin::new(io).poll_write(cx, self.overflow_notice);
                    }
                    return Poll::Ready(WriterEnd::Overflowed);
                }
                Poll::Pending => {
                    // Nothing queued: what the stream itself still holds
                    // goes out now (a TLS stream takes a write into its
                    // records before its socket does, and writes them out
                    // on the next write or a flush; a TCP stream holds
                    // nothing). Pending re-arms on the socket.
                    if let Poll::Ready(Err(e)) = Pin::new(&mut *io).poll_flush(cx) {
                        return Poll::Ready(WriterEnd::Failed(e));
                    }
                    if self.rare.as_ref().is_some_and(|r| r.deadline.is_none()) {
                        // A download's state, done with.
                        self.rare = None;
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Writes the rest of the download's chunk, giving up at once if the
    /// queue overflows meanwhile, and within the grace period once it is
    /// closing.
    fn poll_flush_chunk<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), WriterEnd>> {
        while let Some(body) = self.rare.as_mut().and_then(|r| r.body.as_mut()) {
            if body.pos >= body.chunk.len() {
                break;
            }
            match Pin::new(&mut *io).poll_write(cx, &body.chunk[body.pos..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(WriterEnd::Failed(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => body.pos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(WriterEnd::Failed(e))),
                Poll::Pending => return self.poll_blocked(cx),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// While the socket takes nothing: ready with how the writer ends if
    /// the queue overflows, or closes and its grace period is over;
    /// pending otherwise (`Ok` is never returned ready).
    fn poll_blocked(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WriterEnd>> {
        match self.queue.poll_interrupt(cx) {
            // Cut mid-write: a notice now could land inside a line.
            Poll::Ready(State::Overflowed) => Poll::Ready(Err(WriterEnd::Overflowed)),
            Poll::Ready(_) if self.poll_deadline(cx).is_ready() => {
                Poll::Ready(Err(WriterEnd::Failed(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "closing flush timed out",
                ))))
            }
            _ => Poll::Pending,
        }
    }

    /// Reads the body's next chunk; leaves it empty at the body's end.
    fn poll_next_chunk(body: &mut BodyStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        body.pos = 0;
        let out = &mut body.chunk;
        out.clear();
        if body.left == 0 {
            return Poll::Ready(Ok(()));
        }
        let want = usize::try_from(body.left).map_or(MAX_BATCH, |left| left.min(MAX_BATCH));
        out.resize(want, 0);
        let mut buf = ReadBuf::new(out);
        let read = Pin::new(&mut body.file).poll_read(cx, &mut buf);
        let n = buf.filled().len();
        out.truncate(n);
        ready!(read)?;
        if n == 0 {
            // The announced size cannot be kept: the framing is lost.
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "shared file shorter than its size",
            )));
        }
        body.left -= n as u64;
        Poll::Ready(Ok(()))
    }

    /// Shuts the socket's sending side, for at most the grace period.
    fn poll_shutdown<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<WriterEnd> {
        match Pin::new(io).poll_shutdown(cx) {
            Poll::Ready(_) => Poll::Ready(WriterEnd::Closed),
            Poll::Pending => self.poll_deadline(cx).map(|()| WriterEnd::Closed),
        }
    }

    /// Ready once the closing grace period (started on first call) is over.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.rare()
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(CLOSE_GRACE)))
            .as_mut()
            .poll(cx)
    }
}

/// Drains `queue` into `io` until the queue closes or something fails:
/// a [`Writer`] run as a future of its own (tests, benches).
pub async fn run_writer<W: AsyncWrite + Unpin>(queue: SendQueue, mut io: W) -> WriterEnd {
    let mut writer = Writer::new(queue);
    poll_fn(|cx| writer.poll_write(&mut io, cx)).await
}

#[cfg(test)]
impl SendQueue {
    /// What the writer would write now, as text; `None` once the queue
    /// overflowed. For tests of what rooms queue, without a socket.
    pub(crate) fn take_text(&self) -> Option<String> {
        let mut out: Vec<u8> = Vec::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            match self.poll_send(&mut out, &mut cx) {
                Poll::Ready(Sent::Wrote) => continue,
                Poll::Ready(Sent::Overflowed { .. }) => return None,
                _ => break,
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::task::Waker;

    use bytes::Bytes;

    use super::*;
    use crate::transport::broadcast_log::BroadcastLog;
    use crate::transport::send_queue::PushError;

    #[test]
    fn a_writer_is_three_words() {
        // Every connection's task holds one: see the type's notes.
        assert_eq!(size_of::<Writer>(), 3 * size_of::<usize>());
    }

    #[tokio::test]
    async fn writer_flushes_in_order_then_closes() {
        let q = SendQueue::new(1000);
        let (client, mut server_side) = tokio::io::duplex(64);
        let writer = tokio::spawn(run_writer(q.clone(), client));
        for i in 0..50 {
            q.push(Bytes::from(format!("line {i}\n"))).unwrap();
        }
        q.close();
        assert_eq!(
            q.push(Bytes::from_static(b"late\n")),
            Err(PushError::Closed)
        );
        let mut got = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut server_side, &mut got)
            .await
            .unwrap();
        let want: String = (0..50).map(|i| format!("line {i}\n")).collect();
        assert_eq!(got, want);
        assert!(matches!(writer.await.unwrap(), WriterEnd::Closed));
    }

    #[tokio::test]
    async fn a_reader_that_stops_reading_overflows() {
        let q = SendQueue::new(100);
        let (client, _server_side) = tokio::io::duplex(16);
        let writer = tokio::spawn(run_writer(q.clone(), client));
        let mut refused = false;
        for _ in 0..100 {
            if q.push(Bytes::from_static(b"0123456789\n")).is_err() {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(refused);
        assert!(matches!(writer.await.unwrap(), WriterEnd::Overflowed));
    }

    #[tokio::test]
    async fn a_span_the_log_dropped_overflows_the_queue() {
        let log = BroadcastLog::new(16);
        let q = SendQueue::new(1000);
        let old = log.append(b"0123456789\n");
        q.push_log(&log, old).unwrap();
        log.append(b"abcdefghij\n");
        let (client, _server_side) = tokio::io::duplex(1024);
        let end = run_writer(q.clone(), client).await;
        assert!(matches!(end, WriterEnd::Overflowed));
        assert_eq!(
            q.push(Bytes::from_static(b"x\n")),
            Err(PushError::Overflowed)
        );
    }

    /// A socket that takes what its budget allows, gathering across the
    /// slices of a vectored write, and waits (pending) when it is spent.
    #[derive(Clone, Default)]
    struct Budgeted(Arc<Mutex<BudgetState>>);

    #[derive(Default)]
    struct BudgetState {
        budget: usize,
        got: Vec<u8>,
        waker: Option<Waker>,
    }

    impl Budgeted {
        fn allow(&self, more: usize) {
            let mut s = self.0.lock().unwrap();
            s.budget += more;
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        }

        fn got(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().got.clone()).unwrap()
        }
    }

    impl AsyncWrite for Budgeted {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let mut s = self.0.lock().unwrap();
            if s.budget == 0 {
                s.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let mut n = 0;
            for buf in bufs {
                let take = buf.len().min(s.budget - n);
                s.got.extend_from_slice(&buf[..take]);
                n += take;
                if n == s.budget {
                    break;
                }
            }
            s.budget -= n;
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn partial_writes_resume_mid_line_across_lines_and_two_logs() {
        // A small log whose ring wraps, and a second room's log.
        let a = BroadcastLog::new(40);
        let b = BroadcastLog::new(1000);
        let q = SendQueue::new(1000);
        let mut want = String::new();
        // A reader keeps the log from forgetting while it wraps.
        let reader = a.reader();
        let across_seam = |span| {
            reader
                .view()
                .slices(span, usize::MAX)
                .is_some_and(|(_, back)| !back.is_empty())
        };
        let mut first = None;
        for i in 0..100 {
            let line = format!("MSG #a x {i}\n");
            let span = a.append(line.as_bytes());
            if across_seam(span) {
                first = Some((span, line));
                break;
            }
        }
        let (span, line) = first.expect("the log's ring wraps");
        q.push_log(&a, span).unwrap();
        want.push_str(&line);
        reader.finish();
        q.push(Bytes::from_static(b"OK MSG #b\n")).unwrap();
        want.push_str("OK MSG #b\n");
        let span = b.append(b"MSG #b y hello\n");
        q.push_log(&b, span).unwrap();
        want.push_str("MSG #b y hello\n");
        let span = a.append(b"MSG #a z bye\n");
        q.push_log(&a, span).unwrap();
        want.push_str("MSG #a z bye\n");
        q.close();

        let socket = Budgeted::default();
        let writer = tokio::spawn(run_writer(q.clone(), socket.clone()));
        // Three bytes at a time: every item is cut somewhere.
        while !writer.is_finished() {
            socket.allow(3);
            tokio::task::yield_now().await;
        }
        assert!(matches!(writer.await.unwrap(), WriterEnd::Closed));
        assert_eq!(socket.got(), want);
        assert_eq!(q.queued_bytes(), 0);
        assert_eq!(a.kept_bytes(), 0, "read by everyone: freed");
        assert_eq!(b.kept_bytes(), 0, "read by everyone: freed");
    }

    #[tokio::test]
    async fn the_overflow_notice_is_never_cut_into_a_line() {
        for (allowed, notice) in [(6, true), (4, false)] {
            let q = SendQueue::new(20);
            q.push(Bytes::from_static(b"12345\n")).unwrap();
            q.push(Bytes::from_static(b"abcde\n")).unwrap();
            let socket = Budgeted::default();
            socket.allow(allowed);
            let writer = tokio::spawn(run_writer(q.clone(), socket.clone()));
            // Wait until the writer has used its budget and waits.
            while socket.0.lock().unwrap().waker.is_none() {
                tokio::task::yield_now().await;
            }
            assert!(q.push(Bytes::from(vec![b'x'; 20])).is_err());
            socket.allow(100);
            assert!(matches!(writer.await.unwrap(), WriterEnd::Overflowed));
            let sent = &"12345\n"[..allowed];
            let want = if notice {
                format!("{sent}SERVER send queue exceeded\n")
            } else {
                sent.to_owned()
            };
            assert_eq!(socket.got(), want, "{allowed} bytes written first");
        }
    }

    /// A socket that keeps what is written until it is flushed, as a TLS
    /// stream keeps records its socket could not take yet.
    #[derive(Clone, Default)]
    struct Buffering(Arc<Mutex<(Vec<u8>, Vec<u8>)>>);

    impl AsyncWrite for Buffering {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().0.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            let mut s = self.0.lock().unwrap();
            let (held, sent) = &mut *s;
            sent.append(held);
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.poll_flush(cx)
        }
    }

    #[tokio::test]
    async fn what_a_stream_holds_back_is_flushed_once_the_queue_is_empty() {
        let q = SendQueue::new(1000);
        let socket = Buffering::default();
        let writer = tokio::spawn(run_writer(q.clone(), socket.clone()));
        q.push(Bytes::from_static(b"OK FETCH x\n")).unwrap();
        // The queue stays open: nothing but the writer itself flushes.
        for _ in 0..100 {
            if socket.0.lock().unwrap().1 == b"OK FETCH x\n" {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(socket.0.lock().unwrap().1, b"OK FETCH x\n");
        writer.abort();
    }
}
