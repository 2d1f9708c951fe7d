// One conversation (a room, or a private talk with one user): its tab in
// the sidebar, its scrolling log, its members, and the chat lines it holds
// (to line up history that comes again: on scrolling back, on re-joining).

import { foldNick, foldRoom } from "./proto.js";
import * as view from "./view.js";

const same = (a, b) => foldNick(a.from) === foldNick(b.from) && a.text === b.text;

// Whether `known` starts at `got[i]` (up to three lines compared).
function matchesAt(got, i, known) {
  const n = Math.min(3, known.length, got.length - i);
  if (n <= 0) return false;
  for (let j = 0; j < n; j++) if (!same(got[i + j], known[j])) return false;
  return true;
}

/**
 * Where the lines we hold (`known`, oldest first) begin inside a HISTORY
 * answer `got` (oldest first): what comes before is older. The answer ends
 * with what we hold, give or take the newest lines not stored yet, so the
 * search starts where that puts it. -1 if it is not found.
 */
export function findStart(got, known) {
  if (known.length === 0) return got.length;
  const expected = Math.max(0, got.length - known.length);
  for (let i = expected; i < got.length; i++) if (matchesAt(got, i, known)) return i;
  for (let i = expected - 1; i >= 0; i--) if (matchesAt(got, i, known)) return i;
  return -1;
}

/**
 * Where the new lines start in a JOIN replay (`incoming`) after a
 * reconnect: just after the last place where the newest lines we hold
 * appear in it; failing that, the first line newer than ours.
 */
export function findEnd(incoming, known) {
  if (known.length === 0) return 0;
  for (let end = incoming.length; end > 0; end--) {
    const n = Math.min(3, end, known.length);
    let match = true;
    for (let j = 1; j <= n && match; j++) match = same(incoming[end - j], known[known.length - j]);
    if (match) return end;
  }
  const last = known[known.length - 1].time;
  const newer = incoming.findIndex((m) => m.time > last);
  return newer < 0 ? incoming.length : newer;
}

/** A room or a private conversation. */
export class Conversation {
  constructor(kind, name, hooks) {
    this.kind = kind;
    this.name = name;
    this.id = kind === "room" ? foldRoom(name) : `@${foldNick(name)}`;
    this.hooks = hooks;
    this.joined = false;
    this.wanted = false; // joined again after a reconnect
    this.key = null;
    this.topic = null;
    this.owner = null;
    this.isPrivate = false;
    this.members = new Map(); // folded nick → nick
    this.unread = 0;
    this.mentionCount = 0;
    this.messages = []; // chat lines in order: {from, text, time, stored}
    this.oldestReached = kind !== "room";
    this.olderCut = false;
    this.loadingOlder = false;
    this.stuck = true; // the view follows new lines
    this.savedTop = 0;
    this.boards = new Map(); // game id → the latest board's item
    this.fold = { board: null, from: null, left: 0 };
    this.build();
  }

  build() {
    this.nameEl = view.el("span", { class: "tab-name" }, this.name);
    this.badge = view.el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.tabButton = view.el(
      "button",
      { type: "button", class: "tab", onclick: () => this.hooks.select(this) },
      this.nameEl,
      this.badge,
    );
    this.tab = view.el("li", {}, this.tabButton);
    this.tab.conv = this;
    this.olderButton = view.el(
      "button",
      { type: "button", class: "older-button", onclick: () => this.hooks.scrolledToTop(this) },
      "Load older messages",
    );
    this.olderNote = view.el("p", { class: "older-note" }, "");
    this.earlier = view.el("ol", { class: "earlier" });
    this.list = view.el("ol", { class: "messages" });
    this.section = view.el(
      "section",
      { class: "conv", hidden: true, tabindex: "0", "aria-label": this.label() },
      view.el("div", { class: "older" }, this.olderButton, this.olderNote),
      this.earlier,
      // Only new lines are announced: older ones go to `earlier`.
      view.el("div", { role: "log", "aria-live": "polite", "aria-label": `New messages in ${this.name}` }, this.list),
    );
    this.section.conv = this;
    this.setOlderState(this.oldestReached ? "none" : "more");
    this.section.addEventListener("scroll", () => this.scrolled());
    // A picture that finishes loading must not push the newest line away.
    this.section.addEventListener("load", () => this.stuck && this.scrollToEnd(), true);
    this.updateTab();
  }

  label() {
    return this.kind === "room" ? `Messages in ${this.name}` : `Private messages with ${this.name}`;
  }

  /** A new spelling (a nickname change, the room as the server spells it). */
  rename(name) {
    this.name = name;
    this.id = this.kind === "room" ? foldRoom(name) : `@${foldNick(name)}`;
    this.nameEl.textContent = name;
    this.section.setAttribute("aria-label", this.label());
    this.updateTab();
  }

