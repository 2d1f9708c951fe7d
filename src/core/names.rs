//! Validated nicknames and room names.
//!
//! A [`Nick`] or [`RoomName`] can only be built through its `parse`
//! constructor, so everything downstream may trust its contents. Both carry
//! the spelling shown to others and a folded key used for every comparison.
//!
//! # Nicknames
//!
//! A nickname is an RFC 8265 identifier, as Ergo takes them: it is
//! prepared and compared with the PRECIS `UsernameCaseMapped` profile
//! (fullwidth and halfwidth forms mapped to their usual width, Unicode
//! lower case, NFC, the `IdentifierClass` of RFC 8264 and, for
//! right-to-left text, the bidi rule of RFC 5893), and it keeps the rules
//! that make a name safe in a protocol line (see [`Nick::parse`]). `Zoë`,
//! `Jürgen`, `さくら` and `Дмитрий` are nicknames; `ZOË` is `Zoë` again.
//!
//! - What others see is the nickname as prepared by `UsernameCasePreserved`
//!   (width mapped and NFC, case kept): `Ａlice` is shown, and answered, as
//!   `Alice`. It is what parsing it again gives, so stored names read back
//!   unchanged.
//! - The folded key is the `UsernameCaseMapped` enforcement of the same,
//!   applied until it no longer changes. For an all-ASCII nickname that is
//!   exactly ASCII lower case, as it always was: the ASCII path below never
//!   touches the PRECIS machinery and costs what it cost before.
//! - Lengths are counted in characters (Unicode scalar values) of the
//!   nickname as shown. A byte-counting IRC client therefore never has a
//!   nickname refused that it believed fit `NICKLEN`.
//! - Two nicknames that merely look alike (`alice` and `аlice` with a
//!   Cyrillic `а`) have the same [`Skeleton`]; the
//!   [`Directory`](crate::core::directory::Directory) lets only one of them
//!   be held at a time.
//!
//! Room names stay ASCII: they are parsed on every `MSG`, and nothing
//! asked for more yet.
//!
//! # For a front end
//!
//! Parse a nickname with [`Nick::parse`] and the configured
//! [`NameLimits::max_nick_len`] (an IRC server's `NICKLEN`, in characters);
//! claim it with [`ClaimNick`](crate::core::directory::ClaimNick), whose
//! `NickInUse` covers look-alikes too; find a user with
//! [`FindNick`](crate::core::directory::FindNick) and [`Nick::folded`].
//! Always answer with [`Nick::as_str`]: it may differ from what was typed
//! (`Ａlice` is `Alice`). Advertise [`CASEMAPPING`] and [`UTF8MAPPING`].

use ecow::EcoString;
use std::fmt;

mod skeleton;
#[cfg(test)]
mod tests;
mod unicode;

pub use skeleton::Skeleton;

/// The `CASEMAPPING` an IRC server advertises for these rules: `ascii`.
///
/// On ASCII the folding is exactly `ascii` (`A`-`Z` to `a`-`z`, nothing
/// else: `[` and `{` stay apart, unlike `rfc1459`). What it does beyond
/// ASCII is named by [`UTF8MAPPING`]. This is what Ergo advertises in its
/// default `precis` mode, after advertising `rfc7700` and then `rfc8265` as
/// the `CASEMAPPING` itself: clients that know neither fell back to
/// `rfc1459` and merged `[x]` with `{x}`, which is wrong on every network
/// that folds with PRECIS. modern.ircdocs.horse lists `ascii`, `rfc1459`,
/// `rfc1459-strict` and `rfc7613`, the last from an IRCv3 proposal that was
/// closed unmerged; RFC 8265 has since obsoleted RFC 7613.
pub const CASEMAPPING: &str = "ascii";

/// The `UTF8MAPPING` an IRC server advertises beside [`CASEMAPPING`]:
/// `rfc8265`, the PRECIS `UsernameCaseMapped` profile that folds non-ASCII
/// nicknames. Ergo publishes the same token, and WeeChat reads it.
pub const UTF8MAPPING: &str = "rfc8265";

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
    /// Right-to-left text in the name breaks the bidi rule (RFC 5893): it
    /// could be shown in more than one order.
    #[error("right-to-left text in a name must follow the bidi rule of RFC 5893")]
    BadDirection,
    /// The name does not come out of RFC 8265 preparation as a stable
    /// identifier.
    #[error("name is not a stable RFC 8265 identifier")]
    Unstable,
}

/// The longest nickname or room name (without `#`) any part of chatroom
/// accepts: the ceiling of the configured limits, and the bound names
/// read back from storage or from a server's lines are checked against
/// (they were valid when written; a limit lowered since must not hide them).
pub const STORED_NAME_LIMIT: usize = crate::config::MAX_NAME_LEN;

