use super::*;
use chatroom::core::names::STORED_NAME_LIMIT;

fn nick(s: &str) -> Nick {
    Nick::parse(s, STORED_NAME_LIMIT).unwrap()
}

fn room(s: &str) -> RoomName {
    RoomName::parse_hashed(s, STORED_NAME_LIMIT).unwrap()
}

/// A referee called `tictactoe` in `#games` with alice, bob and carol.
fn referee() -> (Referee, Instant) {
    let mut r = Referee::new(Duration::from_secs(600));
    r.set_me(nick("tictactoe"));
    r.joined(&room("#games"));
    let names: Vec<Nick> = ["tictactoe", "alice", "Bob", "carol"]
        .into_iter()
        .map(nick)
        .collect();
    r.members(&room("#games"), &names);
    (r, Instant::now())
}

fn in_room(r: &mut Referee, from: &str, text: &str, now: Instant) -> Vec<String> {
    r.on_message(Place::Room(room("#games")), &nick(from), text, now)
        .into_iter()
        .map(|s| {
            assert_eq!(s.to, To::Room(room("#games")), "{s:?}");
            s.text
        })
        .collect()
}

fn lines(says: &[Say]) -> Vec<(String, String)> {
    says.iter()
        .map(|s| {
            let to = match &s.to {
                To::Room(r) => r.to_string(),
                To::User(n) => n.to_string(),
            };
            (to, s.text.clone())
        })
        .collect()
}

#[test]
fn a_room_game_starts_and_is_played_by_turns() {
    let (mut r, now) = referee();
    let said = in_room(&mut r, "alice", "!ttt play bob", now);
    assert_eq!(
        said,
        [
            "Bob: alice started game 1 against you; alice plays X and moves first, with !ttt <1-9>",
            "TTT 1 alice Bob ......... next=alice",
            "| . . .   1 2 3   game 1: alice (X) vs Bob (O)",
            "| . . .   4 5 6   alice (X) to play",
            "| . . .   7 8 9",
        ]
    );
    assert_eq!(
        in_room(&mut r, "bob", "!ttt 5", now),
        ["bob: not your turn: alice (X) plays next"]
    );
    assert_eq!(
        in_room(&mut r, "alice", "!ttt 5", now)[0],
        "TTT 1 alice Bob ....X.... next=Bob"
    );
    assert_eq!(
        in_room(&mut r, "BOB", "!ttt 5", now),
        ["BOB: cell 5 is taken"]
    );
    assert_eq!(
        in_room(&mut r, "carol", "!ttt 1", now),
        ["carol: you are in no game here: !ttt play <nick> starts one"]
    );
    assert_eq!(
        in_room(&mut r, "carol", "just chatting", now),
        Vec::<String>::new()
    );
    for (who, n) in [("bob", 1), ("alice", 2), ("bob", 3)] {
        in_room(&mut r, who, &format!("!ttt {n}"), now);
    }
    let won = in_room(&mut r, "alice", "!ttt 8", now);
    assert_eq!(won[0], "TTT 1 alice Bob OXO.X..X. won=alice");
    assert_eq!(won[2], "| . X .   4 5 6   alice wins");
    assert_eq!(r.games(), 0);
}

#[test]
fn play_is_refused_for_the_wrong_opponents() {
    let (mut r, now) = referee();
    let refused = |r: &mut Referee, text: &str| in_room(r, "alice", text, now);
    assert_eq!(
        refused(&mut r, "!ttt play dave"),
        ["alice: dave is not in #games"]
    );
    assert_eq!(
        refused(&mut r, "!ttt play ALICE"),
        ["alice: you cannot play against yourself"]
    );
    assert_eq!(
        refused(&mut r, "!ttt play tictactoe"),
        ["alice: I only referee: challenge someone else"]
    );
    in_room(&mut r, "alice", "!ttt play bob", now);
    assert_eq!(
        refused(&mut r, "!ttt play carol"),
        ["alice: you are already in game 1 here, against Bob: finish it or !ttt resign"]
    );
    assert_eq!(
        in_room(&mut r, "carol", "!ttt play bob", now),
        ["carol: Bob is already in a game here"]
    );
    // Another place is another game.
    let private = r.on_message(Place::Private, &nick("carol"), "play bob", now);
    assert_eq!(private[0].tag, Tag::Invite(2));
}

