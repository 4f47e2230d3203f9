// @deepinfluence/sdk 0.1.0: built from sdk/js by `npm run build`; do not edit.

// src/adaptive.ts
function quantise(n) {
  return Math.max(0, Math.round(n / 8) * 8);
}
function sameWant(a, b) {
  if (!a || a.type !== b.type) return false;
  return a.type === "paused" || b.type === "size" && a.width === b.width && a.height === b.height;
}
var AdaptiveStream = class {
  constructor(send, debounceMs, env) {
    this.send = send;
    this.debounceMs = debounceMs;
    this.env = env;
    this.elements = /* @__PURE__ */ new Map();
    this.sent = /* @__PURE__ */ new Map();
    this.timers = /* @__PURE__ */ new Map();
    this.owner = /* @__PURE__ */ new Map();
    this.onVisibility = () => {
      for (const track of this.elements.keys()) this.schedule(track);
    };
    if (env.ResizeObserver) {
      this.resize = new env.ResizeObserver((entries) => {
        for (const e of entries) {
          const w = this.watched(e.target);
          if (!w) continue;
          w.width = e.contentRect.width;
          w.height = e.contentRect.height;
          this.schedule(this.owner.get(e.target));
        }
      });
    }
    if (env.IntersectionObserver) {
      this.intersection = new env.IntersectionObserver((entries) => {
        for (const e of entries) {
          const w = this.watched(e.target);
          if (!w) continue;
          w.visible = e.isIntersecting;
          this.schedule(this.owner.get(e.target));
        }
      });
    }
    env.document?.addEventListener?.("visibilitychange", this.onVisibility);
  }
  /** Starts watching `element` for `track`; returns the function that stops it. */
  observe(track, element) {
    let set = this.elements.get(track);
    if (!set) this.elements.set(track, set = /* @__PURE__ */ new Map());
    const el = element;
    set.set(element, { width: el.clientWidth ?? 0, height: el.clientHeight ?? 0, visible: true });
    this.owner.set(element, track);
    this.resize?.observe(element);
    this.intersection?.observe(element);
    this.schedule(track);
    return () => this.unobserve(track, element);
  }
  unobserve(track, element) {
    const set = this.elements.get(track);
    if (!set?.delete(element)) return;
    this.owner.delete(element);
    this.resize?.unobserve(element);
    this.intersection?.unobserve(element);
    if (set.size === 0) {
      this.elements.delete(track);
      this.schedule(track, { type: "paused" });
    } else {
      this.schedule(track);
    }
  }
  /** The track is gone: forget it without sending anything. */
  forget(track) {
    const set = this.elements.get(track);
    for (const el of set?.keys() ?? []) {
      this.owner.delete(el);
      this.resize?.unobserve(el);
      this.intersection?.unobserve(el);
    }
    this.elements.delete(track);
    this.sent.delete(track);
    const t = this.timers.get(track);
    if (t !== void 0) clearTimeout(t);
    this.timers.delete(track);
  }
  /** After a fresh join the server knows no preference: send them all again. */
  resendAll() {
    this.sent.clear();
    for (const track of this.elements.keys()) this.schedule(track);
  }
  /** What the track's elements ask for now. */
  want(track) {
    const set = this.elements.get(track);
    const hidden = this.env.document?.visibilityState === "hidden";
    let width = 0;
    let height = 0;
    for (const w of set?.values() ?? []) {
      if (!w.visible || hidden) continue;
      width = Math.max(width, w.width);
      height = Math.max(height, w.height);
    }
    if (width <= 0 || height <= 0) return { type: "paused" };
    const ratio = Math.min(Math.max(this.env.pixelRatio ?? 1, 1), 2);
    return { type: "size", width: quantise(width * ratio), height: quantise(height * ratio) };
  }
  close() {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.resize?.disconnect();
    this.intersection?.disconnect();
    this.env.document?.removeEventListener?.("visibilitychange", this.onVisibility);
  }
  watched(el) {
    const track = this.owner.get(el);
    return track === void 0 ? void 0 : this.elements.get(track)?.get(el);
  }
  schedule(track, fixed) {
    const t = this.timers.get(track);
    if (t !== void 0) clearTimeout(t);
    this.timers.set(
      track,
      setTimeout(() => {
        this.timers.delete(track);
        const want = fixed ?? this.want(track);
        if (sameWant(this.sent.get(track), want)) return;
        this.sent.set(track, want);
        this.send(track, want);
      }, this.debounceMs)
    );
  }
};

// src/emitter.ts
var Emitter = class {
  constructor() {
    this.listeners = /* @__PURE__ */ new Map();
  }
  on(event, listener) {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, set = /* @__PURE__ */ new Set());
    set.add(listener);
    return () => this.off(event, listener);
  }
  once(event, listener) {
    const wrapped = ((...args) => {
      off();
      listener(...args);
    });
    const off = this.on(event, wrapped);
    return off;
  }
  off(event, listener) {
    this.listeners.get(event)?.delete(listener);
  }
  emit(event, ...args) {
    for (const l of [...this.listeners.get(event) ?? []]) {
      try {
        l(...args);
      } catch (e) {
        console.error(`deepinfluence: a ${String(event)} listener threw`, e);
      }
    }
  }
};

// src/data.ts
var CHANNELS = ["whiteboard", "chat", "lossy"];
var WHITEBOARD_CLEAR = "clear";
function encodeEnvelope(from, kind, body) {
  return JSON.stringify({ from, kind, body });
}
function decodeEnvelope(raw) {
  try {
    const v = JSON.parse(raw);
    if (!v || typeof v !== "object" || typeof v.from !== "string" || typeof v.kind !== "string") return null;
    return { from: v.from, kind: v.kind, body: v.body };
  } catch {
    return null;
  }
}
function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
var MAX_OPERATION_BYTES = 15 * 1024;
function byteLength(s) {
  return new TextEncoder().encode(s).length;
}
function splitStroke(stroke, fits) {
  if (fits(stroke) || stroke.points.length < 4) return [stroke];
  const out = [];
  const go = (points) => {
    const piece = { ...stroke, points, id: out.length === 0 ? stroke.id : `${stroke.id}.${out.length}` };
    if (fits(piece) || points.length < 4) {
      out.push(piece);
      return;
    }
    const mid = Math.floor(points.length / 2);
    go(points.slice(0, mid + 1));
    go(points.slice(mid));
  };
  go(stroke.points);
  return out.map((p, i) => ({ ...p, id: i === 0 ? stroke.id : `${stroke.id}.${i}` }));
}
var Whiteboard = class extends Emitter {
  /** @internal */
  constructor(sendRaw, me) {
    super();
    this.sendRaw = sendRaw;
    this.me = me;
    this.strokes = [];
    this.ids = /* @__PURE__ */ new Set();
  }
  /**
   * Draws a stroke for everyone; returns it with its id and sender filled
   * in. The SFU refuses board operations over 16 KiB, so a longer stroke
   * goes out (and is kept in `strokes`) as consecutive pieces that share
   * their end points; the first is returned.
   */
  draw(stroke) {
    if (!stroke || !Array.isArray(stroke.points)) throw new TypeError("a stroke needs points");
    const base = { ...stroke, id: stroke.id ?? randomId(), from: this.me() };
    const pieces = splitStroke(base, (s) => byteLength(encodeEnvelope(s.from, "stroke", s)) <= MAX_OPERATION_BYTES);
    for (const s of pieces) {
      this.add(s);
      this.sendRaw(encodeEnvelope(s.from, "stroke", s));
    }
    return pieces[0];
  }
  /** Empties the board for everyone. */
  clear() {
    this.reset();
    this.sendRaw(WHITEBOARD_CLEAR);
    this.emit("clear", this.me());
  }
  /** @internal A message from the whiteboard channel. */
  receive(raw) {
    if (raw === WHITEBOARD_CLEAR) {
      this.reset();
      this.emit("clear", null);
      return null;
    }
    const env = decodeEnvelope(raw);
    if (!env || env.kind !== "stroke") return null;
    const body = env.body;
    if (!body || !Array.isArray(body.points)) return null;
    const s = { ...body, from: env.from };
    if (!this.add(s)) return null;
    this.emit("stroke", s);
    return s;
  }
  add(s) {
    if (s.id) {
      if (this.ids.has(s.id)) return false;
      this.ids.add(s.id);
    }
    this.strokes.push(s);
    return true;
  }
  reset() {
    this.strokes.length = 0;
    this.ids.clear();
  }
};

