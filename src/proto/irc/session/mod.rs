//! One IRC client connection: reads lines, runs commands, answers in
//! order.
//!
//! Order as natively: a command that needs another actor's answer runs
//! with `ctx.wait`, which holds back the next line until it is done. IRC
//! has no final reply to promise (a PRIVMSG to a channel is answered by
//! nothing), so no ticket is ever taken.
//!
//! Flood control is the native token bucket, applied as fakelag: a line
//! that finds the bucket empty is not refused but waits (and every line
//! after it) until a token is there. A client over its rate is slowed to
//! it; the socket's buffers, not the server, hold what it sends meanwhile.
//!
//! A command with a `label` tag (labeled-response) has its lines gathered
//! instead of queued, until its last wait ends (a wait queued before the
//! command's runs after all of them: actix runs waits last first), then
//! sent as one labeled line, a `labeled-response` batch, or an `ACK`.
//!
//! - `registration`: CAP, PASS, NICK, USER, and the welcome.
//! - `history`: CHATHISTORY.
//! - `channels`: JOIN, PART, TOPIC, KICK, NAMES, LIST.
//! - `messages`: PRIVMSG, NOTICE and TAGMSG.
//! - `queries`: LUSERS, MOTD, WHO, WHOIS, WHOWAS, ISON, USERHOST, AWAY.
//! - `invites`: INVITE.
//! - `modes`: MODE.
//! - `oper`: OPER, KILL, KLINE, UNKLINE, WALLOPS, CLOSE, and what
//!   operators order a session.
//! - `lifecycle`: idle checks and PING, shutdown, leaving everything.

mod channels;
mod history;
mod invites;
mod lifecycle;
mod messages;
mod modes;
mod oper;
mod queries;
mod registration;
mod reserved;
mod sasl;

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix::WeakAddr;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, info, Span};

use crate::core::flood::TokenBucket;
use crate::core::member::{EncodingRef, Inbox, MemberHandle, Removed, SessionId};
use crate::core::names::{Folded, Nick, RoomName};
use crate::core::room::{MemberKey, RoomHandle};
use crate::core::services::Services;
use crate::core::{Event, UserHost};
use crate::telemetry::ConnectionGuard;
use crate::transport::connections::{Connections, SocketGuard};
use crate::transport::idle::{IdleCheck, IdleWheel, Shutdown};
use crate::transport::link::{Incoming, Link};
use crate::transport::send_queue::{SendQueue, Writer};

use super::codec::{IrcCodec, IrcFrame};
use super::command::{allowed_before_registration, Command, CommandError};
use super::message::Message;
use super::render::{label_answer, IrcEncodings, Look, Numeric, Server, ServerLine};
use bytes::{Bytes, BytesMut};

pub use channels::TOPICLEN;
pub use history::CHATHISTORY_MAX;
pub use lifecycle::Ending;
pub use modes::KEYLEN;
use registration::Registration;

/// The notice a client dropped for not reading is sent, if it fits.
pub const OVERFLOW_NOTICE: &[u8] = b"ERROR :Closing Link: (SendQ exceeded)\r\n";

/// What every IRC session shares.
pub struct Shared {
    /// The core's services.
    pub core: Arc<Services>,
    /// Every listener's open sockets.
    pub connections: Arc<Connections>,
    /// Sessions waiting for their next idle check: every live session.
    pub idle: IdleWheel<WeakAddr<Session>>,
    /// The server's name, network and ISUPPORT.
    pub server: Server,
    /// How events are rendered for IRC clients.
    pub encodings: IrcEncodings,
    /// When the listener started (`003`).
    pub created: std::time::SystemTime,
}

/// The answer of a labeled command, gathered while it runs.
struct Labeled {
    /// The client's label.
    label: String,
    /// The lines so far.
    answer: BytesMut,
}

/// Capabilities a client negotiated.
#[derive(Debug, Clone, Copy, Default)]
struct Caps {
    /// `multi-prefix` (one prefix level here: nothing changes).
    multi_prefix: bool,
    /// Those that change how events look: the client's encoding.
    look: Look,
    /// `echo-message`: its own messages come back as relayed.
    echo_message: bool,
    /// `batch`: replays come as `chathistory` batches.
    batch: bool,
    /// `labeled-response`: answers carry the command's `label`.
    labeled_response: bool,
    /// `cap-notify` (nothing is ever added or removed: accepted only).
    cap_notify: bool,
    /// `draft/chathistory`.
    chathistory: bool,
    /// `sasl`: AUTHENTICATE may be used.
    sasl: bool,
}

