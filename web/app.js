// chatroom's web client: the page's state and what the server's lines do to
// it. The wire format is in proto.js, the socket in conn.js, the DOM pieces
// in view.js; conversations (rooms and private talks) in convs.js; the
// forms, buttons and dialogs around them in forms.js.

import { Link, Disconnected } from "./conn.js";
import { cmd, foldNick, foldRoom, mentions, splitBytes, byteLength, parseTtt, isTttBot } from "./proto.js";
import * as view from "./view.js";
import { Conversation, findStart, findEnd } from "./convs.js";
import { wire } from "./forms.js";

const $ = (id) => document.getElementById(id);

// files.max_bytes' default: bigger files would close the connection.
const MAX_FILE_BYTES = 32 * 1024 * 1024; // until INFO says otherwise
// Scrolling back asks for this many more messages each time.
const HISTORY_PAGE = 50;

// ---- state ---------------------------------------------------------------

const state = {
  me: null, // the nickname the server confirmed
  wanted: null, // the nickname to (re)claim on connect
  password: null, // its account's password, in memory only (LOGIN on connect)
  register: false, // make the account (REGISTER) rather than log in
  maxLineBytes: 2048,
  maxFileBytes: MAX_FILE_BYTES,
  convs: new Map(), // id → Conversation
  active: null,
  notify: localStorage.getItem("chatroom.notify") === "on",
  everLoggedIn: false,
  restoreActive: null, // the conversation shown before a reload
};

const link = new Link(wsUrl(), { hello: onHello, event: onEvent, state: onLinkState });

