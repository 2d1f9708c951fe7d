//! The storage through its [`Database`] handle, as the server uses it.

use super::schema::MIGRATIONS;
use super::segment::SEGMENT_MESSAGES;
use super::*;
use std::sync::Arc;

use bytes::Bytes;

use crate::core::outcome::{Ack, Said, SpellSaid};
use crate::transport::send_queue::{run_writer, SendQueue};
use tokio::io::AsyncReadExt;

fn room(name: &str) -> RoomName {
    RoomName::parse(name, 32).unwrap()
}

fn nick(name: &str) -> Nick {
    Nick::parse(name, 24).unwrap()
}

fn texts(messages: Vec<StoredMessage>) -> Vec<String> {
    messages.into_iter().map(|m| m.text).collect()
}

fn seqs(messages: Vec<StoredMessage>) -> Vec<u64> {
    messages.into_iter().map(|m| m.seq).collect()
}

/// A room record with no owner, topic or lists.
fn plain_room(name: &str) -> RoomRecord {
    RoomRecord {
        name: name.into(),
        owner: None,
        key_hash: None,
        topic: None,
        created: SystemTime::now(),
        messages: 0,
        owner_account: None,
        ops: Vec::new(),
        bans: Vec::new(),
    }
}

#[tokio::test]
async fn messages_round_trip_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/h.db");
    let (db, loaded, _) = Database::open(&path).unwrap();
    assert!(loaded.rooms.is_empty());
    let r = room("#Lobby");
    db.save_room(RoomRecord {
        owner: Some("alice".into()),
        topic: Some("hi".into()),
        ..plain_room("#Lobby")
    });
    for (seq, text) in [(1, "one"), (2, "two"), (3, "  three")] {
        db.append(
            &r,
            seq,
            SystemTime::now(),
            nick("alice"),
            text.to_string(),
            None,
        );
    }
    let got = texts(db.history(&r, u64::MAX, 2).await);
    assert_eq!(got, ["two", "  three"]);
    let got = seqs(db.history(&r, 2, 10).await);
    assert_eq!(got, [1, 2]);
    db.flush().await;
    drop(db);
    let (_db, loaded, _) = Database::open(&path).unwrap();
    assert_eq!(loaded.rooms.len(), 1);
    assert_eq!(loaded.rooms[0].messages, 3);
    assert_eq!(loaded.rooms[0].owner.as_deref(), Some("alice"));
    assert_eq!(schema_version(&path).unwrap(), Some(SCHEMA_VERSION as i64));
}

#[tokio::test]
async fn migrates_from_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO rooms VALUES ('#old', '#Old', 'bob', NULL, 'kept', 0);
             INSERT INTO messages VALUES ('#old', 1, 1000, 'bob', 'from before');",
        )
        .unwrap();
    }
    let (db, loaded, _) = Database::open(&path).unwrap();
    assert_eq!(schema_version(&path).unwrap(), Some(SCHEMA_VERSION as i64));
    assert_eq!(loaded.rooms[0].name, "#Old");
    assert_eq!(loaded.rooms[0].topic.as_deref(), Some("kept"));
    let msgs = db.history(&room("#old"), u64::MAX, 10).await;
    assert_eq!(msgs[0].text, "from before");
    assert_eq!(msgs[0].time, UNIX_EPOCH + Duration::from_secs(1));
    // The new table works, for files to a room and to a user.
    let file = |target| FileRecord {
        id: FileId::fresh(),
        target,
        from: nick("Bob"),
        size: 1,
        sha256: "00".into(),
        filename: "f".into(),
        stored: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
    };
    let files = [
        file(FileTarget::Room(room("#Old"))),
        file(FileTarget::User(nick("Carol"))),
    ];
    for f in &files {
        db.add_file(f.clone());
    }
    // Rows this server did not write: an id that is no id, names that are
    // no names.
    db.execute(
        "INSERT INTO files VALUES
            ('../x', 1, '#Old', 'bob', 1, '00', 'f', 0),
            ('0123456789abcdef0123', 1, 'Old', 'bob', 1, '00', 'f', 0),
            ('0123456789abcdef0124', 0, '#Old', 'bob', 1, '00', 'f', 0),
            ('0123456789abcdef0125', 1, '#Old', '9bob', 1, '00', 'f', 0)",
    );
    db.flush().await;
    drop(db);
    let rows: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 6);
    let (_db, mut loaded, _) = Database::open(&path).unwrap();
    loaded
        .files
        .sort_by_key(|f| matches!(f.target, FileTarget::User(_)));
    assert_eq!(loaded.files, files);
}

