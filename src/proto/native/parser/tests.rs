//! Table-driven tests of the line parser, plus properties that hold on any input.

use proptest::prelude::*;

use super::{announced_body_len, announced_body_len_in_prefix, parse_line, Command, FetchId};
use crate::core::names::{NameLimits, Nick, RoomName};
use crate::core::ErrorCode;
use crate::core::FileTarget;
use crate::proto::native::help;
use crate::proto::native::verb::{Verb, VerbTag};

use ErrorCode::{BadNick, BadRoom, BadSyntax, NoSuchNick, UnknownCommand};

/// What a line should give: a command, or the error's verb tag and code.
type Expected = Result<Command, (VerbTag, ErrorCode)>;

fn nick(s: &str) -> Nick {
    Nick::parse(s, 24).expect("test nick is valid")
}

fn room(s: &str) -> RoomName {
    RoomName::parse(s, 32).expect("test room is valid")
}

fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

fn err(verb: Verb, code: ErrorCode) -> Expected {
    Err((VerbTag::Known(verb), code))
}

fn star(code: ErrorCode) -> Expected {
    Err((VerbTag::Star, code))
}

fn unknown(word: &str) -> Expected {
    Err((VerbTag::Unknown(word.into()), UnknownCommand))
}

fn check(table: &[(&str, Expected)]) {
    let limits = NameLimits::default();
    for (line, expected) in table {
        let got = parse_line(line, &limits).map_err(|e| (e.verb, e.code));
        assert_eq!(&got, expected, "line {line:?}");
    }
}

#[test]
fn nick_join_part() {
    use Command::*;
    check(&[
        (
            "NICK alice",
            Ok(Nick {
                nick: nick("alice"),
            }),
        ),
        (
            "nick Alice",
            Ok(Nick {
                nick: nick("Alice"),
            }),
        ),
        (
            "   NiCk    a_[b]   ",
            Ok(Nick {
                nick: nick("a_[b]"),
            }),
        ),
        ("NICK", err(Verb::Nick, BadSyntax)),
        ("NICK    ", err(Verb::Nick, BadSyntax)),
        ("NICK a b", err(Verb::Nick, BadSyntax)),
        ("NICK 9lives", err(Verb::Nick, BadNick)),
        ("NICK -x", err(Verb::Nick, BadNick)),
        ("NICK al#ice", err(Verb::Nick, BadNick)),
        ("NICK a\tb", err(Verb::Nick, BadNick)),
        ("NICK abcdefghijklmnopqrstuvwxy", err(Verb::Nick, BadNick)),
        ("NICK 9lives extra", err(Verb::Nick, BadNick)),
        // Nicknames beyond ASCII (core::names has the full tables): shown
        // composed and at their usual width.
        ("NICK Zoë", Ok(Nick { nick: nick("Zoë") })),
        ("NICK Zoe\u{308}", Ok(Nick { nick: nick("Zoë") })),
        (
            "NICK Ａlice",
            Ok(Nick {
                nick: nick("Alice"),
            }),
        ),
        (
            "NICK さくら",
            Ok(Nick {
                nick: nick("さくら"),
            }),
        ),
        ("NICK Zoë™", err(Verb::Nick, BadNick)),
        ("NICK Zoë\u{202e}", err(Verb::Nick, BadNick)),
        ("NICK ﬁnn", err(Verb::Nick, BadNick)),
        // Only U+0020 separates words: an ideographic space is in the word.
        ("NICK a\u{3000}b", err(Verb::Nick, BadNick)),
        ("NICK ééééééééééééééééééééééééé", err(Verb::Nick, BadNick)),
        (
            "JOIN #a",
            Ok(Join {
                room: room("#a"),
                key: None,
            }),
        ),
        (
            "join 123",
            Ok(Join {
                room: room("#123"),
                key: None,
            }),
        ),
        (
            "JOIN   #Lobby   s3cret  ",
            Ok(Join {
                room: room("#Lobby"),
                key: s("s3cret"),
            }),
        ),
        ("JOIN", err(Verb::Join, BadSyntax)),
        ("JOIN  ", err(Verb::Join, BadSyntax)),
        ("JOIN #a key extra", err(Verb::Join, BadSyntax)),
        ("JOIN #", err(Verb::Join, BadRoom)),
        ("JOIN ##a", err(Verb::Join, BadRoom)),
        ("JOIN a!b", err(Verb::Join, BadRoom)),
        ("JOIN a!b key extra", err(Verb::Join, BadRoom)),
        (
            &*format!("JOIN #{}", "r".repeat(33)),
            err(Verb::Join, BadRoom),
        ),
        (
            "PART #a",
            Ok(Part {
                room: room("#a"),
                reason: None,
            }),
        ),
        (
            "PART a   ",
            Ok(Part {
                room: room("#a"),
                reason: None,
            }),
        ),
        (
            "PART #a see  you ",
            Ok(Part {
                room: room("#a"),
                reason: s("see  you "),
            }),
        ),
        (
            "part #a   bye",
            Ok(Part {
                room: room("#a"),
                reason: s("  bye"),
            }),
        ),
        ("PART", err(Verb::Part, BadSyntax)),
        ("PART %a bye", err(Verb::Part, BadRoom)),
    ]);
}

