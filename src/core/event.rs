//! What happened, as the core tells it: typed events that every front end
//! renders in its own encoding.

use super::file_id::FileId;
use super::names::{Nick, RoomName};

/// Where a `FILE` upload goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTarget {
    /// A room (written with its `#`).
    Room(RoomName),
    /// A user.
    User(Nick),
}

/// Something another user did, announced to those it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `MSG <room> <from> <text>`
    Msg {
        /// The room.
        room: RoomName,
        /// The sender.
        from: Nick,
        /// The text, verbatim.
        text: String,
    },
    /// `PRIVMSG <from> <text>`
    Privmsg {
        /// The sender.
        from: Nick,
        /// The text, verbatim.
        text: String,
    },
    /// `JOIN <room> <nick>`
    Join {
        /// The room.
        room: RoomName,
        /// Who joined.
        nick: Nick,
    },
    /// `PART <room> <nick> [reason]`
    Part {
        /// The room.
        room: RoomName,
        /// Who left.
        nick: Nick,
        /// Why.
        reason: Option<String>,
    },
    /// `QUIT <nick> [reason]`
    Quit {
        /// Who left the server.
        nick: Nick,
        /// Why.
        reason: Option<String>,
    },
    /// `NICK <old> <new>`
    Nick {
        /// The previous nickname.
        old: Nick,
        /// The new nickname.
        new: Nick,
    },
    /// `TOPIC <room> <nick> <text>`
    Topic {
        /// The room.
        room: RoomName,
        /// Who set it.
        nick: Nick,
        /// The new topic.
        text: String,
    },
    /// `KICK <room> <nick> <by> [reason]`
    Kick {
        /// The room.
        room: RoomName,
        /// Who was removed.
        nick: Nick,
        /// The owner who removed them.
        by: Nick,
        /// Why.
        reason: Option<String>,
    },
    /// `FILE <target> <from> <id> <size> <sha256> <filename>`
    File {
        /// The room or user the file was sent to.
        target: FileTarget,
        /// The sender.
        from: Nick,
        /// The id to FETCH it by.
        id: FileId,
        /// Size in bytes.
        size: u64,
        /// Lower-case hex sha256 of the content.
        sha256: String,
        /// The sender's label for it.
        filename: String,
    },
}
