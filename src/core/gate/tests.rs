use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use super::*;
use crate::core::names::RoomName;

fn limits(max_concurrent: usize, max_queued: usize) -> Limits {
    Limits {
        max_concurrent_hashes: max_concurrent,
        max_queued_hashes: max_queued,
        guess_failures_per_conn: 2,
        guess_failures_per_ip: 4,
        guess_failures_per_target: 6,
        guess_backoff_ms: 60_000,
        guess_backoff_max_secs: 600,
        exempt_ips: vec!["10.0.0.0/8".parse().unwrap()],
        ..Limits::default()
    }
}

fn room(name: &str) -> GuessTarget {
    GuessTarget::Room(RoomName::parse(name, 32).unwrap().folded().clone())
}

fn guesser(ip: [u8; 4]) -> Guesser {
    Guesser {
        conn: SessionId::next(),
        addr: IpAddr::from(ip),
    }
}

/// A check that counts its runs and answers `right`.
fn check(runs: &Arc<AtomicUsize>, right: bool) -> impl FnOnce() -> bool + Send + 'static {
    let runs = Arc::clone(runs);
    move || {
        runs.fetch_add(1, Ordering::SeqCst);
        right
    }
}

#[tokio::test]
async fn wrong_guesses_back_off_without_hashing_and_others_still_get_in() {
    let gate = PasswordGate::default();
    let l = limits(1, 4);
    let r = GateRules::of(&l);
    let runs = Arc::new(AtomicUsize::new(0));
    let mallory = guesser([192, 0, 2, 1]);
    for _ in 0..2 {
        let got = gate
            .verify(&r, mallory, room("#a"), check(&runs, false))
            .await;
        assert_eq!(got, Ok(false));
    }
    // Two wrong: the connection waits a minute; nothing is hashed.
    let got = gate
        .verify(&r, mallory, room("#a"), check(&runs, true))
        .await;
    assert_eq!(got, Err(ErrorCode::TryLater));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // Another connection from the same address still may (4 free there)...
    let same_host = Guesser {
        conn: SessionId::next(),
        ..mallory
    };
    let got = gate
        .verify(&r, same_host, room("#a"), check(&runs, false))
        .await;
    assert_eq!(got, Ok(false));
    // ... and someone else with the right key gets in.
    let alice = guesser([198, 51, 100, 7]);
    let got = gate.verify(&r, alice, room("#a"), check(&runs, true)).await;
    assert_eq!(got, Ok(true));
    // New connections from mallory's address: two more, then backed off.
    for want in [Ok(false), Err(ErrorCode::TryLater)] {
        let g = Guesser {
            conn: SessionId::next(),
            ..mallory
        };
        let got = gate.verify(&r, g, room("#b"), check(&runs, false)).await;
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn a_target_backs_off_whoever_guesses() {
    let gate = PasswordGate::default();
    let l = limits(1, 4);
    let r = GateRules::of(&l);
    let runs = Arc::new(AtomicUsize::new(0));
    for i in 0..6u8 {
        let got = gate
            .verify(
                &r,
                guesser([203, 0, 113, i]),
                room("#t"),
                check(&runs, false),
            )
            .await;
        assert_eq!(got, Ok(false));
    }
    let got = gate
        .verify(
            &r,
            guesser([203, 0, 113, 99]),
            room("#t"),
            check(&runs, true),
        )
        .await;
    assert_eq!(got, Err(ErrorCode::TryLater));
    let account = GuessTarget::Account(RoomName::parse("#t", 32).unwrap().folded().clone());
    let got = gate
        .verify(&r, guesser([203, 0, 113, 99]), account, check(&runs, true))
        .await;
    assert_eq!(got, Ok(true), "another target is its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded_and_the_queue_too() {
    let gate = Arc::new(PasswordGate::default());
    // Moved into the tasks below: limits that live as long as they do.
    let l: &'static Limits = Box::leak(Box::new(limits(1, 1)));
    let r = GateRules::of(l);
    let (release, wait) = mpsc::channel::<()>();
    let (started, is_started) = mpsc::channel::<()>();
    let first = {
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            gate.hash(&r, move || {
                started.send(()).unwrap();
                wait.recv().unwrap();
                1
            })
            .await
        })
    };
    tokio::task::spawn_blocking(move || is_started.recv().unwrap())
        .await
        .unwrap();
    assert_eq!(gate.slots.running(), 1);
    let queued = {
        let gate = Arc::clone(&gate);
        tokio::spawn(async move { gate.hash(&r, || 2).await })
    };
    // Once the second waits, the queue (of one) is full: a third is
    // refused at once.
    while gate.slots.waiting() == 0 {
        tokio::task::yield_now().await;
    }
    let refused = gate.hash(&r, || 3).await.unwrap_err();
    assert_eq!(refused, ErrorCode::TryLater);
    release.send(()).unwrap();
    assert_eq!(first.await.unwrap(), Ok(1));
    assert_eq!(queued.await.unwrap(), Ok(2));
    assert_eq!(gate.slots.running(), 0);
}

#[tokio::test]
async fn a_check_given_up_before_its_turn_counts_as_no_failure() {
    let gate = PasswordGate::default();
    let l = limits(1, 4);
    let r = GateRules::of(&l);
    let mallory = guesser([192, 0, 2, 50]);
    let runs = Arc::new(AtomicUsize::new(0));
    // Every slot taken: the checks wait; give them up (drop the futures).
    let held = gate.slots.acquire(1, 0).await.expect("the only slot");
    for _ in 0..5 {
        let check = gate.verify(&r, mallory, room("#c"), check(&runs, false));
        let given_up = tokio::time::timeout(std::time::Duration::from_millis(5), check).await;
        assert!(given_up.is_err(), "still waiting for a slot");
    }
    drop(held);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // Nothing was counted against the connection: two wrong ones still free.
    for _ in 0..2 {
        let got = gate
            .verify(&r, mallory, room("#c"), check(&runs, false))
            .await;
        assert_eq!(got, Ok(false));
    }
    assert_eq!(gate.slots.waiting(), 0);
}

#[tokio::test]
async fn an_exempt_address_is_not_backed_off_as_such() {
    let gate = PasswordGate::default();
    let l = limits(1, 4);
    let r = GateRules::of(&l);
    let runs = Arc::new(AtomicUsize::new(0));
    // Behind a proxy at 10.0.0.1: many clients, each with its connection.
    for i in 0..10u8 {
        let target = room(&format!("#p{i}"));
        for _ in 0..2 {
            let g = guesser([10, 0, 0, 1]);
            let got = gate
                .verify(&r, g, target.clone(), check(&runs, false))
                .await;
            assert_eq!(got, Ok(false));
        }
    }
    let got = gate
        .verify(
            &r,
            guesser([10, 0, 0, 1]),
            room("#other"),
            check(&runs, true),
        )
        .await;
    assert_eq!(got, Ok(true), "20 failures from the proxy's address");
}
