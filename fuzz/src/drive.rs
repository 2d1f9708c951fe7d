//! Driving a decoder the way `FramedRead` does, and checking what every
//! codec owes its reader.
//!
//! After each read, `decode` is called until it returns `None`; at the end
//! of the input, `decode_eof` until it returns `None`; the first error ends
//! the stream. Whatever the decoder, [`decode_reads`] panics (a crash for
//! libFuzzer) if it
//!
//! - adds bytes to the buffer (it may only take them),
//! - loops: returns two items in a row that consume nothing (one may, an
//!   end marker such as the native codec's `BodyEnd`).
//!
//! What it does not know, each target checks on the [`Trace`]: what the
//! items hold against the bytes they consumed, and how much the decoder
//! kept buffered while waiting ([`Trace::most_held`]).

use std::ops::Range;

use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// One item, and the bytes of the input that the call returning it took.
#[derive(Debug)]
pub struct Decoded<T> {
    /// The item.
    pub item: T,
    /// Where the bytes it took lie in the whole input (every read joined).
    pub consumed: Range<usize>,
}

/// What a decoder made of some reads.
#[derive(Debug)]
pub struct Trace<T, E> {
    /// The items, in order.
    pub items: Vec<Decoded<T>>,
    /// The most bytes the decoder kept buffered when it asked for more input.
    pub most_held: usize,
    /// The error that ended the stream, if one did.
    pub error: Option<E>,
}

/// The state of one stream being decoded.
struct Stream<T, E> {
    buf: BytesMut,
    /// Where `buf` starts in the whole input.
    offset: usize,
    /// Items in a row that consumed nothing.
    idle: usize,
    trace: Trace<T, E>,
}

/// Decodes `reads` as `FramedRead` would, checking what every codec owes.
pub fn decode_reads<D: Decoder>(decoder: &mut D, reads: &[&[u8]]) -> Trace<D::Item, D::Error> {
    let mut stream = Stream {
        buf: BytesMut::new(),
        offset: 0,
        idle: 0,
        trace: Trace {
            items: Vec::new(),
            most_held: 0,
            error: None,
        },
    };
    for read in reads {
        stream.buf.extend_from_slice(read);
        if !stream.pump(decoder, false) {
            return stream.trace;
        }
    }
    stream.pump(decoder, true);
    stream.trace
}

impl<T, E> Stream<T, E> {
    /// Decodes until the decoder wants more input (`true`) or fails (`false`).
    fn pump<D: Decoder<Item = T, Error = E>>(&mut self, decoder: &mut D, eof: bool) -> bool {
        loop {
            let before = self.buf.len();
            let result = if eof {
                decoder.decode_eof(&mut self.buf)
            } else {
                decoder.decode(&mut self.buf)
            };
            let after = self.buf.len();
            assert!(
                after <= before,
                "the decoder added bytes: {before} buffered before, {after} after"
            );
            let consumed = self.offset..self.offset + (before - after);
            self.offset = consumed.end;
            match result {
                Ok(Some(item)) => {
                    self.idle = if consumed.is_empty() {
                        self.idle + 1
                    } else {
                        0
                    };
                    assert!(
                        self.idle <= 1,
                        "the decoder loops: two items in a row took no byte"
                    );
                    self.trace.items.push(Decoded { item, consumed });
                }
                Ok(None) => {
                    self.idle = 0;
                    if !eof {
                        self.trace.most_held = self.trace.most_held.max(after);
                    }
                    return true;
                }
                Err(err) => {
                    self.trace.error = Some(err);
                    return false;
                }
            }
        }
    }
}