#[test]
fn corrupt_and_newer_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let err = Database::open(&garbage).err().expect("refused").to_string();
    assert!(
        err.contains("history.db") && err.contains("garbage.db"),
        "{err}"
    );

    let newer = dir.path().join("newer.db");
    Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = Database::open(&newer).err().expect("refused").to_string();
    assert!(err.contains("99"), "{err}");
}

/// Spells answers as the native front end does.
struct TestSpell {
    room: RoomName,
}

impl SpellSaid for TestSpell {
    fn spell(&self, said: Said) -> Bytes {
        Bytes::from(match said {
            Said::Stored { .. } => format!("OK MSG {}\n", self.room),
            other => format!("ERR MSG INTERNAL {other:?}\n"),
        })
    }
}

/// Stores a message whose sender's queue expects its ack.
fn append_acked(db: &Database, r: &RoomName, queue: &SendQueue, seq: u64, text: String) {
    let ack = Ack {
        queue: queue.clone(),
        ticket: queue.promise(),
        spell: Arc::new(TestSpell { room: r.clone() }),
    };
    db.append(r, seq, SystemTime::now(), nick("a"), text, Some(ack));
}

/// A queue whose writer fills a pipe, and a way to read what it wrote
/// once every promised ack has come.
struct AckedQueue {
    queue: SendQueue,
    written: tokio::io::DuplexStream,
    writer: tokio::task::JoinHandle<crate::transport::send_queue::WriterEnd>,
}

impl AckedQueue {
    fn new() -> Self {
        let queue = SendQueue::new(1 << 20);
        let (client, written) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(run_writer(queue.clone(), client));
        AckedQueue {
            queue,
            written,
            writer,
        }
    }

    async fn lines(mut self) -> Vec<String> {
        self.queue.acks_at_most(0).await;
        self.queue.close();
        let mut got = String::new();
        self.written.read_to_string(&mut got).await.unwrap();
        self.writer.await.unwrap();
        got.lines().map(String::from).collect()
    }
}

#[tokio::test]
async fn a_full_database_answers_internal_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, relay) = Database::open(&dir.path().join("full.db")).unwrap();
    tokio::spawn(relay.run());
    let r = room("#r");
    let acked = AckedQueue::new();
    append_acked(&db, &r, &acked.queue, 1, "fits".to_string());
    db.flush().await;
    // No more pages: every later write fails as on a full disk.
    db.execute("PRAGMA max_page_count = 1");
    let big = "x".repeat(3000);
    for seq in 2..5 {
        append_acked(&db, &r, &acked.queue, seq, big.clone());
    }
    let lines = acked.lines().await;
    assert_eq!(lines[0], "OK MSG #r");
    assert_eq!(lines.len(), 4, "{lines:?}");
    for line in &lines[1..] {
        assert!(line.starts_with("ERR MSG INTERNAL "), "{line}");
    }
}

