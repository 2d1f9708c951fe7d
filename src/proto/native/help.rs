//! What the server says about each command: one table of synopses and
//! descriptions, from which both the `HELP` lines and the `BAD_SYNTAX`
//! hints are made, so that the two cannot disagree.

use crate::proto::native::verb::Verb;

/// Makes both texts from one row per verb. `concat!` builds them at
/// compile time, so neither allocates, and the generated `match` does not
/// compile if a verb has no row.
macro_rules! usages {
    ($($verb:ident: $synopsis:literal => $description:literal,)+) => {
        /// The `HELP` line of `verb`: `<synopsis> - <description>`.
        pub fn usage(verb: Verb) -> &'static str {
            match verb {
                $(Verb::$verb => concat!($synopsis, " - ", $description),)+
            }
        }

        /// The text of `verb`'s `BAD_SYNTAX` errors: `usage: <synopsis>`.
        pub fn syntax_hint(verb: Verb) -> &'static str {
            match verb {
                $(Verb::$verb => concat!("usage: ", $synopsis),)+
            }
        }
    };
}

usages! {
    Nick: "NICK <nick>" => "set or change your nickname",
    Join: "JOIN <room> [key]"
        => "join (or create) a room; a key at creation makes it private",
    Part: "PART <room> [reason]" => "leave a room",
    Msg: "MSG [#room] <text>"
        => "say something in a room (default: the room you joined last)",
    Privmsg: "PRIVMSG <nick> <text>" => "a private message to one user",
    Names: "NAMES <room>" => "who is in a room",
    List: "LIST" => "the rooms, with members, privacy and topic",
    Info: "INFO [room]" => "about the server, or about a room",
    Topic: "TOPIC <room> [text]" => "read a room's topic, or set it (operators)",
    Kick: "KICK <room> <nick> [reason]" => "remove a member (operators)",
    File: "FILE <#room|nick> <size> <filename>"
        => "share a file; <size> raw bytes follow the line",
    Fetch: "FETCH <id>" => "download a shared file",
    Link: "LINK <id>" => "a web address to download a shared file, valid 10 minutes",
    History: "HISTORY <room> [count]" => "recent messages of a room you are in",
    Ping: "PING [token]" => "the server answers PONG [token]",
    Pong: "PONG [token]" => "answer to the server's PING",
    // `[command]`, not `[verb]`: the word people typing HELP know.
    Help: "HELP [command]" => "this help",
    Quit: "QUIT [reason]" => "leave the server",
    Register: "REGISTER [account] <password>"
        => "make an account (default: named as your nickname) and log in to it",
    Login: "LOGIN <account> <password>" => "log in to your account",
    Logout: "LOGOUT" => "log out of your account",
    Passwd: "PASSWD <old-password> <new-password>" => "change your account's password",
    Op: "OP <room> <nick>" => "make a member a room operator (owner only)",
    Deop: "DEOP <room> <nick>" => "make a member no longer a room operator (owner only)",
    Ban: "BAN <room> [mask|account]"
        => "keep out a nick!user@host mask or an account (operators); alone, list the bans",
    Unban: "UNBAN <room> <mask|account>" => "lift a ban (operators)",
    Owner: "OWNER <room> <nick>" => "give the room to a logged-in member (owner only)",
    Oper: "OPER <name> <password>" => "become a server operator",
    Kill: "KILL <nick> [reason]" => "disconnect a user (operators only)",
    Kline: "KLINE [<mask> [duration] [reason]]"
        => "ban an address (ip, cidr or user@host) server-wide, e.g. 1h30m, 0 = never; alone: list the bans (operators only)",
    Unkline: "UNKLINE <mask>" => "lift a server ban (operators only)",
    Wallops: "WALLOPS <text>" => "a notice to every user (operators only)",
    Close: "CLOSE <#room> [reason]"
        => "remove every member and forget the room and its history (operators only)",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_names_its_verb_and_both_texts_share_the_synopsis() {
        for verb in Verb::ALL {
            let synopsis = syntax_hint(verb)
                .strip_prefix("usage: ")
                .expect("a hint starts with `usage: `");
            let named = synopsis
                .strip_prefix(verb.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '));
            assert!(named, "{verb}: {synopsis:?}");
            let (help_synopsis, description) = usage(verb)
                .split_once(" - ")
                .expect("a HELP line is `<synopsis> - <description>`");
            assert_eq!(help_synopsis, synopsis);
            assert!(!description.is_empty(), "{verb}");
        }
        assert_eq!(syntax_hint(Verb::Help), "usage: HELP [command]");
        assert_eq!(usage(Verb::Help), "HELP [command] - this help");
    }
}
