//! The tic-tac-toe bot (examples/tictactoe) as a real process against an
//! in-process server: players on raw TCP play whole games in a room and in
//! private, and the bot's `TTT` and `| ` lines are checked exactly
//! (docs/TICTACTOE.md).

mod common;

// The bot's pure modules, compiled here as well so that `cargo test` runs
// their unit tests: an example marked `test = true` would be built only as
// a test harness, not as the program the tests below start.
#[allow(dead_code)]
#[path = "../examples/tictactoe/command.rs"]
mod command;
#[allow(dead_code)]
#[path = "../examples/tictactoe/connection.rs"]
mod connection;
#[allow(dead_code)]
#[path = "../examples/tictactoe/game.rs"]
mod game;
#[allow(dead_code)]
#[path = "../examples/tictactoe/referee.rs"]
mod referee;
#[allow(dead_code)]
#[path = "../examples/tictactoe/render.rs"]
mod render;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::*;

/// The bot, connected to `addr`, in `#games`. A plain `cargo test` builds
/// the example; `cargo test --test tictactoe` alone does not.
fn bot(addr: SocketAddr) -> Running {
    let program = example("tictactoe");
    assert!(
        program.exists(),
        "{} is missing: run `cargo build --example tictactoe` first",
        program.display()
    );
    Running(
        Command::new(program)
            .args(["--server", &addr.to_string(), "--rooms", "#games"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the tictactoe example runs"),
    )
}

/// Reads the lines `want`, plus `ok` (the final reply of the command just
/// sent) wherever it falls among them: with history kept, the bot may
/// answer a room message before its sender's `OK MSG`.
#[track_caller]
fn expect_with_ok(c: &mut Client, ok: &str, want: &[String]) {
    let mut got = Vec::new();
    let mut saw_ok = false;
    while got.len() < want.len() || !saw_ok {
        let line = c.line();
        if line == ok && !saw_ok {
            saw_ok = true;
        } else {
            got.push(line);
        }
    }
    assert_eq!(got, want, "[{}]", c.name);
}

/// The four board lines of game `id` between `x` and `o`.
fn board(id: u64, x: &str, o: &str, cells: &str, status: &str, words: &str) -> Vec<String> {
    let c: Vec<char> = cells.chars().collect();
    vec![
        format!("TTT {id} {x} {o} {cells} {status}"),
        format!(
            "| {} {} {}   1 2 3   game {id}: {x} (X) vs {o} (O)",
            c[0], c[1], c[2]
        ),
        format!("| {} {} {}   4 5 6   {words}", c[3], c[4], c[5]),
        format!("| {} {} {}   7 8 9", c[6], c[7], c[8]),
    ]
}

/// `lines` as the bot's messages to `#games`.
fn in_games(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| format!("MSG #games tictactoe {l}"))
        .collect()
}

/// `lines` as the bot's private messages.
fn private(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| format!("PRIVMSG tictactoe {l}"))
        .collect()
}

/// alice and bob in `#games`, then the bot.
fn room_with_bot() -> (TestServer, Running, Client, Client) {
    let server = start_default();
    let mut alice = Client::join(server.addr(), "alice", "#games");
    let mut bob = Client::join(server.addr(), "bob", "#games");
    alice.expect("JOIN #games bob");
    let bot = bot(server.addr());
    alice.expect("JOIN #games tictactoe");
    bob.expect("JOIN #games tictactoe");
    (server, bot, alice, bob)
}

/// Asserts the next lines are `lines`.
#[track_caller]
fn expect_all(c: &mut Client, lines: &[String]) {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    c.expect_lines(&refs);
}

/// `mover` says `text` in `#games`; both players see the bot's `lines`
/// (the other player after `text` itself).
#[track_caller]
fn room_say(mover: &mut Client, other: &mut Client, text: &str, lines: &[String]) {
    mover.send(&format!("MSG #games {text}"));
    let lines = in_games(lines);
    expect_with_ok(mover, "OK MSG #games", &lines);
    other.expect(&format!("MSG #games {} {text}", mover.name));
    expect_all(other, &lines);
}

/// The lines of game 1's start, alice against bob.
fn alice_challenges_bob() -> Vec<String> {
    let mut start = vec![
        "bob: alice started game 1 against you; alice plays X and moves first, with !ttt <1-9>"
            .to_string(),
    ];
    start.extend(board(
        1,
        "alice",
        "bob",
        ".........",
        "next=alice",
        "alice (X) to play",
    ));
    start
}