/// Reads the file as a person with `sqlite3` would, through the view.
fn viewed(path: &Path, room: &str) -> Vec<(i64, String, String)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT seq, sender, text FROM messages WHERE room = ?1 ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([room], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[tokio::test]
async fn version_2_messages_move_into_segments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.execute_batch(
            r#"PRAGMA user_version = 2;
             INSERT INTO rooms VALUES ('#a', '#A', 'bob', NULL, NULL, 0);
             INSERT INTO messages VALUES ('#a', 1, 1000, 'bob', 'one');
             INSERT INTO messages VALUES ('#a', 2, 2000, 'eve', 'say "two" \ ok');
             INSERT INTO messages VALUES ('#b', 7, 3000, 'bob', 'elsewhere');"#,
        )
        .unwrap();
    }
    let (db, loaded, _) = Database::open(&path).unwrap();
    assert_eq!(loaded.rooms[0].messages, 2);
    let got: Vec<(u64, String, String)> = db
        .history(&room("#a"), u64::MAX, 10)
        .await
        .into_iter()
        .map(|m| (m.seq, m.from, m.text))
        .collect();
    assert_eq!(
        got,
        [
            (1, "bob".to_string(), "one".to_string()),
            (2, "eve".to_string(), r#"say "two" \ ok"#.to_string())
        ]
    );
    assert_eq!(db.history(&room("#b"), u64::MAX, 10).await[0].seq, 7);
    db.flush().await;
    assert_eq!(
        viewed(&path, "#b"),
        [(7, "bob".to_string(), "elsewhere".to_string())]
    );
}

#[tokio::test]
async fn any_text_survives_its_segment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("text.db");
    let (db, _, _) = Database::open(&path).unwrap();
    let r = room("#r");
    let sent = [
        r#"quotes " and \ backslashes \""#,
        "tab\there, bell \u{7}, escape \u{1b}[0m, nul \u{0}",
        "unicode: été 🎉 \u{2028} \u{7f}",
        "",
        "   spaces kept   ",
    ];
    for (i, text) in sent.iter().enumerate() {
        db.append(
            &r,
            i as u64 + 1,
            SystemTime::now(),
            nick("al_ice"),
            text.to_string(),
            None,
        );
    }
    let got = texts(db.history(&r, u64::MAX, 10).await);
    assert_eq!(got, sent);
    let seen: Vec<String> = viewed(&path, "#r").into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(seen, sent);
}

#[tokio::test]
async fn a_busy_room_is_split_into_segments_and_read_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let (db, _, relay) = Database::open(&path).unwrap();
    tokio::spawn(relay.run());
    let (busy, quiet) = (room("#busy"), room("#quiet"));
    for seq in 1..=150 {
        db.append(
            &busy,
            seq,
            SystemTime::now(),
            nick("a"),
            format!("m{seq}"),
            None,
        );
        if seq % 50 == 0 {
            db.append(
                &quiet,
                seq / 50,
                SystemTime::now(),
                nick("b"),
                format!("q{seq}"),
                None,
            );
        }
    }
    let seqs = seqs(db.history(&busy, 100, 70).await);
    assert_eq!(seqs, (31..=100).collect::<Vec<u64>>());
    let quiet_texts = texts(db.history(&quiet, u64::MAX, 10).await);
    assert_eq!(quiet_texts, ["q50", "q100", "q150"]);
    let conn = Connection::open(&path).unwrap();
    let (segments, largest): (i64, i64) = conn
        .query_row(
            "SELECT count(*), max(last_seq - first_seq + 1) FROM segments WHERE room = '#busy'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(segments >= 3, "{segments} segments");
    assert!(
        largest <= SEGMENT_MESSAGES as i64,
        "{largest} in one segment"
    );
}

