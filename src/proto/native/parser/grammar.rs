//! The nom grammar of client lines: shared rules, then one parser per verb.
//!
//! Notation used in the comments above the parsers:
//!
//! ```text
//! SP    = %x20                   ; the only separator (a tab is part of a word)
//! word  = 1*(any char but SP)
//! sep   = 1*SP
//! arg   = sep word
//! end   = *SP EOF                ; trailing spaces are fine
//! text  = SP 1*CHAR              ; the rest of the line, verbatim, after the one
//!                                ; SP that ends the previous word; not only spaces
//! [x]   = x is optional; an optional text that is empty or blank is absent
//! ```
//!
//! A missing or extra argument is a plain nom error, which the caller turns
//! into `BAD_SYNTAX` with the verb's usage line (from `help.rs`, which
//! HELP shows too). An argument that is present but invalid (a bad name, a
//! bad number) is a nom failure carrying its own code and hint, so the
//! first problem from the left is the one reported.

use std::borrow::Cow;

use nom::bytes::complete::{tag_no_case, take_till1, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{eof, opt, rest};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::command::{Command, FetchId, KlineArgs, Secret};
use crate::core::names::{NameError, NameLimits, Nick, RoomName, STORED_NAME_LIMIT};
use crate::core::opers::duration::parse_duration;
use crate::core::opers::mask::BanMask;
use crate::core::opers::Password;
use crate::core::ErrorCode;
use crate::core::FileTarget;
use crate::proto::native::verb::Verb;

/// Why a grammar refused its input: a protocol code and, where more precise
/// than the verb's usage line, a hint for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The code to answer with.
    pub(crate) code: ErrorCode,
    /// The human text; `None` means "show the verb's usage".
    pub(crate) hint: Option<Cow<'static, str>>,
}

impl Problem {
    /// A syntax error explained by the verb's usage line.
    fn syntax() -> Problem {
        Problem {
            code: ErrorCode::BadSyntax,
            hint: None,
        }
    }
}

impl<I> ParseError<I> for Problem {
    fn from_error_kind(_input: I, _kind: ErrorKind) -> Self {
        Problem::syntax()
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, O> = IResult<&'a str, O, Problem>;

/// A failure (no backtracking) with its own code and hint.
fn fail(code: ErrorCode, hint: impl Into<Cow<'static, str>>) -> nom::Err<Problem> {
    nom::Err::Failure(Problem {
        code,
        hint: Some(hint.into()),
    })
}

fn is_sp(c: char) -> bool {
    c == ' '
}

/// True when `s` is empty or only spaces.
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| b == b' ')
}

/// A word that could be a verb: 1 to 32 ASCII graphic characters.
pub(crate) fn is_verb_like(word: &str) -> bool {
    // A lone `*` would read back as "no verb", which is what it is.
    word != "*" && (1..=32).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_graphic())
}

/// `1*DIGIT` as a `u64`; `None` when empty, not all digits, or too large.
pub(crate) fn decimal_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

// ---------------------------------------------------------------------------
// Shared rules
// ---------------------------------------------------------------------------

// *SP
fn sp0(i: &str) -> PResult<'_, &str> {
    take_while(is_sp)(i)
}

// sep = 1*SP
fn sep(i: &str) -> PResult<'_, &str> {
    take_while1(is_sp)(i)
}

// word = 1*(any char but SP)
fn word(i: &str) -> PResult<'_, &str> {
    take_till1(is_sp)(i)
}

// arg = sep word
fn arg(i: &str) -> PResult<'_, &str> {
    preceded(sep, word).parse(i)
}

// end = *SP EOF
fn end(i: &str) -> PResult<'_, ()> {
    let (i, _) = sp0(i)?;
    let (i, _) = eof(i)?;
    Ok((i, ()))
}

// text = SP 1*CHAR, not only spaces
fn text(i: &str) -> PResult<'_, String> {
    // By hand rather than preceded(char(' '), verify(rest, ..)): a MSG's
    // text is parsed once per message, and the combinators cost calls
    // whenever the compiler chose not to inline them.
    match i.strip_prefix(' ') {
        Some(t) if !is_blank(t) => Ok(("", t.to_owned())),
        _ => Err(nom::Err::Error(Problem::syntax())),
    }
}

// [text]: absent, empty or blank → None
fn opt_text(i: &str) -> PResult<'_, Option<String>> {
    let (i, t) = opt(preceded(char(' '), rest)).parse(i)?;
    Ok((i, t.filter(|t| !is_blank(t)).map(str::to_owned)))
}

