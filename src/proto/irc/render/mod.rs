//! Everything the IRC front end sends, rendered to wire lines here and
//! nowhere else: numerics ([`Numeric`]), the server's own lines
//! ([`ServerLine`]), and the core's [`Event`](crate::core::Event)s ([`IrcEncoding`]).
//!
//! Every line ends in CRLF and stays within 512 bytes (tags aside): a text
//! that would not fit is cut at a character boundary, except a message's,
//! which is split over as many PRIVMSG (or NOTICE) lines as it takes. Text
//! from elsewhere (a native client's line may hold a lone CR) never carries
//! CR, LF or NUL onto the wire: each becomes a space.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};

use crate::core::names::{Nick, RoomName};
use crate::core::scratch::rendered;
use crate::core::{MsgKind, UserHost};

use super::codec::MAX_BODY;

mod encoding;
mod numeric;

pub use encoding::{encode_name_lines, encode_names, IrcEncoding, IrcEncodings};
pub use numeric::{ChannelModes, Numeric};

/// What every line the server sends in its own name needs.
#[derive(Debug, Clone)]
pub struct Server {
    /// `server.name`.
    pub name: Arc<str>,
    /// `irc.network`.
    pub network: Arc<str>,
    /// The `005` tokens.
    pub isupport: Arc<[String]>,
}

/// Lines from the server that are not numerics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLine {
    /// `PING :<token>`
    Ping(String),
    /// `:<server> PONG <server> :<token>`
    Pong(String),
    /// `ERROR :<text>`
    Error(String),
    /// `:<server> CAP <nick> <subcommand> [*] :<caps>`
    Cap {
        /// `LS`, `ACK`, `NAK`, `LIST`.
        sub: &'static str,
        /// More lines of the same follow (CAP LS 302 continuation).
        more: bool,
        /// The capabilities.
        caps: String,
    },
    /// `:<server> FAIL <command> <code> :<text>`
    Fail {
        /// The command refused, or `*`.
        command: String,
        /// The machine-readable code.
        code: &'static str,
        /// Why.
        text: &'static str,
    },
    /// `:<server> NOTICE <nick> :<text>`
    Notice(String),
    /// `:<nick> MODE <nick> :<change>`, the client's own user mode.
    UserModeChanged(String),
}

/// Writes one wire line: words, then an optional trailing parameter,
/// within 512 bytes (tags aside).
pub(super) struct Line<'a> {
    buf: &'a mut BytesMut,
    /// Where the line (after its tags) starts in `buf`.
    start: usize,
}

impl<'a> Line<'a> {
    pub(super) fn new(buf: &'a mut BytesMut) -> Self {
        let start = buf.len();
        Line { buf, start }
    }

    /// `:<prefix>`
    pub(super) fn source(self, nick: &str, userhost: Option<&UserHost>) -> Self {
        self.buf.put_u8(b':');
        self.buf.put_slice(nick.as_bytes());
        if let Some(uh) = userhost {
            self.buf.put_u8(b'!');
            self.buf.put_slice(uh.as_str().as_bytes());
        }
        self
    }

    /// A word: the command, or a middle parameter (never empty, never
    /// with a space or a leading `:`, which names and numbers are not).
    pub(super) fn word(self, w: &str) -> Self {
        if self.buf.len() > self.start {
            self.buf.put_u8(b' ');
        }
        put_clean(self.buf, w);
        self
    }

    pub(super) fn num(self, n: u64) -> Self {
        let mut digits = itoa::Buffer::new();
        self.word(digits.format(n))
    }

    /// The trailing parameter, always with its `:`, cut to fit the line.
    pub(super) fn trailing(self, text: &str) -> Self {
        self.buf.put_slice(b" :");
        let room = (self.start + MAX_BODY).saturating_sub(self.buf.len());
        put_clean(self.buf, cut(text, room));
        self
    }