#[tokio::test]
async fn a_segment_that_cannot_be_stored_fails_only_its_own_messages() {
    let dir = tempfile::tempdir().unwrap();
    // No relay runs here: the database thread hands over acks itself.
    let (db, _, _) = Database::open(&dir.path().join("segments.db")).unwrap();
    let (a, b) = (room("#a"), room("#b"));
    let acked = AckedQueue::new();
    for seq in 1..=3 {
        append_acked(&db, &a, &acked.queue, seq, format!("a{seq}"));
    }
    append_acked(&db, &b, &acked.queue, 1, "b1".to_string());
    db.flush().await;
    // #a's segment starts at a number #a has already used: refused.
    append_acked(&db, &a, &acked.queue, 1, "again".to_string());
    append_acked(&db, &b, &acked.queue, 2, "b2".to_string());
    let lines = acked.lines().await;
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(
        lines[..4],
        ["OK MSG #a", "OK MSG #a", "OK MSG #a", "OK MSG #b"]
    );
    // The two of one commit are acknowledged in the order of rooms.
    assert!(lines[4].starts_with("ERR MSG INTERNAL "), "{}", lines[4]);
    assert_eq!(lines[5], "OK MSG #b");
    assert_eq!(
        texts(db.history(&a, u64::MAX, 10).await),
        ["a1", "a2", "a3"]
    );
    assert_eq!(texts(db.history(&b, u64::MAX, 10).await), ["b1", "b2"]);
}

#[tokio::test]
async fn a_journal_left_by_a_crash_is_in_the_view_and_moves_into_segments_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let (db, _, _) = Database::open(&path).unwrap();
    db.save_room(plain_room("#r"));
    db.flush().await;
    drop(db);
    // What a commit leaves when the process is killed before its
    // messages move into segments: one journal row, a piece per room.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        r##"INSERT INTO journal (body) VALUES
           ('[["#r",[[1,1000,"al","one"],[2,2000,"bo","say \"two\""]]],["#s",[[5,3000,"al","five"]]]]');
           INSERT INTO journal (body) VALUES ('[["#r",[[3,4000,"al","three"]]]]');"##,
    )
    .unwrap();
    drop(conn);
    let seen: Vec<String> = viewed(&path, "#r").into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(seen, ["one", "say \"two\"", "three"]);

    let (db, loaded, _) = Database::open(&path).unwrap();
    // The room's numbering goes on after the journal's messages.
    assert_eq!(loaded.rooms.len(), 1);
    assert_eq!(loaded.rooms[0].messages, 3);
    let r = room("#r");
    assert_eq!(
        texts(db.history(&r, u64::MAX, 10).await),
        ["one", "say \"two\"", "three"]
    );
    assert_eq!(texts(db.history(&room("#s"), u64::MAX, 10).await), ["five"]);
    let conn = Connection::open(&path).unwrap();
    let waiting: i64 = conn
        .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(waiting, 0);
    // A number the journal used is refused; the next one is stored.
    let acked = AckedQueue::new();
    append_acked(&db, &r, &acked.queue, 3, "again".to_string());
    append_acked(&db, &r, &acked.queue, 4, "four".to_string());
    let lines = acked.lines().await;
    assert!(lines[0].starts_with("ERR MSG INTERNAL "), "{lines:?}");
    assert_eq!(lines[1], "OK MSG #r");
    assert_eq!(texts(db.history(&r, u64::MAX, 2).await), ["three", "four"]);
}

#[tokio::test]
async fn a_deleted_rooms_waiting_messages_do_not_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deleted.db");
    let (db, _, relay) = Database::open(&path).unwrap();
    tokio::spawn(relay.run());
    let (gone, kept) = (room("#gone"), room("#kept"));
    db.save_room(plain_room("#gone"));
    let acked = AckedQueue::new();
    for seq in 1..=3 {
        append_acked(&db, &gone, &acked.queue, seq, format!("g{seq}"));
        append_acked(&db, &kept, &acked.queue, seq, format!("k{seq}"));
    }
    assert_eq!(acked.lines().await.len(), 6);
    // Stored, and (within a second of the store's last request) still
    // waiting in the journal when the room goes.
    db.delete_room(&gone);
    // A room of that name made again numbers from 1.
    let again = AckedQueue::new();
    append_acked(&db, &gone, &again.queue, 1, "new g1".to_string());
    assert_eq!(again.lines().await, ["OK MSG #gone"]);
    assert_eq!(texts(db.history(&gone, u64::MAX, 10).await), ["new g1"]);
    drop(db);
    let (db, _, _) = Database::open(&path).unwrap();
    assert_eq!(texts(db.history(&gone, u64::MAX, 10).await), ["new g1"]);
    assert_eq!(
        texts(db.history(&kept, u64::MAX, 10).await),
        ["k1", "k2", "k3"]
    );
}

