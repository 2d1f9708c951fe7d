//! What a room keeps by account (`room/rights.rs`), with the fake
//! members of the room tests.

use super::*;

/// `join`, logged in to `account`.
fn logged_in(join: Join, account: &str) -> Join {
    Join {
        account: Some(Nick::parse(account, 24).unwrap()),
        ..join
    }
}

fn ops(names: &Names) -> Vec<&str> {
    names.ops.iter().map(|o| o.as_str()).collect()
}

#[actix::test]
async fn an_account_owns_its_room_whatever_the_nick_and_account_bans_and_ops_follow_logins() {
    let (room, _) = start_room(10);
    let alice = Client::new("alice", PLAIN_REF, 4096);
    room.send(logged_in(alice.join(None), "Alice"))
        .await
        .unwrap()
        .unwrap();
    let info = room.send(GetInfo).await.unwrap();
    assert_eq!(
        info.owner_account.map(|a| a.to_string()),
        Some("Alice".into())
    );
    // Her nickname moves; ownership stays with the account, not the nick.
    let alicia = Nick::parse("alicia", 24).unwrap();
    room.send(Rename {
        who: alice.key(),
        new: alicia.clone(),
    })
    .await
    .unwrap();
    let alice_now = MemberKey::new(alice.handle.inbox.id, &alicia);
    // A stranger on her old nickname is no operator; the account's
    // holder under another nickname is.
    let stranger = Client::new("alice", PLAIN_REF, 4096);
    room.send(stranger.join(None)).await.unwrap().unwrap();
    let holder = Client::new("bob", PLAIN_REF, 4096);
    room.send(logged_in(holder.join(None), "alice"))
        .await
        .unwrap()
        .unwrap();
    let names = room.send(GetNames).await.unwrap();
    assert_eq!(ops(&names), ["alicia", "bob"]);
    // The stranger may not give operators; the owner may, by account.
    let grant = |who: MemberKey, target: &str, on: bool| Grant {
        who,
        userhost: UserHost::native(),
        target: Nick::parse(target, 24).unwrap().folded().clone(),
        on,
    };
    assert_eq!(
        room.send(grant(stranger.key(), "alice", true))
            .await
            .unwrap(),
        Err(ErrorCode::NotOwner)
    );
    let carol = Client::new("carol", PLAIN_REF, 4096);
    room.send(carol.join(None)).await.unwrap().unwrap();
    room.send(grant(alice_now.clone(), "carol", true))
        .await
        .unwrap()
        .unwrap();
    // An account ban keeps out whoever is logged in to it, not the nick;
    // only operators set one.
    assert_eq!(
        room.send(set(&stranger, ModeRequest::Ban("$a:mallory".into(), true)))
            .await
            .unwrap(),
        Err(ErrorCode::NotOwner)
    );
    let ban = set(&holder, ModeRequest::Ban("$a:MALLORY".into(), true));
    room.send(ban).await.unwrap().unwrap();
    let mallory = Client::new("m", PLAIN_REF, 4096);
    assert_eq!(
        room.send(logged_in(mallory.join(None), "mallory"))
            .await
            .unwrap()
            .map(|_| ()),
        Err(ErrorCode::Banned)
    );
    let namesake = Client::new("mallory", PLAIN_REF, 4096);
    room.send(namesake.join(None)).await.unwrap().unwrap();
    // Logging in while a member: the owner's account makes one an operator.
    let late = Client::new("dave", PLAIN_REF, 4096);
    room.send(late.join(None)).await.unwrap().unwrap();
    room.send(SetAccount {
        who: late.key(),
        userhost: UserHost::native(),
        account: Some(Nick::parse("alice", 24).unwrap()),
    })
    .await
    .unwrap();
    let names = room.send(GetNames).await.unwrap();
    assert_eq!(ops(&names), ["alicia", "bob", "carol", "dave"]);
}