// src/errors.ts
var MESSAGES = {
  token_invalid: "The room token is not valid (wrong signature or shape).",
  token_expired: "The room token has expired; ask for a new one.",
  token_wrong_room: "The room token is for another room.",
  room_full: "The room is full.",
  publish_denied: "This participant may not publish that source.",
  not_host: "Only the host may do this.",
  server_unreachable: "The signalling server cannot be reached.",
  permission_denied: "Access to the camera, microphone or screen was denied.",
  device_unavailable: "The requested camera or microphone is not available.",
  resume_refused: "The session could not be resumed.",
  unavailable: "The media server is unavailable."
};
var DeepInfluenceError = class extends Error {
  constructor(code, message, options) {
    super(message ?? MESSAGES[code] ?? code);
    this.name = "DeepInfluenceError";
    this.code = code;
    this.fatal = options?.fatal ?? false;
    if (options && "cause" in options) this.cause = options.cause;
  }
};
function mediaError(e) {
  if (e instanceof DeepInfluenceError) return e;
  const name = e?.name ?? "";
  const message = e?.message;
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return new DeepInfluenceError("permission_denied", void 0, { cause: e });
    case "NotFoundError":
    case "NotReadableError":
    case "OverconstrainedError":
    case "AbortError":
    case "DevicesNotFoundError":
    case "TrackStartError":
      return new DeepInfluenceError(
        "device_unavailable",
        `${MESSAGES.device_unavailable}${message ? ` (${message})` : ""}`,
        { cause: e }
      );
    default:
      return new DeepInfluenceError("device_unavailable", message || String(e), { cause: e });
  }
}

