//! The IRC message parser (`Message::parse`) and what makes a message a
//! command (`Command::parse`), fed any line the IRC codec can yield: valid
//! UTF-8 without CR or LF.
//!
//! Besides never panicking:
//!
//! - a message has a command, one word, and at most `MAX_PARAMS`
//!   parameters; all but the last are non-empty words not starting with `:`;
//! - a tag key holds no `=`, `;` or space, and `escape` undoes what
//!   `unescape` did to its value;
//! - the command's ASCII case changes nothing;
//! - a command keeps its target limits and has the text it requires.

#![no_main]

use chatroom::core::names::NameLimits;
use chatroom::proto::irc::command::{Command, CommandError, JoinArgs, MAX_TARGETS};
use chatroom::proto::irc::message::{escape, unescape, Message, MAX_PARAMS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(line) = std::str::from_utf8(input) else {
        return;
    };
    if line.contains(['\r', '\n']) {
        return;
    }
    let Ok(msg) = Message::parse(line) else {
        return;
    };
    check_message(&msg);
    let limits = NameLimits::default();
    let command = Command::parse(&msg, &limits);
    let swapped = swap_case(msg.command);
    let other = Command::parse(
        &Message {
            command: &swapped,
            ..msg.clone()
        },
        &limits,
    );
    match (&command, &other) {
        // The refusal quotes the command as sent.
        (Err(CommandError::Unknown(_)), Err(CommandError::Unknown(_))) => {}
        _ => assert_eq!(command, other, "the command's case matters"),
    }
    if let Ok(command) = &command {
        check_command(command);
    }
});

fn check_message(msg: &Message<'_>) {
    assert!(
        !msg.command.is_empty() && !msg.command.contains(' '),
        "the command {:?}",
        msg.command
    );
    assert!(
        msg.params.len() <= MAX_PARAMS,
        "{} parameters",
        msg.params.len()
    );
    if let Some((_, words)) = msg.params.split_last() {
        for word in words {
            assert!(
                !word.is_empty() && !word.contains(' ') && !word.starts_with(':'),
                "the parameter {word:?}"
            );
        }
    }
    for tag in &msg.tags {
        assert!(
            !tag.key.contains(['=', ';', ' ']),
            "the tag key {:?}",
            tag.key
        );
        let mut escaped = String::new();
        escape(&tag.value, &mut escaped);
        assert!(
            !escaped.contains([' ', ';', '\r', '\n']),
            "{escaped:?} escaped"
        );
        assert_eq!(
            unescape(&escaped),
            tag.value,
            "escape does not undo unescape"
        );
    }
}

fn check_command(command: &Command) {
    match command {
        Command::Message { targets, text, .. } => {
            assert!(
                (1..=MAX_TARGETS).contains(&targets.len()),
                "{} targets",
                targets.len()
            );
            assert!(!text.is_empty(), "a message without text");
        }
        Command::Join(JoinArgs::Channels(channels)) => {
            assert!(channels.len() <= MAX_TARGETS, "{} channels", channels.len());
        }
        Command::Kick { targets, .. } => {
            let nicks: usize = targets.iter().map(|(_, nicks)| nicks.len()).sum();
            assert!(nicks <= MAX_TARGETS, "{nicks} nicks");
        }
        _ => {}
    }
}

/// `word` with its ASCII letters in the other case.
fn swap_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}
