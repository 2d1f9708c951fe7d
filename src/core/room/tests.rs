//! Room semantics without a socket: members are send queues read back as
//! text, in an encoding of the tests' own, so that every front end can rely
//! on what is checked here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use bytes::{BufMut, BytesMut};

use super::*;
use crate::config::Config;
use crate::core::error::ErrorCode;
use crate::core::event::{MsgKind, UserHost};
use crate::core::member::{Encoding, EncodingRef, Listing, Removed, SessionId};
use crate::core::outcome::{Ack, Said, SpellSaid};
use crate::transport::send_queue::SendQueue;

/// What rooms keep by account (`rights.rs`).
mod rights;

/// Spells events as short lower-case lines; `loud` upper-cases them, to
/// tell two encodings apart.
struct Plain {
    key: &'static str,
    loud: bool,
    /// Events rendered so far.
    rendered: AtomicUsize,
}

impl Encoding for Plain {
    fn key(&self) -> &'static str {
        self.key
    }

    fn event(&self, event: &Event, buf: &mut BytesMut) {
        self.rendered.fetch_add(1, Ordering::Relaxed);
        let line = match event {
            Event::Msg {
                room, from, text, ..
            } => format!("msg {room} {from} {text}"),
            Event::Join { room, nick, .. } => format!("join {room} {nick}"),
            Event::Part { room, nick, .. } => format!("part {room} {nick}"),
            Event::Topic {
                room, nick, text, ..
            } => format!("topic {room} {nick} {text}"),
            Event::Kick { room, nick, by, .. } => format!("kick {room} {nick} {by}"),
            other => format!("other {other:?}"),
        };
        let line = if self.loud { line.to_uppercase() } else { line };
        buf.put_slice(line.as_bytes());
        buf.put_u8(b'\n');
    }

    /// The loud one stands for an encoding that shows server time.
    fn shows_time(&self) -> bool {
        self.loud
    }

    fn names(&self, listing: Listing<'_>, buf: &mut BytesMut) {
        let nicks: Vec<String> = listing
            .members
            .map(|m| format!("{}{}", if m.op { "@" } else { "" }, m.nick))
            .collect();
        let room = listing.room;
        buf.put_slice(format!("names {room} {}\n", nicks.join(" ")).as_bytes());
    }
}

static PLAIN: Plain = Plain {
    key: "plain",
    loud: false,
    rendered: AtomicUsize::new(0),
};
static LOUD: Plain = Plain {
    key: "loud",
    loud: true,
    rendered: AtomicUsize::new(0),
};
static PLAIN_DYN: &dyn Encoding = &PLAIN;
static LOUD_DYN: &dyn Encoding = &LOUD;
static PLAIN_REF: EncodingRef = EncodingRef::new(&PLAIN_DYN);
static LOUD_REF: EncodingRef = EncodingRef::new(&LOUD_DYN);

/// Records what a session would be told.
struct Probe(Arc<Mutex<Vec<String>>>);

impl Actor for Probe {
    type Context = Context<Self>;
}

impl Handler<Removed> for Probe {
    type Result = ();

    fn handle(&mut self, msg: Removed, _: &mut Self::Context) {
        self.0.lock().unwrap().push(msg.room.as_str().to_string());
    }
}

/// Records what the directory would be told.
#[derive(Default)]
struct Directory {
    closed: Arc<Mutex<usize>>,
}

impl Actor for Directory {
    type Context = Context<Self>;
}

impl Handler<RoomChanged> for Directory {
    type Result = ();

    fn handle(&mut self, _: RoomChanged, _: &mut Self::Context) {}
}

impl Handler<RoomClosed> for Directory {
    type Result = ();

    fn handle(&mut self, _: RoomClosed, _: &mut Self::Context) {
        *self.closed.lock().unwrap() += 1;
    }
}

/// Records what became of a member's messages.
#[derive(Default)]
struct Answers(Mutex<Vec<Said>>);

impl SpellSaid for Answers {
    fn spell(&self, said: Said) -> bytes::Bytes {
        self.0.lock().unwrap().push(said);
        bytes::Bytes::from_static(b"answered\n")
    }
}

/// One member, as a front end would make it.
struct Client {
    nick: Nick,
    handle: MemberHandle,
    removed: Arc<Mutex<Vec<String>>>,
    answers: Arc<Answers>,
    _probe: Addr<Probe>,
}

