//! Claiming and letting go of nicknames: at once on a standalone server;
//! in cluster mode, in Redis too, between the local check and the local
//! commit.
//!
//! In cluster mode a claim is checked here first (a name this node has
//! in use is refused at once, without asking Redis), marked as being
//! claimed (no other connection of this node may claim it meanwhile), then
//! claimed in Redis, and only then taken here. The old nickname stays the
//! session's until the new one is granted, so a refusal leaves the session
//! as it was. A name is let go in Redis only once no connection of this
//! node holds it or is claiming it: the node holds a nickname in Redis,
//! whichever of its connections uses it. Claims and releases reach Redis
//! in the order they are made here ([`Cluster::claim`]).

use actix::prelude::*;
use actix::WeakRecipient;

use super::{Directory, Profile};
use crate::core::cluster::Claim;
use crate::core::member::{Inbox, SessionId};
use crate::core::names::{Folded, Nick};
use crate::core::opers::ServerOrder;
use crate::core::ErrorCode;

/// Claims `nick` for the connection `inbox`, releasing its previous one;
/// `NickInUse` when another connection holds a nickname that folds to the
/// same key or looks the same ([`Nick::skeleton`]), or (cluster mode)
/// another node holds it; `ClusterUnavailable` when Redis cannot be asked.
#[derive(Message)]
#[rtype(result = "Result<(), ErrorCode>")]
pub struct ClaimNick {
    /// The wanted nickname.
    pub nick: Nick,
    /// The session's current nickname, released on success.
    pub old: Option<Nick>,
    /// Where private messages to this nickname go.
    pub inbox: Inbox,
    /// What WHO and WHOIS show; `None` for a native client.
    pub profile: Option<Profile>,
    /// The session, for what operators order it; `None` keeps the one
    /// it gave before.
    pub orders: Option<WeakRecipient<ServerOrder>>,
}

impl Handler<ClaimNick> for Directory {
    type Result = ActorResponse<Self, Result<(), ErrorCode>>;

    fn handle(&mut self, msg: ClaimNick, _: &mut Self::Context) -> Self::Result {
        let key = msg.nick.folded();
        let id = msg.inbox.id;
        // Standalone, or a name this connection holds already (a change
        // of case, a new profile): nothing for Redis to decide.
        let cluster = match &self.cluster {
            Some(cluster) if self.nicks.holder(key) != Some(id) => cluster.clone(),
            _ => return ActorResponse::reply(self.take(msg)),
        };
        if self.claiming.contains_key(key) {
            return ActorResponse::reply(Err(ErrorCode::NickInUse));
        }
        if let Err(code) = self.nicks.check(&msg.nick, msg.old.as_ref(), id) {
            return ActorResponse::reply(Err(code));
        }
        let key = key.clone();
        self.claiming.insert(key.clone(), id);
        let asked = cluster.claim(key.clone());
        ActorResponse::r#async(asked.into_actor(self).map(move |answer, act, _| {
            act.claiming.remove(&key);
            match answer {
                Ok(Claim::Granted) => {
                    let taken = act.take(msg);
                    if taken.is_err() {
                        // A look-alike was taken here meanwhile.
                        act.let_go(&key);
                    }
                    taken
                }
                Ok(Claim::HeldElsewhere) => Err(ErrorCode::NickInUse),
                Err(e) => {
                    tracing::warn!(%e, nick = key.as_str(), "nickname not claimed in Redis");
                    // Redis may have granted it before the answer was
                    // lost.
                    act.let_go(&key);
                    Err(ErrorCode::ClusterUnavailable)
                }
            }
        }))
    }
}

impl Directory {
    /// Gives the nickname to the connection here (what a standalone
    /// server's claim is), remembering a name it let go for WHOWAS.
    fn take(&mut self, msg: ClaimNick) -> Result<(), ErrorCode> {
        let id = msg.inbox.id;
        let key = msg.nick.folded().clone();
        // A change of nickname (not of case) lets the old one go.
        let left = msg
            .old
            .as_ref()
            .filter(|old| old.folded() != &key)
            .and_then(|old| self.nicks.describe(old.folded()))
            .filter(|u| u.inbox.id == id);
        self.nicks
            .claim(&msg.nick, msg.old.as_ref(), msg.inbox, msg.orders)?;
        self.nicks.set_profile(id, &key, msg.profile);
        self.write_card(&key);
        if let Some(user) = left {
            let old = user.nick.folded().clone();
            self.remember(user);
            self.let_go(&old);
        }
        Ok(())
    }

    /// Cluster mode: lets go of `key` in Redis unless a connection of
    /// this node holds it or is claiming it.
    fn let_go(&self, key: &Folded) {
        let Some(cluster) = &self.cluster else { return };
        if self.nicks.holder(key).is_none() && !self.claiming.contains_key(key) {
            cluster.release(key.clone());
        }
    }
}

/// Cluster mode: another node took `nick` while this one was cut off
/// from Redis longer than its lease; its holder here is told and
/// disconnected ([`ServerOrder::NickCollision`]). Its QUIT then lets the
/// name go here; Redis's claim is the other node's, which a release by
/// this node does not touch (compare-and-delete).
#[derive(Message)]
#[rtype(result = "()")]
pub struct NickLost {
    /// The folded nickname.
    pub nick: Folded,
}

impl Handler<NickLost> for Directory {
    type Result = ();

    fn handle(&mut self, msg: NickLost, _: &mut Self::Context) {
        let Some((nick, orders)) = self.nicks.orders(&msg.nick) else {
            return;
        };
        if let Some(session) = orders.upgrade() {
            session.do_send(ServerOrder::NickCollision { nick });
        }
    }
}

/// Hands each nickname the node lost ([`Cluster::lost_nicks`]) to the
/// directory, until the node stops.
///
/// [`Cluster::lost_nicks`]: crate::core::cluster::Cluster::lost_nicks
pub async fn let_go_of_lost_nicks(
    mut lost: tokio::sync::mpsc::UnboundedReceiver<Folded>,
    directory: Addr<Directory>,
) {
    while let Some(nick) = lost.recv().await {
        directory.do_send(NickLost { nick });
    }
}

/// Frees session `id`'s nickname.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseNick {
    /// The leaving session.
    pub id: SessionId,
    /// Its nickname.
    pub nick: Folded,
}

impl Handler<ReleaseNick> for Directory {
    type Result = ();

    fn handle(&mut self, msg: ReleaseNick, _: &mut Self::Context) {
        self.logins.remove(&msg.id);
        if let Some(user) = self
            .nicks
            .describe(&msg.nick)
            .filter(|u| u.inbox.id == msg.id)
        {
            self.remember(user);
        }
        self.nicks.release(msg.id, &msg.nick);
        self.nicks.set_oper(msg.id, false);
        self.let_go(&msg.nick);
    }
}
