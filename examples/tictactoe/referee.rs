//! The games in progress and who is where: turns players' messages and
//! room events into what the bot says. No I/O: the connection feeds it
//! events and sends the [`Say`]s it returns, in order.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chatroom::core::names::{Folded, Nick, RoomName};

use crate::command::{self, Command, CommandError, Said};
use crate::game::{Cell, Game, Mark, MoveError, Status};
use crate::render::{self, Ending, GameId};

/// Where a game lives, and where a message was typed.
#[derive(Debug, Clone)]
pub enum Place {
    /// A room the bot is in.
    Room(RoomName),
    /// Private messages between the bot and each player.
    Private,
}

impl Place {
    fn is(&self, other: &Place) -> bool {
        match (self, other) {
            (Place::Room(a), Place::Room(b)) => a.folded() == b.folded(),
            (Place::Private, Place::Private) => true,
            _ => false,
        }
    }
}

/// Where one line goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// `MSG <room> <text>`.
    Room(RoomName),
    /// `PRIVMSG <nick> <text>`.
    User(Nick),
}

/// What the answer to a line tells the referee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// Nothing: errors are only logged.
    Plain,
    /// The challenge of private game `0`: `OK` starts it, `NO_SUCH_NICK`
    /// cancels it.
    Invite(GameId),
    /// A line to a player of private game `0`: `NO_SUCH_NICK` ends it.
    Player(GameId, Nick),
}

/// One line the bot is to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    /// Where.
    pub to: To,
    /// The text of the `MSG` or `PRIVMSG`.
    pub text: String,
    /// What its answer means.
    pub tag: Tag,
}

/// Why a request was refused, as the player is told (docs/TICTACTOE.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayError {
    /// The request itself is malformed.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A move out of turn.
    #[error("not your turn: {next} ({mark}) plays next")]
    NotYourTurn {
        /// Who moves next.
        next: Nick,
        /// With which mark.
        mark: Mark,
    },
    /// A move on a taken cell.
    #[error("cell {} is taken", .0.number())]
    Taken(Cell),
    /// A move, `board` or `resign` without a game here.
    #[error("you are in no game here: !ttt play <nick> starts one")]
    NoGame,
    /// A move in a private game whose challenge is still on its way.
    #[error("wait until {0} has been told about the game")]
    NotYetTold(Nick),
    /// `play` while in a game here.
    #[error("you are already in game {id} here, against {opponent}: finish it or !ttt resign")]
    AlreadyPlaying {
        /// The game.
        id: GameId,
        /// Against whom.
        opponent: Nick,
    },
    /// `play` against someone in a game here.
    #[error("{0} is already in a game here")]
    OpponentBusy(Nick),
    /// `play` in a room against someone not in it.
    #[error("{0} is not in {1}")]
    NotInRoom(Nick, RoomName),
    /// `play` privately against someone not online.
    #[error("{0} is not online")]
    NotOnline(Nick),
    /// `play` against oneself.
    #[error("you cannot play against yourself")]
    Yourself,
    /// `play` against the bot.
    #[error("I only referee: challenge someone else")]
    Referee,
}

/// A game in progress.
#[derive(Debug)]
struct Table {
    place: Place,
    /// X, then O.
    players: [Nick; 2],
    game: Game,
    last_move: Instant,
    /// False while a private game's challenge is on its way.
    told: bool,
}

impl Table {
    fn mark_of(&self, nick: &Folded) -> Option<Mark> {
        [Mark::X, Mark::O]
            .into_iter()
            .find(|m| self.players[m.index()].folded() == nick)
    }
}

/// All games, and the members of the bot's rooms.
#[derive(Debug)]
pub struct Referee {
    me: Option<Nick>,
    games: BTreeMap<GameId, Table>,
    last_id: GameId,
    rooms: HashMap<Folded, (RoomName, HashMap<Folded, Nick>)>,
    idle: Duration,
}

impl Referee {
    /// No games yet; a game nobody moves in for `idle` ends.
    pub fn new(idle: Duration) -> Referee {
        Referee {
            me: None,
            games: BTreeMap::new(),
            last_id: 0,
            rooms: HashMap::new(),
            idle,
        }
    }

    /// The bot's own nickname (after each connect).
    pub fn set_me(&mut self, me: Nick) {
        self.me = Some(me);
    }