impl Client {
    fn new(name: &str, encoding: EncodingRef, queue_bytes: usize) -> Self {
        let removed = Arc::default();
        let probe = Probe(Arc::clone(&removed)).start();
        Client {
            nick: Nick::parse(name, 24).unwrap(),
            handle: MemberHandle {
                inbox: Inbox {
                    id: SessionId::next(),
                    encoding,
                    queue: SendQueue::new(queue_bytes),
                },
                removed: probe.downgrade().recipient(),
            },
            removed,
            answers: Arc::default(),
            _probe: probe,
        }
    }

    fn key(&self) -> MemberKey {
        MemberKey::new(self.handle.inbox.id, &self.nick)
    }

    /// Everything queued for it since last asked; `None` once overflowed.
    fn read(&self) -> Option<String> {
        self.handle.inbox.queue.take_text()
    }

    fn text(&self) -> String {
        self.read().expect("not overflowed")
    }

    fn join(&self, key: Option<&str>) -> Join {
        Join {
            member: self.handle.clone(),
            nick: self.nick.clone(),
            userhost: UserHost::native(),
            realname: crate::core::no_realname(),
            key: key.map(String::from),
            account: None,
            hand_back: false,
            proof: None,
        }
    }

    fn say(&self, text: &str) -> Say {
        Say {
            id: self.handle.inbox.id,
            from: self.nick.clone(),
            text: text.into(),
            kind: MsgKind::Privmsg,
            tags: None,
            account: None,
            echo: false,
            ack: Some(Ack {
                queue: self.handle.inbox.queue.clone(),
                ticket: self.handle.inbox.queue.promise(),
                spell: Arc::clone(&self.answers) as Arc<dyn SpellSaid>,
            }),
        }
    }
}

/// Sends `join`, doing the key work the room asks for as
/// [`Services::enter_room`](crate::core::services::Services::enter_room)
/// does, without the gate.
async fn enter(room: &Addr<Room>, join: Join) -> Result<Result<Joined, ErrorCode>, MailboxError> {
    let key = join.key.clone().unwrap_or_default();
    let mut proof = None;
    loop {
        let attempt = Join {
            member: join.member.clone(),
            nick: join.nick.clone(),
            userhost: join.userhost.clone(),
            realname: Arc::clone(&join.realname),
            key: join.key.clone(),
            account: join.account.clone(),
            hand_back: join.hand_back,
            proof: proof.take(),
        };
        proof = match room.send(attempt).await? {
            Ok(JoinStep::Joined(joined)) => return Ok(Ok(joined)),
            Err(e) => return Ok(Err(e)),
            Ok(JoinStep::CheckKey(KeyWork::Create)) => {
                Some(KeyProof::created(crate::core::room_key::hash_key(&key)))
            }
            Ok(JoinStep::CheckKey(KeyWork::Verify { hash })) => {
                if !crate::core::room_key::verify_key(&key, &hash) {
                    return Ok(Err(ErrorCode::BadKey));
                }
                Some(KeyProof::matches(hash))
            }
        };
    }
}

fn start_room(max_members: usize) -> (Addr<Room>, Arc<Mutex<usize>>) {
    let directory = Directory::default();
    let closed = Arc::clone(&directory.closed);
    let directory = directory.start();
    let mut config = Config::default();
    config.limits.max_room_members = max_members;
    let reports = Reports::new(directory.clone().recipient(), directory.recipient());
    let name = RoomName::parse("#r", 32).unwrap();
    (
        Room::new(name, reports, &SharedConfig::new(config), None).start(),
        closed,
    )
}