#[test]
fn msg_and_privmsg() {
    use Command::*;
    check(&[
        (
            "MSG hello world",
            Ok(Msg {
                room: None,
                text: "hello world".into(),
            }),
        ),
        (
            "msg #r hi",
            Ok(Msg {
                room: Some(room("#r")),
                text: "hi".into(),
            }),
        ),
        (
            "MSG #r   x",
            Ok(Msg {
                room: Some(room("#r")),
                text: "  x".into(),
            }),
        ),
        (
            "MSG    #r  x  ",
            Ok(Msg {
                room: Some(room("#r")),
                text: " x  ".into(),
            }),
        ),
        (
            "MSG   hi",
            Ok(Msg {
                room: None,
                text: "  hi".into(),
            }),
        ),
        (
            "MSG 123 hi",
            Ok(Msg {
                room: None,
                text: "123 hi".into(),
            }),
        ),
        (
            "MSG r# x",
            Ok(Msg {
                room: None,
                text: "r# x".into(),
            }),
        ),
        (
            "MSG tab\there",
            Ok(Msg {
                room: None,
                text: "tab\there".into(),
            }),
        ),
        (
            "MSG héllo ✓",
            Ok(Msg {
                room: None,
                text: "héllo ✓".into(),
            }),
        ),
        ("MSG", err(Verb::Msg, BadSyntax)),
        ("MSG ", err(Verb::Msg, BadSyntax)),
        ("MSG    ", err(Verb::Msg, BadSyntax)),
        ("MSG #r", err(Verb::Msg, BadSyntax)),
        ("MSG #r ", err(Verb::Msg, BadSyntax)),
        ("MSG #r    ", err(Verb::Msg, BadSyntax)),
        ("MSG # hi", err(Verb::Msg, BadRoom)),
        ("MSG #a!b hi", err(Verb::Msg, BadRoom)),
        ("MSG #a!b", err(Verb::Msg, BadRoom)),
        (
            "PRIVMSG bob see you at 6",
            Ok(Privmsg {
                to: nick("bob"),
                text: "see you at 6".into(),
            }),
        ),
        (
            "privmsg  Bob   hi ",
            Ok(Privmsg {
                to: nick("Bob"),
                text: "  hi ".into(),
            }),
        ),
        ("PRIVMSG", err(Verb::Privmsg, BadSyntax)),
        ("PRIVMSG bob", err(Verb::Privmsg, BadSyntax)),
        ("PRIVMSG bob ", err(Verb::Privmsg, BadSyntax)),
        ("PRIVMSG bob   ", err(Verb::Privmsg, BadSyntax)),
        ("PRIVMSG 123 hi", err(Verb::Privmsg, NoSuchNick)),
        ("PRIVMSG #bob hi", err(Verb::Privmsg, NoSuchNick)),
        ("PRIVMSG 123", err(Verb::Privmsg, NoSuchNick)),
        (
            "PRIVMSG ZOË hi",
            Ok(Privmsg {
                to: nick("ZOË"),
                text: "hi".into(),
            }),
        ),
        ("PRIVMSG Zoë™ hi", err(Verb::Privmsg, NoSuchNick)),
    ]);
}

