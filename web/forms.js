// The forms, buttons, dialogs and keys of the page, wired to what app.js
// does with them (`app`: its state, its link and its actions).

import { cmd } from "./proto.js";
import * as view from "./view.js";

const $ = (id) => document.getElementById(id);


function validNickInput(nick) {
  if (nick === "") return "Enter a nickname.";
  if (/\s/.test(nick)) return "A nickname is one word, without spaces.";
  return null;
}

function validPasswordInput(password, register) {
  if (register && password === "") return "Choose a password for the new account.";
  if (/\s/.test(password)) return "A password is one word, without spaces.";
  return null;
}

/** Wires the page to `app`. */
export function wire(app) {
  const { state, link } = app;
  $("nick-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const nick = $("nick-input").value.trim();
    const password = $("password-input").value;
    const register = $("register-input").checked;
    const problem = validNickInput(nick) ?? validPasswordInput(password, register);
    app.showLoginError(problem ?? "");
    if (problem) return;
    state.wanted = nick;
    // Kept in memory only (never saved), to log in again on a reconnect.
    state.password = password === "" ? null : password;
    state.register = register;
    if (link.connected) app.claimNick(nick);
    else $("login-status").textContent = "Connecting to the server…";
  });

  $("join-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const room = $("join-room").value.trim();
    const key = $("join-key").value.trim();
    const error = $("join-error");
    if (room === "" || /\s/.test(room)) {
      error.textContent = room === "" ? "Enter a room name." : "A room name has no spaces.";
      $("join-room").focus();
      return;
    }
    error.textContent = "";
    const reply = await app.joinRoom(room, key);
    if (reply.ok) {
      $("join-room").value = "";
      $("join-key").value = "";
    } else {
      error.textContent =
        reply.code === "BAD_KEY"
          ? `${room.startsWith("#") ? room : `#${room}`} is private: the key is missing or wrong.`
          : reply.code === "BAD_ROOM"
            ? "Room names are letters, digits, _ - and . (up to 32)."
            : reply.text;
      (reply.code === "BAD_KEY" ? $("join-key") : $("join-room")).focus();
    }
  });

  $("dm-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const nick = $("dm-nick").value.trim();
    const problem = validNickInput(nick);
    $("dm-error").textContent = problem ?? "";
    if (problem) return;
    $("dm-nick").value = "";
    app.openPm(nick);
    $("composer-input").focus();
  });

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("composer-input");
    const conv = state.active;
    if (!conv || $("send-btn").disabled || input.value.trim() === "") return;
    app.sendChat(conv, input.value);
    input.value = "";
    autoGrow(input);
  });
  $("composer-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("composer-input").addEventListener("input", (e) => autoGrow(e.target));
  $("composer-input").addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length > 0 && state.active && !$("attach-btn").disabled) {
      e.preventDefault();
      app.sendFiles(state.active, files);
    }
  });

  $("attach-btn").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    if (state.active && files.length > 0) app.sendFiles(state.active, files);
  });
  wireDrop(app);

  $("menu-toggle").addEventListener("click", () => {
    const open = !document.body.classList.contains("sidebar-open");
    document.body.classList.toggle("sidebar-open", open);
    $("menu-toggle").setAttribute("aria-expanded", String(open));
    if (open) $("sidebar").querySelector("button, input")?.focus();
  });
  $("members-toggle").addEventListener("click", () => {
    const open = !document.body.classList.contains("members-open");
    document.body.classList.toggle("members-open", open);
    $("members-toggle").setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("sidebar-open")) {
      app.closeSidebar();
      $("menu-toggle").focus();
    }
    // Alt+Up / Alt+Down: the previous / next conversation.
    if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
      const all = [...document.querySelectorAll(".tabs > li")].map((li) => li.conv).filter(Boolean);
      if (all.length === 0) return;
      e.preventDefault();
      const at = all.indexOf(state.active);
      const next = all[(at + (e.key === "ArrowDown" ? 1 : all.length - 1)) % all.length];
      app.select(next, { focus: true });
    }
  });

  $("leave-btn").addEventListener("click", async () => {
    const conv = state.active;
    if (!conv) return;
    if (conv.kind === "room" && conv.joined) {
      conv.wanted = false;
      try {
        await link.send(cmd.part(conv.name));
      } catch {
        // Gone with the connection anyway.
      }
    }
    app.closeConv(conv);
  });
  $("rejoin-btn").addEventListener("click", () => {
    const conv = state.active;
    if (conv) app.joinRoom(conv.name, conv.key);
  });
  $("retry-btn").addEventListener("click", () => link.retryNow());

  wireTopic(app);
  wireDialogs(app);

  $("notify-btn").addEventListener("click", async () => {
    if (Notification.permission === "granted") {
      state.notify = !state.notify;
    } else {
      state.notify = (await Notification.requestPermission()) === "granted";
    }
    localStorage.setItem("chatroom.notify", state.notify ? "on" : "off");
    app.updateNotifyButton();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.active) {
      state.active.unread = 0;
      state.active.mentionCount = 0;
      state.active.updateTab();
      app.updateTitle();
    }
  });
}