#[actix::test]
async fn members_see_joins_messages_and_parts_and_the_sender_no_echo() {
    let (room, _) = start_room(10);
    let (alice, bob) = (
        Client::new("alice", PLAIN_REF, 4096),
        Client::new("Bob", PLAIN_REF, 4096),
    );
    let joined = enter(&room, alice.join(None)).await.unwrap().unwrap();
    assert_eq!(joined.name.as_str(), "#r");
    assert_eq!(joined.replay_upto, None, "no history without a database");
    // The test encoding marks the owner with @, from the listing.
    assert_eq!(alice.text(), "join #r alice\nnames #r @alice\n");
    enter(&room, bob.join(None)).await.unwrap().unwrap();
    assert_eq!(alice.text(), "join #r Bob\n");
    assert_eq!(bob.text(), "join #r Bob\nnames #r @alice Bob\n");

    room.send(alice.say("hi bob")).await.unwrap();
    assert_eq!(bob.text(), "msg #r alice hi bob\n");
    assert_eq!(alice.text(), "", "a sender hears no echo");

    let part = Part {
        who: bob.key(),
        userhost: UserHost::native(),
        reason: None,
    };
    assert_eq!(room.send(part).await.unwrap().unwrap().as_str(), "#r");
    assert_eq!(alice.text(), "part #r Bob\n");
    let again = Part {
        who: bob.key(),
        userhost: UserHost::native(),
        reason: None,
    };
    assert_eq!(room.send(again).await.unwrap(), Err(ErrorCode::NotInRoom));
    let names = room.send(GetNames).await.unwrap();
    assert_eq!(names.nicks, std::slice::from_ref(&alice.nick));
}

#[actix::test]
async fn the_clock_is_read_only_where_a_member_sees_the_time() {
    let (room, _) = start_room(10);
    let (alice, bob) = (
        Client::new("alice", PLAIN_REF, 4096),
        Client::new("bob", LOUD_REF, 4096),
    );
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    let (seq, time) = room.send(alice.say("unseen")).await.unwrap().unwrap();
    assert_eq!(
        (seq, time),
        (1, SystemTime::UNIX_EPOCH),
        "no store, no time shown"
    );

    enter(&room, bob.join(None)).await.unwrap().unwrap();
    let before = SystemTime::now();
    let (seq, time) = room.send(alice.say("seen")).await.unwrap().unwrap();
    assert_eq!(seq, 2);
    assert!(time >= before, "a member that shows the time gets it");

    let part = Part {
        who: bob.key(),
        userhost: UserHost::native(),
        reason: None,
    };
    room.send(part).await.unwrap().unwrap();
    let (_, time) = room.send(alice.say("unseen again")).await.unwrap().unwrap();
    assert_eq!(time, SystemTime::UNIX_EPOCH);
}

#[actix::test]
async fn only_the_owner_sets_the_topic_and_kicks_and_the_kicked_is_told() {
    let (room, _) = start_room(10);
    let (alice, bob) = (
        Client::new("alice", PLAIN_REF, 4096),
        Client::new("bob", PLAIN_REF, 4096),
    );
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    enter(&room, bob.join(None)).await.unwrap().unwrap();
    let (_, _) = (alice.text(), bob.text());
    let info = room.send(GetInfo).await.unwrap();
    assert_eq!(info.owner.as_ref().map(Nick::as_str), Some("alice"));
    assert_eq!(info.members, 2);

    let topic = |c: &Client| SetTopic {
        who: c.key(),
        userhost: UserHost::native(),
        text: "homework".into(),
    };
    assert_eq!(
        room.send(topic(&bob)).await.unwrap(),
        Err(ErrorCode::NotOwner)
    );
    room.send(topic(&alice)).await.unwrap().unwrap();
    assert_eq!(bob.text(), "topic #r alice homework\n");
    assert_eq!(alice.text(), "topic #r alice homework\n");

    let kick = |by: &Client, target: &Client| Kick {
        who: by.key(),
        userhost: UserHost::native(),
        target: target.nick.folded().clone(),
        reason: None,
    };
    assert_eq!(
        room.send(kick(&bob, &alice)).await.unwrap(),
        Err(ErrorCode::NotOwner)
    );
    let stranger = Client::new("carol", PLAIN_REF, 4096);
    assert_eq!(
        room.send(kick(&alice, &stranger)).await.unwrap(),
        Err(ErrorCode::NoSuchNick)
    );
    let (_, kicked) = room.send(kick(&alice, &bob)).await.unwrap().unwrap();
    assert_eq!(kicked.as_str(), "bob");
    // Everyone, the kicked included, sees the KICK; then bob is out.
    assert_eq!(bob.text(), "kick #r bob alice\n");
    assert_eq!(alice.text(), "kick #r bob alice\n");
    // The session hears of it (through its weak recipient).
    room.send(GetInfo).await.unwrap();
    actix::clock::sleep(std::time::Duration::ZERO).await;
    assert_eq!(*bob.removed.lock().unwrap(), ["#r"]);

    // A message on its way when the kick landed is refused, typed.
    room.send(bob.say("too late")).await.unwrap();
    assert_eq!(
        *bob.answers.0.lock().unwrap(),
        [Said::Refused(ErrorCode::NotInRoom)]
    );
    assert_eq!(alice.text(), "", "nobody hears a non-member");
}

