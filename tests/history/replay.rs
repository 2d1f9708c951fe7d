//! Replay on JOIN, HISTORY, and OK MSG in its place among the replies.

use super::*;

// ---- 1: replay on JOIN ---------------------------------------------------

#[test]
fn a_joiner_is_replayed_the_last_messages() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    say_pipelined(&mut alice, "#r", 0..25);

    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#R", None, "#r");
    assert_eq!(reply.names, ["alice", "bob"]);
    assert_eq!(texts(&reply.history), expected(5..25));
    assert!(reply.history.iter().all(|m| m.from == "alice"));
    let times: Vec<&str> = reply.history.iter().map(|m| m.time.as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times {times:?}");
    alice.expect("JOIN #r bob");

    // Said after the JOIN: an event, never a replay.
    alice.send("MSG #r after the join");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice after the join");
    // JOIN of a room already joined: NAMES and OK only.
    bob.send("JOIN #r");
    bob.expect_lines(&["NAMES #r alice bob", "OK JOIN #r"]);
    bob.sync();
    alice.sync();

    // A later joiner sees the newest message last.
    let mut carol = Peer::register(addr, "carol");
    let reply = carol.join_new("#r", None, "#r");
    let mut want = expected(6..25);
    want.push("after the join".into());
    assert_eq!(texts(&reply.history), want);

    // A room with no messages replays nothing.
    let mut dave = Peer::register(addr, "dave");
    assert!(dave.join_new("#quiet", None, "#quiet").history.is_empty());
}

#[test]
fn on_join_sets_how_many_are_replayed() {
    let server = start(&format!("{NO_FLOOD}[history]\non_join = 3\n"));
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    say_pipelined(&mut alice, "#r", 0..25);
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#r", None, "#r");
    assert_eq!(texts(&reply.history), expected(22..25));
    // HISTORY without a count gives on_join messages too.
    assert_eq!(texts(&bob.history("#r", None, "#r")), expected(22..25));
}

#[test]
fn on_join_zero_replays_nothing() {
    let server = start(&format!("{NO_FLOOD}[history]\non_join = 0\n"));
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    say_pipelined(&mut alice, "#r", 0..5);
    let mut bob = Peer::register(addr, "bob");
    assert!(bob.join_new("#r", None, "#r").history.is_empty());
    assert_eq!(texts(&bob.history("#r", Some(5), "#r")), expected(0..5));
}

#[test]
fn a_join_during_a_stream_of_messages_misses_none_and_repeats_none() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::register(addr, "bob");
    // alice says 100 messages, then goes on in pipelined chunks until a
    // few chunks after she has seen bob join; returns how many she said.
    let (started, go) = mpsc::channel();
    let talker = thread::spawn(move || {
        say_pipelined(&mut alice, "#r", 0..100);
        started.send(()).unwrap();
        let (mut said, mut after_join) = (100, None);
        while after_join.is_none_or(|n| n < 5) {
            let mut out = String::new();
            for i in said..said + 20 {
                out.push_str(&format!("MSG #r {}\n", text(i)));
            }
            alice.send_bytes(out.as_bytes());
            said += 20;
            let mut oks = 0;
            while oks < 20 {
                match alice.line().as_str() {
                    "OK MSG #r" => oks += 1,
                    "JOIN #r bob" => after_join = Some(0),
                    other => panic!("[alice] unexpected {other:?}"),
                }
            }
            after_join = after_join.map(|n| n + 1);
            assert!(said < 100_000, "bob's JOIN never came");
        }
        alice.sync();
        // alice stays connected: her QUIT must not race bob's sync.
        (said, alice)
    });
    go.recv_timeout(READ_TIMEOUT)
        .expect("alice's first messages");
    bob.send("JOIN #r");
    bob.expect("JOIN #r bob");
    // The JOIN reply, whole: NAMES, the replay, OK JOIN. Alice's messages
    // said meanwhile are held by the room and follow it as events.
    let names = bob.line();
    assert!(names.starts_with("NAMES #r "), "unexpected {names:?}");
    let mut history = Vec::new();
    let mut events = Vec::new();
    loop {
        let l = bob.line();
        if l == "OK JOIN #r" {
            break;
        }
        assert!(
            l.starts_with("HISTORY "),
            "[bob] {l:?} inside the JOIN reply"
        );
        history.push(parse_history(&l, "#r").text);
    }
    let (said, _alice) = talker.join().expect("talker");
    while events.last() != Some(&text(said - 1)) {
        let l = bob.line();
        let t = l
            .strip_prefix("MSG #r alice ")
            .unwrap_or_else(|| panic!("[bob] unexpected {l:?}"));
        events.push(t.to_string());
    }
    bob.sync();
    assert_eq!(history.len(), 20, "a full replay: {history:?}");
    // Four whole chunks at least came after bob's JOIN.
    assert!(events.len() >= 80, "only {} events", events.len());
    let all: Vec<String> = history.into_iter().chain(events).collect();
    let first = said - all.len();
    assert_eq!(all, expected(first..said), "a gap or a repeat at the JOIN");
}

