//! One client connection: reads frames, runs commands, answers in order.
//!
//! One final reply per command, in command order, by construction: every
//! command that needs another actor's answer is run with `ctx.wait`, which
//! holds back the next line until it is done; a `MSG` (which needs no
//! answer to go on) takes a [`Ticket`](crate::transport::send_queue::Ticket)
//! in the connection's queue where its `OK MSG` will be stored, and
//! replies queued meanwhile wait behind it.
//! Other commands also wait for the owed `OK MSG`s before they run, so
//! that their data lines follow them too. Events are not ticketed.
//!
//! - `lifecycle`: idle checks, shutdown, leaving everything.
//! - `rooms`: NICK, JOIN, PART, MSG, PRIVMSG, TOPIC (set), KICK.
//! - `queries`: NAMES, LIST, INFO, TOPIC (read), HISTORY, HELP.
//! - `upload`: FILE, FETCH and LINK.
//! - `oper`: server operators' OPER, KILL, KLINE, UNKLINE, WALLOPS,
//!   CLOSE, and what operators order a session.
//! - `acks`: how stored (or refused) messages are answered, rendered once
//!   per room.

mod accounts;
mod acks;
mod lifecycle;
mod oper;
mod queries;
mod rights;
mod rooms;
mod upload;

use accounts::Login;
pub use acks::RepliesByRoom;
use acks::RoomReplies;
use rooms::NickChange;
use upload::Upload;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use actix::WeakAddr;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, info, warn, Span};

use crate::core::directory::{ClaimNick, FindNick, FindRoom, ReleaseNick};
use crate::core::files::{AddFile, GetFile, RemoveFile};
use crate::core::member::{deliver_once, Inbox, MemberHandle, Removed, SessionId};
use crate::core::outcome::{Ack, Said};
use crate::core::room::{self, MemberKey, RoomHandle};
use crate::core::store::FileRecord;
use crate::core::FileId;
use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;

use crate::core::files::content::{self as files, UploadSink};
use crate::core::flood::TokenBucket;
use crate::core::names::{Folded, Nick, RoomName};
use crate::core::services::Services;
use crate::core::store::StoredMessage;
use crate::core::ErrorCode;
use crate::core::Event;
use crate::core::FileTarget;
use crate::core::{MsgKind, UserHost};
use crate::proto::native::codec::{BadLine, Body, Frame, LineCodec};
use crate::proto::native::help;
use crate::proto::native::parser::{parse_line, Command, FetchId};
use crate::proto::native::render::{
    encode_names, Disconnect, OkReply, Reply, RoomInfoEntry, ServerInfo, NAMES_LINE_BYTES, NATIVE,
};
use crate::proto::native::verb::{ProtocolError, Verb, VerbTag};
use crate::telemetry::ConnectionGuard;
use crate::transport::connections::Connections;
use crate::transport::connections::SocketGuard;
use crate::transport::idle::{IdleCheck, IdleWheel, Shutdown};
use crate::transport::link::{Incoming, Link};
use crate::transport::send_queue::{FileBody, SendQueue, Writer, WriterEnd};

/// What every native session shares.
pub struct Shared {
    /// The core's services.
    pub core: Arc<Services>,
    /// Every listener's open sockets.
    pub connections: Arc<Connections>,
    /// Sessions waiting for their next idle check: every live session.
    pub idle: IdleWheel<WeakAddr<Session>>,
    /// Every room's rendered answers to a MSG.
    pub replies: RepliesByRoom,
}

/// A room the session is in.
struct Membership {
    /// The room (and its name: 16 bytes here, not 48).
    addr: RoomHandle,
    /// How its messages there are answered (shared by the room's native
    /// members), looked up on its first MSG there: most members of most
    /// rooms never speak, and an idle connection should cost little.
    replies: Option<Arc<RoomReplies>>,
}

impl Membership {
    /// The room's name as first spelled.
    fn name(&self) -> &RoomName {
        self.addr.name()
    }
}

/// MSGs a client may have waiting for storage before it must wait: bounds
/// what one client can pile up in the database queue.
const MAX_UNACKED_MSGS: usize = 256;

