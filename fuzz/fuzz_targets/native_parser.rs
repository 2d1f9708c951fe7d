//! The native line parser (`parse_line`) fed any line the codec can yield:
//! valid UTF-8 without a LF.
//!
//! Besides never panicking:
//!
//! - a NUL or a CR anywhere is refused as `ERR * BAD_SYNTAX`;
//! - the verb's ASCII case changes nothing;
//! - tighter name limits only turn results into refusals, never into
//!   another command;
//! - a refusal renders as one `ERR` line that the bot-side client reads back
//!   as the same error, naming the verb as PROTOCOL.md says (a known verb,
//!   the word upper-cased if it is 1 to 32 printable ASCII characters and
//!   not `*`, else `*`);
//! - an accepted command has no blank text, and what it makes others see
//!   (a `MSG`, `PART`, `KICK`... event carrying its names and text) renders
//!   as one line that the client reads back as the same event.

#![no_main]

use chatroom::client::ServerLine;
use chatroom::core::names::NameLimits;
use chatroom::core::{
    no_realname, ErrorCode, Event, FileId, MsgKind, MsgMeta, Nick, RoomName, UserHost,
};
use chatroom::proto::native::parser::{parse_line, Command, ParseError};
use chatroom::proto::native::render::Reply;
use chatroom::proto::native::verb::{Verb, VerbTag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(line) = std::str::from_utf8(input) else {
        return;
    };
    if line.contains('\n') {
        return;
    }
    let limits = NameLimits::default();
    let parsed = parse_line(line, &limits);

    if line.contains(['\0', '\r']) {
        let err = parsed.as_ref().expect_err("a NUL or CR accepted");
        assert_eq!(
            (&err.verb, err.code),
            (&VerbTag::Star, ErrorCode::BadSyntax)
        );
    }
    assert_eq!(
        parse_line(&swap_verb_case(line), &limits),
        parsed,
        "the verb's case matters"
    );
    let tight = NameLimits {
        max_nick_len: 1,
        max_room_len: 1,
    };
    if let Ok(command) = parse_line(line, &tight) {
        assert_eq!(
            parsed.as_ref(),
            Ok(&command),
            "tighter limits change the command"
        );
    }
    match &parsed {
        Err(err) => check_refusal(line, err),
        Ok(command) => check_command(command),
    }
});

/// `line` with the ASCII letters of its first word in the other case.
fn swap_verb_case(line: &str) -> String {
    let start = line.len() - line.trim_start_matches(' ').len();
    let end = line[start..].find(' ').map_or(line.len(), |i| start + i);
    let swapped: String = line[start..end]
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    format!("{}{swapped}{}", &line[..start], &line[end..])
}

fn check_refusal(line: &str, err: &ParseError) {
    if let VerbTag::Unknown(word) = &err.verb {
        assert!(
            word.len() <= 32
                && &**word != "*"
                && word
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b.is_ascii_lowercase()),
            "ERR names the unknown verb {word:?} (line {line:?})"
        );
        assert_eq!(Verb::from_word(word), None, "{word:?} is a known verb");
    }
    round_trips(Reply::Err(err.clone()).into());
}

fn check_command(command: &Command) {
    let not_blank = |t: &str| !t.bytes().all(|b| b == b' ');
    let texts: Vec<&str> = match command {
        Command::Msg { text, .. } | Command::Privmsg { text, .. } => vec![text],
        Command::File { filename, .. } => vec![filename],
        Command::Join { key: t, .. }
        | Command::Part { reason: t, .. }
        | Command::Topic { text: t, .. }
        | Command::Kick { reason: t, .. }
        | Command::Ping { token: t }
        | Command::Pong { token: t }
        | Command::Quit { reason: t } => t.iter().map(String::as_str).collect(),
        _ => vec![],
    };
    for text in texts {
        assert!(not_blank(text), "{command:?} holds a blank text");
    }
    if let Some(event) = event_of(command) {
        round_trips(event.into());
    }
}

/// The event `command` makes others see, sent by `sender` where a room
/// must be guessed or an id made up.
fn event_of(command: &Command) -> Option<Event> {
    let sender = Nick::parse("sender", 64).expect("a valid nick");
    let here = RoomName::parse_hashed("#here", 64).expect("a valid room");
    // What every native client is, and all a native line can show: no real
    // name, no message number, time or tags.
    let userhost = UserHost::native();
    Some(match command.clone() {
        Command::Nick { nick } => Event::Nick {
            old: sender,
            new: nick,
            userhost,
        },
        Command::Join { room, .. } => Event::Join {
            room,
            nick: sender,
            userhost,
            realname: no_realname(),
        },
        Command::Part { room, reason } => Event::Part {
            room,
            nick: sender,
            userhost,
            reason,
        },
        Command::Msg { room, text } => Event::Msg {
            room: room.unwrap_or(here),
            from: sender,
            userhost,
            text,
            kind: MsgKind::Privmsg,
            meta: MsgMeta::default(),
        },
        // A native line does not name the recipient: the client reads none.
        Command::Privmsg { text, .. } => Event::Privmsg {
            from: sender,
            userhost,
            to: None,
            text,
            kind: MsgKind::Privmsg,
            meta: MsgMeta::default(),
        },
        Command::Topic {
            room,
            text: Some(text),
        } => Event::Topic {
            room,
            nick: sender,
            userhost,
            text,
        },
        Command::Kick { room, nick, reason } => Event::Kick {
            room,
            nick,
            by: sender,
            userhost,
            reason,
        },
        Command::File {
            target,
            size,
            filename,
        } => Event::File {
            target,
            from: sender,
            userhost,
            id: FileId::parse("0b5d8e3c6f9a1d2e4b7c").expect("a valid id"),
            size,
            sha256: "c10537c2cb4d0bce84c2d4bd55f129a08d79f7562c85779c1b852444014bd429".into(),
            filename,
        },
        Command::Quit { reason } => Event::Quit {
            nick: sender,
            userhost,
            reason,
        },
        _ => return None,
    })
}

/// `value` renders as one line that the client reads back as `value`.
fn round_trips(value: ServerLine) {
    let bytes = value.to_line();
    let line = std::str::from_utf8(&bytes).expect("a rendered line is UTF-8");
    let body = line.strip_suffix('\n').expect("a rendered line ends in LF");
    assert!(!body.contains(['\n', '\r']), "{line:?} is not one line");
    assert_eq!(
        ServerLine::parse(line),
        Ok(value),
        "{line:?} reads back otherwise"
    );
}