function wsUrl() {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/** What a reload of the tab keeps: the nickname and the open conversations. */
function save() {
  const rooms = [];
  const pms = [];
  for (const conv of state.convs.values()) {
    if (conv.kind === "room" && conv.wanted) rooms.push({ name: conv.name, key: conv.key });
    if (conv.kind === "pm") pms.push(conv.name);
  }
  const active = state.active ? state.active.id : null;
  sessionStorage.setItem("chatroom", JSON.stringify({ nick: state.wanted, rooms, pms, active }));
}

function restore() {
  try {
    return JSON.parse(sessionStorage.getItem("chatroom") ?? "null");
  } catch {
    return null;
  }
}

const isMe = (nick) => state.me !== null && foldNick(nick) === foldNick(state.me);

// ---- connection ----------------------------------------------------------

function onLinkState(kind, detail) {
  const status = $("status");
  const loginStatus = $("login-status");
  $("retry-btn").hidden = kind !== "waiting";
  document.body.dataset.link = kind;
  if (kind === "connecting") {
    status.textContent = "Connecting…";
    loginStatus.textContent = "Connecting to the server…";
  } else if (kind === "open") {
    status.textContent = "Connected";
    loginStatus.textContent = "";
  } else if (kind === "waiting") {
    const secs = Math.max(1, Math.round(detail / 1000));
    status.textContent = `Disconnected: reconnecting in ${secs} s`;
    loginStatus.textContent = `No connection to the server: trying again in ${secs} s`;
    for (const conv of state.convs.values()) {
      if (conv.kind === "room" && conv.joined) {
        conv.joined = false;
        addNotice(conv, "Disconnected from the server");
      }
    }
  }
  updateComposer();
  updateHeader();
}

async function onHello() {
  link
    .send(cmd.info())
    .then((reply) => {
      for (const line of reply.data) {
        if (line.kind === "info" && line.key === "max_line_bytes") {
          state.maxLineBytes = Number(line.value) || state.maxLineBytes;
        }
        if (line.kind === "info" && line.key === "max_file_bytes") {
          state.maxFileBytes = Number(line.value) || state.maxFileBytes;
        }
      }
    })
    .catch(() => {});
  if (state.wanted) await claimNick(state.wanted, { auto: true });
}

/**
 * With a password: LOGIN (or REGISTER, once) to the account of `nick`;
 * whether the chat may go on.
 */
async function logInAccount(nick) {
  if (!state.password) return true;
  const line = state.register ? cmd.register(nick, state.password) : cmd.login(nick, state.password);
  const reply = await link.send(line);
  // A form sent again after a NICK refused: logged in already.
  if (!reply.ok && reply.code !== "ALREADY_LOGGED_IN") {
    showLogin();
    showLoginError(accountError(reply));
    return false;
  }
  // Made: a reconnect logs in to it.
  state.register = false;
  return true;
}

/** How often and how many times a reconnected page asks again for its
 * own nickname while it is still held. */
const RECLAIM_EVERY_MS = 1000;
const RECLAIM_TRIES = 20;

/** Adds `text` as a notice to every room conversation. */
function noticeRooms(text) {
  for (const conv of state.convs.values()) {
    if (conv.kind === "room") addNotice(conv, text);
  }
}

/** Sends NICK; on success enters (or re-enters) the chat. */
async function claimNick(nick, { auto = false } = {}) {
  let reply;
  try {
    if (!(await logInAccount(nick))) return;
    reply = await link.send(cmd.nick(nick));
    for (let tries = 1; auto && state.everLoggedIn && reply.code === "NICK_IN_USE"; tries++) {
      // Most likely our own previous connection: the server has not seen
      // it drop yet, or (cluster) the node that held it died and its lease
      // runs out within seconds. Wait for it rather than give the name up.
      if (tries > RECLAIM_TRIES) break;
      if (tries === 1) noticeRooms(`Waiting for the nickname ${nick} to be free again…`);
      await new Promise((resolve) => setTimeout(resolve, RECLAIM_EVERY_MS));
      reply = await link.send(cmd.nick(nick));
    }
  } catch (e) {
    if (!(e instanceof Disconnected)) throw e;
    showLoginError("Not connected to the server yet: it will be tried again when it is.");
    return;
  }
  if (!reply.ok) {
    if (auto && state.everLoggedIn) {
      // Someone took our name while we were away: ask for another.
      state.me = null;
      showLogin();
    }
    showLoginError(nickError(nick, reply));
    return;
  }
  const reconnect = state.me !== null || state.everLoggedIn;
  state.me = reply.text;
  state.wanted = state.me;
  state.everLoggedIn = true;
  link.settled();
  $("me-nick").textContent = state.me;
  save();
  showApp();
  // The first NICK of a connection brings the server's message of the day.
  const motd = reply.data.filter((line) => line.kind === "motd");
  if (motd.length > 0) showMotd(motd.map((line) => line.text));
  if (reconnect) {
    for (const conv of state.convs.values()) {
      if (conv.kind === "room" && conv.wanted) joinRoom(conv.name, conv.key, { activate: "no", quiet: true });
    }
  } else {
    const saved = restore();
    state.restoreActive = saved?.active ?? null;
    for (const room of saved?.rooms ?? []) joinRoom(room.name, room.key, { activate: "restored", quiet: true });
    for (const nick of saved?.pms ?? []) openPm(nick, { activate: false });
  }
}

function accountError(reply) {
  switch (reply.code) {
    case "BAD_LOGIN":
      return "Wrong nickname or password.";
    case "ACCOUNT_EXISTS":
      return "That account exists already: untick “Make this a new account” to log in to it.";
    case "ACCOUNTS_DISABLED":
      return "This server has no accounts: leave the password empty.";
    case "REGISTRATION_CLOSED":
      return "This server makes no new accounts.";
    case "NICK_IN_USE":
      return "Someone is using that nickname right now: pick another.";
    default:
      return reply.text || reply.code;
  }
}

/** Shows the server's message of the day on the welcome pane. */
function showMotd(lines) {
  const box = $("motd");
  box.replaceChildren(
    ...lines.map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }),
  );
  box.hidden = false;
}

function nickError(nick, reply) {
  switch (reply.code) {
    case "NICK_IN_USE":
      return `“${nick}” is taken: pick another nickname.`;
    case "BAD_NICK":
      return `That nickname cannot be used (${reply.text}).`;
    case "BAD_SYNTAX":
      return "A nickname is one word, without spaces.";
    case "RATE_LIMITED":
      return "Too fast: wait a moment and try again.";
    default:
      return reply.text || reply.code;
  }
}

// ---- events: one function per kind of server line ------------------------

const EVENTS = {
  msg: onMsg,
  privmsg: onPrivmsg,
  join: onJoin,
  part: onPart,
  quit: onQuit,
  nick: onNick,
  topic: onTopic,
  kick: onKick,
  closed: onClosed,
  notice: onNotice,
  file: onFile,
  server: onServer,
  err: onStrayErr,
  unknown: () => {},
};