    pub(super) fn end(self) {
        self.buf.put_slice(b"\r\n");
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Appends `text` with CR, LF and NUL made spaces.
fn put_clean(buf: &mut BytesMut, text: &str) {
    if !text.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        buf.put_slice(text.as_bytes());
        return;
    }
    buf.extend(text.bytes().map(|b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

/// Seconds since the epoch.
pub(super) fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `@time=<ISO 8601 with milliseconds, UTC> ` (server-time).
pub(super) fn put_time_tag(buf: &mut BytesMut, t: SystemTime) {
    buf.put_slice(b"@time=");
    buf.put_slice(humantime::format_rfc3339_millis(t).to_string().as_bytes());
    buf.put_u8(b' ');
}

impl ServerLine {
    /// Appends the line for the client `to` (its nickname, or `*`).
    pub fn encode(&self, server: &Server, to: &str, buf: &mut BytesMut) {
        match self {
            ServerLine::Ping(token) => Line::new(buf).word("PING").trailing(token),
            ServerLine::Pong(token) => Line::new(buf)
                .source(&server.name, None)
                .word("PONG")
                .word(&server.name)
                .trailing(token),
            ServerLine::Error(text) => Line::new(buf).word("ERROR").trailing(text),
            ServerLine::Cap { sub, more, caps } => {
                let line = Line::new(buf)
                    .source(&server.name, None)
                    .word("CAP")
                    .word(to)
                    .word(sub);
                let line = if *more { line.word("*") } else { line };
                line.trailing(caps)
            }
            ServerLine::Fail {
                command,
                code,
                text,
            } => Line::new(buf)
                .source(&server.name, None)
                .word("FAIL")
                .word(command)
                .word(code)
                .trailing(text),
            ServerLine::Notice(text) => Line::new(buf)
                .source(&server.name, None)
                .word("NOTICE")
                .word(to)
                .trailing(text),
            ServerLine::UserModeChanged(change) => Line::new(buf)
                .source(to, None)
                .word("MODE")
                .word(to)
                .trailing(change),
        }
        .end();
    }

    /// The line for the client `to`.
    pub fn to_line(&self, server: &Server, to: &str) -> Bytes {
        rendered(|buf| self.encode(server, to, buf))
    }
}

/// The bytes a relayed `PRIVMSG`/`NOTICE` takes besides its text and
/// line ending: `:nick!user@host VERB target :`.
fn message_overhead(source: (&str, Option<&UserHost>), kind: MsgKind, target: &str) -> usize {
    let (nick, userhost) = source;
    let verb = match kind {
        MsgKind::Privmsg => "PRIVMSG",
        MsgKind::Notice => "NOTICE",
    };
    // ":" nick ["!" userhost] " " verb " " target " :" text
    let mask = userhost.map_or(0, |uh| 1 + uh.as_str().len());
    1 + nick.len() + mask + 1 + verb.len() + 1 + target.len() + 2
}

/// Whether a message from an IRC client, relayed from `source` to
/// `target`, fits one line of 512 bytes (tags aside): one that does not
/// is refused with `417` rather than cut or split, so that what the
/// sender wrote arrives whole or not at all.
pub fn relayed_fits(
    source: (&str, Option<&UserHost>),
    kind: MsgKind,
    target: &str,
    text: &str,
) -> bool {
    message_overhead(source, kind, target) + text.len() <= MAX_BODY
}

/// Appends a PRIVMSG or NOTICE from `source` (a nickname and, where
/// known, its user and host) to `target`: one line, or several for a
/// text too long for one, each stamped with `time` if given.
pub(super) fn put_message(
    buf: &mut BytesMut,
    time: Option<SystemTime>,
    source: (&str, Option<&UserHost>),
    kind: MsgKind,
    target: &str,
    text: &str,
) {
    let verb = match kind {
        MsgKind::Privmsg => "PRIVMSG",
        MsgKind::Notice => "NOTICE",
    };
    let (nick, userhost) = source;
    let overhead = message_overhead(source, kind, target);
    for piece in pieces(text, MAX_BODY.saturating_sub(overhead)) {
        if let Some(t) = time {
            put_time_tag(buf, t);
        }
        Line::new(buf)
            .source(nick, userhost)
            .word(verb)
            .word(target)
            .trailing(piece)
            .end();
    }
}

/// A stored message replayed as `PRIVMSG` (history keeps no sender's
/// user and host: the source is the nickname alone), stamped with its
/// time for a client with server-time.
pub fn history_line(
    time: Option<SystemTime>,
    from: &Nick,
    room: &RoomName,
    kind: MsgKind,
    text: &str,
) -> Bytes {
    rendered(|buf| put_message(buf, time, (from.as_str(), None), kind, room.as_str(), text))
}

/// Splits `text` into pieces that each fit `room` bytes, at character
/// boundaries (at least one character a piece, however small `room`).
fn pieces(text: &str, room: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut piece = cut(rest, room.max(1));
        if piece.is_empty() {
            let first = rest.chars().next().map_or(rest.len(), char::len_utf8);
            piece = &rest[..first];
        }
        rest = &rest[piece.len()..];
        Some(piece)
    })
}

#[cfg(test)]
mod tests;
