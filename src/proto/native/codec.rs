//! Framing: bytes from the socket to [`Frame`]s.
//!
//! Lines end in LF (a CR right before it is dropped). A line longer than
//! the limit is discarded up to its end and reported once, as soon as it is
//! known to be too long; a line that is not UTF-8 is reported as such
//! ([`BadLine`]). Neither ends the stream: a decoder error would end a
//! `FramedRead`, so every client mistake is an item and only I/O failures
//! are errors.
//!
//! Like an IMAP literal, a `FILE` header announces a body. The codec is the
//! one place that decides what happens to it, and says so in
//! [`Frame::FileHeader`]: it either reads exactly N raw bytes next, yielding
//! them as [`Frame::Body`] chunks and a final [`Frame::BodyEnd`] before
//! going back to lines, or, for a body over the limit, reads nothing and
//! leaves the session to refuse it and close. The decision looks at raw
//! bytes, so a header that is over-long or not UTF-8 still has its body
//! read (or is too large): the stream stays in sync whatever the session
//! answers.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::proto::native::parser::{announced_body_len, announced_body_len_in_prefix};

/// One unit read from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A non-empty line of valid UTF-8 that announces no body, without its terminator.
    Line(String),
    /// A `FILE` header: its text (or why it has none) and what happens to its body.
    FileHeader {
        /// The line without its terminator, or why it could not be read.
        line: Result<String, BadLine>,
        /// What the codec does with the body.
        body: Body,
    },
    /// A line that could not be read, and announces no body.
    Bad(BadLine),
    /// A chunk of a `FILE` body.
    Body(Bytes),
    /// The end of a `FILE` body (also sent for an empty body).
    BodyEnd,
}

/// Why a line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLine {
    /// Longer than `limits.max_line_bytes` (already discarded).
    TooLong,
    /// Not valid UTF-8.
    NotUtf8,
}

/// What follows a `FILE` header, as the codec decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// This many raw bytes, read next as [`Frame::Body`] chunks and a [`Frame::BodyEnd`].
    Follows(u64),
    /// This many bytes, over the limit: not read, so the connection must close.
    TooLarge(u64),
}

/// The decoder: lines, and the raw bodies that `FILE` headers announce.
#[derive(Debug)]
pub struct LineCodec {
    /// `u32`s (a line of 4 GiB is no line), with `scanned`: every
    /// connection's task holds its codec, and 8 bytes less keeps it in
    /// jemalloc's 160-byte class.
    max_line: u32,
    max_body: u64,
    /// Bytes of the buffer already searched for a LF (at most `max_line`
    /// + 1).
    scanned: u32,
    mode: Mode,
}

/// What the codec is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lines,
    /// Inside an over-long line: drop everything up to the next LF, then
    /// read the body of this many bytes its FILE header announced, if any.
    Discarding(Option<u64>),
    /// Inside a FILE body: this many raw bytes are still to come.
    Body(u64),
}

impl LineCodec {
    /// A codec for lines of at most `max_line` bytes and bodies of at most
    /// `max_body` bytes (a larger announced body is not read: the session
    /// refuses it and closes the connection).
    pub fn new(max_line: usize, max_body: u64) -> Self {
        LineCodec {
            max_line: u32::try_from(max_line).map_or(u32::MAX - 1, |m| m.min(u32::MAX - 1)),
            max_body,
            scanned: 0,
            mode: Mode::Lines,
        }
    }

    /// The longest line, in bytes.
    fn max_line(&self) -> usize {
        self.max_line as usize
    }

    /// The size announced by an over-long line, from its first `max_line`
    /// bytes: `start` holds at least one more, enough to see a space that
    /// ends the size word right at the limit.
    fn over_long_body(&self, start: &[u8]) -> Option<u64> {
        announced_body_len_in_prefix(&start[..=self.max_line()])
    }

    /// The frame for a line, and the body to read after it (if any).
    fn frame(&self, line: Result<String, BadLine>, size: Option<u64>) -> (Frame, Option<u64>) {
        match size {
            None => match line {
                Ok(line) => (Frame::Line(line), None),
                Err(bad) => (Frame::Bad(bad), None),
            },
            Some(n) if n <= self.max_body => (
                Frame::FileHeader {
                    line,
                    body: Body::Follows(n),
                },
                Some(n),
            ),
            Some(n) => (
                Frame::FileHeader {
                    line,
                    body: Body::TooLarge(n),
                },
                None,
            ),
        }
    }

