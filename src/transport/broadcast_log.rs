//! One room's outgoing lines, stored once for all its members.
//!
//! A room appends each line meant for its members to its [`BroadcastLog`]
//! and hands every member's [`SendQueue`](crate::transport::send_queue::SendQueue) the
//! [`Span`] of log offsets the line occupies. A queue whose last item is a
//! span of the same log ending where the new one starts just moves that
//! end: no allocation and no reference count per recipient, and a member
//! that is behind holds one item however many lines it owes (10,000
//! joins to one room would otherwise queue 50 million line handles). The
//! member's writer copies the bytes out of the log as it writes them.
//!
//! The log keeps its bytes while a queue may still need them, but never
//! more than `retain` bytes behind its end: a member further behind than
//! that is past its send-queue limit, and finds its span gone, which its
//! queue treats as an overflow.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// A range of offsets in one [`BroadcastLog`]: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The first byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Span {
    /// How many bytes it covers.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether it covers nothing.
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }
}

#[derive(Debug)]
struct LogBytes {
    /// The bytes from offset `base` to the end.
    buf: VecDeque<u8>,
    base: u64,
    retain: usize,
    /// Members whose spans the room keeps aside for a while (joiners
    /// waiting for their history replay): their bytes must stay.
    holds: usize,
}

impl LogBytes {
    fn end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Drops every byte, and the buffer: nobody will ask for them, and
    /// most rooms are quiet most of the time.
    fn forget_all(&mut self) {
        self.base = self.end();
        self.buf = VecDeque::new();
    }

    /// Forgets everything but keeps the buffer, for a line about to be
    /// appended: freeing it here would only mean growing it again.
    fn forget_all_keeping_buffer(&mut self) {
        self.base = self.end();
        self.buf.clear();
    }
}

/// What a log that had let go of its buffer reserves at its next line.
const INITIAL_BYTES: usize = 2048;

type Shared = Arc<Mutex<LogBytes>>;

fn lock(shared: &Shared) -> MutexGuard<'_, LogBytes> {
    // Every update leaves the log consistent: a panic elsewhere while
    // holding the lock leaves nothing half-done.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The log a room writes to; queues read it through [`LogReader`]s.
#[derive(Debug)]
pub struct BroadcastLog {
    shared: Shared,
}

impl BroadcastLog {
    /// An empty log keeping at most `retain` bytes behind its end.
    pub fn new(retain: usize) -> Self {
        BroadcastLog {
            shared: Arc::new(Mutex::new(LogBytes {
                buf: VecDeque::new(),
                base: 0,
                retain,
                holds: 0,
            })),
        }
    }

    /// Appends `line` and returns where it lies. The span must be queued
    /// (or held) before the next append: with no reader and no hold, the
    /// log forgets everything it has then.
    pub fn append(&self, line: &[u8]) -> Span {
        // Readers are cloned only here, on the room's thread, so a count of
        // one cannot be racing with a new reader.
        let unread = Arc::strong_count(&self.shared) == 1;
        let mut log = lock(&self.shared);
        if unread && log.holds == 0 {
            log.forget_all_keeping_buffer();
        }
        if log.buf.capacity() == 0 {
            // A busy room's log grows to many lines: start at a size that
            // spares it the first doublings (each a copy).
            let initial = INITIAL_BYTES.min(log.retain);
            log.buf.reserve(initial);
        }
        let start = log.end();
        log.buf.extend(line);
        let excess = log.buf.len().saturating_sub(log.retain);
        if excess > 0 {
            log.buf.drain(..excess);
            log.base += excess as u64;
        }
        Span {
            start,
            end: log.end(),
        }
    }

    /// Keeps bytes appended from now on for a member whose spans the room
    /// holds aside, until [`BroadcastLog::unhold`].
    pub fn hold(&self) {
        lock(&self.shared).holds += 1;
    }

    /// Ends one [`BroadcastLog::hold`].
    pub fn unhold(&self) {
        let mut log = lock(&self.shared);
        log.holds = log.holds.saturating_sub(1);
    }

    /// A handle for a queue to read spans with.
    pub fn reader(&self) -> LogReader {
        LogReader {
            shared: self.shared.clone(),
        }
    }

    /// Bytes currently kept.
    pub fn kept_bytes(&self) -> usize {
        lock(&self.shared).buf.len()
    }
}

/// A queue's handle to one [`BroadcastLog`].
#[derive(Debug)]
pub struct LogReader {
    shared: Shared,
}

impl LogReader {
    /// Whether this reads `log`.
    pub fn reads(&self, log: &BroadcastLog) -> bool {
        Arc::ptr_eq(&self.shared, &log.shared)
    }

