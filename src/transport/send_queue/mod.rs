//! The bounded outgoing queue of one connection, and the writer future
//! that drains it into the socket (run inside the session's context).
//!
//! Rooms and the session push straight into a [`SendQueue`], without an
//! actor message per recipient: the session its own replies as rendered
//! lines ([`Bytes`]), a room the [`Span`] its line occupies in the room's
//! [`BroadcastLog`] (extending the span queued last when it can, so a
//! member that is behind holds one item, not one per line). The writer
//! of each connection hands everything queued at each wake-up to one
//! vectored write, straight from the rendered lines and the rooms' logs
//! (no copy into a buffer of its own), so a busy client costs one write
//! per batch, not per line. The queue counts its bytes: past `limits.sendq_bytes` it drops
//! its content, refuses more and tells the writer, which ends the
//! connection. Memory stays bounded however slowly a client reads, and
//! pushing never waits. A command's reply larger than a chunk is the one
//! exception to the count: it is *paced* ([`SendQueue::reply`]), released
//! into the queue a chunk of whole lines at a time as the socket takes
//! what is before it, so that a long answer (LIST, HISTORY, WHO) never
//! drops the client that asked for it; the connection is not read until
//! it is all out, so a client holds one such reply at a time.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};

use crate::refusals::{refused, Limit};
use crate::transport::broadcast_log::{BroadcastLog, LogReader, Span};

mod owed;
mod wakeups;
mod writer;

use owed::Owed;
pub use owed::Ticket;

pub use writer::{run_writer, Writer, WriterEnd};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Flush what is queued, then close.
    Closing,
    /// The limit was passed: drop everything and close.
    Overflowed,
}

/// A file's content to stream after the lines queued before it.
#[derive(Debug)]
pub struct FileBody {
    /// The open file (opened before queuing, so a later delete is harmless).
    pub file: tokio::fs::File,
    /// Exactly this many bytes are sent.
    pub size: u64,
}

#[derive(Debug)]
enum Item {
    Line(Bytes),
    /// Lines a room logged once for all its members.
    Log(LogReader, Span),
    Body(FileBody),
    /// A reply too large to queue at once, released a chunk at a time as
    /// the socket takes what comes before it ([`SendQueue::reply`]).
    Paced(PacedReply),
}

/// What every connection's paced replies may hold together (one per
/// server), and what they hold: a bound on the memory of replies waiting
/// for clients that read slowly, or not at all.
#[derive(Debug)]
pub struct PacedBudget {
    held: AtomicUsize,
    max: AtomicUsize,
}

impl PacedBudget {
    /// A budget of `max` bytes.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(PacedBudget {
            held: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
        })
    }

    /// Changes the bound (a configuration reload); what is held stays.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// Bytes of paced replies not yet released, over every connection.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes of the budget, if they fit.
    fn reserve(&self, n: usize) -> bool {
        let max = self.max.load(Ordering::Relaxed);
        let before = self.held.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > max {
            self.held.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }
}

/// The part of a paced reply not yet released, and the budget it holds.
#[derive(Debug)]
struct PacedReply {
    rest: Bytes,
    budget: Option<Arc<PacedBudget>>,
}

impl PacedReply {
    /// Releases the first `n` bytes (to be queued), giving them back to
    /// the budget.
    fn split_to(&mut self, n: usize) -> Bytes {
        if let Some(b) = &self.budget {
            b.held.fetch_sub(n, Ordering::Relaxed);
        }
        self.rest.split_to(n)
    }
}

