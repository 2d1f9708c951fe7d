//! Framing: bytes from the socket to [`Frame`]s.
//!
//! Lines end in LF (a CR right before it is dropped). A line longer than
//! the limit is discarded up to its end and reported once as
//! [`Frame::TooLong`]; a line that is not UTF-8 becomes [`Frame::BadUtf8`].
//! Neither ends the stream: a decoder error would end a `FramedRead`, so
//! every client mistake is an item and only I/O failures are errors.
//!
//! Like an IMAP literal, a `FILE` header announces a body: after yielding
//! the header line the codec switches to "exactly N raw bytes", yields them
//! as [`Frame::Body`] chunks and a final [`Frame::BodyEnd`], then goes back
//! to lines.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::proto::native::parser::announced_body_len;

/// One unit read from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A non-empty line of valid UTF-8, without its terminator.
    Line(String),
    /// A line longer than `limits.max_line_bytes` (already discarded).
    TooLong,
    /// A line that was not valid UTF-8.
    BadUtf8,
    /// A chunk of a `FILE` body.
    Body(Bytes),
    /// The end of a `FILE` body (also sent for an empty body).
    BodyEnd,
}

/// The decoder: lines, and the raw bodies that `FILE` headers announce.
#[derive(Debug)]
pub struct LineCodec {
    max_line: usize,
    max_body: u64,
    /// Bytes of the buffer already searched for a LF.
    scanned: usize,
    mode: Mode,
}

/// What the codec is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lines,
    /// Inside an over-long line: drop everything up to the next LF.
    Discarding,
    /// Inside a FILE body: this many raw bytes are still to come.
    Body(u64),
}

impl LineCodec {
    /// A codec for lines of at most `max_line` bytes and bodies of at most
    /// `max_body` bytes (a larger announced body is not read: the session
    /// refuses it and closes the connection).
    pub fn new(max_line: usize, max_body: u64) -> Self {
        LineCodec {
            max_line,
            max_body,
            scanned: 0,
            mode: Mode::Lines,
        }
    }

    /// Whether the codec is inside a FILE body.
    pub fn in_body(&self) -> bool {
        matches!(self.mode, Mode::Body(_))
    }