function autoGrow(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

function wireDrop(app) {
  const { state } = app;
  const main = $("main");
  const zone = $("drop-zone");
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes("Files");
  main.addEventListener("dragenter", (e) => {
    if (!hasFiles(e) || !state.active) return;
    depth += 1;
    zone.hidden = false;
  });
  main.addEventListener("dragover", (e) => {
    if (!hasFiles(e) || !state.active) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  main.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.hidden = true;
  });
  main.addEventListener("drop", (e) => {
    depth = 0;
    zone.hidden = true;
    if (!hasFiles(e) || !state.active) return;
    e.preventDefault();
    if (!$("attach-btn").disabled) app.sendFiles(state.active, [...e.dataTransfer.files]);
  });
}

function wireTopic(app) {
  const { state, link } = app;
  const form = $("topic-form");
  const open = (show) => {
    form.hidden = !show;
    $("topic-error").textContent = "";
    if (show) {
      $("topic-input").value = state.active?.topic ?? "";
      $("topic-input").focus();
    } else {
      $("topic-btn").focus();
    }
  };
  $("topic-btn").addEventListener("click", () => open(true));
  $("topic-cancel").addEventListener("click", () => open(false));
  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") open(false);
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const conv = state.active;
    const text = $("topic-input").value;
    if (!conv || text.trim() === "") {
      $("topic-error").textContent = "A topic cannot be empty.";
      return;
    }
    try {
      const reply = await link.send(cmd.topic(conv.name, text));
      if (reply.ok) open(false);
      else $("topic-error").textContent = reply.code === "NOT_OWNER" ? "Only the room's owner may set its topic." : reply.text;
    } catch {
      $("topic-error").textContent = "Not connected to the server.";
    }
  });
}

function wireDialogs(app) {
  const { state, link } = app;
  const rooms = $("rooms-dialog");
  $("browse-btn").addEventListener("click", async () => {
    rooms.showModal();
    const list = $("room-list");
    list.replaceChildren();
    $("rooms-status").textContent = "Loading…";
    let reply;
    try {
      reply = await link.send(cmd.list());
    } catch {
      $("rooms-status").textContent = "Not connected to the server.";
      return;
    }
    const entries = reply.data.filter((l) => l.kind === "room");
    $("rooms-status").textContent = entries.length === 0 ? "No rooms yet: create one by joining it." : `${entries.length} rooms`;
    for (const room of entries) {
      const joined = app.roomConv(room.room)?.joined;
      const join = view.el(
        "button",
        {
          type: "button",
          "aria-label": `${joined ? "Open" : "Join"} ${room.room}`,
          onclick: () => {
            rooms.close();
            if (joined) app.select(app.roomConv(room.room), { focus: true });
            else if (room.private) {
              $("join-room").value = room.room;
              document.body.classList.add("sidebar-open");
              $("join-key").focus();
            } else app.joinRoom(room.room, null);
          },
        },
        joined ? "Open" : "Join",
      );
      list.append(
        view.el(
          "li",
          {},
          view.el(
            "div",
            { class: "room-line" },
            view.el("strong", {}, room.room),
            ` ${room.members} ${room.members === 1 ? "member" : "members"}`,
            room.private ? view.el("span", { class: "private-badge" }, "private: key needed") : null,
          ),
          room.topic ? view.el("p", { class: "topic" }, room.topic) : null,
          join,
        ),
      );
    }
  });

  const nickDialog = $("nick-dialog");
  $("me-btn").addEventListener("click", () => {
    $("nick-change-input").value = state.me ?? "";
    $("nick-change-error").textContent = "";
    nickDialog.showModal();
  });
  $("nick-change-cancel").addEventListener("click", () => nickDialog.close());
  $("nick-change-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const nick = $("nick-change-input").value.trim();
    const problem = validNickInput(nick);
    if (problem) {
      $("nick-change-error").textContent = problem;
      return;
    }
    try {
      const reply = await link.send(cmd.nick(nick));
      if (reply.ok) nickDialog.close();
      else $("nick-change-error").textContent = app.nickError(nick, reply);
    } catch {
      $("nick-change-error").textContent = "Not connected to the server.";
    }
  });
}