// ---- 2: HISTORY ------------------------------------------------------------

#[test]
fn history_counts_defaults_clamps_and_membership() {
    // on_join may not exceed max_fetch.
    let server = start(&format!(
        "{NO_FLOOD}[history]\non_join = 5\nmax_fetch = 10\n"
    ));
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#Hist");
    say_pipelined(&mut alice, "#Hist", 0..15);

    assert_eq!(
        texts(&alice.history("#hist", Some(3), "#Hist")),
        expected(12..15)
    );
    assert_eq!(
        texts(&alice.history("#Hist", None, "#Hist")),
        expected(10..15)
    );
    assert_eq!(
        texts(&alice.history("HIST", Some(10), "#Hist")),
        expected(5..15)
    );
    // Above max_fetch: clamped.
    assert_eq!(
        texts(&alice.history("#Hist", Some(11), "#Hist")),
        expected(5..15)
    );
    assert_eq!(
        texts(&alice.history("#Hist", Some(4_000_000), "#Hist")),
        expected(5..15)
    );
    alice.send("HISTORY #hist 0");
    alice.expect("OK HISTORY #Hist 0");
    // Each line names the sender.
    let h = alice.history("#Hist", Some(2), "#Hist");
    assert!(h.iter().all(|m| m.from == "alice"), "{h:?}");

    // Fewer messages than asked for.
    let mut bob = Peer::register(addr, "bob");
    assert!(bob.join_new("#few", None, "#few").history.is_empty());
    bob.send("HISTORY #few 5");
    bob.expect("OK HISTORY #few 0");
    bob.send("MSG #few only one");
    bob.expect("OK MSG #few");
    let h = bob.history("#few", Some(5), "#few");
    assert_eq!(texts(&h), ["only one"]);
    assert_eq!(h[0].from, "bob");

    // Members only, whether or not the room exists.
    bob.send("HISTORY #Hist");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.send("HISTORY #hist 3");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.send("HISTORY #nosuchroom");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.send("HISTORY #nosuchroom 0");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    // After a PART, no longer a member.
    alice.send("PART #Hist");
    alice.expect("OK PART #Hist");
    alice.send("HISTORY #Hist 1");
    alice.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.sync();
}

// ---- 3: OK MSG keeps its place among the replies -----------------------------

#[test]
fn replies_stay_in_command_order_around_stored_messages() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::join(addr, "bob", "#r");
    alice.expect("JOIN #r bob");

    for round in 0..20 {
        alice.send_bytes(
            format!("MSG #r a{round}\nMSG #r b{round}\nNAMES #r\nMSG #r c{round}\nPING x{round}\n")
                .as_bytes(),
        );
        alice.expect_lines(&[
            "OK MSG #r",
            "OK MSG #r",
            "NAMES #r alice bob",
            "OK NAMES #r 2",
            "OK MSG #r",
            &format!("PONG x{round}"),
        ]);
        for t in ["a", "b", "c"] {
            bob.expect(&format!("MSG #r alice {t}{round}"));
        }
    }

    // A HISTORY right after a MSG sees it (read your writes); a JOIN, a
    // MSG to the new room and a PART keep their order too.
    alice.send_bytes(
        b"MSG #r d\nHISTORY #r 1\nMSG #r e\nJOIN #s\nMSG #s f\nHISTORY #s 5\nPART #s\nMSG #r g\nPING end\n",
    );
    alice.expect("OK MSG #r");
    let l = alice.line();
    assert_eq!(parse_history(&l, "#r").text, "d");
    alice.expect_lines(&[
        "OK HISTORY #r 1",
        "OK MSG #r",
        "JOIN #s alice",
        "NAMES #s alice",
        "OK JOIN #s",
        "OK MSG #s",
    ]);
    let l = alice.line();
    assert_eq!(parse_history(&l, "#s").text, "f");
    alice.expect_lines(&["OK HISTORY #s 1", "OK PART #s", "OK MSG #r", "PONG end"]);
    bob.expect_lines(&["MSG #r alice d", "MSG #r alice e", "MSG #r alice g"]);
    bob.sync();
    alice.sync();
}
