//! What a nickname looks like: the confusable skeleton of UTS #39, as Ergo
//! computes it for nicknames.

use std::fmt;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

/// The look of a nickname: two nicknames with the same skeleton can be
/// taken for one another (`alice`, `аlice` with a Cyrillic `а`, `aIice`
/// with a capital `I`, `a|ice`, `ＡLICE`...).
///
/// It is the UTS #39 skeleton of the nickname as shown, then lower-cased,
/// as Ergo does it:
/// - from the nickname as shown, not its folded key: folding first would
///   lose what makes `I` look like `l`. So the skeleton is no function of
///   the folded key, and is kept beside it where nicknames are held.
/// - without the table's `m` → `rn`, which Ergo drops too: it made
///   `warning` and `waming` one name, and every `m` a clash.
/// - lower-cased last, so that `РОТАТО` (Cyrillic) is `potato`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Skeleton(Box<str>);

impl Skeleton {
    /// The skeleton of `shown`, a nickname as shown (already width mapped,
    /// which the confusables table alone does not do for every letter).
    pub(super) fn of(shown: &str) -> Skeleton {
        if shown.is_ascii() {
            return Self::of_ascii(shown);
        }
        Self::of_unicode(shown)
    }

    /// The skeleton of any nickname, through the tables.
    fn of_unicode(shown: &str) -> Skeleton {
        let mut out = String::with_capacity(shown.len());
        // Splitting the NFD form at `m` keeps each `m` out of the table
        // (what Ergo's tweaked lookup does) and changes nothing else: `m`
        // is a starter, so no normalisation reaches across it.
        let decomposed: String = shown.nfd().collect();
        for (i, part) in decomposed.split('m').enumerate() {
            if i > 0 {
                out.push('m');
            }
            for c in unicode_security::confusable_detection::skeleton(part) {
                out.extend(c.to_lowercase());
            }
        }
        Skeleton(out.into_boxed_str())
    }

    /// The skeleton of an ASCII nickname, character by character from a
    /// table of the 128 made once: ASCII is in NFD already and each of its
    /// characters maps on its own, so this is [`Skeleton::of`]'s answer.
    /// Most nicknames are ASCII, and walking the confusables and
    /// normalisation tables for each one made a megabyte of them resident
    /// (about 100 bytes of each of 10,000 idle connections).
    fn of_ascii(shown: &str) -> Skeleton {
        static TABLE: OnceLock<Vec<String>> = OnceLock::new();
        let table = TABLE.get_or_init(|| {
            (0u8..128)
                .map(|b| match b {
                    b'm' => "m".to_string(),
                    _ => {
                        let one = char::from(b).to_string();
                        Skeleton::of_unicode(&one).0.into_string()
                    }
                })
                .collect()
        });
        let mut out = String::with_capacity(shown.len());
        for b in shown.bytes() {
            out.push_str(&table[usize::from(b)]);
        }
        Skeleton(out.into_boxed_str())
    }

    /// The skeleton's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Skeleton {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Skeleton;

    #[test]
    fn ascii_table_gives_what_the_tables_give() {
        // Characters map on their own unless normalisation reorders marks
        // across them; every pair shows that none does.
        for a in 0u8..128 {
            for b in 0u8..128 {
                let s = String::from_utf8(vec![a, b, b'x']).expect("ascii");
                assert_eq!(Skeleton::of_ascii(&s), Skeleton::of_unicode(&s), "{s:?}");
            }
        }
    }
}
