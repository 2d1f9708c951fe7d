// chatroom's native line protocol (docs/PROTOCOL.md) for the browser: one
// parser per kind of server line, and every client line built here, so the
// rest of the client never splits or joins a wire line itself.

/**
 * Splits `line` into its first `count` words (separated by exactly one
 * space, as the server writes them) and the text after the space that ends
 * the last of them: `rest` is null when nothing follows it (an optional
 * trailing text is present exactly when something follows its space).
 */
export function splitWords(line, count) {
  const words = [];
  let pos = 0;
  while (words.length < count) {
    const space = line.indexOf(" ", pos);
    if (space < 0) {
      words.push(line.slice(pos));
      return { words, rest: null };
    }
    words.push(line.slice(pos, space));
    pos = space + 1;
  }
  const rest = line.slice(pos);
  return { words, rest: rest === "" ? null : rest };
}

// Each parser gets a whole line that starts with its kind's word and gives
// an object whose `kind` is that word in lower case, or null when the line
// lacks a required field (then it is reported as an unknown line).

function parseHello(line) {
  const { words, rest } = splitWords(line, 3);
  return { kind: "hello", server: words[1] ?? "", version: words[2] ?? "", text: rest ?? "" };
}

function parseOk(line) {
  const { words, rest } = splitWords(line, 2);
  if (words.length < 2) return null;
  return { kind: "ok", verb: words[1], args: rest ?? "" };
}

function parseErr(line) {
  const { words, rest } = splitWords(line, 3);
  if (words.length < 3) return null;
  return { kind: "err", verb: words[1], code: words[2], text: rest ?? "" };
}

function parsePong(line) {
  return { kind: "pong", token: splitWords(line, 1).rest };
}

function parsePing(line) {
  return { kind: "ping", token: splitWords(line, 1).rest };
}

function parseServer(line) {
  return { kind: "server", text: splitWords(line, 1).rest ?? "" };
}

function parseNames(line) {
  const { words, rest } = splitWords(line, 2);
  if (words.length < 2) return null;
  return { kind: "names", room: words[1], nicks: rest === null ? [] : rest.split(" ") };
}

function parseRoom(line) {
  const { words, rest } = splitWords(line, 4);
  if (words.length < 4) return null;
  return {
    kind: "room",
    room: words[1],
    members: Number(words[2]),
    private: words[3] === "yes",
    topic: rest,
  };
}

function parseInfo(line) {
  const first = splitWords(line, 2).words[1] ?? "";
  if (first.startsWith("#")) {
    const { words, rest } = splitWords(line, 3);
    if (words.length < 3) return null;
    return { kind: "info", room: words[1], key: words[2], value: rest };
  }
  const { words, rest } = splitWords(line, 2);
  if (words.length < 2) return null;
  return { kind: "info", room: null, key: words[1], value: rest };
}

function parseHelp(line) {
  return { kind: "help", text: splitWords(line, 1).rest ?? "" };
}

function parseMotd(line) {
  return { kind: "motd", text: splitWords(line, 1).rest ?? "" };
}

function parseHistory(line) {
  const { words, rest } = splitWords(line, 4);
  if (words.length < 4 || rest === null) return null;
  return { kind: "history", room: words[1], time: parseTime(words[2]), from: words[3], text: rest };
}

function parseData(line) {
  const { words, rest } = splitWords(line, 3);
  if (words.length < 3) return null;
  return { kind: "data", id: words[1], size: Number(words[2]), name: rest ?? "" };
}

function parseMsg(line) {
  const { words, rest } = splitWords(line, 3);
  if (words.length < 3 || rest === null) return null;
  return { kind: "msg", room: words[1], from: words[2], text: rest };
}

function parsePrivmsg(line) {
  const { words, rest } = splitWords(line, 2);
  if (words.length < 2 || rest === null) return null;
  return { kind: "privmsg", from: words[1], text: rest };
}

function parseJoin(line) {
  const { words } = splitWords(line, 3);
  if (words.length < 3) return null;
  return { kind: "join", room: words[1], nick: words[2] };
}

function parsePart(line) {
  const { words, rest } = splitWords(line, 3);
  if (words.length < 3) return null;
  return { kind: "part", room: words[1], nick: words[2], reason: rest };
}

function parseQuit(line) {
  const { words, rest } = splitWords(line, 2);
  if (words.length < 2) return null;
  return { kind: "quit", nick: words[1], reason: rest };
}

function parseNick(line) {
  const { words } = splitWords(line, 3);
  if (words.length < 3) return null;
  return { kind: "nick", old: words[1], nick: words[2] };
}

function parseTopic(line) {
  const { words, rest } = splitWords(line, 3);
  if (words.length < 3 || rest === null) return null;
  return { kind: "topic", room: words[1], nick: words[2], text: rest };
}

function parseKick(line) {
  const { words, rest } = splitWords(line, 4);
  if (words.length < 4) return null;
  return { kind: "kick", room: words[1], nick: words[2], by: words[3], reason: rest };
}

function parseClosed(line) {
  const { words, rest } = splitWords(line, 3);
  if (words.length < 3) return null;
  return { kind: "closed", room: words[1], by: words[2], reason: rest };
}

function parseNotice(line) {
  const { words, rest } = splitWords(line, 2);
  if (words.length < 2 || rest === null) return null;
  return { kind: "notice", from: words[1], text: rest };
}

