//! Nicknames beyond ASCII: RFC 8265 preparation and folding, with the
//! protocol-safety rules on top. Only names with a non-ASCII byte come
//! here; the module docs of [`super`] say what the rules are and why.

use std::borrow::Cow;

use precis_profiles::precis_core::profile::{stabilize, Profile, Rules};
use precis_profiles::precis_core::{
    DerivedPropertyValue, Error as PrecisError, IdentifierClass, StringClass, UnexpectedError,
};
use precis_profiles::{UsernameCaseMapped, UsernameCasePreserved};
use unicode_normalization::char::is_combining_mark;

use super::{is_nick_ascii, NameError, Nick};

/// Validates `s`, which holds a non-ASCII character, as a nickname of at
/// most `max_len` characters.
pub(super) fn parse(s: &str, max_len: usize) -> Result<Nick, NameError> {
    let shown = UsernameCasePreserved::new();
    // Width mapping first, so that a fullwidth `＃` meets the rules of `#`.
    let mapped = shown.width_mapping_rule(s).map_err(refusal)?;
    if let Some(at) = mapped.chars().position(|c| !may_hold(c)) {
        // Width mapping maps character for character: name the one typed.
        let typed = s.chars().nth(at).unwrap_or(' ');
        return Err(NameError::BadChar(typed));
    }
    // Context rules (a zero-width joiner only after a virama, ...), NFC and
    // the bidi rule.
    let display = shown.enforce(mapped).map_err(refusal)?.into_owned();
    let first = display.chars().next().ok_or(NameError::Empty)?;
    // `is_numeric` past the ASCII digits: a decimal digit of another script
    // (the only numerals `IdentifierClass` lets through) may not start a
    // nickname either. A combining mark would sit on whatever precedes the
    // nickname in a line.
    if first.is_numeric() || first == '-' || is_combining_mark(first) {
        return Err(NameError::BadStart(first));
    }
    if display.chars().count() > max_len {
        return Err(NameError::TooLong { max: max_len });
    }
    let folded = fold(&display)?;
    Ok(Nick::prepared(display, folded))
}

/// The RFC 8265 `UsernameCaseMapped` form of a prepared nickname, applied
/// until it is stable (RFC 8264 §7: at most three more times).
fn fold(display: &str) -> Result<String, NameError> {
    let mapped = UsernameCaseMapped::new();
    stabilize(display, |s| mapped.enforce(s))
        .map(Cow::into_owned)
        .map_err(|e| match e {
            // `stabilize` says Invalid when the string kept changing.
            PrecisError::Invalid => NameError::Unstable,
            other => refusal(other),
        })
}

/// True when a nickname may hold `c`, as far as one character can say:
/// the ASCII set, or a code point `IdentifierClass` does not disallow
/// outright (context rules are checked on the whole name later).
fn may_hold(c: char) -> bool {
    if c.is_ascii() {
        // `c` is ASCII, so the cast keeps it whole.
        return is_nick_ascii(c as u8);
    }
    matches!(
        IdentifierClass::default().get_value_from_char(c),
        DerivedPropertyValue::PValid
            | DerivedPropertyValue::SpecClassPval
            | DerivedPropertyValue::ContextJ
            | DerivedPropertyValue::ContextO
    )
}

/// A PRECIS refusal as a [`NameError`].
fn refusal(e: PrecisError) -> NameError {
    let bad_char = |cp: u32| char::from_u32(cp).map_or(NameError::Unstable, NameError::BadChar);
    match e {
        PrecisError::BadCodepoint(info) => bad_char(info.cp),
        PrecisError::Unexpected(
            UnexpectedError::ContextRuleNotApplicable(info)
            | UnexpectedError::MissingContextRule(info),
        ) => bad_char(info.cp),
        // The names that reach enforcement are not empty, so the profile's
        // only other refusal is the bidi rule.
        PrecisError::Invalid => NameError::BadDirection,
        PrecisError::Unexpected(_) => NameError::Unstable,
    }
}