    /// The bot (re)joined `room`: its member list starts over.
    pub fn joined(&mut self, room: &RoomName) {
        self.rooms
            .insert(room.folded().clone(), (room.clone(), HashMap::new()));
    }

    /// `NAMES` of a room the bot is in.
    pub fn members(&mut self, room: &RoomName, nicks: &[Nick]) {
        if let Some((_, members)) = self.rooms.get_mut(room.folded()) {
            for n in nicks {
                members.insert(n.folded().clone(), n.clone());
            }
        }
    }

    /// Someone joined a room the bot is in.
    pub fn on_join(&mut self, room: &RoomName, nick: &Nick) {
        self.members(room, std::slice::from_ref(nick));
    }

    /// Someone left a room (`PART` or `KICK`): their game there ends.
    pub fn on_leave(&mut self, room: &RoomName, nick: &Nick) -> Vec<Say> {
        if self.is_me(nick) {
            // The bot cannot talk in the room any more: its games there
            // end unannounced.
            self.rooms.remove(room.folded());
            self.games
                .retain(|_, t| !t.place.is(&Place::Room(room.clone())));
            return Vec::new();
        }
        if let Some((_, members)) = self.rooms.get_mut(room.folded()) {
            members.remove(nick.folded());
        }
        match self.find(&Place::Room(room.clone()), nick.folded()) {
            Some(id) => self.end(id, nick, Ending::LeftRoom(room.clone())),
            None => Vec::new(),
        }
    }

    /// Someone the bot shares a room with quit: all their games end.
    pub fn on_quit(&mut self, nick: &Nick) -> Vec<Say> {
        for (_, members) in self.rooms.values_mut() {
            members.remove(nick.folded());
        }
        let ids: Vec<GameId> = self
            .games
            .iter()
            .filter(|(_, t)| t.mark_of(nick.folded()).is_some())
            .map(|(id, _)| *id)
            .collect();
        let mut says = Vec::new();
        for id in ids {
            let why = match &self.games[&id].place {
                Place::Room(room) => Ending::LeftRoom(room.clone()),
                Place::Private => Ending::Offline,
            };
            says.extend(self.end(id, nick, why));
        }
        says
    }

    /// Someone the bot shares a room with changed nickname: their games
    /// follow.
    pub fn on_nick(&mut self, old: &Nick, new: &Nick) {
        if self.is_me(old) {
            self.me = Some(new.clone());
        }
        for (_, members) in self.rooms.values_mut() {
            if members.remove(old.folded()).is_some() {
                members.insert(new.folded().clone(), new.clone());
            }
        }
        for table in self.games.values_mut() {
            if let Some(mark) = table.mark_of(old.folded()) {
                table.players[mark.index()] = new.clone();
            }
        }
    }

    /// A message from `from`, typed in `place`.
    pub fn on_message(&mut self, place: Place, from: &Nick, text: &str, now: Instant) -> Vec<Say> {
        if self.is_me(from) {
            return Vec::new();
        }
        let said = match place {
            Place::Room(_) => Said::InRoom,
            Place::Private => Said::Privately,
        };
        let Some(request) = command::parse(text, said) else {
            return Vec::new();
        };
        let done = match request {
            Err(e) => Err(e.into()),
            Ok(Command::Help) => Ok(render::HELP
                .iter()
                .map(|line| plain(To::User(from.clone()), line.to_string()))
                .collect()),
            Ok(Command::Play(opponent)) => self.start(&place, from, &opponent, now),
            Ok(Command::Move(cell)) => self.play(&place, from, cell, now),
            Ok(Command::Board) => self.show(&place, from),
            Ok(Command::Resign) => self.resign(&place, from),
        };
        done.unwrap_or_else(|e| vec![answer(&place, from, &e.to_string())])
    }

    /// The challenge of private game `id` reached its opponent, who spells
    /// their nickname `spelled`: the game starts.
    pub fn invite_delivered(&mut self, id: GameId, spelled: &Nick) -> Vec<Say> {
        let Some(table) = self.games.get_mut(&id) else {
            return Vec::new();
        };
        if table.players[1].folded() == spelled.folded() {
            table.players[1] = spelled.clone();
        }
        table.told = true;
        let x = table.players[0].clone();
        let mut says = vec![tagged(
            To::User(x.clone()),
            render::challenger(id, &table.players[1]),
            id,
            &x,
        )];
        says.extend(self.board_says(id, None));
        says
    }

