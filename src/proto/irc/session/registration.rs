//! Registration: CAP negotiation, PASS, NICK, USER, and the welcome
//! (001-005, LUSERS, MOTD) once all are done. NICK after registration
//! (a nickname change) is here too.

use super::*;
use crate::core::directory::{ClaimNick, Profile};
use crate::core::member::deliver_once;
use crate::core::room;
use crate::core::ErrorCode;

/// The capabilities this server implements, as `CAP LS` lists them.
const CAPS: &[&str] = &[
    "account-notify",
    "account-tag",
    "away-notify",
    "batch",
    "cap-notify",
    "draft/chathistory",
    "echo-message",
    "extended-join",
    "labeled-response",
    "message-tags",
    "multi-prefix",
    "sasl",
    "server-time",
    "userhost-in-names",
];

/// What registration still waits for.
#[derive(Debug, Default)]
pub(super) struct Registration {
    /// CAP LS or REQ came and CAP END has not: registration waits.
    negotiating: bool,
    /// USER came.
    user: bool,
    /// A PASS matching `irc.password` came.
    password_ok: bool,
}

/// Keeps the characters a user name may hold, at most ten of them.
fn clean_username(username: &str) -> String {
    let clean: String = username
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(10)
        .collect();
    if clean.is_empty() {
        "user".into()
    } else {
        clean
    }
}

impl Session {
    /// What the directory shows of this client (WHO, WHOIS, AWAY...).
    pub(super) fn profile(&self) -> Profile {
        Profile {
            userhost: self.userhost.clone(),
            realname: Arc::clone(&self.realname),
            away: self.away.as_deref().map(Arc::from),
            invisible: self.invisible,
            pending: !self.registered(),
        }
    }

    pub(super) fn cmd_cap(&mut self, cap: super::super::command::Cap, ctx: &mut Context<Self>) {
        use super::super::command::Cap;
        match cap {
            Cap::Ls(version) => {
                if let Some(reg) = &mut self.registration {
                    reg.negotiating = true;
                }
                // CAP LS 302 implies cap-notify.
                if version.is_some_and(|v| v >= 302) {
                    self.caps.cap_notify = true;
                }
                self.line(ServerLine::Cap {
                    sub: "LS",
                    more: false,
                    caps: CAPS.join(" "),
                });
            }
            Cap::List => {
                let c = &self.caps;
                let l = &c.look;
                let on: Vec<&str> = [
                    (l.account_notify, "account-notify"),
                    (l.account_tag, "account-tag"),
                    (l.away_notify, "away-notify"),
                    (c.batch, "batch"),
                    (c.cap_notify, "cap-notify"),
                    (c.chathistory, "draft/chathistory"),
                    (c.echo_message, "echo-message"),
                    (l.extended_join, "extended-join"),
                    (c.labeled_response, "labeled-response"),
                    (l.message_tags, "message-tags"),
                    (c.multi_prefix, "multi-prefix"),
                    (c.sasl, "sasl"),
                    (l.server_time, "server-time"),
                    (l.userhost_in_names, "userhost-in-names"),
                ]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
                self.line(ServerLine::Cap {
                    sub: "LIST",
                    more: false,
                    caps: on.join(" "),
                });
            }
            Cap::Req(asked) => {
                if let Some(reg) = &mut self.registration {
                    reg.negotiating = true;
                }
                let mut caps = self.caps;
                let mut ok = true;
                for name in asked.split(' ').filter(|n| !n.is_empty()) {
                    let (on, name) = match name.strip_prefix('-') {
                        Some(name) => (false, name),
                        None => (true, name),
                    };
                    let look = &mut caps.look;
                    match name {
                        "multi-prefix" => caps.multi_prefix = on,
                        "echo-message" => caps.echo_message = on,
                        "batch" => caps.batch = on,
                        "labeled-response" => caps.labeled_response = on,
                        "draft/chathistory" => caps.chathistory = on,
                        "sasl" => caps.sasl = on,
                        // CAP LS 302 clients have it whatever they ask.
                        "cap-notify" => caps.cap_notify = on || self.caps.cap_notify,
                        "server-time" => look.server_time = on,
                        "message-tags" => look.message_tags = on,
                        "extended-join" => look.extended_join = on,
                        "userhost-in-names" => look.userhost_in_names = on,
                        "away-notify" => look.away_notify = on,
                        "account-notify" => look.account_notify = on,
                        "account-tag" => look.account_tag = on,
                        _ => ok = false,
                    }
                }
                if ok {
                    let relook = caps.look != self.caps.look;
                    self.caps = caps;
                    if relook && self.registered() {
                        self.reencode();
                    }
                }
                self.line(ServerLine::Cap {
                    sub: if ok { "ACK" } else { "NAK" },
                    more: false,
                    caps: asked,
                });
            }
            Cap::End => {
                if let Some(reg) = &mut self.registration {
                    reg.negotiating = false;
                }
                self.try_register(ctx);
            }
        }
    }

