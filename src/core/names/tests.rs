//! Name rules, table by table.

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

/// Nicknames beyond ASCII that are accepted: what was typed, what others
/// see, and the folded key.
const UNICODE_OK: &[(&str, &str, &str)] = &[
    ("Zoë", "Zoë", "zoë"),
    ("ZOË", "ZOË", "zoë"),
    // Decomposed input is shown composed (NFC).
    ("Zoe\u{308}", "Zoë", "zoë"),
    ("Jürgen", "Jürgen", "jürgen"),
    ("Zoë_42", "Zoë_42", "zoë_42"),
    ("[Zoë]", "[Zoë]", "[zoë]"),
    ("さくら", "さくら", "さくら"),
    ("田中", "田中", "田中"),
    ("Дмитрий", "Дмитрий", "дмитрий"),
    // A Cyrillic а: a name of its own (the directory keeps it from
    // being held beside `alice`, see the skeleton tests).
    ("аlice", "аlice", "аlice"),
    ("ΣΑΣ", "ΣΑΣ", "σασ"),
    // RFC 8265 maps to lower case; it does not case-fold `ß` to `ss`.
    ("Straße", "Straße", "straße"),
    ("ẞ", "ẞ", "ß"),
    ("İstanbul", "İstanbul", "i\u{307}stanbul"),
    // Fullwidth and halfwidth forms are shown at their usual width.
    ("Ａlice", "Alice", "alice"),
    ("ｶﾀｶﾅ", "カタカナ", "カタカナ"),
    ("a３", "a3", "a3"),
    // Right-to-left text that follows the bidi rule.
    ("שלום", "שלום", "שלום"),
    // A context rule that holds: the Catalan middle dot between two l.
    ("l·l", "l·l", "l·l"),
];

#[test]
fn unicode_nicks_are_accepted_shown_prepared_and_folded() {
    for &(typed, shown, folded) in UNICODE_OK {
        let nick = Nick::parse(typed, 24).unwrap_or_else(|e| panic!("{typed:?}: {e}"));
        assert_eq!(nick.as_str(), shown, "{typed:?}");
        assert_eq!(nick.folded().as_str(), folded, "{typed:?}");
        // What is shown (and stored) parses back to itself.
        let again = Nick::parse(nick.as_str(), 24).unwrap();
        assert_eq!(again.as_str(), shown, "{typed:?}");
        assert_eq!(again.folded(), nick.folded(), "{typed:?}");
    }
}

#[test]
fn unicode_nicks_that_are_refused() {
    let bad = [
        // Spaces, ASCII or not, and what IRC or the native protocol give a
        // meaning to.
        ("Zoë b", NameError::BadChar(' ')),
        ("Zoë\u{3000}b", NameError::BadChar('\u{3000}')),
        ("Zoë\u{a0}", NameError::BadChar('\u{a0}')),
        ("Zoë!", NameError::BadChar('!')),
        ("Zoë,x", NameError::BadChar(',')),
        ("Zoë*", NameError::BadChar('*')),
        ("Zoë?", NameError::BadChar('?')),
        ("Zoë@x", NameError::BadChar('@')),
        ("Zoë#", NameError::BadChar('#')),
        ("Zoë:", NameError::BadChar(':')),
        ("Zoë$", NameError::BadChar('$')),
        ("Zoë&", NameError::BadChar('&')),
        ("Zoë.x", NameError::BadChar('.')),
        // A fullwidth `＃` is a `#` once width mapped; the error names
        // what was typed.
        ("Ｚoë＃", NameError::BadChar('＃')),
        ("＃Zoë", NameError::BadChar('＃')),
        ("：Zoë", NameError::BadChar('：')),
        // Control characters, C0, DEL and C1.
        ("Zoë\u{0}", NameError::BadChar('\u{0}')),
        ("Zoë\u{1b}", NameError::BadChar('\u{1b}')),
        ("Zoë\u{7f}", NameError::BadChar('\u{7f}')),
        ("Zoë\u{85}", NameError::BadChar('\u{85}')),
        // Bidi controls and other format characters.
        ("Zoë\u{202e}", NameError::BadChar('\u{202e}')),
        ("Zoë\u{200f}", NameError::BadChar('\u{200f}')),
        ("Zoë\u{2066}", NameError::BadChar('\u{2066}')),
        ("Zo\u{200b}ë", NameError::BadChar('\u{200b}')),
        ("Zo\u{feff}ë", NameError::BadChar('\u{feff}')),
        // A zero-width joiner outside the context that allows it.
        ("Zo\u{200d}ë", NameError::BadChar('\u{200d}')),
        // The middle dot anywhere but between two l.
        ("Zo·ë", NameError::BadChar('·')),
        // Compatibility forms: a ligature, a titlecase digraph, a numeral.
        ("ﬁnn", NameError::BadChar('ﬁ')),
        ("ǅemal", NameError::BadChar('ǅ')),
        ("Ⅻë", NameError::BadChar('Ⅻ')),
        // Symbols, emoji, punctuation beyond ASCII.
        ("dolph🐬n", NameError::BadChar('🐬')),
        ("Zoë™", NameError::BadChar('™')),
        ("«Zoë»", NameError::BadChar('«')),
        // Unassigned in Unicode 6.3, which PRECIS' tables are for.
        ("Zoë\u{0378}", NameError::BadChar('\u{0378}')),
        // A first character that may not start a nickname, once width
        // mapped and composed.
        ("-Zoë", NameError::BadStart('-')),
        ("9Zoë", NameError::BadStart('9')),
        ("１Zoë", NameError::BadStart('1')),
        ("३Zoë", NameError::BadStart('३')),
        ("\u{301}Zoë", NameError::BadStart('\u{301}')),
        // Right-to-left text against the bidi rule.
        ("Zoëא", NameError::BadDirection),
        ("1שלום", NameError::BadDirection),
    ];
    for (typed, want) in bad {
        assert_eq!(Nick::parse(typed, 24).unwrap_err(), want, "{typed:?}");
    }
}