// src/negotiator.ts
var OFFER_PENDING_RETRY_MS = 2e3;
var Negotiator = class {
  constructor(pc, send, tracks, onError = () => {
  }, onBroken = (e) => onError(e)) {
    this.pc = pc;
    this.send = send;
    this.tracks = tracks;
    this.onError = onError;
    this.onBroken = onBroken;
    this.chain = Promise.resolve();
    this.outstanding = [];
    this.needOffer = false;
    this.iceRestart = false;
    this.requested = 0;
    this.waiters = [];
    this.waitingServerOffer = null;
    this.suspended = false;
    this.unsentAnswer = null;
    this.closed = false;
    /** Replies still due to our offers, counted as messages arrive (the queue may lag behind). */
    this.repliesDue = 0;
  }
  /** Offers (publish/unpublish, or an ICE restart); resolves once an answer covering it is applied. */
  negotiate(options = {}) {
    if (this.closed) return Promise.reject(new DeepInfluenceError("room_closed"));
    const gen = ++this.requested;
    this.needOffer = true;
    if (options.iceRestart) this.iceRestart = true;
    const done = new Promise((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
    this.enqueue(() => this.maybeOffer());
    return done;
  }
  /** The server's offer (at join or renegotiation). */
  handleOffer(sdp) {
    return this.enqueue(async () => {
      if (this.pc.signalingState === "have-local-offer") {
        await this.pc.setLocalDescription({ type: "rollback" });
        this.abandonOutstanding();
      }
      try {
        await this.pc.setRemoteDescription({ type: "offer", sdp });
        await this.pc.setLocalDescription(await this.pc.createAnswer());
      } catch (e) {
        if (this.pc.signalingState === "have-remote-offer") {
          await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {
          });
        }
        this.closed = true;
        this.onBroken(e);
        return;
      }
      const answer = this.pc.localDescription.sdp;
      this.unsentAnswer = this.send({ type: "answer", sdp: answer }) ? null : answer;
      if (this.waitingServerOffer !== null) {
        clearTimeout(this.waitingServerOffer);
        this.waitingServerOffer = null;
      }
      await this.maybeOffer();
    });
  }
  /** The server's answer to our oldest outstanding offer. */
  handleAnswer(sdp) {
    if (this.repliesDue > 0) this.repliesDue--;
    return this.enqueue(async () => {
      const head = this.outstanding.shift();
      if (!head || head.abandoned || this.pc.signalingState !== "have-local-offer") return;
      try {
        await this.pc.setRemoteDescription({ type: "answer", sdp });
        this.settle(head.gen, null);
      } catch (e) {
        await this.rollback().catch(() => {
        });
        this.closed = true;
        this.onBroken(e);
        return;
      }
      await this.maybeOffer();
    });
  }
  /**
   * An error from the server. Returns true when it was the reply to one of
   * our offers (and so is handled here).
   */
  handleError(code, message) {
    if (!["offer_pending", "bad_sdp", "publish_denied"].includes(code) || this.repliesDue === 0) {
      return false;
    }
    this.repliesDue--;
    this.enqueue(async () => {
      const head = this.outstanding.shift();
      if (!head) return;
      if (head.abandoned) {
        await this.maybeOffer();
        return;
      }
      await this.rollback();
      if (code === "offer_pending") {
        this.needOffer = true;
        if (head.iceRestart) this.iceRestart = true;
        this.waitingServerOffer = setTimeout(() => {
          this.waitingServerOffer = null;
          this.enqueue(() => this.maybeOffer());
        }, OFFER_PENDING_RETRY_MS);
      } else {
        this.settle(head.gen, new DeepInfluenceError(code, message));
        await this.maybeOffer();
      }
    });
    return true;
  }
  /**
   * The socket broke: every offer in flight is lost. Roll back, and offer
   * again (with what was asked) once `resume()` is called.
   */
  suspend() {
    this.suspended = true;
    this.repliesDue = 0;
    this.enqueue(async () => {
      this.abandonOutstanding();
      this.outstanding = [];
      await this.rollback();
    });
  }
  /** A new socket took the session over; an ICE restart offer goes out. */
  resume(options = {}) {
    this.suspended = false;
    if (this.waitingServerOffer !== null) {
      clearTimeout(this.waitingServerOffer);
      this.waitingServerOffer = null;
    }
    if (this.unsentAnswer !== null) {
      const sdp = this.unsentAnswer;
      this.unsentAnswer = this.send({ type: "answer", sdp }) ? null : sdp;
    }
    return this.negotiate(options);
  }
  /** Stops for good: pending negotiate() promises reject. */
  close() {
    this.closed = true;
    if (this.waitingServerOffer !== null) clearTimeout(this.waitingServerOffer);
    this.waitingServerOffer = null;
    for (const w of this.waiters.splice(0)) w.reject(new DeepInfluenceError("room_closed"));
  }
  /** Resolves once every queued SDP step has run (for tests and orderly shutdown). */
  idle() {
    return this.chain;
  }
  enqueue(step) {
    const next = this.chain.then(step).catch((e) => this.onError(e));
    this.chain = next;
    return next;
  }
  abandonOutstanding() {
    for (const o of this.outstanding) {
      if (o.abandoned) continue;
      o.abandoned = true;
      this.needOffer = true;
      if (o.iceRestart) this.iceRestart = true;
    }
  }
  async rollback() {
    if (this.pc.signalingState === "have-local-offer") {
      await this.pc.setLocalDescription({ type: "rollback" });
    }
  }
  settle(gen, error) {
    const keep = [];
    for (const w of this.waiters) {
      if (w.gen > gen) keep.push(w);
      else if (error) w.reject(error);
      else w.resolve();
    }
    this.waiters = keep;
  }
  async maybeOffer() {
    if (this.closed || this.suspended || !this.needOffer || this.waitingServerOffer !== null || this.outstanding.some((o) => !o.abandoned) || this.pc.signalingState !== "stable") {
      return;
    }
    this.needOffer = false;
    const gen = this.requested;
    const iceRestart = this.iceRestart;
    this.iceRestart = false;
    try {
      const offer = await this.pc.createOffer(iceRestart ? { iceRestart: true } : void 0);
      await this.pc.setLocalDescription(offer);
    } catch (e) {
      await this.rollback().catch(() => {
      });
      this.settle(gen, e);
      return;
    }
    this.outstanding.push({ gen, iceRestart, abandoned: false });
    const sent = this.send({ type: "offer", sdp: this.pc.localDescription.sdp, tracks: this.tracks() });
    if (sent) {
      this.repliesDue++;
    } else {
      this.outstanding.pop();
      this.needOffer = true;
      if (iceRestart) this.iceRestart = true;
      await this.rollback();
    }
  }
};

// src/sdp.ts
function parseSections(sdp) {
  const sections = [];
  let current = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      const [kind, port] = line.slice(2).split(" ");
      current = { kind: kind ?? "", mid: null, direction: "sendrecv", rejected: port === "0", stream: null, trackId: null };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith("a=mid:")) current.mid = line.slice(6);
    else if (line === "a=sendrecv" || line === "a=sendonly" || line === "a=recvonly" || line === "a=inactive") {
      current.direction = line.slice(2);
    } else if (line.startsWith("a=msid:")) {
      const [stream, track] = line.slice(7).split(" ");
      current.stream = stream ?? null;
      current.trackId = track ?? null;
    }
  }
  return sections;
}
function sentTracks(sdp) {
  const out = /* @__PURE__ */ new Map();
  const mids = /* @__PURE__ */ new Set();
  for (const s of parseSections(sdp)) {
    if (s.mid) mids.add(s.mid);
    if (!s.mid || s.rejected || s.kind === "application") continue;
    if (s.direction !== "sendonly" && s.direction !== "sendrecv") continue;
    const m = /^t(\d+)$/.exec(s.trackId ?? "");
    if (!m || !s.stream) continue;
    out.set(s.mid, { track: Number(m[1]), owner: s.stream, kind: s.kind });
  }
  return { tracks: out, mids };
}

// src/signal.ts
var OPEN = 1;
var SignalConnection = class _SignalConnection {
  constructor(socket, options) {
    this.socket = socket;
    this.options = options;
    this.onMessage = () => {
    };
    this.onClose = () => {
    };
    this.pingTimer = null;
    this.pingId = 0;
    this.lastHeard = Date.now();
    this.ended = false;
    this.expectClose = false;
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onclose = () => this.end();
    socket.onerror = () => {
    };
    this.pingTimer = setInterval(() => this.tick(), options.pingIntervalMs);
  }
  /** Opens a socket; rejects with `server_unreachable` if it does not open within `timeoutMs`. */
  static open(url, Socket, options) {
    return new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new Socket(url);
      } catch (e) {
        reject(new DeepInfluenceError("server_unreachable", `Cannot open a WebSocket to ${url}.`, { cause: e, fatal: true }));
        return;
      }
      let settled = false;
      const fail = (why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.onopen = socket.onclose = socket.onerror = null;
        try {
          socket.close();
        } catch {
        }
        reject(new DeepInfluenceError("server_unreachable", `The signalling server at ${url} cannot be reached (${why}).`, { fatal: true }));
      };
      const timer = setTimeout(() => fail("timed out"), options.timeoutMs);
      socket.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new _SignalConnection(socket, options));
      };
      socket.onerror = () => fail("connection error");
      socket.onclose = (ev) => fail(`closed with code ${ev.code}`);
    });
  }
  get open() {
    return !this.ended && this.socket.readyState === OPEN;
  }
  /** Sends a message; false if the socket is not open (the message is lost). */
  send(message) {
    if (!this.open) return false;
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }
  /** Closes on purpose (`onClose(true)`). */
  close() {
    this.expectClose = true;
    try {
      this.socket.close(1e3, "bye");
    } catch {
    }
    this.end();
  }
  /** Drops the socket as a network failure would (`onClose(false)`); a debugging and test hook. */
  drop() {
    try {
      this.socket.close(4e3, "dropped");
    } catch {
    }
    this.end();
  }
  receive(data) {
    this.lastHeard = Date.now();
    if (typeof data !== "string") return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== "object" || typeof message.type !== "string") return;
    if (message.type === "closed") this.expectClose = true;
    this.onMessage(message);
  }
  tick() {
    if (Date.now() - this.lastHeard > this.options.silenceTimeoutMs) {
      this.drop();
      return;
    }
    this.pingId = this.pingId + 1 >>> 0;
    this.send({ type: "ping", id: this.pingId });
  }
  end() {
    if (this.ended) return;
    this.ended = true;
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.socket.onmessage = null;
    this.socket.onclose = null;
    this.onClose(this.expectClose);
  }
};

