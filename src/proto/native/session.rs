//! One client connection: reads frames, runs commands, answers in order.
//!
//! Replies go out in command order because every command that needs
//! another actor's answer is run with `ctx.wait`, which holds back the next
//! line until it is done. `MSG` needs no answer: the session knows its
//! rooms, queues `OK MSG` itself and hands the text to the room.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use tokio::net::TcpStream;
use tracing::{debug, info, warn, Span};

use crate::core::directory::{
    ClaimNick, FindNick, FindRoom, GetCounts, ListRooms, OpenRoom, ReleaseNick,
};
use crate::core::files::{AddFile, GetFile, RemoveFile, SharedFile};
use crate::core::member::{deliver_once, render, Inbox, MemberHandle, Removed, SessionId};
use crate::core::outcome::{Ack, Said, SayAcks};
use crate::core::room::{self, MemberKey, RoomHandle};
use bytes::{Bytes, BytesMut};

use crate::core::files::content::{self as files, UploadSink};
use crate::core::flood::TokenBucket;
use crate::core::names::{Folded, Nick, RoomName};
use crate::core::ErrorCode;
use crate::core::Event;
use crate::core::FileTarget;
use crate::proto::native::codec::{Frame, LineCodec};
use crate::proto::native::help;
use crate::proto::native::parser::{announced_body_len, parse_line, Command};
use crate::proto::native::render::{encode_names, OkReply, Reply, NAMES_LINE_BYTES, NATIVE};
use crate::proto::native::verb::{ProtocolError, Verb, VerbTag};
use crate::send_queue::Ticket;
use crate::send_queue::{FileBody, SendQueue, Writer, WriterEnd};
use crate::server::{ServerState, SocketGuard};
use crate::storage::StoredMessage;
use crate::transport::link::{Incoming, Link};

/// A room the session is in.
struct Membership {
    name: RoomName,
    addr: RoomHandle,
    /// Answers the session's messages to this room.
    acks: Arc<MsgAcks>,
}

/// Spells the answers to one session's messages in one room: `OK MSG`
/// rendered once at JOIN, or the `ERR MSG` of a refusal.
struct MsgAcks {
    queue: SendQueue,
    room: RoomName,
    ok: Bytes,
}

impl MsgAcks {
    fn new(queue: SendQueue, room: RoomName) -> Self {
        MsgAcks {
            ok: Reply::Ok(OkReply::Msg(room.clone())).to_line(),
            queue,
            room,
        }
    }

    fn line(&self, said: Said) -> Bytes {
        let (code, text) = match said {
            Said::Stored { .. } => return self.ok.clone(),
            Said::Refused(code) => (code, format!("you are not in {}", self.room)),
            Said::NotStored => (
                ErrorCode::Internal,
                "the message could not be stored".into(),
            ),
        };
        Reply::Err(ProtocolError::new(Verb::Msg, code, text)).to_line()
    }
}

impl SayAcks for MsgAcks {
    fn settle(&self, answers: &mut dyn Iterator<Item = (Ticket, Said)>) {
        self.queue
            .settle(answers.map(|(ticket, said)| (ticket, self.line(said))));
    }
}

/// Where a finished upload is announced.
enum Destination {
    /// A room the sender is in.
    Room(RoomHandle, RoomName),
    /// A user, looked up when the upload is complete.
    User(Nick),
}

/// An upload being written to disk.
struct Storing {
    dest: Destination,
    filename: String,
    /// `None` while a chunk is being written, or after a failure.
    sink: Option<UploadSink>,
    /// Body bytes not yet handed to the sink.
    pending: BytesMut,
    /// Writing failed: the rest of the body is read and dropped.
    failed: bool,
}

/// What to do with the raw body of a `FILE` that is being read.
// The session boxes it whole: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Upload {
    /// Read it and throw it away, then answer with this error.
    Discard(ProtocolError),
    /// Store it and share it.
    Store(Storing),
}

/// Bytes gathered before one write to disk.
const UPLOAD_CHUNK: usize = 64 * 1024;
/// MSGs a client may have waiting for storage before it must wait: bounds
/// what one client can pile up in the database queue.
const MAX_UNACKED_MSGS: usize = 256;

/// The actor behind one connection.
pub struct Session {
    id: SessionId,
    state: Arc<ServerState>,
    span: Span,
    queue: SendQueue,
    nick: Option<Nick>,
    /// The rooms the client is in, oldest join first: the last is current.
    rooms: Vec<Membership>,
    /// Flood control; also when the last line came (the idle clock).
    flood: TokenBucket,
    /// A PING went out and no line has come since.
    ping_sent: bool,
    /// Boxed: most connections never upload.
    upload: Option<Box<Upload>>,
    /// The reason others see in `QUIT` once the session ends.
    quit_reason: Option<Box<str>>,
    closing: bool,
    /// The writer is running: the actor must outlive its stop until then.
    writing: bool,
    /// Rooms and registry have been left.
    left: bool,
    /// The whole server is stopping: nobody is told of this QUIT.
    server_stopping: bool,
}