function onEvent(line) {
  const handler = EVENTS[line.kind];
  if (handler) handler(line);
}

function roomConv(room) {
  return state.convs.get(foldRoom(room)) ?? null;
}

function onMsg({ room, from, text }) {
  const conv = roomConv(room);
  if (!conv) return;
  addChat(conv, { from, text, time: new Date(), stored: true, live: true });
}

function onPrivmsg({ from, text }) {
  // Our own message to ourselves: already shown when it was sent.
  if (isMe(from)) return;
  const conv = openPm(from, { activate: false });
  addChat(conv, { from, text, time: new Date(), stored: false, live: true });
}

function onJoin({ room, nick }) {
  if (isMe(nick)) {
    // Our own JOIN comes before the reply: events of the room may follow.
    const conv = openRoom(room);
    conv.joined = true;
    conv.wanted = true;
    return;
  }
  const conv = roomConv(room);
  if (!conv) return;
  conv.addMember(nick);
  addNotice(conv, `${nick} joined`);
  if (conv === state.active) renderMembers();
}

function onPart({ room, nick, reason }) {
  const conv = roomConv(room);
  if (!conv) return;
  conv.removeMember(nick);
  addNotice(conv, reason ? `${nick} left (${reason})` : `${nick} left`);
  if (conv === state.active) renderMembers();
}

function onQuit({ nick, reason }) {
  const text = reason ? `${nick} quit (${reason})` : `${nick} quit`;
  for (const conv of state.convs.values()) {
    if (conv.kind === "room" && conv.removeMember(nick)) addNotice(conv, text);
    if (conv.kind === "pm" && foldNick(conv.name) === foldNick(nick)) addNotice(conv, text);
  }
  renderMembers();
}

function onNick({ old, nick }) {
  const mine = isMe(old);
  if (mine) {
    state.me = nick;
    state.wanted = nick;
    $("me-nick").textContent = nick;
    save();
  }
  const text = mine ? `You are now known as ${nick}` : `${old} is now known as ${nick}`;
  for (const conv of state.convs.values()) {
    if (conv.kind === "room" && conv.renameMember(old, nick)) addNotice(conv, text);
    if (conv.kind === "pm" && foldNick(conv.name) === foldNick(old)) {
      state.convs.delete(conv.id);
      conv.rename(nick);
      state.convs.set(conv.id, conv);
      addNotice(conv, text);
    }
  }
  renderMembers();
  updateHeader();
}

function onTopic({ room, nick, text }) {
  const conv = roomConv(room);
  if (!conv) return;
  conv.topic = text;
  addNotice(conv, `${nick} set the topic: ${text}`);
  if (conv === state.active) updateHeader();
}

function onKick({ room, nick, by, reason }) {
  const conv = roomConv(room);
  if (!conv) return;
  const why = reason ? ` (${reason})` : "";
  if (isMe(nick)) {
    conv.joined = false;
    conv.wanted = false;
    conv.members.clear();
    addNotice(conv, `You were removed from ${conv.name} by ${by}${why}`);
    save();
  } else {
    conv.removeMember(nick);
    addNotice(conv, `${nick} was removed by ${by}${why}`);
  }
  if (conv === state.active) {
    renderMembers();
    updateHeader();
    updateComposer();
  }
}

function onClosed({ room, by, reason }) {
  const conv = roomConv(room);
  if (!conv) return;
  const why = reason ? ` (${reason})` : "";
  conv.joined = false;
  conv.wanted = false;
  conv.members.clear();
  addNotice(conv, `${conv.name} was closed by the server operator ${by}${why}`);
  save();
  if (conv === state.active) {
    renderMembers();
    updateHeader();
    updateComposer();
  }
}

function onNotice({ from, text }) {
  $("status").textContent = `Notice from ${from}: ${text}`;
}

function onFile({ target, from, id, size, name }) {
  const conv = target.startsWith("#") ? roomConv(target) : openPm(from, { activate: false });
  if (!conv) return;
  addFile(conv, { from, id, size, name, time: new Date(), own: false });
  countUnread(conv, { from, text: `shared ${name}`, mention: conv.kind === "pm" });
}

function onServer({ text }) {
  $("status").textContent = text === "shutting down" ? "The server is restarting…" : `Server: ${text}`;
}

function onStrayErr({ code, text }) {
  $("status").textContent = code === "SERVER_FULL" ? "The server is full: trying again soon" : `${code}: ${text}`;
}