#[tokio::test]
async fn many_rooms_of_many_commits_fold_into_a_segment_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fold.db");
    let (db, _, relay) = Database::open(&path).unwrap();
    tokio::spawn(relay.run());
    let rooms: Vec<RoomName> = (0..50).map(|i| room(&format!("#r{i}"))).collect();
    // Five rounds, each acknowledged (committed) before the next.
    for round in 1..=5 {
        let acked = AckedQueue::new();
        for r in &rooms {
            append_acked(&db, r, &acked.queue, round, format!("m{round}"));
        }
        assert_eq!(acked.lines().await.len(), rooms.len());
    }
    // A read moves what waits into segments first.
    assert_eq!(
        texts(db.history(&rooms[7], u64::MAX, 10).await),
        ["m1", "m2", "m3", "m4", "m5"]
    );
    let conn = Connection::open(&path).unwrap();
    let (segments, journal): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM segments), (SELECT count(*) FROM journal)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(journal, 0);
    // Not a segment per room per commit (250): unless a fold fell between
    // the rounds (a second passed), one per room.
    assert!(segments < 250, "{segments} segments");
    for r in &rooms {
        assert_eq!(seqs(db.history(r, u64::MAX, 10).await), [1, 2, 3, 4, 5]);
    }
    // One room's many (straight to its segments when they share a
    // commit) after a few that wait in the journal: read in order, and
    // still there after a restart.
    let acked = AckedQueue::new();
    for seq in 6..=8 {
        append_acked(&db, &rooms[0], &acked.queue, seq, format!("m{seq}"));
    }
    assert_eq!(acked.lines().await.len(), 3);
    let acked = AckedQueue::new();
    for seq in 9..=108 {
        append_acked(&db, &rooms[0], &acked.queue, seq, format!("m{seq}"));
    }
    assert_eq!(acked.lines().await.len(), 100);
    let want: Vec<u64> = (1..=108).collect();
    assert_eq!(seqs(db.history(&rooms[0], u64::MAX, 200).await), want);
    drop(db);
    let (db, _, _) = Database::open(&path).unwrap();
    assert_eq!(seqs(db.history(&rooms[0], u64::MAX, 200).await), want);
}

#[tokio::test]
async fn rooms_are_stored_and_read_under_their_folded_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("folded.db");
    let (db, _, _) = Database::open(&path).unwrap();
    db.save_room(plain_room("#MixedCase"));
    db.append(
        &room("#MixedCase"),
        1,
        SystemTime::now(),
        nick("a"),
        "hi".to_string(),
        None,
    );
    assert_eq!(
        texts(db.history(&room("#mixedCASE"), u64::MAX, 10).await),
        ["hi"]
    );
    db.flush().await;
    // The key format databases already hold: the ASCII lower-case name.
    let conn = Connection::open(&path).unwrap();
    let (key, name): (String, String) = conn
        .query_row("SELECT key, name FROM rooms", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((key.as_str(), name.as_str()), ("#mixedcase", "#MixedCase"));
    drop(db);
    let (_db, loaded, _) = Database::open(&path).unwrap();
    assert_eq!(loaded.rooms[0].messages, 1);
}

