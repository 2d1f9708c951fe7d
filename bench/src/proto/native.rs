//! chatroom's native line protocol (docs/PROTOCOL.md) as the bench speaks
//! it: `HELLO`, `NICK`, `JOIN`, `MSG` and `INFO`, lines ending in `\n`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::anyhow;

use super::{Kind, Proto};
use crate::net::{self, Conn, Step};
use crate::stamp::{self, Stamp};

/// Classifies a line by its first bytes.
#[inline]
pub fn classify(line: &[u8]) -> Kind {
    match line.first() {
        Some(b'M') if line.starts_with(b"MSG ") => Kind::Msg,
        Some(b'O') if line.starts_with(b"OK MSG") => Kind::Ack,
        Some(b'E') if line.starts_with(b"ERR MSG ") => Kind::Refused,
        Some(b'E') if line.starts_with(b"ERR ") => Kind::Err,
        Some(b'P') if line.starts_with(b"PING") => Kind::Ping,
        Some(b'P') if line.starts_with(b"PART ") => Kind::Left,
        Some(b'S') if line.starts_with(b"SERVER") => Kind::Server,
        Some(b'Q') if line.starts_with(b"QUIT ") => Kind::Left,
        Some(b'K') if line.starts_with(b"KICK ") => Kind::Left,
        _ => Kind::Other,
    }
}

/// Appends `MSG <room> <text>\n`.
#[inline]
pub fn push_msg(out: &mut Vec<u8>, room: &str, stamp: Stamp, size: usize) {
    out.extend_from_slice(b"MSG ");
    out.extend_from_slice(room.as_bytes());
    out.push(b' ');
    stamp::push_text(out, stamp, size);
    out.push(b'\n');
}

/// Reads the stamp of a received `MSG <room> <from> <text>` line.
#[inline]
pub fn parse_msg(line: &[u8]) -> Option<Stamp> {
    let rest = line.get(4..)?;
    let rest = &rest[memchr::memchr(b' ', rest)? + 1..];
    let text = &rest[memchr::memchr(b' ', rest)? + 1..];
    stamp::parse_text(text)
}

/// The `PONG` answering a `PING [token]` line.
pub fn pong_for(ping: &[u8]) -> Vec<u8> {
    let mut out = b"PONG".to_vec();
    out.extend_from_slice(ping.get(4..).unwrap_or_default());
    out.push(b'\n');
    out
}

/// Connects, reads `HELLO`, and registers `nick`.
pub async fn connect_and_register(
    addr: SocketAddr,
    nick: &str,
    limit: Duration,
    capacity: usize,
) -> anyhow::Result<Conn> {
    let stream = net::connect(addr, limit).await?;
    let mut conn = Conn::new(stream, capacity, Proto::Native);
    conn.wait_for("HELLO", limit, |l| l.starts_with(b"HELLO "))
        .await?;
    conn.send(format!("NICK {nick}\n").as_bytes(), limit)
        .await?;
    conn.wait_for("OK NICK", limit, |l| l.starts_with(b"OK NICK"))
        .await?;
    Ok(conn)
}

/// `INFO` and `INFO <room>`: the server's user count and the room's
/// member count.
pub async fn server_counts(
    conn: &mut Conn,
    room: &str,
    limit: Duration,
) -> anyhow::Result<(u64, u64)> {
    let users = info(conn, "INFO\n", "INFO users ", limit).await?;
    let members = info(
        conn,
        &format!("INFO {room}\n"),
        &format!("INFO {room} members "),
        limit,
    )
    .await?;
    Ok((users, members))
}

/// Sends an INFO command and reads the number after `prefix` up to `OK INFO`.
async fn info(
    conn: &mut Conn,
    command: &str,
    prefix: &str,
    limit: Duration,
) -> anyhow::Result<u64> {
    conn.send(command.as_bytes(), limit).await?;
    let mut value = None;
    conn.dialogue(
        &format!("the answer to {}", command.trim_end()),
        limit,
        |line| {
            if let Some(rest) = line.strip_prefix(prefix.as_bytes()) {
                value = std::str::from_utf8(rest).ok().and_then(|s| s.parse().ok());
                Step::Next
            } else if line.starts_with(b"OK INFO") {
                Step::Done
            } else if line.starts_with(b"ERR") {
                Step::Fail(String::from_utf8_lossy(line).into_owned())
            } else {
                Step::Next
            }
        },
    )
    .await?;
    value.ok_or_else(|| anyhow!("no `{prefix}` line in the answer to {}", command.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_through_the_server_rendering() {
        let stamp = Stamp {
            sender: 7,
            seq: 123,
            nanos: 9_876_543_210,
        };
        let mut out = Vec::new();
        push_msg(&mut out, "#bench_0", stamp, 64);
        let line = std::str::from_utf8(&out).unwrap();
        let text = line.strip_prefix("MSG #bench_0 ").unwrap().trim_end();
        assert_eq!(text.len(), 64);
        let event = format!("MSG #bench_0 b1_7 {text}");
        assert_eq!(parse_msg(event.as_bytes()), Some(stamp));
    }

    #[test]
    fn a_short_message_is_the_stamp_alone() {
        let stamp = Stamp {
            sender: 1,
            seq: 2,
            nanos: 3,
        };
        let mut out = Vec::new();
        push_msg(&mut out, "#r", stamp, 1);
        assert_eq!(out, b"MSG #r 1:2:3\n");
        assert_eq!(parse_msg(b"MSG #r n 1:2:3"), Some(stamp));
    }

    #[test]
    fn foreign_messages_are_not_ours() {
        assert_eq!(parse_msg(b"MSG #r alice hello there"), None);
        assert_eq!(parse_msg(b"MSG #r alice 1:2"), None);
        assert_eq!(parse_msg(b"MSG #r"), None);
    }

    #[test]
    fn lines_are_classified_by_their_first_word() {
        assert_eq!(classify(b"MSG #r a b"), Kind::Msg);
        assert_eq!(classify(b"OK MSG #r"), Kind::Ack);
        assert_eq!(classify(b"OK JOIN #r"), Kind::Other);
        assert_eq!(classify(b"ERR MSG RATE_LIMITED slow down"), Kind::Refused);
        assert_eq!(classify(b"ERR JOIN BAD_ROOM no"), Kind::Err);
        assert_eq!(classify(b"PING 123"), Kind::Ping);
        assert_eq!(classify(b"SERVER shutting down"), Kind::Server);
        assert_eq!(classify(b"QUIT bob connection closed"), Kind::Left);
        assert_eq!(classify(b"JOIN #r bob"), Kind::Other);
        assert_eq!(pong_for(b"PING 123"), b"PONG 123\n");
        assert_eq!(pong_for(b"PING"), b"PONG\n");
    }
}