/// The actor behind one IRC connection.
pub struct Session {
    id: SessionId,
    state: Arc<Shared>,
    span: Span,
    queue: SendQueue,
    /// The peer's address: room creation is rate-limited per address too.
    ip: std::net::IpAddr,
    /// The nickname claimed in the directory (before registration ends
    /// too: a nickname is reserved as soon as NICK is accepted).
    nick: Option<Nick>,
    /// What registration still waits for; `None` once registered.
    /// Boxed: a registered connection keeps a pointer's worth.
    registration: Option<Box<Registration>>,
    /// `~username@irc`, from USER.
    userhost: UserHost,
    /// From USER.
    realname: Arc<str>,
    caps: Caps,
    /// The client-only tags of the command being run, escaped.
    client_tags: Option<Arc<str>>,
    /// The labeled command being run, if any (a cell: lines are queued
    /// from `&self`).
    labeled: RefCell<Option<Box<Labeled>>>,
    /// Batches started so far (their references are `h1`, `h2`...).
    batches: u32,
    /// Why the client is away, if it is.
    away: Option<String>,
    /// Its account, if logged in (SASL); boxed: most never log in.
    login: Option<Box<sasl::Login>>,
    /// User mode `+i` (reported, and changes nothing else: WHO and NAMES
    /// show every user to everyone, as natively).
    invisible: bool,
    rooms: Vec<RoomHandle>,
    /// Flood control; also when the last line came (the idle clock).
    flood: TokenBucket,
    /// A PING went out and no line has come since.
    ping_sent: bool,
    /// Why the session is ending, once it is.
    ending: Option<Box<Ending>>,
    /// The writer is running: the actor must outlive its stop until then.
    writing: bool,
    /// Rooms and registry have been left.
    left: bool,
    /// The whole server is stopping: nobody is told of this QUIT.
    server_stopping: bool,
    /// The client's address (server bans, operator blocks' hosts).
    peer: IpAddr,
    /// The operator block OPER opened, if it did (user mode `+o`).
    oper: Option<Box<crate::core::opers::OperName>>,
    /// OPER failures in a row, for the back-off.
    oper_failures: u8,
    /// User mode `+w`: WALLOPS are shown.
    wallops: bool,
    /// Counted in `chatroom_connections` until the session goes (one
    /// byte, in what was padding).
    _counted: ConnectionGuard,
}

