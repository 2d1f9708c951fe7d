//! The IRC renderer against exact lines.

use super::*;
use crate::core::{Event, FileTarget, MsgMeta, RoomMode, UserHost};

fn server() -> Server {
    Server {
        name: Arc::from("irc.test"),
        network: Arc::from("TestNet"),
    }
}

fn nick(s: &str) -> Nick {
    Nick::parse(s, 32).unwrap()
}

fn room(s: &str) -> RoomName {
    RoomName::parse_hashed(s, 32).unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

fn numeric(n: Numeric, to: &str) -> String {
    text(&n.to_line(&server(), to))
}

#[test]
fn numerics() {
    let uh = UserHost::new("~al", "irc");
    let cases: Vec<(Numeric, &str)> = vec![
        (
            Numeric::Welcome {
                network: "TestNet".into(),
                userhost: uh.clone(),
            },
            ":irc.test 001 al :Welcome to the TestNet IRC Network al!~al@irc\r\n",
        ),
        (
            Numeric::ISupport(vec!["CHANTYPES=#".into(), "NICKLEN=24".into()]),
            ":irc.test 005 al CHANTYPES=# NICKLEN=24 :are supported by this server\r\n",
        ),
        (
            Numeric::NoSuchNick("bob".into()),
            ":irc.test 401 al bob :No such nick/channel\r\n",
        ),
        (
            Numeric::NeedMoreParams("JOIN"),
            ":irc.test 461 al JOIN :Not enough parameters\r\n",
        ),
        (
            Numeric::ChannelModeIs {
                channel: room("#r"),
                modes: ChannelModes {
                    keyed: true,
                    topic_locked: true,
                    members_only: true,
                    ..ChannelModes::default()
                },
            },
            ":irc.test 324 al #r +knt *\r\n",
        ),
        (
            Numeric::ChannelModeIs {
                channel: room("#r"),
                modes: ChannelModes {
                    keyed: true,
                    limit: Some(5),
                    invite_only: true,
                    topic_locked: false,
                    members_only: false,
                    secret: true,
                },
            },
            ":irc.test 324 al #r +ikls * 5\r\n",
        ),
        (
            Numeric::InvalidModeParam {
                channel: room("#r"),
                letter: 'l',
                arg: "a b".into(),
            },
            ":irc.test 696 al #r l * :Invalid mode parameter\r\n",
        ),
        (
            Numeric::WhowasUser {
                nick: nick("bob"),
                userhost: UserHost::new("~b", "irc"),
                realname: "Bob B".into(),
            },
            ":irc.test 314 al bob ~b irc * :Bob B\r\n",
        ),
        (
            Numeric::Inviting(nick("bob"), room("#r")),
            ":irc.test 341 al bob #r\r\n",
        ),
        (
            Numeric::TopicWhoTime(
                room("#r"),
                nick("bob"),
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(42),
            ),
            ":irc.test 333 al #r bob 42\r\n",
        ),
        (
            Numeric::WhoReply {
                channel: Some(room("#r")),
                nick: nick("al"),
                userhost: uh.clone(),
                away: true,
                owner: true,
                oper: false,
                realname: "Al Ice".into(),
            },
            ":irc.test 352 al #r ~al irc irc.test al G@ :0 Al Ice\r\n",
        ),
        (
            Numeric::WhoReply {
                channel: None,
                nick: nick("al"),
                userhost: uh.clone(),
                away: false,
                owner: false,
                oper: true,
                realname: "Al Ice".into(),
            },
            ":irc.test 352 al * ~al irc irc.test al H* :0 Al Ice\r\n",
        ),
        (
            Numeric::Userhost(vec![
                (nick("al"), false, uh.clone()),
                (nick("bo"), true, UserHost::native()),
            ]),
            ":irc.test 302 al :al=+~al@irc bo=-native@native\r\n",
        ),
        (
            Numeric::UnknownMode('x', "is unknown mode char to me"),
            ":irc.test 472 al x :is unknown mode char to me\r\n",
        ),
    ];
    for (n, want) in cases {
        assert_eq!(numeric(n, "al"), want);
    }
    assert_eq!(
        numeric(Numeric::NotRegistered, "*"),
        ":irc.test 451 * :You have not registered\r\n"
    );
}

#[test]
fn server_lines() {
    let s = server();
    let line = |l: ServerLine| text(&l.to_line(&s, "al"));
    assert_eq!(line(ServerLine::Ping("123".into())), "PING :123\r\n");
    assert_eq!(
        line(ServerLine::Pong("x y".into())),
        ":irc.test PONG irc.test :x y\r\n"
    );
    assert_eq!(
        line(ServerLine::Cap {
            sub: "LS",
            more: false,
            caps: "multi-prefix server-time".into()
        }),
        ":irc.test CAP al LS :multi-prefix server-time\r\n"
    );
    assert_eq!(
        line(ServerLine::Fail {
            command: "PRIVMSG".into(),
            code: "INVALID_UTF8",
            text: "no"
        }),
        ":irc.test FAIL PRIVMSG INVALID_UTF8 :no\r\n"
    );
    assert_eq!(
        line(ServerLine::UserModeChanged("+i".into())),
        ":al MODE al :+i\r\n"
    );
}

fn encoded(event: &Event, server_time: bool) -> String {
    encoded_with(
        event,
        Look {
            server_time,
            ..Look::default()
        },
    )
}

fn encoded_with(event: &Event, look: Look) -> String {
    let encodings = IrcEncodings::new(&server());
    let (irc, dynamic) = encodings.renderer(look);
    assert!(dynamic.key().starts_with("irc:irc.test:TestNet:"));
    let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
    let mut buf = BytesMut::new();
    irc.encode_at(event, at, &mut buf);
    text(&buf)
}

#[test]
fn events() {
    let uh = UserHost::new("~al", "irc");
    let msg = |kind| Event::Msg {
        room: room("#r"),
        from: nick("al"),
        userhost: uh.clone(),
        text: "hi there".into(),
        kind,
        meta: MsgMeta {
            seq: 7,
            time: SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123),
            tags: Some(std::sync::Arc::from("+a=b")),
            account: None,
        },
    };
    let cases: Vec<(Event, &str)> =
        vec![
        (msg(MsgKind::Privmsg), ":al!~al@irc PRIVMSG #r :hi there\r\n"),
        (msg(MsgKind::Notice), ":al!~al@irc NOTICE #r :hi there\r\n"),
        (
            Event::Privmsg {
                from: nick("bo"),
                userhost: UserHost::native(),
                to: Some(nick("al")),
                text: "psst".into(),
                kind: MsgKind::Privmsg,
                meta: MsgMeta::default(),
            },
            ":bo!native@native PRIVMSG al :psst\r\n",
        ),
        (
            Event::Join {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                realname: crate::core::no_realname(),
                account: None,
            },
            ":al!~al@irc JOIN #r\r\n",
        ),
        (
            Event::Part {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                reason: None,
            },
            ":al!~al@irc PART #r\r\n",
        ),
        (
            Event::Quit {
                nick: nick("al"),
                userhost: uh.clone(),
                reason: Some("bye".into()),
            },
            ":al!~al@irc QUIT :bye\r\n",
        ),
        (
            Event::Nick {
                old: nick("al"),
                new: nick("Al"),
                userhost: uh.clone(),
            },
            ":al!~al@irc NICK Al\r\n",
        ),
        (
            Event::Topic {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                text: "a\rb".into(),
            },
            ":al!~al@irc TOPIC #r :a b\r\n",
        ),
        (
            Event::Kick {
                room: room("#r"),
                nick: nick("bo"),
                by: nick("al"),
                userhost: uh.clone(),
                reason: None,
            },
            ":al!~al@irc KICK #r bo :al\r\n",
        ),
        (
            Event::Mode {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                change: RoomMode::Op(nick("bo"), true),
            },
            ":al!~al@irc MODE #r +o bo\r\n",
        ),
        (
            Event::Mode {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                change: RoomMode::Limit(Some(3)),
            },
            ":al!~al@irc MODE #r +l 3\r\n",
        ),
        (
            Event::Mode {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                change: RoomMode::Limit(None),
            },
            ":al!~al@irc MODE #r -l\r\n",
        ),
        (
            Event::Mode {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                change: RoomMode::InviteOnly(true),
            },
            ":al!~al@irc MODE #r +i\r\n",
        ),
        (
            Event::Mode {
                room: room("#r"),
                nick: nick("al"),
                userhost: uh.clone(),
                change: RoomMode::TopicLocked(false),
            },
            ":al!~al@irc MODE #r -t\r\n",
        ),
        (
            Event::Invite {
                room: room("#r"),
                from: nick("al"),
                userhost: uh.clone(),
                to: nick("bo"),
            },
            ":al!~al@irc INVITE bo #r\r\n",
        ),
        (
            Event::File {
                target: FileTarget::Room(room("#r")),
                from: nick("bo"),
                userhost: UserHost::native(),
                id: crate::core::FileId::parse("0123456789abcdef0123").unwrap(),
                size: 42,
                sha256: "00ff".into(),
                filename: "notes.txt".into(),
            },
            ":bo!native@native NOTICE #r :shares the file \"notes.txt\" (42 bytes, sha256 00ff): \
             fetch it over the native protocol with FETCH 0123456789abcdef0123\r\n",
        ),
    ];
    for (event, want) in cases {
        assert_eq!(encoded(&event, false), want, "{event:?}");
    }
    assert_eq!(
        encoded(&msg(MsgKind::Privmsg), true),
        "@time=2023-11-14T22:13:20.123Z :al!~al@irc PRIVMSG #r :hi there\r\n"
    );
    let tagged = Look {
        server_time: true,
        message_tags: true,
        ..Look::default()
    };
    assert_eq!(
        encoded_with(&msg(MsgKind::Privmsg), tagged),
        "@time=2023-11-14T22:13:20.123Z;msgid=#r/7;+a=b :al!~al@irc PRIVMSG #r :hi there\r\n"
    );
}