    pub(super) fn cmd_pass(&mut self, password: String, ctx: &mut Context<Self>) {
        let Some(reg) = &mut self.registration else {
            return self.numeric(Numeric::AlreadyRegistered);
        };
        let want = &self.state.core.config().irc.password;
        if want.is_empty() || password == *want {
            reg.password_ok = true;
        } else {
            self.numeric(Numeric::PasswdMismatch);
            self.close(Ending::BadPassword, ctx);
        }
    }

    pub(super) fn cmd_user(&mut self, username: String, realname: String, ctx: &mut Context<Self>) {
        let Some(reg) = self.registration.as_mut().filter(|r| !r.user) else {
            return self.numeric(Numeric::AlreadyRegistered);
        };
        reg.user = true;
        self.userhost = UserHost::new(&format!("~{}", clean_username(&username)), "irc");
        self.realname = Arc::from(realname);
        self.try_register(ctx);
    }

    pub(super) fn cmd_nick(&mut self, nick: Result<Nick, String>, ctx: &mut Context<Self>) {
        let nick = match nick {
            Ok(nick) => nick,
            Err(raw) => return self.numeric(Numeric::ErroneousNickname(raw)),
        };
        if self.nick.as_ref() == Some(&nick) {
            return;
        }
        let old = self.nick.clone();
        let registry = self.state.core.directory.clone();
        let rooms = self.rooms.clone();
        let claim = ClaimNick {
            nick: nick.clone(),
            old: old.clone(),
            inbox: self.inbox(),
            profile: Some(self.profile()),
            orders: Some(ctx.address().downgrade().recipient()),
        };
        let new = nick.clone();
        let old_key = self.member_key();
        let work = async move {
            match registry.send(claim).await {
                Ok(Ok(())) => {}
                Ok(Err(code)) => return Err(code),
                Err(_) => return Err(ErrorCode::Internal),
            }
            let mut audience = Vec::new();
            if let Some(who) = old_key {
                for room in rooms {
                    let rename = room::Rename {
                        who: who.clone(),
                        new: new.clone(),
                    };
                    if let Ok(members) = room.send(rename).await {
                        audience.push(members);
                    }
                }
            }
            Ok(audience)
        };
        ctx.wait(work.into_actor(self).map(move |res, act, ctx| match res {
            Ok(mut audience) => {
                let Some(old) = act.nick.replace(nick.clone()) else {
                    act.span.record("nick", nick.as_str());
                    return act.try_register(ctx);
                };
                if !act.registered() {
                    // Nobody has seen the old one.
                    return;
                }
                info!(parent: &act.span, %old, new = %nick, "nick changed");
                let event = Event::Nick {
                    old,
                    new: nick,
                    userhost: act.userhost.clone(),
                };
                // The client's own copy is an answer to its command (a
                // labeled one carries the label), the others' are not.
                for members in &mut audience {
                    members.retain(|m| m.id != act.id);
                }
                act.echo(&event);
                deliver_once(audience, &event);
                act.check_reservation(ctx);
            }
            Err(ErrorCode::NickInUse) => act.numeric(Numeric::NicknameInUse(nick)),
            Err(ErrorCode::ClusterUnavailable) => act.line(ServerLine::Fail {
                command: "NICK".into(),
                code: ErrorCode::ClusterUnavailable.as_str(),
                text: "The cluster cannot be reached: try again later",
            }),
            Err(_) => act.numeric(Numeric::ErroneousNickname(nick.as_str().to_string())),
        }));
    }