#[test]
fn names_list_info_topic_kick() {
    use Command::*;
    check(&[
        ("NAMES #a", Ok(Names { room: room("#a") })),
        ("names a  ", Ok(Names { room: room("#a") })),
        ("NAMES", err(Verb::Names, BadSyntax)),
        ("NAMES #a b", err(Verb::Names, BadSyntax)),
        ("NAMES #a/b", err(Verb::Names, BadRoom)),
        ("LIST", Ok(List)),
        ("  list   ", Ok(List)),
        ("LIST x", err(Verb::List, BadSyntax)),
        ("INFO", Ok(Info { room: None })),
        ("INFO   ", Ok(Info { room: None })),
        (
            "info #a",
            Ok(Info {
                room: Some(room("#a")),
            }),
        ),
        (
            "INFO a ",
            Ok(Info {
                room: Some(room("#a")),
            }),
        ),
        ("INFO #a b", err(Verb::Info, BadSyntax)),
        ("INFO a:b", err(Verb::Info, BadRoom)),
        (
            "TOPIC #a",
            Ok(Topic {
                room: room("#a"),
                text: None,
            }),
        ),
        (
            "TOPIC #a    ",
            Ok(Topic {
                room: room("#a"),
                text: None,
            }),
        ),
        (
            "topic a Rust  talk ",
            Ok(Topic {
                room: room("#a"),
                text: s("Rust  talk "),
            }),
        ),
        (
            "TOPIC #a  x",
            Ok(Topic {
                room: room("#a"),
                text: s(" x"),
            }),
        ),
        ("TOPIC", err(Verb::Topic, BadSyntax)),
        ("TOPIC #a! x", err(Verb::Topic, BadRoom)),
        (
            "KICK #a bob",
            Ok(Kick {
                room: room("#a"),
                nick: nick("bob"),
                reason: None,
            }),
        ),
        (
            "kick a bob  ",
            Ok(Kick {
                room: room("#a"),
                nick: nick("bob"),
                reason: None,
            }),
        ),
        (
            "KICK #a bob go away",
            Ok(Kick {
                room: room("#a"),
                nick: nick("bob"),
                reason: s("go away"),
            }),
        ),
        ("KICK", err(Verb::Kick, BadSyntax)),
        ("KICK #a", err(Verb::Kick, BadSyntax)),
        ("KICK #a  ", err(Verb::Kick, BadSyntax)),
        ("KICK #a 1bob", err(Verb::Kick, NoSuchNick)),
        ("KICK #a! bob", err(Verb::Kick, BadRoom)),
        ("KICK #a! 1bob", err(Verb::Kick, BadRoom)),
        ("KICK #a!", err(Verb::Kick, BadRoom)),
    ]);
}