    /// The challenge of private game `id` found its opponent offline.
    pub fn invite_failed(&mut self, id: GameId) -> Vec<Say> {
        match self.games.remove(&id) {
            Some(t) => vec![plain(
                To::User(t.players[0].clone()),
                PlayError::NotOnline(t.players[1].clone()).to_string(),
            )],
            None => Vec::new(),
        }
    }

    /// A line to `nick`, a player of private game `id`, found them offline.
    pub fn unreachable(&mut self, id: GameId, nick: &Nick) -> Vec<Say> {
        match self.games.get(&id) {
            Some(t) if t.told && t.mark_of(nick.folded()).is_some() => {
                let nick = t.players[t.mark_of(nick.folded()).map_or(0, Mark::index)].clone();
                self.end(id, &nick, Ending::Offline)
            }
            _ => Vec::new(),
        }
    }

    /// Ends the games nobody moved in for the idle time.
    pub fn expire(&mut self, now: Instant) -> Vec<Say> {
        let stale: Vec<GameId> = self
            .games
            .iter()
            .filter(|(_, t)| now.duration_since(t.last_move) >= self.idle)
            .map(|(id, _)| *id)
            .collect();
        let mut says = Vec::new();
        for id in stale {
            let table = &self.games[&id];
            match (table.told, table.game.status()) {
                (true, Status::Next(mark)) => {
                    let nick = table.players[mark.index()].clone();
                    says.extend(self.end(id, &nick, Ending::Idle(self.idle.as_secs())));
                }
                _ => {
                    self.games.remove(&id);
                }
            }
        }
        says
    }

    /// How many games are in progress.
    pub fn games(&self) -> usize {
        self.games.len()
    }

    fn is_me(&self, nick: &Nick) -> bool {
        self.me
            .as_ref()
            .is_some_and(|m| m.folded() == nick.folded())
    }

    /// The game `nick` plays in `place`.
    fn find(&self, place: &Place, nick: &Folded) -> Option<GameId> {
        self.games
            .iter()
            .find(|(_, t)| t.place.is(place) && t.mark_of(nick).is_some())
            .map(|(id, _)| *id)
    }

    fn start(
        &mut self,
        place: &Place,
        from: &Nick,
        opponent: &Nick,
        now: Instant,
    ) -> Result<Vec<Say>, PlayError> {
        if opponent.folded() == from.folded() {
            return Err(PlayError::Yourself);
        }
        if self.is_me(opponent) {
            return Err(PlayError::Referee);
        }
        if let Some(id) = self.find(place, from.folded()) {
            let t = &self.games[&id];
            let mark = t.mark_of(from.folded()).unwrap_or(Mark::X);
            return Err(PlayError::AlreadyPlaying {
                id,
                opponent: t.players[mark.other().index()].clone(),
            });
        }
        // In a room, the opponent is named as they spell themselves.
        let opponent = match place {
            Place::Room(room) => self
                .rooms
                .get(room.folded())
                .and_then(|(_, members)| members.get(opponent.folded()))
                .cloned()
                .ok_or_else(|| PlayError::NotInRoom(opponent.clone(), room.clone()))?,
            Place::Private => opponent.clone(),
        };
        if self.find(place, opponent.folded()).is_some() {
            return Err(PlayError::OpponentBusy(opponent));
        }
        self.last_id += 1;
        let id = self.last_id;
        let told = matches!(place, Place::Room(_));
        self.games.insert(
            id,
            Table {
                place: place.clone(),
                players: [from.clone(), opponent.clone()],
                game: Game::new(),
                last_move: now,
                told,
            },
        );
        Ok(match place {
            Place::Room(room) => {
                let intro = render::addressed(&opponent, &render::challenged(id, from));
                let mut says = vec![plain(To::Room(room.clone()), intro)];
                says.extend(self.board_says(id, None));
                says
            }
            Place::Private => vec![Say {
                to: To::User(opponent),
                text: render::challenged(id, from),
                tag: Tag::Invite(id),
            }],
        })
    }

    /// The game `from` plays in `place`, told to players.
    fn table_of(&mut self, place: &Place, from: &Nick) -> Result<(GameId, Mark), PlayError> {
        let id = self.find(place, from.folded()).ok_or(PlayError::NoGame)?;
        let table = &self.games[&id];
        if !table.told {
            return Err(PlayError::NotYetTold(table.players[1].clone()));
        }
        let mark = table.mark_of(from.folded()).ok_or(PlayError::NoGame)?;
        Ok((id, mark))
    }