/// The actor behind one connection.
pub struct Session {
    id: SessionId,
    state: Arc<Shared>,
    span: Span,
    queue: SendQueue,
    /// The client's address: room creation and uploads are limited per
    /// address too; server bans and operator blocks' hosts match it.
    ip: IpAddr,
    nick: Option<Nick>,
    /// The rooms the client is in, oldest join first: the last is current.
    /// The first is held in place: most clients are in one room, and an
    /// idle connection's membership then costs no allocation of its own.
    rooms: SmallVec<[Membership; 1]>,
    /// Flood control; also when the last line came (the idle clock).
    flood: TokenBucket,
    /// A PING went out and no line has come since.
    ping_sent: bool,
    /// Boxed: most connections never upload.
    upload: Option<Box<Upload>>,
    /// Its account, if logged in, and a pending rename; boxed: most
    /// connections never log in.
    login: Option<Box<Login>>,
    /// Why the session is ending, once it is: what others see in `QUIT`.
    /// Boxed: a thin pointer keeps every idle session small.
    ending: Option<Box<Disconnect>>,
    /// The writer is running: the actor must outlive its stop until then.
    writing: bool,
    /// Rooms and registry have been left.
    left: bool,
    /// The whole server is stopping: nobody is told of this QUIT.
    server_stopping: bool,
    /// The operator block OPER opened, if it did. Boxed: few are.
    oper: Option<Box<crate::core::opers::OperName>>,
    /// OPER failures in a row, for the back-off.
    oper_failures: u8,
    /// Counted in `chatroom_connections` until the session goes (one
    /// byte, in what was padding).
    _counted: ConnectionGuard,
}