/// `who` says `text` in `#games` and alone is answered `answer` (the
/// other players see only the message itself).
#[track_caller]
fn refused(who: &mut Client, others: &mut [&mut Client], text: &str, answer: &str) {
    who.send(&format!("MSG #games {text}"));
    let line = format!("MSG #games tictactoe {}: {answer}", who.name);
    expect_with_ok(who, "OK MSG #games", std::slice::from_ref(&line));
    for o in others.iter_mut() {
        o.expect(&format!("MSG #games {} {text}", who.name));
        o.expect(&line);
    }
}

#[test]
fn a_room_game_is_played_to_a_win_and_illegal_moves_are_answered() {
    let (server, _bot, mut alice, mut bob) = room_with_bot();

    refused(
        &mut alice,
        &mut [&mut bob],
        "!ttt play dave",
        "dave is not in #games",
    );
    refused(
        &mut bob,
        &mut [&mut alice],
        "!ttt 5",
        "you are in no game here: !ttt play <nick> starts one",
    );

    room_say(
        &mut alice,
        &mut bob,
        "!ttt play bob",
        &alice_challenges_bob(),
    );

    refused(
        &mut bob,
        &mut [&mut alice],
        "!ttt 5",
        "not your turn: alice (X) plays next",
    );
    refused(
        &mut alice,
        &mut [&mut bob],
        "!ttt 10",
        "cells are 1 to 9, row by row from the top left",
    );
    refused(
        &mut alice,
        &mut [&mut bob],
        "!ttt play bob",
        "you are already in game 1 here, against bob: finish it or !ttt resign",
    );

    let moves: [(bool, u32, &str, &str, &str); 5] = [
        (true, 5, "....X....", "next=bob", "bob (O) to play"),
        (false, 1, "O...X....", "next=alice", "alice (X) to play"),
        (true, 2, "OX..X....", "next=bob", "bob (O) to play"),
        (false, 3, "OXO.X....", "next=alice", "alice (X) to play"),
        (true, 8, "OXO.X..X.", "won=alice", "alice wins"),
    ];
    for (i, (alice_moves, cell, cells, status, words)) in moves.into_iter().enumerate() {
        let lines = board(1, "alice", "bob", cells, status, words);
        let text = format!("!ttt {cell}");
        if alice_moves {
            room_say(&mut alice, &mut bob, &text, &lines);
        } else {
            room_say(&mut bob, &mut alice, &text, &lines);
        }
        // After bob's first move, 5 is taken.
        if i == 1 {
            refused(&mut alice, &mut [&mut bob], "!ttt 5", "cell 5 is taken");
        }
    }
    // The game is over: the next move finds none.
    refused(
        &mut bob,
        &mut [&mut alice],
        "!ttt 9",
        "you are in no game here: !ttt play <nick> starts one",
    );
    alice.sync();
    bob.sync();
    server.shutdown();
}

