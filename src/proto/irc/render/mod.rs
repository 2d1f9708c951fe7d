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

pub use encoding::{encode_name_lines, encode_names, IrcEncoding, IrcEncodings, Look};
pub use numeric::{ChannelModes, Numeric};

/// What every line the server sends in its own name needs.
#[derive(Debug, Clone)]
pub struct Server {
    /// `server.name`.
    pub name: Arc<str>,
    /// `irc.network`.
    pub network: Arc<str>,
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
    /// `:<server> FAIL <command> <code> <context...> :<text>`
    FailWith {
        /// The command refused.
        command: &'static str,
        /// The machine-readable code.
        code: &'static str,
        /// The subcommand, target... the code is about.
        context: Vec<String>,
        /// Why.
        text: &'static str,
    },
    /// `:<server> BATCH +<id> <type> [<param>]`
    BatchStart {
        /// The batch's reference.
        id: String,
        /// Its type (`chathistory`).
        kind: &'static str,
        /// Its parameter (the channel), if any.
        param: Option<String>,
    },
    /// `:<server> BATCH -<id>`
    BatchEnd(String),
    /// `[@batch=<id>] :<server> CHATHISTORY TARGETS <target> <timestamp>`
    HistoryTarget {
        /// The batch it is in, if any.
        batch: Option<String>,
        /// The channel.
        target: String,
        /// Its latest message's time.
        time: SystemTime,
    },
    /// `:<server> NOTICE <nick> :<text>`
    Notice(String),
    /// `:<server> NOTICE <nick> :The cluster cannot be reached: ...` when a
    /// cluster node loses Redis, `... :The cluster is reachable again` when
    /// it is back.
    ClusterLink {
        /// Whether Redis answers again.
        reachable: bool,
    },
    /// `:<nick> MODE <nick> :<change>`, the client's own user mode.
    UserModeChanged(String),
    /// `AUTHENTICATE +`: go on with SASL (an empty challenge).
    AuthenticateGoOn,
    /// `:<server> NOTICE <nick> :<nick> is a registered account: ...`,
    /// the nickname will be taken back after `grace_secs`.
    Reserved {
        /// The nickname.
        nick: Nick,
        /// Seconds before the rename.
        grace_secs: u64,
    },
    /// `:<from>!<user>@<host> WALLOPS :<text>`, an operator's message.
    Wallops {
        /// The operator's nickname.
        from: crate::core::Nick,
        /// Its user and host.
        userhost: crate::core::UserHost,
        /// The message.
        text: String,
    },
    /// `:<server> NOTICE <nick> :<text>`: what an operator's command did.
    OperNotice(OperNotice),
}

/// What an operator's command did, as IRC daemons tell it in a NOTICE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperNotice {
    /// `KILL` done.
    Killed(crate::core::Nick),
    /// `KLINE` set, with its expiry (RFC 3339) if any.
    KlineAdded {
        /// The mask.
        mask: String,
        /// When it ends.
        expires: Option<String>,
    },
    /// `UNKLINE` done.
    KlineRemoved(String),
    /// No ban on that mask.
    NoSuchKline(String),
    /// A line of the list of bans.
    Kline {
        /// The mask.
        mask: String,
        /// When it ends, RFC 3339; `None`: never.
        expires: Option<String>,
        /// Who set it.
        set_by: String,
        /// Why.
        reason: String,
    },
    /// The end of the list.
    EndOfKlines(usize),
    /// `CLOSE` done.
    Closed(crate::core::RoomName),
    /// The mask could not be read.
    BadMask(String),
}

