//! Every text the bot writes, in one place: the `TTT` board line and its
//! three `| ` lines, the announcements, the help. docs/TICTACTOE.md is the
//! contract; the web client parses the `TTT` line.

use chatroom::core::names::{Nick, RoomName};

use crate::game::{Game, Mark, Status};

/// A game id: unique for the bot's lifetime, counting from 1.
pub type GameId = u64;

/// The four board lines of a game: `TTT <id> <x> <o> <cells> <status>`,
/// then three `| ` lines for people.
pub fn board(id: GameId, players: &[Nick; 2], game: &Game) -> [String; 4] {
    let nick = |mark: Mark| &players[mark.index()];
    let status = match game.status() {
        Status::Next(m) => format!("next={}", nick(m)),
        Status::Won(m) => format!("won={}", nick(m)),
        Status::Draw => "draw".to_owned(),
        Status::Resigned(m) => format!("resigned={}", nick(m)),
    };
    let words = match game.status() {
        Status::Next(m) => format!("{} ({m}) to play", nick(m)),
        Status::Won(m) => format!("{} wins", nick(m)),
        Status::Draw => "draw".to_owned(),
        Status::Resigned(m) => format!("{} resigned", nick(m)),
    };
    let cells: Vec<char> = game.cells().chars().collect();
    let row = |r: usize| {
        let c = &cells[r * 3..r * 3 + 3];
        format!(
            "| {} {} {}   {} {} {}",
            c[0],
            c[1],
            c[2],
            r * 3 + 1,
            r * 3 + 2,
            r * 3 + 3
        )
    };
    let (x, o) = (&players[0], &players[1]);
    [
        format!("TTT {id} {x} {o} {} {status}", game.cells()),
        format!("{}   game {id}: {x} (X) vs {o} (O)", row(0)),
        format!("{}   {words}", row(1)),
        row(2),
    ]
}

/// What the challenged player is told (in a room, after `<o>: `).
pub fn challenged(id: GameId, x: &Nick) -> String {
    format!("{x} started game {id} against you; {x} plays X and moves first, with !ttt <1-9>")
}

/// What the challenger of a private game is told once the other player
/// has been.
pub fn challenger(id: GameId, o: &Nick) -> String {
    format!("game {id} started against {o}; you play X and move first, with !ttt <1-9>")
}

/// An answer to one player in a room: `<nick>: <text>`.
pub fn addressed(nick: &Nick, text: &str) -> String {
    format!("{nick}: {text}")
}

/// Why a game ended other than by a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The player left the game's room (PART, QUIT or KICK).
    LeftRoom(RoomName),
    /// The player of a private game is not online.
    Offline,
    /// The player to move let the game sit this many seconds.
    Idle(u64),
}

/// The line said before the final board of a game that `nick` ended.
pub fn ended(id: GameId, nick: &Nick, why: &Ending) -> String {
    match why {
        Ending::LeftRoom(room) => format!("game {id} ended: {nick} left {room}"),
        Ending::Offline => format!("game {id} ended: {nick} is not online"),
        Ending::Idle(secs) => format!("game {id} ended: {nick} did not move for {secs} seconds"),
    }
}

/// The answer to `!ttt help`, sent privately.
pub const HELP: [&str; 6] = [
    "tic-tac-toe: type these in a room I am in, or privately to me (then without !ttt if you like)",
    "!ttt play <nick>  start a game against <nick>: you play X and move first",
    "!ttt <1-9>        take a cell: 1 2 3 / 4 5 6 / 7 8 9, row by row from the top left",
    "!ttt board        show your game's board again",
    "!ttt resign       give up your game",
    "!ttt help         this text",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Cell;
    use chatroom::core::names::STORED_NAME_LIMIT;

    fn players() -> [Nick; 2] {
        [
            Nick::parse("alice", STORED_NAME_LIMIT).unwrap(),
            Nick::parse("bob", STORED_NAME_LIMIT).unwrap(),
        ]
    }

    #[test]
    fn a_new_board() {
        assert_eq!(
            board(1, &players(), &Game::new()),
            [
                "TTT 1 alice bob ......... next=alice",
                "| . . .   1 2 3   game 1: alice (X) vs bob (O)",
                "| . . .   4 5 6   alice (X) to play",
                "| . . .   7 8 9",
            ]
        );
    }

    #[test]
    fn a_won_and_a_resigned_board() {
        let mut game = Game::new();
        for (mark, n) in [(Mark::X, 5), (Mark::O, 1), (Mark::X, 2), (Mark::O, 3)] {
            game.play(mark, Cell::from_number(n).unwrap()).unwrap();
        }
        let mut resigned = game.clone();
        game.play(Mark::X, Cell::from_number(8).unwrap()).unwrap();
        assert_eq!(
            board(12, &players(), &game),
            [
                "TTT 12 alice bob OXO.X..X. won=alice",
                "| O X O   1 2 3   game 12: alice (X) vs bob (O)",
                "| . X .   4 5 6   alice wins",
                "| . X .   7 8 9",
            ]
        );
        resigned.resign(Mark::O).unwrap();
        assert_eq!(
            board(12, &players(), &resigned)[0],
            "TTT 12 alice bob OXO.X.... resigned=bob"
        );
        assert_eq!(
            board(12, &players(), &resigned)[2],
            "| . X .   4 5 6   bob resigned"
        );
    }
}