function parseFile(line) {
  const { words, rest } = splitWords(line, 6);
  if (words.length < 6) return null;
  return {
    kind: "file",
    target: words[1],
    from: words[2],
    id: words[3],
    size: Number(words[4]),
    sha256: words[5],
    name: rest ?? "",
  };
}

const PARSERS = {
  HELLO: parseHello,
  OK: parseOk,
  ERR: parseErr,
  PONG: parsePong,
  PING: parsePing,
  SERVER: parseServer,
  NAMES: parseNames,
  ROOM: parseRoom,
  INFO: parseInfo,
  HELP: parseHelp,
  MOTD: parseMotd,
  HISTORY: parseHistory,
  DATA: parseData,
  MSG: parseMsg,
  PRIVMSG: parsePrivmsg,
  JOIN: parseJoin,
  PART: parsePart,
  QUIT: parseQuit,
  NICK: parseNick,
  TOPIC: parseTopic,
  KICK: parseKick,
  CLOSED: parseClosed,
  NOTICE: parseNotice,
  FILE: parseFile,
};

/** Kinds of line that end a command: exactly one per command, in order. */
export const FINAL_KINDS = new Set(["ok", "err", "pong"]);
/** Kinds of line that belong to the command being answered. */
export const DATA_KINDS = new Set(["names", "room", "info", "help", "history", "data", "motd"]);

/** Parses one server line (without its newline). */
export function parseLine(line) {
  const word = splitWords(line, 1).words[0];
  const parser = Object.hasOwn(PARSERS, word) ? PARSERS[word] : null;
  return (parser && parser(line)) || { kind: "unknown", line };
}

/** A server time (RFC 3339, UTC) as a Date, or null if it is not one. */
export function parseTime(text) {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Makes user text safe as one line's text: no NUL, CR or LF in it. */
export function oneLine(text) {
  return text.replace(/[\0\r\n]/g, " ");
}

/** Client lines, built in one place. Texts go through oneLine. */
export const cmd = {
  nick: (nick) => `NICK ${nick}`,
  login: (account, password) => `LOGIN ${account} ${password}`,
  register: (account, password) => `REGISTER ${account} ${password}`,
  join: (room, key) => (key ? `JOIN ${room} ${key}` : `JOIN ${room}`),
  part: (room) => `PART ${room}`,
  msg: (room, text) => `MSG ${room} ${oneLine(text)}`,
  privmsg: (nick, text) => `PRIVMSG ${nick} ${oneLine(text)}`,
  list: () => "LIST",
  info: (room) => (room ? `INFO ${room}` : "INFO"),
  topic: (room, text) => `TOPIC ${room} ${oneLine(text)}`,
  history: (room, count) => `HISTORY ${room} ${count}`,
  file: (target, size, name) => `FILE ${target} ${size} ${oneLine(name)}`,
  link: (id) => `LINK ${id}`,
  pong: (token) => (token === null ? "PONG" : `PONG ${token}`),
};

/** A room name compared as the server does: ASCII letters folded. */
export function foldRoom(room) {
  const bare = room.startsWith("#") ? room : `#${room}`;
  return bare.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** A nickname compared (close to) as the server does: RFC 8265 case mapping. */
export function foldNick(nick) {
  return nick.normalize("NFKC").toLowerCase().normalize("NFC");
}

/** Whether `text` mentions `nick` as a word of its own. */
export function mentions(text, nick) {
  if (!nick) return false;
  const escaped = nick.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const word = "[\\p{L}\\p{M}\\p{N}_\\-\\[\\]{}|^`]";
  return new RegExp(`(^|(?!${word}).)${escaped}(?!${word})`, "iu").test(text);
}

/** The UTF-8 length of `text` in bytes. */
export function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * Cuts `text` into pieces of at most `maxBytes` UTF-8 bytes each, between
 * code points, preferring to cut after a space.
 */
export function splitBytes(text, maxBytes) {
  const pieces = [];
  let current = "";
  let currentBytes = 0;
  for (const ch of text) {
    const size = byteLength(ch);
    if (currentBytes + size > maxBytes && current !== "") {
      const space = current.lastIndexOf(" ");
      if (space > current.length / 2) {
        pieces.push(current.slice(0, space + 1));
        current = current.slice(space + 1);
      } else {
        pieces.push(current);
        current = "";
      }
      currentBytes = byteLength(current);
    }
    current += ch;
    currentBytes += size;
  }
  if (current !== "") pieces.push(current);
  return pieces;
}

const TTT_LINE = /^TTT (\d+) (\S+) (\S+) ([XO.]{9}) (next=\S+|won=\S+|draw|resigned=\S+)$/;

/** The bot's nickname: `tictactoe`, or `tictactoe2`, ... when that was taken. */
export function isTttBot(nick) {
  return /^tictactoe\d*$/i.test(nick);
}

/**
 * The tic-tac-toe board line (docs/TICTACTOE.md):
 * `TTT <game-id> <x-nick> <o-nick> <cells> <status>`, or null.
 */
export function parseTtt(text) {
  const m = TTT_LINE.exec(text);
  if (!m) return null;
  const [state, who] = m[5].split("=");
  return { game: m[1], x: m[2], o: m[3], cells: m[4], state, who: who ?? null };
}