impl Session {
    /// Starts the session of a freshly accepted connection; its context
    /// drives the socket (see [`Link`]).
    pub fn start(
        stream: TcpStream,
        peer: SocketAddr,
        guard: SocketGuard,
        state: Arc<ServerState>,
    ) -> Addr<Self> {
        Session::create(move |ctx| {
            let limits = &state.config.limits;
            let codec = LineCodec::new(limits.max_line_bytes, state.config.files.max_bytes);
            let queue = SendQueue::new(limits.sendq_bytes);
            ctx.add_stream(Link::new(stream, codec, Writer::new(queue.clone()), guard));
            let now = Instant::now();
            Session {
                id: SessionId::next(),
                span: tracing::info_span!("conn", %peer, nick = tracing::field::Empty),
                queue,
                nick: None,
                rooms: Vec::new(),
                flood: TokenBucket::new(&state.flood, now),
                ping_sent: false,
                upload: None,
                quit_reason: None,
                closing: false,
                writing: true,
                left: false,
                server_stopping: false,
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

    /// This connection as rooms and the directory hold it.
    fn member_handle(&self, ctx: &Context<Self>) -> MemberHandle {
        MemberHandle {
            id: self.id,
            encoding: &NATIVE,
            queue: self.queue.clone(),
            removed: ctx.address().downgrade().recipient(),
        }
    }

    /// Where events for this connection go.
    fn inbox(&self) -> Inbox {
        Inbox {
            id: self.id,
            encoding: &NATIVE,
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

    /// Ends the session; others see `QUIT <nick> <reason>`.
    fn close(&mut self, reason: Option<String>, ctx: &mut Context<Self>) {
        if !self.closing {
            self.closing = true;
            self.quit_reason = reason.map(String::into_boxed_str);
            ctx.stop();
        }
    }

    fn joined(&self, room: &Folded) -> Option<&Membership> {
        self.rooms.iter().find(|j| j.name.folded() == room)
    }

    fn nick(&self) -> Option<&Nick> {
        self.nick.as_ref()
    }

    /// How this session is named in messages to its rooms.
    fn member_key(&self) -> Option<MemberKey> {
        self.nick.as_ref().map(|nick| MemberKey::new(self.id, nick))
    }

    // ---- reading ----------------------------------------------------

    fn on_line(&mut self, line: String, ctx: &mut Context<Self>) {
        let parsed = parse_line(&line, &self.state.names);
        let tag = match &parsed {
            Ok(cmd) => VerbTag::Known(cmd.verb()),
            Err(e) => e.verb.clone(),
        };
        let verb = tag.verb();
        match &parsed {
            Ok(cmd) => debug!(parent: &self.span, ?cmd, "command"),
            Err(e) => debug!(parent: &self.span, %e, "bad command"),
        }

        // A FILE header announces a body; it is read even when refused,
        // unless it is too large to read at all.
        // Decided exactly as the codec decides it, whatever else is wrong
        // with the line (a NUL in the file name, say).
        let body = announced_body_len(line.as_bytes());
        let max_file = self.state.config.files.max_bytes;
        if body.is_some_and(|size| size > max_file) {
            return self.in_order(0, ctx, move |act, ctx| {
                act.error(
                    Verb::File,
                    ErrorCode::FileTooLarge,
                    format!("files are limited to {max_file} bytes"),
                );
                act.close(Some("file too large".into()), ctx);
            });
        }

        let charged = verb.is_none_or(Verb::is_flood_charged);
        let outcome = if charged && !self.flood.try_take() {
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
        } else {
            parsed
        };

        // A MSG may overtake the OK MSGs still owed for earlier ones (up
        // to a bound); anything else answers after them.
        let keep = match &outcome {
            Ok(Command::Msg { .. }) => MAX_UNACKED_MSGS - 1,
            _ => 0,
        };
        self.in_order(keep, ctx, move |act, ctx| match (outcome, body) {
            (Err(e), Some(_)) => act.upload = Some(Box::new(Upload::Discard(e))),
            (Err(e), None) => act.send(e),
            (Ok(cmd), _) => act.execute(cmd, ctx),
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

    fn on_bad_frame(&mut self, code: ErrorCode, text: String, ctx: &mut Context<Self>) {
        let code = if self.flood.try_take() {
            code
        } else {
            ErrorCode::RateLimited
        };
        self.in_order(0, ctx, move |act, _| act.error(VerbTag::Star, code, text));
    }

    fn on_body(&mut self, chunk: Bytes, ctx: &mut Context<Self>) {
        let Some(Upload::Store(up)) = self.upload.as_deref_mut() else {
            return;
        };
        if up.failed {
            return;
        }
        up.pending.extend_from_slice(&chunk);
        if up.pending.len() >= UPLOAD_CHUNK {
            self.write_upload_chunk(ctx);
        }
    }

    /// Hands the gathered bytes to the sink off-thread; the session reads
    /// no further until they are written (back-pressure).
    fn write_upload_chunk(&mut self, ctx: &mut Context<Self>) {
        let Some(Upload::Store(up)) = self.upload.as_deref_mut() else {
            return;
        };
        let Some(sink) = up.sink.take() else {
            up.failed = true;
            return;
        };
        let chunk = up.pending.split().freeze();
        ctx.wait(
            sink.write(chunk)
                .into_actor(self)
                .map(|res, act, _| act.sink_ready(res)),
        );
    }

    /// Puts the sink back after a write (or its creation), or marks the
    /// upload failed.
    fn sink_ready(&mut self, res: std::io::Result<UploadSink>) {
        if let Err(e) = &res {
            warn!(parent: &self.span, %e, "cannot write an upload");
        }
        if let Some(Upload::Store(up)) = self.upload.as_deref_mut() {
            match res {
                Ok(sink) => up.sink = Some(sink),
                Err(_) => up.failed = true,
            }
        }
    }

    fn on_body_end(&mut self, ctx: &mut Context<Self>) {
        match self.upload.take().map(|up| *up) {
            Some(Upload::Discard(e)) => self.send(e),
            Some(Upload::Store(up)) => self.finish_upload(up, ctx),
            None => warn!(parent: &self.span, "file body without a header"),
        }
    }

    fn finish_upload(&mut self, up: Storing, ctx: &mut Context<Self>) {
        let (Some(from), Some(sink), false) = (self.nick.clone(), up.sink, up.failed) else {
            return self.error(
                Verb::File,
                ErrorCode::Internal,
                "the file could not be stored",
            );
        };
        let dir = self.state.config.files.dir.clone();
        let store = self.state.files.clone();
        let registry = self.state.registry.clone();
        let who = MemberKey::new(self.id, &from);
        let pending = up.pending.freeze();
        let (dest, filename) = (up.dest, up.filename);
        let work = async move {
            let internal = |e: std::io::Error| {
                warn!(%e, "cannot store an upload");
                ErrorCode::Internal
            };
            let sink = if pending.is_empty() {
                sink
            } else {
                sink.write(pending).await.map_err(internal)?
            };
            let id = files::new_id();
            let stored = sink
                .finish(dir.clone(), id.clone())
                .await
                .map_err(internal)?;
            let (target, recipient) = match dest {
                Destination::Room(addr, name) => (FileTarget::Room(name), Err(addr)),
                Destination::User(nick) => match registry
                    .send(FindNick {
                        nick: nick.folded().clone(),
                    })
                    .await
                {
                    Ok(Some((nick, inbox))) => (FileTarget::User(nick), Ok(inbox)),
                    _ => {
                        let _ = tokio::fs::remove_file(files::content_path(&dir, &id)).await;
                        return Err(ErrorCode::NoSuchNick);
                    }
                },
            };
            let file = SharedFile {
                id: id.clone(),
                target: target.clone(),
                from: from.clone(),
                size: stored.size,
                sha256: stored.sha256.clone(),
                filename: filename.clone(),
                stored: SystemTime::now(),
            };
            // Indexed before it is announced, so an immediate FETCH finds it.
            store
                .send(AddFile(file))
                .await
                .map_err(|_| ErrorCode::Internal)?;
            let event = Event::File {
                target,
                from,
                id: id.clone(),
                size: stored.size,
                sha256: stored.sha256.clone(),
                filename,
            };
            let announced = match recipient {
                Ok(inbox) => {
                    let _ = inbox.queue.push(render(inbox.encoding, &event));
                    Ok(())
                }
                Err(room) => match room.send(room::ShareFile { who, event }).await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(ErrorCode::NotInRoom),
                },
            };
            if let Err(code) = announced {
                store.do_send(RemoveFile { id });
                return Err(code);
            }
            Ok((id, stored))
        };
        ctx.wait(work.into_actor(self).map(|res, act, _| match res {
            Ok((id, stored)) => {
                info!(parent: &act.span, %id, size = stored.size, "file shared");
                act.send(OkReply::File {
                    id,
                    sha256: stored.sha256,
                });
            }
            Err(ErrorCode::NoSuchNick) => {
                act.error(Verb::File, ErrorCode::NoSuchNick, "no such user is online")
            }
            Err(ErrorCode::NotInRoom) => {
                act.error(Verb::File, ErrorCode::NotInRoom, "you left the room")
            }
            Err(code) => act.error(Verb::File, code, "the file could not be stored"),
        }));
    }

    // ---- commands ---------------------------------------------------

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
                target, filename, ..
            } => self.cmd_file(target, filename, ctx),
            Command::Fetch { id } => self.cmd_fetch(id, ctx),
            Command::History { room, count } => self.cmd_history(room, count, ctx),
            Command::Ping { token } => self.send(Reply::Pong(token)),
            Command::Pong { .. } => {}
            Command::Help { verb } => self.cmd_help(verb),
            Command::Quit { reason } => {
                self.send(OkReply::Quit);
                self.close(reason, ctx);
            }
        }
    }

    fn cmd_nick(&mut self, nick: Nick, ctx: &mut Context<Self>) {
        if self.nick.as_ref() == Some(&nick) {
            self.send(OkReply::Nick(nick));
            return;
        }
        let old = self.nick.clone();
        let registry = self.state.registry.clone();
        let rooms: Vec<RoomHandle> = self.rooms.iter().map(|j| j.addr.clone()).collect();
        let claim = ClaimNick {
            nick: nick.clone(),
            old: old.clone(),
            inbox: self.inbox(),
        };
        let new = nick.clone();
        let old_key = self.member_key();
        let work = async move {
            match registry.send(claim).await {
                Ok(Ok(())) => {}
                Ok(Err(code)) => return Err(code),
                Err(_) => return Err(ErrorCode::Internal),
            }
            let mut audience = Vec::new();
            // In no room before a first nickname.
            if let Some(who) = old_key {
                for room in rooms {
                    let rename = room::Rename {
                        who: who.clone(),
                        new: new.clone(),
                    };
                    if let Ok(members) = room.send(rename).await {
                        audience.push(members);
                    }
                }
            }
            Ok(audience)
        };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok(mut audience) => {
                if let Some(old) = act.nick.replace(nick.clone()) {
                    info!(parent: &act.span, %old, new = %nick, "nick changed");
                    if audience.is_empty() {
                        // In no room: only the client itself hears of it
                        // (it is a member of every room it is in).
                        audience.push(vec![act.inbox()]);
                    }
                    deliver_once(
                        audience,
                        &Event::Nick {
                            old,
                            new: nick.clone(),
                        },
                    );
                } else {
                    // Recorded once: a span's fields only grow, so a later
                    // NICK is an event of its own ("nick changed"), never
                    // another field on every line of the connection.
                    act.span.record("nick", nick.as_str());
                    info!(parent: &act.span, %nick, "registered");
                }
                act.send(OkReply::Nick(nick));
            }
            Err(ErrorCode::NickInUse) => act.error(
                Verb::Nick,
                ErrorCode::NickInUse,
                format!("{nick} is already taken"),
            ),
            Err(code) => act.error(Verb::Nick, code, "could not set the nickname"),
        }));
    }

    fn cmd_join(&mut self, room: RoomName, key: Option<String>, ctx: &mut Context<Self>) {
        let Some(nick) = self.nick().cloned() else {
            return;
        };
        let rejoin = self.joined(room.folded()).is_some();
        if !rejoin && self.rooms.len() >= self.state.config.limits.max_rooms_per_user {
            self.error(
                Verb::Join,
                ErrorCode::TooManyRooms,
                format!(
                    "you are in {} rooms already",
                    self.state.config.limits.max_rooms_per_user
                ),
            );
            return;
        }
        let join = room::Join {
            member: self.member_handle(ctx),
            nick,
            key,
        };
        let asked = room.clone();
        // Only the shared state is captured, not clones of what it holds:
        // ten thousand clients joining at once each wait on this future.
        let state = Arc::clone(&self.state);
        let work = async move {
            // A room that emptied and stopped a moment ago is replaced by a
            // fresh one on the next try.
            for _ in 0..8 {
                let addr = state
                    .registry
                    .send(OpenRoom {
                        name: asked.clone(),
                    })
                    .await
                    .map_err(|_| ErrorCode::Internal)?;
                let attempt = room::Join {
                    member: join.member.clone(),
                    nick: join.nick.clone(),
                    key: join.key.clone(),
                };
                let joined = match addr.send(attempt).await {
                    Ok(res) => res?,
                    Err(MailboxError::Closed) => continue,
                    Err(MailboxError::Timeout) => return Err(ErrorCode::Internal),
                };
                let on_join = state.config.history.on_join;
                let history = match (&state.db, joined.replay_upto) {
                    (Some(db), Some(upto)) if upto > 0 && on_join > 0 => {
                        db.history(&joined.name, upto, on_join).await
                    }
                    _ => Vec::new(),
                };
                let held = joined.replay_upto.is_some();
                return Ok((joined.name, addr, history, held));
            }
            Err(ErrorCode::Internal)
        };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok((name, addr, history, held)) => {
                act.send_history(&name, history);
                act.send(OkReply::Join(name.clone()));
                if held {
                    if let Some(who) = act.member_key() {
                        addr.do_send(room::Replayed { who });
                    }
                }
                act.rooms.retain(|j| j.name.folded() != name.folded());
                info!(parent: &act.span, room = %name, "joined");
                // Most clients are in one or two rooms: grow one at a time.
                act.rooms.reserve_exact(1);
                let acks = Arc::new(MsgAcks::new(act.queue.clone(), name.clone()));
                act.rooms.push(Membership { name, addr, acks });
            }
            Err(code) => {
                let text = match code {
                    ErrorCode::BadKey => format!("{room} is private: wrong or missing key"),
                    ErrorCode::RoomFull => format!("{room} is full"),
                    _ => format!("could not join {room}"),
                };
                act.error(Verb::Join, code, text);
            }
        }));
    }

    /// Queues stored messages as `HISTORY` lines; returns how many.
    fn send_history(&self, room: &RoomName, history: Vec<StoredMessage>) -> usize {
        let mut count = 0;
        for m in history {
            // A sender's nickname is valid when stored; a limit lowered since
            // must not hide their words.
            let Ok(from) = Nick::parse(&m.from, crate::core::names::STORED_NAME_LIMIT) else {
                continue;
            };
            self.send(Reply::History {
                room: room.clone(),
                time: rfc3339(m.time),
                from,
                text: m.text,
            });
            count += 1;
        }
        count
    }

    fn not_in_room(&self, verb: Verb, room: &RoomName) {
        self.error(verb, ErrorCode::NotInRoom, format!("you are not in {room}"));
    }

    fn cmd_part(&mut self, room: RoomName, reason: Option<String>, ctx: &mut Context<Self>) {
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_in_room(Verb::Part, &room);
        };
        let addr = joined.addr.clone();
        let name = joined.name.clone();
        self.rooms.retain(|j| j.name.folded() != room.folded());
        let part = addr.send(room::Part { who, reason });
        ctx.wait(part.into_actor(self).map(move |_, act, _| {
            // Gone from the room whatever it answers: a stopped room has
            // no members left to tell.
            info!(parent: &act.span, room = %name, "parted");
            act.send(OkReply::Part(name));
        }));
    }

    fn cmd_msg(&mut self, room: Option<RoomName>, text: String) {
        let Some(from) = self.nick().cloned() else {
            return;
        };
        let joined = match &room {
            Some(r) => self.joined(r.folded()),
            None => self.rooms.last(),
        };
        let Some(joined) = joined else {
            return match room {
                Some(r) => self.not_in_room(Verb::Msg, &r),
                None => self.error(
                    Verb::Msg,
                    ErrorCode::NotInRoom,
                    "you are in no room: JOIN one, or MSG #room <text>",
                ),
            };
        };
        debug!(parent: &self.span, room = %joined.name, %text, "msg");
        // Where history is kept, OK MSG comes from the database once the
        // message is stored, in the place of the ticket taken now: replies
        // to later commands wait behind it.
        let ack = self.state.db.is_some().then(|| Ack {
            to: Arc::clone(&joined.acks) as Arc<dyn SayAcks>,
            ticket: self.queue.promise(),
        });
        let ok = ack.is_none().then(|| joined.acks.ok.clone());
        joined.addr.do_send(room::Say {
            who: MemberKey::new(self.id, &from),
            from,
            text,
            ack,
        });
        if let Some(ok) = ok {
            // A refused push means the connection is already going away.
            let _ = self.queue.reply(ok);
        }
    }

    fn cmd_privmsg(&mut self, to: Nick, text: String, ctx: &mut Context<Self>) {
        let Some(from) = self.nick().cloned() else {
            return;
        };
        let find = self.state.registry.send(FindNick {
            nick: to.folded().clone(),
        });
        ctx.wait(find.into_actor(self).map(move |res, act, _| match res {
            Ok(Some((nick, inbox))) => {
                debug!(parent: &act.span, to = %nick, %text, "privmsg");
                let _ = inbox
                    .queue
                    .push(render(inbox.encoding, &Event::Privmsg { from, text }));
                act.send(OkReply::Privmsg(nick));
            }
            _ => act.error(
                Verb::Privmsg,
                ErrorCode::NoSuchNick,
                format!("no user is called {to}"),
            ),
        }));
    }

    /// Runs `then` with the room's address: from the session's own rooms,
    /// or else from the registry; answers `NO_SUCH_ROOM` if there is none.
    fn with_room<F>(&mut self, verb: Verb, room: RoomName, ctx: &mut Context<Self>, then: F)
    where
        F: FnOnce(&mut Self, RoomHandle, &mut Context<Self>) + 'static,
    {
        if let Some(joined) = self.joined(room.folded()) {
            let addr = joined.addr.clone();
            return then(self, addr, ctx);
        }
        let find = self.state.registry.send(FindRoom {
            name: room.folded().clone(),
        });
        ctx.wait(find.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Some(addr)) => then(act, addr, ctx),
            _ => act.error(
                verb,
                ErrorCode::NoSuchRoom,
                format!("there is no room {room}"),
            ),
        }));
    }

    fn cmd_names(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(Verb::Names, room.clone(), ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetNames);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| match res {
                Ok(names) => {
                    let ok = OkReply::Names(names.name.clone(), names.nicks.len());
                    // Rendered into one buffer: a big room's listing is one item.
                    let mut buf = BytesMut::with_capacity(64 + names.nicks.len() * 16);
                    encode_names(&mut buf, &names.name, &names.nicks, NAMES_LINE_BYTES);
                    Reply::Ok(ok).encode(&mut buf);
                    let _ = act.queue.reply(buf.freeze());
                }
                Err(_) => act.error(
                    Verb::Names,
                    ErrorCode::NoSuchRoom,
                    format!("there is no room {room}"),
                ),
            }));
        });
    }

    fn cmd_list(&mut self, ctx: &mut Context<Self>) {
        let ask = self.state.registry.send(ListRooms);
        ctx.wait(ask.into_actor(self).map(|res, act, _| {
            let rooms = res.unwrap_or_default();
            let count = rooms.len();
            for r in rooms {
                act.send(Reply::Room {
                    room: r.name,
                    members: r.members,
                    private: r.private,
                    topic: r.topic,
                });
            }
            act.send(OkReply::List(count));
        }));
    }

    fn cmd_server_info(&mut self, ctx: &mut Context<Self>) {
        let ask = self.state.registry.send(GetCounts);
        ctx.wait(ask.into_actor(self).map(|res, act, _| {
            let Ok(counts) = res else {
                return act.error(Verb::Info, ErrorCode::Internal, "registry unavailable");
            };
            let state = &act.state;
            let lines = [
                ("name", state.config.server.name.clone()),
                ("version", crate::VERSION.to_string()),
                ("uptime_secs", state.started.elapsed().as_secs().to_string()),
                ("users", counts.users.to_string()),
                ("rooms", counts.rooms.to_string()),
                ("connections", state.connections.open().to_string()),
                (
                    "max_line_bytes",
                    state.config.limits.max_line_bytes.to_string(),
                ),
            ];
            for (key, value) in lines {
                act.send(Reply::Info {
                    key: key.into(),
                    value,
                });
            }
            act.send(OkReply::Info);
        }));
    }

    fn cmd_room_info(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(Verb::Info, room.clone(), ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetInfo);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| {
                let Ok(info) = res else {
                    return act.error(
                        Verb::Info,
                        ErrorCode::NoSuchRoom,
                        format!("there is no room {room}"),
                    );
                };
                let lines = [
                    ("members", info.members.to_string()),
                    (
                        "owner",
                        info.owner
                            .map(|o| o.as_str().to_string())
                            .unwrap_or_default(),
                    ),
                    (
                        "private",
                        if info.private { "yes" } else { "no" }.to_string(),
                    ),
                    ("created", rfc3339(info.created)),
                    ("topic", info.topic.unwrap_or_default()),
                    ("messages", info.messages.to_string()),
                ];
                for (key, value) in lines {
                    act.send(Reply::RoomInfo {
                        room: info.name.clone(),
                        key: key.into(),
                        value,
                    });
                }
                act.send(OkReply::InfoRoom(info.name));
            }));
        });
    }

    fn cmd_topic_read(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(Verb::Topic, room.clone(), ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetInfo);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| match res {
                Ok(info) => act.send(OkReply::Topic(info.name, info.topic)),
                Err(_) => act.error(
                    Verb::Topic,
                    ErrorCode::NoSuchRoom,
                    format!("there is no room {room}"),
                ),
            }));
        });
    }

    fn cmd_topic_set(&mut self, room: RoomName, text: String, ctx: &mut Context<Self>) {
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_in_room(Verb::Topic, &room);
        };
        let ask = joined.addr.send(room::SetTopic {
            who,
            text: text.clone(),
        });
        ctx.wait(ask.into_actor(self).map(move |res, act, _| match res {
            Ok(Ok(name)) => act.send(OkReply::Topic(name, Some(text))),
            Ok(Err(ErrorCode::NotOwner)) => act.error(
                Verb::Topic,
                ErrorCode::NotOwner,
                format!("only the owner of {room} may set its topic"),
            ),
            _ => act.not_in_room(Verb::Topic, &room),
        }));
    }

    fn cmd_kick(
        &mut self,
        room: RoomName,
        nick: Nick,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_in_room(Verb::Kick, &room);
        };
        let ask = joined.addr.send(room::Kick {
            who,
            target: nick.folded().clone(),
            reason,
        });
        ctx.wait(ask.into_actor(self).map(move |res, act, _| match res {
            Ok(Ok((name, kicked))) => {
                info!(parent: &act.span, room = %name, %kicked, "kicked");
                act.send(OkReply::Kick(name, kicked));
            }
            Ok(Err(ErrorCode::NotOwner)) => act.error(
                Verb::Kick,
                ErrorCode::NotOwner,
                format!("only the owner of {room} may kick"),
            ),
            Ok(Err(ErrorCode::NoSuchNick)) => act.error(
                Verb::Kick,
                ErrorCode::NoSuchNick,
                format!("{nick} is not in {room}"),
            ),
            _ => act.not_in_room(Verb::Kick, &room),
        }));
    }

    fn cmd_file(&mut self, target: FileTarget, filename: String, ctx: &mut Context<Self>) {
        let dest = match target {
            FileTarget::Room(room) => match self.joined(room.folded()) {
                Some(j) => Destination::Room(j.addr.clone(), j.name.clone()),
                None => {
                    let e = ProtocolError::new(
                        Verb::File,
                        ErrorCode::NotInRoom,
                        format!("you are not in {room}"),
                    );
                    self.upload = Some(Box::new(Upload::Discard(e)));
                    return;
                }
            },
            FileTarget::User(nick) => Destination::User(nick),
        };
        self.upload = Some(Box::new(Upload::Store(Storing {
            dest,
            filename,
            sink: None,
            pending: BytesMut::new(),
            failed: false,
        })));
        let dir = self.state.config.files.dir.clone();
        ctx.wait(
            UploadSink::create(dir)
                .into_actor(self)
                .map(|res, act, _| act.sink_ready(res)),
        );
    }

    fn cmd_fetch(&mut self, id: String, ctx: &mut Context<Self>) {
        let Some(nick) = self.nick().cloned() else {
            return;
        };
        let rooms: Vec<Folded> = self.rooms.iter().map(|j| j.name.folded().clone()).collect();
        let store = self.state.files.clone();
        let asked = id.clone();
        let work = async move {
            let (file, path) = store.send(GetFile { id: asked }).await.ok()??;
            if !file.may_fetch(&nick, |room| rooms.contains(room)) {
                return None;
            }
            // Opened now: a retention sweep during the download is harmless.
            let content = tokio::fs::File::open(path).await.ok()?;
            Some((file, content))
        };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Some((file, content)) => {
                info!(parent: &act.span, id = %file.id, "fetch");
                act.send(Reply::Data {
                    id: file.id.clone(),
                    size: file.size,
                    filename: file.filename,
                });
                let _ = act.queue.push_body(FileBody {
                    file: content,
                    size: file.size,
                });
                act.send(OkReply::Fetch(file.id));
            }
            None => act.error(
                Verb::Fetch,
                ErrorCode::NoSuchFile,
                format!("no file {id} for you"),
            ),
        }));
    }

    fn cmd_history(&mut self, room: RoomName, count: Option<u32>, ctx: &mut Context<Self>) {
        let Some(joined) = self.joined(room.folded()) else {
            return self.not_in_room(Verb::History, &room);
        };
        let name = joined.name.clone();
        let Some(db) = self.state.db.clone() else {
            return self.send(OkReply::History(name, 0));
        };
        let history = &self.state.config.history;
        let count = count.unwrap_or(history.on_join).min(history.max_fetch);
        let query = async move { db.history(&name, u64::MAX, count).await };
        let name = joined.name.clone();
        ctx.wait(query.into_actor(self).map(move |messages, act, _| {
            let sent = act.send_history(&name, messages);
            act.send(OkReply::History(name, sent));
        }));
    }

    fn cmd_help(&mut self, verb: Option<Verb>) {
        match verb {
            Some(v) => self.send(Reply::Help(help::usage(v).to_string())),
            None => {
                for v in Verb::ALL {
                    self.send(Reply::Help(help::usage(v).to_string()));
                }
            }
        }
        self.send(OkReply::Help);
    }

    // ---- liveness ---------------------------------------------------

    fn schedule_idle_check(&mut self, after: Duration, ctx: &mut Context<Self>) {
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
    fn shut_down(&mut self, ctx: &mut Context<Self>) {
        if self.server_stopping {
            return;
        }
        self.server_stopping = true;
        self.send(Reply::Server("shutting down".into()));
        self.close(Some("server shutting down".into()), ctx);
    }

    /// Runs when the check scheduled last comes due: one is outstanding at
    /// a time, and the one after a PING is due when the client's time to
    /// answer is up.
    fn idle_check(&mut self, ctx: &mut Context<Self>) {
        let limits = &self.state.config.limits;
        let interval = Duration::from_secs(limits.ping_interval_secs);
        let timeout = Duration::from_secs(limits.ping_timeout_secs);
        if self.ping_sent {
            // Any line would have cleared it.
            info!(parent: &self.span, "ping timeout");
            self.send(Reply::Server("ping timeout".into()));
            return self.close(Some("ping timeout".into()), ctx);
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
            server: self.state.config.server.name.clone(),
            version: crate::VERSION.into(),
            text: "Welcome! Pick a nickname: NICK <name>".into(),
        });
        let interval = Duration::from_secs(self.state.config.limits.ping_interval_secs);
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

impl Session {
    /// Leaves the registry and every room, telling
    /// others; closes the queue so the writer flushes and ends.
    fn leave_everything(&mut self) {
        let reason = self
            .quit_reason
            .take()
            .map(String::from)
            .or_else(|| (!self.closing).then(|| "connection closed".to_string()));
        self.closing = true;
        info!(parent: &self.span, reason = reason.as_deref().unwrap_or("quit"), "disconnected");
        let rooms = std::mem::take(&mut self.rooms);
        if let Some(nick) = self.nick.take() {
            self.state.registry.do_send(ReleaseNick {
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
                    };
                    if let Ok(members) = joined.addr.send(leave).await {
                        audience.push(members);
                    }
                }
                if announce && !audience.is_empty() {
                    deliver_once(audience, &Event::Quit { nick, reason });
                }
            });
        }
        self.queue.close();
    }

    /// The writer finished: the queue was flushed after a stop, or the
    /// client stopped reading, or the socket failed.
    fn writer_ended(&mut self, end: WriterEnd, ctx: &mut Context<Self>) {
        self.writing = false;
        let reason = match end {
            WriterEnd::Closed => None,
            WriterEnd::Overflowed => {
                warn!(parent: &self.span, "send queue exceeded");
                Some("send queue exceeded")
            }
            WriterEnd::Failed(e) => {
                debug!(parent: &self.span, %e, "write failed");
                Some("connection closed")
            }
        };
        if self.closing {
            // Stopped already and waiting for this flush.
            ctx.stop();
        } else {
            self.close(reason.map(String::from), ctx);
        }
    }
}

