//! Who holds which nickname: one holder per folded key, and one per look.
//!
//! Two nicknames clash when they fold to the same key (`Zoë`, `ZOË`) or
//! when their [`Skeleton`](crate::core::names::Skeleton)s are equal (`alice`, `аlice` with a Cyrillic
//! `а`, `aIice`): Ergo refuses both, and so does this table, with the same
//! `NICK_IN_USE`.
//!
//! The look check is between holders, not between names: a session's own
//! nickname never stands in the way of its next one. `alice` may become
//! `Alice` or `аlice`; nobody else is being imitated, and the old name is
//! let go in the same step. Between two sessions the folded check comes
//! first (same key: in use, whatever the looks); the look check only adds
//! refusals for names that fold apart. The skeleton is of the name as
//! shown (see [`Skeleton`](crate::core::names::Skeleton)), so it is worked out from the entry's
//! spelling, and a change of case by the holder (`alice` to `ALICE`)
//! replaces it.
//!
//! A look is kept as a 64-bit hash of the skeleton, keyed at random per
//! process, not as its text: every connection holds a nickname, and the
//! text with its map entry cost about 100 bytes of each idle connection's
//! 2 KB. Two different skeletons share a hash with odds of about 2^-64 per
//! pair (1 in 10^11 for 16,000 users), and the random key keeps anyone from
//! aiming a name at another's hash; a collision would only refuse a name.
//!
//! What every connection pays here is kept small: a held look is a bare
//! hash in a set (the holder is found through its nickname, whose look is
//! worked out again when asked, which only a clash or a release does), and
//! IRC's profiles sit in a map of their own, so a native client's entry is
//! its spelling and its inbox.

use ecow::EcoString;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use actix::WeakRecipient;

use super::{Profile, UserInfo};
use crate::core::member::{Inbox, SessionId};
use crate::core::names::{Folded, Nick};
use crate::core::opers::ServerOrder;
use crate::core::{ErrorCode, UserHost};

struct NickEntry {
    /// The spelling; the map's key is the folded half of the nickname.
    display: EcoString,
    /// Where private messages to this nickname go.
    inbox: Inbox,
    /// Its session, for what operators order (KILL, bans, WALLOPS).
    orders: Option<WeakRecipient<ServerOrder>>,
}

/// A nickname's skeleton, hashed (see the module's notes).
pub(super) type Look = u64;

/// The nicknames in use, by folded key and by look.
#[derive(Default)]
pub(super) struct Nicks {
    by_key: HashMap<Folded, NickEntry>,
    /// The look of every held nickname.
    looks: HashSet<Look>,
    /// Hashes skeletons into looks.
    hasher: RandomState,
    /// What WHO and WHOIS show of the nicknames that set it (IRC
    /// clients); the others show a native client's defaults.
    profiles: HashMap<Folded, Profile>,
    /// The sessions that are server operators (whatever their nickname).
    opers: HashSet<SessionId>,
}

impl Nicks {
    /// Gives `nick` to the connection `inbox`, letting go of `old`, its
    /// current one; `NickInUse` when another connection holds the same
    /// folded key or a nickname that looks the same.
    /// `orders` reaches the session; `None` keeps the one this session
    /// gave before.
    pub(super) fn claim(
        &mut self,
        nick: &Nick,
        old: Option<&Nick>,
        inbox: Inbox,
        orders: Option<WeakRecipient<ServerOrder>>,
    ) -> Result<(), ErrorCode> {
        let id = inbox.id;
        let look = self.check(nick, old, id)?;
        let orders = orders.or_else(|| {
            [Some(nick.folded()), old.map(Nick::folded)]
                .into_iter()
                .flatten()
                .filter_map(|key| self.by_key.get(key))
                .find(|e| e.inbox.id == id)
                .and_then(|e| e.orders.clone())
        });
        if let Some(old) = old {
            self.release(id, old.folded());
        }
        // The same key again (a change of case) replaces the entry and
        // its look.
        self.release(id, nick.folded());
        self.looks.insert(look);
        self.by_key.insert(
            nick.folded().clone(),
            NickEntry {
                display: nick.display().clone(),
                inbox,
                orders,
            },
        );
        Ok(())
    }

    /// Whether connection `id`, holding `old`, may take `nick` (see
    /// [`Nicks::claim`]): the nickname's look if so.
    pub(super) fn check(
        &self,
        nick: &Nick,
        old: Option<&Nick>,
        id: SessionId,
    ) -> Result<Look, ErrorCode> {
        if self.holder(nick.folded()).is_some_and(|h| h != id) {
            return Err(ErrorCode::NickInUse);
        }
        let look = self.look(nick);
        if self.looks.contains(&look) {
            // Whoever holds it, it is no clash if it is this connection:
            // through its current nickname, or the entry this one replaces.
            let own = [old.map(Nick::folded), Some(nick.folded())]
                .into_iter()
                .flatten()
                .any(|key| self.held_look(key) == Some((id, look)));
            if !own {
                return Err(ErrorCode::NickInUse);
            }
        }
        Ok(look)
    }