fn bad_room(e: NameError) -> nom::Err<Problem> {
    fail(ErrorCode::BadRoom, format!("invalid room name: {e}"))
}

fn bad_nick(code: ErrorCode, e: NameError) -> nom::Err<Problem> {
    fail(code, format!("invalid nickname: {e}"))
}

// room = arg                      ; the leading "#" may be left out
fn room(i: &str, max: usize) -> PResult<'_, RoomName> {
    let (i, w) = arg(i)?;
    let room = RoomName::parse(w, max).map_err(bad_room)?;
    Ok((i, room))
}

// hashed-room = sep "#" 1*room-char
fn hashed_room(i: &str, max: usize) -> PResult<'_, RoomName> {
    let (i, w) = arg(i)?;
    let room = RoomName::parse_hashed(w, max).map_err(bad_room)?;
    Ok((i, room))
}

// nick = arg; `code` is what an invalid nickname answers
fn nick(i: &str, max: usize, code: ErrorCode) -> PResult<'_, Nick> {
    let (i, w) = arg(i)?;
    let nick = Nick::parse(w, max).map_err(|e| bad_nick(code, e))?;
    Ok((i, nick))
}

// ---------------------------------------------------------------------------
// The line and its verb
// ---------------------------------------------------------------------------

// line = *SP verb-word [SP ...]
/// The verb word at the start of `line` and what follows it (which is empty
/// or starts with a space).
pub(crate) fn verb_word(line: &str) -> PResult<'_, &str> {
    preceded(sp0, word).parse(line)
}

/// Parses the arguments of `verb` (`args` is everything after the verb word)
/// to the end of the line.
pub(crate) fn arguments(verb: Verb, args: &str, limits: &NameLimits) -> Result<Command, Problem> {
    // all_consuming by hand: one call fewer per line, inlined or not.
    match command(verb, args, limits) {
        Ok(("", command)) => Ok(command),
        Ok(_) => Err(Problem::syntax()),
        Err(nom::Err::Error(p) | nom::Err::Failure(p)) => Err(p),
        // Only complete parsers are used; kept for exhaustiveness.
        Err(nom::Err::Incomplete(_)) => Err(Problem::syntax()),
    }
}

fn command<'a>(verb: Verb, i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    match verb {
        Verb::Nick => nick_cmd(i, limits),
        Verb::Join => join(i, limits),
        Verb::Part => part(i, limits),
        Verb::Msg => msg(i, limits),
        Verb::Privmsg => privmsg(i),
        Verb::Names => names(i, limits),
        Verb::List => list(i),
        Verb::Info => info(i, limits),
        Verb::Topic => topic(i, limits),
        Verb::Kick => kick(i, limits),
        Verb::File => file(i, limits),
        Verb::Fetch => fetch(i),
        Verb::Link => link(i),
        Verb::History => history(i, limits),
        Verb::Ping => ping(i),
        Verb::Pong => pong(i),
        Verb::Help => help(i),
        Verb::Quit => quit(i),
        Verb::Register => register(i, limits),
        Verb::Login => login(i, limits),
        Verb::Logout => logout(i),
        Verb::Passwd => passwd(i),
        Verb::Op => op(i, limits, true),
        Verb::Deop => op(i, limits, false),
        Verb::Ban => ban(i, limits),
        Verb::Unban => unban(i, limits),
        Verb::Owner => owner(i, limits),
        Verb::Oper => oper(i),
        Verb::Kill => kill(i, limits),
        Verb::Kline => kline(i),
        Verb::Unkline => unkline(i),
        Verb::Wallops => wallops(i),
        Verb::Close => close(i, limits),
    }
}

// ---------------------------------------------------------------------------
// One parser per verb (the input starts right after the verb word)
// ---------------------------------------------------------------------------

// NICK <nick>
// nick-cmd = nick end             ; invalid nick → BAD_NICK
fn nick_cmd<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, nick) = nick(i, limits.max_nick_len, ErrorCode::BadNick)?;
    let (i, ()) = end(i)?;
    Ok((i, Command::Nick { nick }))
}

// JOIN <room> [key]
// join = room [arg] end           ; invalid room → BAD_ROOM
fn join<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, key) = opt(arg).parse(i)?;
    let (i, ()) = end(i)?;
    let key = key.map(str::to_owned);
    Ok((i, Command::Join { room, key }))
}