#[test]
fn a_private_game_is_played_to_a_draw() {
    let server = start_default();
    // carol waits in #games for the bot to come; dave shares no room
    // with it.
    let mut carol = Client::join(server.addr(), "carol", "#games");
    let mut dave = Client::register(server.addr(), "dave");
    let _bot = bot(server.addr());
    carol.expect("JOIN #games tictactoe");
    carol.send("PRIVMSG tictactoe !ttt help");
    carol.expect("OK PRIVMSG tictactoe");
    let help = carol.line();
    assert!(
        help.starts_with("PRIVMSG tictactoe tic-tac-toe: "),
        "{help}"
    );
    for _ in 1..6 {
        assert!(carol.line().starts_with("PRIVMSG tictactoe !ttt "));
    }

    carol.send("PRIVMSG tictactoe play ghost");
    expect_with_ok(
        &mut carol,
        "OK PRIVMSG tictactoe",
        &private(&["ghost is not online".to_string()]),
    );

    carol.send("PRIVMSG tictactoe !ttt play DAVE");
    dave.expect(
        "PRIVMSG tictactoe carol started game 2 against you; carol plays X and moves first, with !ttt <1-9>",
    );
    let first = board(
        2,
        "carol",
        "dave",
        ".........",
        "next=carol",
        "carol (X) to play",
    );
    let mut to_carol =
        vec!["game 2 started against dave; you play X and move first, with !ttt <1-9>".to_string()];
    to_carol.extend(first.clone());
    expect_with_ok(&mut carol, "OK PRIVMSG tictactoe", &private(&to_carol));
    expect_all(&mut dave, &private(&first));

    // dave out of turn, then on a taken cell; each hears it alone.
    dave.send("PRIVMSG tictactoe 5");
    expect_with_ok(
        &mut dave,
        "OK PRIVMSG tictactoe",
        &private(&["not your turn: carol (X) plays next".to_string()]),
    );

    // X O X / X O O / O X X
    let moves: [(u32, &str, &str, &str); 9] = [
        (1, "X........", "next=dave", "dave (O) to play"),
        (2, "XO.......", "next=carol", "carol (X) to play"),
        (3, "XOX......", "next=dave", "dave (O) to play"),
        (5, "XOX.O....", "next=carol", "carol (X) to play"),
        (4, "XOXXO....", "next=dave", "dave (O) to play"),
        (6, "XOXXOO...", "next=carol", "carol (X) to play"),
        (8, "XOXXOO.X.", "next=dave", "dave (O) to play"),
        (7, "XOXXOOOX.", "next=carol", "carol (X) to play"),
        (9, "XOXXOOOXX", "draw", "draw"),
    ];
    for (i, (cell, cells, status, words)) in moves.into_iter().enumerate() {
        let lines = private(&board(2, "carol", "dave", cells, status, words));
        // With and without the !ttt prefix, by turns.
        let text = if i % 2 == 0 {
            format!("PRIVMSG tictactoe !ttt {cell}")
        } else {
            format!("PRIVMSG tictactoe {cell}")
        };
        let (mover, other) = if i % 2 == 0 {
            (&mut carol, &mut dave)
        } else {
            (&mut dave, &mut carol)
        };
        mover.send(&text);
        expect_with_ok(mover, "OK PRIVMSG tictactoe", &lines);
        expect_all(other, &lines);
        if i == 0 {
            dave.send("PRIVMSG tictactoe !ttt 1");
            expect_with_ok(
                &mut dave,
                "OK PRIVMSG tictactoe",
                &private(&["cell 1 is taken".to_string()]),
            );
        }
    }
    carol.sync();
    dave.sync();
    server.shutdown();
}

#[test]
fn a_player_who_leaves_the_room_resigns() {
    let (server, _bot, mut alice, mut bob) = room_with_bot();
    room_say(
        &mut alice,
        &mut bob,
        "!ttt play bob",
        &alice_challenges_bob(),
    );
    room_say(
        &mut alice,
        &mut bob,
        "!ttt 5",
        &board(
            1,
            "alice",
            "bob",
            "....X....",
            "next=bob",
            "bob (O) to play",
        ),
    );
    bob.send("PART #games");
    bob.expect("OK PART #games");
    alice.expect("PART #games bob");
    let mut end = vec!["game 1 ended: bob left #games".to_string()];
    end.extend(board(
        1,
        "alice",
        "bob",
        "....X....",
        "resigned=bob",
        "bob resigned",
    ));
    expect_all(&mut alice, &in_games(&end));
    alice.sync();
    server.shutdown();
}

#[test]
fn the_bot_comes_back_after_a_server_restart() {
    let (server, _bot, mut alice, _bob) = room_with_bot();
    let addr = server.addr();
    server.shutdown();
    alice.expect("SERVER shutting down");
    alice.expect_closed();

    let mut config = chatroom::config::Config::from_toml("").unwrap();
    config.server.listen = addr.to_string();
    let server = start_config(config, None);
    let mut alice = Client::register(addr, "alice");
    alice.send("JOIN #games");
    let reply = alice.read_until_prefix("OK JOIN ");
    // The bot retries after one second, most likely after alice joined,
    // but it may have been quicker.
    if !reply.iter().any(|l| l == "NAMES #games alice tictactoe") {
        alice.expect("JOIN #games tictactoe");
    }
    let mut bob = Client::join(addr, "bob", "#games");
    alice.expect("JOIN #games bob");
    room_say(
        &mut alice,
        &mut bob,
        "!ttt play bob",
        &alice_challenges_bob(),
    );
    alice.sync();
    server.shutdown();
}