    /// Frees `key` if connection `id` holds it, and its look with it.
    pub(super) fn release(&mut self, id: SessionId, key: &Folded) {
        if self.holder(key) != Some(id) {
            return;
        }
        if let Some((key, entry)) = self.by_key.remove_entry(key) {
            self.profiles.remove(&key);
            // Held by nobody else: a clash would have refused the name.
            let look = self.look(&Nick::from_parts(entry.display, key));
            self.looks.remove(&look);
        }
    }

    /// The nickname with that key, as spelled, and where to reach it.
    pub(super) fn find(&self, key: &Folded) -> Option<(Nick, Inbox)> {
        self.by_key.get_key_value(key).map(|(folded, e)| {
            let nick = Nick::from_parts(e.display.clone(), folded.clone());
            (nick, e.inbox.clone())
        })
    }

    /// Sets what the nickname `key` held by connection `id` shows to WHO
    /// and WHOIS (`None`: a native client's defaults).
    pub(super) fn set_profile(&mut self, id: SessionId, key: &Folded, profile: Option<Profile>) {
        if self.holder(key) != Some(id) {
            return;
        }
        match profile {
            Some(p) => {
                self.profiles.insert(key.clone(), p);
            }
            None => {
                self.profiles.remove(key);
            }
        }
    }

    /// The user holding `key`, as WHO and WHOIS show it (a native client:
    /// `native@native`, its nickname as real name, never away).
    pub(super) fn describe(&self, key: &Folded) -> Option<UserInfo> {
        let (folded, e) = self.by_key.get_key_value(key)?;
        let profile = match self.profiles.get(key) {
            Some(p) => p.clone(),
            None => Profile {
                userhost: UserHost::native(),
                realname: Arc::from(e.display.as_str()),
                away: None,
                invisible: false,
                pending: false,
            },
        };
        Some(UserInfo {
            nick: Nick::from_parts(e.display.clone(), folded.clone()),
            oper: self.opers.contains(&e.inbox.id),
            inbox: e.inbox.clone(),
            profile,
            account: None,
        })
    }

    /// The session holding `key`, for an operator's order, and the
    /// nickname as spelled.
    pub(super) fn orders(&self, key: &Folded) -> Option<(Nick, WeakRecipient<ServerOrder>)> {
        let (folded, e) = self.by_key.get_key_value(key)?;
        let nick = Nick::from_parts(e.display.clone(), folded.clone());
        Some((nick, e.orders.clone()?))
    }

    /// Every session holding a nickname, for an order to all.
    pub(super) fn all_orders(&self) -> impl Iterator<Item = &WeakRecipient<ServerOrder>> {
        self.by_key.values().filter_map(|e| e.orders.as_ref())
    }

    /// Marks session `id` a server operator, or no longer one.
    pub(super) fn set_oper(&mut self, id: SessionId, on: bool) {
        if on {
            self.opers.insert(id);
        } else {
            self.opers.remove(&id);
        }
    }

    /// How many sessions are server operators.
    pub(super) fn opers(&self) -> usize {
        self.opers.len()
    }

    /// How many held nicknames have IRC's user mode `+i`.
    pub(super) fn invisible(&self) -> usize {
        self.profiles.values().filter(|p| p.invisible).count()
    }

    /// Every held nickname, folded.
    pub(super) fn keys(&self) -> impl Iterator<Item = &Folded> {
        self.by_key.keys()
    }

    /// How many held nicknames belong to clients still registering.
    pub(super) fn pending(&self) -> usize {
        self.profiles.values().filter(|p| p.pending).count()
    }

    /// How many nicknames are held.
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// The connection holding `key`.
    pub(super) fn holder(&self, key: &Folded) -> Option<SessionId> {
        self.by_key.get(key).map(|e| e.inbox.id)
    }

    /// What `nick` looks like, hashed.
    fn look(&self, nick: &Nick) -> Look {
        self.hasher.hash_one(nick.skeleton().as_str())
    }