/// Bounds on name lengths, from `[limits]` in the configuration (as
/// [`Services::names`](crate::core::services::Services::names) reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameLimits {
    /// Longest nickname, in characters of the nickname as shown (what an
    /// IRC server advertises as `NICKLEN`).
    pub max_nick_len: usize,
    /// Longest room name, in characters, not counting the `#`.
    pub max_room_len: usize,
}

impl Default for NameLimits {
    fn default() -> Self {
        NameLimits {
            max_nick_len: 24,
            max_room_len: 32,
        }
    }
}

/// The case-insensitive key of a name: its ASCII lower-case form, or for a
/// nickname beyond ASCII its RFC 8265 `UsernameCaseMapped` form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Folded(EcoString);

impl Folded {
    /// The folded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The folded key of `display`, sharing its text when it is already
/// lower case (most names are). Names of up to 15 bytes, most of them,
/// are held inline (`EcoString`): parsing the room a MSG or JOIN names,
/// or a client's nickname, allocates nothing; longer ones are shared
/// behind a reference count, as an `Arc<str>` would be.
fn fold(display: &EcoString) -> Folded {
    if display.bytes().any(|b| b.is_ascii_uppercase()) {
        Folded(display.to_ascii_lowercase())
    } else {
        Folded(display.clone())
    }
}

/// A valid nickname: the spelling chosen by its user and its folded key.
#[derive(Debug, Clone)]
pub struct Nick {
    display: EcoString,
    folded: Folded,
}

/// True for the ASCII characters a nickname may hold: letters, digits and
/// `_ - [ ] { } | ^` and `` ` ``. Every other ASCII character is refused,
/// which keeps out everything IRC and the native protocol give a meaning
/// to (space, `, * ? ! @ # : $ & + % ~ .`), control characters and
/// quotes.
fn is_nick_ascii(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'-' | b'[' | b']' | b'{' | b'}' | b'|' | b'^' | b'`'
        )
}

impl Nick {
    /// Validates `s` as a nickname of at most `max_len` characters.
    ///
    /// - Its ASCII characters are letters, digits and `_ - [ ] { } | ^` and
    ///   `` ` `` (after width mapping: a fullwidth `＃` is a `#`).
    /// - Its other characters are valid in the PRECIS `IdentifierClass`:
    ///   letters, marks and decimal digits of every script, no spaces,
    ///   symbols, punctuation, emoji, control or format characters (bidi
    ///   controls and zero-width characters among them), compatibility
    ///   forms (`ﬁ`) or characters unassigned in Unicode 6.3.
    /// - It does not start with a digit of any script, `-` or a combining
    ///   mark, and right-to-left text follows the bidi rule.
    pub fn parse(s: &str, max_len: usize) -> Result<Nick, NameError> {
        let first = s.chars().next().ok_or(NameError::Empty)?;
        // One scan both checks an ASCII nickname, the hot case (PRIVMSG
        // names one), and finds the first byte that needs the Unicode path.
        if let Some(at) = s.bytes().position(|b| !is_nick_ascii(b)) {
            let b = s.as_bytes()[at];
            if !b.is_ascii() {
                return unicode::parse(s, max_len);
            }
            return Err(NameError::BadChar(char::from(b)));
        }
        if first.is_ascii_digit() || first == '-' {
            return Err(NameError::BadStart(first));
        }
        // Only ASCII is allowed here, so bytes are characters.
        if s.len() > max_len {
            return Err(NameError::TooLong { max: max_len });
        }
        let display = EcoString::from(s);
        Ok(Nick {
            folded: fold(&display),
            display,
        })
    }

    /// A nickname from its prepared spelling and folded key.
    fn prepared(display: String, folded: String) -> Nick {
        let display = EcoString::from(display);
        let folded = if *folded == *display {
            display.clone()
        } else {
            EcoString::from(folded)
        };
        Nick {
            display,
            folded: Folded(folded),
        }
    }

    /// What the nickname looks like, for telling look-alikes apart: see
    /// [`Skeleton`]. Computed on each call, so only where a nickname is
    /// claimed, never where one is merely named.
    pub fn skeleton(&self) -> Skeleton {
        Skeleton::of(&self.display)
    }

    /// The nickname as shown: as its user spelled it, width mapped and in
    /// NFC.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The spelling alone, to keep beside its folded key elsewhere.
    pub(crate) fn display(&self) -> &EcoString {
        &self.display
    }

    /// A nickname put back together from [`Nick::display`] and
    /// [`Nick::folded`] of one valid nickname.
    pub(crate) fn from_parts(display: EcoString, folded: Folded) -> Nick {
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
    display: EcoString,
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
        let display = EcoString::from(hashed);
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
