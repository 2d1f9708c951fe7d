//! The nick registry: unique nicknames (by folded key and by look, see
//! `directory/nicks.rs`), and the directory of rooms.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix::WeakRecipient;

use super::cluster::Cluster;
use super::event::UserHost;
use super::member::{Inbox, SessionId};
use super::room::{Expire, Reports, Room, RoomChanged, RoomClosed, RoomHandle, RoomSummary};
use crate::config::SharedConfig;
use crate::core::names::{Folded, Nick, RoomName};
use crate::core::opers::ServerOrder;
use crate::core::store::{Database, RoomRecord};
use crate::core::ErrorCode;
use crate::refusals::{refused, Limit};

mod claims;
mod creations;
mod inbox;
mod nicks;
mod search;
mod whowas;

pub use claims::{let_go_of_lost_nicks, ClaimNick, NickLost, ReleaseNick};
pub use creations::Creator;
use creations::{Creations, TooFast};

use nicks::Nicks;
pub use search::{Wildcard, MAX_MATCHES};
use whowas::History;
pub use whowas::PastUser;

/// What a user looks like to WHO, WHOIS, USERHOST and AWAY replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its user and host.
    pub userhost: UserHost,
    /// Its real name.
    pub realname: Arc<str>,
    /// Why it is away, if it is.
    pub away: Option<Arc<str>>,
    /// IRC user mode `+i` (counted apart in LUSERS).
    pub invisible: bool,
    /// Registration is not over (an IRC client that sent NICK and not
    /// yet USER): counted as a connection, not as a user.
    pub pending: bool,
}

struct RoomEntry {
    addr: RoomHandle,
    summary: RoomSummary,
    /// Since when the room is disposable ([`RoomSummary::disposable`]).
    disposable_since: Option<Instant>,
}

impl RoomEntry {
    fn new(addr: RoomHandle, summary: RoomSummary, now: Instant) -> Self {
        RoomEntry {
            disposable_since: summary.disposable.then_some(now),
            addr,
            summary,
        }
    }

    /// Takes the room's new summary, noting when it became disposable.
    fn update(&mut self, summary: RoomSummary, now: Instant) {
        self.disposable_since = match (summary.disposable, self.disposable_since) {
            (true, Some(since)) => Some(since),
            (true, None) => Some(now),
            (false, _) => None,
        };
        self.summary = summary;
    }
}

/// Keeps nicknames unique (case-insensitively, and no two alike) and maps
/// room names to rooms.
pub struct Directory {
    config: SharedConfig,
    db: Option<Database>,
    /// Stored rooms, started with the registry.
    stored: Vec<RoomRecord>,
    nicks: Nicks,
    /// Nicknames let go, for WHOWAS.
    history: History,
    rooms: HashMap<Folded, RoomEntry>,
    /// Where rooms report to, made at the first room.
    reports: Option<Reports>,
    /// Who created rooms lately, and how fast.
    creations: Creations,
    /// The nicknames accounts reserve: every account's name, folded.
    accounts: ReservedNicks,
    /// Which account each logged-in session is logged in to (for WHOIS).
    logins: HashMap<SessionId, Nick>,
    /// Cluster mode: where nicknames are claimed across nodes; `None` on
    /// a standalone server.
    cluster: Option<Cluster>,
    /// Cluster mode: the nicknames being claimed in Redis, and by whom
    /// (no other connection of this node may claim them meanwhile).
    claiming: HashMap<Folded, SessionId>,
}

impl Directory {
    /// A registry with the stored rooms and the names of the stored
    /// accounts (where history is kept).
    pub fn new(
        config: SharedConfig,
        db: Option<Database>,
        stored: Vec<RoomRecord>,
        accounts: Vec<String>,
    ) -> Self {
        let accounts = ReservedNicks(Arc::new(RwLock::new(
            accounts
                .iter()
                .filter_map(|a| Nick::parse(a, crate::core::names::STORED_NAME_LIMIT).ok())
                .map(|a| a.folded().clone())
                .collect(),
        )));
        Directory {
            accounts,
            logins: HashMap::new(),
            history: History::new(config.load().limits.whowas_entries),
            config,
            db,
            stored,
            nicks: Nicks::default(),
            rooms: HashMap::new(),
            reports: None,
            creations: Creations::default(),
            cluster: None,
            claiming: HashMap::new(),
        }
    }