#[test]
fn account_tag_only_where_asked_and_only_from_the_logged_in() {
    let meta = |account: Option<&str>| MsgMeta {
        seq: 7,
        time: SystemTime::UNIX_EPOCH,
        tags: Some(std::sync::Arc::from("+a=b")),
        account: account.map(std::sync::Arc::from),
    };
    let msg = |account| Event::Msg {
        room: room("#r"),
        from: nick("al"),
        userhost: UserHost::new("~al", "irc"),
        text: "hi".into(),
        kind: MsgKind::Notice,
        meta: meta(account),
    };
    let private = |account| Event::Privmsg {
        from: nick("al"),
        userhost: UserHost::native(),
        to: Some(nick("bo")),
        text: "psst".into(),
        kind: MsgKind::Privmsg,
        meta: meta(account),
    };
    let tagmsg = |account| Event::TagMsg {
        target: FileTarget::User(nick("bo")),
        from: nick("al"),
        userhost: UserHost::native(),
        meta: meta(account),
    };
    let account_tag = Look {
        account_tag: true,
        ..Look::default()
    };
    let both = Look {
        message_tags: true,
        ..account_tag
    };
    let alice = Some("Alice");
    assert_eq!(
        encoded_with(&msg(alice), account_tag),
        "@account=Alice :al!~al@irc NOTICE #r :hi\r\n"
    );
    assert_eq!(
        encoded_with(&msg(alice), both),
        "@msgid=#r/7;account=Alice;+a=b :al!~al@irc NOTICE #r :hi\r\n"
    );
    assert_eq!(
        encoded_with(&private(alice), account_tag),
        "@account=Alice :al!native@native PRIVMSG bo :psst\r\n"
    );
    assert!(encoded_with(&tagmsg(alice), both)
        .contains(";account=Alice;+a=b :al!native@native TAGMSG bo\r\n"));
    // Not asked for: no tag; not logged in: none either.
    assert_eq!(
        encoded_with(&msg(alice), Look::default()),
        ":al!~al@irc NOTICE #r :hi\r\n"
    );
    assert_eq!(
        encoded_with(&msg(None), account_tag),
        ":al!~al@irc NOTICE #r :hi\r\n"
    );
    assert_eq!(
        encoded_with(&private(None), account_tag),
        ":al!native@native PRIVMSG bo :psst\r\n"
    );
}