#[tokio::test]
async fn unicode_owners_senders_and_file_names_read_back_and_match() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unicode.db");
    let (db, _, _) = Database::open(&path).unwrap();
    let r = room("#u");
    db.save_room(RoomRecord {
        owner: Some(nick("Zoë").as_str().to_string()),
        ..plain_room("#u")
    });
    for (seq, from) in [(1, "Zoë"), (2, "さくら")] {
        db.append(&r, seq, SystemTime::now(), nick(from), "hi".into(), None);
    }
    let file = FileRecord {
        id: FileId::fresh(),
        target: FileTarget::User(nick("Дмитрий")),
        from: nick("Zoë"),
        size: 1,
        sha256: "00".into(),
        filename: "f".into(),
        stored: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
    };
    db.add_file(file.clone());
    db.flush().await;
    drop(db);

    let (db, loaded, _) = Database::open(&path).unwrap();
    // Stored as shown; parsed again, the owner is the same nickname in
    // any case, as Room::restore compares it.
    let owner = loaded.rooms[0].owner.as_deref().unwrap();
    assert_eq!(owner, "Zoë");
    let owner = Nick::parse(owner, crate::core::names::STORED_NAME_LIMIT).unwrap();
    assert_eq!(owner.folded(), nick("ZOË").folded());
    let from: Vec<String> = db
        .history(&r, u64::MAX, 10)
        .await
        .into_iter()
        .map(|m| m.from)
        .collect();
    assert_eq!(from, ["Zoë", "さくら"]);
    assert_eq!(loaded.files, [file]);
}

#[tokio::test]
async fn history_queries_by_number_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, relay) = Database::open(&dir.path().join("q.db")).unwrap();
    tokio::spawn(relay.run());
    let r = room("#q");
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let at = |seq: u64| t0 + Duration::from_secs(seq);
    for seq in 1..=100 {
        db.append(&r, seq, at(seq), nick("a"), format!("m{seq}"), None);
    }
    use Anchor::{Seq, Time};
    let q = |query, limit| {
        let db = db.clone();
        let r = r.clone();
        async move { seqs(db.query(&r, query, limit).await) }
    };
    assert_eq!(q(HistoryQuery::Latest(None), 3).await, [98, 99, 100]);
    assert_eq!(q(HistoryQuery::Latest(Some(Seq(98))), 5).await, [99, 100]);
    assert_eq!(
        q(HistoryQuery::Latest(Some(Time(at(97)))), 5).await,
        [98, 99, 100]
    );
    assert_eq!(q(HistoryQuery::Before(Seq(70)), 3).await, [67, 68, 69]);
    assert_eq!(q(HistoryQuery::Before(Time(at(70))), 3).await, [67, 68, 69]);
    assert_eq!(q(HistoryQuery::After(Seq(60)), 3).await, [61, 62, 63]);
    assert_eq!(q(HistoryQuery::After(Time(at(60))), 3).await, [61, 62, 63]);
    assert_eq!(q(HistoryQuery::Around(Seq(50)), 4).await, [48, 49, 50, 51]);
    assert_eq!(q(HistoryQuery::Around(Time(at(50))), 3).await, [49, 50, 51]);
    assert_eq!(
        q(HistoryQuery::Between(Seq(10), Seq(20)), 3).await,
        [11, 12, 13]
    );
    assert_eq!(
        q(HistoryQuery::Between(Seq(20), Seq(10)), 3).await,
        [17, 18, 19]
    );
    assert_eq!(
        q(HistoryQuery::Between(Time(at(10)), Seq(14)), 10).await,
        [11, 12, 13]
    );
    assert!(q(HistoryQuery::After(Seq(100)), 3).await.is_empty());
}