// PART <room> [reason]
// part = room [text]
fn part<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, reason) = opt_text(i)?;
    Ok((i, Command::Part { room, reason }))
}

// MSG <#room> <text>  /  MSG <text>
// msg      = &(sep "#") msg-room / text
// msg-room = hashed-room text     ; invalid room → BAD_ROOM
fn msg<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    // The lookahead by hand: as a nom combinator it cost a call and a
    // char parser per message, whenever the compiler chose not to inline.
    let names_room = i.starts_with(is_sp) && i.trim_start_matches(is_sp).starts_with('#');
    if names_room {
        let (i, room) = hashed_room(i, limits.max_room_len)?;
        let (i, text) = text(i)?;
        Ok((
            i,
            Command::Msg {
                room: Some(room),
                text,
            },
        ))
    } else {
        let (i, text) = text(i)?;
        Ok((i, Command::Msg { room: None, text }))
    }
}

/// The bound on a nickname that names someone else (PRIVMSG, KICK, FILE):
/// any nickname can be, not `limits.max_nick_len`, which bounds a nickname
/// one takes and which a reload may lower below nicknames in use.
const OTHER_NICK_LEN: usize = STORED_NAME_LIMIT;

// PRIVMSG <nick> <text>
// privmsg = nick text             ; invalid nick → NO_SUCH_NICK
fn privmsg<'a>(i: &'a str) -> PResult<'a, Command> {
    let (i, to) = nick(i, OTHER_NICK_LEN, ErrorCode::NoSuchNick)?;
    let (i, text) = text(i)?;
    Ok((i, Command::Privmsg { to, text }))
}

// NAMES <room>
// names = room end
fn names<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, ()) = end(i)?;
    Ok((i, Command::Names { room }))
}

// LIST
// list = end
fn list(i: &str) -> PResult<'_, Command> {
    let (i, ()) = end(i)?;
    Ok((i, Command::List))
}

// INFO [room]
// info = [room] end
fn info<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = opt(|i| room(i, limits.max_room_len)).parse(i)?;
    let (i, ()) = end(i)?;
    Ok((i, Command::Info { room }))
}

// TOPIC <room> [text]
// topic = room [text]             ; no text: read the topic
fn topic<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, text) = opt_text(i)?;
    Ok((i, Command::Topic { room, text }))
}

// KICK <room> <nick> [reason]
// kick = room nick [text]         ; invalid nick → NO_SUCH_NICK
fn kick<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, nick) = nick(i, OTHER_NICK_LEN, ErrorCode::NoSuchNick)?;
    let (i, reason) = opt_text(i)?;
    Ok((i, Command::Kick { room, nick, reason }))
}

// FILE <target> <size> <filename>
// file        = file-target size text        ; the text is the filename
// file-target = hashed-room / nick           ; by its first char: "#" → room
// size        = sep 1*DIGIT                  ; fits in u64
fn file<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, target) = file_target(i, limits)?;
    let (i, size) = size(i)?;
    let (i, filename) = text(i)?;
    Ok((
        i,
        Command::File {
            target,
            size,
            filename,
        },
    ))
}

fn file_target<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, FileTarget> {
    let (i, w) = arg(i)?;
    let target = if w.starts_with('#') {
        FileTarget::Room(RoomName::parse_hashed(w, limits.max_room_len).map_err(bad_room)?)
    } else {
        FileTarget::User(
            Nick::parse(w, OTHER_NICK_LEN).map_err(|e| bad_nick(ErrorCode::NoSuchNick, e))?,
        )
    };
    Ok((i, target))
}

fn size(i: &str) -> PResult<'_, u64> {
    let (i, w) = arg(i)?;
    let size = decimal_u64(w.as_bytes()).ok_or_else(|| {
        fail(
            ErrorCode::BadSyntax,
            "the size must be a decimal number of bytes",
        )
    })?;
    Ok((i, size))
}

// FETCH <id>
// fetch = arg end                 ; any word: the lookup decides
fn fetch(i: &str) -> PResult<'_, Command> {
    let (i, id) = arg(i)?;
    let (i, ()) = end(i)?;
    Ok((
        i,
        Command::Fetch {
            id: FetchId::parse(id),
        },
    ))
}

