//! Validated nicknames and room names.
//!
//! A [`Nick`] or [`RoomName`] can only be built through its `parse`
//! constructor, so everything downstream may trust its contents. Both carry
//! the spelling the user chose (for display) and a folded key (ASCII lower
//! case) used for every comparison.

use std::fmt;
use std::sync::Arc;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("name is empty")]
    Empty,
    /// The name is longer than the configured maximum.
    #[error("name is longer than {max} characters")]
    TooLong {
        /// The configured maximum length.
        max: usize,
    },
    /// The name holds a character that is not allowed.
    #[error("character {0:?} is not allowed in a name")]
    BadChar(char),
    /// The name starts with a character that may not start it.
    #[error("a name may not start with {0:?}")]
    BadStart(char),
    /// A room name lacks its leading `#` where one is required.
    #[error("room names start with #")]
    NoHash,
}

/// The longest nickname or room name (without `#`) any part of chatroom
/// accepts: the ceiling of the configured limits, and the bound names
/// read back from storage or from a server's lines are checked against
/// (they were valid when written; a limit lowered since must not hide them).
pub const STORED_NAME_LIMIT: usize = crate::config::MAX_NAME_LEN;

/// Bounds on name lengths, from `[limits]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameLimits {
    /// Longest nickname, in characters.
    pub max_nick_len: usize,
    /// Longest room name, in characters, not counting the `#`.
    pub max_room_len: usize,
}

impl NameLimits {
    /// The bounds `[limits]` sets.
    pub fn from_config(limits: &crate::config::Limits) -> Self {
        NameLimits {
            max_nick_len: limits.max_nick_len,
            max_room_len: limits.max_room_len,
        }
    }
}

impl Default for NameLimits {
    fn default() -> Self {
        NameLimits {
            max_nick_len: 24,
            max_room_len: 32,
        }
    }
}

/// The case-insensitive key of a name: its ASCII lower-case form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Folded(Arc<str>);

impl Folded {
    /// The folded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The folded key of `display`, sharing its text when it is already
/// lower case (most names are: one allocation instead of two).
fn fold(display: &Arc<str>) -> Folded {
    if display.bytes().any(|b| b.is_ascii_uppercase()) {
        Folded(Arc::from(display.to_ascii_lowercase()))
    } else {
        Folded(Arc::clone(display))
    }
}

/// A valid nickname: the spelling chosen by its user and its folded key.
#[derive(Debug, Clone)]
pub struct Nick {
    display: Arc<str>,
    folded: Folded,
}

fn is_nick_special(c: char) -> bool {
    matches!(c, '_' | '-' | '[' | ']' | '{' | '}' | '|' | '^' | '`')
}

impl Nick {
    /// Validates `s` as a nickname of at most `max_len` characters.
    pub fn parse(s: &str, max_len: usize) -> Result<Nick, NameError> {
        let first = s.chars().next().ok_or(NameError::Empty)?;
        if let Some(bad) = s
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || is_nick_special(c)))
        {
            return Err(NameError::BadChar(bad));
        }
        if first.is_ascii_digit() || first == '-' {
            return Err(NameError::BadStart(first));
        }
        // Only ASCII is allowed, so bytes are characters.
        if s.len() > max_len {
            return Err(NameError::TooLong { max: max_len });
        }
        let display: Arc<str> = Arc::from(s);
        Ok(Nick {
            folded: fold(&display),
            display,
        })
    }

    /// The nickname as its user spelled it.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The spelling alone, to keep beside its folded key elsewhere.
    pub(crate) fn display(&self) -> &Arc<str> {
        &self.display
    }

    /// A nickname put back together from [`Nick::display`] and
    /// [`Nick::folded`] of one valid nickname.
    pub(crate) fn from_parts(display: Arc<str>, folded: Folded) -> Nick {
        Nick { display, folded }
    }

    /// The case-insensitive key.
    pub fn folded(&self) -> &Folded {
        &self.folded
    }
}

