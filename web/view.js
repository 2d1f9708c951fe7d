// Building the page's pieces. Every text that came from the server or a
// user goes into the page as textContent (or an attribute value), never as
// markup: a message cannot inject HTML.

/** `el("li", {class: "x", onclick: f}, "text", child)`: an element. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A <time> showing `date` in local time (full date in its tooltip). */
export function timeElement(date) {
  return el(
    "time",
    { datetime: date.toISOString(), title: dateTimeFormat.format(date) },
    timeFormat.format(date),
  );
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** `text` as nodes, its http(s) URLs as links. */
export function linkified(text) {
  const nodes = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    if (m.index > last) nodes.push(document.createTextNode(text.slice(last, m.index)));
    nodes.push(el("a", { href: m[0], target: "_blank", rel: "noopener noreferrer" }, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

/** One chat line: time, sender, text. */
export function messageItem({ from, text, time, own, mention }) {
  const classes = ["msg"];
  if (own) classes.push("own");
  if (mention) classes.push("mention");
  return el(
    "li",
    { class: classes.join(" ") },
    timeElement(time),
    " ",
    el("span", { class: "from" }, from),
    " ",
    el("span", { class: "text" }, ...linkified(text)),
  );
}

/** A notice (join, part, topic, ...). */
export function noticeItem(text, time = new Date()) {
  return el("li", { class: "notice" }, timeElement(time), " ", el("span", { class: "text" }, text));
}

/** A size in bytes for people. */
export function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A shared file's label with no directory parts (PROTOCOL.md: strip them). */
export function baseName(name) {
  const base = name.split(/[/\\]/).pop().trim();
  return base === "" ? "file" : base;
}

const IMAGE_RE = /\.(png|jpe?g|gif|webp|avif|bmp|ico|svg)$/i;
const TEXT_RE =
  /\.(txt|text|md|log|csv|tsv|json|toml|ya?ml|xml|html?|css|js|mjs|ts|rs|py|rb|go|java|kt|c|h|cc|cpp|hpp|sh|ini|conf|cfg|diff|patch|sql)$/i;

/** How a file is previewed: "image", "text" or null. */
export function previewKind(name, size) {
  if (size === 0) return null;
  if (IMAGE_RE.test(name)) return "image";
  if (TEXT_RE.test(name)) return "text";
  return null;
}

/**
 * A shared file: who shared what, a preview area and a download link. The
 * link and preview are filled by `fillFile` once the server gave a path.
 */
export function fileItem({ from, name, size, time, own }) {
  const label = baseName(name);
  const download = el("a", { class: "download" }, `Download ${label}`);
  const preview = el("div", { class: "preview" });
  const item = el(
    "li",
    { class: own ? "msg file own" : "msg file" },
    timeElement(time),
    " ",
    el("span", { class: "from" }, from),
    " ",
    el("span", { class: "text" }, "shared ", el("strong", {}, label), ` (${humanSize(size)})`),
    preview,
    download,
  );
  item.dataset.kind = previewKind(label, size) ?? "";
  return item;
}

/** Fills a file item's preview and link from the `/files/…` URL. */
export function fillFile(item, url, name) {
  const label = baseName(name);
  const download = item.querySelector("a.download");
  download.href = url;
  download.setAttribute("download", label);
  const preview = item.querySelector(".preview");
  preview.replaceChildren();
  if (item.dataset.kind === "image") {
    const img = el("img", { alt: `Image ${label}`, loading: "lazy", decoding: "async" });
    img.src = url;
    preview.append(el("a", { href: url, target: "_blank", rel: "noopener" }, img));
  } else if (item.dataset.kind === "text") {
    const pre = el("pre", { class: "snippet", tabindex: "0", "aria-label": `Start of ${label}` }, "…");
    preview.append(pre);
    fetch(url, { headers: { Range: "bytes=0-2047" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.statusText))))
      .then((text) => {
        const lines = text.split("\n").slice(0, 12);
        pre.textContent = lines.join("\n") + (text.length >= 2048 || lines.length === 12 ? "\n…" : "");
      })
      .catch(() => {
        pre.textContent = "(no preview)";
      });
  }
}

/** A file item whose link could not be had. */
export function fileUnavailable(item, why) {
  const preview = item.querySelector(".preview");
  preview.replaceChildren(el("span", { class: "hint" }, why));
}

/**
 * A tic-tac-toe board for a `TTT` line (docs/TICTACTOE.md): nine buttons,
 * those playable by `me` enabled; `play(n)` is called with the cell 1-9.
 */
export function boardItem({ from, time, game, me, onPlay }) {
  const myTurn = game.state === "next" && game.who !== null && me !== null && game.whoIsMe;
  const status =
    game.state === "next"
      ? `${game.who} (${game.who === game.x ? "X" : "O"}) to play`
      : game.state === "won"
        ? `${game.who} wins`
        : game.state === "draw"
          ? "Draw"
          : `${game.who} resigned`;
  const title = `Game ${game.game}: ${game.x} (X) vs ${game.o} (O)`;
  const grid = el("div", { class: "ttt-grid", role: "group", "aria-label": `${title}. ${status}` });
  [...game.cells].forEach((cell, i) => {
    const n = i + 1;
    const mark = cell === "." ? "" : cell;
    const button = el(
      "button",
      {
        type: "button",
        class: `ttt-cell ttt-${mark || "empty"}`,
        "data-cell": n,
        "aria-label": `Cell ${n}: ${mark || "empty"}`,
        disabled: !(myTurn && cell === "."),
        onclick: () => onPlay(n),
      },
      mark,
    );
    grid.append(button);
  });
  const item = el(
    "li",
    { class: "msg board" },
    timeElement(time),
    " ",
    el("span", { class: "from" }, from),
    el(
      "div",
      { class: "ttt" },
      el("p", { class: "ttt-title" }, title),
      grid,
      el(
        "p",
        { class: myTurn ? "ttt-status your-turn" : "ttt-status", "data-status": status },
        myTurn ? `${status}: your move` : status,
      ),
      el("details", { class: "ttt-text" }, el("summary", {}, "As text"), el("pre", {})),
    ),
  );
  item.dataset.game = game.game;
  return item;
}

/** Adds one of the bot's `| ` lines under its board. */
export function foldBoardLine(item, text) {
  const pre = item.querySelector(".ttt-text pre");
  pre.textContent += (pre.textContent ? "\n" : "") + text;
}

/** Makes an older board of the same game unplayable. */
export function retireBoard(item) {
  for (const b of item.querySelectorAll(".ttt-cell")) b.disabled = true;
  const status = item.querySelector(".ttt-status");
  status.textContent = status.dataset.status;
  status.classList.remove("your-turn");
  item.classList.add("retired");
}