#[test]
fn length_counts_characters_as_shown() {
    let twenty_four = "é".repeat(24);
    let nick = Nick::parse(&twenty_four, 24).unwrap();
    assert_eq!(nick.as_str().len(), 48);
    assert_eq!(
        Nick::parse(&"é".repeat(25), 24).unwrap_err(),
        NameError::TooLong { max: 24 }
    );
    assert_eq!(
        Nick::parse("さくらさ", 3).unwrap_err(),
        NameError::TooLong { max: 3 }
    );
    // Four characters typed, three once composed.
    assert_eq!(Nick::parse("Zoe\u{308}", 3).unwrap().as_str(), "Zoë");
}

#[test]
fn folding_makes_case_width_and_composition_one_name() {
    let same = [
        &["Zoë", "ZOË", "zoë", "Zoe\u{308}", "ZOE\u{308}"][..],
        &["alice", "ALICE", "Ａlice", "ａｌｉｃｅ", "ＡＬＩＣＥ"],
        &["ΣΑΣ", "σασ"],
        &["Дмитрий", "ДМИТРИЙ"],
        &["ẞ", "ß"],
    ];
    for group in same {
        let key = Nick::parse(group[0], 24).unwrap().folded().clone();
        for n in group {
            assert_eq!(Nick::parse(n, 24).unwrap().folded(), &key, "{n:?}");
        }
    }
    let apart = [
        ("Straße", "strasse"),
        ("alice", "аlice"),
        ("[x]", "{x}"),
        ("a|b", "a^b"),
    ];
    for (a, b) in apart {
        let (a, b) = (Nick::parse(a, 24).unwrap(), Nick::parse(b, 24).unwrap());
        assert_ne!(a.folded(), b.folded(), "{a} {b}");
    }
}

#[test]
fn skeletons_tell_look_alikes() {
    let skeleton = |n: &str| Nick::parse(n, 24).unwrap().skeleton();
    let alike = [
        ("alice", "аlice"), // Cyrillic а
        ("alice", "aIice"), // capital I
        ("alice", "a|ice"),
        ("evan", "еvan"),     // Cyrillic е
        ("potato", "РОТАТО"), // all Cyrillic, lower-cased after
        ("smt", "ｓｍｔ"),
        ("smt", "ＳＭＴ"),
        ("bobl", "bob1"),
        ("bob", "b0b"),
        ("Zoë", "Zoe\u{308}"),
    ];
    for (a, b) in alike {
        assert_eq!(skeleton(a), skeleton(b), "{a:?} {b:?}");
    }
    assert_eq!(skeleton("Phi|ip").as_str(), "philip");
    assert_eq!(skeleton("РОТАТО").as_str(), "potato");
    let apart = [
        ("warning", "waming"), // Ergo drops m → rn, and so do we
        ("m", "rn"),
        ("alice", "bob"),
        ("[x]", "{x}"),
        // The skeleton is of the name as shown: ALICE has a capital I.
        ("alice", "ALICE"),
    ];
    for (a, b) in apart {
        assert_ne!(skeleton(a), skeleton(b), "{a:?} {b:?}");
    }
    // Japanese names have skeletons too.
    assert_ne!(skeleton("さくら"), skeleton("さら"));
}