impl Session {
    /// Starts the session of a freshly accepted connection; its context
    /// drives the socket (see [`Link`]).
    pub fn start<S>(
        stream: S,
        peer: SocketAddr,
        (guard, counted): (SocketGuard, ConnectionGuard),
        state: Arc<Shared>,
    ) -> Addr<Self>
    where
        S: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        Session::create(move |ctx| {
            let limits = &state.core.config().limits;
            let codec = LineCodec::new(limits.max_line_bytes, state.core.config().files.max_bytes);
            let queue =
                SendQueue::with_budget(limits.sendq_bytes, Arc::clone(&state.core.large_replies));
            ctx.add_stream(Link::new(stream, codec, Writer::new(queue.clone()), guard));
            let now = Instant::now();
            Session {
                id: SessionId::next(),
                span: tracing::info_span!("conn", %peer, nick = tracing::field::Empty),
                queue,
                ip: peer.ip(),
                nick: None,
                rooms: SmallVec::new(),
                flood: TokenBucket::new(&state.core.flood(), now),
                ping_sent: false,
                upload: None,
                login: None,
                ending: None,
                writing: true,
                left: false,
                server_stopping: false,
                oper: None,
                oper_failures: 0,
                _counted: counted,
                state,
            }
        })
    }

    /// Queues a reply, behind the final replies still owed to earlier
    /// commands.
    fn send(&self, reply: impl Into<Reply>) {
        // A refused push means the connection is already going away.
        let _ = self.queue.reply(reply.into().to_line());
    }

    /// Queues a command's whole answer, its data lines and its final
    /// reply, as one reply: however large, it is paced into the queue as
    /// the client reads it ([`SendQueue::reply`]), never overflowing it.
    fn send_all(&self, replies: impl IntoIterator<Item = Reply>) {
        let mut buf = BytesMut::new();
        for reply in replies {
            reply.encode(&mut buf);
        }
        // A refused push means the connection is already going away.
        let _ = self.queue.reply(buf.freeze());
    }

    /// This connection, as the directory rate-limits the rooms it creates.
    fn creator(&self) -> crate::core::directory::Creator {
        crate::core::directory::Creator {
            id: self.id,
            ip: self.ip,
        }
    }

    /// This connection as rooms and the directory hold it.
    fn member_handle(&self, ctx: &Context<Self>) -> MemberHandle {
        MemberHandle {
            inbox: self.inbox(),
            removed: ctx.address().downgrade().recipient(),
        }
    }

    /// Where events for this connection go.
    fn inbox(&self) -> Inbox {
        Inbox {
            id: self.id,
            encoding: NATIVE,
            queue: self.queue.clone(),
        }
    }

    fn error(
        &self,
        verb: impl Into<VerbTag>,
        code: ErrorCode,
        text: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        self.send(ProtocolError::new(verb, code, text));
    }

    /// Ends the session, for the first reason given; others see
    /// `QUIT <nick> [reason]`.
    fn close(&mut self, why: Disconnect, ctx: &mut Context<Self>) {
        if !self.closing() {
            self.ending = Some(Box::new(why));
            ctx.stop();
        }
    }

    /// The session is ending: its lines are no longer read.
    fn closing(&self) -> bool {
        self.ending.is_some()
    }

    fn joined(&self, room: &Folded) -> Option<&Membership> {
        self.rooms.iter().find(|j| j.name().folded() == room)
    }

    /// The folded names of the rooms it is in (who may fetch a file).
    fn room_keys(&self) -> Vec<Folded> {
        self.rooms
            .iter()
            .map(|j| j.name().folded().clone())
            .collect()
    }

    fn nick(&self) -> Option<&Nick> {
        self.nick.as_ref()
    }

    /// How this session is named in messages to its rooms.
    fn member_key(&self) -> Option<MemberKey> {
        self.nick.as_ref().map(|nick| MemberKey::new(self.id, nick))
    }

    /// Runs a line; `has_body` when it is a FILE header whose body the
    /// codec reads next, so that any refusal waits for the body's end.
    fn on_line(&mut self, line: String, has_body: bool, ctx: &mut Context<Self>) {
        let parsed = parse_line(&line, &self.state.core.names());
        let tag = match &parsed {
            Ok(cmd) => VerbTag::Known(cmd.verb()),
            Err(e) => e.verb.clone(),
        };
        let verb = tag.verb();
        match &parsed {
            Ok(cmd) => debug!(parent: &self.span, ?cmd, "command"),
            Err(e) => debug!(parent: &self.span, %e, "bad command"),
        }

        let charged = verb.is_none_or(Verb::is_flood_charged);
        let outcome = if charged && !self.flood.try_take() {
            crate::telemetry::flood_refused(crate::telemetry::Protocol::Native);
            Err(ProtocolError::new(
                tag,
                ErrorCode::RateLimited,
                "slow down: too many commands",
            ))
        } else if self.nick.is_none() && verb.is_some_and(|v| !v.allowed_before_nick()) {
            Err(ProtocolError::new(
                tag,
                ErrorCode::NoNick,
                "set a nickname first: NICK <name>",
            ))
        } else if self.account().is_none()
            && verb.is_some_and(|v| !v.allowed_before_login())
            && self.state.core.login_required()
        {
            Err(ProtocolError::new(
                tag,
                ErrorCode::LoginRequired,
                "this server needs a login: LOGIN <account> <password> (or REGISTER)",
            ))
        } else {
            parsed
        };

        // A MSG may overtake the OK MSGs still owed for earlier ones (up
        // to a bound); anything else answers after them.
        let keep = match &outcome {
            Ok(Command::Msg { .. }) => MAX_UNACKED_MSGS - 1,
            _ => 0,
        };
        self.in_order(keep, ctx, move |act, ctx| match outcome {
            Err(e) => act.refuse(e, has_body),
            Ok(cmd) => act.execute(cmd, ctx),
        });
    }

    /// Answers a refused line, after its body when it announced one: the
    /// body is read and thrown away first, so the stream stays in sync.
    fn refuse(&mut self, e: ProtocolError, has_body: bool) {
        if has_body {
            self.upload = Some(Box::new(Upload::Discard(e)));
        } else {
            self.send(e);
        }
    }

    /// A FILE header whose body the codec will not read: the connection
    /// cannot tell where the next line starts, so it ends.
    fn file_too_large(&mut self, size: u64, ctx: &mut Context<Self>) {
        debug!(parent: &self.span, size, "file too large");
        let max_file = self.state.core.config().files.max_bytes;
        self.in_order(0, ctx, move |act, ctx| {
            act.error(
                Verb::File,
                ErrorCode::FileTooLarge,
                format!("files are limited to {max_file} bytes"),
            );
            act.close(Disconnect::FileTooLarge, ctx);
        });
    }

    /// Runs `f` once at most `keep` promised `OK MSG` replies are still
    /// owed, so that replies go out in command order.
    fn in_order<F>(&mut self, keep: usize, ctx: &mut Context<Self>, f: F)
    where
        F: FnOnce(&mut Self, &mut Context<Self>) + 'static,
    {
        if self.queue.acks_pending() <= keep {
            return f(self, ctx);
        }
        let settled = self.queue.acks_at_most(keep);
        ctx.wait(
            settled
                .into_actor(self)
                .map(move |(), act, ctx| f(act, ctx)),
        );
    }

    /// Answers a line that could not be read (after its body, as for
    /// [`Self::on_line`]); it is charged like any other line.
    fn on_bad_line(&mut self, bad: BadLine, has_body: bool, ctx: &mut Context<Self>) {
        let (code, text) = match bad {
            BadLine::TooLong => {
                let max = self.state.core.config().limits.max_line_bytes;
                (
                    ErrorCode::LineTooLong,
                    format!("lines are limited to {max} bytes"),
                )
            }
            BadLine::NotUtf8 => (ErrorCode::BadUtf8, "lines must be UTF-8".to_owned()),
        };
        let code = if self.flood.try_take() {
            code
        } else {
            crate::telemetry::flood_refused(crate::telemetry::Protocol::Native);
            ErrorCode::RateLimited
        };
        let e = ProtocolError::new(VerbTag::Star, code, text);
        self.in_order(0, ctx, move |act, _| act.refuse(e, has_body));
    }

    fn execute(&mut self, cmd: Command, ctx: &mut Context<Self>) {
        match cmd {
            Command::Nick { nick } => self.cmd_nick(nick, ctx),
            Command::Join { room, key } => self.cmd_join(room, key, ctx),
            Command::Part { room, reason } => self.cmd_part(room, reason, ctx),
            Command::Msg { room, text } => self.cmd_msg(room, text),
            Command::Privmsg { to, text } => self.cmd_privmsg(to, text, ctx),
            Command::Names { room } => self.cmd_names(room, ctx),
            Command::List => self.cmd_list(ctx),
            Command::Info { room: None } => self.cmd_server_info(ctx),
            Command::Info { room: Some(room) } => self.cmd_room_info(room, ctx),
            Command::Topic { room, text: None } => self.cmd_topic_read(room, ctx),
            Command::Topic {
                room,
                text: Some(text),
            } => self.cmd_topic_set(room, text, ctx),
            Command::Kick { room, nick, reason } => self.cmd_kick(room, nick, reason, ctx),
            Command::File {
                target,
                size,
                filename,
            } => self.cmd_file(target, size, filename, ctx),
            Command::Fetch { id } => self.cmd_fetch(id, ctx),
            Command::Link { id } => self.cmd_link(id, ctx),
            Command::History { room, count } => self.cmd_history(room, count, ctx),
            Command::Ping { token } => self.send(Reply::Pong(token)),
            Command::Pong { .. } => {}
            Command::Help { verb } => self.cmd_help(verb),
            Command::Oper { name, password } => self.cmd_oper(name, password, ctx),
            Command::Kill { nick, reason } => self.cmd_kill(nick, reason, ctx),
            Command::Kline { ban } => self.cmd_kline(ban, ctx),
            Command::Unkline { mask } => self.cmd_unkline(mask),
            Command::Wallops { text } => self.cmd_wallops(text, ctx),
            Command::Close { room, reason } => self.cmd_close(room, reason, ctx),
            Command::Quit { reason } => {
                self.send(OkReply::Quit);
                self.close(Disconnect::Quit(reason), ctx);
            }
            Command::Register { account, password } => self.cmd_register(account, password, ctx),
            Command::Login { account, password } => self.cmd_login(account, password, ctx),
            Command::Logout => self.cmd_logout(ctx),
            Command::Passwd { old, new } => self.cmd_passwd(old, new, ctx),
            Command::Op { room, nick, on } => self.cmd_op(room, nick, on, ctx),
            Command::Ban { room, mask: None } => self.cmd_bans(room, ctx),
            Command::Ban {
                room,
                mask: Some(mask),
            } => self.cmd_ban(room, mask, true, ctx),
            Command::Unban { room, mask } => self.cmd_ban(room, mask, false, ctx),
            Command::Owner { room, nick } => self.cmd_owner(room, nick, ctx),
        }
    }
}

