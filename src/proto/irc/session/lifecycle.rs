//! Liveness and the end of a session: idle checks and PING, the
//! registration deadline, shutdown, leaving rooms and the directory, and
//! the writer's end.

use std::time::SystemTime;

use tracing::warn;

use super::*;
use crate::core::directory::ReleaseNick;
use crate::core::member::deliver_once;
use crate::core::opers::{banned_reason, killed_reason};
use crate::core::room;
use crate::transport::send_queue::WriterEnd;

/// Why a session ended: what the client is told in `ERROR`, and others
/// in `QUIT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The client's `QUIT`, with its own words if it gave any.
    Quit(Option<String>),
    /// The peer went away, or reading or writing failed.
    ConnectionClosed,
    /// No line came in time after a `PING`.
    PingTimeout,
    /// Registration did not end in time.
    RegistrationTimeout,
    /// The client read too slowly for what it was sent.
    SendQueueExceeded,
    /// The server password was wrong or missing.
    BadPassword,
    /// The server is stopping.
    ServerShutdown,
    /// The client kept an account's nickname past the grace, and no other
    /// nickname could be given to it.
    NickReserved,
    /// `accounts.require_login`, and the client did not log in (SASL)
    /// before registering.
    LoginRequired,
    /// Cluster mode: another node took its nickname while this one was
    /// cut off from Redis longer than its lease.
    NickCollision(crate::core::Nick),
    /// A server operator's KILL.
    Killed {
        /// The operator's nickname.
        by: crate::core::Nick,
        /// Why.
        reason: String,
    },
    /// A server ban (KLINE) matches the connection.
    Banned(String),
}

impl Ending {
    /// What others see in `QUIT` (natively: `QUIT <nick> [reason]`).
    pub fn quit_reason(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        Some(Cow::Borrowed(match self {
            Ending::Quit(words) => return words.as_deref().map(Cow::Borrowed),
            Ending::Killed { by, reason } => return Some(Cow::Owned(killed_reason(by, reason))),
            Ending::Banned(reason) => return Some(Cow::Owned(banned_reason(reason))),
            Ending::ConnectionClosed => "connection closed",
            Ending::PingTimeout => "ping timeout",
            Ending::RegistrationTimeout => "registration timeout",
            Ending::SendQueueExceeded => "send queue exceeded",
            Ending::BadPassword => "bad password",
            Ending::ServerShutdown => "server shutting down",
            Ending::NickReserved => "nickname reserved",
            Ending::NickCollision(_) => "nickname collision",
            Ending::LoginRequired => "login required",
        }))
    }

    /// Why, as the client's `ERROR` line words it.
    fn error_reason(&self) -> String {
        match self {
            Ending::Quit(Some(words)) => format!("Quit: {words}"),
            Ending::Quit(None) => "Quit".into(),
            Ending::PingTimeout => "Ping timeout".into(),
            Ending::RegistrationTimeout => "Registration timeout".into(),
            Ending::SendQueueExceeded => "SendQ exceeded".into(),
            Ending::BadPassword => "Bad password".into(),
            Ending::ServerShutdown => "Server shutting down".into(),
            Ending::NickReserved => "Nickname reserved".into(),
            Ending::NickCollision(nick) => format!(
                "Nickname collision: {nick} was taken on another node while this server was cut off from the cluster"
            ),
            Ending::LoginRequired => "Log in with SASL first".into(),
            Ending::ConnectionClosed => "Connection closed".into(),
            Ending::Killed { by, reason } => killed_reason(by, reason),
            Ending::Banned(reason) => banned_reason(reason),
        }
    }
}

impl Session {
    /// Ends the session, for the first reason given: the client is told
    /// with `ERROR` (unless its connection is gone), others with `QUIT`.
    pub(super) fn close(&mut self, why: Ending, ctx: &mut Context<Self>) {
        if self.closing() {
            return;
        }
        if why != Ending::ConnectionClosed && why != Ending::SendQueueExceeded {
            let host = self.userhost.host();
            let text = format!("Closing Link: {host} ({})", why.error_reason());
            self.line(ServerLine::Error(text));
        }
        self.ending = Some(Box::new(why));
        ctx.stop();
    }

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
        self.close(Ending::ServerShutdown, ctx);
    }

    /// Runs when the check scheduled last comes due. The first comes a
    /// ping interval after connecting: a client not registered by then is
    /// dropped.
    pub(super) fn idle_check(&mut self, ctx: &mut Context<Self>) {
        let limits = &self.state.core.config().limits;
        let interval = Duration::from_secs(limits.ping_interval_secs);
        let timeout = Duration::from_secs(limits.ping_timeout_secs);
        if !self.registered() {
            info!(parent: &self.span, "registration timeout");
            return self.close(Ending::RegistrationTimeout, ctx);
        }
        if self.ping_sent {
            info!(parent: &self.span, "ping timeout");
            return self.close(Ending::PingTimeout, ctx);
        }
        let idle = Instant::now().saturating_duration_since(self.flood.last());
        if idle >= interval {
            let token = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            self.line(ServerLine::Ping(token.to_string()));
            self.ping_sent = true;
            self.schedule_idle_check(timeout, ctx);
        } else {
            self.schedule_idle_check(interval - idle, ctx);
        }
    }

    /// Leaves the registry and every room, telling others; closes the
    /// queue so the writer flushes and ends.
    pub(super) fn leave_everything(&mut self) {
        let why = self
            .ending
            .get_or_insert_with(|| Box::new(Ending::ConnectionClosed));
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
            let userhost = self.userhost.clone();
            actix::spawn(async move {
                let mut audience = Vec::new();
                for joined in rooms {
                    let leave = room::Leave {
                        who: who.clone(),
                        announce,
                        reason: shared_reason.clone(),
                    };
                    if let Ok(members) = joined.send(leave).await {
                        audience.push(members);
                    }
                }
                if announce && !audience.is_empty() {
                    let quit = Event::Quit {
                        nick,
                        userhost,
                        reason,
                    };
                    deliver_once(audience, &quit);
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
            WriterEnd::Closed => Ending::ConnectionClosed,
            WriterEnd::Overflowed => {
                warn!(parent: &self.span, "send queue exceeded");
                Ending::SendQueueExceeded
            }
            WriterEnd::Failed(e) => {
                debug!(parent: &self.span, %e, "write failed");
                Ending::ConnectionClosed
            }
        };
        if self.closing() {
            ctx.stop();
        } else {
            self.close(why, ctx);
        }
    }

    /// Tells those sharing a channel with the client of its away message
    /// (`away-notify`: encodings without it render nothing of it).
    pub(super) fn notify_away(&mut self, ctx: &mut Context<Self>) {
        let rooms = self.rooms.clone();
        self.notify_away_in(rooms, ctx);
    }

    /// The same, to the members of `rooms` only (an away client joining
    /// one: its members learn it is away).
    pub(super) fn notify_away_in(&mut self, rooms: Vec<RoomHandle>, ctx: &mut Context<Self>) {
        let Some(nick) = self.nick.clone() else {
            return;
        };
        if rooms.is_empty() {
            return;
        }
        let event = Event::Away {
            nick,
            userhost: self.userhost.clone(),
            message: self.away.clone(),
        };
        let me = self.id;
        let work = async move {
            let mut audience = Vec::with_capacity(rooms.len());
            for room in rooms {
                if let Ok(mut members) = room.send(crate::core::room::Audience).await {
                    members.retain(|m| m.id != me);
                    audience.push(members);
                }
            }
            crate::core::member::deliver_once(audience, &event);
        };
        ctx.spawn(work.into_actor(self));
    }
}