#[actix::test]
async fn a_private_room_needs_its_key_and_a_full_room_refuses() {
    let (room, _) = start_room(2);
    let alice = Client::new("alice", PLAIN_REF, 4096);
    enter(&room, alice.join(Some("sesame")))
        .await
        .unwrap()
        .unwrap();
    assert!(room.send(GetInfo).await.unwrap().private);
    let bob = Client::new("bob", PLAIN_REF, 4096);
    assert_eq!(
        enter(&room, bob.join(None)).await.unwrap().unwrap_err(),
        ErrorCode::BadKey
    );
    assert_eq!(
        enter(&room, bob.join(Some("wrong")))
            .await
            .unwrap()
            .unwrap_err(),
        ErrorCode::BadKey
    );
    assert_eq!(bob.text(), "", "a refused joiner hears nothing");
    enter(&room, bob.join(Some("sesame")))
        .await
        .unwrap()
        .unwrap();
    let carol = Client::new("carol", PLAIN_REF, 4096);
    assert_eq!(
        enter(&room, carol.join(Some("sesame")))
            .await
            .unwrap()
            .unwrap_err(),
        ErrorCode::RoomFull
    );
}

#[actix::test]
async fn ownership_follows_a_nick_change_and_an_empty_room_closes() {
    let (room, closed) = start_room(10);
    let alice = Client::new("alice", PLAIN_REF, 4096);
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    let alicia = Nick::parse("alicia", 24).unwrap();
    let rename = Rename {
        who: alice.key(),
        new: alicia.clone(),
    };
    let audience = room.send(rename).await.unwrap();
    assert_eq!(audience.len(), 1, "the renamed member hears of it too");
    let info = room.send(GetInfo).await.unwrap();
    assert_eq!(info.owner, Some(alicia.clone()));
    let leave = Leave {
        who: MemberKey::new(alice.handle.inbox.id, &alicia),
        announce: true,
        reason: None,
    };
    assert!(room.send(leave).await.unwrap().is_empty());
    // The last member gone, an unstored room stops and says so.
    for _ in 0..10 {
        if *closed.lock().unwrap() == 1 {
            break;
        }
        actix::clock::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(*closed.lock().unwrap(), 1);
    assert!(room.send(GetInfo).await.is_err(), "the room has stopped");
}

#[actix::test]
async fn each_encoding_renders_a_message_once_and_members_get_their_own() {
    let (room, _) = start_room(10);
    let quiet: Vec<Client> = (0..3)
        .map(|i| Client::new(&format!("q{i}"), PLAIN_REF, 4096))
        .collect();
    let loud: Vec<Client> = (0..3)
        .map(|i| Client::new(&format!("l{i}"), LOUD_REF, 4096))
        .collect();
    for c in quiet.iter().chain(&loud) {
        enter(&room, c.join(None)).await.unwrap().unwrap();
        let _ = c.text();
    }
    for c in quiet.iter().chain(&loud) {
        let _ = c.text();
    }
    let (plain_before, loud_before) = (
        PLAIN.rendered.load(Ordering::Relaxed),
        LOUD.rendered.load(Ordering::Relaxed),
    );
    room.send(quiet[0].say("hello")).await.unwrap();
    // Other tests share the statics: at least once, and not per member.
    let plain = PLAIN.rendered.load(Ordering::Relaxed) - plain_before;
    let loud_count = LOUD.rendered.load(Ordering::Relaxed) - loud_before;
    assert!((1..3).contains(&plain), "plain rendered {plain} times");
    assert!(
        (1..3).contains(&loud_count),
        "loud rendered {loud_count} times"
    );
    for c in &quiet[1..] {
        assert_eq!(c.text(), "msg #r q0 hello\n");
    }
    for c in &loud {
        assert_eq!(c.text(), "MSG #R Q0 HELLO\n");
    }
}

#[actix::test]
async fn a_member_that_stops_reading_overflows_alone() {
    let (room, _) = start_room(10);
    let reader = Client::new("reader", PLAIN_REF, 4096);
    let stuck = Client::new("stuck", PLAIN_REF, 300);
    let talker = Client::new("talker", PLAIN_REF, 4096);
    for c in [&reader, &stuck, &talker] {
        enter(&room, c.join(None)).await.unwrap().unwrap();
    }
    let _ = reader.text();
    let mut got = String::new();
    for i in 0..20 {
        room.send(talker.say(&format!("line {i:02}")))
            .await
            .unwrap();
        got.push_str(&reader.text());
    }
    let expected: String = (0..20)
        .map(|i| format!("msg #r talker line {i:02}\n"))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        stuck.read(),
        None,
        "past its limit, the stuck member is dropped"
    );
    // The room goes on for the others.
    room.send(talker.say("still here")).await.unwrap();
    assert_eq!(reader.text(), "msg #r talker still here\n");
}

