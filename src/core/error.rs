//! What can go wrong, as the core says it: one code per refusal, which
//! every front end spells its own way (native `ERR <VERB> <CODE>`, an IRC
//! numeric).

use std::fmt;

/// The protocol's error codes; the code is for programs and never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The verb is not known.
    UnknownCommand,
    /// The arguments do not fit the command's grammar.
    BadSyntax,
    /// The line was longer than `limits.max_line_bytes`.
    LineTooLong,
    /// The line was not valid UTF-8.
    BadUtf8,
    /// The command needs a nickname first.
    NoNick,
    /// The nickname is not valid.
    BadNick,
    /// The nickname is taken.
    NickInUse,
    /// The room name is not valid.
    BadRoom,
    /// A private room's key was missing or wrong.
    BadKey,
    /// The client is not in that room.
    NotInRoom,
    /// No user has that nickname.
    NoSuchNick,
    /// No room has that name.
    NoSuchRoom,
    /// Only the room's owner may do that.
    NotOwner,
    /// No file with that id may be fetched by this client.
    NoSuchFile,
    /// The announced file is larger than `files.max_bytes`.
    FileTooLarge,
    /// Flood control refused the command.
    RateLimited,
    /// The room has `limits.max_room_members` members.
    RoomFull,
    /// The server has `limits.max_clients` connections.
    ServerFull,
    /// The client is in `limits.max_rooms_per_user` rooms.
    TooManyRooms,
    /// The room lets in only users its owner invited.
    InviteOnly,
    /// The user is in the room already.
    AlreadyInRoom,
    /// The room's operators keep the user out.
    Banned,
    /// An account of that name exists (or the nickname is someone else's).
    AccountExists,
    /// Unknown account or wrong password: one code, so that neither can be told apart.
    BadLogin,
    /// The server (`accounts.require_login`) or the nickname's account needs a login first.
    LoginRequired,
    /// `accounts.registration` is `closed`.
    RegistrationClosed,
    /// `accounts.enabled` is off.
    AccountsDisabled,
    /// The password is shorter than `accounts.min_password_len`.
    WeakPassword,
    /// The connection is logged in already.
    AlreadyLoggedIn,
    /// The command needs the connection to be logged in.
    NotLoggedIn,
    /// The client's address has `limits.max_clients_per_ip` connections,
    /// or connects faster than `limits.connects_per_ip_per_sec`.
    TooManyConnections,
    /// A file would pass `files.max_total_bytes` or the uploader's
    /// `files.upload_quota_bytes`.
    QuotaExceeded,
    /// A key or password check is refused for now: too many wrong guesses
    /// lately, or too many checks waiting.
    TryLater,
    /// Something went wrong inside the server.
    Internal,
    /// Only a server operator may do that.
    NoPrivileges,
    /// A server ban keeps the client's address out.
    ServerBanned,
    /// No server ban has that mask.
    NoSuchBan,
    /// The server has `limits.max_rooms` rooms: no new one can be made.
    ServerRoomsFull,
    /// Cluster mode: Redis, which the nodes share, cannot be reached, so
    /// what needs it (a nickname, for one) is refused for now.
    ClusterUnavailable,
}

impl ErrorCode {
    /// Every code, for tests and documentation.
    pub const ALL: [ErrorCode; 39] = [
        ErrorCode::UnknownCommand,
        ErrorCode::BadSyntax,
        ErrorCode::LineTooLong,
        ErrorCode::BadUtf8,
        ErrorCode::NoNick,
        ErrorCode::BadNick,
        ErrorCode::NickInUse,
        ErrorCode::BadRoom,
        ErrorCode::BadKey,
        ErrorCode::NotInRoom,
        ErrorCode::NoSuchNick,
        ErrorCode::NoSuchRoom,
        ErrorCode::NotOwner,
        ErrorCode::NoSuchFile,
        ErrorCode::FileTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::RoomFull,
        ErrorCode::ServerFull,
        ErrorCode::TooManyRooms,
        ErrorCode::InviteOnly,
        ErrorCode::AlreadyInRoom,
        ErrorCode::Banned,
        ErrorCode::AccountExists,
        ErrorCode::BadLogin,
        ErrorCode::LoginRequired,
        ErrorCode::RegistrationClosed,
        ErrorCode::AccountsDisabled,
        ErrorCode::WeakPassword,
        ErrorCode::AlreadyLoggedIn,
        ErrorCode::NotLoggedIn,
        ErrorCode::TooManyConnections,
        ErrorCode::QuotaExceeded,
        ErrorCode::TryLater,
        ErrorCode::Internal,
        ErrorCode::NoPrivileges,
        ErrorCode::ServerBanned,
        ErrorCode::NoSuchBan,
        ErrorCode::ServerRoomsFull,
        ErrorCode::ClusterUnavailable,
    ];

    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnknownCommand => "UNKNOWN_COMMAND",
            ErrorCode::BadSyntax => "BAD_SYNTAX",
            ErrorCode::LineTooLong => "LINE_TOO_LONG",
            ErrorCode::BadUtf8 => "BAD_UTF8",
            ErrorCode::NoNick => "NO_NICK",
            ErrorCode::BadNick => "BAD_NICK",
            ErrorCode::NickInUse => "NICK_IN_USE",
            ErrorCode::BadRoom => "BAD_ROOM",
            ErrorCode::BadKey => "BAD_KEY",
            ErrorCode::NotInRoom => "NOT_IN_ROOM",
            ErrorCode::NoSuchNick => "NO_SUCH_NICK",
            ErrorCode::NoSuchRoom => "NO_SUCH_ROOM",
            ErrorCode::NotOwner => "NOT_OWNER",
            ErrorCode::NoSuchFile => "NO_SUCH_FILE",
            ErrorCode::FileTooLarge => "FILE_TOO_LARGE",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::RoomFull => "ROOM_FULL",
            ErrorCode::ServerFull => "SERVER_FULL",
            ErrorCode::TooManyRooms => "TOO_MANY_ROOMS",
            ErrorCode::InviteOnly => "INVITE_ONLY",
            ErrorCode::AlreadyInRoom => "ALREADY_IN_ROOM",
            ErrorCode::Banned => "BANNED",
            ErrorCode::AccountExists => "ACCOUNT_EXISTS",
            ErrorCode::BadLogin => "BAD_LOGIN",
            ErrorCode::LoginRequired => "LOGIN_REQUIRED",
            ErrorCode::RegistrationClosed => "REGISTRATION_CLOSED",
            ErrorCode::AccountsDisabled => "ACCOUNTS_DISABLED",
            ErrorCode::WeakPassword => "WEAK_PASSWORD",
            ErrorCode::AlreadyLoggedIn => "ALREADY_LOGGED_IN",
            ErrorCode::NotLoggedIn => "NOT_LOGGED_IN",
            ErrorCode::TooManyConnections => "TOO_MANY_CONNECTIONS",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::TryLater => "TRY_LATER",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::NoPrivileges => "NO_PRIVILEGES",
            ErrorCode::ServerBanned => "SERVER_BANNED",
            ErrorCode::NoSuchBan => "NO_SUCH_BAN",
            ErrorCode::ServerRoomsFull => "SERVER_ROOMS_FULL",
            ErrorCode::ClusterUnavailable => "CLUSTER_UNAVAILABLE",
        }
    }

    /// Looks a wire code up.
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