#[test]
fn file_fetch_history() {
    use Command::*;
    check(&[
        (
            "FILE #a 12 notes.txt",
            Ok(File {
                target: FileTarget::Room(room("#a")),
                size: 12,
                filename: "notes.txt".into(),
            }),
        ),
        (
            "file   bob   0  my file .txt ",
            Ok(File {
                target: FileTarget::User(nick("bob")),
                size: 0,
                filename: " my file .txt ".into(),
            }),
        ),
        (
            "FILE bob 007 ../../etc/passwd",
            Ok(File {
                target: FileTarget::User(nick("bob")),
                size: 7,
                filename: "../../etc/passwd".into(),
            }),
        ),
        (
            "FILE #a 18446744073709551615 big",
            Ok(File {
                target: FileTarget::Room(room("#a")),
                size: u64::MAX,
                filename: "big".into(),
            }),
        ),
        ("FILE", err(Verb::File, BadSyntax)),
        ("FILE #a", err(Verb::File, BadSyntax)),
        ("FILE #a 12", err(Verb::File, BadSyntax)),
        ("FILE #a 12 ", err(Verb::File, BadSyntax)),
        ("FILE #a 12   ", err(Verb::File, BadSyntax)),
        ("FILE #a -1 x", err(Verb::File, BadSyntax)),
        ("FILE #a +1 x", err(Verb::File, BadSyntax)),
        ("FILE #a 1k x", err(Verb::File, BadSyntax)),
        ("FILE #a ١٢ x", err(Verb::File, BadSyntax)),
        ("FILE #a 18446744073709551616 x", err(Verb::File, BadSyntax)),
        ("FILE 123 5 x", err(Verb::File, NoSuchNick)),
        ("FILE b@d 5 x", err(Verb::File, NoSuchNick)),
        ("FILE # 5 x", err(Verb::File, BadRoom)),
        ("FILE #a! 5 x", err(Verb::File, BadRoom)),
        ("FILE #a! x", err(Verb::File, BadRoom)),
        (
            "FETCH 0123456789abcdef0123",
            Ok(Fetch {
                id: FetchId::Id(crate::core::FileId::parse("0123456789abcdef0123").expect("an id")),
            }),
        ),
        // Malformed ids are taken, to be answered as unknown ones.
        (
            "FETCH abc123",
            Ok(Fetch {
                id: FetchId::Malformed("abc123".into()),
            }),
        ),
        (
            "fetch  ../x?  ",
            Ok(Fetch {
                id: FetchId::Malformed("../x?".into()),
            }),
        ),
        ("FETCH", err(Verb::Fetch, BadSyntax)),
        ("FETCH a b", err(Verb::Fetch, BadSyntax)),
        (
            "HISTORY #a",
            Ok(History {
                room: room("#a"),
                count: None,
            }),
        ),
        (
            "history a 50 ",
            Ok(History {
                room: room("#a"),
                count: Some(50),
            }),
        ),
        (
            "HISTORY #a 4294967295",
            Ok(History {
                room: room("#a"),
                count: Some(u32::MAX),
            }),
        ),
        (
            "HISTORY #a 4294967296",
            Ok(History {
                room: room("#a"),
                count: Some(u32::MAX),
            }),
        ),
        (
            "HISTORY #a 99999999999999999999999999999",
            Ok(History {
                room: room("#a"),
                count: Some(u32::MAX),
            }),
        ),
        ("HISTORY", err(Verb::History, BadSyntax)),
        ("HISTORY #a ten", err(Verb::History, BadSyntax)),
        ("HISTORY #a -1", err(Verb::History, BadSyntax)),
        ("HISTORY #a +1", err(Verb::History, BadSyntax)),
        ("HISTORY #a 10 20", err(Verb::History, BadSyntax)),
        ("HISTORY #a? 10", err(Verb::History, BadRoom)),
    ]);
}

#[test]
fn ping_pong_help_quit() {
    use Command::*;
    check(&[
        ("PING", Ok(Ping { token: None })),
        ("PING ", Ok(Ping { token: None })),
        ("PING   ", Ok(Ping { token: None })),
        ("ping abc", Ok(Ping { token: s("abc") })),
        ("PING  a b ", Ok(Ping { token: s(" a b ") })),
        ("PONG", Ok(Pong { token: None })),
        ("pong 42", Ok(Pong { token: s("42") })),
        ("HELP", Ok(Help { verb: None })),
        ("help  ", Ok(Help { verb: None })),
        (
            "HELP msg",
            Ok(Help {
                verb: Some(Verb::Msg),
            }),
        ),
        (
            "HELP  Privmsg  ",
            Ok(Help {
                verb: Some(Verb::Privmsg),
            }),
        ),
        ("HELP FLY", err(Verb::Help, UnknownCommand)),
        ("HELP é", err(Verb::Help, UnknownCommand)),
        ("HELP MSG x", err(Verb::Help, BadSyntax)),
        ("HELP FLY x", err(Verb::Help, UnknownCommand)),
        ("QUIT", Ok(Quit { reason: None })),
        ("QUIT  ", Ok(Quit { reason: None })),
        (
            "quit bye now",
            Ok(Quit {
                reason: s("bye now"),
            }),
        ),
        ("Quit  bye", Ok(Quit { reason: s(" bye") })),
    ]);
}

