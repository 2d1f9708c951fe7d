//! Cluster mode: private messages from other nodes to this node's users,
//! and the users' cards this node keeps in Redis (what WHOIS shows of
//! them on other nodes). Nothing here runs on a standalone server.

use actix::prelude::*;

use super::Directory;
use crate::core::cluster::wire::{DirectKind, UserCard};
use crate::core::cluster::Inboxed;
use crate::core::event::{Event, FileTarget, MsgMeta};
use crate::core::member::SessionId;
use crate::core::names::{Folded, RoomName, STORED_NAME_LIMIT};

impl Handler<Inboxed> for Directory {
    type Result = ();

    fn handle(&mut self, msg: Inboxed, _: &mut Self::Context) {
        let to = match &msg {
            Inboxed::Direct(d) => &d.to,
            Inboxed::File(f) => match &f.record.target {
                FileTarget::User(to) => to,
                FileTarget::Room(_) => return,
            },
        };
        // Gone since the sender's node looked (it quit, or changed its
        // nickname): dropped, as a local message to a user who just left.
        let Some((to, inbox)) = self.nicks.find(to.folded()) else {
            tracing::debug!(to = %to, "private message for a user no longer here");
            return;
        };
        let event = match msg {
            Inboxed::Direct(d) => match d.kind {
                DirectKind::Text(kind) => Event::Privmsg {
                    from: d.from,
                    userhost: d.userhost,
                    to: Some(to),
                    text: d.text,
                    kind,
                    meta: MsgMeta::now(d.tags, d.account),
                },
                DirectKind::Tags => Event::TagMsg {
                    target: FileTarget::User(to),
                    from: d.from,
                    userhost: d.userhost,
                    meta: MsgMeta::now(d.tags, d.account),
                },
                DirectKind::Invite => {
                    let Ok(room) = RoomName::parse_hashed(&d.text, STORED_NAME_LIMIT) else {
                        return;
                    };
                    Event::Invite {
                        room,
                        from: d.from,
                        userhost: d.userhost,
                        to,
                    }
                }
            },
            Inboxed::File(f) => {
                let r = f.record;
                Event::File {
                    target: FileTarget::User(to),
                    from: r.from,
                    userhost: f.userhost,
                    id: r.id,
                    size: r.size,
                    sha256: r.sha256,
                    filename: r.filename,
                }
            }
        };
        inbox.send(&event);
    }
}

impl Directory {
    /// Cluster mode: writes the card of the user holding `key` here (after
    /// a claim, or a change of what WHOIS shows).
    pub(super) fn write_card(&self, key: &Folded) {
        let Some(cluster) = &self.cluster else { return };
        let Some(user) = self.nicks.describe(key) else {
            return;
        };
        if user.profile.pending {
            // Not a user yet (IRC registration not over); written when
            // it is (its profile changes then).
            return;
        }
        cluster.write_card(&UserCard {
            node: cluster.node_id().to_string(),
            account: self.logins.get(&user.inbox.id).cloned(),
            oper: user.oper,
            realname: user.profile.realname,
            away: user.profile.away,
            userhost: user.profile.userhost,
            nick: user.nick,
        });
    }

    /// Cluster mode: rewrites the card of session `id`'s user (its login
    /// or operator status changed). Looks through this node's nicknames:
    /// only a cluster node pays it, once per login or OPER.
    pub(super) fn rewrite_card_of(&self, id: SessionId) {
        if self.cluster.is_none() {
            return;
        }
        if let Some(key) = self.nicks.keys().find(|k| self.nicks.holder(k) == Some(id)) {
            self.write_card(key);
        }
    }
}