// src/token.ts
function base64UrlDecode(part) {
  let b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  while (b64.length % 4) b64 += "=";
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}
function parseRoomToken(token) {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || !parts[1]) {
    throw new DeepInfluenceError("token_invalid", "The room token is not a JWT (three dot-separated parts).", {
      fatal: true
    });
  }
  let payload;
  try {
    payload = JSON.parse(base64UrlDecode(parts[1]));
  } catch (e) {
    throw new DeepInfluenceError("token_invalid", "The room token's payload is not base64url JSON.", {
      fatal: true,
      cause: e
    });
  }
  const p = payload;
  if (!p || typeof p !== "object" || typeof p.room !== "string" || typeof p.sub !== "string" || typeof p.role !== "string" || typeof p.exp !== "number") {
    throw new DeepInfluenceError("token_invalid", "The room token lacks room, sub, role or exp.", { fatal: true });
  }
  return {
    sub: p.sub,
    room: p.room,
    role: p.role,
    publish: Array.isArray(p.publish) ? p.publish : [],
    call: p.call,
    iat: p.iat,
    exp: p.exp
  };
}

// src/room.ts
var RemoteTrack = class {
  constructor(sid, owner, source, muted) {
    this.sid = sid;
    this.owner = owner;
    this.source = source;
    this.muted = muted;
    /** The MediaStreamTrack, once subscribed (the SFU forwards it). */
    this.mediaStreamTrack = null;
    /** A stream holding just this track, for `srcObject`. */
    this.stream = null;
    /** @internal */
    this.mid = null;
  }
  get kind() {
    return this.source === "microphone" ? "audio" : "video";
  }
  get subscribed() {
    return this.mediaStreamTrack !== null;
  }
};
var LocalTrack = class {
  constructor(source, mediaStreamTrack, transceiver, layers, stream) {
    this.source = source;
    this.mediaStreamTrack = mediaStreamTrack;
    this.transceiver = transceiver;
    this.layers = layers;
    this.stream = stream;
    /** The room's number for it, once the server has announced it. */
    this.sid = null;
    this.muted = false;
  }
  get kind() {
    return this.source === "microphone" ? "audio" : "video";
  }
};
var CAMERA_LAYERS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 15e4 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 5e5 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 15e5 }
];
var RECONNECT_DELAYS_MS = [0, 300, 1e3, 2e3, 3e3];
function firstMessage(signal, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeepInfluenceError("timeout", "The server did not answer join in time.", { fatal: true })), timeoutMs);
    signal.onMessage = (m) => {
      clearTimeout(timer);
      resolve(m);
    };
    signal.onClose = () => {
      clearTimeout(timer);
      reject(new DeepInfluenceError("connection_lost", "The socket closed before the room was joined.", { fatal: true }));
    };
  });
}
function preferCodec(transceiver, codec) {
  const caps = globalThis.RTCRtpReceiver?.getCapabilities?.("video");
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return false;
  const mime = `video/${codec}`.toLowerCase();
  const rank = (c) => {
    if (c.mimeType.toLowerCase() !== mime) return 100;
    const fmtp = c.sdpFmtpLine ?? "";
    let r = 0;
    if (mime === "video/h264") {
      if (!fmtp.includes("packetization-mode=1")) r += 10;
      if (!fmtp.includes("profile-level-id=42e01f")) r += 1;
    }
    return r;
  };
  if (!caps.codecs.some((c) => rank(c) < 100)) return false;
  const helper = (c) => /^video\/(rtx|red|ulpfec|flexfec-03)$/i.test(c.mimeType);
  const ordered = caps.codecs.map((c, i) => ({ c, i })).filter((x) => rank(x.c) < 100 || helper(x.c)).sort((a, b) => (helper(a.c) ? 50 : rank(a.c)) - (helper(b.c) ? 50 : rank(b.c)) || a.i - b.i).map((x) => x.c);
  try {
    transceiver.setCodecPreferences(ordered);
    return true;
  } catch {
    return false;
  }
}
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
var Room = class _Room extends Emitter {
  constructor(url, token, name, options) {
    super();
    this.url = url;
    this.token = token;
    this.name = name;
    this.options = options;
    /** Everyone else in the room, by identity. */
    this.participants = /* @__PURE__ */ new Map();
    /** Other participants' tracks, by number. */
    this.remoteTracks = /* @__PURE__ */ new Map();
    /** This client's published tracks, by source. */
    this.localTracks = /* @__PURE__ */ new Map();
    /** The last call status pushed by the server. */
    this.callStatus = null;
    /** Loudest first. */
    this.activeSpeakers = [];
    /** Set once joined: the welcome's fields. */
    this.identity = "";
    this.role = "participant";
    this.mayPublish = [];
    this.call = null;
    this.session = "";
    /** "connecting" → "connected" ⇄ "reconnecting" → "disconnected". */
    this.state = "connecting";
    /** When this client joined (Date.now()). */
    this.joinedAt = 0;
    /** @internal */
    this.pc = null;
    this.signal = null;
    this.negotiator = null;
    this.channels = /* @__PURE__ */ new Map();
    this.channelQueue = /* @__PURE__ */ new Map();
    this.midTrack = /* @__PURE__ */ new Map();
    this.attached = /* @__PURE__ */ new Map();
    this.resumeGraceMs = 2e4;
    this.iceServers = [];
    this.leaving = false;
    this.closedReason = null;
    /** Debugging and tests: break the socket as a network failure would. */
    this.debug = {
      dropSocket: () => this.signal?.drop(),
      negotiator: () => this.negotiator
    };
    this.whiteboard = new Whiteboard(
      (payload) => this.sendOn("whiteboard", payload),
      () => this.identity
    );
    const env = options.adaptiveEnvironment ?? {
      ResizeObserver: globalThis.ResizeObserver,
      IntersectionObserver: globalThis.IntersectionObserver,
      document: globalThis.document,
      pixelRatio: globalThis.devicePixelRatio ?? 1
    };
    this.adaptive = options.adaptiveStream === false ? null : new AdaptiveStream(
      (track, want) => this.signal?.send({ type: "subscribe", track, want }),
      options.adaptiveDebounceMs ?? 250,
      env
    );
  }
  /**
   * Joins a room. `url` is the signalling WebSocket (`wss://host/v1/signal`);
   * `token` the room token. Rejects with a DeepInfluenceError:
   * `server_unreachable`, `token_invalid`, `token_expired`, `token_wrong_room`,
   * `room_full`, `unavailable`, `timeout`.
   */
  static async connect(url, token, options = {}) {
    const name = options.room ?? parseRoomToken(token).room;
    const room = new _Room(url, token, name, options);
    try {
      await room.join(void 0);
    } catch (e) {
      room.teardown();
      room.state = "disconnected";
      throw e;
    }
    return room;
  }
  // ---------------------------------------------------------------- joining
  get Socket() {
    const S = this.options.WebSocket ?? globalThis.WebSocket;
    if (!S) throw new DeepInfluenceError("server_unreachable", "No WebSocket in this environment.", { fatal: true });
    return S;
  }
  async openSignal() {
    return SignalConnection.open(this.url, this.Socket, {
      timeoutMs: this.options.connectTimeoutMs ?? 1e4,
      pingIntervalMs: this.options.pingIntervalMs ?? 1e4,
      silenceTimeoutMs: Math.max(25e3, 2.5 * (this.options.pingIntervalMs ?? 1e4))
    });
  }
  /** Opens a socket and sends join (resuming `resume` if given); resolves with the welcome. */
  async join(resume) {
    const signal = await this.openSignal();
    const first = firstMessage(signal, this.options.connectTimeoutMs ?? 1e4);
    signal.send({ type: "join", room: this.name, token: this.token, tracks: [], ...resume ? { resume } : {} });
    let message;
    try {
      message = await first;
    } catch (e) {
      signal.close();
      throw e;
    }
    if (message.type === "error") {
      signal.close();
      throw new DeepInfluenceError(message.code, message.message, { fatal: message.fatal });
    }
    if (message.type !== "welcome") {
      signal.close();
      throw new DeepInfluenceError("bad_message", `Expected welcome, got ${message.type}.`, { fatal: true });
    }
    const { type: _type, ...welcome } = message;
    this.adopt(signal);
    if (resume) {
      this.session = welcome.session;
      this.resumeGraceMs = welcome.resume_grace_ms;
      this.syncRoster(welcome);
    } else {
      await this.start(welcome);
    }
    return { signal, welcome };
  }
  adopt(signal) {
    this.signal = signal;
    signal.onMessage = (m) => this.onMessage(m);
    signal.onClose = (expected) => {
      if (this.signal !== signal) return;
      this.signal = null;
      if (expected || this.leaving) {
        if (this.state !== "disconnected") this.finish(this.closedReason ?? "left");
      } else {
        void this.reconnect();
      }
    };
  }
  /** A fresh session: a new peer connection, the room as the welcome describes it. */
  async start(welcome) {
    this.identity = welcome.participant;
    this.role = welcome.role;
    this.mayPublish = welcome.may_publish;
    this.call = welcome.call;
    this.session = welcome.session;
    this.resumeGraceMs = welcome.resume_grace_ms;
    this.iceServers = welcome.ice_servers.map((s) => ({ ...s }));
    if (!this.joinedAt) this.joinedAt = Date.now();
    this.syncRoster(welcome);
    const PC = this.options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    const pc = new PC({
      ...this.options.rtcConfig,
      iceServers: [...this.options.rtcConfig?.iceServers ?? [], ...this.iceServers],
      bundlePolicy: "max-bundle"
    });
    this.pc = pc;
    this.midTrack.clear();
    this.channels.clear();
    pc.ontrack = () => this.reconcileMedia();
    pc.ondatachannel = (ev) => this.addChannel(ev.channel);
    pc.onconnectionstatechange = () => {
      if (pc === this.pc && pc.connectionState === "failed" && this.state === "connected") {
        void this.negotiator?.negotiate({ iceRestart: true }).catch(() => {
        });
      }
    };
    this.negotiator = new Negotiator(
      pc,
      (m) => this.signal?.send(m) ?? false,
      () => this.trackSpecs(),
      (e) => this.emit("error", e instanceof DeepInfluenceError ? e : new DeepInfluenceError("bad_sdp", String(e))),
      (e) => void this.restartSession(e)
    );
    this.state = "connected";
    if (welcome.sdp?.type === "offer") {
      await this.negotiator.handleOffer(welcome.sdp.sdp);
      this.reconcileMedia();
    }
  }
  /** Brings participants and remote tracks in line with a welcome, emitting what changed. */
  syncRoster(welcome) {
    const present = /* @__PURE__ */ new Set();
    for (const p of welcome.participants) {
      if (p.participant === welcome.participant) continue;
      present.add(p.participant);
      this.addParticipant(p);
    }
    for (const [id, p] of [...this.participants]) {
      if (!present.has(id)) this.dropParticipant(p, "left");
    }
    const tracks = /* @__PURE__ */ new Set();
    for (const t of welcome.tracks) {
      if (t.owner === welcome.participant) {
        const local = this.localTracks.get(t.source);
        if (local) {
          local.sid = t.track;
          local.muted = t.muted;
        }
        continue;
      }
      tracks.add(t.track);
      this.addTrack(t);
    }
    for (const [n, t] of [...this.remoteTracks]) if (!tracks.has(n)) this.dropTrack(t);
  }
  async reconnect() {
    if (this.state === "disconnected") return;
    if (this.options.autoReconnect === false) {
      this.finish("connection_lost", new DeepInfluenceError("connection_lost", void 0, { fatal: true }));
      return;
    }
    this.state = "reconnecting";
    this.negotiator?.suspend();
    this.emit("reconnecting");
    const deadline = Date.now() + this.resumeGraceMs;
    let attempt = 0;
    while (Date.now() < deadline && this.state === "reconnecting") {
      await sleep(RECONNECT_DELAYS_MS[Math.min(attempt++, RECONNECT_DELAYS_MS.length - 1)]);
      if (this.state !== "reconnecting") return;
      try {
        await this.join(this.session);
        this.state = "connected";
        await this.negotiator?.resume({ iceRestart: true }).catch(() => {
        });
        if (this.state === "connected") this.emit("reconnected", { resumed: true });
        return;
      } catch (e) {
        const err = e;
        if (err.code === "server_unreachable" || err.code === "timeout" || err.code === "connection_lost") continue;
        if (err.code === "resume_refused") break;
        this.finish("error", err);
        return;
      }
    }
    if (this.state !== "reconnecting") return;
    try {
      await this.rejoin();
      this.emit("reconnected", { resumed: false });
    } catch (e) {
      this.finish(
        "connection_lost",
        e instanceof DeepInfluenceError ? e : new DeepInfluenceError("connection_lost", String(e), { fatal: true })
      );
    }
  }
  /**
   * The server's offer could not be applied: this session can no longer
   * negotiate. Leave it and join afresh (a new peer connection, the local
   * tracks published again).
   */
  async restartSession(cause) {
    if (this.state !== "connected") return;
    this.emit(
      "error",
      new DeepInfluenceError("bad_sdp", `The server's offer could not be applied (${cause?.message ?? cause}); joining the room again.`)
    );
    this.state = "reconnecting";
    this.emit("reconnecting");
    const signal = this.signal;
    this.signal = null;
    if (signal) {
      signal.onMessage = () => {
      };
      signal.onClose = () => {
      };
      signal.send({ type: "leave" });
      signal.close();
    }
    try {
      await this.rejoin();
      this.emit("reconnected", { resumed: false });
    } catch (e) {
      this.finish("connection_lost", e instanceof DeepInfluenceError ? e : new DeepInfluenceError("connection_lost", String(e), { fatal: true }));
    }
  }
  /** A fresh join after the old session was lost: new peer connection, local tracks published again. */
  async rejoin() {
    this.negotiator?.close();
    this.closePeer();
    let lastError;
    for (let attempt = 0; attempt < 3 && this.state === "reconnecting"; attempt++) {
      try {
        await sleep(RECONNECT_DELAYS_MS[Math.min(attempt + 1, RECONNECT_DELAYS_MS.length - 1)]);
        await this.join(void 0);
        lastError = void 0;
        break;
      } catch (e) {
        lastError = e;
        const code = e.code;
        if (code !== "server_unreachable" && code !== "timeout" && code !== "connection_lost") throw e;
      }
    }
    if (lastError) throw lastError;
    const old = [...this.localTracks.values()];
    this.localTracks.clear();
    for (const t of old) {
      await this.publishTrack(t.source, t.mediaStreamTrack, t.stream, t.layers.length > 1);
    }
    this.adaptive?.resendAll();
  }
  // -------------------------------------------------------------- messages
  onMessage(m) {
    switch (m.type) {
      case "offer":
        void this.negotiator?.handleOffer(m.sdp).then(() => this.reconcileMedia());
        break;
      case "answer":
        void this.negotiator?.handleAnswer(m.sdp).then(() => this.reconcileMedia());
        break;
      case "participant_joined":
        if (m.participant.participant !== this.identity) this.addParticipant(m.participant);
        break;
      case "participant_left": {
        const p = this.participants.get(m.participant);
        if (p) this.dropParticipant(p, m.reason);
        break;
      }
      case "track_published":
        if (m.track.owner === this.identity) {
          const local = this.localTracks.get(m.track.source);
          if (local) {
            local.sid = m.track.track;
            this.emit("localTrackPublished", local);
          }
        } else {
          this.addTrack(m.track);
        }
        break;
      case "track_unpublished": {
        const t = this.remoteTracks.get(m.track);
        if (t) this.dropTrack(t);
        break;
      }
      case "track_muted":
        this.onMuted(m.track, m.muted, m.by_host);
        break;
      case "speakers":
        this.activeSpeakers = m.participants;
        this.emit("activeSpeakers", m.participants);
        break;
      case "layers":
        this.onLayers(m.track, m.rids);
        break;
      case "call_status": {
        const { type: _t, ...status } = m;
        this.callStatus = status;
        this.emit("callStatus", status);
        break;
      }
      case "error": {
        const err = new DeepInfluenceError(m.code, m.message, { fatal: m.fatal });
        if (!m.fatal && this.negotiator?.handleError(m.code, m.message)) break;
        if (m.code === "no_offer_pending") break;
        if (m.fatal) this.closedReason = "error";
        this.fatalError = m.fatal ? err : this.fatalError;
        this.emit("error", err);
        break;
      }
      case "closed":
        this.closedReason = m.reason;
        break;
      case "pong":
      case "welcome":
        break;
    }
  }
  addParticipant(info) {
    const known = this.participants.get(info.participant);
    if (known) {
      known.role = info.role;
      return;
    }
    const p = { identity: info.participant, role: info.role, tracks: /* @__PURE__ */ new Set() };
    this.participants.set(p.identity, p);
    this.emit("participantJoined", p);
  }
  dropParticipant(p, reason) {
    for (const n of [...p.tracks]) {
      const t = this.remoteTracks.get(n);
      if (t) this.dropTrack(t);
    }
    this.participants.delete(p.identity);
    this.emit("participantLeft", p, reason);
  }
  addTrack(info) {
    const existing = this.remoteTracks.get(info.track);
    if (existing) {
      existing.muted = info.muted;
      return;
    }
    const t = new RemoteTrack(info.track, info.owner, info.source, info.muted);
    this.remoteTracks.set(t.sid, t);
    this.participants.get(info.owner)?.tracks.add(t.sid);
    this.emit("trackPublished", t);
    this.reconcileMedia();
  }
  dropTrack(t) {
    this.remoteTracks.delete(t.sid);
    this.participants.get(t.owner)?.tracks.delete(t.sid);
    this.adaptive?.forget(t.sid);
    if (t.mediaStreamTrack) {
      t.mediaStreamTrack = null;
      t.stream = null;
      this.emit("trackUnsubscribed", t);
    }
    this.emit("trackUnpublished", t);
  }
  /**
   * Binds the peer connection's receivers to announced tracks: the SFU's
   * SDP names each m-line's track as `a=msid:<owner> t<N>`.
   */
  reconcileMedia() {
    const pc = this.pc;
    const sdp = pc?.remoteDescription?.sdp;
    if (!pc || !sdp) return;
    const sent = sentTracks(sdp);
    for (const tr of pc.getTransceivers()) {
      const mid = tr.mid;
      if (!mid || !sent.mids.has(mid)) continue;
      const now = sent.tracks.get(mid)?.track;
      const before = this.midTrack.get(mid);
      if (before !== void 0 && before !== now) {
        this.midTrack.delete(mid);
        const old = this.remoteTracks.get(before);
        if (old && old.mid === mid && old.mediaStreamTrack) {
          old.mediaStreamTrack = null;
          old.stream = null;
          old.mid = null;
          this.emit("trackUnsubscribed", old);
        }
      }
      if (now === void 0) continue;
      this.midTrack.set(mid, now);
      const t = this.remoteTracks.get(now);
      if (!t || t.mediaStreamTrack) continue;
      t.mid = mid;
      t.mediaStreamTrack = tr.receiver.track;
      const MS = this.options.MediaStream ?? globalThis.MediaStream;
      t.stream = MS ? new MS([tr.receiver.track]) : null;
      this.emit("trackSubscribed", t);
    }
  }
  onMuted(track, muted, byHost) {
    for (const local of this.localTracks.values()) {
      if (local.sid !== track) continue;
      local.muted = muted;
      if (byHost && muted) local.mediaStreamTrack.enabled = false;
      this.emit("muteChanged", { track, participant: this.identity, source: local.source, muted, byHost, local: true });
      return;
    }
    const t = this.remoteTracks.get(track);
    if (!t) return;
    t.muted = muted;
    this.emit("muteChanged", { track, participant: t.owner, source: t.source, muted, byHost, local: false });
  }
  onLayers(track, rids) {
    this.emit("layers", track, rids);
    if (this.options.dynacast === false) return;
    for (const local of this.localTracks.values()) {
      if (local.sid !== track || local.layers.length < 2) continue;
      const sender = local.transceiver.sender;
      const params = sender.getParameters();
      const encodings = params.encodings ?? [];
      let top = -1;
      encodings.forEach((enc, i) => {
        if (enc.rid && rids.includes(enc.rid)) top = i;
      });
      let changed = false;
      encodings.forEach((enc, i) => {
        const active = i <= top;
        if (enc.active !== active) {
          enc.active = active;
          changed = true;
        }
      });
      if (changed) sender.setParameters(params).catch((e) => this.emit("error", new DeepInfluenceError("invalid_argument", `dynacast: ${e}`)));
    }
  }
  // ----------------------------------------------------------- data channels
  addChannel(channel) {
    const label = channel.label;
    if (!CHANNELS.includes(label)) return;
    channel.binaryType = "arraybuffer";
    this.channels.set(label, channel);
    const flush = () => {
      const queued = this.channelQueue.get(label) ?? [];
      this.channelQueue.delete(label);
      for (const q of queued) channel.send(q);
    };
    if (channel.readyState === "open") flush();
    else channel.addEventListener("open", flush);
    channel.addEventListener("message", (ev) => {
      const raw = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data);
      this.onData(label, raw);
    });
  }
  onData(channel, raw) {
    if (channel === "whiteboard") {
      const stroke = this.whiteboard.receive(raw);
      this.emit("dataReceived", { channel, from: stroke?.from ?? null, data: stroke ?? raw });
      return;
    }
    const env = decodeEnvelope(raw);
    if (channel === "chat" && env?.kind === "chat") {
      const body = env.body;
      if (body && typeof body.text === "string") {
        const msg = { from: env.from, text: body.text, at: typeof body.at === "number" ? body.at : Date.now() };
        this.emit("chat", msg);
      }
    }
    this.emit("dataReceived", { channel, from: env?.from ?? null, data: env ? env.body : raw });
  }
  /** Sends on a channel, queueing until it opens. */
  sendOn(label, payload) {
    if (this.state === "disconnected") throw new DeepInfluenceError("room_closed");
    const ch = this.channels.get(label);
    if (ch && ch.readyState === "open") {
      ch.send(payload);
      return;
    }
    const q = this.channelQueue.get(label) ?? [];
    q.push(payload);
    this.channelQueue.set(label, q);
  }
  /** Sends a chat message to everyone else. */
  sendChat(text) {
    const msg = { from: this.identity, text, at: Date.now() };
    this.sendOn("chat", encodeEnvelope(this.identity, "chat", { text, at: msg.at }));
    return msg;
  }
  /** Sends any JSON value to everyone else: reliably (`chat` channel) or not (`lossy`, for cursors). */
  sendData(data, options = {}) {
    this.sendOn(options.reliable === false ? "lossy" : "chat", encodeEnvelope(this.identity, "data", data));
  }
  // -------------------------------------------------------------- publishing
  get devices() {
    const d = this.options.mediaDevices ?? globalThis.navigator?.mediaDevices;
    if (!d) throw new DeepInfluenceError("device_unavailable", "No media devices in this environment (is the page served over HTTPS?).");
    return d;
  }
  checkPublish(source) {
    if (this.state === "disconnected") throw new DeepInfluenceError("room_closed");
    if (!this.mayPublish.includes(source)) {
      throw new DeepInfluenceError("publish_denied", `This room token does not allow publishing ${source}.`);
    }
    if (this.localTracks.has(source)) {
      throw new DeepInfluenceError("invalid_argument", `${source} is already published; unpublish it or switch the device.`);
    }
  }
  /**
   * Publishes the camera, by default as three simulcast encodings (rids q, h
   * and f at 1/4, 1/2 and full resolution). Rejects with `permission_denied`,
   * `device_unavailable` or `publish_denied`.
   */
  async publishCamera(options = {}) {
    this.checkPublish("camera");
    const track = options.track ?? await this.capture({
      video: {
        width: { ideal: options.width ?? 1280 },
        height: { ideal: options.height ?? 720 },
        ...options.deviceId ? { deviceId: { exact: options.deviceId } } : {}
      }
    });
    return this.publishTrack("camera", track, void 0, options.simulcast !== false);
  }
  /** Publishes the microphone (Opus). */
  async publishMicrophone(options = {}) {
    this.checkPublish("microphone");
    const track = options.track ?? await this.capture({
      audio: { echoCancellation: true, noiseSuppression: true, ...options.deviceId ? { deviceId: { exact: options.deviceId } } : {} }
    });
    return this.publishTrack("microphone", track, void 0, false);
  }
  /**
   * Shares the screen (getDisplayMedia), or `options.track` (e.g. a canvas
   * capture). Unpublished when the user stops sharing.
   */
  async publishScreen(options = {}) {
    this.checkPublish("screen");
    let track = options.track;
    if (!track) {
      try {
        const stream = await this.devices.getDisplayMedia({ video: true, audio: false });
        track = stream.getVideoTracks()[0];
      } catch (e) {
        throw mediaError(e);
      }
    }
    track.contentHint = "detail";
    const local = await this.publishTrack("screen", track, void 0, false);
    track.addEventListener("ended", () => {
      if (this.localTracks.get("screen") === local) void this.unpublish("screen").catch(() => {
      });
    });
    return local;
  }
  async capture(constraints) {
    try {
      const stream = await this.devices.getUserMedia(constraints);
      return (constraints.video ? stream.getVideoTracks() : stream.getAudioTracks())[0];
    } catch (e) {
      throw mediaError(e);
    }
  }
  async publishTrack(source, track, stream, simulcast) {
    if (this.state === "reconnecting") await this.untilConnected();
    const pc = this.pc;
    if (!pc || !this.negotiator) throw new DeepInfluenceError("room_closed");
    const MS = this.options.MediaStream ?? globalThis.MediaStream;
    const s = stream ?? new MS([track]);
    const init = { direction: "sendonly", streams: [s] };
    let layers = [];
    if (source === "camera" && simulcast) {
      init.sendEncodings = CAMERA_LAYERS.map((l) => ({ ...l }));
      const settings = track.getSettings?.() ?? {};
      const width = settings.width ?? 1280;
      const height = settings.height ?? 720;
      layers = CAMERA_LAYERS.map((l) => ({
        rid: l.rid,
        width: Math.round(width / l.scaleResolutionDownBy),
        height: Math.round(height / l.scaleResolutionDownBy)
      }));
    }
    const transceiver = pc.addTransceiver(track, init);
    if (track.kind === "video" && this.options.videoCodec) preferCodec(transceiver, this.options.videoCodec);
    const local = new LocalTrack(source, track, transceiver, layers, s);
    this.localTracks.set(source, local);
    try {
      await this.negotiator.negotiate();
    } catch (e) {
      if (this.state === "reconnecting" && e?.code === "room_closed") {
        return this.republished(source);
      }
      this.localTracks.delete(source);
      this.stopTransceiver(transceiver);
      throw e instanceof DeepInfluenceError ? e : new DeepInfluenceError("bad_sdp", String(e));
    }
    return local;
  }
  /** Resolves once reconnected; rejects if the room ends instead. */
  untilConnected() {
    return new Promise((resolve, reject) => {
      const offs = [
        this.on("reconnected", () => {
          offs.forEach((f) => f());
          resolve();
        }),
        this.on("disconnected", (_reason, error) => {
          offs.forEach((f) => f());
          reject(error ?? new DeepInfluenceError("room_closed"));
        })
      ];
    });
  }
  /** The local track of `source` once the session being set up has published it again. */
  republished(source) {
    return new Promise((resolve, reject) => {
      const offs = [
        this.on("reconnected", () => {
          offs.forEach((f) => f());
          const t = this.localTracks.get(source);
          if (t) resolve(t);
          else reject(new DeepInfluenceError("connection_lost", `${source} could not be published again.`));
        }),
        this.on("disconnected", (_reason, error) => {
          offs.forEach((f) => f());
          reject(error ?? new DeepInfluenceError("room_closed"));
        })
      ];
    });
  }
  stopTransceiver(t) {
    try {
      if (typeof t.stop === "function") t.stop();
      else this.pc?.removeTrack(t.sender);
    } catch {
    }
  }
  trackSpecs() {
    const specs = [];
    for (const t of this.localTracks.values()) {
      const mid = t.transceiver.mid;
      if (mid !== null && mid !== void 0) specs.push({ mid, source: t.source, layers: t.layers });
    }
    return specs;
  }
  /** Stops publishing a source and stops its capture. */
  async unpublish(source) {
    const local = this.localTracks.get(source);
    if (!local) return;
    this.localTracks.delete(source);
    this.stopTransceiver(local.transceiver);
    local.mediaStreamTrack.stop();
    await this.negotiator?.negotiate();
  }
  /** Mutes one's own track (it keeps its m-line; the others are told). */
  async mute(source, muted = true) {
    const local = this.localTracks.get(source);
    if (!local) throw new DeepInfluenceError("invalid_argument", `${source} is not published.`);
    local.mediaStreamTrack.enabled = !muted;
    local.muted = muted;
    if (local.sid !== null) this.signal?.send({ type: "mute", track: local.sid, muted });
  }
  unmute(source) {
    return this.mute(source, false);
  }
  /** Switches the camera or microphone to another device without renegotiating (replaceTrack). */
  async switchDevice(kind, deviceId) {
    const source = kind === "videoinput" ? "camera" : "microphone";
    const local = this.localTracks.get(source);
    if (!local) throw new DeepInfluenceError("invalid_argument", `${source} is not published.`);
    const track = await this.capture(
      kind === "videoinput" ? { video: { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } } } : { audio: { deviceId: { exact: deviceId } } }
    );
    track.enabled = !local.muted;
    await local.transceiver.sender.replaceTrack(track);
    const old = local.mediaStreamTrack;
    local.stream.removeTrack?.(old);
    local.stream.addTrack?.(track);
    local.mediaStreamTrack = track;
    old.stop();
    return local;
  }
  // ------------------------------------------------------------- rendering
  /**
   * Shows a track in a media element. For remote video, adaptive stream
   * sends the element's rendered size (or paused when hidden) so the SFU
   * forwards the fitting simulcast layer. Returns the function that detaches.
   */
  attach(track, element) {
    this.attached.get(element)?.();
    const stream = track.stream;
    element.autoplay = true;
    element.playsInline = true;
    if (track instanceof LocalTrack) element.muted = true;
    element.srcObject = stream;
    const stopObserving = track instanceof RemoteTrack && track.kind === "video" && this.adaptive ? this.adaptive.observe(track.sid, element) : () => {
    };
    const play = element.play?.();
    if (play && typeof play.catch === "function") play.catch(() => {
    });
    const detach = () => {
      if (this.attached.get(element) !== detach) return;
      this.attached.delete(element);
      stopObserving();
      if (element.srcObject === stream) element.srcObject = null;
    };
    this.attached.set(element, detach);
    return detach;
  }
  detach(element) {
    this.attached.get(element)?.();
  }
  /** Sets a remote video track's preference by hand (when not using attach's adaptive stream). */
  setPreference(track, want) {
    this.signal?.send({ type: "subscribe", track, want: want === "paused" ? { type: "paused" } : { type: "size", ...want } });
  }
  // -------------------------------------------------------------- moderation
  requireHost() {
    if (this.role !== "host") throw new DeepInfluenceError("not_host");
  }
  /** Host: mutes (or unmutes) anyone's track. */
  muteParticipantTrack(track, muted = true) {
    this.requireHost();
    if (!this.signal?.send({ type: "mute", track, muted })) throw new DeepInfluenceError("connection_lost");
  }
  /** Host: removes a participant from the room. */
  removeParticipant(identity) {
    this.requireHost();
    if (!this.signal?.send({ type: "remove", participant: identity })) throw new DeepInfluenceError("connection_lost");
  }
  // ------------------------------------------------------------------ ending
  /** Leaves the room for good. */
  async leave() {
    if (this.state === "disconnected") return;
    this.leaving = true;
    const signal = this.signal;
    if (signal?.send({ type: "leave" })) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 2e3);
        const prev = signal.onClose;
        signal.onClose = (expected) => {
          clearTimeout(timer);
          prev(expected);
          resolve();
        };
      });
    }
    this.finish("left");
  }
  finish(reason, error) {
    if (this.state === "disconnected") return;
    this.state = "disconnected";
    this.teardown();
    this.emit("disconnected", reason, error ?? (reason === "error" ? this.fatalError : void 0));
  }
  closePeer() {
    for (const t of [...this.remoteTracks.values()]) {
      if (t.mediaStreamTrack) {
        t.mediaStreamTrack = null;
        t.stream = null;
        t.mid = null;
        this.emit("trackUnsubscribed", t);
      }
    }
    this.midTrack.clear();
    for (const ch of this.channels.values()) {
      try {
        ch.close();
      } catch {
      }
    }
    this.channels.clear();
    try {
      this.pc?.close();
    } catch {
    }
    this.pc = null;
  }
  teardown() {
    this.negotiator?.close();
    const signal = this.signal;
    this.signal = null;
    signal?.close();
    this.closePeer();
    this.adaptive?.close();
    for (const d of [...this.attached.values()]) d();
    for (const t of this.localTracks.values()) t.mediaStreamTrack.stop();
  }
};

// src/index.ts
var VERSION = "0.1.0";
export {
  DeepInfluenceError,
  LocalTrack,
  RemoteTrack,
  Room,
  VERSION,
  WHITEBOARD_CLEAR,
  Whiteboard,
  parseRoomToken,
  preferCodec
};