    /// A node of a cluster: nicknames are claimed in Redis as well.
    pub fn with_cluster(mut self, cluster: Option<Cluster>) -> Self {
        self.cluster = cluster;
        self
    }
}

impl Directory {
    /// Where a new room reports to: this directory (one pair of
    /// recipients, shared by every room).
    fn reports(&mut self, ctx: &mut Context<Self>) -> Reports {
        self.reports
            .get_or_insert_with(|| {
                Reports::new(ctx.address().recipient(), ctx.address().recipient())
            })
            .clone()
    }
}

impl Actor for Directory {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(db) = self.db.clone() else { return };
        for record in std::mem::take(&mut self.stored) {
            // Names are checked against generous bounds: a stored room stays
            // reachable even if the limits were lowered since.
            let Ok(name) =
                RoomName::parse_hashed(&record.name, crate::core::names::STORED_NAME_LIMIT)
            else {
                tracing::warn!(name = %record.name, "skipping a stored room with an invalid name");
                continue;
            };
            let room = Room::restore(
                name.clone(),
                record,
                self.reports(ctx),
                &self.config,
                db.clone(),
            )
            .with_cluster(self.cluster.clone());
            let summary = room.summary();
            let addr = RoomHandle::new(name.clone(), room.start());
            let entry = RoomEntry::new(addr, summary, Instant::now());
            self.rooms.insert(name.folded().clone(), entry);
        }
        self.schedule_expiry(ctx);
    }
}

impl Directory {
    /// Looks for rooms to expire again after a while: a quarter of
    /// `history.empty_room_secs` (read each time), between 1 s and 60 s.
    fn schedule_expiry(&mut self, ctx: &mut Context<Self>) {
        let secs = (self.config.load().history.empty_room_secs / 4).clamp(1, 60);
        ctx.run_later(Duration::from_secs(secs), |act, ctx| {
            act.expire_rooms();
            act.schedule_expiry(ctx);
        });
    }

    /// Tells every room disposable for `history.empty_room_secs` to
    /// forget itself (it reports [`RoomClosed`] if it does).
    fn expire_rooms(&mut self) {
        let secs = self.config.load().history.empty_room_secs;
        if secs == 0 {
            return;
        }
        let now = Instant::now();
        let after = Duration::from_secs(secs);
        let mut told = 0;
        for entry in self.rooms.values_mut() {
            if entry
                .disposable_since
                .is_some_and(|since| now.saturating_duration_since(since) >= after)
            {
                // Asked once; the room tells again if it becomes disposable.
                entry.disposable_since = None;
                entry.addr.do_send(Expire);
                told += 1;
            }
        }
        if told > 0 {
            tracing::info!(
                rooms = told,
                "expiring rooms empty for history.empty_room_secs"
            );
        }
    }
}

/// Orders the session holding `nick` (an operator's KILL); answers the
/// nickname as spelled, or `None` if nobody holds it.
#[derive(Message)]
#[rtype(result = "Option<Nick>")]
pub struct OrderNick {
    /// The nickname, folded.
    pub nick: Folded,
    /// The order.
    pub order: ServerOrder,
}

impl Handler<OrderNick> for Directory {
    type Result = Option<Nick>;

    fn handle(&mut self, msg: OrderNick, _: &mut Self::Context) -> Self::Result {
        let (nick, orders) = self.nicks.orders(&msg.nick)?;
        orders.upgrade()?.do_send(msg.order);
        Some(nick)
    }
}

/// Orders every session holding a nickname (a new server ban to check,
/// a WALLOPS); answers how many were told.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct OrderAll {
    /// The order.
    pub order: ServerOrder,
}

impl Handler<OrderAll> for Directory {
    type Result = usize;

    fn handle(&mut self, msg: OrderAll, _: &mut Self::Context) -> Self::Result {
        let mut told = 0;
        for session in self.nicks.all_orders().filter_map(WeakRecipient::upgrade) {
            session.do_send(msg.order.clone());
            told += 1;
        }
        told
    }
}