#[actix::test]
async fn echo_hand_back_and_reencode() {
    let (room, _) = start_room(10);
    let (alice, bob) = (
        Client::new("alice", PLAIN_REF, 4096),
        Client::new("bob", PLAIN_REF, 4096),
    );
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    let _ = alice.text();
    // hand_back: the welcome comes in the answer, events wait for Replayed.
    let mut join = bob.join(None);
    join.hand_back = true;
    let joined = enter(&room, join).await.unwrap().unwrap();
    assert!(joined.held);
    let welcome = String::from_utf8(joined.welcome.unwrap().to_vec()).unwrap();
    assert_eq!(welcome, "join #r bob\nnames #r @alice bob\n");
    assert_eq!(bob.text(), "");
    // With echo, the sender gets its own message, numbered like the rest.
    let mut say = alice.say("one");
    say.echo = true;
    say.ack = None;
    let said = room.send(say).await.unwrap();
    assert_eq!(said.map(|(seq, _)| seq), Some(1));
    assert_eq!(alice.text(), "join #r bob\nmsg #r alice one\n");
    assert_eq!(bob.text(), "", "held until Replayed");
    room.send(Replayed { who: bob.key() }).await.unwrap();
    assert_eq!(bob.text(), "msg #r alice one\n");
    // Re-encoded: later events in the new encoding, rendered once.
    room.send(Reencode {
        who: bob.key(),
        encoding: LOUD_REF,
    })
    .await
    .unwrap();
    let mut say = alice.say("two");
    say.ack = None;
    room.send(say).await.unwrap();
    assert_eq!(bob.text(), "MSG #R ALICE TWO\n");
    assert_eq!(alice.text(), "");
}

/// What a member asks of the room's settings.
fn set(by: &Client, change: ModeRequest) -> SetMode {
    SetMode {
        who: by.key(),
        userhost: UserHost::native(),
        change,
    }
}

fn invite(by: &Client, target: &Client) -> Invite {
    Invite {
        who: by.key(),
        target: target.nick.folded().clone(),
    }
}