#[test]
fn a_private_game_starts_once_the_challenge_is_delivered() {
    let (mut r, now) = referee();
    let says = r.on_message(Place::Private, &nick("dave"), "!ttt play erin", now);
    assert_eq!(
        lines(&says),
        [(
            "erin".into(),
            "dave started game 1 against you; dave plays X and moves first, with !ttt <1-9>".into()
        )]
    );
    assert_eq!(
        lines(&r.on_message(Place::Private, &nick("dave"), "5", now)),
        [(
            "dave".into(),
            "wait until erin has been told about the game".into()
        )]
    );
    let says = r.invite_delivered(1, &nick("Erin"));
    assert_eq!(says.len(), 9);
    assert_eq!(
        lines(&says[..3]),
        [
            (
                "dave".into(),
                "game 1 started against Erin; you play X and move first, with !ttt <1-9>".into()
            ),
            ("dave".into(), "TTT 1 dave Erin ......... next=dave".into()),
            (
                "dave".into(),
                "| . . .   1 2 3   game 1: dave (X) vs Erin (O)".into()
            ),
        ]
    );
    assert_eq!(
        lines(&says[5..6]),
        [("Erin".into(), "TTT 1 dave Erin ......... next=dave".into())]
    );
    assert_eq!(says[5].tag, Tag::Player(1, nick("Erin")));
    // Erin goes offline: dave alone hears the end.
    r.on_message(Place::Private, &nick("dave"), "5", now);
    let says = r.unreachable(1, &nick("erin"));
    assert_eq!(
        lines(&says[..2]),
        [
            ("dave".into(), "game 1 ended: Erin is not online".into()),
            (
                "dave".into(),
                "TTT 1 dave Erin ....X.... resigned=Erin".into()
            ),
        ]
    );
    assert_eq!(says.len(), 5);
    assert_eq!(r.games(), 0);
}

#[test]
fn a_challenge_to_someone_offline_is_cancelled() {
    let (mut r, now) = referee();
    r.on_message(Place::Private, &nick("dave"), "play ghost", now);
    assert_eq!(
        lines(&r.invite_failed(1)),
        [("dave".into(), "ghost is not online".into())]
    );
    assert_eq!(r.games(), 0);
}

#[test]
fn leaving_the_room_resigns_and_a_nick_change_follows_the_game() {
    let (mut r, now) = referee();
    in_room(&mut r, "alice", "!ttt play bob", now);
    r.on_nick(&nick("alice"), &nick("Alicia"));
    assert_eq!(
        in_room(&mut r, "Alicia", "!ttt 1", now)[0],
        "TTT 1 Alicia Bob X........ next=Bob"
    );
    let says = r.on_leave(&room("#games"), &nick("bob"));
    assert_eq!(
        lines(&says[..2]),
        [
            ("#games".into(), "game 1 ended: bob left #games".into()),
            (
                "#games".into(),
                "TTT 1 Alicia Bob X........ resigned=Bob".into()
            ),
        ]
    );
    assert_eq!(r.games(), 0);
    assert_eq!(
        in_room(&mut r, "alicia", "!ttt play bob", now),
        ["alicia: bob is not in #games"]
    );
}

#[test]
fn an_idle_game_ends_against_the_player_to_move() {
    let (mut r, now) = referee();
    in_room(&mut r, "alice", "!ttt play carol", now);
    in_room(&mut r, "alice", "!ttt 1", now + Duration::from_secs(60));
    assert!(r.expire(now + Duration::from_secs(600)).is_empty());
    let says = r.expire(now + Duration::from_secs(660));
    assert_eq!(
        lines(&says[..2]),
        [
            (
                "#games".into(),
                "game 1 ended: carol did not move for 600 seconds".into()
            ),
            (
                "#games".into(),
                "TTT 1 alice carol X........ resigned=carol".into()
            ),
        ]
    );
    assert_eq!(r.games(), 0);
}

#[test]
fn help_goes_privately_and_resign_ends_the_game() {
    let (mut r, now) = referee();
    let help = r.on_message(
        Place::Room(room("#games")),
        &nick("carol"),
        "!ttt help",
        now,
    );
    assert_eq!(help.len(), render::HELP.len());
    assert!(help.iter().all(|s| s.to == To::User(nick("carol"))));
    in_room(&mut r, "alice", "!ttt play carol", now);
    assert_eq!(
        in_room(&mut r, "carol", "!ttt resign", now)[0],
        "TTT 1 alice carol ......... resigned=carol"
    );
    assert_eq!(r.games(), 0);
}
