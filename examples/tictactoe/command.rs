//! What a player's message asks of the bot: `!ttt play <nick>`,
//! `!ttt <1-9>`, `!ttt board`, `!ttt resign`, `!ttt help`.
//!
//! ```text
//! message = "!ttt" [SP request]     ; in a room
//!         / ["!ttt" SP] request     ; privately, the prefix is optional
//! request = "play" SP nick / 1*DIGIT / "board" / "resign" / "help"
//! ```
//!
//! Words are separated by any run of spaces; `!ttt` and the command words
//! are case-insensitive.

use chatroom::core::names::{Nick, STORED_NAME_LIMIT};

use crate::game::Cell;

/// The prefix that marks a message in a room as one for the bot.
pub const PREFIX: &str = "!ttt";

/// A request to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start a game against this player.
    Play(Nick),
    /// Take this cell.
    Move(Cell),
    /// Show the board again.
    Board,
    /// Give up.
    Resign,
    /// List the commands.
    Help,
}

/// A message meant for the bot that is not a valid request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A number outside 1 to 9.
    #[error("cells are 1 to 9, row by row from the top left")]
    BadCell,
    /// `play` not followed by exactly one word.
    #[error("usage: !ttt play <nick>")]
    PlayUsage,
    /// `play` followed by a word that cannot be a nickname.
    #[error("\"{0}\" is not a nickname")]
    BadNick(String),
    /// Anything else.
    #[error("unknown command \"{0}\": try !ttt help")]
    Unknown(String),
}

/// Where a message was typed, which decides whether `!ttt` is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// In a room: only messages starting with `!ttt` are for the bot.
    InRoom,
    /// Privately to the bot: every message is, with or without `!ttt`.
    Privately,
}

/// The request in `text`, `None` when the message is not for the bot (a
/// room message without the prefix).
pub fn parse(text: &str, said: Said) -> Option<Result<Command, CommandError>> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let prefixed = words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case(PREFIX));
    if prefixed {
        words.remove(0);
    } else if said == Said::InRoom {
        return None;
    }
    Some(request(&words))
}

fn request(words: &[&str]) -> Result<Command, CommandError> {
    let Some((first, args)) = words.split_first() else {
        return Ok(Command::Help);
    };
    let unknown = || CommandError::Unknown(words.join(" "));
    let lower = first.to_ascii_lowercase();
    match (lower.as_str(), args) {
        ("play", [nick]) => Nick::parse(nick, STORED_NAME_LIMIT)
            .map(Command::Play)
            .map_err(|_| CommandError::BadNick((*nick).to_owned())),
        ("play", _) => Err(CommandError::PlayUsage),
        ("board", []) => Ok(Command::Board),
        ("resign", []) => Ok(Command::Resign),
        ("help", []) => Ok(Command::Help),
        (number, []) if number.bytes().all(|b| b.is_ascii_digit()) => number
            .parse()
            .ok()
            .and_then(Cell::from_number)
            .map(Command::Move)
            .ok_or(CommandError::BadCell),
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nick(s: &str) -> Nick {
        Nick::parse(s, STORED_NAME_LIMIT).unwrap()
    }

    fn cell(n: u32) -> Command {
        Command::Move(Cell::from_number(n).unwrap())
    }

    #[test]
    fn requests_in_a_room_need_the_prefix() {
        let cases: &[(&str, Option<Result<Command, CommandError>>)] = &[
            ("!ttt 5", Some(Ok(cell(5)))),
            ("  !TTT   9  ", Some(Ok(cell(9)))),
            ("!ttt play bob", Some(Ok(Command::Play(nick("bob"))))),
            ("!ttt PLAY Zoë", Some(Ok(Command::Play(nick("Zoë"))))),
            ("!ttt board", Some(Ok(Command::Board))),
            ("!ttt Resign", Some(Ok(Command::Resign))),
            ("!ttt help", Some(Ok(Command::Help))),
            ("!ttt", Some(Ok(Command::Help))),
            ("!ttt 0", Some(Err(CommandError::BadCell))),
            ("!ttt 10", Some(Err(CommandError::BadCell))),
            (
                "!ttt 99999999999999999999",
                Some(Err(CommandError::BadCell)),
            ),
            ("!ttt play", Some(Err(CommandError::PlayUsage))),
            ("!ttt play a b", Some(Err(CommandError::PlayUsage))),
            (
                "!ttt play 9x",
                Some(Err(CommandError::BadNick("9x".into()))),
            ),
            (
                "!ttt fly away",
                Some(Err(CommandError::Unknown("fly away".into()))),
            ),
            (
                "!ttt 5 now",
                Some(Err(CommandError::Unknown("5 now".into()))),
            ),
            ("5", None),
            ("hello !ttt 5", None),
            ("!tttt 5", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(&parse(text, Said::InRoom), want, "{text:?}");
        }
    }

    #[test]
    fn the_prefix_is_optional_in_private() {
        assert_eq!(parse("5", Said::Privately), Some(Ok(cell(5))));
        assert_eq!(parse("!ttt 5", Said::Privately), Some(Ok(cell(5))));
        assert_eq!(
            parse("play bob", Said::Privately),
            Some(Ok(Command::Play(nick("bob"))))
        );
        assert_eq!(parse("", Said::Privately), Some(Ok(Command::Help)));
        assert_eq!(
            parse("hi there", Said::Privately),
            Some(Err(CommandError::Unknown("hi there".into())))
        );
    }
}