    /// Who holds `key`, and the look of that nickname.
    fn held_look(&self, key: &Folded) -> Option<(SessionId, Look)> {
        let (folded, e) = self.by_key.get_key_value(key)?;
        let nick = Nick::from_parts(e.display.clone(), folded.clone());
        Some((e.inbox.id, self.look(&nick)))
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::core::member::{Encoding, EncodingRef, Listing};
    use crate::core::Event;
    use crate::transport::send_queue::SendQueue;

    /// The table never renders; an inbox needs an encoding all the same.
    struct Silent;

    impl Encoding for Silent {
        fn key(&self) -> &'static str {
            "silent"
        }
        fn event(&self, _: &Event, _: &mut BytesMut) {}
        fn shows_time(&self) -> bool {
            false
        }
        fn names(&self, _: Listing<'_>, _: &mut BytesMut) {}
    }

    static SILENT: Silent = Silent;
    static SILENT_DYN: &dyn Encoding = &SILENT;
    static SILENT_REF: EncodingRef = EncodingRef::new(&SILENT_DYN);

    fn inbox() -> Inbox {
        Inbox {
            id: SessionId::next(),
            encoding: SILENT_REF,
            queue: SendQueue::new(1024),
        }
    }

    fn nick(s: &str) -> Nick {
        Nick::parse(s, 24).unwrap()
    }

    /// `name` for a new connection; the connection's inbox.
    fn claim_new(nicks: &mut Nicks, name: &str) -> Result<Inbox, ErrorCode> {
        let inbox = inbox();
        nicks.claim(&nick(name), None, inbox.clone(), None)?;
        Ok(inbox)
    }

    /// Why a new connection may not have `name`, if it may not.
    fn refusal(nicks: &mut Nicks, name: &str) -> Option<ErrorCode> {
        claim_new(nicks, name).err()
    }

    #[test]
    fn look_alikes_of_a_held_nickname_are_in_use() {
        let mut nicks = Nicks::default();
        claim_new(&mut nicks, "alice").unwrap();
        for other in [
            "alice", "ALICE", "Ａlice", // the same folded key
            "аlice", "aIice", "a|ice", "аIice", // alike, keys apart
        ] {
            assert_eq!(
                refusal(&mut nicks, other),
                Some(ErrorCode::NickInUse),
                "{other}"
            );
        }
        claim_new(&mut nicks, "alicia").unwrap();
        claim_new(&mut nicks, "Zoë").unwrap();
        for other in ["ZOË", "Zoe\u{308}", "zoë"] {
            assert_eq!(
                refusal(&mut nicks, other),
                Some(ErrorCode::NickInUse),
                "{other}"
            );
        }
        assert_eq!(nicks.len(), 3);
    }

    #[test]
    fn a_look_alike_is_free_again_once_released() {
        let mut nicks = Nicks::default();
        let alice = claim_new(&mut nicks, "alice").unwrap();
        nicks.release(alice.id, nick("alice").folded());
        let cyrillic = claim_new(&mut nicks, "аlice").unwrap();
        assert!(claim_new(&mut nicks, "alice").is_err());
        // Another connection cannot release it.
        nicks.release(SessionId::next(), nick("аlice").folded());
        assert!(claim_new(&mut nicks, "alice").is_err());
        nicks.release(cyrillic.id, nick("аlice").folded());
        claim_new(&mut nicks, "alice").unwrap();
        assert_eq!(nicks.len(), 1);
    }

    #[test]
    fn a_holder_may_change_to_a_look_alike_of_its_own_nickname() {
        let mut nicks = Nicks::default();
        let inbox = claim_new(&mut nicks, "alice").unwrap();
        let (alice, cyrillic) = (nick("alice"), nick("аlice"));
        nicks
            .claim(&cyrillic, Some(&alice), inbox.clone(), None)
            .unwrap();
        assert!(nicks.find(alice.folded()).is_none());
        assert_eq!(nicks.find(cyrillic.folded()).unwrap().0.as_str(), "аlice");
        // Its old look went with its old name, and came back with the new.
        assert!(claim_new(&mut nicks, "alice").is_err());
        nicks
            .claim(&nick("bob"), Some(&cyrillic), inbox, None)
            .unwrap();
        claim_new(&mut nicks, "alice").unwrap();
        assert_eq!(nicks.len(), 2);
    }

    #[test]
    fn a_change_of_case_replaces_the_look() {
        let mut nicks = Nicks::default();
        let inbox = claim_new(&mut nicks, "alice").unwrap();
        let (lower, upper) = (nick("alice"), nick("ALICE"));
        // ALICE (a capital I) looks like "allce", not "alice".
        nicks
            .claim(&upper, Some(&lower), inbox.clone(), None)
            .unwrap();
        assert_eq!(nicks.find(lower.folded()).unwrap().0.as_str(), "ALICE");
        assert!(claim_new(&mut nicks, "aLLCE").is_err());
        claim_new(&mut nicks, "aIice").unwrap();
        // Back to lower case: the look of "ALICE" is let go, that of
        // "alice" is now held by aIice's connection.
        assert_eq!(
            nicks.claim(&lower, Some(&upper), inbox, None).unwrap_err(),
            ErrorCode::NickInUse
        );
        assert_eq!(refusal(&mut nicks, "Allce"), Some(ErrorCode::NickInUse));
    }

    #[test]
    fn reclaiming_without_the_old_name_leaves_no_stale_look() {
        let mut nicks = Nicks::default();
        let inbox = claim_new(&mut nicks, "ALICE").unwrap();
        nicks
            .claim(&nick("alice"), None, inbox.clone(), None)
            .unwrap();
        claim_new(&mut nicks, "Allce").unwrap();
        nicks.release(inbox.id, nick("alice").folded());
        claim_new(&mut nicks, "aIice").unwrap();
    }
}
