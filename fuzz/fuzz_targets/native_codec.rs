//! The native codec (`LineCodec`) fed any bytes, in reads of any sizes.
//!
//! Input: `[max_line, max_body]` then the reads and data of
//! `chatroom_fuzz::input`. Besides what `drive` checks for every decoder:
//!
//! - it never fails: its errors are for I/O only;
//! - what it yields follows the framing: lines and headers within the line
//!   limit, a body only after a header that lets one follow, exactly the
//!   announced bytes of it, then `BodyEnd`; a body over the limit never read;
//! - every line and body chunk is bytes it was given, from the stretch of
//!   input the call returning it consumed;
//! - while waiting for a line's end it keeps at most the limit (and a CR);
//! - how the input is cut into reads changes nothing.

#![no_main]

use bytes::BytesMut;
use chatroom::proto::native::codec::{Body, Frame, LineCodec};
use chatroom::proto::native::parser::announced_body_len;
use chatroom_fuzz::drive::{decode_reads, Decoded, Trace};
use chatroom_fuzz::input::Pieces;
use libfuzzer_sys::fuzz_target;

/// The smallest `limits.max_line_bytes` the config accepts.
const MIN_LINE: usize = 16;

fuzz_target!(|input: &[u8]| {
    let Some(pieces) = Pieces::<2>::parse(input) else {
        return;
    };
    let [line, body] = pieces.params;
    // Small limits, so that inputs reach them.
    let max_line = MIN_LINE + usize::from(line % 64);
    let max_body = if body == u8::MAX {
        u64::MAX
    } else {
        u64::from(body % 64)
    };
    let limits = Limits { max_line, max_body };

    let in_reads = decode_reads(&mut LineCodec::new(max_line, max_body), &pieces.reads());
    limits.check(&in_reads, pieces.data);
    let at_once = decode_reads(&mut LineCodec::new(max_line, max_body), &[pieces.data]);
    assert_eq!(
        merged(&at_once.items),
        merged(&in_reads.items),
        "the frames depend on how the input is cut into reads"
    );
});

struct Limits {
    max_line: usize,
    max_body: u64,
}

impl Limits {
    fn check(&self, trace: &Trace<Frame, std::io::Error>, data: &[u8]) {
        if let Some(err) = &trace.error {
            panic!("the codec failed: {err}");
        }
        // One byte of slack: a CR before the LF is not counted.
        assert!(
            trace.most_held <= self.max_line + 1,
            "{} bytes kept waiting for a line of at most {}",
            trace.most_held,
            self.max_line
        );
        // The body still to come, while one is being read.
        let mut body: Option<u64> = None;
        for Decoded { item, consumed } in &trace.items {
            let taken = &data[consumed.clone()];
            match item {
                Frame::Body(chunk) => {
                    let left = body.expect("a body chunk outside a body");
                    assert!(
                        !chunk.is_empty() && chunk.len() as u64 <= left,
                        "a chunk of {} bytes with {left} to come",
                        chunk.len()
                    );
                    assert!(taken.ends_with(chunk), "a chunk not from the input");
                    body = Some(left - chunk.len() as u64);
                }
                Frame::BodyEnd => {
                    assert_eq!(body, Some(0), "BodyEnd before the body's end");
                    body = None;
                }
                Frame::Line(line) => {
                    assert_eq!(body, None, "a line inside a body");
                    self.check_line(line, taken);
                    assert_eq!(
                        announced_body_len(line.as_bytes()),
                        None,
                        "a line announcing a body is not a header: {line:?}"
                    );
                }
                Frame::Bad(_) => assert_eq!(body, None, "a bad line inside a body"),
                Frame::FileHeader { line, body: what } => {
                    assert_eq!(body, None, "a header inside a body");
                    if let Ok(line) = line {
                        self.check_line(line, taken);
                        let announced = announced_body_len(line.as_bytes());
                        let size = match what {
                            Body::Follows(n) | Body::TooLarge(n) => *n,
                        };
                        assert_eq!(announced, Some(size), "{line:?} announces another size");
                    }
                    match *what {
                        Body::Follows(n) => {
                            assert!(n <= self.max_body, "a body of {n} is over the limit");
                            body = Some(n);
                        }
                        Body::TooLarge(n) => {
                            assert!(n > self.max_body, "a body of {n} is within the limit");
                        }
                    }
                }
            }
        }
        // A body may only be left unfinished by the end of the input.
    }

    /// A line is 1 to `max_line` bytes, ended (unless by the end of the
    /// input) by LF or CR LF, the last thing its call took.
    fn check_line(&self, line: &str, taken: &[u8]) {
        assert!(
            !line.is_empty() && line.len() <= self.max_line,
            "a line of {} bytes, limit {}",
            line.len(),
            self.max_line
        );
        assert!(!line.contains('\n'), "a line holding a LF");
        let end = taken.strip_suffix(b"\n").unwrap_or(taken);
        let end = end.strip_suffix(b"\r").unwrap_or(end);
        assert!(
            end.ends_with(line.as_bytes()),
            "the line {line:?} is not what its call took"
        );
    }
}

/// The frames with neighbouring body chunks joined: how a body is cut into
/// chunks depends on the reads, and does not matter.
fn merged(items: &[Decoded<Frame>]) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    for Decoded { item, .. } in items {
        match (out.last_mut(), item) {
            (Some(Frame::Body(acc)), Frame::Body(more)) => {
                let mut joined = BytesMut::from(&acc[..]);
                joined.extend_from_slice(more);
                *acc = joined.freeze();
            }
            (_, item) => out.push(item.clone()),
        }
    }
    out
}
