//! Framing: bytes from the socket to IRC lines.
//!
//! Lines end in LF, CRLF or CR (all three are seen in the wild). A line
//! is at most [`MAX_BODY`] bytes without its tags and ending (512 with
//! CRLF, as RFC 1459 has it) plus at most [`MAX_TAGS`] bytes of tags
//! (IRCv3 message-tags); a longer one is discarded to its end and reported
//! once as [`IrcFrame::TooLong`], and a line that is not UTF-8 as
//! [`IrcFrame::NotUtf8`]. Empty lines are skipped. None of these ends the
//! stream: only I/O failures do.

use std::io;

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

use crate::transport::websocket::OutboundFraming;

/// Bytes of a line without its tags and ending: 512 less CRLF.
pub const MAX_BODY: usize = 510;
/// Bytes of a line's tags, with their `@` and the space after them.
pub const MAX_TAGS: usize = 8191;

/// One unit read from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrcFrame {
    /// A line of valid UTF-8 within the limits, without its ending.
    Line(String),
    /// A line over the limits (already discarded).
    TooLong,
    /// A line that is not UTF-8: the command, if it could be read.
    NotUtf8(Option<String>),
}

/// IRC output's framing on a WebSocket: lines only, never raw bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct IrcFraming;

impl OutboundFraming for IrcFraming {
    fn body_after(&self, _line: &[u8]) -> u64 {
        0
    }
}

/// The decoder of IRC lines.
#[derive(Debug, Default)]
pub struct IrcCodec {
    /// Bytes of the buffer already searched for a line end.
    scanned: usize,
    /// Inside an over-long line: drop everything to its end.
    discarding: bool,
}

impl IrcCodec {
    /// A codec at the start of a stream.
    pub fn new() -> Self {
        IrcCodec::default()
    }
}

/// Whether `line` (no ending) is within the limits.
fn fits(line: &[u8]) -> bool {
    let (tags, body) = match line.first() {
        Some(b'@') => match memchr::memchr(b' ', line) {
            Some(i) => {
                let body = &line[i..];
                let spaces = body.iter().take_while(|&&b| b == b' ').count();
                (i + spaces, &body[spaces..])
            }
            None => (line.len(), &[][..]),
        },
        _ => (0, line),
    };
    tags <= MAX_TAGS && body.len() <= MAX_BODY
}

/// The command of a line that is not UTF-8, if its first word (after
/// tags and source) is a plain word.
fn command_of(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let msg = super::message::Message::parse(&text).ok()?;
    msg.command
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then(|| msg.command.to_ascii_uppercase())
}

impl Decoder for IrcCodec {
    type Item = IrcFrame;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<IrcFrame>, io::Error> {
        loop {
            let Some(i) = memchr::memchr2(b'\n', b'\r', &buf[self.scanned..]) else {
                if self.discarding {
                    buf.clear();
                    self.scanned = 0;
                    return Ok(None);
                }
                self.scanned = buf.len();
                if buf.len() > MAX_TAGS + MAX_BODY {
                    // Too long whatever its tags: say so now, drop the rest
                    // as it comes.
                    buf.clear();
                    self.scanned = 0;
                    self.discarding = true;
                    return Ok(Some(IrcFrame::TooLong));
                }
                return Ok(None);
            };
            let end = self.scanned + i;
            self.scanned = 0;
            let line = buf.split_to(end);
            buf.advance(1);
            if std::mem::take(&mut self.discarding) || line.is_empty() {
                continue;
            }
            if !fits(&line) {
                return Ok(Some(IrcFrame::TooLong));
            }
            return Ok(Some(match String::from_utf8(line.to_vec()) {
                Ok(text) if text.trim_matches(' ').is_empty() => continue,
                Ok(text) => IrcFrame::Line(text),
                Err(_) => IrcFrame::NotUtf8(command_of(&line)),
            }));
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<IrcFrame>, io::Error> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None => {
                // A last line without its ending is still a line.
                if buf.is_empty() || self.discarding {
                    buf.clear();
                    return Ok(None);
                }
                buf.extend_from_slice(b"\n");
                self.decode(buf)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<IrcFrame> {
        let mut codec = IrcCodec::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    fn line(s: &str) -> IrcFrame {
        IrcFrame::Line(s.to_string())
    }

    #[test]
    fn lines_and_their_endings() {
        assert_eq!(
            frames(b"NICK a\r\nUSER a 0 * :A\nPING x\rPONG y\r\n"),
            [
                line("NICK a"),
                line("USER a 0 * :A"),
                line("PING x"),
                line("PONG y")
            ]
        );
        assert_eq!(frames(b"\r\n\n  \r\nPING\r\n"), [line("PING")]);
        assert_eq!(frames(b"PING x"), [], "no ending yet");
    }

    #[test]
    fn the_limits_are_510_bytes_plus_tags() {
        let at = |n: usize| format!("PRIVMSG #r :{}", "x".repeat(n - 12));
        let ok = at(MAX_BODY);
        assert_eq!(frames(format!("{ok}\r\n").as_bytes()), [line(&ok)]);
        let long = at(MAX_BODY + 1);
        assert_eq!(
            frames(format!("{long}\r\nPING x\r\n").as_bytes()),
            [IrcFrame::TooLong, line("PING x")]
        );
        // Tags have their own budget.
        let tags = format!("@a={} ", "t".repeat(MAX_TAGS - 4));
        let tagged = format!("{tags}{ok}");
        assert_eq!(frames(format!("{tagged}\r\n").as_bytes()), [line(&tagged)]);
        let over = format!("@a={} {ok}", "t".repeat(MAX_TAGS - 3));
        assert_eq!(frames(format!("{over}\n").as_bytes()), [IrcFrame::TooLong]);
    }

    #[test]
    fn a_line_too_long_to_hold_is_reported_once_and_dropped_to_its_end() {
        let mut codec = IrcCodec::new();
        let mut buf = BytesMut::from(&vec![b'x'; MAX_TAGS + MAX_BODY + 1][..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(IrcFrame::TooLong));
        buf.extend_from_slice(&[b'y'; 5000]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty(), "nothing kept while discarding");
        buf.extend_from_slice(b"yyy\r\nPING z\r\n");
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(line("PING z")));
    }

    #[test]
    fn not_utf8_names_the_command_when_it_can() {
        assert_eq!(
            frames(b"@label=x PRIVMSG #r hi\xaa\r\nPING x\r\n"),
            [IrcFrame::NotUtf8(Some("PRIVMSG".into())), line("PING x")]
        );
        assert_eq!(frames(b"\xff\xfe x\n"), [IrcFrame::NotUtf8(None)]);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_in_any_chunks_decode_without_error(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            cut in 0usize..2000,
        ) {
            let mut codec = IrcCodec::new();
            let mut buf = BytesMut::new();
            let (a, b) = bytes.split_at(cut.min(bytes.len()));
            for chunk in [a, b] {
                buf.extend_from_slice(chunk);
                while let Some(frame) = codec.decode(&mut buf).unwrap() {
                    if let IrcFrame::Line(l) = frame {
                        proptest::prop_assert!(!l.contains(['\r', '\n']));
                        proptest::prop_assert!(l.len() <= MAX_TAGS + MAX_BODY);
                    }
                }
            }
            let _ = codec.decode_eof(&mut buf).unwrap();
        }
    }

    #[test]
    fn a_last_line_without_ending_is_read_at_eof() {
        let mut codec = IrcCodec::new();
        let mut buf = BytesMut::from(&b"QUIT :bye"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), Some(line("QUIT :bye")));
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }
}