impl Session {
    /// Starts the session of a freshly accepted connection.
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
            let queue =
                SendQueue::with_budget(limits.sendq_bytes, Arc::clone(&state.core.large_replies));
            let writer = Writer::with_overflow_notice(queue.clone(), &OVERFLOW_NOTICE);
            ctx.add_stream(Link::new(stream, IrcCodec::new(), writer, guard));
            Session {
                id: SessionId::next(),
                span: tracing::info_span!("irc", %peer, nick = tracing::field::Empty),
                queue,
                ip: peer.ip(),
                nick: None,
                registration: Some(Box::default()),
                userhost: UserHost::new("~unknown", "irc"),
                realname: Arc::from(""),
                caps: Caps::default(),
                client_tags: None,
                batches: 0,
                labeled: RefCell::new(None),
                away: None,
                login: None,
                invisible: false,
                rooms: Vec::new(),
                flood: TokenBucket::new(&state.core.flood(), Instant::now()),
                ping_sent: false,
                ending: None,
                writing: true,
                left: false,
                server_stopping: false,
                peer: peer.ip(),
                oper: None,
                oper_failures: 0,
                _counted: counted,
                wallops: false,
                state,
            }
        })
    }

    /// The client's nickname as numerics address it: `*` before it has one.
    fn me(&self) -> &str {
        self.nick.as_ref().map_or("*", Nick::as_str)
    }

    fn registered(&self) -> bool {
        self.registration.is_none()
    }

    /// Queues lines answering the command being run: gathered, while it
    /// is a labeled one, to be sent tagged when it is done.
    fn reply(&self, lines: Bytes) {
        if let Some(labeled) = self.labeled.borrow_mut().as_mut() {
            labeled.answer.extend_from_slice(&lines);
            return;
        }
        // A refused push means the connection is already going away.
        let _ = self.queue.reply(lines);
    }

    /// Whether the command being run is labeled.
    fn labeling(&self) -> bool {
        self.labeled.borrow().is_some()
    }

    /// Starts a command with a `label` (labeled-response): its answer is
    /// gathered until it is done, then sent as one tagged line, a
    /// `labeled-response` batch, or an `ACK`.
    fn start_labeled(&mut self, label: String, ctx: &mut Context<Self>) {
        *self.labeled.borrow_mut() = Some(Box::new(Labeled {
            label,
            answer: BytesMut::new(),
        }));
        // Waits run last first: this one, queued before any the command
        // queues (and any those queue in turn), runs once all are done.
        ctx.wait(actix::fut::ready(()).map(|(), act: &mut Self, _| act.finish_labeled()));
    }

    fn finish_labeled(&mut self) {
        let Some(labeled) = self.labeled.borrow_mut().take() else {
            return;
        };
        let me = self.nick.as_ref().map_or("*", Nick::as_str);
        let batches = &mut self.batches;
        let answer = label_answer(
            &self.state.server,
            me,
            &labeled.label,
            &labeled.answer,
            || {
                *batches += 1;
                format!("h{batches}")
            },
        );
        let _ = self.queue.reply(answer);
    }

    /// Queues a numeric.
    fn numeric(&self, n: Numeric) {
        self.reply(n.to_line(&self.state.server, self.me()));
    }

    /// Queues a line of the server's own.
    fn line(&self, l: ServerLine) {
        self.reply(l.to_line(&self.state.server, self.me()));
    }

    /// Renders a numeric into `answer`: a command whose answer can be
    /// large (LIST, WHO, a history replay) gathers it whole and queues it
    /// with one [`Session::reply`], which the queue paces as the client
    /// reads it instead of counting it all at once against `sendq_bytes`.
    fn put_numeric(&self, answer: &mut BytesMut, n: Numeric) {
        n.encode(&self.state.server, self.me(), answer);
    }

    /// Renders a line of the server's own into `answer` (see
    /// [`Session::put_numeric`]).
    fn put_line(&self, answer: &mut BytesMut, l: ServerLine) {
        l.encode(&self.state.server, self.me(), answer);
    }

    /// How this client's events are rendered.
    fn encoding(&self) -> EncodingRef {
        self.state.encodings.get(self.caps.look)
    }

    /// Queues an event about the client itself, in its own encoding.
    fn echo(&self, event: &Event) {
        self.reply(crate::core::member::render(&*self.encoding(), event));
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
            encoding: self.encoding(),
            queue: self.queue.clone(),
        }
    }

    /// A fresh batch reference.
    fn next_batch(&mut self) -> String {
        self.batches += 1;
        format!("h{}", self.batches)
    }

    fn joined(&self, room: &Folded) -> Option<&RoomHandle> {
        self.rooms.iter().find(|j| j.name().folded() == room)
    }

    /// How this session is named in messages to its rooms.
    fn member_key(&self) -> Option<MemberKey> {
        self.nick.as_ref().map(|nick| MemberKey::new(self.id, nick))
    }

    /// The session is ending: its lines are no longer read.
    fn closing(&self) -> bool {
        self.ending.is_some()
    }

    /// Takes a flood token and runs the line, or, with the bucket empty,
    /// waits until there is one (fakelag), holding back later lines too.
    fn on_frame(&mut self, frame: IrcFrame, ctx: &mut Context<Self>) {
        let rule = self.state.core.flood();
        let pong = matches!(&frame, IrcFrame::Line(l) if is_pong(l));
        if pong || self.flood.try_take() {
            return self.run_frame(frame, ctx);
        }
        let wait = self.flood.wait_for_token(&rule);
        debug!(parent: &self.span, ?wait, "fakelag");
        crate::telemetry::flood_refused(crate::telemetry::Protocol::Irc);
        ctx.wait(
            tokio::time::sleep(wait)
                .into_actor(self)
                .map(move |(), act, ctx| {
                    act.flood.touch(&rule, Instant::now());
                    // The wait was for this token; rounding aside it is there.
                    let _ = act.flood.try_take();
                    if !act.closing() {
                        act.run_frame(frame, ctx);
                    }
                }),
        );
    }

    fn run_frame(&mut self, frame: IrcFrame, ctx: &mut Context<Self>) {
        match frame {
            IrcFrame::Line(line) => self.on_line(&line, ctx),
            IrcFrame::TooLong => self.numeric(Numeric::InputTooLong),
            IrcFrame::NotUtf8(command) => self.line(ServerLine::Fail {
                command: command.unwrap_or_else(|| "*".into()),
                code: "INVALID_UTF8",
                text: "Message rejected, your IRC software MUST use UTF-8 encoding on this network",
            }),
        }
    }

    fn on_line(&mut self, line: &str, ctx: &mut Context<Self>) {
        let Ok(msg) = Message::parse(line) else {
            // Tags or a source and nothing else: nothing to answer.
            return;
        };
        if tag_bytes(line) > MAX_CLIENT_TAG_DATA {
            return self.numeric(Numeric::InputTooLong);
        }
        self.client_tags = client_tags(&msg);
        let label = msg
            .tag("label")
            .filter(|l| self.caps.labeled_response && !l.is_empty())
            .map(String::from);
        if let Some(label) = label {
            self.start_labeled(label, ctx);
        }
        let parsed = Command::parse(&msg, &self.state.core.names());
        match &parsed {
            Ok(cmd) => debug!(parent: &self.span, ?cmd, "command"),
            Err(e) => debug!(parent: &self.span, %e, "bad command"),
        }
        match parsed {
            Err(CommandError::Unknown(cmd)) => self.numeric(Numeric::UnknownCommand(cmd)),
            _ if !self.registered()
                && !allowed_before_registration(&msg.command.to_ascii_uppercase()) =>
            {
                self.numeric(Numeric::NotRegistered)
            }
            Err(e) => self.refuse(e),
            Ok(cmd) => self.execute(cmd, ctx),
        }
    }

    /// Answers a command that could not be read.
    fn refuse(&mut self, e: CommandError) {
        if e.is_silent() {
            return;
        }
        let n = match e {
            CommandError::Unknown(cmd) => Numeric::UnknownCommand(cmd),
            CommandError::NeedMoreParams(cmd) => Numeric::NeedMoreParams(cmd),
            CommandError::NoNicknameGiven => Numeric::NoNicknameGiven,
            CommandError::NoRecipient(cmd) => Numeric::NoRecipient(cmd),
            CommandError::NoTextToSend(_) => Numeric::NoTextToSend,
            CommandError::InvalidCap(sub) => Numeric::InvalidCapCmd(sub),
            CommandError::TooManyTargets(_, targets) => Numeric::TooManyTargets(targets),
        };
        self.numeric(n);
    }

    fn execute(&mut self, cmd: Command, ctx: &mut Context<Self>) {
        match cmd {
            Command::Cap(cap) => self.cmd_cap(cap, ctx),
            Command::Authenticate(arg) => self.cmd_authenticate(arg, ctx),
            Command::Pass(password) => self.cmd_pass(password, ctx),
            Command::Nick(nick) => self.cmd_nick(nick, ctx),
            Command::User { username, realname } => self.cmd_user(username, realname, ctx),
            Command::Ping(token) => self.line(ServerLine::Pong(token)),
            Command::Pong => {}
            Command::Quit(reason) => self.close(Ending::Quit(reason), ctx),
            Command::Join(args) => self.cmd_join(args, ctx),
            Command::Part { channels, reason } => self.cmd_part(channels, reason, ctx),
            Command::Message {
                kind,
                targets,
                text,
            } => self.cmd_message(kind, targets, text, ctx),
            Command::ChatHistory(req) => self.cmd_chathistory(req, ctx),
            Command::TagMsg(targets) => self.cmd_tagmsg(targets, ctx),
            Command::Topic { channel, text } => self.cmd_topic(channel, text, ctx),
            Command::Names(channels) => self.cmd_names(channels, ctx),
            Command::List(channels) => self.cmd_list(channels, ctx),
            Command::Who(mask) => self.cmd_who(mask, ctx),
            Command::Whois(nick) => self.cmd_whois(nick, ctx),
            Command::Mode {
                target,
                modes,
                args,
            } => self.cmd_mode(target, modes, args, ctx),
            Command::Kick { targets, reason } => self.cmd_kick(targets.into(), reason, ctx),
            Command::Away(text) => self.cmd_away(text, ctx),
            Command::Ison(nicks) => self.cmd_ison(nicks, ctx),
            Command::Userhost(nicks) => self.cmd_userhost(nicks, ctx),
            Command::Lusers => self.cmd_lusers(ctx),
            Command::Motd => self.send_motd(),
            Command::Version => self.cmd_version(),
            Command::Time => self.numeric(Numeric::Time(std::time::SystemTime::now())),
            Command::Info => {
                self.numeric(Numeric::Info(format!(
                    "chatroom {}: rooms for IRC and plain-text clients alike",
                    crate::VERSION
                )));
                self.numeric(Numeric::EndOfInfo);
            }
            Command::Admin => self.numeric(Numeric::NoAdminInfo),
            Command::Oper { name, password } => self.cmd_oper(name, password, ctx),
            Command::Kill { nick, reason } => self.cmd_kill(nick, reason, ctx),
            Command::Kline(req) => self.cmd_kline(req, ctx),
            Command::Unkline(mask) => self.cmd_unkline(mask),
            Command::Wallops(text) => self.cmd_wallops(text, ctx),
            Command::Close { channel, reason } => self.cmd_close(channel, reason, ctx),
            Command::Invite { nick, channel } => self.cmd_invite(nick, channel, ctx),
            Command::Whowas { nick, count } => self.cmd_whowas(nick, count, ctx),
        }
    }
}