// LINK <id>
// link = arg end                  ; as FETCH
fn link(i: &str) -> PResult<'_, Command> {
    let (i, id) = arg(i)?;
    let (i, ()) = end(i)?;
    Ok((
        i,
        Command::Link {
            id: FetchId::parse(id),
        },
    ))
}

// HISTORY <room> [count]
// history = room [count] end
// count   = sep 1*DIGIT           ; above u32::MAX means u32::MAX
fn history<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, count) = opt(count).parse(i)?;
    let (i, ()) = end(i)?;
    Ok((i, Command::History { room, count }))
}

fn count(i: &str) -> PResult<'_, u32> {
    let (i, w) = arg(i)?;
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(
            ErrorCode::BadSyntax,
            "the count must be a decimal number",
        ));
    }
    // All digits: parsing fails only on overflow, which saturates.
    Ok((i, w.parse::<u32>().unwrap_or(u32::MAX)))
}

// PING [token]
// ping = [text]
fn ping(i: &str) -> PResult<'_, Command> {
    let (i, token) = opt_text(i)?;
    Ok((i, Command::Ping { token }))
}

// PONG [token]
// pong = [text]
fn pong(i: &str) -> PResult<'_, Command> {
    let (i, token) = opt_text(i)?;
    Ok((i, Command::Pong { token }))
}

// HELP [command]
// help = [arg] end                ; an unknown command → UNKNOWN_COMMAND
fn help(i: &str) -> PResult<'_, Command> {
    let (i, word) = opt(arg).parse(i)?;
    let verb = match word {
        None => None,
        Some(w) => Some(Verb::from_word(w).ok_or_else(|| {
            let hint = if is_verb_like(w) {
                format!("no such command: {}", w.to_ascii_uppercase())
            } else {
                "no such command".to_owned()
            };
            fail(ErrorCode::UnknownCommand, hint)
        })?),
    };
    let (i, ()) = end(i)?;
    Ok((i, Command::Help { verb }))
}

// QUIT [reason]
// quit = [text]
fn quit(i: &str) -> PResult<'_, Command> {
    let (i, reason) = opt_text(i)?;
    Ok((i, Command::Quit { reason }))
}

// REGISTER [account] <password>
// register = arg [arg] end        ; one word: the password; invalid account → BAD_NICK
fn register<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, first) = arg(i)?;
    let (i, second) = opt(arg).parse(i)?;
    let (i, ()) = end(i)?;
    let command = match second {
        None => Command::Register {
            account: None,
            password: Secret(first.to_owned()),
        },
        Some(password) => Command::Register {
            account: Some(
                Nick::parse(first, limits.max_nick_len)
                    .map_err(|e| bad_nick(ErrorCode::BadNick, e))?,
            ),
            password: Secret(password.to_owned()),
        },
    };
    Ok((i, command))
}

// LOGIN <account> <password>
// login = arg arg end             ; an invalid account name is no account → BAD_LOGIN
fn login<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, account) = arg(i)?;
    let (i, password) = arg(i)?;
    let (i, ()) = end(i)?;
    let account = Nick::parse(account, limits.max_nick_len)
        .map_err(|_| fail(ErrorCode::BadLogin, "unknown account or wrong password"))?;
    Ok((
        i,
        Command::Login {
            account,
            password: Secret(password.to_owned()),
        },
    ))
}

// OPER <name> <password>
// oper = arg arg end
fn oper(i: &str) -> PResult<'_, Command> {
    let (i, name) = arg(i)?;
    let (i, password) = arg(i)?;
    let (i, ()) = end(i)?;
    Ok((
        i,
        Command::Oper {
            name: name.to_owned(),
            password: Password(password.to_owned()),
        },
    ))
}

// LOGOUT
// logout = end
fn logout(i: &str) -> PResult<'_, Command> {
    let (i, ()) = end(i)?;
    Ok((i, Command::Logout))
}

// PASSWD <old> <new>
// passwd = arg arg end
fn passwd(i: &str) -> PResult<'_, Command> {
    let (i, old) = arg(i)?;
    let (i, new) = arg(i)?;
    let (i, ()) = end(i)?;
    Ok((
        i,
        Command::Passwd {
            old: Secret(old.to_owned()),
            new: Secret(new.to_owned()),
        },
    ))
}

// OP <room> <nick>  /  DEOP <room> <nick>
// op = room nick end              ; invalid nick → NO_SUCH_NICK
fn op<'a>(i: &'a str, limits: &NameLimits, on: bool) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, nick) = nick(i, limits.max_nick_len, ErrorCode::NoSuchNick)?;
    let (i, ()) = end(i)?;
    Ok((i, Command::Op { room, nick, on }))
}

