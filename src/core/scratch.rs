//! A reused buffer that lines are rendered into before they are copied
//! out at their size (into a room's log, or into a `Bytes` of their own).

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};

thread_local! {
    /// Where lines are rendered before being copied out at their size.
    static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// The most the rendering scratch buffer keeps between lines.
const SCRATCH_KEEP: usize = 4096;

/// The bytes `encode` renders, in an allocation of their own size: one
/// allocation per line (freezing a growable buffer costs a second one).
pub fn rendered(encode: impl FnOnce(&mut BytesMut)) -> Bytes {
    with_line(encode, Bytes::copy_from_slice)
}

/// Renders a line with `encode` into a reused buffer and lends it to
/// `take`: a room copies a message's line straight into its log.
pub fn with_line<R>(encode: impl FnOnce(&mut BytesMut), take: impl FnOnce(&[u8]) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            encode(&mut buf);
            let taken = take(&buf);
            if buf.capacity() > SCRATCH_KEEP {
                *buf = BytesMut::new();
            }
            taken
        }
        // Nothing renders a line while taking another; if it did, it
        // would get a buffer of its own.
        Err(_) => {
            let mut buf = BytesMut::new();
            encode(&mut buf);
            take(&buf)
        }
    })
}