impl PartialEq for Nick {
    /// Nicknames are equal when their spelling is; use [`Nick::folded`] to
    /// compare identities.
    fn eq(&self, other: &Self) -> bool {
        self.display == other.display
    }
}
impl Eq for Nick {}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// A valid room name, always stored with its leading `#`.
#[derive(Debug, Clone)]
pub struct RoomName {
    display: Arc<str>,
    folded: Folded,
}

impl RoomName {
    /// Validates `s` as a room name; the leading `#` may be left out.
    pub fn parse(s: &str, max_len: usize) -> Result<RoomName, NameError> {
        match s.strip_prefix('#') {
            Some(bare) => Self::parse_bare(s, bare, max_len),
            None => {
                let mut hashed = String::with_capacity(s.len() + 1);
                hashed.push('#');
                hashed.push_str(s);
                Self::parse_bare(&hashed, s, max_len)
            }
        }
    }

    /// Validates `s` as a room name that must start with `#`.
    pub fn parse_hashed(s: &str, max_len: usize) -> Result<RoomName, NameError> {
        let bare = s.strip_prefix('#').ok_or(NameError::NoHash)?;
        Self::parse_bare(s, bare, max_len)
    }

    /// Checks `bare`, the name without its `#`, and keeps `hashed`, the
    /// same with it: every MSG names its room, so no formatting here.
    fn parse_bare(hashed: &str, bare: &str, max_len: usize) -> Result<RoomName, NameError> {
        if bare.is_empty() {
            return Err(NameError::Empty);
        }
        // Every allowed character is ASCII, so the first byte refused
        // starts the character to name.
        if let Some(at) = bare
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
        {
            let bad = bare[at..].chars().next().unwrap_or('?');
            return Err(NameError::BadChar(bad));
        }
        if bare.len() > max_len {
            return Err(NameError::TooLong { max: max_len });
        }
        let display: Arc<str> = Arc::from(hashed);
        Ok(RoomName {
            folded: fold(&display),
            display,
        })
    }

    /// The room's name with its `#`, as first spelled.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The case-insensitive key.
    pub fn folded(&self) -> &Folded {
        &self.folded
    }
}

impl PartialEq for RoomName {
    fn eq(&self, other: &Self) -> bool {
        self.display == other.display
    }
}
impl Eq for RoomName {}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks() {
        let ok = ["a", "alice", "A_b-c", "[x]", "{y}", "a|b", "^c", "`d", "z9"];
        for n in ok {
            assert!(Nick::parse(n, 24).is_ok(), "{n}");
        }
        let bad = [
            ("", NameError::Empty),
            ("9lives", NameError::BadStart('9')),
            ("-dash", NameError::BadStart('-')),
            ("a b", NameError::BadChar(' ')),
            ("é", NameError::BadChar('é')),
            ("a#", NameError::BadChar('#')),
            ("abcdefghijklmnopqrstuvwxy", NameError::TooLong { max: 24 }),
        ];
        for (n, e) in bad {
            assert_eq!(Nick::parse(n, 24).unwrap_err(), e, "{n}");
        }
        let a = Nick::parse("Alice", 24).unwrap();
        let b = Nick::parse("aLICE", 24).unwrap();
        assert_eq!(a.folded(), b.folded());
        assert_ne!(a, b);
        assert_eq!(a.as_str(), "Alice");
    }

    #[test]
    fn rooms() {
        assert_eq!(RoomName::parse("123", 32).unwrap().as_str(), "#123");
        assert_eq!(
            RoomName::parse("#a.b-c_D", 32).unwrap().as_str(),
            "#a.b-c_D"
        );
        assert_eq!(
            RoomName::parse("#Lobby", 32).unwrap().folded().as_str(),
            "#lobby"
        );
        assert_eq!(RoomName::parse("#", 32).unwrap_err(), NameError::Empty);
        assert_eq!(
            RoomName::parse("##a", 32).unwrap_err(),
            NameError::BadChar('#')
        );
        assert_eq!(
            RoomName::parse("a!", 32).unwrap_err(),
            NameError::BadChar('!')
        );
        assert_eq!(
            RoomName::parse("abcd", 3).unwrap_err(),
            NameError::TooLong { max: 3 }
        );
        assert_eq!(
            RoomName::parse_hashed("abc", 32).unwrap_err(),
            NameError::NoHash
        );
    }
}
