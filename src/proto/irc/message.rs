//! One IRC line as a client sends it, taken apart: message tags, source,
//! command and parameters (modern.ircdocs.horse "Message format", IRCv3
//! message-tags). Pure: no I/O, no meaning given to any command.
//!
//! ```text
//! message    = ["@" tags SPACE] [":" source SPACE] command *(SPACE param) [SPACE ":" trailing]
//! tags       = tag *(";" tag)
//! tag        = key ["=" escaped-value]
//! SPACE      = 1*" "        ; several spaces separate like one
//! param      = a word not starting with ":"
//! ```
//!
//! At most [`MAX_PARAMS`] parameters: as RFC 2812 has it, once fourteen
//! are read the fifteenth is the rest of the line, spaces and all, even
//! without its `:`. So nothing a client sends makes more parameters than
//! any command reads, and nothing is refused for it.

use std::borrow::Cow;

/// Parameters a message has at most.
pub const MAX_PARAMS: usize = 15;

/// One message tag: its key and unescaped value (empty when it has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The key, client-only tags keeping their `+`.
    pub key: &'a str,
    /// The value, unescaped.
    pub value: Cow<'a, str>,
}

/// A parsed line, borrowing from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Its tags, in order.
    pub tags: Vec<Tag<'a>>,
    /// The source a client gave (ignored: a client is who its connection is).
    pub source: Option<&'a str>,
    /// The command or numeric, as sent.
    pub command: &'a str,
    /// Its parameters, the trailing one included.
    pub params: Vec<&'a str>,
}

/// Why a line is not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Nothing but tags, a source or spaces: there is no command.
    #[error("no command")]
    NoCommand,
}

impl<'a> Message<'a> {
    /// Takes `line` (without its line ending) apart.
    pub fn parse(line: &'a str) -> Result<Message<'a>, MessageError> {
        let mut rest = line.trim_start_matches(' ');
        let mut tags = Vec::new();
        if let Some(after) = rest.strip_prefix('@') {
            let (raw, tail) = split_word(after);
            tags = parse_tags(raw);
            rest = tail;
        }
        let mut source = None;
        if let Some(after) = rest.strip_prefix(':') {
            let (word, tail) = split_word(after);
            source = Some(word);
            rest = tail;
        }
        let (command, mut rest) = split_word(rest);
        if command.is_empty() {
            return Err(MessageError::NoCommand);
        }
        let mut params = Vec::new();
        while !rest.is_empty() {
            if let Some(trailing) = rest.strip_prefix(':') {
                params.push(trailing);
                break;
            }
            if params.len() == MAX_PARAMS - 1 {
                params.push(rest);
                break;
            }
            let (word, tail) = split_word(rest);
            params.push(word);
            rest = tail;
        }
        Ok(Message {
            tags,
            source,
            command,
            params,
        })
    }

    /// The value of tag `key`, if the message has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_ref())
    }
}

/// The first word of `s` and what follows its spaces.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], s[i..].trim_start_matches(' ')),
        None => (s, ""),
    }
}

fn parse_tags(raw: &str) -> Vec<Tag<'_>> {
    raw.split(';')
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once('=') {
            Some((key, value)) => Tag {
                key,
                value: unescape(value),
            },
            None => Tag {
                key: t,
                value: Cow::Borrowed(""),
            },
        })
        .collect()
}

