//! What an operator's commands do, for every front end: each checks
//! nothing of privileges (the session does, before calling), acts through
//! the directory, rooms and bans, logs at info with who did it, and counts
//! `chatroom_oper_actions_total{action}`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::info;

use super::mask::BanMask;
use super::{check_oper, OperAction, OperName, Password, ServerBan, ServerOrder};
use crate::core::directory::{CloseRoom, OrderAll, OrderNick};
use crate::core::gate::{GateRules, GuessTarget, Guesser};
use crate::core::member::SessionId;
use crate::core::names::{Nick, RoomName};
use crate::core::room::Close;
use crate::core::services::Services;
use crate::core::{ErrorCode, UserHost};

/// An operator, as its actions are logged and shown.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Its operator block's name.
    pub name: OperName,
    /// Its nickname.
    pub nick: Nick,
    /// Its user and host, as events show it.
    pub userhost: UserHost,
    /// The address it is connected from.
    pub peer: IpAddr,
}

/// The reason a KILL gives when the operator gave none.
pub const DEFAULT_KILL_REASON: &str = "no reason given";
/// The reason a KLINE gives when the operator gave none.
pub const DEFAULT_KLINE_REASON: &str = "banned";

/// Checks an OPER's name and password through the password gate (argon2id
/// costs milliseconds by design: a bounded number at once, off the actors'
/// thread, and wrong guesses back off the connection, its address and the
/// block's name): the block's name if they open one from `peer`. Backed
/// off is refused as a wrong password is. Logged either way.
pub async fn authenticate(
    services: &Services,
    conn: SessionId,
    nick: &Nick,
    name: String,
    password: Password,
    peer: IpAddr,
) -> Option<OperName> {
    // The operator blocks in force now (a reload may have changed them).
    let config = services.config();
    let tried = name.clone();
    let blocks = Arc::clone(&config);
    let who = Guesser { conn, addr: peer };
    let target = GuessTarget::Operator(name.to_ascii_lowercase());
    let granted = services
        .gate
        .verify(&GateRules::of(&config.limits), who, target, move || {
            check_oper(&blocks.operators, &name, &password.0, peer)
        })
        .await
        .unwrap_or(false);
    if !granted {
        info!(%nick, %peer, oper = %tried, "OPER refused");
        return None;
    }
    // The block's own spelling: operators are logged under one name.
    let name = config
        .operators
        .keys()
        .find(|n| n.eq_ignore_ascii_case(&tried))
        .map_or(tried, String::clone);
    let name = OperName(Arc::from(name));
    info!(action = "oper", oper = %name, %nick, %peer, "operator action");
    OperAction::Oper.count();
    Some(name)
}

/// `KILL`: orders the session holding `target` to end; answers its
/// nickname as spelled, or `NoSuchNick`.
pub async fn kill(
    services: &Services,
    op: &Operator,
    target: &Nick,
    reason: Option<String>,
) -> Result<Nick, ErrorCode> {
    let reason = reason.unwrap_or_else(|| DEFAULT_KILL_REASON.to_string());
    let order = OrderNick {
        nick: target.folded().clone(),
        order: ServerOrder::Kill {
            by: op.nick.clone(),
            reason: reason.clone(),
        },
    };
    let killed = services
        .directory
        .send(order)
        .await
        .map_err(|_| ErrorCode::Internal)?
        .ok_or(ErrorCode::NoSuchNick)?;
    info!(
        action = "kill", oper = %op.name, nick = %op.nick, peer = %op.peer,
        target = %killed, %reason, "operator action"
    );
    OperAction::Kill.count();
    Ok(killed)
}

/// `KLINE <mask> [duration] [reason]`: sets the ban (stored where history
/// is kept) and has every connected user check it; answers the ban.
pub async fn kline(
    services: &Services,
    op: &Operator,
    mask: BanMask,
    duration: Option<Duration>,
    reason: Option<String>,
) -> ServerBan {
    let now = SystemTime::now();
    let ban = ServerBan {
        mask,
        reason: reason.unwrap_or_else(|| DEFAULT_KLINE_REASON.to_string()),
        set_by: op.name.to_string(),
        set_at: now,
        expires: duration.map(|d| now + d),
    };
    services.bans.add(ban.clone());
    let told = services
        .directory
        .send(OrderAll {
            order: ServerOrder::CheckBans,
        })
        .await
        .unwrap_or(0);
    info!(
        action = "kline", oper = %op.name, nick = %op.nick, peer = %op.peer,
        mask = %ban.mask, secs = duration.map_or(0, |d| d.as_secs()),
        reason = %ban.reason, checked = told, "operator action"
    );
    OperAction::Kline.count();
    ban
}

/// `UNKLINE <mask>`: lifts the ban, or `NoSuchBan`.
pub fn unkline(services: &Services, op: &Operator, mask: &BanMask) -> Result<(), ErrorCode> {
    if !services.bans.remove(mask) {
        return Err(ErrorCode::NoSuchBan);
    }
    info!(
        action = "unkline", oper = %op.name, nick = %op.nick, peer = %op.peer,
        %mask, "operator action"
    );
    OperAction::Unkline.count();
    Ok(())
}

/// `WALLOPS <text>`: to every user (each session decides whether to show
/// it); answers how many were told.
pub async fn wallops(services: &Services, op: &Operator, text: String) -> usize {
    let order = ServerOrder::Wallops {
        from: op.nick.clone(),
        userhost: op.userhost.clone(),
        text,
    };
    let told = services
        .directory
        .send(OrderAll { order })
        .await
        .unwrap_or(0);
    info!(
        action = "wallops", oper = %op.name, nick = %op.nick, peer = %op.peer,
        told, "operator action"
    );
    OperAction::Wallops.count();
    told
}

/// `CLOSE <room> [reason]`: removes every member, drops the room's record
/// and messages; answers its name as spelled, or `NoSuchRoom`.
pub async fn close(
    services: &Services,
    op: &Operator,
    room: &RoomName,
    reason: Option<String>,
) -> Result<RoomName, ErrorCode> {
    let close = CloseRoom {
        name: room.folded().clone(),
        close: Close {
            by: op.nick.clone(),
            userhost: op.userhost.clone(),
            reason: reason.clone(),
        },
    };
    let (name, removed) = services
        .directory
        .send(close)
        .await
        .map_err(|_| ErrorCode::Internal)??;
    info!(
        action = "close", oper = %op.name, nick = %op.nick, peer = %op.peer,
        room = %name, removed, reason = reason.as_deref().unwrap_or(""), "operator action"
    );
    OperAction::Close.count();
    Ok(name)
}
