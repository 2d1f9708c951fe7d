//! The IRC client protocol as the bench speaks it: `NICK`/`USER` (no
//! `CAP`: every server registers a client that never asks for
//! capabilities, so every daemon is measured with the same lines),
//! `JOIN`, `PRIVMSG`, `PING`/`PONG`, `LUSERS` and `LIST`; lines end in
//! `\r\n`. Received lines may carry IRCv3 tags and a source.
//!
//! IRC does not acknowledge a `PRIVMSG`. A sender follows its messages
//! with `PING :<messages sent so far>` and the server, which handles one
//! client's lines in order, answers with a `PONG` carrying that count: all
//! those messages have been handled (delivered, or refused with 401, 403
//! or 404 before the `PONG`).

use std::net::SocketAddr;
use std::time::Duration;

use super::{Kind, Proto};
use crate::net::{self, Conn, Step};
use crate::stamp::{self, Stamp};

/// The `USER` line of every bench client.
const USER: &[u8] = b"USER bench 0 * :chatroom-bench\r\n";

/// Nicknames tried after the first one is taken (433).
const NICK_RETRIES: u32 = 5;

/// The command of a line and its parameters, past any IRCv3 tags
/// (`@...`) and source (`:nick!user@host`), without the `\r`.
#[inline]
pub fn split(line: &[u8]) -> (&[u8], &[u8]) {
    let mut rest = line.strip_suffix(b"\r").unwrap_or(line);
    if rest.first() == Some(&b'@') {
        rest = after_space(rest);
    }
    if rest.first() == Some(&b':') {
        rest = after_space(rest);
    }
    match memchr::memchr(b' ', rest) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[]),
    }
}

#[inline]
fn after_space(s: &[u8]) -> &[u8] {
    memchr::memchr(b' ', s).map_or(&[], |at| &s[at + 1..])
}

/// Classifies a line by its command.
#[inline]
pub fn classify(line: &[u8]) -> Kind {
    let (command, _) = split(line);
    match command {
        b"PRIVMSG" => Kind::Msg,
        b"PONG" => Kind::AckTo,
        b"PING" => Kind::Ping,
        b"PART" | b"QUIT" | b"KICK" => Kind::Left,
        b"ERROR" => Kind::Server,
        // What a PRIVMSG to a channel can get back: no such nick,
        // no such channel, cannot send to channel.
        b"401" | b"403" | b"404" => Kind::Refused,
        // No MOTD is part of a normal welcome.
        b"422" => Kind::Other,
        [b'4' | b'5', b, c] if b.is_ascii_digit() && c.is_ascii_digit() => Kind::Err,
        _ => Kind::Other,
    }
}

/// Whether `line` is the numeric reply `code`.
#[inline]
pub fn is_numeric(line: &[u8], code: &[u8]) -> bool {
    split(line).0 == code
}

/// Appends `PRIVMSG <room> :<text>\r\n`.
#[inline]
pub fn push_msg(out: &mut Vec<u8>, room: &str, stamp: Stamp, size: usize) {
    out.extend_from_slice(b"PRIVMSG ");
    out.extend_from_slice(room.as_bytes());
    out.extend_from_slice(b" :");
    stamp::push_text(out, stamp, size);
    out.extend_from_slice(b"\r\n");
}

/// Reads the stamp of a received `PRIVMSG <target> :<text>`.
#[inline]
pub fn parse_msg(line: &[u8]) -> Option<Stamp> {
    let (command, params) = split(line);
    if command != b"PRIVMSG" {
        return None;
    }
    let text = after_space(params);
    stamp::parse_text(text.strip_prefix(b":").unwrap_or(text))
}

/// The `PONG` answering a `PING <params>` line: the same parameters.
pub fn pong_for(ping: &[u8]) -> Vec<u8> {
    let (_, params) = split(ping);
    let mut out = b"PONG ".to_vec();
    out.extend_from_slice(params);
    out.extend_from_slice(b"\r\n");
    out
}