    fn play(
        &mut self,
        place: &Place,
        from: &Nick,
        cell: Cell,
        now: Instant,
    ) -> Result<Vec<Say>, PlayError> {
        let (id, mark) = self.table_of(place, from)?;
        let table = self.games.get_mut(&id).ok_or(PlayError::NoGame)?;
        match table.game.play(mark, cell) {
            Ok(_) => {}
            Err(MoveError::NotYourTurn { next }) => {
                return Err(PlayError::NotYourTurn {
                    next: table.players[next.index()].clone(),
                    mark: next,
                })
            }
            Err(MoveError::Taken(cell)) => return Err(PlayError::Taken(cell)),
            Err(MoveError::Over) => return Err(PlayError::NoGame),
        }
        table.last_move = now;
        Ok(self.board_says(id, None))
    }

    fn show(&mut self, place: &Place, from: &Nick) -> Result<Vec<Say>, PlayError> {
        let (id, _) = self.table_of(place, from)?;
        Ok(match place {
            Place::Room(_) => self.board_says(id, None),
            Place::Private => {
                let t = &self.games[&id];
                render::board(id, &t.players, &t.game)
                    .into_iter()
                    .map(|line| tagged(To::User(from.clone()), line, id, from))
                    .collect()
            }
        })
    }

    fn resign(&mut self, place: &Place, from: &Nick) -> Result<Vec<Say>, PlayError> {
        let (id, mark) = self.table_of(place, from)?;
        if let Some(t) = self.games.get_mut(&id) {
            let _ = t.game.resign(mark);
        }
        Ok(self.board_says(id, None))
    }

    /// Ends game `id` because of `nick`, who counts as resigned; tells
    /// whoever can still hear it.
    fn end(&mut self, id: GameId, nick: &Nick, why: Ending) -> Vec<Say> {
        let Some(table) = self.games.get_mut(&id) else {
            return Vec::new();
        };
        let Some(mark) = table.mark_of(nick.folded()) else {
            return Vec::new();
        };
        if !table.told || table.game.resign(mark).is_err() {
            self.games.remove(&id);
            return Vec::new();
        }
        let text = render::ended(id, nick, &why);
        let mut says = match &table.place {
            Place::Room(room) => vec![plain(To::Room(room.clone()), text)],
            Place::Private => {
                let other = table.players[mark.other().index()].clone();
                vec![tagged(To::User(other.clone()), text, id, &other)]
            }
        };
        says.extend(self.board_says(id, Some(nick.folded().clone())));
        says
    }

    /// The board of game `id` where it lives (privately: to each player
    /// but `skip`, X first); drops the game if it is over.
    fn board_says(&mut self, id: GameId, skip: Option<Folded>) -> Vec<Say> {
        let Some(t) = self.games.get(&id) else {
            return Vec::new();
        };
        let lines = render::board(id, &t.players, &t.game);
        let says = match &t.place {
            Place::Room(room) => lines
                .into_iter()
                .map(|line| plain(To::Room(room.clone()), line))
                .collect(),
            Place::Private => t
                .players
                .iter()
                .filter(|p| skip.as_ref() != Some(p.folded()))
                .flat_map(|p| {
                    lines
                        .iter()
                        .map(move |line| tagged(To::User(p.clone()), line.clone(), id, p))
                })
                .collect(),
        };
        if t.game.status().is_over() {
            self.games.remove(&id);
        }
        says
    }
}

fn plain(to: To, text: String) -> Say {
    Say {
        to,
        text,
        tag: Tag::Plain,
    }
}

fn tagged(to: To, text: String, id: GameId, player: &Nick) -> Say {
    Say {
        to,
        text,
        tag: Tag::Player(id, player.clone()),
    }
}

/// An answer to `from` where they typed.
fn answer(place: &Place, from: &Nick, text: &str) -> Say {
    match place {
        Place::Room(room) => plain(To::Room(room.clone()), render::addressed(from, text)),
        Place::Private => plain(To::User(from.clone()), text.to_owned()),
    }
}

// A path of its own: tests/tictactoe.rs compiles this file too, and a
// module loaded by `#[path]` looks for its children beside itself.
#[cfg(test)]
#[path = "referee/tests.rs"]
mod tests;