#[tokio::test]
async fn accounts_and_room_rights_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let (db, _, _) = Database::open(&path).unwrap();
    let alice = nick("Alice");
    let record = |password: &str| AccountRecord {
        name: "Alice".into(),
        password: password.into(),
        created: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(5),
    };
    assert_eq!(
        db.create_account(alice.folded(), record("h1")).await,
        Ok(())
    );
    assert_eq!(
        db.create_account(nick("ALICE").folded(), record("h2"))
            .await,
        Err(AccountWriteError::Exists)
    );
    assert_eq!(db.account(alice.folded()).await, Some(record("h1")));
    assert_eq!(db.account(nick("bob").folded()).await, None);
    assert_eq!(db.set_password(alice.folded(), "h3".into()).await, Ok(()));
    assert_eq!(
        db.set_password(nick("bob").folded(), "h".into()).await,
        Err(AccountWriteError::Missing)
    );
    let ban = BanRecord {
        mask: "$a:mallory".into(),
        by: "Alice".into(),
        at: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(7),
    };
    db.save_room(RoomRecord {
        name: "#Den".into(),
        owner: Some("Alice".into()),
        key_hash: None,
        topic: None,
        created: SystemTime::UNIX_EPOCH,
        messages: 0,
        owner_account: Some("Alice".into()),
        ops: vec!["bob".into(), "carol".into()],
        bans: vec![ban.clone()],
    });
    db.flush().await;
    drop(db);
    let (db, loaded, _) = Database::open(&path).unwrap();
    assert_eq!(loaded.accounts, vec!["Alice".to_string()]);
    assert_eq!(db.account(alice.folded()).await, Some(record("h3")));
    let den = &loaded.rooms[0];
    assert_eq!(den.owner_account.as_deref(), Some("Alice"));
    assert_eq!(den.ops, vec!["bob".to_string(), "carol".to_string()]);
    assert_eq!(den.bans, vec![ban]);
}

/// Stores `count` messages of `room` from `first`, `per_segment` to a
/// commit (a segment each), said at `time`.
async fn store_segments(
    db: &Database,
    r: &RoomName,
    first: u64,
    count: u64,
    per_segment: u64,
    time: SystemTime,
) {
    for seq in first..first + count {
        db.append(r, seq, time, nick("alice"), format!("m{seq}"), None);
        if (seq - first + 1).is_multiple_of(per_segment) {
            db.flush().await;
        }
    }
    db.flush().await;
}

#[tokio::test]
async fn each_room_keeps_its_newest_messages_a_segment_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = Database::open(&dir.path().join("h.db")).unwrap();
    let (a, b) = (room("#a"), room("#b"));
    let now = SystemTime::now();
    store_segments(&db, &a, 1, 200, 10, now).await;
    store_segments(&db, &b, 1, 30, 10, now).await;
    let rules = Retention {
        before: None,
        keep_per_room: Some(45),
    };
    let pruned = db.prune(rules).await;
    // #a keeps 151..=200: the segment 151..160 holds some of the newest 45.
    assert_eq!(
        pruned,
        Pruned {
            segments: 15,
            messages: 150,
            done: true
        }
    );
    assert_eq!(
        seqs(db.history(&a, u64::MAX, 500).await),
        (151..=200).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(db.history(&b, u64::MAX, 500).await),
        (1..=30).collect::<Vec<_>>()
    );
    // Nothing more to do: a round finds nothing.
    assert_eq!(
        db.prune(rules).await,
        Pruned {
            done: true,
            ..Pruned::default()
        }
    );
}

#[tokio::test]
async fn old_messages_are_pruned_oldest_first_in_bounded_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = Database::open(&dir.path().join("h.db")).unwrap();
    let r = room("#old");
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    // 300 segments of ten days ago, one more than a step can take.
    store_segments(&db, &r, 1, 300, 1, now - 10 * day).await;
    // A segment whose newest message is recent stays whole.
    db.append(&r, 301, now - 10 * day, nick("alice"), "old".into(), None);
    db.append(&r, 302, now, nick("alice"), "new".into(), None);
    db.flush().await;
    let rules = Retention::from_config(
        &crate::config::HistoryConfig {
            retention_days: 5,
            ..Default::default()
        },
        now,
    )
    .expect("a retention rule");
    assert_eq!(rules.keep_per_room, None);
    let first = db.prune(rules).await;
    assert_eq!((first.segments, first.done), (256, false));
    let second = db.prune(rules).await;
    assert_eq!(
        (second.segments, second.messages, second.done),
        (44, 44, true)
    );
    assert_eq!(seqs(db.history(&r, u64::MAX, 500).await), [301, 302]);
    // Kept forever: nothing to prune.
    assert_eq!(
        Retention::from_config(&crate::config::HistoryConfig::default(), now),
        None
    );
}
