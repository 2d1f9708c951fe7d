//! CHATHISTORY (IRCv3 `draft/chathistory`): a channel's stored messages,
//! read with the store's typed queries (the same as native HISTORY's), and
//! sent as the JOIN replay is (`send_history`). Only channels the client
//! is in can be read; private messages are not stored, so there is no
//! history of them.

use super::*;
use crate::proto::irc::command::{HistoryFail, HistoryRequest};

/// Messages one CHATHISTORY request returns at most (`CHATHISTORY=` in
/// ISUPPORT).
pub const CHATHISTORY_MAX: u32 = 100;

impl Session {
    pub(super) fn cmd_chathistory(
        &mut self,
        req: Result<HistoryRequest, HistoryFail>,
        ctx: &mut Context<Self>,
    ) {
        let req = match req {
            Ok(req) => req,
            Err(fail) => return self.history_fail(fail),
        };
        let (Some(db), Some(joined)) = (&self.state.core.db, self.joined(req.target.folded()))
        else {
            return self.history_fail(HistoryFail {
                code: "INVALID_TARGET",
                context: vec![
                    subcommand(&req).to_string(),
                    req.target.as_str().to_string(),
                ],
                text: "Messages could not be retrieved",
            });
        };
        let (db, name) = (db.clone(), joined.name.clone());
        let limit = req.limit.clamp(1, CHATHISTORY_MAX);
        let query = req.query;
        let read = async move { db.query(&name, query, limit).await };
        let name = joined.name.clone();
        ctx.wait(read.into_actor(self).map(move |messages, act, _| {
            act.send_history(&name, messages);
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