#[test]
fn operator_commands() {
    use crate::core::opers::mask::BanMask;
    use crate::core::opers::Password;
    use std::time::Duration;
    use Command::*;
    let mask = |m: &str| BanMask::parse(m).expect("test mask");
    let kline = |m: &str, secs: Option<u64>, reason: Option<String>| {
        Ok(Kline {
            ban: Some(super::KlineArgs {
                mask: mask(m),
                duration: secs.map(Duration::from_secs),
                reason,
            }),
        })
    };
    check(&[
        (
            "OPER alice s3cret",
            Ok(Oper {
                name: "alice".into(),
                password: Password("s3cret".into()),
            }),
        ),
        ("OPER alice", err(Verb::Oper, BadSyntax)),
        ("OPER alice two words", err(Verb::Oper, BadSyntax)),
        (
            "KILL bob",
            Ok(Kill {
                nick: nick("bob"),
                reason: None,
            }),
        ),
        (
            "kill bob go away",
            Ok(Kill {
                nick: nick("bob"),
                reason: s("go away"),
            }),
        ),
        ("KILL", err(Verb::Kill, BadSyntax)),
        ("KILL #room", err(Verb::Kill, NoSuchNick)),
        ("KLINE", Ok(Kline { ban: None })),
        ("KLINE  ", Ok(Kline { ban: None })),
        ("KLINE 10.0.0.1", kline("10.0.0.1", None, None)),
        (
            "KLINE 10.0.0.0/8 1h30m",
            kline("10.0.0.0/8", Some(5400), None),
        ),
        (
            "KLINE *@10.* 0 forever",
            kline("*@10.*", None, s("forever")),
        ),
        ("KLINE ~x@* spam bot", kline("~x@*", None, s("spam bot"))),
        ("KLINE ~x@* 60 spam", kline("~x@*", Some(60), s("spam"))),
        ("KLINE bob", err(Verb::Kline, BadSyntax)),
        (
            "UNKLINE 10.0.0.1",
            Ok(Unkline {
                mask: mask("10.0.0.1"),
            }),
        ),
        ("UNKLINE", err(Verb::Unkline, BadSyntax)),
        ("UNKLINE 10.0.0.1 x", err(Verb::Unkline, BadSyntax)),
        (
            "WALLOPS hello all",
            Ok(Wallops {
                text: "hello all".into(),
            }),
        ),
        ("WALLOPS", err(Verb::Wallops, BadSyntax)),
        ("WALLOPS   ", err(Verb::Wallops, BadSyntax)),
        (
            "CLOSE #r spam",
            Ok(Close {
                room: room("#r"),
                reason: s("spam"),
            }),
        ),
        ("CLOSE", err(Verb::Close, BadSyntax)),
        ("CLOSE #a!b", err(Verb::Close, BadRoom)),
    ]);
    let line = parse_line("OPER alice s3cret", &NameLimits::default());
    assert!(!format!("{line:?}").contains("s3cret"), "{line:?}");
}

