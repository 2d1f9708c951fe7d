//! Liveness and the end of a session: idle checks and PING, shutdown,
//! leaving rooms and the directory, and the writer's end.

use super::*;

impl Session {
    pub(super) fn schedule_idle_check(&mut self, after: Duration, ctx: &mut Context<Self>) {
        let me = ctx.address().downgrade();
        if self
            .state
            .idle
            .schedule(Instant::now() + after, me)
            .is_err()
        {
            // Closed: the server is shutting down.
            self.shut_down(ctx);
        }
    }

    /// The server is stopping: say so and close.
    pub(super) fn shut_down(&mut self, ctx: &mut Context<Self>) {
        if self.server_stopping {
            return;
        }
        self.server_stopping = true;
        self.send(Reply::Server("shutting down".into()));
        self.close(Disconnect::ServerShutdown, ctx);
    }

    /// Runs when the check scheduled last comes due: one is outstanding at
    /// a time, and the one after a PING is due when the client's time to
    /// answer is up.
    pub(super) fn idle_check(&mut self, ctx: &mut Context<Self>) {
        let limits = &self.state.core.config().limits;
        let interval = Duration::from_secs(limits.ping_interval_secs);
        let timeout = Duration::from_secs(limits.ping_timeout_secs);
        if self.ping_sent {
            // Any line would have cleared it.
            info!(parent: &self.span, "ping timeout");
            self.send(Reply::Server("ping timeout".into()));
            return self.close(Disconnect::PingTimeout, ctx);
        }
        let idle = Instant::now().saturating_duration_since(self.flood.last());
        if idle >= interval {
            let token = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            self.send(Reply::Ping(token.to_string()));
            self.ping_sent = true;
            self.schedule_idle_check(timeout, ctx);
        } else {
            self.schedule_idle_check(interval - idle, ctx);
        }
    }

    /// Leaves the registry and every room, telling
    /// others; closes the queue so the writer flushes and ends.
    pub(super) fn leave_everything(&mut self) {
        // Stopped without a reason given: the connection just ended.
        let why = self
            .ending
            .get_or_insert_with(|| Box::new(Disconnect::ConnectionClosed));
        let reason = why.quit_reason().map(String::from);
        info!(parent: &self.span, reason = reason.as_deref().unwrap_or("quit"), "disconnected");
        // One copy for every room's Leave, not one each.
        let shared_reason: Option<std::sync::Arc<str>> = reason.as_deref().map(Into::into);
        self.forget_login();
        let rooms = std::mem::take(&mut self.rooms);
        if let Some(nick) = self.nick.take() {
            self.state.core.directory.do_send(ReleaseNick {
                id: self.id,
                nick: nick.folded().clone(),
            });
            let who = MemberKey::new(self.id, &nick);
            let announce = !self.server_stopping;
            actix::spawn(async move {
                let mut audience = Vec::new();
                for joined in rooms {
                    let leave = room::Leave {
                        who: who.clone(),
                        announce,
                        reason: shared_reason.clone(),
                    };
                    if let Ok(members) = joined.addr.send(leave).await {
                        audience.push(members);
                    }
                }
                if announce && !audience.is_empty() {
                    let userhost = UserHost::native();
                    deliver_once(
                        audience,
                        &Event::Quit {
                            nick,
                            userhost,
                            reason,
                        },
                    );
                }
            });
        }
        self.queue.close();
    }

    /// The writer finished: the queue was flushed after a stop, or the
    /// client stopped reading, or the socket failed.
    pub(super) fn writer_ended(&mut self, end: WriterEnd, ctx: &mut Context<Self>) {
        self.writing = false;
        let why = match end {
            // The queue is closed only once the session is ending.
            WriterEnd::Closed => Disconnect::ConnectionClosed,
            WriterEnd::Overflowed => {
                warn!(parent: &self.span, "send queue exceeded");
                Disconnect::SendQueueExceeded
            }
            WriterEnd::Failed(e) => {
                debug!(parent: &self.span, %e, "write failed");
                Disconnect::ConnectionClosed
            }
        };
        if self.closing() {
            // Stopped already and waiting for this flush.
            ctx.stop();
        } else {
            self.close(why, ctx);
        }
    }
}