    /// The frame for a whole line (its LF removed); `None` for an empty one.
    fn line_frame(&mut self, mut line: BytesMut) -> Option<Frame> {
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.is_empty() {
            return None;
        }
        let (frame, body) = if line.len() > self.max_line() {
            self.frame(Err(BadLine::TooLong), self.over_long_body(&line))
        } else {
            let size = announced_body_len(&line);
            let text = String::from_utf8(line.to_vec()).map_err(|_| BadLine::NotUtf8);
            self.frame(text, size)
        };
        if let Some(n) = body {
            self.mode = Mode::Body(n);
        }
        Some(frame)
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
            if let Mode::Discarding(body) = self.mode {
                match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        buf.advance(i + 1);
                        self.mode = body.map_or(Mode::Lines, Mode::Body);
                        continue;
                    }
                    None => {
                        buf.clear();
                        return Ok(None);
                    }
                }
            }
            match memchr::memchr(b'\n', &buf[self.scanned as usize..]) {
                Some(i) => {
                    let end = self.scanned as usize + i;
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
                    if buf.len() > self.max_line() + 1 {
                        let (frame, body) =
                            self.frame(Err(BadLine::TooLong), self.over_long_body(buf));
                        buf.clear();
                        self.scanned = 0;
                        self.mode = Mode::Discarding(body);
                        return Ok(Some(frame));
                    }
                    // At most max_line + 1 (checked above), which fits.
                    self.scanned = buf.len() as u32;
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

    fn header(line: Result<&str, BadLine>, body: Body) -> Frame {
        Frame::FileHeader {
            line: line.map(str::to_string),
            body,
        }
    }

    fn chunk(bytes: &'static [u8]) -> Frame {
        Frame::Body(Bytes::from_static(bytes))
    }

    const TOO_LONG: Frame = Frame::Bad(BadLine::TooLong);

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
            vec![line("12345678"), TOO_LONG, line("ok"), line("12345678")]
        );
        // A long line arriving in pieces is reported once.
        let mut c = LineCodec::new(8, 100);
        let mut buf = BytesMut::from(&b"0123456789abc"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), Some(TOO_LONG));
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
            vec![Frame::Bad(BadLine::NotUtf8), line("PING")]
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
                header(Ok("FILE #r 5 a.txt"), Body::Follows(5)),
                chunk(b"a\nb\r\n"),
                Frame::BodyEnd,
                line("PING"),
                header(Ok("file bob 0 e"), Body::Follows(0)),
                Frame::BodyEnd,
                line("PING"),
            ]
        );
    }

    #[test]
    fn too_large_body_is_not_read() {
        let mut c = LineCodec::new(64, 4);
        let frames = decode_all(&mut c, b"FILE #r 5 a\nPING\n");
        assert_eq!(
            frames,
            vec![header(Ok("FILE #r 5 a"), Body::TooLarge(5)), line("PING")]
        );
        // Exactly the limit is read.
        let frames = decode_all(&mut c, b"FILE #r 4 a\nPINGPING\n");
        assert_eq!(
            frames,
            vec![
                header(Ok("FILE #r 4 a"), Body::Follows(4)),
                chunk(b"PING"),
                Frame::BodyEnd,
                line("PING")
            ]
        );
    }

    #[test]
    fn cut_off_body_ends_without_body_end() {
        let mut c = LineCodec::new(64, 100);
        let frames = decode_all(&mut c, b"FILE #r 10 a\nabc");
        assert_eq!(
            frames,
            vec![header(Ok("FILE #r 10 a"), Body::Follows(10)), chunk(b"abc")]
        );
    }

    #[test]
    fn a_header_that_is_not_utf8_still_decides_its_body() {
        let mut c = LineCodec::new(64, 4);
        let frames = decode_all(&mut c, b"FILE #r 3 caf\xe9\nabcPING\nFILE \xff 5 x\nPING\n");
        assert_eq!(
            frames,
            vec![
                header(Err(BadLine::NotUtf8), Body::Follows(3)),
                chunk(b"abc"),
                Frame::BodyEnd,
                line("PING"),
                header(Err(BadLine::NotUtf8), Body::TooLarge(5)),
                line("PING"),
            ]
        );
        // A size that is not a number announces no body.
        let frames = decode_all(&mut c, b"FILE #r 3k \xff\nabc\n");
        assert_eq!(frames, vec![Frame::Bad(BadLine::NotUtf8), line("abc")]);
    }

    #[test]
    fn an_over_long_header_still_decides_its_body() {
        // Whole, with CRLF; the rest of the line is dropped, then the body.
        let mut c = LineCodec::new(16, 100);
        let frames = decode_all(&mut c, b"FILE #r 3 0123456789abcdef\r\nabcPING\n");
        assert_eq!(
            frames,
            vec![
                header(Err(BadLine::TooLong), Body::Follows(3)),
                chunk(b"abc"),
                Frame::BodyEnd,
                line("PING"),
            ]
        );
        // In pieces: decided as soon as the line is known to be too long.
        let mut buf = BytesMut::from(&b"FILE #r 3 0123456789"[..]);
        assert_eq!(
            c.decode(&mut buf).unwrap(),
            Some(header(Err(BadLine::TooLong), Body::Follows(3)))
        );
        buf.extend_from_slice(b"more PING x");
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\nabcPING\n");
        assert_eq!(c.decode(&mut buf).unwrap(), Some(chunk(b"abc")));
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Frame::BodyEnd));
        assert_eq!(c.decode(&mut buf).unwrap(), Some(line("PING")));
        // Too large: nothing is read but the rest of the line.
        let mut c = LineCodec::new(16, 2);
        let frames = decode_all(&mut c, b"FILE #r 3 0123456789abcdef\nPING\n");
        assert_eq!(
            frames,
            vec![
                header(Err(BadLine::TooLong), Body::TooLarge(3)),
                line("PING")
            ]
        );
    }

    #[test]
    fn an_over_long_header_cut_off_by_eof_gives_no_body() {
        let mut c = LineCodec::new(16, 100);
        let frames = decode_all(&mut c, b"FILE #r 3 0123456789abcdef");
        assert_eq!(
            frames,
            vec![header(Err(BadLine::TooLong), Body::Follows(3))]
        );
        // Cut off in its body: the chunks so far, and no BodyEnd.
        let mut c = LineCodec::new(16, 100);
        let frames = decode_all(&mut c, b"FILE #r 3 0123456789abcdef\nab");
        assert_eq!(
            frames,
            vec![
                header(Err(BadLine::TooLong), Body::Follows(3)),
                chunk(b"ab")
            ]
        );
    }

    #[test]
    fn an_over_long_header_counts_a_size_that_ends_within_the_limit() {
        let mut c = LineCodec::new(16, u64::MAX);
        // The size word ends at byte 16, the limit: readable.
        let frames = decode_all(&mut c, b"FILE #r 12345678 name\n");
        assert_eq!(
            frames,
            vec![header(Err(BadLine::TooLong), Body::Follows(12_345_678))]
        );
        // One digit more ends past the limit: no body, lines follow.
        let mut c = LineCodec::new(16, u64::MAX);
        let frames = decode_all(&mut c, b"FILE #r 123456789 name\nPING\n");
        assert_eq!(frames, vec![TOO_LONG, line("PING")]);
        // The same, the line arriving in pieces.
        let mut c = LineCodec::new(16, u64::MAX);
        let mut buf = BytesMut::from(&b"FILE #r 123456789"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"0 name");
        assert_eq!(c.decode(&mut buf).unwrap(), Some(TOO_LONG));
    }

    /// Joins neighbouring body chunks: how a body is cut up does not matter.
    fn merged(frames: Vec<Frame>) -> Vec<Frame> {
        let mut out: Vec<Frame> = Vec::new();
        for f in frames {
            match (out.last_mut(), f) {
                (Some(Frame::Body(acc)), Frame::Body(more)) => {
                    *acc = [&acc[..], &more[..]].concat().into();
                }
                (_, f) => out.push(f),
            }
        }
        out
    }

    /// Bits of input that make headers, over-long lines and bad bytes.
    const PIECES: &[&[u8]] = &[
        b"FILE #r 3 ",
        b"file \xff 40 ",
        b"FILE #r 0 x",
        // The size word ends right at the 16-byte limit, or past it.
        b"FILE #r 00000003 ",
        b"FILE #r 000000003 ",
        b"0123456789",
        b"\n",
        b"\r\n",
        b"\xff",
        b"PING",
        b" ",
        b"abc",
    ];

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

        #[test]
        fn how_the_input_is_cut_up_does_not_change_the_frames(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..24),
            cuts in proptest::collection::vec(0usize..40, 0..12),
        ) {
            let input = pieces.concat();
            let whole = merged(decode_all(&mut LineCodec::new(16, 32), &input));
            let mut c = LineCodec::new(16, 32);
            let mut buf = BytesMut::new();
            let mut frames = Vec::new();
            let mut rest = &input[..];
            for cut in cuts.into_iter().chain([usize::MAX]) {
                let (now, later) = rest.split_at(cut.min(rest.len()));
                rest = later;
                buf.extend_from_slice(now);
                while let Some(f) = c.decode(&mut buf).unwrap() {
                    frames.push(f);
                }
            }
            while let Some(f) = c.decode_eof(&mut buf).unwrap() {
                frames.push(f);
            }
            proptest::prop_assert_eq!(merged(frames), whole);
        }
    }
}
