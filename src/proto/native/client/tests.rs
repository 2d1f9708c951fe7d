//! Round trips of every server line, and the client's refusals.

use super::*;
use proptest::prelude::*;

fn nick(s: &str) -> Nick {
    Nick::parse(s, STORED_NAME_LIMIT).unwrap()
}

fn room(s: &str) -> RoomName {
    RoomName::parse_hashed(s, STORED_NAME_LIMIT).unwrap()
}

fn s(text: &str) -> String {
    text.to_owned()
}

/// A file id ending in the hex digits `tail`.
fn fid(tail: &str) -> FileId {
    FileId::parse(&format!("{tail:0>20}")).unwrap()
}

fn err(verb: VerbTag, code: ErrorCode, text: &str) -> Reply {
    Reply::Err(ProtocolError::new(verb, code, s(text)))
}

fn render(line: &ServerLine) -> String {
    String::from_utf8(line.to_line().to_vec()).unwrap()
}

/// One value of every variant, with the awkward cases of each field.
fn every_variant() -> Vec<ServerLine> {
    let r = room("#Lobby.1");
    let (a, b) = (nick("alice"), nick("[b0b]"));
    let mut replies = vec![
        Reply::Hello {
            server: s("chatroom"),
            version: s("0.1.0"),
            text: s("Welcome! Pick a nickname: NICK <name>"),
        },
        err(VerbTag::Known(Verb::Join), ErrorCode::BadKey, "wrong key"),
        err(
            VerbTag::Unknown("FLY".into()),
            ErrorCode::UnknownCommand,
            "try HELP",
        ),
        err(VerbTag::Star, ErrorCode::BadSyntax, " empty  command "),
        Reply::Names {
            room: r.clone(),
            nicks: vec![a.clone(), b.clone()],
        },
        Reply::Names {
            room: r.clone(),
            nicks: vec![],
        },
        // Nicknames beyond ASCII read back as sent.
        Reply::Names {
            room: r.clone(),
            nicks: vec![nick("Zoë"), nick("さくら"), nick("Дмитрий"), nick("аlice")],
        },
        Reply::Room {
            room: r.clone(),
            members: 3,
            private: true,
            topic: Some(s("  a topic ")),
        },
        Reply::Room {
            room: r.clone(),
            members: 0,
            private: false,
            topic: None,
        },
        Reply::Info(ServerInfo::Name(s("chat room  2"))),
        Reply::Info(ServerInfo::Version(s("0.1.0"))),
        Reply::Info(ServerInfo::UptimeSecs(u64::MAX)),
        Reply::Info(ServerInfo::Users(0)),
        Reply::Info(ServerInfo::Rooms(1)),
        Reply::Info(ServerInfo::Connections(2)),
        Reply::Info(ServerInfo::MaxLineBytes(2048)),
        Reply::Info(ServerInfo::MaxFileBytes(33_554_432)),
    ];
    let room_infos = [
        RoomInfoEntry::Members(3),
        RoomInfoEntry::Owner(Some(b.clone())),
        RoomInfoEntry::Owner(None),
        RoomInfoEntry::Private(true),
        RoomInfoEntry::Private(false),
        RoomInfoEntry::Created(s("2024-05-01T12:00:00Z")),
        RoomInfoEntry::Topic(Some(s(" spaced topic"))),
        RoomInfoEntry::Topic(None),
        RoomInfoEntry::Messages(0),
    ];
    replies.extend(room_infos.into_iter().map(|info| Reply::RoomInfo {
        room: r.clone(),
        info,
    }));
    replies.extend([
        Reply::Help(s("NICK <nick> - set or change your nickname")),
        Reply::History {
            room: r.clone(),
            time: s("2024-05-01T12:00:00Z"),
            from: a.clone(),
            text: s("hi  there"),
        },
        Reply::Data {
            id: fid("f00"),
            size: u64::MAX,
            filename: s(" my file.txt"),
        },
        Reply::Pong(None),
        Reply::Pong(Some(s(" a b "))),
        Reply::Ping(s("12345")),
        Reply::Server(s("shutting down")),
        Reply::Motd(s(" Welcome,  be nice")),
        Reply::Motd(String::new()),
    ]);
    let oks = [
        OkReply::Nick(a.clone()),
        OkReply::Join(r.clone()),
        OkReply::Part(r.clone()),
        OkReply::Msg(r.clone()),
        OkReply::Privmsg(b.clone()),
        OkReply::Names(r.clone(), 2),
        OkReply::List(usize::MAX),
        OkReply::Info,
        OkReply::InfoRoom(r.clone()),
        OkReply::Topic(r.clone(), None),
        OkReply::Topic(r.clone(), Some(s(" new topic"))),
        OkReply::Kick(r.clone(), b.clone()),
        OkReply::File {
            id: fid("abc123"),
            sha256: s("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        },
        OkReply::Fetch(fid("abc123")),
        OkReply::Link {
            id: fid("abc123"),
            path: s("/files/00000000000000abc123?token=1.ab"),
        },
        OkReply::History(r.clone(), 0),
        OkReply::Help,
        OkReply::Quit,
    ];
    replies.extend(oks.into_iter().map(Reply::Ok));
    let events = vec![
        Event::Msg {
            meta: MsgMeta::default(),
            userhost: UserHost::native(),
            kind: MsgKind::Privmsg,
            room: r.clone(),
            from: b.clone(),
            text: s("hi alice"),
        },
        Event::Privmsg {
            meta: MsgMeta::default(),
            userhost: UserHost::native(),
            kind: MsgKind::Privmsg,
            to: None,
            from: b.clone(),
            text: s("  see you at 6"),
        },
        Event::Join {
            realname: no_realname(),
            userhost: UserHost::native(),
            room: r.clone(),
            nick: a.clone(),
        },
        Event::Part {
            userhost: UserHost::native(),
            room: r.clone(),
            nick: a.clone(),
            reason: None,
        },
        Event::Part {
            userhost: UserHost::native(),
            room: r.clone(),
            nick: a.clone(),
            reason: Some(s("bye now")),
        },
        Event::Quit {
            userhost: UserHost::native(),
            nick: a.clone(),
            reason: None,
        },
        Event::Quit {
            userhost: UserHost::native(),
            nick: a.clone(),
            reason: Some(s("send queue exceeded")),
        },
        Event::Nick {
            userhost: UserHost::native(),
            old: a.clone(),
            new: nick("Alice"),
        },
        Event::Nick {
            userhost: UserHost::native(),
            old: nick("Zoë"),
            new: nick("ZOË"),
        },
        Event::Msg {
            meta: MsgMeta::default(),
            userhost: UserHost::native(),
            kind: MsgKind::Privmsg,
            room: r.clone(),
            from: nick("Zoë"),
            text: s("grüß dich"),
        },
        Event::Topic {
            userhost: UserHost::native(),
            room: r.clone(),
            nick: a.clone(),
            text: s("rust only"),
        },
        Event::Kick {
            userhost: UserHost::native(),
            room: r.clone(),
            nick: b.clone(),
            by: a.clone(),
            reason: None,
        },
        Event::Kick {
            userhost: UserHost::native(),
            room: r.clone(),
            nick: b.clone(),
            by: a.clone(),
            reason: Some(s(" spam")),
        },
        Event::File {
            userhost: UserHost::native(),
            target: FileTarget::Room(r.clone()),
            from: a.clone(),
            id: fid("1d1"),
            size: 0,
            sha256: s("00ff"),
            filename: s("notes .txt"),
        },
        Event::File {
            userhost: UserHost::native(),
            target: FileTarget::User(b.clone()),
            from: a.clone(),
            id: fid("1d2"),
            size: 42,
            sha256: s("abcd"),
            filename: s("x"),
        },
    ];
    replies
        .into_iter()
        .map(ServerLine::Reply)
        .chain(events.into_iter().map(ServerLine::Event))
        .collect()
}

#[test]
fn every_variant_round_trips() {
    for value in every_variant() {
        let line = render(&value);
        assert_eq!(ServerLine::parse(&line), Ok(value.clone()), "{line:?}");
        // Without the final LF too.
        assert_eq!(ServerLine::parse(line.trim_end_matches('\n')), Ok(value));
    }
}

#[test]
fn protocol_example_lines() {
    let cases: Vec<(&str, ServerLine)> = vec![
        (
            "HELLO chatroom 0.1.0 Welcome! Pick a nickname: NICK <name>\n",
            Reply::Hello {
                server: s("chatroom"),
                version: s("0.1.0"),
                text: s("Welcome! Pick a nickname: NICK <name>"),
            }
            .into(),
        ),
        (
            "OK NICK alice\n",
            Reply::Ok(OkReply::Nick(nick("alice"))).into(),
        ),
        (
            "JOIN #123 alice\n",
            Event::Join {
                realname: no_realname(),
                userhost: UserHost::native(),
                room: room("#123"),
                nick: nick("alice"),
            }
            .into(),
        ),
        (
            "NAMES #123 alice bob\n",
            Reply::Names {
                room: room("#123"),
                nicks: vec![nick("alice"), nick("bob")],
            }
            .into(),
        ),
        (
            "OK JOIN #123\n",
            Reply::Ok(OkReply::Join(room("#123"))).into(),
        ),
        ("OK MSG #123", Reply::Ok(OkReply::Msg(room("#123"))).into()),
        (
            "MSG #123 bob hi alice\n",
            Event::Msg {
                meta: MsgMeta::default(),
                userhost: UserHost::native(),
                kind: MsgKind::Privmsg,
                room: room("#123"),
                from: nick("bob"),
                text: s("hi alice"),
            }
            .into(),
        ),
        (
            "OK PRIVMSG bob\n",
            Reply::Ok(OkReply::Privmsg(nick("bob"))).into(),
        ),
        (
            "ERR FLY UNKNOWN_COMMAND try HELP\n",
            err(
                VerbTag::Unknown("FLY".into()),
                ErrorCode::UnknownCommand,
                "try HELP",
            )
            .into(),
        ),
        ("OK QUIT\n", Reply::Ok(OkReply::Quit).into()),
        (
            "ERR * SERVER_FULL too many connections\n",
            err(VerbTag::Star, ErrorCode::ServerFull, "too many connections").into(),
        ),
        (
            "ERR MSG NO_NICK set a nickname first: NICK <name>\n",
            err(
                VerbTag::Known(Verb::Msg),
                ErrorCode::NoNick,
                "set a nickname first: NICK <name>",
            )
            .into(),
        ),
        (
            "SERVER shutting down\n",
            Reply::Server(s("shutting down")).into(),
        ),
        ("PING 77\n", Reply::Ping(s("77")).into()),
        ("PONG\n", Reply::Pong(None).into()),
        // An empty optional text is absent.
        ("PONG \n", Reply::Pong(None).into()),
        (
            "OK TOPIC #r \n",
            Reply::Ok(OkReply::Topic(room("#r"), None)).into(),
        ),
        (
            "PART #r bob  gone  \n",
            Event::Part {
                userhost: UserHost::native(),
                room: room("#r"),
                nick: nick("bob"),
                reason: Some(s(" gone  ")),
            }
            .into(),
        ),
        (
            "NAMES #r\n",
            Reply::Names {
                room: room("#r"),
                nicks: vec![],
            }
            .into(),
        ),
        (
            "ROOM #r 2 no\n",
            Reply::Room {
                room: room("#r"),
                members: 2,
                private: false,
                topic: None,
            }
            .into(),
        ),
        (
            "INFO #r topic\n",
            Reply::RoomInfo {
                room: room("#r"),
                info: RoomInfoEntry::Topic(None),
            }
            .into(),
        ),
        (
            "INFO #r owner\n",
            Reply::RoomInfo {
                room: room("#r"),
                info: RoomInfoEntry::Owner(None),
            }
            .into(),
        ),
        (
            "INFO uptime_secs 12\n",
            Reply::Info(ServerInfo::UptimeSecs(12)).into(),
        ),
        ("OK INFO\n", Reply::Ok(OkReply::Info).into()),
        (
            "OK INFO #r\n",
            Reply::Ok(OkReply::InfoRoom(room("#r"))).into(),
        ),
        (
            "FILE bob alice 000000000000000000c9 3 ab x y\n",
            Event::File {
                userhost: UserHost::native(),
                target: FileTarget::User(nick("bob")),
                from: nick("alice"),
                id: fid("c9"),
                size: 3,
                sha256: s("ab"),
                filename: s("x y"),
            }
            .into(),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(ServerLine::parse(line), Ok(want), "{line:?}");
    }
}

#[test]
fn malformed_lines() {
    let cases: [(&str, LineProblem); 33] = [
        ("", LineProblem::Empty),
        ("\n", LineProblem::Empty),
        (" OK QUIT", LineProblem::EmptyField("line kind")),
        ("BLAH x", LineProblem::UnknownKind(s("BLAH"))),
        ("ok QUIT", LineProblem::UnknownKind(s("ok"))),
        ("OK", LineProblem::Missing("verb")),
        ("OK FLY", LineProblem::UnknownOkVerb(s("FLY"))),
        ("OK PING", LineProblem::UnknownOkVerb(s("PING"))),
        ("OK NICK", LineProblem::Missing("nick")),
        ("OK QUIT now", LineProblem::Trailing(s("now"))),
        ("OK QUIT ", LineProblem::Trailing(s(""))),
        (
            "OK NAMES #r +5",
            LineProblem::BadNumber {
                field: "count",
                value: s("+5"),
            },
        ),
        (
            "OK LIST 99999999999999999999999",
            LineProblem::BadNumber {
                field: "count",
                value: s("99999999999999999999999"),
            },
        ),
        ("ROOM #r 1 maybe", LineProblem::BadFlag(s("maybe"))),
        ("ERR FLY NOPE try HELP", LineProblem::UnknownCode(s("NOPE"))),
        (
            "ERR FLY UNKNOWN_COMMAND",
            LineProblem::Missing("error text"),
        ),
        ("JOIN #r", LineProblem::Missing("nick")),
        ("JOIN #r alice extra", LineProblem::Trailing(s("extra"))),
        ("NICK a  b", LineProblem::EmptyField("new nick")),
        ("NAMES #r alice ", LineProblem::EmptyField("nick")),
        ("MSG #r bob", LineProblem::Missing("text")),
        ("MSG #r bob hi\nMSG #r bob x\n", LineProblem::LineBreak),
        ("MSG #r bob hi\r\n", LineProblem::LineBreak),
        ("HELLO chatroom", LineProblem::Missing("version")),
        ("INFO", LineProblem::Missing("key or room")),
        ("INFO name", LineProblem::Missing("value")),
        ("INFO colour red", LineProblem::UnknownInfoKey(s("colour"))),
        (
            "INFO #r colour red",
            LineProblem::UnknownInfoKey(s("colour")),
        ),
        (
            "INFO users many",
            LineProblem::BadNumber {
                field: "value",
                value: s("many"),
            },
        ),
        ("INFO #r private maybe", LineProblem::BadFlag(s("maybe"))),
        ("INFO #r members 1 2", LineProblem::Trailing(s("2"))),
        ("OK FETCH abc123", LineProblem::BadFileId(s("abc123"))),
        (
            "DATA 0123456789ABCDEF0123 1 x",
            LineProblem::BadFileId(s("0123456789ABCDEF0123")),
        ),
    ];
    for (line, problem) in cases {
        let got = ServerLine::parse(line).unwrap_err();
        assert_eq!(got.problem, problem, "{line:?}");
        assert_eq!(got.line, line.strip_suffix('\n').unwrap_or(line));
    }
    let bad_names = [
        "OK NICK 9lives",
        "OK JOIN 123",
        "JOIN #a!b alice",
        "FILE #bad! alice id 1 ab x",
        "FILE 9bob alice id 1 ab x",
        "HISTORY #r now -x hi",
    ];
    for line in bad_names {
        let got = ServerLine::parse(line).unwrap_err();
        assert!(
            matches!(got.problem, LineProblem::BadName { .. }),
            "{line:?}: {got}"
        );
    }
}

#[test]
fn error_message_names_line_and_problem() {
    let e = ServerLine::parse("OK NICK 9lives\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot parse server line \"OK NICK 9lives\": \
         bad nick \"9lives\": a name may not start with '9'"
    );
}

#[test]
fn empty_required_texts_round_trip() {
    // The renderer writes an empty text as a bare separator ("HELP \n").
    let values: [ServerLine; 4] = [
        Reply::Help(s("")).into(),
        Reply::Server(s("")).into(),
        err(VerbTag::Star, ErrorCode::Internal, "").into(),
        Event::Privmsg {
            meta: MsgMeta::default(),
            userhost: UserHost::native(),
            kind: MsgKind::Privmsg,
            to: None,
            from: nick("bob"),
            text: s(""),
        }
        .into(),
    ];
    for value in values {
        let line = render(&value);
        assert_eq!(ServerLine::parse(&line), Ok(value), "{line:?}");
    }
}

#[test]
fn unknown_verb_star_reads_as_star() {
    // A client line "* x" has no readable verb: it is answered with `*`,
    // which reads back as such.
    let refused =
        crate::proto::native::parser::parse_line("* x", &crate::core::names::NameLimits::default());
    let sent: ServerLine = Reply::Err(refused.unwrap_err()).into();
    let line = render(&sent);
    assert_eq!(line, "ERR * UNKNOWN_COMMAND try HELP\n");
    assert_eq!(ServerLine::parse(&line), Ok(sent));
}

#[test]
fn final_replies() {
    let finals = ["OK QUIT", "ERR * BAD_SYNTAX x", "PONG", "PONG t"];
    for line in finals {
        assert!(ServerLine::parse(line).unwrap().is_final_reply(), "{line}");
    }
    let not_finals = [
        "NAMES #r a",
        "PING t",
        "HELLO a b c",
        "MSG #r a hi",
        "SERVER x",
    ];
    for line in not_finals {
        assert!(!ServerLine::parse(line).unwrap().is_final_reply(), "{line}");
    }
}

// ---- property test: every server value round-trips ----

fn nick_st() -> impl Strategy<Value = Nick> {
    r"[A-Za-z_\[\]{}|^`][A-Za-z0-9_\-\[\]{}|^`]{0,23}".prop_map(|s| nick(&s))
}

fn room_st() -> impl Strategy<Value = RoomName> {
    r"#[A-Za-z0-9_.\-]{1,32}".prop_map(|s| room(&s))
}

/// Text as a client can send it: no CR, LF or NUL, not only spaces.
fn text_st() -> impl Strategy<Value = String> {
    // The second arm makes leading, trailing and repeated spaces common.
    prop_oneof![r"[^\n\r\x00]{1,40}", r"[ a-z]{1,12}"]
        .prop_filter("not only spaces", |t| !t.trim_matches(' ').is_empty())
}

fn opt_text_st() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text_st())
}

/// Any value a text field can hold, spaces only and empty included.
fn any_text_st() -> impl Strategy<Value = String> {
    prop_oneof![r"[^\n\r\x00]{0,40}", r"[ a-z]{0,6}"]
}

fn id_st() -> impl Strategy<Value = FileId> {
    "[a-f0-9]{20}".prop_map(|id| FileId::parse(&id).unwrap())
}

/// A word: printable ASCII without spaces.
fn word_st() -> impl Strategy<Value = String> {
    "[!-~]{1,20}"
}

fn verb_tag_st() -> impl Strategy<Value = VerbTag> {
    prop_oneof![
        prop::sample::select(Verb::ALL.to_vec()).prop_map(VerbTag::Known),
        Just(VerbTag::Star),
        // What the server makes of an unknown verb: upper-cased printable
        // ASCII. "*" and known verbs cannot be unknown ones.
        "[!-`{-~]{1,32}"
            .prop_filter("not a known verb or *", |w| {
                w != "*" && Verb::from_word(w).is_none()
            })
            .prop_map(|w| VerbTag::Unknown(w.into())),
    ]
}

fn ok_st() -> impl Strategy<Value = OkReply> {
    prop_oneof![
        nick_st().prop_map(OkReply::Nick),
        room_st().prop_map(OkReply::Join),
        room_st().prop_map(OkReply::Part),
        room_st().prop_map(OkReply::Msg),
        nick_st().prop_map(OkReply::Privmsg),
        (room_st(), any::<usize>()).prop_map(|(r, n)| OkReply::Names(r, n)),
        any::<usize>().prop_map(OkReply::List),
        Just(OkReply::Info),
        room_st().prop_map(OkReply::InfoRoom),
        (room_st(), opt_text_st()).prop_map(|(r, t)| OkReply::Topic(r, t)),
        (room_st(), nick_st()).prop_map(|(r, n)| OkReply::Kick(r, n)),
        (id_st(), "[a-f0-9]{64}").prop_map(|(id, sha256)| OkReply::File { id, sha256 }),
        id_st().prop_map(OkReply::Fetch),
        (id_st(), word_st()).prop_map(|(id, path)| OkReply::Link { id, path }),
        (room_st(), any::<usize>()).prop_map(|(r, n)| OkReply::History(r, n)),
        Just(OkReply::Help),
        Just(OkReply::Quit),
    ]
}

fn server_info_st() -> impl Strategy<Value = ServerInfo> {
    prop_oneof![
        any_text_st().prop_map(ServerInfo::Name),
        any_text_st().prop_map(ServerInfo::Version),
        any::<u64>().prop_map(ServerInfo::UptimeSecs),
        any::<usize>().prop_map(ServerInfo::Users),
        any::<usize>().prop_map(ServerInfo::Rooms),
        any::<usize>().prop_map(ServerInfo::Connections),
        any::<usize>().prop_map(ServerInfo::MaxLineBytes),
        any::<u64>().prop_map(ServerInfo::MaxFileBytes),
    ]
}

fn room_info_st() -> impl Strategy<Value = RoomInfoEntry> {
    prop_oneof![
        any::<usize>().prop_map(RoomInfoEntry::Members),
        prop::option::of(nick_st()).prop_map(RoomInfoEntry::Owner),
        any::<bool>().prop_map(RoomInfoEntry::Private),
        word_st().prop_map(RoomInfoEntry::Created),
        opt_text_st().prop_map(RoomInfoEntry::Topic),
        any::<u64>().prop_map(RoomInfoEntry::Messages),
    ]
}

fn reply_st() -> impl Strategy<Value = Reply> {
    prop_oneof![
        ("[A-Za-z0-9_.-]{1,16}", "[0-9a-z.+-]{1,12}", text_st()).prop_map(
            |(server, version, text)| Reply::Hello {
                server,
                version,
                text
            }
        ),
        ok_st().prop_map(Reply::Ok),
        (
            verb_tag_st(),
            prop::sample::select(ErrorCode::ALL.to_vec()),
            text_st()
        )
            .prop_map(|(verb, code, text)| err(verb, code, &text)),
        (room_st(), prop::collection::vec(nick_st(), 0..6))
            .prop_map(|(room, nicks)| Reply::Names { room, nicks }),
        (room_st(), any::<usize>(), any::<bool>(), opt_text_st()).prop_map(
            |(room, members, private, topic)| Reply::Room {
                room,
                members,
                private,
                topic
            }
        ),
        server_info_st().prop_map(Reply::Info),
        (room_st(), room_info_st()).prop_map(|(room, info)| Reply::RoomInfo { room, info }),
        text_st().prop_map(Reply::Help),
        (room_st(), word_st(), nick_st(), text_st()).prop_map(|(room, time, from, text)| {
            Reply::History {
                room,
                time,
                from,
                text,
            }
        }),
        (id_st(), any::<u64>(), text_st()).prop_map(|(id, size, filename)| Reply::Data {
            id,
            size,
            filename
        }),
        opt_text_st().prop_map(Reply::Pong),
        text_st().prop_map(Reply::Ping),
        text_st().prop_map(Reply::Server),
    ]
}

fn file_target_st() -> impl Strategy<Value = FileTarget> {
    prop_oneof![
        room_st().prop_map(FileTarget::Room),
        nick_st().prop_map(FileTarget::User),
    ]
}

fn event_st() -> impl Strategy<Value = Event> {
    prop_oneof![
        (room_st(), nick_st(), text_st()).prop_map(|(room, from, text)| Event::Msg {
            meta: MsgMeta::default(),
            userhost: UserHost::native(),
            kind: MsgKind::Privmsg,
            room,
            from,
            text
        }),
        (nick_st(), text_st()).prop_map(|(from, text)| Event::Privmsg {
            meta: MsgMeta::default(),
            from,
            text,
            userhost: UserHost::native(),
            kind: MsgKind::Privmsg,
            to: None,
        }),
        (room_st(), nick_st()).prop_map(|(room, nick)| Event::Join {
            realname: no_realname(),
            room,
            nick,
            userhost: UserHost::native(),
        }),
        (room_st(), nick_st(), opt_text_st()).prop_map(|(room, nick, reason)| Event::Part {
            userhost: UserHost::native(),
            room,
            nick,
            reason
        }),
        (nick_st(), opt_text_st()).prop_map(|(nick, reason)| Event::Quit {
            nick,
            reason,
            userhost: UserHost::native(),
        }),
        (nick_st(), nick_st()).prop_map(|(old, new)| Event::Nick {
            old,
            new,
            userhost: UserHost::native(),
        }),
        (room_st(), nick_st(), text_st()).prop_map(|(room, nick, text)| Event::Topic {
            userhost: UserHost::native(),
            room,
            nick,
            text
        }),
        (room_st(), nick_st(), nick_st(), opt_text_st()).prop_map(|(room, nick, by, reason)| {
            Event::Kick {
                userhost: UserHost::native(),
                room,
                nick,
                by,
                reason,
            }
        }),
        (
            file_target_st(),
            nick_st(),
            id_st(),
            any::<u64>(),
            "[a-f0-9]{64}",
            text_st()
        )
            .prop_map(|(target, from, id, size, sha256, filename)| Event::File {
                userhost: UserHost::native(),
                target,
                from,
                id,
                size,
                sha256,
                filename,
            }),
    ]
}

fn server_line_st() -> impl Strategy<Value = ServerLine> {
    prop_oneof![
        reply_st().prop_map(ServerLine::Reply),
        event_st().prop_map(ServerLine::Event),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn server_lines_round_trip(value in server_line_st()) {
        let line = render(&value);
        let body = line.strip_suffix('\n');
        prop_assert!(body.is_some(), "no final LF: {:?}", line);
        prop_assert!(!body.unwrap().contains(['\n', '\r']), "line break inside: {:?}", line);
        prop_assert_eq!(ServerLine::parse(&line), Ok(value));
    }

    #[test]
    fn parse_never_panics(line in r"[\PC \n\r]{0,60}") {
        let _ = ServerLine::parse(&line);
    }
}