#[test]
fn bad_lines_and_unknown_verbs() {
    check(&[
        ("", star(BadSyntax)),
        (" ", star(BadSyntax)),
        ("     ", star(BadSyntax)),
        ("\0", star(BadSyntax)),
        ("MSG hi\0there", star(BadSyntax)),
        ("MSG hi\rthere", star(BadSyntax)),
        ("MSG hi\r", star(BadSyntax)),
        ("\rMSG hi", star(BadSyntax)),
        ("FLY\0 away", star(BadSyntax)),
        ("FLY away", unknown("FLY")),
        ("fly", unknown("FLY")),
        ("  Fly   away  ", unknown("FLY")),
        ("MSGS hi", unknown("MSGS")),
        ("#room hi", unknown("#ROOM")),
        ("PRIVMSG\tbob hi", star(UnknownCommand)),
        ("héllo", star(UnknownCommand)),
        ("\u{1b}[31m hi", star(UnknownCommand)),
        (&*"X".repeat(32), unknown(&"X".repeat(32))),
        (&*"X".repeat(33), star(UnknownCommand)),
        ("\t", star(UnknownCommand)),
    ]);
}

#[test]
fn error_texts() {
    let limits = NameLimits::default();
    let e = parse_line("FLY away", &limits).unwrap_err();
    assert_eq!(e.to_string(), "FLY UNKNOWN_COMMAND try HELP");
    let e = parse_line("ünknown", &limits).unwrap_err();
    assert_eq!(e.text, "try HELP");
    let e = parse_line("HELP FLY", &limits).unwrap_err();
    assert_ne!(e.text, "try HELP");
    for line in ["JOIN", "MSG #a!b hi", "FILE #a x y", "", "a\0"] {
        let e = parse_line(line, &limits).unwrap_err();
        assert!(!e.text.is_empty(), "{line:?}");
        assert!(!e.text.contains(['\n', '\r', '\0']), "{line:?}");
    }
}

#[test]
fn a_syntax_error_shows_the_synopsis_help_shows() {
    // One line per verb that can be malformed (PING, PONG and QUIT take
    // anything).
    let lines = [
        "NICK",
        "JOIN",
        "PART",
        "MSG",
        "PRIVMSG bob",
        "NAMES",
        "LIST x",
        "INFO #a b",
        "TOPIC",
        "KICK #a",
        "FILE #a",
        "FETCH",
        "HISTORY",
        "HELP msg x",
    ];
    let limits = NameLimits::default();
    for line in lines {
        let e = parse_line(line, &limits).unwrap_err();
        let verb = e.verb.verb().expect("a known verb");
        let (synopsis, _) = help::usage(verb)
            .split_once(" - ")
            .expect("a HELP line is `<synopsis> - <description>`");
        assert_eq!(
            (e.code, &*e.text),
            (BadSyntax, &*format!("usage: {synopsis}")),
            "{line:?}"
        );
    }
}

#[test]
fn name_limits_are_honoured() {
    let limits = NameLimits {
        max_nick_len: 3,
        max_room_len: 2,
    };
    assert!(parse_line("NICK abc", &limits).is_ok());
    assert_eq!(parse_line("NICK abcd", &limits).unwrap_err().code, BadNick);
    assert!(parse_line("JOIN #ab", &limits).is_ok());
    assert_eq!(parse_line("JOIN #abc", &limits).unwrap_err().code, BadRoom);
}

