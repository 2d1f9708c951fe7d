//! CHATHISTORY (IRCv3 `draft/chathistory`): a channel's stored messages,
//! read with the store's typed queries (the same as native HISTORY's), and
//! sent as the JOIN replay is (`send_history`). Only channels the client
//! is in can be read; private messages are not stored, so there is no
//! history of them.

use super::*;
use crate::core::store::{Anchor, HistoryQuery};
use crate::proto::irc::command::{HistoryCommand, HistoryFail, HistoryRequest};

/// Messages one CHATHISTORY request returns at most (`CHATHISTORY=` in
/// ISUPPORT).
pub const CHATHISTORY_MAX: u32 = 100;

impl Session {
    pub(super) fn cmd_chathistory(
        &mut self,
        req: Result<HistoryCommand, HistoryFail>,
        ctx: &mut Context<Self>,
    ) {
        let req = match req {
            Ok(HistoryCommand::Read(req)) => req,
            Ok(HistoryCommand::Targets { from, to, limit }) => {
                return self.history_targets(from, to, limit, ctx)
            }
            Err(fail) => return self.history_fail(fail),
        };
        let core = &self.state.core;
        let kept = core.db.is_some() || core.cluster.is_some();
        let (true, Some(joined)) = (kept, self.joined(req.target.folded())) else {
            return self.history_fail(HistoryFail {
                code: "INVALID_TARGET",
                context: vec![
                    subcommand(&req).to_string(),
                    req.target.as_str().to_string(),
                ],
                text: "Messages could not be retrieved",
            });
        };
        let (core, name) = (std::sync::Arc::clone(core), joined.name().clone());
        let limit = req.limit.clamp(1, CHATHISTORY_MAX);
        let query = req.query;
        let context = vec![subcommand(&req).to_string(), name.as_str().to_string()];
        let read = async move { core.query_history(&name, query, limit).await };
        let name = joined.name().clone();
        ctx.wait(read.into_actor(self).map(move |read, act, _| match read {
            Ok(messages) => act.send_history(&name, messages),
            Err(_) => act.history_fail(HistoryFail {
                code: "MESSAGE_ERROR",
                context,
                text: "Messages could not be retrieved",
            }),
        }));
    }

    /// `TARGETS`: the channels the client is in with messages between two
    /// times, each with its latest message's time, in the order of those
    /// times (channels only: private messages are not stored).
    fn history_targets(
        &mut self,
        from: std::time::SystemTime,
        to: std::time::SystemTime,
        limit: u32,
        ctx: &mut Context<Self>,
    ) {
        let core = std::sync::Arc::clone(&self.state.core);
        if core.db.is_none() && core.cluster.is_none() {
            return self.history_fail(HistoryFail {
                code: "INVALID_TARGET",
                context: vec!["TARGETS".into()],
                text: "History is not kept on this server",
            });
        };
        let (from, to) = if from <= to { (from, to) } else { (to, from) };
        let rooms: Vec<RoomName> = self.rooms.iter().map(|j| j.name().clone()).collect();
        let limit = usize::try_from(limit.clamp(1, CHATHISTORY_MAX)).unwrap_or(1);
        let read = async move {
            let mut found = Vec::new();
            for room in rooms {
                // The newest strictly between: nearest the later end.
                let query = HistoryQuery::Between(Anchor::Time(to), Anchor::Time(from));
                let read = core.query_history(&room, query, 1).await;
                if let Some(last) = read.unwrap_or_default().pop() {
                    found.push((last.time, room));
                }
            }
            found.sort_by_key(|(time, _)| *time);
            found.truncate(limit);
            found
        };
        ctx.wait(read.into_actor(self).map(|found, act, _| {
            let batch = act.caps.batch.then(|| act.next_batch());
            if let Some(id) = &batch {
                act.line(ServerLine::BatchStart {
                    id: id.clone(),
                    kind: "draft/chathistory-targets",
                    param: None,
                });
            }
            for (time, room) in found {
                act.line(ServerLine::HistoryTarget {
                    batch: batch.clone(),
                    target: room.as_str().to_string(),
                    time,
                });
            }
            if let Some(id) = batch {
                act.line(ServerLine::BatchEnd(id));
            }
        }));
    }

    fn history_fail(&mut self, fail: HistoryFail) {
        self.line(ServerLine::FailWith {
            command: "CHATHISTORY",
            code: fail.code,
            context: fail.context,
            text: fail.text,
        });
    }
}

/// The subcommand `req` came as.
fn subcommand(req: &HistoryRequest) -> &'static str {
    use crate::core::store::HistoryQuery::*;
    match req.query {
        Latest(_) => "LATEST",
        Before(_) => "BEFORE",
        After(_) => "AFTER",
        Around(_) => "AROUND",
        Between(..) => "BETWEEN",
    }
}