/// A tag value with its escapes undone: `\:` `;`, `\s` space, `\\` `\`,
/// `\r` CR, `\n` LF; a backslash before anything else is dropped, and so
/// is a lone one at the end.
pub fn unescape(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

/// `value` escaped to be sent as a tag value: the inverse of [`unescape`].
pub fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parts<'a> = (
        Vec<(&'a str, String)>,
        Option<&'a str>,
        &'a str,
        Vec<&'a str>,
    );

    fn parsed(line: &str) -> Parts<'_> {
        let m = Message::parse(line).unwrap();
        let tags = m
            .tags
            .iter()
            .map(|t| (t.key, t.value.to_string()))
            .collect();
        (tags, m.source, m.command, m.params)
    }

    #[test]
    fn lines_taken_apart() {
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            &'a str,
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            ("PING", &[], None, "PING", &[]),
            ("PING x", &[], None, "PING", &["x"]),
            ("NICK  alice  ", &[], None, "NICK", &["alice"]),
            (
                "USER a 0 * :Real Name",
                &[],
                None,
                "USER",
                &["a", "0", "*", "Real Name"],
            ),
            ("PRIVMSG #r :", &[], None, "PRIVMSG", &["#r", ""]),
            ("PRIVMSG #r ::)", &[], None, "PRIVMSG", &["#r", ":)"]),
            (
                ":me!u@h PRIVMSG #r :hi there",
                &[],
                Some("me!u@h"),
                "PRIVMSG",
                &["#r", "hi there"],
            ),
            (
                "@label=abc;+draft/x=a\\sb\\:c;flag :src JOIN #a",
                &[("label", "abc"), ("+draft/x", "a b;c"), ("flag", "")],
                Some("src"),
                "JOIN",
                &["#a"],
            ),
            ("  CAP LS 302", &[], None, "CAP", &["LS", "302"]),
            ("TOPIC #r :a  b  ", &[], None, "TOPIC", &["#r", "a  b  "]),
        ];
        for (line, tags, source, command, params) in cases {
            let (t, s, c, p) = parsed(line);
            let want: Vec<(&str, String)> = tags.iter().map(|(k, v)| (*k, v.to_string())).collect();
            assert_eq!(
                (t, s, c, p.as_slice()),
                (want, *source, *command, *params),
                "{line:?}"
            );
        }
    }

    #[test]
    fn the_fifteenth_parameter_is_the_rest_of_the_line() {
        let words: Vec<String> = (1..=20).map(|i| format!("p{i}")).collect();
        let line = format!("CMD {}", words.join(" "));
        let (_, _, _, params) = parsed(&line);
        assert_eq!(params.len(), MAX_PARAMS);
        assert_eq!(params[13], "p14");
        assert_eq!(params[14], "p15 p16 p17 p18 p19 p20");
        // Fifteen exactly: the last is a word like the others.
        let line = format!("CMD {}", words[..15].join(" "));
        assert_eq!(parsed(&line).3[14], "p15");
    }

    #[test]
    fn no_command_is_an_error() {
        for line in ["", "   ", "@a=b", "@a=b ", ":src", ":src  "] {
            assert_eq!(
                Message::parse(line),
                Err(MessageError::NoCommand),
                "{line:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_keeps_to_fifteen_parameters(line in r"[\PC @:;=\\ ]{0,80}") {
            if let Ok(m) = Message::parse(&line) {
                proptest::prop_assert!(m.params.len() <= MAX_PARAMS);
                proptest::prop_assert!(!m.command.is_empty());
                let _ = crate::proto::irc::command::Command::parse(
                    &m,
                    &crate::core::names::NameLimits::default(),
                );
            }
        }
    }

    #[test]
    fn tag_values_escape_and_unescape() {
        let cases = [
            ("plain", "plain"),
            ("a\\sb", "a b"),
            ("semi\\:colon", "semi;colon"),
            ("back\\\\slash", "back\\slash"),
            ("cr\\rlf\\n", "cr\rlf\n"),
            ("\\x", "x"),
            ("end\\", "end"),
        ];
        for (escaped, value) in cases {
            assert_eq!(unescape(escaped), value, "{escaped:?}");
        }
        for value in ["a b;c\\d\r\n", "", "é ü"] {
            let mut out = String::new();
            escape(value, &mut out);
            assert!(!out.contains([' ', ';', '\r', '\n']));
            assert_eq!(unescape(&out), value);
        }
    }
}