#[test]
fn announced_body_lengths() {
    let table: &[(&[u8], Option<u64>)] = &[
        (b"FILE #a 12 notes.txt", Some(12)),
        (b"file bob 0 x", Some(0)),
        (b"  FiLe   #a   0042   x", Some(42)),
        (b"FILE #a 12", Some(12)),
        (b"FILE #a 12   ", Some(12)),
        (b"FILE 123 5 x", Some(5)),
        (b"FILE #a\xff 7 \xfe", Some(7)),
        (b"FILE #a 18446744073709551615 x", Some(u64::MAX)),
        (b"FILE #a 18446744073709551616 x", None),
        (b"FILE #a 1k x", None),
        (b"FILE #a +1 x", None),
        (b"FILE #a -1 x", None),
        (b"FILE #a 1\t x", None),
        (b"FILE #a x 12", None),
        (b"FILE #a", None),
        (b"FILE #a ", None),
        (b"FILE 12 x", None),
        (b"FILE", None),
        (b"FILEX #a 1 x", None),
        (b"FILE\t#a 1 x", None),
        (b"FIL #a 1 x", None),
        (b"MSG #a 1 x", None),
        (b"", None),
        (b"   ", None),
        (b"\xff\xfe", None),
    ];
    for (line, expected) in table {
        assert_eq!(
            announced_body_len(line),
            *expected,
            "line {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn announced_body_lengths_in_a_prefix() {
    // The start of a line too long to keep: the size counts only when a
    // space ends it, since a word cut off here may go on.
    let table: &[(&[u8], Option<u64>)] = &[
        (b"FILE #a 12 ", Some(12)),
        (b"FILE #a 12 notes", Some(12)),
        (b"  file  \xff  7  \xfe", Some(7)),
        (b"FILE #a 12", None),
        (b"FILE #a 1k ", None),
        (b"FILE #a", None),
        (b"FILE #abcdef", None),
        (b"MSG #a 12 x", None),
        (b"", None),
    ];
    for (prefix, expected) in table {
        assert_eq!(
            announced_body_len_in_prefix(prefix),
            *expected,
            "prefix {:?}",
            String::from_utf8_lossy(prefix)
        );
    }
}

/// Lines made of the characters that matter to the grammar, plus anything.
fn tricky_line() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => Just(' '),
        2 => Just('#'),
        2 => prop::char::range('0', '9'),
        2 => prop::char::range('a', 'z'),
        1 => Just('\0'),
        1 => Just('\r'),
        1 => Just('\t'),
        1 => any::<char>(),
    ];
    let verb = prop_oneof![
        Just(String::new()),
        prop::sample::select(Verb::ALL.to_vec()).prop_map(|v| v.as_str().to_owned()),
        prop::sample::select(Verb::ALL.to_vec()).prop_map(|v| v.as_str().to_lowercase()),
    ];
    (verb, prop::collection::vec(ch, 0..40))
        .prop_map(|(verb, rest)| format!("{verb}{}", rest.into_iter().collect::<String>()))
}

proptest! {
    #[test]
    fn parse_line_never_panics(line in prop_oneof![tricky_line(), any::<String>()]) {
        let limits = NameLimits::default();
        let parsed = parse_line(&line, &limits);
        if let Ok(Command::Msg { text, .. }) = &parsed {
            prop_assert!(!text.trim_start_matches(' ').is_empty(), "blank text from {:?}", line);
        }
        if let Ok(Command::File { size, .. }) = &parsed {
            prop_assert_eq!(announced_body_len(line.as_bytes()), Some(*size));
        }
        if line.contains(['\0', '\r']) {
            let e = parsed.unwrap_err();
            prop_assert_eq!((e.verb, e.code), (VerbTag::Star, BadSyntax));
        }
    }

    #[test]
    fn tiny_limits_never_panic(line in tricky_line(), nick_len in 0usize..3, room_len in 0usize..3) {
        let limits = NameLimits { max_nick_len: nick_len, max_room_len: room_len };
        let _ = parse_line(&line, &limits);
    }

    #[test]
    fn announced_body_len_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = announced_body_len(&bytes);
    }

    #[test]
    fn a_prefix_reads_the_size_once_a_space_ends_it(size in any::<u64>(), cut in 0usize..48) {
        let line = format!("FILE #r {size} name");
        let cut = cut.min(line.len());
        let size_end = "FILE #r ".len() + size.to_string().len();
        let want = (cut > size_end).then_some(size);
        prop_assert_eq!(announced_body_len_in_prefix(&line.as_bytes()[..cut]), want);
    }

    #[test]
    fn announced_body_len_reads_any_size(size in any::<u64>(), pad in 1usize..4) {
        let sp = " ".repeat(pad);
        let line = format!("{sp}file{sp}#r{sp}{size}{sp}name");
        prop_assert_eq!(announced_body_len(line.as_bytes()), Some(size));
    }
}