/// RFC 3339 in UTC, to the second.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        info!(parent: &self.span, "connected");
        self.send(Reply::Hello {
            server: self.state.core.config().server.name.clone(),
            version: crate::VERSION.into(),
            text: "Welcome! Pick a nickname: NICK <name>".into(),
        });
        let interval = Duration::from_secs(self.state.core.config().limits.ping_interval_secs);
        self.schedule_idle_check(interval, ctx);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        if !self.left {
            self.left = true;
            self.leave_everything();
        }
        // Lines queued before the stop (OK QUIT, a last error) still go out.
        if self.writing {
            Running::Continue
        } else {
            Running::Stop
        }
    }
}

impl StreamHandler<Incoming<Frame>> for Session {
    fn handle(&mut self, item: Incoming<Frame>, ctx: &mut Self::Context) {
        let frame = match item {
            Incoming::Frame(frame) => frame,
            Incoming::Closed(error) => {
                if let Some(e) = error {
                    debug!(parent: &self.span, %e, "read failed");
                }
                return self.close(Disconnect::ConnectionClosed, ctx);
            }
            Incoming::WriterEnded(end) => return self.writer_ended(end, ctx),
        };
        if self.closing() {
            return;
        }
        self.flood.touch(&self.state.core.flood(), Instant::now());
        self.ping_sent = false;
        match frame {
            Frame::Line(line) => self.on_line(line, false, ctx),
            Frame::Bad(bad) => self.on_bad_line(bad, false, ctx),
            // Whatever else is wrong with the header: it is checked first.
            Frame::FileHeader {
                body: Body::TooLarge(size),
                ..
            } => self.file_too_large(size, ctx),
            Frame::FileHeader {
                line,
                body: Body::Follows(_),
            } => match line {
                Ok(line) => self.on_line(line, true, ctx),
                Err(bad) => self.on_bad_line(bad, true, ctx),
            },
            Frame::Body(chunk) => self.on_body(chunk, ctx),
            Frame::BodyEnd => self.on_body_end(ctx),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // After the writer's end: nothing more can reach the client.
        self.writing = false;
        self.close(Disconnect::ConnectionClosed, ctx);
        ctx.stop();
    }
}

impl Handler<Removed> for Session {
    type Result = ();