// ---- conversations -------------------------------------------------------

function openRoom(name) {
  let conv = roomConv(name);
  if (!conv) {
    conv = new Conversation("room", name, convHooks);
    state.convs.set(conv.id, conv);
    $("room-tabs").append(conv.tab);
    $("logs").append(conv.section);
  } else if (conv.name !== name && name.startsWith("#")) {
    conv.rename(name);
  }
  return conv;
}

function openPm(nick, { activate = true } = {}) {
  let conv = state.convs.get(`@${foldNick(nick)}`);
  if (!conv) {
    conv = new Conversation("pm", nick, convHooks);
    state.convs.set(conv.id, conv);
    $("dm-tabs").append(conv.tab);
    $("logs").append(conv.section);
    save();
  }
  if (activate) select(conv);
  return conv;
}

const convHooks = {
  select: (conv) => select(conv, { focus: true }),
  scrolledToTop: (conv) => loadOlder(conv),
};

function select(conv, { focus = false } = {}) {
  if (state.active && state.active !== conv) state.active.hide();
  state.active = conv;
  $("welcome").hidden = conv !== null;
  if (conv) {
    conv.show();
    conv.unread = 0;
    conv.mentionCount = 0;
    conv.updateTab();
  }
  for (const c of state.convs.values()) c.tab.querySelector("button").setAttribute("aria-current", c === conv ? "page" : "false");
  updateHeader();
  renderMembers();
  updateComposer();
  updateTitle();
  closeSidebar();
  save();
  if (focus) $("composer-input").focus();
}

function closeConv(conv) {
  conv.tab.remove();
  conv.section.remove();
  state.convs.delete(conv.id);
  if (state.active === conv) {
    state.active = null;
    const next = state.convs.values().next();
    select(next.done ? null : next.value);
  }
  save();
}

/**
 * Joins a room (again). `activate`: "focus" (the user asked: show it and
 * move to its message box), "restored" (show it if it was shown before a
 * reload) or "no"; `quiet`: a failure is noted in the room, not returned
 * to a form.
 */
async function joinRoom(name, key, { activate = "focus", quiet = false } = {}) {
  const room = name.startsWith("#") ? name : `#${name}`;
  let reply;
  try {
    reply = await link.send(cmd.join(room, key || null));
  } catch {
    return { ok: false, text: "not connected to the server" };
  }
  if (!reply.ok) {
    const conv = roomConv(room);
    if (conv && quiet) {
      conv.wanted = reply.code !== "BAD_KEY" && reply.code !== "BANNED" ? conv.wanted : false;
      addNotice(conv, `Could not join again: ${reply.text}`);
    }
    return reply;
  }
  const conv = openRoom(reply.text);
  const rejoin = conv.messages.length > 0 || conv.section.querySelector("li") !== null;
  conv.joined = true;
  conv.wanted = true;
  conv.key = key || null;
  conv.members.clear();
  for (const line of reply.data) {
    if (line.kind === "names") for (const nick of line.nicks) conv.addMember(nick);
  }
  const replay = reply.data.filter((l) => l.kind === "history");
  // A replay of nothing: the room has no history before us.
  if (replay.length === 0 && !rejoin) conv.oldestReached = true;
  mergeReplay(conv, replay, rejoin);
  conv.setOlderState(conv.oldestReached ? "done" : "more");
  if (rejoin) addNotice(conv, `Joined ${conv.name} again`);
  refreshInfo(conv);
  save();
  if (activate === "focus") select(conv, { focus: true });
  else if (state.active === null || (activate === "restored" && state.restoreActive === conv.id)) select(conv);
  else if (state.active === conv) {
    renderMembers();
    updateHeader();
    updateComposer();
  }
  conv.updateTab();
  return reply;
}

/** Adds a JOIN's replay: all of it the first time, what is new after a reconnect. */
function mergeReplay(conv, replay, rejoin) {
  const entries = replay.map((h) => ({ from: h.from, text: h.text, time: h.time ?? new Date(), stored: true }));
  if (rejoin) {
    for (const entry of entries.slice(findEnd(entries, conv.storedMessages()))) addChat(conv, { ...entry, live: true });
  } else {
    // Above the live log: a replay is not announced as new messages.
    conv.prependChats(entries, renderContext(conv));
  }
  if (!conv.section.hidden) conv.scrollToEnd();
  else conv.stuck = true;
}