  updateTab() {
    const parts = [this.kind === "room" ? this.name : `${this.name}, private`];
    if (this.unread > 0) parts.push(`${this.unread} unread`);
    if (this.mentionCount > 0) parts.push(`${this.mentionCount} ${this.kind === "pm" ? "new" : "mentioning you"}`);
    this.tabButton.setAttribute("aria-label", parts.join(", "));
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = String(this.unread);
    this.tabButton.classList.toggle("has-mention", this.mentionCount > 0);
    this.tabButton.classList.toggle("has-unread", this.unread > 0);
    this.tabButton.classList.toggle("left", this.kind === "room" && !this.joined);
  }

  addMember(nick) {
    this.members.set(foldNick(nick), nick);
  }

  /** Removes `nick`; whether it was a member. */
  removeMember(nick) {
    return this.members.delete(foldNick(nick));
  }

  /** Follows a nickname change; whether `old` was a member. */
  renameMember(old, nick) {
    if (this.owner && foldNick(this.owner) === foldNick(old)) this.owner = nick;
    if (!this.removeMember(old)) return false;
    this.addMember(nick);
    return true;
  }

  show() {
    this.section.hidden = false;
    if (this.stuck) this.scrollToEnd();
    else this.section.scrollTop = this.savedTop;
  }

  hide() {
    this.savedTop = this.section.scrollTop;
    this.section.hidden = true;
  }

  scrolled() {
    if (this.section.hidden) return;
    const s = this.section;
    this.stuck = s.scrollTop + s.clientHeight >= s.scrollHeight - 40;
    if (s.scrollTop < 60 && s.scrollHeight > s.clientHeight + 10 && !this.oldestReached) {
      this.hooks.scrolledToTop(this);
    }
  }

  scrollToEnd() {
    this.section.scrollTop = this.section.scrollHeight;
    this.stuck = true;
  }

  /**
   * "more", "loading", "done" (the beginning is shown), "cut" (the server
   * sends no further back) or "none".
   */
  setOlderState(kind) {
    const notes = {
      loading: "Loading older messages…",
      done: "This is the beginning of the conversation.",
      cut: "Older messages are further back than the server replays.",
    };
    this.olderButton.hidden = kind !== "more";
    this.olderNote.textContent = notes[kind] ?? "";
  }

  /** Appends a notice or a file. */
  appendItem(item) {
    const follow = this.stuck;
    this.list.append(item);
    if (follow && !this.section.hidden) this.scrollToEnd();
  }

  /** Lines we hold that the server stored, oldest first. */
  storedMessages() {
    return this.messages.filter((m) => m.stored);
  }

  /** Forgets a line that the server refused (it is not in its history). */
  forget(entry) {
    const at = this.messages.indexOf(entry);
    if (at >= 0) this.messages.splice(at, 1);
  }

  /** Appends a chat line; the item, or null when it folded into a board. */
  appendChat(entry, ctx) {
    this.messages.push(entry);
    const item = this.render(entry, ctx, this.fold, (game, board) => {
      const previous = this.boards.get(game);
      if (previous) view.retireBoard(previous);
      this.boards.set(game, board);
    });
    if (item) this.appendItem(item);
    return item;
  }

  /** Puts older chat lines (oldest first) above the rest, keeping the view still. */
  prependChats(entries, ctx) {
    const fold = { board: null, from: null, left: 0 };
    const batch = new Map();
    const items = [];
    for (const entry of entries) {
      const item = this.render(entry, ctx, fold, (game, board) => {
        const previous = batch.get(game);
        if (previous) view.retireBoard(previous);
        if (this.boards.has(game)) view.retireBoard(board);
        batch.set(game, board);
      });
      if (item) items.push(item);
    }
    for (const [game, board] of batch) if (!this.boards.has(game)) this.boards.set(game, board);
    const before = this.section.scrollHeight;
    this.earlier.prepend(...items);
    this.section.scrollTop += this.section.scrollHeight - before;
    this.messages.unshift(...entries);
  }

  render(entry, ctx, fold, onBoard) {
    const game = ctx.parseBoard(entry);
    if (game) {
      game.whoIsMe = game.who !== null && ctx.isMe(game.who);
      const board = view.boardItem({ from: entry.from, time: entry.time, game, me: ctx.me, onPlay: ctx.play });
      Object.assign(fold, { board, from: entry.from, left: 3 });
      onBoard(game.game, board);
      return board;
    }
    if (fold.board && fold.left > 0 && entry.from === fold.from && entry.text.startsWith("| ")) {
      view.foldBoardLine(fold.board, entry.text);
      fold.left -= 1;
      return null;
    }
    return view.messageItem({
      from: entry.from,
      text: entry.text,
      time: entry.time,
      own: ctx.isMe(entry.from),
      mention: ctx.isMention(entry),
    });
  }
}
