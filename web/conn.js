// The WebSocket link to the server: one native line per text frame, FILE
// bodies as binary frames. Pairs every command with its final reply (the
// server answers in order), paces lines under the server's flood control,
// answers PING, and reconnects with exponential back-off.

import { parseLine, FINAL_KINDS, DATA_KINDS, cmd } from "./proto.js";

// The server's bucket holds 20 lines and refills 10 a second
// (limits.flood_burst, limits.flood_rate_per_sec): stay a little under it.
const BURST = 16;
const RATE_PER_SEC = 8;
// File bodies go in frames of this size; the next one is queued only while
// the socket's buffer holds less than HIGH_WATER bytes, so progress (what
// left the buffer) is honest.
const CHUNK_BYTES = 64 * 1024;
const HIGH_WATER = 512 * 1024;
// Reconnect delays: 0.5 s doubling up to 15 s, with some jitter.
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;

/** The answer to one command: its data lines and its final line. */
export class Reply {
  constructor(data, final) {
    this.data = data;
    this.final = final;
  }
  /** Whether the final line is `OK` (or `PONG`). */
  get ok() {
    return this.final.kind !== "err";
  }
  /** The error code of an `ERR`, or null. */
  get code() {
    return this.final.kind === "err" ? this.final.code : null;
  }
  /** The human text of an `ERR`, or the arguments of an `OK`. */
  get text() {
    return this.final.kind === "err" ? this.final.text : this.final.args ?? "";
  }
}

/** Rejects a command whose link went down before it was answered. */
export class Disconnected extends Error {
  constructor() {
    super("not connected to the server");
  }
}

const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 50));

/**
 * The link. `handlers`: `hello(line)` once per connection, `event(line)`
 * for every line that answers no command, `state(kind, detail)` when the
 * link goes "connecting", "open", "waiting" (detail: ms until the next
 * try) or "closed".
 */
export class Link {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.queue = []; // waiting to be sent: {line, resolve, reject} or {upload}
    this.pending = []; // sent, waiting for their final line
    this.tokens = BURST;
    this.refilled = performance.now();
    this.uploading = false;
    this.pumpTimer = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.wanted = false;
  }

  /** Connects, and keeps reconnecting until stop(). */
  start() {
    this.wanted = true;
    this.open();
  }

  /** Whether the socket is open. */
  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Tries again now instead of waiting for the back-off. */
  retryNow() {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.open();
    }
  }

  /** Forgets the back-off: the session is established. */
  settled() {
    this.attempt = 0;
  }

  open() {
    this.handlers.state("connecting");
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return; // FETCH bodies: not used here
      for (const line of e.data.split("\n")) {
        if (line !== "") this.receive(line);
      }
    };
    ws.onopen = () => {
      this.tokens = BURST;
      this.refilled = performance.now();
      this.handlers.state("open");
    };
    ws.onclose = () => this.closed(ws);
  }

  closed(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.uploading = false;
    const lost = this.pending.concat(this.queue);
    this.pending = [];
    this.queue = [];
    for (const item of lost) item.reject(new Disconnected());
    if (!this.wanted) {
      this.handlers.state("closed");
      return;
    }
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.attempt += 1;
    this.handlers.state("waiting", delay);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  receive(line) {
    const parsed = parseLine(line);
    if (parsed.kind === "ping") {
      // Answered at once: PONG is never charged by flood control.
      this.sendNow(cmd.pong(parsed.token));
      return;
    }
    if (parsed.kind === "hello") {
      this.handlers.hello(parsed);
      return;
    }
    const head = this.pending[0];
    if (head && FINAL_KINDS.has(parsed.kind)) {
      this.pending.shift();
      head.resolve(new Reply(head.data, parsed));
      return;
    }
    if (head && DATA_KINDS.has(parsed.kind)) {
      head.data.push(parsed);
      return;
    }
    this.handlers.event(parsed);
  }

  /** Sends one command; resolves with its Reply. */
  send(line) {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new Disconnected());
        return;
      }
      this.queue.push({ line, resolve, reject, data: [] });
      this.pump();
    });
  }

  /**
   * Uploads `blob` as `FILE <target> <size> <name>`, reporting
   * `progress(sentBytes, size)` as the socket's buffer drains; resolves
   * with the Reply (`OK FILE <id> <sha256>`).
   */
  upload(target, blob, name, progress) {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new Disconnected());
        return;
      }
      const line = cmd.file(target, blob.size, name);
      this.queue.push({ line, upload: { blob, progress }, resolve, reject, data: [] });
      this.pump();
    });
  }

  /** Sends a line that gets no reply (PONG), ahead of the queue. */
  sendNow(line) {
    if (!this.connected) return;
    if (this.uploading) {
      // Never between the frames of a body: after it, first in line.
      this.queue.unshift({ line, untracked: true, resolve() {}, reject() {} });
      return;
    }
    this.ws.send(line);
  }

  refill() {
    const now = performance.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.refilled) / 1000) * RATE_PER_SEC);
    this.refilled = now;
  }

  pump() {
    if (this.pumpTimer !== null) return;
    while (this.queue.length > 0 && !this.uploading && this.connected) {
      const item = this.queue[0];
      if (item.untracked) {
        this.queue.shift();
        this.ws.send(item.line);
        continue;
      }
      this.refill();
      if (this.tokens < 1) {
        const wait = ((1 - this.tokens) / RATE_PER_SEC) * 1000;
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      this.tokens -= 1;
      this.queue.shift();
      this.ws.send(item.line);
      this.pending.push(item);
      if (item.upload) this.sendBody(item.upload);
    }
  }

  async sendBody({ blob, progress }) {
    const ws = this.ws;
    this.uploading = true;
    const size = blob.size;
    let offset = 0;
    try {
      while (offset < size) {
        while (ws.bufferedAmount > HIGH_WATER) {
          if (ws.readyState !== WebSocket.OPEN) return;
          progress(Math.max(0, offset - ws.bufferedAmount), size);
          await nextFrame();
        }
        if (ws.readyState !== WebSocket.OPEN) return;
        const chunk = await blob.slice(offset, offset + CHUNK_BYTES).arrayBuffer();
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(chunk);
        offset += chunk.byteLength;
        progress(Math.max(0, offset - ws.bufferedAmount), size);
      }
    } finally {
      if (ws === this.ws) {
        this.uploading = false;
        this.pump();
      }
    }
    // The frames are all queued in order: other lines may follow now, and
    // the bar keeps moving while the buffer drains.
    while (ws.bufferedAmount > 0 && ws.readyState === WebSocket.OPEN) {
      progress(Math.max(0, size - ws.bufferedAmount), size);
      await nextFrame();
    }
    progress(size, size);
  }
}