async function refreshInfo(conv) {
  let reply;
  try {
    reply = await link.send(cmd.info(conv.name));
  } catch {
    return;
  }
  if (!reply.ok) return;
  conv.topic = null;
  for (const line of reply.data) {
    if (line.kind !== "info") continue;
    if (line.key === "owner") conv.owner = line.value;
    if (line.key === "topic") conv.topic = line.value;
    if (line.key === "private") conv.isPrivate = line.value === "yes";
  }
  if (conv === state.active) {
    updateHeader();
    renderMembers();
  }
}

/** Scrolling back: asks for more history and puts what is older on top. */
async function loadOlder(conv) {
  if (conv.kind !== "room" || conv.loadingOlder || conv.oldestReached || !conv.joined) return;
  conv.loadingOlder = true;
  conv.setOlderState("loading");
  try {
    const known = conv.storedMessages();
    const want = known.length + HISTORY_PAGE;
    const reply = await link.send(cmd.history(conv.name, want));
    if (!reply.ok) return;
    const got = reply.data
      .filter((l) => l.kind === "history")
      .map((h) => ({ from: h.from, text: h.text, time: h.time ?? new Date(), stored: true }));
    let start = findStart(got, known);
    if (start < 0) {
      // Not found where expected: keep what is older than what we have.
      const oldest = known[0]?.time ?? new Date();
      start = got.findIndex((m) => m.time >= oldest);
      if (start < 0) start = got.length;
    }
    const older = got.slice(0, start);
    if (got.length < want || older.length === 0) {
      conv.oldestReached = true;
      // HISTORY sends at most history.max_fetch lines (500 by default).
      conv.olderCut = got.length >= 500;
    }
    conv.prependChats(older, renderContext(conv));
  } catch (e) {
    if (!(e instanceof Disconnected)) throw e;
  } finally {
    conv.loadingOlder = false;
    conv.setOlderState(conv.oldestReached ? (conv.olderCut ? "cut" : "done") : "more");
  }
}

// ---- messages in the view ------------------------------------------------

/** What a message's rendering needs to know of the rest of the page. */
function renderContext(conv) {
  return {
    me: state.me,
    isMe,
    isMention: (entry) => !isMe(entry.from) && mentions(entry.text, state.me),
    play: (n) => sendChat(conv, `!ttt ${n}`),
    parseBoard: (entry) => (isTttBot(entry.from) ? parseTtt(entry.text) : null),
  };
}

/** Appends a chat line (or a board) to a conversation. */
function addChat(conv, entry) {
  const ctx = renderContext(conv);
  const item = conv.appendChat(entry, ctx);
  if (item && entry.live && !isMe(entry.from)) {
    countUnread(conv, { from: entry.from, text: entry.text, mention: conv.kind === "pm" || ctx.isMention(entry) });
  }
  return item;
}

function addNotice(conv, text) {
  conv.appendItem(view.noticeItem(text));
}

function countUnread(conv, { from, text, mention }) {
  const visible = conv === state.active && !document.hidden;
  if (!visible) {
    if (conv !== state.active) {
      conv.unread += 1;
      if (mention) conv.mentionCount += 1;
      conv.updateTab();
      updateTitle();
    }
    if (mention) notify(conv, from, text);
  }
}

function updateTitle() {
  let unread = 0;
  for (const conv of state.convs.values()) unread += conv.unread;
  document.title = unread > 0 ? `(${unread}) chatroom` : "chatroom";
}

function notify(conv, from, text) {
  if (!state.notify || !("Notification" in window) || Notification.permission !== "granted") return;
  const title = conv.kind === "pm" ? `${from} (private)` : `${from} in ${conv.name}`;
  const note = new Notification(title, { body: text, tag: conv.id });
  note.onclick = () => {
    window.focus();
    select(conv, { focus: true });
    note.close();
  };
}

function addFile(conv, { from, id, size, name, time, own }) {
  const item = view.fileItem({ from, name, size, time, own });
  conv.appendItem(item);
  linkFile(item, id, name);
  return item;
}