#[actix::test]
async fn a_limit_and_invite_only_let_in_the_invited_once() {
    let (room, _) = start_room(10);
    let (alice, bob, carol) = (
        Client::new("alice", PLAIN_REF, 4096),
        Client::new("bob", PLAIN_REF, 4096),
        Client::new("carol", PLAIN_REF, 4096),
    );
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    let limit = |n| ModeRequest::Limit(Some(n));
    assert_eq!(
        room.send(set(&bob, limit(1))).await.unwrap(),
        Err(ErrorCode::NotInRoom)
    );
    assert_eq!(
        room.send(set(&alice, limit(0))).await.unwrap(),
        Err(ErrorCode::BadSyntax)
    );
    room.send(set(&alice, limit(1))).await.unwrap().unwrap();
    // Announced once; the same limit again is no change.
    room.send(set(&alice, limit(1))).await.unwrap().unwrap();
    let text = alice.text();
    assert_eq!(text.matches("Limit(Some(1))").count(), 1, "{text}");
    assert_eq!(room.send(GetInfo).await.unwrap().limit, Some(1));
    assert_eq!(
        enter(&room, bob.join(None)).await.unwrap().unwrap_err(),
        ErrorCode::RoomFull
    );
    // Anyone in a room that is not invite-only may invite.
    room.send(invite(&alice, &bob)).await.unwrap().unwrap();
    enter(&room, bob.join(None)).await.unwrap().unwrap();
    assert_eq!(
        room.send(invite(&alice, &bob)).await.unwrap(),
        Err(ErrorCode::AlreadyInRoom)
    );
    assert_eq!(
        room.send(invite(&carol, &bob)).await.unwrap(),
        Err(ErrorCode::NotInRoom)
    );
    room.send(set(&alice, ModeRequest::Limit(None)))
        .await
        .unwrap()
        .unwrap();
    room.send(set(&alice, ModeRequest::InviteOnly(true)))
        .await
        .unwrap()
        .unwrap();
    assert!(room.send(GetInfo).await.unwrap().invite_only);
    assert_eq!(
        enter(&room, carol.join(None)).await.unwrap().unwrap_err(),
        ErrorCode::InviteOnly
    );
    // Invite-only: only the owner invites.
    assert_eq!(
        room.send(invite(&bob, &carol)).await.unwrap(),
        Err(ErrorCode::NotOwner)
    );
    room.send(invite(&alice, &carol)).await.unwrap().unwrap();
    enter(&room, carol.join(None)).await.unwrap().unwrap();
    let part = Part {
        who: carol.key(),
        userhost: UserHost::native(),
        reason: None,
    };
    room.send(part).await.unwrap().unwrap();
    assert_eq!(
        enter(&room, carol.join(None)).await.unwrap().unwrap_err(),
        ErrorCode::InviteOnly,
        "an invitation is used up by the join"
    );
}

#[actix::test]
async fn an_unlocked_topic_is_set_by_any_member() {
    let (room, _) = start_room(10);
    let (alice, bob) = (
        Client::new("alice", PLAIN_REF, 4096),
        Client::new("bob", PLAIN_REF, 4096),
    );
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    enter(&room, bob.join(None)).await.unwrap().unwrap();
    let topic = |c: &Client| SetTopic {
        who: c.key(),
        userhost: UserHost::native(),
        text: "bob's".into(),
    };
    assert!(room.send(GetInfo).await.unwrap().topic_locked);
    assert_eq!(
        room.send(topic(&bob)).await.unwrap(),
        Err(ErrorCode::NotOwner)
    );
    assert_eq!(
        room.send(set(&bob, ModeRequest::TopicLocked(false)))
            .await
            .unwrap(),
        Err(ErrorCode::NotOwner)
    );
    room.send(set(&alice, ModeRequest::TopicLocked(false)))
        .await
        .unwrap()
        .unwrap();
    let (_, _) = (alice.text(), bob.text());
    room.send(topic(&bob)).await.unwrap().unwrap();
    assert_eq!(alice.text(), "topic #r bob bob's\n");
    assert!(!room.send(GetInfo).await.unwrap().topic_locked);
}

