//! The text of `HELP`.

use crate::proto::native::verb::Verb;

/// One usage line for `verb`.
pub fn usage(verb: Verb) -> &'static str {
    match verb {
        Verb::Nick => "NICK <nick> - set or change your nickname",
        Verb::Join => {
            "JOIN <room> [key] - join (or create) a room; a key at creation makes it private"
        }
        Verb::Part => "PART <room> [reason] - leave a room",
        Verb::Msg => {
            "MSG [#room] <text> - say something in a room (default: the room you joined last)"
        }
        Verb::Privmsg => "PRIVMSG <nick> <text> - a private message to one user",
        Verb::Names => "NAMES <room> - who is in a room",
        Verb::List => "LIST - the rooms, with members, privacy and topic",
        Verb::Info => "INFO [room] - about the server, or about a room",
        Verb::Topic => "TOPIC <room> [text] - read a room's topic, or set it (owner only)",
        Verb::Kick => "KICK <room> <nick> [reason] - remove a member (owner only)",
        Verb::File => {
            "FILE <#room|nick> <size> <filename> - share a file; <size> raw bytes follow the line"
        }
        Verb::Fetch => "FETCH <id> - download a shared file",
        Verb::History => "HISTORY <room> [count] - recent messages of a room you are in",
        Verb::Ping => "PING [token] - the server answers PONG [token]",
        Verb::Pong => "PONG [token] - answer to the server's PING",
        Verb::Help => "HELP [command] - this help",
        Verb::Quit => "QUIT [reason] - leave the server",
    }
}