    fn line_frame(&mut self, mut line: BytesMut) -> Option<Frame> {
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.is_empty() {
            return None;
        }
        if line.len() > self.max_line {
            return Some(Frame::TooLong);
        }
        if let Some(size) = announced_body_len(&line) {
            if size <= self.max_body {
                self.mode = Mode::Body(size);
            }
        }
        match String::from_utf8(line.to_vec()) {
            Ok(s) => Some(Frame::Line(s)),
            Err(_) => {
                // A body announced by a header that is not UTF-8 is still
                // read, so the stream stays in sync.
                Some(Frame::BadUtf8)
            }
        }
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, io::Error> {
        loop {
            if let Mode::Body(remaining) = self.mode {
                if remaining == 0 {
                    self.mode = Mode::Lines;
                    return Ok(Some(Frame::BodyEnd));
                }
                if buf.is_empty() {
                    return Ok(None);
                }
                let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                self.mode = Mode::Body(remaining - n as u64);
                return Ok(Some(Frame::Body(buf.split_to(n).freeze())));
            }
            if self.mode == Mode::Discarding {
                match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        buf.advance(i + 1);
                        self.mode = Mode::Lines;
                        continue;
                    }
                    None => {
                        buf.clear();
                        return Ok(None);
                    }
                }
            }
            match memchr::memchr(b'\n', &buf[self.scanned..]) {
                Some(i) => {
                    let end = self.scanned + i;
                    self.scanned = 0;
                    let mut line = buf.split_to(end + 1);
                    line.truncate(end);
                    match self.line_frame(line) {
                        Some(frame) => return Ok(Some(frame)),
                        None => continue,
                    }
                }
                None => {
                    // One byte of slack: the line may end in a CR that is
                    // not counted.
                    if buf.len() > self.max_line + 1 {
                        buf.clear();
                        self.scanned = 0;
                        self.mode = Mode::Discarding;
                        return Ok(Some(Frame::TooLong));
                    }
                    self.scanned = buf.len();
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, io::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        self.scanned = 0;
        if self.mode != Mode::Lines || buf.is_empty() {
            // A body cut off by EOF is simply incomplete: the session sees
            // the stream end without a BodyEnd.
            buf.clear();
            return Ok(None);
        }
        // A last line without its LF (nc after Ctrl-D) still counts.
        let line = buf.split();
        Ok(self.line_frame(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut LineCodec, input: &[u8]) -> Vec<Frame> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        while let Some(f) = codec.decode_eof(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.to_string())
    }

    #[test]
    fn lines_crlf_empty_and_last_line() {
        let mut c = LineCodec::new(16, 100);
        assert_eq!(
            decode_all(&mut c, b"NICK a\r\n\n\r\nJOIN x\nPING\ra\nQUIT"),
            vec![
                line("NICK a"),
                line("JOIN x"),
                line("PING\ra"),
                line("QUIT")
            ]
        );
    }

    #[test]
    fn long_lines_are_discarded_to_their_end() {
        let mut c = LineCodec::new(8, 100);
        let frames = decode_all(&mut c, b"12345678\n123456789\nok\n12345678\r\n");
        assert_eq!(
            frames,
            vec![
                line("12345678"),
                Frame::TooLong,
                line("ok"),
                line("12345678")
            ]
        );
        // A long line arriving in pieces is reported once.
        let mut c = LineCodec::new(8, 100);
        let mut buf = BytesMut::from(&b"0123456789abc"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Frame::TooLong));
        buf.extend_from_slice(b"more and more");
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"end\nnext\n");
        assert_eq!(c.decode(&mut buf).unwrap(), Some(line("next")));
    }

    #[test]
    fn bad_utf8_is_an_item() {
        let mut c = LineCodec::new(64, 100);
        assert_eq!(
            decode_all(&mut c, b"MSG \xff\xfe\nPING\n"),
            vec![Frame::BadUtf8, line("PING")]
        );
    }

    #[test]
    fn file_body_switches_framing() {
        let mut c = LineCodec::new(64, 100);
        let frames = decode_all(
            &mut c,
            b"FILE #r 5 a.txt\na\nb\r\nPING\nfile bob 0 e\nPING\n",
        );
        assert_eq!(
            frames,
            vec![
                line("FILE #r 5 a.txt"),
                Frame::Body(Bytes::from_static(b"a\nb\r\n")),
                Frame::BodyEnd,
                line("PING"),
                line("file bob 0 e"),
                Frame::BodyEnd,
                line("PING"),
            ]
        );
    }

    #[test]
    fn too_large_body_is_not_read() {
        let mut c = LineCodec::new(64, 4);
        let frames = decode_all(&mut c, b"FILE #r 5 a\nPING\n");
        assert_eq!(frames, vec![line("FILE #r 5 a"), line("PING")]);
    }

    #[test]
    fn cut_off_body_ends_without_body_end() {
        let mut c = LineCodec::new(64, 100);
        let frames = decode_all(&mut c, b"FILE #r 10 a\nabc");
        assert_eq!(
            frames,
            vec![
                line("FILE #r 10 a"),
                Frame::Body(Bytes::from_static(b"abc"))
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn decoder_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..16)) {
            let mut c = LineCodec::new(16, 32);
            let mut buf = BytesMut::new();
            for chunk in chunks {
                buf.extend_from_slice(&chunk);
                while let Some(f) = c.decode(&mut buf).unwrap() {
                    if let Frame::Line(l) = f {
                        proptest::prop_assert!(l.len() <= 16 && !l.contains('\n') && !l.is_empty());
                    }
                }
            }
            while c.decode_eof(&mut buf).unwrap().is_some() {}
        }
    }
}