#[test]
fn long_messages_are_split_and_every_line_fits() {
    let long = "é".repeat(700);
    let event = Event::Msg {
        room: room("#r"),
        from: nick("al"),
        userhost: UserHost::new("~al", "irc"),
        text: long.clone(),
        kind: MsgKind::Privmsg,
        meta: MsgMeta::default(),
    };
    let out = encoded(&event, false);
    let lines: Vec<&str> = out.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 3);
    let mut joined = String::new();
    for l in &lines {
        assert!(l.len() <= MAX_BODY, "{} bytes", l.len());
        joined.push_str(l.split_once(" :").unwrap().1);
    }
    assert_eq!(joined, long);
}

#[test]
fn names_lines_fit_and_mark_the_owner() {
    let nicks: Vec<String> = (0..60).map(|i| format!("member{i:02}_abcdefgh")).collect();
    let mut buf = BytesMut::new();
    encode_names(
        &mut buf,
        &server(),
        "al",
        &room("#r"),
        false,
        nicks
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i == 0, None)),
    );
    let out = text(&buf);
    let lines: Vec<&str> = out.split_terminator("\r\n").collect();
    assert!(lines.len() > 2);
    assert!(lines[0].starts_with(":irc.test 353 al = #r :@member00_abcdefgh member01"));
    assert_eq!(
        *lines.last().unwrap(),
        ":irc.test 366 al #r :End of /NAMES list"
    );
    let listed: usize = lines[..lines.len() - 1]
        .iter()
        .map(|l| {
            assert!(l.len() <= MAX_BODY);
            l.split_once(" :").unwrap().1.split(' ').count()
        })
        .sum();
    assert_eq!(listed, 60);
}