/// Session `id` became a server operator, or is no longer one.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetOper {
    /// The session.
    pub id: SessionId,
    /// An operator from now on, or not.
    pub on: bool,
}

impl Handler<SetOper> for Directory {
    type Result = ();

    fn handle(&mut self, msg: SetOper, _: &mut Self::Context) {
        self.nicks.set_oper(msg.id, msg.on);
        self.rewrite_card_of(msg.id);
    }
}

impl Directory {
    /// Keeps a nickname let go for WHOWAS (not one whose registration
    /// never ended).
    fn remember(&mut self, user: UserInfo) {
        if !user.profile.pending {
            self.history.record(PastUser {
                nick: user.nick,
                profile: user.profile,
            });
        }
    }
}

/// The users matching a pattern (IRC's `WHO <mask>`), at most
/// [`MAX_MATCHES`], sorted by nickname; not those still registering.
#[derive(Message)]
#[rtype(result = "Vec<UserInfo>")]
pub struct Search {
    /// The pattern.
    pub pattern: Wildcard,
}

impl Handler<Search> for Directory {
    type Result = MessageResult<Search>;

    fn handle(&mut self, msg: Search, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.nicks.search(&msg.pattern))
    }
}

/// Who held a nickname before, newest first (IRC's WHOWAS).
#[derive(Message)]
#[rtype(result = "Vec<PastUser>")]
pub struct Whowas {
    /// The nickname, folded.
    pub nick: Folded,
    /// At most this many; all for `None`.
    pub count: Option<usize>,
}

impl Handler<Whowas> for Directory {
    type Result = MessageResult<Whowas>;

    fn handle(&mut self, msg: Whowas, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.history.find(&msg.nick, msg.count))
    }
}

/// Looks a user up: their nickname as spelled and where to reach them.
#[derive(Message)]
#[rtype(result = "Option<(Nick, Inbox)>")]
pub struct FindNick {
    /// The nickname, folded.
    pub nick: Folded,
}

impl Handler<FindNick> for Directory {
    type Result = Option<(Nick, Inbox)>;

    fn handle(&mut self, msg: FindNick, _: &mut Self::Context) -> Self::Result {
        self.nicks.find(&msg.nick)
    }
}

/// A user as [`Describe`] finds it.
#[derive(Clone)]
pub struct UserInfo {
    /// Its nickname as spelled.
    pub nick: Nick,
    /// Where to reach it.
    pub inbox: Inbox,
    /// What WHO and WHOIS show (a native client's: `native@native`, its
    /// nickname as real name, never away).
    pub profile: Profile,
    /// The account it is logged in to (filled by [`Describe`] only).
    pub account: Option<Nick>,
    /// A server operator (IRC's WHOIS `313`, WHO's `*`).
    pub oper: bool,
}

/// Looks users up, for WHO, WHOIS, USERHOST, ISON and private messages:
/// those found, in the order asked.
#[derive(Message)]
#[rtype(result = "Vec<UserInfo>")]
pub struct Describe {
    /// The nicknames, folded.
    pub nicks: Vec<Folded>,
}

impl Handler<Describe> for Directory {
    type Result = MessageResult<Describe>;

    fn handle(&mut self, msg: Describe, _: &mut Self::Context) -> Self::Result {
        let found = msg
            .nicks
            .iter()
            .filter_map(|key| self.nicks.describe(key))
            .map(|mut user| {
                user.account = self.logins.get(&user.inbox.id).cloned();
                user
            })
            .collect();
        MessageResult(found)
    }
}

/// Replaces what session `id`'s user looks like (its away message or
/// user modes changed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateProfile {
    /// The session.
    pub id: SessionId,
    /// Its nickname.
    pub nick: Folded,
    /// What it looks like now.
    pub profile: Profile,
}

impl Handler<UpdateProfile> for Directory {
    type Result = ();

    fn handle(&mut self, msg: UpdateProfile, _: &mut Self::Context) {
        self.nicks.set_profile(msg.id, &msg.nick, Some(msg.profile));
        self.write_card(&msg.nick);
    }
}