impl OperNotice {
    fn text(&self) -> String {
        match self {
            OperNotice::Killed(nick) => format!("Killed {nick}"),
            OperNotice::KlineAdded { mask, expires } => match expires {
                Some(t) => format!("Added K-line for {mask}, expires {t}"),
                None => format!("Added permanent K-line for {mask}"),
            },
            OperNotice::KlineRemoved(mask) => format!("Removed K-line for {mask}"),
            OperNotice::NoSuchKline(mask) => format!("No K-line for {mask}"),
            OperNotice::Kline {
                mask,
                expires,
                set_by,
                reason,
            } => format!(
                "K-line {mask} expires {} set by {set_by}: {reason}",
                expires.as_deref().unwrap_or("never")
            ),
            OperNotice::EndOfKlines(n) => format!("End of K-line list ({n})"),
            OperNotice::Closed(room) => format!("Closed {room}"),
            OperNotice::BadMask(mask) => {
                format!("{mask} is no mask: an IP address, a CIDR prefix or user@host")
            }
        }
    }
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

/// The tags a line the server sends carries (IRCv3 message-tags): each
/// `None` is left out, and a line with none has no `@` section.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stamp<'a> {
    /// `time=` (server-time): when the server received what the line tells.
    pub time: Option<SystemTime>,
    /// `msgid=`: a stored room message's id (see [`put_msgid`]).
    pub msgid: Option<(&'a str, u64)>,
    /// `account=` (account-tag): the account the sender is logged in to.
    pub account: Option<&'a str>,
    /// The sender's client-only tags, escaped as on the wire.
    pub client: Option<&'a str>,
    /// `batch=`: the batch the line belongs to.
    pub batch: Option<&'a str>,
    /// `label=` (labeled-response), unescaped.
    pub label: Option<&'a str>,
}

impl Stamp<'_> {
    /// Appends `@tag;tag;... ` (nothing when there is no tag).
    pub fn put(&self, buf: &mut BytesMut) {
        let mut sep = b'@';
        let mut next = |buf: &mut BytesMut| {
            buf.put_u8(sep);
            sep = b';';
        };
        if let Some(label) = self.label {
            next(buf);
            buf.put_slice(b"label=");
            put_tag_value(buf, label);
        }
        if let Some(batch) = self.batch {
            next(buf);
            buf.put_slice(b"batch=");
            put_tag_value(buf, batch);
        }
        if let Some(t) = self.time {
            next(buf);
            buf.put_slice(b"time=");
            buf.put_slice(humantime::format_rfc3339_millis(t).to_string().as_bytes());
        }
        if let Some((room, seq)) = self.msgid {
            next(buf);
            buf.put_slice(b"msgid=");
            put_msgid(buf, room, seq);
        }
        if let Some(account) = self.account {
            next(buf);
            buf.put_slice(b"account=");
            put_tag_value(buf, account);
        }
        if let Some(client) = self.client.filter(|c| !c.is_empty()) {
            next(buf);
            buf.put_slice(client.as_bytes());
        }
        if sep == b';' {
            buf.put_u8(b' ');
        }
    }
}

/// A room message's `msgid`: the room's folded name, `/`, its number in
/// the room (`#general/42`). Unique while the room's history is kept, and
/// what CHATHISTORY's `msgid=` reads back ([`parse_msgid`]); the name
/// holds no character a tag value must escape. A message nothing stores
/// (`room` empty: a private message, a TAGMSG) gets `~<start>.<n>`: when
/// the server started (ms since the epoch), and its number among those
/// since, so unique across restarts too; CHATHISTORY cannot find it.
pub fn put_msgid(buf: &mut BytesMut, room: &str, seq: u64) {
    static STARTED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let mut digits = itoa::Buffer::new();
    if room.is_empty() {
        let started = *STARTED.get_or_init(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
        });
        buf.put_u8(b'~');
        buf.put_slice(digits.format(started).as_bytes());
        buf.put_u8(b'.');
    } else {
        buf.put_slice(room.as_bytes());
        buf.put_u8(b'/');
    }
    buf.put_slice(digits.format(seq).as_bytes());
}

/// The room (folded) and number a `msgid` names, if it is one of ours.
pub fn parse_msgid(msgid: &str) -> Option<(&str, u64)> {
    let (room, seq) = msgid.rsplit_once('/')?;
    let seq = seq.parse().ok().filter(|s| *s > 0)?;
    room.starts_with('#').then_some((room, seq))
}

/// Appends a tag value escaped (IRCv3: `;` `\:`, space `\s`, `\` `\\`,
/// CR `\r`, LF `\n`).
pub fn put_tag_value(buf: &mut BytesMut, value: &str) {
    for b in value.bytes() {
        match b {
            b';' => buf.put_slice(b"\\:"),
            b' ' => buf.put_slice(b"\\s"),
            b'\\' => buf.put_slice(b"\\\\"),
            b'\r' => buf.put_slice(b"\\r"),
            b'\n' => buf.put_slice(b"\\n"),
            0 => {}
            _ => buf.put_u8(b),
        }
    }
}

