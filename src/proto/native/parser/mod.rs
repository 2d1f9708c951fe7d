//! Pure parsing of one client line into a typed [`Command`]: no I/O, no actors.
//!
//! nom stays inside this module (the grammar lives in `grammar.rs`); its
//! public face is [`parse_line`], plus [`announced_body_len`] and
//! [`announced_body_len_in_prefix`] for the codec.

mod command;
mod grammar;
#[cfg(test)]
mod tests;

pub use command::{Command, FetchId, KlineArgs, Secret};

use crate::core::names::NameLimits;
use crate::core::ErrorCode;
use crate::proto::native::help;
use crate::proto::native::verb::{ProtocolError, Verb, VerbTag};

/// A line that could not be parsed: the protocol error to answer with.
pub type ParseError = ProtocolError;

/// Parses one line (LF and a final CR already removed) into a [`Command`].
///
/// Every refusal names the verb once it is known, `*` before; see
/// PROTOCOL.md for the grammar of each command.
pub fn parse_line(line: &str, limits: &NameLimits) -> Result<Command, ParseError> {
    if memchr::memchr2(b'\0', b'\r', line.as_bytes()).is_some() {
        return Err(ProtocolError::new(
            VerbTag::Star,
            ErrorCode::BadSyntax,
            "NUL and CR are not allowed in a line",
        ));
    }
    let Ok((args, word)) = grammar::verb_word(line) else {
        return Err(ProtocolError::new(
            VerbTag::Star,
            ErrorCode::BadSyntax,
            "empty command",
        ));
    };
    let Some(verb) = Verb::from_word(word) else {
        let tag = if grammar::is_verb_like(word) {
            VerbTag::Unknown(word.to_ascii_uppercase().into_boxed_str())
        } else {
            VerbTag::Star
        };
        return Err(ProtocolError::new(
            tag,
            ErrorCode::UnknownCommand,
            "try HELP",
        ));
    };
    grammar::arguments(verb, args, limits).map_err(|problem| {
        let text = problem
            .hint
            .unwrap_or(std::borrow::Cow::Borrowed(help::syntax_hint(verb)));
        ProtocolError::new(verb, problem.code, text)
    })
}

/// For the codec: if `line` is a FILE header whose size field is a decimal number, that size.
///
/// Works on raw bytes, before any UTF-8 check: leading spaces, `FILE` in
/// any case, spaces, a target word, spaces, then a word of ASCII digits that
/// fits in a `u64`. Whatever follows the size is not looked at.
pub fn announced_body_len(line: &[u8]) -> Option<u64> {
    grammar::file_header_size(line).ok().map(|(_, size)| size)
}

/// For the codec: the size a FILE header too long to keep announces in `prefix`, its first bytes.
///
/// As [`announced_body_len`], except that the size word counts only if a
/// space ends it within `prefix`: a word cut off at the end of `prefix` may
/// go on in the bytes that were dropped.
pub fn announced_body_len_in_prefix(prefix: &[u8]) -> Option<u64> {
    match grammar::file_header_size(prefix) {
        Ok((rest, size)) if rest.first() == Some(&b' ') => Some(size),
        _ => None,
    }
}