/** Asks the server for a download path (LINK) and fills the file's item. */
async function linkFile(item, id, name) {
  let reply;
  try {
    reply = await link.send(cmd.link(id));
  } catch {
    view.fileUnavailable(item, "Not connected: no preview");
    return;
  }
  if (!reply.ok) {
    const why =
      reply.code === "NO_SUCH_FILE"
        ? "This file is no longer available."
        : reply.code === "UNKNOWN_COMMAND"
          ? "This server offers no downloads to browsers."
          : reply.text;
    view.fileUnavailable(item, why);
    return;
  }
  const path = reply.text.split(" ")[1] ?? "";
  const url = new URL(path, location.href);
  if (url.origin !== location.origin) return;
  view.fillFile(item, url.href, name);
  // The path's token is good for ten minutes: a later click asks again.
  const fetched = Date.now();
  item.querySelector("a.download").addEventListener(
    "click",
    (e) => {
      if (Date.now() - fetched < 9 * 60 * 1000) return;
      e.preventDefault();
      linkFile(item, id, name).then(() => item.querySelector("a.download").click());
    },
    { once: true },
  );
}

// ---- sending -------------------------------------------------------------

/** Sends what was typed: one line per line of text, long ones cut to fit. */
function sendChat(conv, text) {
  const prefix = conv.kind === "room" ? `MSG ${conv.name} ` : `PRIVMSG ${conv.name} `;
  const room = byteLength(prefix);
  const pieces = [];
  for (const line of text.split("\n")) {
    for (const piece of splitBytes(line, Math.max(16, state.maxLineBytes - room))) {
      if (piece.trim() !== "") pieces.push(piece);
    }
  }
  for (const piece of pieces) sendOne(conv, piece);
}

function sendOne(conv, text) {
  const entry = { from: state.me, text, time: new Date(), stored: false, own: true };
  const item = conv.appendChat(entry, renderContext(conv)) ?? view.el("li");
  item.classList.add("pending");
  conv.scrollToEnd();
  const line = conv.kind === "room" ? cmd.msg(conv.name, text) : cmd.privmsg(conv.name, text);
  link
    .send(line)
    .then((reply) => {
      item.classList.remove("pending");
      if (reply.ok) {
        entry.stored = conv.kind === "room";
        if (conv.kind === "pm") {
          const canonical = reply.text;
          if (canonical && canonical !== conv.name) conv.rename(canonical);
        }
      } else {
        conv.forget(entry);
        markFailed(item, reply.code === "NO_SUCH_NICK" ? `${conv.name} is not online` : reply.text);
      }
    })
    .catch(() => {
      conv.forget(entry);
      item.classList.remove("pending");
      markFailed(item, "not sent: no connection");
    });
}

function markFailed(item, why) {
  item.classList.add("failed");
  item.append(view.el("span", { class: "fail" }, ` — ${why}`));
}

async function sendFiles(conv, files) {
  for (const file of files) {
    const name = view.baseName(file.name || "pasted-file");
    const bar = view.el("progress", { max: file.size || 1, value: 0, "aria-label": `Uploading ${name}` });
    const note = view.el("span", { class: "upload-note" }, "waiting…");
    const row = view.el("li", {}, view.el("span", { class: "upload-name" }, name), bar, note);
    $("uploads").append(row);
    if (file.size > state.maxFileBytes) {
      note.textContent = `too large: files are limited to ${view.humanSize(state.maxFileBytes)}`;
      setTimeout(() => row.remove(), 8000);
      continue;
    }
    try {
      const target = conv.name;
      const reply = await link.upload(target, file, name, (sent, size) => {
        bar.value = sent;
        note.textContent = `${Math.floor((100 * sent) / Math.max(size, 1))}%`;
      });
      if (reply.ok) {
        row.remove();
        const id = reply.text.split(" ")[0];
        addFile(conv, { from: state.me, id, size: file.size, name, time: new Date(), own: true });
        conv.scrollToEnd();
      } else {
        note.textContent = `not shared: ${reply.text}`;
        setTimeout(() => row.remove(), 8000);
      }
    } catch {
      note.textContent = "not shared: the connection was lost";
      setTimeout(() => row.remove(), 8000);
    }
  }
}

// ---- the page around the conversation -------------------------------------