    /// Tells the rooms and the directory of the client's new encoding
    /// (capabilities changing how events look were asked for after
    /// registration).
    fn reencode(&mut self) {
        let encoding = self.encoding();
        if let Some(who) = self.member_key() {
            for j in &self.rooms {
                j.do_send(room::Reencode {
                    who: who.clone(),
                    encoding,
                });
            }
        }
        if let Some(nick) = self.nick.clone() {
            self.state.core.directory.do_send(ClaimNick {
                nick,
                old: None,
                inbox: self.inbox(),
                profile: Some(self.profile()),
                orders: None,
            });
        }
    }

    /// Ends registration once NICK, USER (and CAP END, if CAP was used)
    /// have come, checking the server password.
    fn try_register(&mut self, ctx: &mut Context<Self>) {
        let Some(reg) = &self.registration else {
            return;
        };
        if reg.negotiating || !reg.user || self.nick.is_none() {
            return;
        }
        let needs_password = !self.state.core.config().irc.password.is_empty();
        if needs_password && !reg.password_ok {
            self.numeric(Numeric::PasswdMismatch);
            return self.close(Ending::BadPassword, ctx);
        }
        // A private server (`accounts.require_login`): SASL first, as
        // Ergo's `require-sasl`.
        let policy = crate::core::accounts::Policy::of(&self.state.core);
        if policy.login_required() && self.account().is_none() {
            self.line(ServerLine::Fail {
                command: "*".into(),
                code: "ACCOUNT_REQUIRED",
                text: "You must log in with SASL to use this server",
            });
            return self.close(Ending::LoginRequired, ctx);
        }
        self.registration = None;
        let Some(nick) = self.nick.clone() else {
            return;
        };
        // Now that USER named the user: a ban on user@host applies.
        if self.check_bans(ctx) {
            return;
        }
        info!(parent: &self.span, %nick, "registered");
        // Claimed again with the final encoding and profile: capabilities
        // and USER may have come after NICK.
        self.state.core.directory.do_send(ClaimNick {
            nick,
            old: None,
            inbox: self.inbox(),
            profile: Some(self.profile()),
            orders: None,
        });
        self.welcome(ctx);
        self.check_reservation(ctx);
    }

    /// 001 to 005, then LUSERS and the MOTD.
    fn welcome(&mut self, ctx: &mut Context<Self>) {
        let server = &self.state.server;
        self.numeric(Numeric::Welcome {
            network: server.network.to_string(),
            userhost: self.userhost.clone(),
        });
        self.numeric(Numeric::YourHost);
        self.numeric(Numeric::Created(self.state.created));
        self.numeric(Numeric::MyInfo);
        self.send_isupport();
        self.lusers_then(ctx, |act, _| act.send_motd());
    }

    /// The `005` lines, twelve tokens each.
    pub(super) fn send_isupport(&mut self) {
        for tokens in super::super::front::isupport(&self.state.core).chunks(12) {
            self.numeric(Numeric::ISupport(tokens.to_vec()));
        }
    }

    /// The MOTD (`375`, `372`..., `376`), or `422` when there is none.
    pub(super) fn send_motd(&mut self) {
        let motd = self.state.core.motd();
        if motd.is_empty() {
            return self.numeric(Numeric::NoMotd);
        }
        self.numeric(Numeric::MotdStart);
        for line in motd.lines() {
            self.numeric(Numeric::Motd(line.clone()));
        }
        self.numeric(Numeric::EndOfMotd);
    }
}

#[cfg(test)]
mod tests {
    use super::clean_username;

    #[test]
    fn user_names_keep_what_a_mask_may_hold() {
        assert_eq!(clean_username("alice"), "alice");
        assert_eq!(clean_username("a!b@c d"), "abcd");
        assert_eq!(clean_username("~~~"), "user");
        assert_eq!(clean_username("abcdefghijklmnop"), "abcdefghij");
    }
}