/// Appends `PING :<count>\r\n`, the request to acknowledge `count` messages.
pub fn push_ping(out: &mut Vec<u8>, count: u64) {
    out.extend_from_slice(b"PING :");
    out.extend_from_slice(itoa::Buffer::new().format(count).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The count a `PONG` carries back: its last parameter, if a number
/// (`:server PONG server :42`, or `PONG 42`).
#[inline]
pub fn pong_token(line: &[u8]) -> Option<u64> {
    let (_, params) = split(line);
    let last = match memchr::memmem::find(params, b" :") {
        Some(at) => &params[at + 2..],
        None => match params.strip_prefix(b":") {
            Some(trailing) => trailing,
            None => params.rsplit(|&b| b == b' ').next()?,
        },
    };
    stamp::number(last, b' ').map(|(n, _)| n)
}

/// The middle parameters of a line and its trailing one, if any.
fn params(params: &[u8]) -> (Vec<&[u8]>, Option<&[u8]>) {
    let (middle, trailing) = if let Some(trailing) = params.strip_prefix(b":") {
        (&params[..0], Some(trailing))
    } else {
        match memchr::memmem::find(params, b" :") {
            Some(at) => (&params[..at], Some(&params[at + 2..])),
            None => (params, None),
        }
    };
    let words = middle
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .collect();
    (words, trailing)
}

/// The decimal numbers in `text`, in order.
fn numbers(text: &[u8]) -> impl Iterator<Item = u64> + '_ {
    text.split(|b| !b.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .filter_map(|w| stamp::number(w, b' ').map(|(n, _)| n))
}

/// The user count of a 266 (RPL_GLOBALUSERS): `<me> <users> <max> :...`
/// or, without the optional numbers, the first number of the text
/// (`:Current global users: 5  Max: 9`).
fn global_users(line_params: &[u8]) -> Option<u64> {
    let (middle, trailing) = params(line_params);
    if let Some(n) = middle.get(1).and_then(|w| stamp::number(w, b' ')) {
        return Some(n.0);
    }
    numbers(trailing?).next()
}

/// The user count of a 251 (RPL_LUSERCLIENT): `There are <u> users and
/// <i> invisible on <s> servers` counts visible and invisible users apart;
/// `... <u> users and <s> services ...` (ngIRCd) counts every user in `<u>`.
fn lusers_users(line_params: &[u8]) -> Option<u64> {
    let text = params(line_params).1?;
    let mut n = numbers(text);
    let users = n.next()?;
    let invisible = memchr::memmem::find(text, b"invisible").is_some();
    Some(if invisible { users + n.next()? } else { users })
}

/// The member count of a 322 (RPL_LIST) for `room`: `<me> <room> <count> :<topic>`.
fn list_members(line_params: &[u8], room: &str) -> Option<u64> {
    let (middle, _) = params(line_params);
    if !middle.get(1)?.eq_ignore_ascii_case(room.as_bytes()) {
        return None;
    }
    stamp::number(middle.get(2)?, b' ').map(|(n, _)| n)
}

fn said(line: &[u8]) -> String {
    format!(
        "the server said: {}",
        String::from_utf8_lossy(line).trim_end()
    )
}

/// Connects and registers with `NICK`/`USER`, until 001; a nickname in
/// use (433) is replaced by `<nick>_<n>`.
pub async fn connect_and_register(
    addr: SocketAddr,
    nick: &str,
    limit: Duration,
    capacity: usize,
) -> anyhow::Result<Conn> {
    let stream = net::connect(addr, limit).await?;
    let mut conn = Conn::new(stream, capacity, Proto::Irc);
    let mut hello = format!("NICK {nick}\r\n").into_bytes();
    hello.extend_from_slice(USER);
    conn.send(&hello, limit).await?;
    let mut retries = 0;
    conn.dialogue("001 (welcome)", limit, |line| match split(line).0 {
        b"001" => Step::Done,
        b"433" if retries < NICK_RETRIES => {
            retries += 1;
            Step::Send(format!("NICK {nick}_{retries}\r\n").into_bytes())
        }
        b"432" => Step::Fail(format!(
            "{} (is {nick} longer than the server's nick length?)",
            said(line)
        )),
        _ => match classify(line) {
            Kind::Ping => Step::Send(pong_for(line)),
            Kind::Err | Kind::Refused | Kind::Server => Step::Fail(said(line)),
            _ => Step::Next,
        },
    })
    .await?;
    Ok(conn)
}

/// `LUSERS` and `LIST <room>`: the server's user count (266, else 251) and
/// the room's member count (322; none if the room is not listed).
pub async fn server_counts(
    conn: &mut Conn,
    room: &str,
    limit: Duration,
) -> anyhow::Result<(u64, u64)> {
    conn.send(format!("LUSERS\r\nLIST {room}\r\n").as_bytes(), limit)
        .await?;
    let (mut global, mut client, mut members) = (None, None, None);
    conn.dialogue("the answers to LUSERS and LIST", limit, |line| {
        let (command, rest) = split(line);
        match command {
            b"266" => global = global_users(rest),
            b"251" => client = lusers_users(rest),
            b"322" => members = list_members(rest, room).or(members),
            b"323" => return Step::Done,
            _ => match classify(line) {
                Kind::Ping => return Step::Send(pong_for(line)),
                Kind::Err | Kind::Refused | Kind::Server => return Step::Fail(said(line)),
                _ => {}
            },
        }
        Step::Next
    })
    .await?;
    let users = global
        .or(client)
        .ok_or_else(|| anyhow::anyhow!("LUSERS gave no user count (266 or 251)"))?;
    Ok((users, members.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_source_are_skipped() {
        assert_eq!(
            split(b"@time=2024-01-01T00:00:00Z;msgid=x :a!b@c PRIVMSG #r :hi\r"),
            (&b"PRIVMSG"[..], &b"#r :hi"[..])
        );
        assert_eq!(split(b"PING :tok"), (&b"PING"[..], &b":tok"[..]));
        assert_eq!(
            split(b":srv 001 me :Welcome"),
            (&b"001"[..], &b"me :Welcome"[..])
        );
        assert_eq!(split(b"QUIT"), (&b"QUIT"[..], &b""[..]));
        assert_eq!(split(b""), (&b""[..], &b""[..]));
    }

    #[test]
    fn a_message_round_trips_through_a_server_relay() {
        let stamp = Stamp {
            sender: 12,
            seq: 3,
            nanos: 456_789,
        };
        let mut out = Vec::new();
        push_msg(&mut out, "#bench_0", stamp, 64);
        let sent = std::str::from_utf8(&out).unwrap();
        let text = sent.strip_prefix("PRIVMSG #bench_0 :").unwrap();
        let text = text.strip_suffix("\r\n").unwrap();
        assert_eq!(text.len(), 64);
        let plain = format!(":b1_12!~bench@127.0.0.1 PRIVMSG #bench_0 :{text}\r");
        let tagged =
            format!("@time=2024-01-01T00:00:00.000Z :b1_12!bench@h PRIVMSG #bench_0 :{text}");
        for line in [plain, tagged] {
            assert_eq!(classify(line.as_bytes()), Kind::Msg);
            assert_eq!(parse_msg(line.as_bytes()), Some(stamp));
        }
        // The stamp alone, and a server that drops the colon of a
        // one-word trailing parameter.
        assert_eq!(
            parse_msg(b":n!u@h PRIVMSG #r :1:2:3\r").map(|s| s.seq),
            Some(2)
        );
        assert_eq!(
            parse_msg(b":n!u@h PRIVMSG #r 1:2:3").map(|s| s.nanos),
            Some(3)
        );
    }

    #[test]
    fn foreign_lines_are_not_messages() {
        assert_eq!(parse_msg(b":n!u@h PRIVMSG #r :hello there"), None);
        assert_eq!(parse_msg(b":n!u@h NOTICE #r :1:2:3"), None);
        assert_eq!(parse_msg(b":n!u@h PRIVMSG #r"), None);
    }

    #[test]
    fn lines_are_classified_by_their_command() {
        assert_eq!(classify(b":srv PONG srv :42\r"), Kind::AckTo);
        assert_eq!(classify(b"PING :srv\r"), Kind::Ping);
        assert_eq!(classify(b":srv PING :srv"), Kind::Ping);
        assert_eq!(
            classify(b":srv 404 me #r :Cannot send to channel"),
            Kind::Refused
        );
        assert_eq!(classify(b":srv 403 me #r :No such channel"), Kind::Refused);
        assert_eq!(classify(b":srv 422 me :MOTD File is missing"), Kind::Other);
        assert_eq!(
            classify(b":srv 471 me #r :Cannot join channel (+l)"),
            Kind::Err
        );
        assert_eq!(classify(b":srv 001 me :Welcome"), Kind::Other);
        assert_eq!(
            classify(b":srv 366 me #r :End of /NAMES list."),
            Kind::Other
        );
        assert_eq!(
            classify(b"ERROR :Closing link: (Excess Flood)"),
            Kind::Server
        );
        assert_eq!(classify(b":a!b@c QUIT :Quit: bye"), Kind::Left);
        assert_eq!(classify(b":a!b@c KICK #r me :out"), Kind::Left);
        assert_eq!(classify(b":a!b@c JOIN :#r"), Kind::Other);
        assert!(is_numeric(b":srv 366 me #r :End", b"366"));
        assert!(!is_numeric(b":srv 353 me = #r :a b", b"366"));
    }

    #[test]
    fn pings_are_answered_with_their_parameters_and_pongs_give_counts() {
        assert_eq!(pong_for(b"PING :srv.name\r"), b"PONG :srv.name\r\n");
        assert_eq!(pong_for(b":srv PING srv"), b"PONG srv\r\n");
        let mut out = Vec::new();
        push_ping(&mut out, 640);
        assert_eq!(out, b"PING :640\r\n");
        assert_eq!(pong_token(b":srv PONG srv :640\r"), Some(640));
        assert_eq!(pong_token(b"@t=1 :srv PONG srv 7"), Some(7));
        assert_eq!(pong_token(b"PONG :9"), Some(9));
        assert_eq!(pong_token(b":srv PONG srv :srv"), None);
        assert_eq!(pong_token(b"PONG"), None);
    }

    #[test]
    fn counts_are_read_from_each_daemons_spelling() {
        // ngIRCd 26
        assert_eq!(
            global_users(b"me 12 40 :Current global users: 12, Max: 40"),
            Some(12)
        );
        assert_eq!(
            lusers_users(b"me :There are 12 users and 0 services on 1 servers"),
            Some(12)
        );
        // InspIRCd 3
        assert_eq!(
            global_users(b"me :Current global users: 12  Max: 40"),
            Some(12)
        );
        assert_eq!(
            lusers_users(b"me :There are 10 users and 2 invisible on 1 servers"),
            Some(12)
        );
        assert_eq!(list_members(b"me #Bench_0 7 :[+nt] ", "#bench_0"), Some(7));
        assert_eq!(list_members(b"me #other 7 :", "#bench_0"), None);
    }

    /// A server on 127.0.0.1 that plays `script` (lines it expects, and
    /// what it answers) against one client.
    async fn fake_server(script: Vec<(&'static str, &'static str)>) -> SocketAddr {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (rd, mut wr) = stream.into_split();
            let mut lines = BufReader::new(rd).lines();
            for (expect, answer) in script {
                if !expect.is_empty() {
                    let line = lines.next_line().await.unwrap().unwrap();
                    assert_eq!(line.trim_end(), expect);
                }
                wr.write_all(answer.as_bytes()).await.unwrap();
            }
            // Hold the connection until the client is done with it.
            let _ = lines.next_line().await;
        });
        addr
    }

    #[tokio::test]
    async fn registration_answers_ping_and_takes_another_nick_when_in_use() {
        let addr = fake_server(vec![
            ("NICK b1_0", ""),
            ("USER bench 0 * :chatroom-bench", "PING :srv\r\n"),
            (
                "PONG :srv",
                ":srv 433 * b1_0 :Nickname is already in use\r\n",
            ),
            ("NICK b1_0_1", ":srv 001 b1_0_1 :Welcome\r\n"),
        ])
        .await;
        let limit = Duration::from_secs(5);
        let conn = connect_and_register(addr, "b1_0", limit, 1024).await;
        assert!(conn.is_ok(), "{:?}", conn.err());
    }

    #[tokio::test]
    async fn a_refused_nickname_fails_registration_with_the_reason() {
        let addr = fake_server(vec![
            ("NICK b1_0", ""),
            (
                "USER bench 0 * :chatroom-bench",
                ":srv 432 * b1_0 :Erroneous Nickname\r\n",
            ),
        ])
        .await;
        let err = connect_and_register(addr, "b1_0", Duration::from_secs(5), 1024)
            .await
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("432") && err.contains("nick length"), "{err}");
    }

    #[tokio::test]
    async fn counts_come_from_lusers_and_list() {
        let addr = fake_server(vec![
            ("NICK p", ""),
            ("USER bench 0 * :chatroom-bench", ":srv 001 p :Welcome\r\n"),
            (
                "LUSERS",
                ":srv 251 p :There are 3 users and 1 invisible on 1 servers\r\n",
            ),
            (
                "LIST #r",
                ":srv 321 p Channel :Users Name\r\n:srv 322 p #r 4 :\r\n:srv 323 p :End\r\n",
            ),
        ])
        .await;
        let limit = Duration::from_secs(5);
        let mut conn = connect_and_register(addr, "p", limit, 1024).await.unwrap();
        assert_eq!(server_counts(&mut conn, "#r", limit).await.unwrap(), (4, 4));
    }
}