function updateHeader() {
  const conv = state.active;
  const title = $("conv-title");
  const topic = $("conv-topic");
  $("topic-btn").hidden = true;
  $("rejoin-btn").hidden = true;
  $("leave-btn").hidden = conv === null;
  $("members-toggle").hidden = conv === null || conv.kind !== "room";
  if (!conv) {
    title.textContent = "Welcome";
    topic.textContent = "";
    return;
  }
  title.textContent = conv.kind === "room" ? conv.name : `Private: ${conv.name}`;
  if (conv.kind === "room") {
    topic.textContent = conv.topic ?? "No topic set";
    topic.classList.toggle("empty", conv.topic === null);
    $("topic-btn").hidden = !(conv.joined && conv.owner && isMe(conv.owner));
    $("rejoin-btn").hidden = conv.joined || !link.connected;
    $("leave-btn").textContent = "Leave";
  } else {
    topic.textContent = "Only you two see these messages";
    topic.classList.remove("empty");
    $("leave-btn").textContent = "Close";
  }
}

function renderMembers() {
  const conv = state.active;
  const list = $("member-list");
  list.replaceChildren();
  if (!conv || conv.kind !== "room") {
    $("member-count").textContent = "";
    return;
  }
  const nicks = [...conv.members.values()].sort((a, b) => foldNick(a).localeCompare(foldNick(b)));
  $("member-count").textContent = `(${nicks.length})`;
  for (const nick of nicks) {
    const owner = conv.owner && foldNick(conv.owner) === foldNick(nick);
    const label = isMe(nick) ? `${nick} (you)` : nick;
    const button = view.el(
      "button",
      {
        type: "button",
        class: "member",
        "aria-label": isMe(nick) ? `${label}${owner ? ", owner" : ""}` : `Message ${nick} privately${owner ? " (owner)" : ""}`,
        disabled: isMe(nick),
        onclick: () => openPm(nick),
      },
      label,
      owner ? view.el("span", { class: "owner-badge" }, " owner") : null,
    );
    list.append(view.el("li", {}, button));
  }
}

function updateComposer() {
  const conv = state.active;
  const input = $("composer-input");
  const usable = conv !== null && link.connected && (conv.kind === "pm" || conv.joined);
  input.disabled = conv === null;
  $("send-btn").disabled = !usable;
  $("attach-btn").disabled = !usable;
  input.placeholder = !conv
    ? "Join a room to chat"
    : !link.connected
      ? "Not connected: waiting for the server…"
      : conv.kind === "room" && !conv.joined
        ? `You are not in ${conv.name}`
        : `Message ${conv.name}`;
}

function showLogin() {
  $("app").hidden = true;
  $("login").hidden = false;
  $("nick-input").value = state.wanted ?? "";
  $("nick-input").focus();
}

function showApp() {
  if (!$("app").hidden) return;
  $("login").hidden = true;
  $("app").hidden = false;
  $("nick-error").textContent = "";
  updateNotifyButton();
  if (state.active === null) {
    updateHeader();
    updateComposer();
    $("join-room").focus();
  }
}

function showLoginError(text) {
  $("nick-error").textContent = text;
  $("nick-input").setAttribute("aria-invalid", text ? "true" : "false");
  $("nick-change-error").textContent = text;
}

function closeSidebar() {
  document.body.classList.remove("sidebar-open");
  $("menu-toggle").setAttribute("aria-expanded", "false");
}

function updateNotifyButton() {
  const button = $("notify-btn");
  if (!("Notification" in window)) {
    button.hidden = true;
    return;
  }
  button.hidden = false;
  const on = state.notify && Notification.permission === "granted";
  const label =
    Notification.permission === "denied" ? "Notifications blocked" : on ? "Notifications: on" : "Enable notifications";
  $("notify-label").textContent = label;
  button.setAttribute("aria-label", label);
  button.setAttribute("aria-pressed", on ? "true" : "false");
  button.disabled = Notification.permission === "denied";
}

// ---- start ---------------------------------------------------------------

function start() {
  wire({
    state,
    link,
    claimNick,
    nickError,
    showLoginError,
    joinRoom,
    openPm,
    select,
    closeConv,
    roomConv,
    sendChat,
    sendFiles,
    closeSidebar,
    updateNotifyButton,
    updateTitle,
  });
  const saved = restore();
  if (saved?.nick) {
    state.wanted = saved.nick;
    $("nick-input").value = saved.nick;
  }
  showLogin();
  link.start();
}

start();

// For the browser tests and the curious: a read-only look at the state.
window.chatroom = { state, link };