    fn handle(&mut self, msg: Removed, _: &mut Self::Context) {
        self.rooms.retain(|j| *j.name().folded() != msg.room);
    }
}

impl Handler<IdleCheck> for Session {
    type Result = ();

    fn handle(&mut self, _: IdleCheck, ctx: &mut Self::Context) {
        if self.state.idle.is_closed() {
            // Taken off the wheel just before it closed.
            self.shut_down(ctx);
        } else if !self.closing() {
            self.idle_check(ctx);
        }
    }
}

impl Handler<Shutdown> for Session {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        self.shut_down(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_sessions_task_fits_640_bytes() {
        // Every connection is one tokio task holding this future: the
        // task adds 32 bytes before it, 24 around it and 48 after, rounded
        // up to 128. Past 536 bytes it takes 768 (measured: +128 B per
        // idle connection): box what most sessions never use instead.
        assert!(size_of::<actix::dev::ContextFut<Session, Context<Session>>>() <= 536);
    }

    #[test]
    fn a_membership_is_two_pointers() {
        // Every member keeps one per room: the room's name comes from the
        // shared handle, not a copy here.
        assert_eq!(size_of::<Membership>(), 2 * size_of::<usize>());
        // The first in place costs the session no more than a `Vec` would.
        assert_eq!(
            size_of::<SmallVec<[Membership; 1]>>(),
            size_of::<Vec<Membership>>()
        );
    }

    #[test]
    fn a_tcp_link_fits_160_bytes() {
        // actix boxes the link with one more byte: past 152 bytes it takes
        // jemalloc's 192 or 224 class (measured: +64 B per idle connection
        // with a 48-byte guard). The stream is tokio's, whose size the
        // features tests turn on change (32 bytes in the server).
        type TcpLink = Link<tokio::net::TcpStream, LineCodec, SocketGuard>;
        let ours = size_of::<TcpLink>() - size_of::<tokio::net::TcpStream>();
        assert!(ours <= 152 - 32, "{ours}");
    }
}
