//! Finding users by a pattern with wildcards (IRC's `WHO <mask>`): `*`
//! for any run of characters, `?` for one, matched without regard to case
//! against a user's nickname, user name, host or real name.

use super::nicks::Nicks;
use super::UserInfo;

/// Users one search returns at most: a mask like `*` on a big server
/// would otherwise answer with every user.
pub const MAX_MATCHES: usize = 500;

/// A pattern with `*` and `?` wildcards, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard(Vec<char>);

impl Wildcard {
    /// The pattern `mask`; case does not count.
    pub fn new(mask: &str) -> Self {
        Wildcard(mask.chars().flat_map(char::to_lowercase).collect())
    }

    /// Whether the pattern has a wildcard (else it names one thing).
    pub fn is_wild(&self) -> bool {
        self.0.iter().any(|&c| c == '*' || c == '?')
    }

    /// Whether `s` matches, case aside. Linear in `s` times the pattern
    /// at worst: a `*` backtracks only to the last star seen.
    pub fn matches(&self, s: &str) -> bool {
        let text: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
        let pat = &self.0;
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            if p < pat.len() && (pat[p] == '?' || pat[p] == text[t]) {
                p += 1;
                t += 1;
            } else if p < pat.len() && pat[p] == '*' {
                star = Some((p, t));
                p += 1;
            } else if let Some((sp, st)) = star {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        pat[p..].iter().all(|&c| c == '*')
    }

    /// Whether `user` matches by nickname, user name, host or real name.
    pub fn matches_user(&self, user: &UserInfo) -> bool {
        let uh = &user.profile.userhost;
        self.matches(user.nick.as_str())
            || self.matches(uh.user())
            || self.matches(uh.host())
            || self.matches(&user.profile.realname)
    }
}

impl Nicks {
    /// Users matching `pattern`, at most [`MAX_MATCHES`], sorted by folded
    /// nickname.
    pub(super) fn search(&self, pattern: &Wildcard) -> Vec<UserInfo> {
        let mut found: Vec<UserInfo> = self
            .keys()
            .filter_map(|key| self.describe(key))
            .filter(|u| !u.profile.pending && pattern.matches_user(u))
            .take(MAX_MATCHES)
            .collect();
        found.sort_by(|a, b| a.nick.folded().cmp(b.nick.folded()));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks_match_without_case() {
        let w = Wildcard::new("coolNi*");
        assert!(w.is_wild());
        assert!(w.matches("coolnick"));
        assert!(w.matches("COOLNI"));
        assert!(!w.matches("xcoolnick"));
        assert!(Wildcard::new("*").matches(""));
        assert!(Wildcard::new("*ck2").matches("nick2"));
        assert!(Wildcard::new("a?c").matches("abc"));
        assert!(!Wildcard::new("a?c").matches("ac"));
        assert!(Wildcard::new("*a*b*").matches("xxaxxbxx"));
        assert!(!Wildcard::new("*a*b").matches("xxaxxbxx"));
        assert!(Wildcard::new("zoë*").matches("ZOË1"));
        assert!(!Wildcard::new("alice").is_wild());
    }
}