/// A labeled command's answer (IRCv3 labeled-response), `answer` being
/// its lines as they would have gone out: nothing becomes `ACK`, one line
/// carries the `label` tag, more go in a `labeled-response` batch `id`
/// (each line tagged `batch=id` but those already in a nested batch; `id`
/// is made only then).
pub fn label_answer(
    server: &Server,
    to: &str,
    label: &str,
    answer: &[u8],
    id: impl FnOnce() -> String,
) -> Bytes {
    let lines: Vec<&[u8]> = answer
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| l.len() > 2)
        .collect();
    let label_only = Stamp {
        label: Some(label),
        ..Stamp::default()
    };
    rendered(|buf| match lines.as_slice() {
        [] => {
            label_only.put(buf);
            Line::new(buf).source(&server.name, None).word("ACK").end();
        }
        [one] => put_with_tag(buf, &label_only, one),
        many => {
            let id = &id();
            label_only.put(buf);
            ServerLine::BatchStart {
                id: id.to_string(),
                kind: "labeled-response",
                param: None,
            }
            .encode(server, to, buf);
            let in_batch = Stamp {
                batch: Some(id),
                ..Stamp::default()
            };
            for line in many {
                if line.starts_with(b"@batch=") || line.windows(7).any(|w| w == b";batch=") {
                    buf.put_slice(line);
                } else {
                    put_with_tag(buf, &in_batch, line);
                }
            }
            ServerLine::BatchEnd(id.to_string()).encode(server, to, buf);
        }
    })
}

/// Appends `line` with `stamp`'s tags added in front of its own.
fn put_with_tag(buf: &mut BytesMut, stamp: &Stamp<'_>, line: &[u8]) {
    stamp.put(buf);
    match line.strip_prefix(b"@") {
        Some(tags) => {
            // `@new ` then `@old ...`: made one section, `@new;old ...`.
            buf.truncate(buf.len() - 1);
            buf.put_u8(b';');
            buf.put_slice(tags);
        }
        None => buf.put_slice(line),
    }
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
            ServerLine::FailWith {
                command,
                code,
                context,
                text,
            } => {
                let mut line = Line::new(buf)
                    .source(&server.name, None)
                    .word("FAIL")
                    .word(command)
                    .word(code);
                for c in context
                    .iter()
                    .filter(|c| !c.is_empty() && !c.starts_with(':'))
                {
                    line = line.word(c);
                }
                line.trailing(text)
            }
            ServerLine::BatchStart { id, kind, param } => {
                let line = Line::new(buf)
                    .source(&server.name, None)
                    .word("BATCH")
                    .word(&format!("+{id}"))
                    .word(kind);
                match param {
                    Some(p) => line.word(p),
                    None => line,
                }
            }
            ServerLine::HistoryTarget {
                batch,
                target,
                time,
            } => {
                Stamp {
                    batch: batch.as_deref(),
                    ..Stamp::default()
                }
                .put(buf);
                Line::new(buf)
                    .source(&server.name, None)
                    .word("CHATHISTORY")
                    .word("TARGETS")
                    .word(target)
                    .word(&format!(
                        "timestamp={}",
                        humantime::format_rfc3339_millis(*time)
                    ))
            }
            ServerLine::BatchEnd(id) => Line::new(buf)
                .source(&server.name, None)
                .word("BATCH")
                .word(&format!("-{id}")),
            ServerLine::Wallops {
                from,
                userhost,
                text,
            } => Line::new(buf)
                .source(from.as_str(), Some(userhost))
                .word("WALLOPS")
                .trailing(text),
            ServerLine::OperNotice(notice) => Line::new(buf)
                .source(&server.name, None)
                .word("NOTICE")
                .word(to)
                .trailing(&notice.text()),
            ServerLine::Notice(text) => Line::new(buf)
                .source(&server.name, None)
                .word("NOTICE")
                .word(to)
                .trailing(text),
            ServerLine::ClusterLink { reachable } => Line::new(buf)
                .source(&server.name, None)
                .word("NOTICE")
                .word(to)
                .trailing(if *reachable {
                    "The cluster is reachable again"
                } else {
                    "The cluster cannot be reached: messages to channels are refused until it is back"
                }),
            ServerLine::AuthenticateGoOn => Line::new(buf).word("AUTHENTICATE").word("+"),
            ServerLine::Reserved { nick, grace_secs } => Line::new(buf)
                .source(&server.name, None)
                .word("NOTICE")
                .word(to)
                .trailing(&format!(
                    "{nick} is a registered account: log in to it (SASL) or change your nickname within {grace_secs} seconds, or you will be renamed"
                )),
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
    stamp: &Stamp<'_>,
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
        stamp.put(buf);
        Line::new(buf)
            .source(nick, userhost)
            .word(verb)
            .word(target)
            .trailing(piece)
            .end();
    }
}

/// A stored message replayed as `PRIVMSG` (history keeps no sender's
/// user and host: the source is the nickname alone), with the tags the
/// client is to see (its time, its msgid, its batch).
pub fn history_line(
    stamp: &Stamp<'_>,
    from: &Nick,
    room: &RoomName,
    kind: MsgKind,
    text: &str,
) -> Bytes {
    rendered(|buf| put_message(buf, stamp, (from.as_str(), None), kind, room.as_str(), text))
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