/// Bytes of tag data a client may send (IRCv3 message-tags: 4094, the
/// `@` and the space aside); more is `417`.
const MAX_CLIENT_TAG_DATA: usize = 4094;

/// The bytes of `line`'s tag data, without its `@` and space.
fn tag_bytes(line: &str) -> usize {
    let line = line.trim_start_matches(' ');
    match line.strip_prefix('@') {
        Some(rest) => rest.find(' ').unwrap_or(rest.len()),
        None => 0,
    }
}

/// `msg`'s client-only tags (`+key[=value]`), escaped again for relaying;
/// `None` when it has none. Other tags are the server's to give.
fn client_tags(msg: &Message<'_>) -> Option<Arc<str>> {
    let mut out = bytes::BytesMut::new();
    for tag in msg
        .tags
        .iter()
        .filter(|t| t.key.len() > 1 && t.key.starts_with('+'))
    {
        if !out.is_empty() {
            out.extend_from_slice(b";");
        }
        out.extend_from_slice(tag.key.as_bytes());
        if !tag.value.is_empty() {
            out.extend_from_slice(b"=");
            super::render::put_tag_value(&mut out, &tag.value);
        }
    }
    if out.is_empty() {
        return None;
    }
    std::str::from_utf8(&out).ok().map(Arc::from)
}