impl StreamHandler<Incoming> for Session {
    fn handle(&mut self, item: Incoming, ctx: &mut Self::Context) {
        let frame = match item {
            Incoming::Frame(frame) => frame,
            Incoming::Closed(error) => {
                if let Some(e) = error {
                    debug!(parent: &self.span, %e, "read failed");
                }
                return self.close(Some("connection closed".into()), ctx);
            }
            Incoming::WriterEnded(end) => return self.writer_ended(end, ctx),
        };
        if self.closing {
            return;
        }
        self.flood.touch(&self.state.flood, Instant::now());
        self.ping_sent = false;
        match frame {
            Frame::Line(line) => self.on_line(line, ctx),
            Frame::TooLong => {
                let max = self.state.config.limits.max_line_bytes;
                self.on_bad_frame(
                    ErrorCode::LineTooLong,
                    format!("lines are limited to {max} bytes"),
                    ctx,
                )
            }
            Frame::BadUtf8 => {
                self.on_bad_frame(ErrorCode::BadUtf8, "lines must be UTF-8".into(), ctx)
            }
            Frame::Body(chunk) => self.on_body(chunk, ctx),
            Frame::BodyEnd => self.on_body_end(ctx),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // After the writer's end: nothing more can reach the client.
        self.writing = false;
        self.close(Some("connection closed".into()), ctx);
        ctx.stop();
    }
}

impl Handler<Removed> for Session {
    type Result = ();

    fn handle(&mut self, msg: Removed, _: &mut Self::Context) {
        self.rooms.retain(|j| *j.name.folded() != msg.room);
    }
}

/// Time for the session's idle check (see [`crate::transport::idle`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct IdleCheck;

impl Handler<IdleCheck> for Session {
    type Result = ();

    fn handle(&mut self, _: IdleCheck, ctx: &mut Self::Context) {
        if self.state.idle.is_closed() {
            // Taken off the wheel just before it closed.
            self.shut_down(ctx);
        } else if !self.closing {
            self.idle_check(ctx);
        }
    }
}

/// The server is shutting down.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for Session {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        self.shut_down(ctx);
    }
}