    /// Locks the log to lend the bytes of spans in place.
    pub fn view(&self) -> LogView<'_> {
        LogView {
            shared: &self.shared,
            log: lock(&self.shared),
        }
    }

    /// Lets go of the log once this reader's spans are all written: if no
    /// other queue reads it, its bytes are freed now rather than at the
    /// room's next line, so a quiet room keeps nothing.
    pub fn finish(self) {
        // This reader and the room's log: nobody else. Readers are only
        // made on the room's thread, which is running this writer.
        if Arc::strong_count(&self.shared) <= 2 {
            let mut log = lock(&self.shared);
            if log.holds == 0 {
                log.forget_all();
            }
        }
    }
}

/// A locked [`BroadcastLog`], lending the bytes of its spans without a
/// copy: a writer hands them to the socket straight from the log.
pub struct LogView<'a> {
    shared: &'a Shared,
    log: MutexGuard<'a, LogBytes>,
}

impl LogView<'_> {
    /// Whether `reader` reads this log.
    pub fn is_read_by(&self, reader: &LogReader) -> bool {
        Arc::ptr_eq(self.shared, &reader.shared)
    }

    /// The first `max` bytes (at most) of `span`, in one or two slices
    /// (the log is a ring); `None` if the log no longer has them.
    pub fn slices(&self, span: Span, max: usize) -> Option<(&[u8], &[u8])> {
        let log = &*self.log;
        if span.start < log.base || span.end > log.end() {
            return None;
        }
        let from = (span.start - log.base) as usize;
        let to = from + span.len().min(max);
        let (front, back) = log.buf.as_slices();
        Some(if to <= front.len() {
            (&front[from..to], &[][..])
        } else if from >= front.len() {
            (&back[from - front.len()..to - front.len()], &[][..])
        } else {
            (&front[from..], &back[..to - front.len()])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends to `out` the first `max` bytes (at most) of `span`, and
    /// returns how many; `None` if the log no longer has them.
    fn copy_to(r: &LogReader, span: Span, max: usize, out: &mut Vec<u8>) -> Option<usize> {
        let view = r.view();
        let (front, back) = view.slices(span, max)?;
        out.extend_from_slice(front);
        out.extend_from_slice(back);
        Some(front.len() + back.len())
    }

    fn read_all(r: &LogReader, span: Span) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        copy_to(r, span, usize::MAX, &mut out).map(|_| out)
    }

    #[test]
    fn spans_read_back_what_was_appended() {
        let log = BroadcastLog::new(1000);
        let r = log.reader();
        let a = log.append(b"JOIN #a x\n");
        let b = log.append(b"JOIN #a y\n");
        assert_eq!(a.end, b.start);
        assert_eq!(read_all(&r, a).unwrap(), b"JOIN #a x\n");
        let both = Span {
            start: a.start,
            end: b.end,
        };
        assert_eq!(read_all(&r, both).unwrap(), b"JOIN #a x\nJOIN #a y\n");
        let mut out = Vec::new();
        assert_eq!(copy_to(&r, both, 4, &mut out), Some(4));
        assert_eq!(out, b"JOIN");
    }

    #[test]
    fn bytes_past_retain_are_gone() {
        let log = BroadcastLog::new(10);
        let r = log.reader();
        let old = log.append(b"0123456789");
        let new = log.append(b"abc");
        assert_eq!(read_all(&r, old), None);
        assert_eq!(read_all(&r, new).unwrap(), b"abc");
        assert!(log.kept_bytes() <= 10);
    }

    #[test]
    fn a_log_nobody_reads_keeps_nothing() {
        let log = BroadcastLog::new(1000);
        log.append(b"one\n");
        let two = log.append(b"two\n");
        assert_eq!(log.kept_bytes(), 4, "no reader: the first line is gone");
        let r = log.reader();
        let three = log.append(b"three\n");
        assert_eq!(read_all(&r, three).unwrap(), b"three\n");
        r.finish();
        assert_eq!(log.kept_bytes(), 0);
        assert!(two.end <= three.start);
    }

    #[test]
    fn a_hold_keeps_bytes_without_a_reader() {
        let log = BroadcastLog::new(1000);
        log.hold();
        let a = log.append(b"a\n");
        let b = log.append(b"b\n");
        let r = log.reader();
        assert_eq!(
            read_all(
                &r,
                Span {
                    start: a.start,
                    end: b.end
                }
            )
            .unwrap(),
            b"a\nb\n"
        );
        log.unhold();
        r.finish();
        assert_eq!(log.kept_bytes(), 0);
    }

    #[test]
    fn reads_across_the_ring_seam() {
        let log = BroadcastLog::new(8);
        let r = log.reader();
        for _ in 0..5 {
            log.append(b"xyz");
        }
        let s = log.append(b"abcdef");
        assert_eq!(read_all(&r, s).unwrap(), b"abcdef");
    }
}