/// Whether `line` is a PONG, which costs no flood token (it answers the
/// server).
fn is_pong(line: &str) -> bool {
    Message::parse(line).is_ok_and(|m| m.command.eq_ignore_ascii_case("PONG"))
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        info!(parent: &self.span, "connected");
        let interval = Duration::from_secs(self.state.core.config().limits.ping_interval_secs);
        self.schedule_idle_check(interval, ctx);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        if !self.left {
            self.left = true;
            self.leave_everything();
        }
        // Lines queued before the stop (the ERROR) still go out.
        if self.writing {
            Running::Continue
        } else {
            Running::Stop
        }
    }
}

impl StreamHandler<Incoming<IrcFrame>> for Session {
    fn handle(&mut self, item: Incoming<IrcFrame>, ctx: &mut Self::Context) {
        let frame = match item {
            Incoming::Frame(frame) => frame,
            Incoming::Closed(error) => {
                if let Some(e) = error {
                    debug!(parent: &self.span, %e, "read failed");
                }
                return self.close(Ending::ConnectionClosed, ctx);
            }
            Incoming::WriterEnded(end) => return self.writer_ended(end, ctx),
        };
        if self.closing() {
            return;
        }
        self.flood.touch(&self.state.core.flood(), Instant::now());
        self.ping_sent = false;
        self.on_frame(frame, ctx);
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // After the writer's end: nothing more can reach the client.
        self.writing = false;
        self.close(Ending::ConnectionClosed, ctx);
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