/// The room of that name, created (empty, ownerless) if there is none
/// and the server's room limits allow: `SERVER_ROOMS_FULL` at
/// `limits.max_rooms`, `RATE_LIMITED` when the creator's connection or
/// address creates rooms too fast.
#[derive(Message)]
#[rtype(result = "Result<RoomHandle, ErrorCode>")]
pub struct OpenRoom {
    /// The room's name as the joiner spelled it.
    pub name: RoomName,
    /// Who would create it.
    pub creator: Creator,
}

impl Handler<OpenRoom> for Directory {
    type Result = Result<RoomHandle, ErrorCode>;

    fn handle(&mut self, msg: OpenRoom, ctx: &mut Self::Context) -> Self::Result {
        let replacing = match self.rooms.get(msg.name.folded()) {
            Some(entry) if entry.addr.connected() => return Ok(entry.addr.clone()),
            Some(_) => true,
            None => false,
        };
        let config = self.config.load();
        let limits = &config.limits;
        if !replacing && self.rooms.len() >= limits.max_rooms {
            refused(
                Limit::MaxRooms,
                format_args!(
                    "{} not created: limits.max_rooms is {} (connection {:?} from {})",
                    msg.name, limits.max_rooms, msg.creator.id, msg.creator.ip
                ),
            );
            return Err(ErrorCode::ServerRoomsFull);
        }
        if let Err(too_fast) = self
            .creations
            .try_create(msg.creator, limits, Instant::now())
        {
            let by = match too_fast {
                TooFast::Connection => "the connection",
                TooFast::Address => "the address",
            };
            refused(
                Limit::RoomCreateRate,
                format_args!(
                    "{} not created: {by} creates rooms too fast (connection {:?} from {})",
                    msg.name, msg.creator.id, msg.creator.ip
                ),
            );
            return Err(ErrorCode::RateLimited);
        }
        let room = Room::new(
            msg.name.clone(),
            self.reports(ctx),
            &self.config,
            self.db.clone(),
        )
        .with_cluster(self.cluster.clone());
        let summary = room.summary();
        let addr = RoomHandle::new(msg.name.clone(), room.start());
        let entry = RoomEntry::new(addr.clone(), summary, Instant::now());
        self.rooms.insert(msg.name.folded().clone(), entry);
        Ok(addr)
    }
}

/// The room of that name, if it exists.
#[derive(Message)]
#[rtype(result = "Option<RoomHandle>")]
pub struct FindRoom {
    /// The room's name, folded.
    pub name: Folded,
}

impl Handler<FindRoom> for Directory {
    type Result = Option<RoomHandle>;

    fn handle(&mut self, msg: FindRoom, _: &mut Self::Context) -> Self::Result {
        self.rooms
            .get(&msg.name)
            .filter(|e| e.addr.connected() && e.summary.listed)
            .map(|e| e.addr.clone())
    }
}

impl Handler<RoomChanged> for Directory {
    type Result = ();

    fn handle(&mut self, msg: RoomChanged, _: &mut Self::Context) {
        if let Some(entry) = self.rooms.get_mut(msg.summary.name.folded()) {
            entry.update(msg.summary, Instant::now());
        }
    }
}

impl Handler<RoomClosed> for Directory {
    type Result = ();

    fn handle(&mut self, msg: RoomClosed, _: &mut Self::Context) {
        if self
            .rooms
            .get(&msg.name)
            .is_some_and(|e| *e.addr == msg.addr)
        {
            self.rooms.remove(&msg.name);
        }
    }
}

/// Closes a room (a server operator's CLOSE): answers its name as
/// spelled and how many members it removed, or `NoSuchRoom`. The room is
/// forgotten at once: a JOIN after this makes a new one.
#[derive(Message)]
#[rtype(result = "Result<(RoomName, usize), ErrorCode>")]
pub struct CloseRoom {
    /// The room, folded.
    pub name: Folded,
    /// What the room is told.
    pub close: super::room::Close,
}

impl Handler<CloseRoom> for Directory {
    type Result = ResponseFuture<Result<(RoomName, usize), ErrorCode>>;

    fn handle(&mut self, msg: CloseRoom, _: &mut Self::Context) -> Self::Result {
        let Some(entry) = self.rooms.remove(&msg.name) else {
            return Box::pin(async { Err(ErrorCode::NoSuchRoom) });
        };
        let name = entry.summary.name;
        let addr = entry.addr;
        Box::pin(async move {
            // A room that already stopped had nobody left to tell.
            let removed = addr.send(msg.close).await.unwrap_or(0);
            Ok((name, removed))
        })
    }
}