// BAN <room> [mask|account]
// ban = room [arg] end            ; no mask: list the bans
fn ban<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, mask) = opt(arg).parse(i)?;
    let (i, ()) = end(i)?;
    let mask = mask.map(str::to_owned);
    Ok((i, Command::Ban { room, mask }))
}

// UNBAN <room> <mask|account>
// unban = room arg end
fn unban<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, mask) = arg(i)?;
    let (i, ()) = end(i)?;
    let mask = mask.to_owned();
    Ok((i, Command::Unban { room, mask }))
}

// OWNER <room> <nick>
// owner = room nick end           ; invalid nick → NO_SUCH_NICK
fn owner<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, nick) = nick(i, limits.max_nick_len, ErrorCode::NoSuchNick)?;
    let (i, ()) = end(i)?;
    Ok((i, Command::Owner { room, nick }))
}

// KILL <nick> [reason]
// kill = nick [text]              ; invalid nick → NO_SUCH_NICK
fn kill<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, nick) = nick(i, limits.max_nick_len, ErrorCode::NoSuchNick)?;
    let (i, reason) = opt_text(i)?;
    Ok((i, Command::Kill { nick, reason }))
}

// mask = arg                      ; an IP, a CIDR prefix or user@host
fn mask(i: &str) -> PResult<'_, BanMask> {
    let (i, w) = arg(i)?;
    let mask = BanMask::parse(w).map_err(|e| fail(ErrorCode::BadSyntax, format!("{e}: {w}")))?;
    Ok((i, mask))
}

// KLINE [<mask> [duration] [reason]]
// kline    = end / mask [duration] [text]
// duration = sep 1*(1*DIGIT [unit]) ; "0": never ends; a first word that is
//                                   ; no duration starts the reason
fn kline(i: &str) -> PResult<'_, Command> {
    if let Ok((i, ())) = end(i) {
        return Ok((i, Command::Kline { ban: None }));
    }
    let (i, mask) = mask(i)?;
    let (i, duration) = match arg(i) {
        Ok((rest, w)) => match parse_duration(w) {
            Some(d) => (rest, d),
            None => (i, None),
        },
        Err(_) => (i, None),
    };
    let (i, reason) = opt_text(i)?;
    let ban = KlineArgs {
        mask,
        duration,
        reason,
    };
    Ok((i, Command::Kline { ban: Some(ban) }))
}

// UNKLINE <mask>
// unkline = mask end
fn unkline(i: &str) -> PResult<'_, Command> {
    let (i, mask) = mask(i)?;
    let (i, ()) = end(i)?;
    Ok((i, Command::Unkline { mask }))
}

// WALLOPS <text>
// wallops = text
fn wallops(i: &str) -> PResult<'_, Command> {
    let (i, text) = text(i)?;
    Ok((i, Command::Wallops { text }))
}

// CLOSE <#room> [reason]
// close = room [text]
fn close<'a>(i: &'a str, limits: &NameLimits) -> PResult<'a, Command> {
    let (i, room) = room(i, limits.max_room_len)?;
    let (i, reason) = opt_text(i)?;
    Ok((i, Command::Close { room, reason }))
}

// ---------------------------------------------------------------------------
// The FILE header, on raw bytes (for the codec)
// ---------------------------------------------------------------------------

fn is_sp_byte(b: u8) -> bool {
    b == b' '
}

// file-header = *SP "FILE" 1*SP target-word 1*SP size-word [SP *OCTET]
// size-word   = 1*DIGIT             ; fits in u64
/// The size announced by a `FILE` header line, read from raw bytes.
pub(crate) fn file_header_size(i: &[u8]) -> IResult<&[u8], u64, ()> {
    let (i, _) = take_while(is_sp_byte)(i)?;
    let (i, _) = tag_no_case(&b"FILE"[..])(i)?;
    let (i, _) = take_while1(is_sp_byte)(i)?;
    let (i, _) = take_till1(is_sp_byte)(i)?;
    let (i, _) = take_while1(is_sp_byte)(i)?;
    let (i, size) = take_till1(is_sp_byte)(i)?;
    let size = decimal_u64(size).ok_or(nom::Err::Error(()))?;
    Ok((i, size))
}