impl Drop for PacedReply {
    fn drop(&mut self) {
        // Dropped unsent (the connection overflowed or went away).
        if let Some(b) = &self.budget {
            b.held.fetch_sub(self.rest.len(), Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
struct Inner {
    items: VecDeque<Item>,
    bytes: usize,
    limit: usize,
    state: State,
    waker: Option<Waker>,
    /// The writer waits for data (not only for an interruption).
    wants_data: bool,
    /// Its wake-up is deferred to the end of the turn ([`wakeups`]); it
    /// still waits, and is woken at once if it comes to owe a full write.
    wake_deferred: bool,
    /// Final replies promised with [`SendQueue::promise`] and those
    /// waiting behind them. Boxed, and made on the first promise: an idle
    /// connection never has one.
    owed: Option<Box<Owed>>,
    /// The last write ended inside a line.
    mid_line: bool,
    /// [`Item::Paced`] replies queued, not yet all released. A `u32`
    /// keeps the queue's shared part in jemalloc's 112-byte class (every
    /// connection has one).
    paced: u32,
    /// What paced replies hold across the server, if bounded.
    budget: Option<Arc<PacedBudget>>,
}

impl Inner {
    /// Drops the first `n` bytes queued (written), item by item.
    fn consume(&mut self, mut n: usize) {
        self.bytes -= n;
        self.mid_line = false;
        while n > 0 {
            match self.items.front_mut() {
                Some(Item::Line(line)) if line.len() > n => {
                    line.advance(n);
                    self.mid_line = true;
                    return;
                }
                Some(Item::Line(line)) => {
                    n -= line.len();
                    self.items.pop_front();
                }
                Some(Item::Log(_, span)) if span.len() > n => {
                    span.start += n as u64;
                    self.mid_line = true;
                    return;
                }
                Some(Item::Log(_, span)) => {
                    n -= span.len();
                    if let Some(Item::Log(reader, _)) = self.items.pop_front() {
                        reader.finish();
                    }
                }
                // Only lines and spans are written from the queue.
                Some(Item::Body(_) | Item::Paced(_)) | None => return,
            }
        }
    }

    /// Checks the state and the limit for `len` more bytes, then lets
    /// `add` queue them; returns the writer to wake, if it waits for data.
    #[inline(always)]
    fn add(
        &mut self,
        len: usize,
        add: impl FnOnce(&mut VecDeque<Item>),
    ) -> Result<Option<Waker>, PushError> {
        self.admit(len, add)?;
        if self.wants_data {
            self.wants_data = false;
            self.wake_deferred = false;
            Ok(self.waker.take())
        } else {
            Ok(None)
        }
    }

    /// [`Inner::add`], for a writer woken at the end of the turn: returns
    /// the waker to hand to [`wakeups`] the first time, and then nothing
    /// until the writer owes [`Inner::deferred_at_most`] (then it is to be
    /// woken now).
    #[inline(always)]
    fn add_deferred(
        &mut self,
        len: usize,
        add: impl FnOnce(&mut VecDeque<Item>),
    ) -> Result<Option<Wake>, PushError> {
        self.admit(len, add)?;
        if !self.wants_data {
            return Ok(None);
        }
        if self.bytes < self.deferred_at_most() {
            if std::mem::replace(&mut self.wake_deferred, true) {
                return Ok(None);
            }
            return Ok(self.waker.clone().map(Wake::Later));
        }
        self.wants_data = false;
        self.wake_deferred = false;
        Ok(self.waker.take().map(Wake::Now))
    }

    /// What a writer may owe before a deferred wake-up is brought forward:
    /// a full write, or a quarter of the limit, so that waiting for the
    /// end of the turn never overflows a queue its writer could keep short.
    fn deferred_at_most(&self) -> usize {
        (self.limit / 4).min(writer::MAX_BATCH)
    }

    /// Checks the state and the limit for `len` more bytes, then lets
    /// `add` queue them. Past the limit the queue overflows and its writer
    /// is woken at once (rare: the lock is held a moment longer then).
    #[inline(always)]
    fn admit(
        &mut self,
        len: usize,
        add: impl FnOnce(&mut VecDeque<Item>),
    ) -> Result<(), PushError> {
        match self.state {
            State::Open => {}
            State::Closing => return Err(PushError::Closed),
            State::Overflowed => return Err(PushError::Overflowed),
        }
        if self.bytes + len > self.limit {
            if let Some(w) = self.overflow() {
                w.wake();
            }
            return Err(PushError::Overflowed);
        }
        self.bytes += len;
        add(&mut self.items);
        Ok(())
    }

    /// Drops everything queued and refuses more; returns the writer to wake.
    fn overflow(&mut self) -> Option<Waker> {
        if matches!(self.state, State::Open) {
            crate::telemetry::sendq_dropped();
        }
        self.state = State::Overflowed;
        self.items = VecDeque::new();
        self.bytes = 0;
        self.paced = 0;
        self.waker.take()
    }

    /// Queues a command's reply: as it is, or paced when it is larger than
    /// a [`Inner::paced_chunk`] (then it does not count against the limit
    /// until released).
    fn add_reply(&mut self, line: Bytes) -> Result<Option<Waker>, PushError> {
        let len = line.len();
        if len <= self.paced_chunk() {
            return self.add(len, |items| items.push_back(Item::Line(line)));
        }
        if let Some(budget) = self.budget.as_ref().filter(|b| !b.reserve(len)) {
            refused(
                Limit::LargeReplies,
                format_args!(
                    "a reply of {len} bytes is queued as any other: large replies hold {} \
                     bytes already",
                    budget.held()
                ),
            );
            return self.add(len, |items| items.push_back(Item::Line(line)));
        }
        let paced = PacedReply {
            rest: line,
            budget: self.budget.clone(),
        };
        let waker = self.add(0, |items| items.push_back(Item::Paced(paced)))?;
        self.paced += 1;
        Ok(waker)
    }

    /// The most a paced reply releases at once, and the least it takes to
    /// be paced: at most a quarter of the limit (the mark past which the
    /// connection is backlogged), so that releasing a chunk never drops a
    /// client that reads.
    fn paced_chunk(&self) -> usize {
        (self.limit / 4).min(PACED_CHUNK)
    }

    /// When a paced reply is next in line, releases its next chunk (whole
    /// lines, up to [`Inner::paced_chunk`] bytes) as a line before it. The
    /// chunk is counted, and may take the queue past its limit by that
    /// much: it was accepted, and everything before it is written.
    fn release_paced(&mut self) {
        let chunk = self.paced_chunk();
        let Some(Item::Paced(paced)) = self.items.front_mut() else {
            return;
        };
        let cut = paced_cut(&paced.rest, chunk);
        let line = paced.split_to(cut);
        if paced.rest.is_empty() {
            self.items.pop_front();
            self.paced -= 1;
        }
        self.bytes += line.len();
        self.items.push_front(Item::Line(line));
    }
}

/// The most one release of a paced reply takes: what the writer hands
/// one write at most.
const PACED_CHUNK: usize = writer::MAX_BATCH;

/// Where the next chunk of `rest` ends: after the last whole line within
/// `chunk` bytes, or after the first line if even that is longer.
fn paced_cut(rest: &[u8], chunk: usize) -> usize {
    if rest.len() <= chunk {
        return rest.len();
    }
    match memchr::memrchr(b'\n', &rest[..chunk]) {
        Some(i) => i + 1,
        None => memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1),
    }
}

/// When to wake a writer given something to write.
enum Wake {
    /// Now: it owes a full write.
    Now(Waker),
    /// With the thread's others, at the end of the turn.
    Later(Waker),
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The queue is over its limit; the connection is being dropped.
    #[error("send queue exceeded")]
    Overflowed,
    /// The connection is closing.
    #[error("connection closing")]
    Closed,
}

/// A cheap, cloneable handle to one connection's outgoing queue.
#[derive(Debug, Clone)]
pub struct SendQueue {
    inner: Arc<Mutex<Inner>>,
}

/// Queues `span` of `log`: the last item grows when it ends where the
/// span starts in the same log (a member owes one item however many
/// lines), else the span is a new item.
#[inline(always)]
fn append_span(items: &mut VecDeque<Item>, log: &BroadcastLog, span: Span) {
    match items.back_mut() {
        Some(Item::Log(reader, last)) if last.end == span.start && reader.reads(log) => {
            last.end = span.end;
        }
        _ => items.push_back(Item::Log(log.reader(), span)),
    }
}

impl SendQueue {
    /// An empty queue that holds at most `limit` bytes, and whose paced
    /// replies count against `budget` ([`SendQueue::reply`]).
    pub fn with_budget(limit: usize, budget: Arc<PacedBudget>) -> Self {
        let queue = SendQueue::new(limit);
        queue.lock().budget = Some(budget);
        queue
    }

    /// An empty queue that holds at most `limit` bytes (its paced replies
    /// unbounded together).
    pub fn new(limit: usize) -> Self {
        SendQueue {
            inner: Arc::new(Mutex::new(Inner {
                items: VecDeque::new(),
                bytes: 0,
                limit,
                state: State::Open,
                waker: None,
                wants_data: false,
                wake_deferred: false,
                owed: None,
                mid_line: false,
                paced: 0,
                budget: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the queue
        // inconsistent in a way that matters more than losing the client.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one rendered line (or several, already joined).
    pub fn push(&self, line: Bytes) -> Result<(), PushError> {
        self.push_item(Item::Line(line))
    }

    /// Queues a file's content, streamed with back-pressure once the lines
    /// before it are written; lines queued after it wait for its end. It
    /// does not count against the byte limit.
    pub fn push_body(&self, body: FileBody) -> Result<(), PushError> {
        self.push_item(Item::Body(body))
    }

    fn push_item(&self, item: Item) -> Result<(), PushError> {
        let len = match &item {
            Item::Line(line) => line.len(),
            Item::Log(_, span) => span.len(),
            Item::Body(_) | Item::Paced(_) => 0,
        };
        self.push_with(len, |items| items.push_back(item))
    }

    /// Queues the lines `span` of a room's `log`: it extends the last item
    /// when that ends where `span` starts, as it does while a member is
    /// behind on a busy room.
    pub fn push_log(&self, log: &BroadcastLog, span: Span) -> Result<(), PushError> {
        self.push_with(span.len(), |items| append_span(items, log, span))
    }

    /// [`SendQueue::push_log`], but a writer waiting for data is woken with
    /// the thread's other deferred writers once the thread has run what
    /// was ready (`wakeups`): rooms that queue messages for many members,
    /// message after message, wake each writer once, and it finds
    /// everything it is owed. A writer that comes to owe a full write
    /// meanwhile is woken at once. Must be called on a `LocalSet` (an
    /// actix arbiter's thread).
    pub fn push_log_deferred(&self, log: &BroadcastLog, span: Span) -> Result<(), PushError> {
        let wake = self
            .lock()
            .add_deferred(span.len(), |items| append_span(items, log, span))?;
        match wake {
            Some(Wake::Later(w)) => {
                wakeups::wake_later(w);
            }
            Some(Wake::Now(w)) => w.wake(),
            None => {}
        }
        Ok(())
    }

    /// Checks the state and the limit for `len` more bytes, then lets
    /// `add` queue them and wakes a waiting writer.
    fn push_with(
        &self,
        len: usize,
        add: impl FnOnce(&mut VecDeque<Item>),
    ) -> Result<(), PushError> {
        let waker = self.lock().add(len, add)?;
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Queues a command's reply (a final one, or a line of its answer, or
    /// the whole answer joined) behind the final replies still owed to
    /// earlier commands.
    ///
    /// A reply larger than a chunk (64 KiB, or a quarter of the limit if
    /// less) is *paced*: it waits, uncounted, until what was queued before
    /// it is written, then is released into the queue a chunk of whole
    /// lines at a time as the socket takes them; lines queued after it
    /// wait behind it. However large, it never overflows the queue of a
    /// client that reads. While one is queued the connection is
    /// [backlogged](SendQueue::is_backlogged), so that a client is not
    /// read (and cannot pile up more such replies) until it has it all.
    /// Paced replies not yet released count against the queue's
    /// [`PacedBudget`], if it has one: past it, a large reply is queued
    /// as any other (counted, so it may overflow), and the refusal is
    /// counted and logged.
    pub fn reply(&self, line: Bytes) -> Result<(), PushError> {
        let waker = {
            let mut q = self.lock();
            match q.owed.as_mut().filter(|o| o.unsettled() > 0) {
                Some(owed) => {
                    owed.queue_behind(line);
                    return Ok(());
                }
                None => q.add_reply(line)?,
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Promises a final reply that something else will give later with
    /// [`SendQueue::settle`] (an `OK MSG` sent once the message is stored):
    /// replies queued meanwhile with [`SendQueue::reply`] wait behind it.
    pub fn promise(&self) -> Ticket {
        let mut q = self.lock();
        q.owed.get_or_insert_with(Box::default).promise()
    }

    /// Gives promised replies, and queues every reply now free to go: one
    /// lock and one wake-up for a whole group commit's worth.
    pub fn settle(&self, replies: impl IntoIterator<Item = (Ticket, Bytes)>) {
        let (waker, ack_waker) = {
            let mut q = self.lock();
            let Some(mut owed) = q.owed.take() else {
                return;
            };
            for (ticket, line) in replies {
                owed.settle(ticket, line);
            }
            // Lines released together are joined into one item: a busy
            // sender's acknowledgements from one commit cost one slice of
            // one write, not one each.
            let joined = match owed.ready() {
                (0, _) => None,
                (1, _) => owed.release().next(),
                (_, len) => {
                    let mut buf = BytesMut::with_capacity(len);
                    for line in owed.release() {
                        buf.extend_from_slice(&line);
                    }
                    Some(buf.freeze())
                }
            };
            // A closed or overflowed queue still settles the promise.
            let waker = joined.and_then(|line| q.add_reply(line).ok().flatten());
            let ack_waker = owed.waiter.take();
            q.owed = Some(owed);
            (waker, ack_waker)
        };
        for w in [waker, ack_waker].into_iter().flatten() {
            w.wake();
        }
    }

    /// Promised replies not yet given.
    pub fn acks_pending(&self) -> usize {
        self.lock().owed.as_ref().map_or(0, |o| o.unsettled())
    }

    /// Resolves once at most `n` promised replies are outstanding.
    pub fn acks_at_most(&self, n: usize) -> impl std::future::Future<Output = ()> + 'static {
        let queue = self.clone();
        poll_fn(move |cx| {
            let mut q = queue.lock();
            match q.owed.as_mut() {
                Some(owed) if owed.unsettled() > n => {
                    owed.waiter = Some(cx.waker().clone());
                    Poll::Pending
                }
                _ => Poll::Ready(()),
            }
        })
    }

    /// Flushes what is queued, then closes the connection; later pushes
    /// are refused.
    pub fn close(&self) {
        let waker = {
            let mut q = self.lock();
            if q.state == State::Open {
                q.state = State::Closing;
            }
            q.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Identifies the queue (the same for every handle to it).
    pub fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Lines are queued, fewer than a write's worth, and nothing else: a
    /// write that may wait for the end of the turn ([`Writer::defer`]).
    fn owes_a_little(&self) -> bool {
        let q = self.lock();
        q.state == State::Open
            && q.paced == 0
            && q.bytes > 0
            && q.bytes < q.deferred_at_most()
            && matches!(q.items.front(), Some(Item::Line(_) | Item::Log(..)))
    }

    /// More than a quarter of the limit is waiting, counting `in_flight`
    /// bytes the writer took but has not written yet: the connection's
    /// [`Link`](crate::transport::link::Link) stops reading the client until it is
    /// written, so that a server behind on its output takes in no more
    /// work meanwhile.
    pub fn is_backlogged(&self, in_flight: usize) -> bool {
        let q = self.lock();
        q.paced > 0 || q.bytes + in_flight > q.limit / 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_part_fits_jemallocs_112_byte_class() {
        // Every connection has one (its writer, its rooms and the
        // directory share it): 16 bytes of `Arc` counts, 8 of mutex.
        assert!(16 + size_of::<Mutex<Inner>>() <= 112);
    }

    #[test]
    fn overflow_drops_content_and_refuses_more() {
        let q = SendQueue::new(10);
        assert_eq!(q.push(Bytes::from_static(b"12345\n")), Ok(()));
        assert_eq!(q.queued_bytes(), 6);
        assert_eq!(
            q.push(Bytes::from_static(b"12345\n")),
            Err(PushError::Overflowed)
        );
        assert_eq!(q.queued_bytes(), 0);
        assert_eq!(
            q.push(Bytes::from_static(b"x\n")),
            Err(PushError::Overflowed)
        );
    }

    #[tokio::test]
    async fn acks_settle_in_order() {
        let q = SendQueue::new(1000);
        let first = q.promise();
        let second = q.promise();
        assert_eq!(q.acks_pending(), 2);
        // An error answered at once waits behind both.
        q.reply(Bytes::from_static(b"ERR MSG NOT_IN_ROOM x\n"))
            .unwrap();
        let settled = tokio::spawn(q.acks_at_most(0));
        q.settle([(second, Bytes::from_static(b"OK MSG #b\n"))]);
        tokio::task::yield_now().await;
        assert!(!settled.is_finished());
        assert_eq!(q.queued_bytes(), 0, "the first is still owed");
        q.settle([(first, Bytes::from_static(b"OK MSG #a\n"))]);
        settled.await.unwrap();
        assert_eq!(q.queued_bytes(), 20 + 22);
        let lines: Vec<_> = q
            .lock()
            .items
            .iter()
            .map(|i| match i {
                Item::Line(l) => l.clone(),
                _ => unreachable!(),
            })
            .collect();
        // Released together, joined into one item.
        assert_eq!(lines, ["OK MSG #a\nOK MSG #b\nERR MSG NOT_IN_ROOM x\n"]);
    }

    /// Counts the times a writer is woken.
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl Wakes {
        fn count(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// A waiting writer on `q` with the counter of its wake-ups.
    fn waiting_writer(
        q: &SendQueue,
        io: &mut tokio::io::DuplexStream,
    ) -> (Writer, Arc<Wakes>, Waker) {
        let wakes = Arc::new(Wakes(Default::default()));
        let waker = Waker::from(Arc::clone(&wakes));
        let mut writer = Writer::new(q.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        // Nothing queued: the writer waits for data.
        assert!(writer.poll_write(io, &mut cx).is_pending());
        (writer, wakes, waker)
    }

    /// Lets the thread's other tasks run until `done`, a few turns at most.
    async fn turns_until(done: impl Fn() -> bool) {
        for _ in 0..100 {
            if done() {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn deferred_pushes_wake_the_writer_once_and_it_writes_them_together() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let log = BroadcastLog::new(1000);
                let q = SendQueue::new(1000);
                let (mut io, mut client) = tokio::io::duplex(1024);
                let (mut writer, wakes, waker) = waiting_writer(&q, &mut io);
                let mut cx = std::task::Context::from_waker(&waker);
                for text in ["MSG #a x 1\n", "MSG #a y 2\n", "MSG #a x 3\n"] {
                    let span = log.append(text.as_bytes());
                    q.push_log_deferred(&log, span).unwrap();
                }
                assert_eq!(wakes.count(), 0, "not woken while the room works");
                assert_eq!(
                    wakeups::waiting(),
                    1,
                    "one wake-up owed, however many lines"
                );
                turns_until(|| wakes.count() > 0).await;
                assert_eq!(wakes.count(), 1);
                assert_eq!(wakeups::waiting(), 0);
                // Woken, it writes everything it is owed in one write.
                assert!(writer.poll_write(&mut io, &mut cx).is_pending());
                let mut got = vec![0u8; 64];
                let n = tokio::io::AsyncReadExt::read(&mut client, &mut got)
                    .await
                    .unwrap();
                assert_eq!(&got[..n], b"MSG #a x 1\nMSG #a y 2\nMSG #a x 3\n");
                // Written dry, it waits again: the next line wakes it at once.
                let span = log.append(b"MSG #a y 4\n");
                q.push_log(&log, span).unwrap();
                assert_eq!(wakes.count(), 2, "a writer waiting again is woken again");
            })
            .await;
    }

    #[tokio::test]
    async fn a_deferred_writer_owing_a_full_write_is_woken_at_once() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let log = BroadcastLog::new(1000);
                // A quarter of the limit is 250 bytes: three lines of 100.
                let q = SendQueue::new(1000);
                let (mut io, _client) = tokio::io::duplex(1024);
                let (_writer, wakes, _) = waiting_writer(&q, &mut io);
                let line = format!("{}\n", "x".repeat(99));
                for _ in 0..2 {
                    let span = log.append(line.as_bytes());
                    q.push_log_deferred(&log, span).unwrap();
                }
                assert_eq!(wakes.count(), 0, "owing less, it waits for the turn's end");
                let span = log.append(line.as_bytes());
                q.push_log_deferred(&log, span).unwrap();
                assert_eq!(wakes.count(), 1, "owing a full write, it is woken now");
                // The wake-up deferred before finds it already woken: one
                // more, spurious, and no further pushes wake it again.
                let span = log.append(line.as_bytes());
                q.push_log_deferred(&log, span).unwrap();
                turns_until(|| wakeups::waiting() == 0 && wakes.count() == 2).await;
                assert_eq!(wakes.count(), 2);
            })
            .await;
    }

    #[tokio::test]
    async fn rooms_sharing_a_turn_wake_each_writer_once_together() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let rooms = [(); 3].map(|()| BroadcastLog::new(1000));
                let queues = [(); 2].map(|()| SendQueue::new(1000));
                let (mut io1, mut client1) = tokio::io::duplex(1024);
                let (mut io2, _client2) = tokio::io::duplex(1024);
                let (mut writer1, wakes1, waker1) = waiting_writer(&queues[0], &mut io1);
                let (_writer2, wakes2, _) = waiting_writer(&queues[1], &mut io2);
                // Each room fans two messages out to both members.
                for n in 1..=2 {
                    for (r, room) in rooms.iter().enumerate() {
                        let span = room.append(format!("MSG #{r} x {n}\n").as_bytes());
                        for q in &queues {
                            q.push_log_deferred(room, span).unwrap();
                        }
                    }
                }
                assert_eq!((wakes1.count(), wakes2.count()), (0, 0));
                assert_eq!(
                    wakeups::waiting(),
                    2,
                    "one wake-up per writer, not per room"
                );
                turns_until(|| wakes1.count() > 0 && wakes2.count() > 0).await;
                assert_eq!((wakes1.count(), wakes2.count()), (1, 1));
                assert_eq!(wakeups::waiting(), 0);
                // The woken writer has every room's lines to write, in order.
                let mut cx = std::task::Context::from_waker(&waker1);
                let mut got = Vec::new();
                while got.len() < 6 * 11 {
                    assert!(writer1.poll_write(&mut io1, &mut cx).is_pending());
                    let mut buf = vec![0u8; 256];
                    let n = tokio::io::AsyncReadExt::read(&mut client1, &mut buf)
                        .await
                        .unwrap();
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    "MSG #0 x 1\nMSG #1 x 1\nMSG #2 x 1\nMSG #0 x 2\nMSG #1 x 2\nMSG #2 x 2\n"
                );
            })
            .await;
    }

    #[tokio::test]
    async fn a_reply_larger_than_the_limit_is_paced_whole_and_in_order() {
        // A quarter of the limit is 100 bytes: a chunk.
        let q = SendQueue::new(400);
        q.push(Bytes::from_static(b"before\n")).unwrap();
        let big: String = (0..100).map(|i| format!("ROOM #r{i:03} 0 no\n")).collect();
        q.reply(Bytes::from(big.clone())).unwrap();
        assert!(q.is_backlogged(0), "not read until the reply is out");
        assert_eq!(q.queued_bytes(), 7, "a paced reply is not counted queued");
        q.reply(Bytes::from_static(b"OK LIST 100\n")).unwrap();
        let log = BroadcastLog::new(1000);
        let span = log.append(b"MSG #a x hi\n");
        q.push_log(&log, span).unwrap();
        q.close();
        let socket_side = {
            let (client, server_side) = tokio::io::duplex(64);
            let writer = tokio::spawn(run_writer(q.clone(), client));
            (writer, server_side)
        };
        let (writer, mut server_side) = socket_side;
        let mut got = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut server_side, &mut got)
            .await
            .unwrap();
        assert_eq!(got, format!("before\n{big}OK LIST 100\nMSG #a x hi\n"));
        assert!(matches!(writer.await.unwrap(), WriterEnd::Closed));
        assert!(!q.is_backlogged(0));
    }

    #[test]
    fn paced_replies_hold_their_budget_until_released_or_dropped() {
        let budget = PacedBudget::new(1500);
        let q = SendQueue::with_budget(400, Arc::clone(&budget));
        let big = Bytes::from("x\n".repeat(500));
        q.reply(big.clone()).unwrap();
        assert_eq!(budget.held(), 1000);
        // Another connection's reply past the budget is counted as any
        // other: over its queue's limit, it overflows it.
        let other = SendQueue::with_budget(400, Arc::clone(&budget));
        assert_eq!(other.reply(big.clone()), Err(PushError::Overflowed));
        assert_eq!(budget.held(), 1000);
        // Released (and written) chunk by chunk, it leaves the budget.
        assert_eq!(q.take_text().as_deref(), Some(&*"x\n".repeat(500)));
        assert_eq!(budget.held(), 0);
        // A queue dropped with a reply unsent gives its bytes back.
        let dropped = SendQueue::with_budget(400, Arc::clone(&budget));
        dropped.reply(big.clone()).unwrap();
        assert_eq!(budget.held(), 1000);
        drop(dropped);
        assert_eq!(budget.held(), 0);
        // Past the budget, a reply within the queue's limit is just queued.
        budget.set_max(0);
        let roomy = SendQueue::with_budget(100_000, Arc::clone(&budget));
        assert_eq!(roomy.reply(big), Ok(()));
        assert_eq!(roomy.queued_bytes(), 1000);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_paced_chunk_ends_after_whole_lines() {
        assert_eq!(paced_cut(b"ab\ncd\nef\n", 7), 6);
        assert_eq!(paced_cut(b"ab\ncd\nef\n", 100), 9);
        // A line longer than a chunk goes whole.
        assert_eq!(paced_cut(b"abcdef\ngh\n", 3), 7);
        assert_eq!(paced_cut(b"abcdef", 3), 6);
    }

    #[tokio::test]
    async fn log_spans_merge_and_keep_their_place_among_lines() {
        let log = BroadcastLog::new(1000);
        let q = SendQueue::new(1000);
        let a = log.append(b"JOIN #a x\n");
        q.push_log(&log, a).unwrap();
        let b = log.append(b"JOIN #a y\n");
        q.push_log(&log, b).unwrap();
        assert_eq!(q.lock().items.len(), 1, "contiguous spans are one item");
        q.push(Bytes::from_static(b"OK JOIN #a\n")).unwrap();
        let c = log.append(b"MSG #a y hi\n");
        q.push_log(&log, c).unwrap();
        assert_eq!(q.lock().items.len(), 3);
        assert_eq!(q.queued_bytes(), 20 + 11 + 12);
        q.close();
        let (client, mut server_side) = tokio::io::duplex(1024);
        let writer = tokio::spawn(run_writer(q.clone(), client));
        let mut got = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut server_side, &mut got)
            .await
            .unwrap();
        assert_eq!(got, "JOIN #a x\nJOIN #a y\nOK JOIN #a\nMSG #a y hi\n");
        assert!(matches!(writer.await.unwrap(), WriterEnd::Closed));
        assert_eq!(log.kept_bytes(), 0, "read by everyone: freed");
    }
}
