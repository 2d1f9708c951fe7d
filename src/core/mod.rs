//! The chat itself, knowing nothing of wire formats: who is in which room,
//! who owns it, what is allowed, what is stored.
//!
//! - [`accounts`]: user accounts, their passwords (argon2id) and the
//!   rules of `[accounts]`.
//! - [`names`]: validated nicknames (RFC 8265 beyond ASCII) and room
//!   names, folded in one place, and the look-alike skeleton of a nickname.
//! - [`room`]: the [`Room`](room::Room) actor: members, owner, key, topic,
//!   and the fan-out of events, rendered once per encoding present.
//! - [`directory`]: the [`Directory`](directory::Directory) actor: unique
//!   nicknames (no two alike) and the rooms by name.
//! - [`member`]: the handle a room holds for each member's connection.
//! - [`event`]: the typed [`Event`]s rooms announce.
//! - [`outcome`]: typed answers given later (what became of a message).
//! - [`files`]: the index of shared files and their content on disk;
//!   [`file_id`]: the ids they are fetched by.
//! - [`store`]: the SQLite history, rooms and file index, group-committed
//!   on a thread of its own.
//! - [`opers`]: server operators: who may become one, the server bans
//!   they set, and the rules both follow.
//! - [`services`]: what every front end's sessions share.
//! - [`gate`]: the password gate every key (and password) hash goes
//!   through: bounded concurrency, back-off of wrong guesses.
//! - [`flood`], [`room_key`], [`scratch`]: the rules' small parts, and the
//!   buffer lines are rendered into.
//!
//! Rooms answer with typed values ([`ErrorCode`] for a refusal); a front
//! end (see [`crate::proto`]) spells them for its clients.

pub mod accounts;
pub mod cluster;
pub mod directory;
pub mod error;
pub mod event;
pub mod file_id;
pub mod files;
pub mod flood;
pub mod gate;
pub mod member;
pub mod names;
pub mod opers;
pub mod outcome;
pub mod room;
pub mod room_key;
pub mod scratch;
pub mod services;
pub mod store;

pub use error::ErrorCode;
pub use event::{no_realname, Event, FileTarget, MsgKind, MsgMeta, RoomMode, UserHost};
pub use file_id::FileId;
pub use names::{Folded, NameLimits, Nick, RoomName};
