//! Cluster mode's half of a room (docs/CLUSTER.md): a message said here
//! is published once for every node, and delivered here, as on every
//! node, when Redis hands it back, in the room's one order.

use std::time::SystemTime;

use actix::prelude::*;

use super::{Room, Say};
use crate::core::cluster::wire::Outgoing;
use crate::core::cluster::{Cluster, Delivered};
use crate::core::event::{Event, MsgMeta, UserHost};
use crate::core::member::SessionId;
use crate::core::outcome::Said;
use crate::core::ErrorCode;

impl Room {
    /// A room of a cluster node: its messages go through Redis.
    pub fn with_cluster(mut self, cluster: Option<Cluster>) -> Self {
        self.cluster = cluster.map(Box::new);
        self
    }

    /// Publishes what a member said; its members (and every other node's)
    /// get it from [`Delivered`]. The sender's `OK MSG` (its ack) comes
    /// once Redis has the message; its number is not known before, so
    /// there is none to answer now.
    pub(super) fn publish(&mut self, msg: Say, userhost: UserHost) -> Option<(u64, SystemTime)> {
        let cluster = self.cluster.as_deref()?;
        let fields = Outgoing {
            origin: cluster.node_id(),
            sender: msg.id.number(),
            echo: msg.echo,
            kind: msg.kind,
            from: &msg.from,
            userhost: &userhost,
            account: msg.account.as_deref(),
            tags: msg.tags.as_deref(),
            text: &msg.text,
        }
        .encode();
        let published = cluster.publish(self.name.folded().clone(), fields);
        let ack = msg.ack;
        let room = self.name.clone();
        actix_rt::spawn(async move {
            let said = match published.await {
                Ok((seq, time)) => Said::Stored { seq, time },
                Err(e) => {
                    tracing::warn!(%e, %room, "room message not published");
                    Said::Refused(ErrorCode::ClusterUnavailable)
                }
            };
            if let Some(ack) = ack {
                ack.settle(said);
            }
        });
        None
    }
}

impl Handler<Delivered> for Room {
    type Result = ();

    fn handle(&mut self, Delivered(m): Delivered, _: &mut Self::Context) {
        let own = self
            .cluster
            .as_deref()
            .is_some_and(|c| c.node_id() == m.origin);
        // The sender has its answer, not the message, unless it echoes.
        let except = (own && !m.echo).then(|| SessionId::from_number(m.sender));
        self.messages = self.messages.max(m.seq);
        let event = Event::Msg {
            room: self.name.clone(),
            from: m.from,
            userhost: m.userhost,
            text: m.text,
            kind: m.kind,
            meta: MsgMeta {
                seq: m.seq,
                time: m.time,
                tags: m.tags,
                account: m.account,
            },
        };
        self.broadcast(&event, except);
    }
}