#[actix::test]
async fn operators_are_made_and_unmade_and_the_owner_is_one_on_joining() {
    let (room, _) = start_room(10);
    let (alice, bob) = (
        Client::new("alice", PLAIN_REF, 4096),
        Client::new("bob", PLAIN_REF, 4096),
    );
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    enter(&room, bob.join(None)).await.unwrap().unwrap();
    let ops = |names: Names| -> Vec<String> {
        names.ops.iter().map(|f| f.as_str().to_string()).collect()
    };
    assert_eq!(ops(room.send(GetNames).await.unwrap()), ["alice"]);
    let op = |target: &Client, on| ModeRequest::Op(target.nick.folded().clone(), on);
    assert_eq!(
        room.send(set(&bob, op(&bob, true))).await.unwrap(),
        Err(ErrorCode::NotOwner)
    );
    room.send(set(&alice, op(&bob, true)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ops(room.send(GetNames).await.unwrap()), ["alice", "bob"]);
    // An operator unmakes the owner, which stays the owner but may no
    // longer set the topic...
    room.send(set(&bob, op(&alice, false)))
        .await
        .unwrap()
        .unwrap();
    let topic = SetTopic {
        who: alice.key(),
        userhost: UserHost::native(),
        text: "mine".into(),
    };
    assert_eq!(room.send(topic).await.unwrap(), Err(ErrorCode::NotOwner));
    let info = room.send(GetInfo).await.unwrap();
    assert_eq!(info.owner.as_ref().map(Nick::as_str), Some("alice"));
    // ... until it joins again; bob, gone, is no operator when back.
    for c in [&alice, &bob] {
        let part = Part {
            who: c.key(),
            userhost: UserHost::native(),
            reason: None,
        };
        room.send(part).await.unwrap().unwrap();
        enter(&room, c.join(None)).await.unwrap().unwrap();
    }
    assert_eq!(ops(room.send(GetNames).await.unwrap()), ["alice"]);
    // The listing marks operators.
    let (_, _) = (alice.text(), bob.text());
    let carol = Client::new("carol", PLAIN_REF, 4096);
    enter(&room, carol.join(None)).await.unwrap().unwrap();
    assert_eq!(carol.text(), "join #r carol\nnames #r @alice bob carol\n");
}

#[actix::test]
async fn outsiders_speak_only_when_members_only_is_off_and_secret_is_reported() {
    let (room, _) = start_room(10);
    let alice = Client::new("alice", PLAIN_REF, 4096);
    enter(&room, alice.join(None)).await.unwrap().unwrap();
    let _ = alice.text();
    let outside = || SayOutside {
        from: Nick::parse("otto", 24).unwrap(),
        userhost: UserHost::native(),
        text: "knock".into(),
        kind: MsgKind::Privmsg,
        tags: None,
        account: None,
    };
    assert_eq!(
        room.send(outside()).await.unwrap(),
        Err(ErrorCode::NotInRoom)
    );
    assert_eq!(alice.text(), "");
    room.send(set(&alice, ModeRequest::MembersOnly(false)))
        .await
        .unwrap()
        .unwrap();
    let _ = alice.text();
    let (seq, _) = room.send(outside()).await.unwrap().unwrap();
    assert_eq!(seq, 1);
    assert_eq!(alice.text(), "msg #r otto knock\n");
    assert_eq!(room.send(GetInfo).await.unwrap().messages, 1);

    assert!(!room.send(GetNames).await.unwrap().secret);
    room.send(set(&alice, ModeRequest::Secret(true)))
        .await
        .unwrap()
        .unwrap();
    assert!(room.send(GetNames).await.unwrap().secret);
    assert!(room.send(GetInfo).await.unwrap().secret);
}

#[actix::test]
async fn a_key_is_checked_outside_the_room_against_the_key_in_force() {
    let (room, _) = start_room(10);
    let alice = Client::new("alice", PLAIN_REF, 4096);
    let bob = Client::new("bob", PLAIN_REF, 4096);
    // Creating with a key: the room asks for it hashed.
    let step = room.send(alice.join(Some("old"))).await.unwrap().unwrap();
    assert!(matches!(step, JoinStep::CheckKey(KeyWork::Create)));
    enter(&room, alice.join(Some("old")))
        .await
        .unwrap()
        .unwrap();
    let _ = alice.text();
    // Joining it: the room hands out its hash to check.
    let Ok(JoinStep::CheckKey(KeyWork::Verify { hash: old })) =
        room.send(bob.join(Some("old"))).await.unwrap()
    else {
        panic!("the room should ask for its key to be checked");
    };
    // The key changes while bob's is being checked: the proof against the
    // old hash is no longer enough, the new hash is asked for.
    let new = crate::core::room_key::hash_key("new");
    room.send(set(
        &alice,
        ModeRequest::Key {
            clear: "new".into(),
            hash: new.clone(),
        },
    ))
    .await
    .unwrap()
    .unwrap();
    assert!(!room.send(IsOp { who: bob.key() }).await.unwrap());
    assert!(room.send(IsOp { who: alice.key() }).await.unwrap());
    let mut stale = bob.join(Some("old"));
    stale.proof = Some(KeyProof::matches(old));
    let step = room.send(stale).await.unwrap().unwrap();
    assert!(matches!(step, JoinStep::CheckKey(KeyWork::Verify { hash }) if hash == new));
    assert_eq!(bob.text(), "", "not let in");
    let mut fresh = bob.join(Some("new"));
    fresh.proof = Some(KeyProof::matches(new));
    let step = room.send(fresh).await.unwrap().unwrap();
    assert!(matches!(step, JoinStep::Joined(_)));
}

#[test]
fn the_clusters_ban_bound_is_the_rooms() {
    assert_eq!(crate::core::cluster::MAX_BANS, super::MAX_BANS);
}