/// The nickname rule before Unicode names, kept to prove the ASCII path
/// unchanged.
fn ascii_rule_before(s: &str, max_len: usize) -> Result<(String, String), NameError> {
    let first = s.chars().next().ok_or(NameError::Empty)?;
    let special = |c: char| matches!(c, '_' | '-' | '[' | ']' | '{' | '}' | '|' | '^' | '`');
    if let Some(bad) = s
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || special(c)))
    {
        return Err(NameError::BadChar(bad));
    }
    if first.is_ascii_digit() || first == '-' {
        return Err(NameError::BadStart(first));
    }
    if s.len() > max_len {
        return Err(NameError::TooLong { max: max_len });
    }
    Ok((s.to_string(), s.to_ascii_lowercase()))
}

proptest::proptest! {
    /// Every ASCII string is accepted or refused as before, and folds to
    /// what it folded to before: stored owners and senders, and every
    /// nickname already in use, keep their keys.
    #[test]
    fn ascii_nicks_parse_and_fold_as_before(s in "[\\x00-\\x7f]{0,30}", max in 1usize..30) {
        let now = Nick::parse(&s, max).map(|n| (n.as_str().to_string(), n.folded().as_str().to_string()));
        proptest::prop_assert_eq!(now, ascii_rule_before(&s, max));
    }

    /// The same over the characters nicknames are made of, so that most
    /// strings are accepted.
    #[test]
    fn ascii_nick_characters_fold_as_before(s in "[a-zA-Z0-9_\\[\\]{}|^`-]{1,30}") {
        let now = Nick::parse(&s, 30).map(|n| (n.as_str().to_string(), n.folded().as_str().to_string()));
        proptest::prop_assert_eq!(now, ascii_rule_before(&s, 30));
    }
}

proptest::proptest! {
    /// Any string is a nickname or a refusal, never a panic; a nickname
    /// parses back to itself (what is stored reads back), and is no
    /// longer than allowed in characters.
    #[test]
    fn any_string_parses_or_is_refused_and_round_trips(
        s in proptest::prop_oneof![
            proptest::prelude::any::<String>(),
            "[a-zA-Z\u{e0}-\u{17f}\u{391}-\u{3c9}\u{410}-\u{44f}\u{3041}-\u{30ff}\u{ff01}-\u{ff5e}\u{300}-\u{36f}]{1,12}",
        ],
        max in 1usize..30,
    ) {
        if let Ok(nick) = Nick::parse(&s, max) {
            proptest::prop_assert!(nick.as_str().chars().count() <= max);
            let again = Nick::parse(nick.as_str(), max).unwrap();
            proptest::prop_assert_eq!(again.as_str(), nick.as_str());
            proptest::prop_assert_eq!(again.folded(), nick.folded());
            proptest::prop_assert_eq!(again.skeleton(), nick.skeleton());
        }
    }
}

#[test]
fn names_either_side_of_the_inline_limit_keep_their_spelling_and_key() {
    // 15 bytes are held inline, 16 and more behind a reference count.
    for len in [14, 15, 16, 31] {
        let bare = format!("R{}", "a".repeat(len - 2));
        let room = RoomName::parse(&bare, 40).unwrap();
        assert_eq!(room.as_str(), format!("#{bare}"));
        assert_eq!(room.folded().as_str(), format!("#{}", bare.to_lowercase()));
        assert_eq!(room.clone(), room);
        let nick = Nick::parse(&format!("N{}", "b".repeat(len - 1)), 40).unwrap();
        assert_eq!(nick.as_str().len(), len);
        assert_eq!(nick.folded().as_str(), nick.as_str().to_lowercase());
    }
    // Nicknames and room names stay four words, as with `Arc<str>`.
    assert_eq!(std::mem::size_of::<Nick>(), 32);
    assert_eq!(std::mem::size_of::<RoomName>(), 32);
}