/// Every room with members, sorted by name.
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

impl Handler<ListRooms> for Directory {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _: ListRooms, _: &mut Self::Context) -> Self::Result {
        let mut rooms: Vec<RoomSummary> = self
            .rooms
            .values()
            .filter(|e| e.summary.listed)
            .map(|e| e.summary.clone())
            .collect();
        rooms.sort_by(|a, b| a.name.folded().cmp(b.name.folded()));
        MessageResult(rooms)
    }
}

/// How many of `rooms` do not exist on this node (cluster mode: rooms
/// with members on other nodes only, for INFO's count).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CountMissing {
    /// Folded room names.
    pub rooms: Vec<Folded>,
}

impl Handler<CountMissing> for Directory {
    type Result = usize;

    fn handle(&mut self, ask: CountMissing, _: &mut Self::Context) -> usize {
        ask.rooms
            .iter()
            .filter(|r| !self.rooms.contains_key(*r))
            .count()
    }
}

/// Counts for `INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Users with a nickname and done registering (on every node, in
    /// cluster mode: [`Services::counts`](crate::core::services::Services::counts)).
    pub users: usize,
    /// Of those, the users of this node.
    pub here: usize,
    /// Of those, users with IRC's user mode `+i`.
    pub invisible: usize,
    /// Rooms that exist: with members, or kept while empty (stored, and
    /// not yet expired).
    pub rooms: usize,
    /// Server operators connected.
    pub opers: usize,
}

/// Asks for [`Counts`].
#[derive(Message)]
#[rtype(result = "Counts")]
pub struct GetCounts;

impl Handler<GetCounts> for Directory {
    type Result = MessageResult<GetCounts>;

    fn handle(&mut self, _: GetCounts, _: &mut Self::Context) -> Self::Result {
        let pending = self.nicks.pending();
        let users = self.nicks.len() - pending;
        MessageResult(Counts {
            users,
            here: users,
            invisible: self.nicks.invisible(),
            // Every room that exists: a stored room kept while empty
            // costs memory (and a row) as much as one with members.
            rooms: self.rooms.len(),
            opers: self.nicks.opers(),
        })
    }
}

/// An account was registered: its name is a reserved nickname from now on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AccountAdded {
    /// The account's name.
    pub name: Nick,
}

impl Handler<AccountAdded> for Directory {
    type Result = ();

    fn handle(&mut self, msg: AccountAdded, _: &mut Self::Context) {
        self.accounts.insert(msg.name.folded().clone());
    }
}

/// The nicknames accounts reserve (every account's name, folded), which
/// the directory keeps and every session reads at once after a NICK: a
/// question to the directory there cost each registration a round trip,
/// with the session's other lines waiting behind it.
#[derive(Clone, Default)]
pub struct ReservedNicks(Arc<RwLock<HashSet<Folded>>>);

impl ReservedNicks {
    /// Whether `nick` is an account's (reserved for whoever is logged in
    /// to it).
    pub fn contains(&self, nick: &Folded) -> bool {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(nick)
    }

    /// Reserves `nick`: an account of that name was made (here, or in
    /// cluster mode on any node).
    pub fn insert(&self, nick: Folded) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(nick);
    }
}

impl Directory {
    /// The nicknames accounts reserve, as this directory keeps them: for
    /// the sessions, before it is started.
    pub fn reserved(&self) -> ReservedNicks {
        self.accounts.clone()
    }
}

/// A session logged in to an account (`Some`) or out: what WHOIS shows.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetLogin {
    /// The session.
    pub id: SessionId,
    /// Its account now.
    pub account: Option<Nick>,
}

impl Handler<SetLogin> for Directory {
    type Result = ();

    fn handle(&mut self, msg: SetLogin, _: &mut Self::Context) {
        match msg.account {
            Some(account) => {
                self.logins.insert(msg.id, account);
            }
            None => {
                self.logins.remove(&msg.id);
            }
        }
        self.rewrite_card_of(msg.id);
    }
}
