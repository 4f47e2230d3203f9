import { AdaptiveStream, type AdaptiveEnvironment } from "./adaptive";
import { CHANNELS, type ChannelLabel, type ChatMessage, decodeEnvelope, encodeEnvelope, Whiteboard } from "./data";
import { Emitter } from "./emitter";
import { DeepInfluenceError, mediaError } from "./errors";
import { Negotiator } from "./negotiator";
import { sentTracks } from "./sdp";
import { SignalConnection, type SocketConstructor } from "./signal";
import { parseRoomToken } from "./token";
import type {
  CallStatus,
  ClosedReason,
  LayerSpec,
  LeftReason,
  ParticipantInfo,
  Role,
  ServerMessage,
  Source,
  TrackInfo,
  TrackSpec,
  Welcome,
} from "./wire";

export interface ConnectOptions {
  /** The room to join; default: the `room` claim of the token. */
  room?: string;
  /** Send subscription preferences from the attached elements' size and visibility (default true). */
  adaptiveStream?: boolean;
  /** Stop sending simulcast layers nobody watches, as the server reports (default true). */
  dynacast?: boolean;
  /** Debounce of adaptive-stream preferences, ms (default 250). */
  adaptiveDebounceMs?: number;
  /** Reconnect and resume the session when the socket breaks (default true). */
  autoReconnect?: boolean;
  /** How long opening the socket and joining may take, ms (default 10000). */
  connectTimeoutMs?: number;
  /** Keep-alive ping interval, ms (default 10000). */
  pingIntervalMs?: number;
  /**
   * The only video codec to offer for camera and screen (default: all the
   * browser has; the SFU picks VP8). The SFU forwards without transcoding, so
   * a room with clients that only decode H.264 (the Rust test client, some
   * hardware) needs "h264".
   */
  videoCodec?: "vp8" | "h264" | "vp9" | "av1";
  /** Extra RTCConfiguration; the server's ICE servers are added. */
  rtcConfig?: RTCConfiguration;
  /** Environment overrides, for tests and non-browser hosts. */
  WebSocket?: SocketConstructor;
  RTCPeerConnection?: new (config?: RTCConfiguration) => RTCPeerConnection;
  mediaDevices?: Pick<MediaDevices, "getUserMedia" | "getDisplayMedia">;
  MediaStream?: new (tracks?: MediaStreamTrack[]) => MediaStream;
  adaptiveEnvironment?: AdaptiveEnvironment;
}

/** Why the room ended for this client. */
export type DisconnectReason = ClosedReason;

export interface Participant {
  identity: string;
  role: Role;
  /** Track numbers this participant publishes. */
  tracks: Set<number>;
}

/** Another participant's track. */
export class RemoteTrack {
  /** The MediaStreamTrack, once subscribed (the SFU forwards it). */
  mediaStreamTrack: MediaStreamTrack | null = null;
  /** A stream holding just this track, for `srcObject`. */
  stream: MediaStream | null = null;
  /** @internal */ mid: string | null = null;
  constructor(
    /** The track's number in the room (TrackInfo.track). */
    readonly sid: number,
    readonly owner: string,
    readonly source: Source,
    public muted: boolean,
  ) {}
  get kind(): "audio" | "video" {
    return this.source === "microphone" ? "audio" : "video";
  }
  get subscribed(): boolean {
    return this.mediaStreamTrack !== null;
  }
}

/** A track this client publishes. */
export class LocalTrack {
  /** The room's number for it, once the server has announced it. */
  sid: number | null = null;
  muted = false;
  constructor(
    readonly source: Source,
    public mediaStreamTrack: MediaStreamTrack,
    /** @internal */ public transceiver: RTCRtpTransceiver,
    readonly layers: LayerSpec[],
    readonly stream: MediaStream,
  ) {}
  get kind(): "audio" | "video" {
    return this.source === "microphone" ? "audio" : "video";
  }
}

export interface MuteChange {
  track: number;
  participant: string;
  source: Source;
  muted: boolean;
  byHost: boolean;
  /** One of this client's own tracks. */
  local: boolean;
}

export interface DataMessage {
  channel: ChannelLabel;
  from: string | null;
  /** The sender's payload (parsed JSON for SDK envelopes, the raw text otherwise). */
  data: unknown;
}

export interface RoomEvents {
  participantJoined: (participant: Participant) => void;
  participantLeft: (participant: Participant, reason: LeftReason) => void;
  trackPublished: (track: RemoteTrack) => void;
  trackUnpublished: (track: RemoteTrack) => void;
  trackSubscribed: (track: RemoteTrack) => void;
  trackUnsubscribed: (track: RemoteTrack) => void;
  localTrackPublished: (track: LocalTrack) => void;
  activeSpeakers: (participants: string[]) => void;
  muteChanged: (change: MuteChange) => void;
  dataReceived: (message: DataMessage) => void;
  chat: (message: ChatMessage) => void;
  callStatus: (status: CallStatus) => void;
  /** Dynacast: the rids of one's own track someone watches. */
  layers: (track: number, rids: string[]) => void;
  reconnecting: () => void;
  /** `resumed`: the same session (tracks and subscriptions kept); otherwise a fresh join. */
  reconnected: (info: { resumed: boolean }) => void;
  disconnected: (reason: DisconnectReason, error?: DeepInfluenceError) => void;
  /** A non-fatal refusal from the server (or a failure the SDK could not pin on a call). */
  error: (error: DeepInfluenceError) => void;
}

const CAMERA_LAYERS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

const RECONNECT_DELAYS_MS = [0, 300, 1000, 2000, 3000];

/** Resolves with the first server message of a new socket (welcome or error). */
function firstMessage(signal: SignalConnection, timeoutMs: number): Promise<ServerMessage> {
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

/**
 * Restricts a transceiver to `codec` (plus rtx, red and ulpfec), H.264 with
 * packetization mode 1 and constrained baseline first: the SFU answers with
 * its own preference among what is offered, so offering only this codec is
 * what makes it the one sent. Where the browser cannot, or lacks the codec,
 * its default stays.
 */
export function preferCodec(transceiver: RTCRtpTransceiver, codec: string): boolean {
  const caps = (globalThis as any).RTCRtpReceiver?.getCapabilities?.("video") as RTCRtpCapabilities | null | undefined;
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return false;
  const mime = `video/${codec}`.toLowerCase();
  const rank = (c: RTCRtpCodec): number => {
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
  const helper = (c: RTCRtpCodec) => /^video\/(rtx|red|ulpfec|flexfec-03)$/i.test(c.mimeType);
  const ordered = caps.codecs
    .map((c, i) => ({ c, i }))
    .filter((x) => rank(x.c) < 100 || helper(x.c))
    .sort((a, b) => (helper(a.c) ? 50 : rank(a.c)) - (helper(b.c) ? 50 : rank(b.c)) || a.i - b.i)
    .map((x) => x.c);
  try {
    transceiver.setCodecPreferences(ordered);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Room extends Emitter<RoomEvents> {
  /** Everyone else in the room, by identity. */
  readonly participants = new Map<string, Participant>();
  /** Other participants' tracks, by number. */
  readonly remoteTracks = new Map<number, RemoteTrack>();
  /** This client's published tracks, by source. */
  readonly localTracks = new Map<Source, LocalTrack>();
  readonly whiteboard: Whiteboard;
  /** The last call status pushed by the server. */
  callStatus: CallStatus | null = null;
  /** Loudest first. */
  activeSpeakers: string[] = [];
  /** Set once joined: the welcome's fields. */
  identity = "";
  role: Role = "participant";
  mayPublish: Source[] = [];
  call: string | null = null;
  session = "";
  /** "connecting" → "connected" ⇄ "reconnecting" → "disconnected". */
  state: "connecting" | "connected" | "reconnecting" | "disconnected" = "connecting";
  /** When this client joined (Date.now()). */
  joinedAt = 0;

  /** @internal */ pc: RTCPeerConnection | null = null;
  private signal: SignalConnection | null = null;
  private negotiator: Negotiator | null = null;
  private readonly channels = new Map<ChannelLabel, RTCDataChannel>();
  private readonly channelQueue = new Map<ChannelLabel, string[]>();
  private readonly adaptive: AdaptiveStream | null;
  private readonly midTrack = new Map<string, number>();
  private readonly attached = new Map<HTMLMediaElement, () => void>();
  private resumeGraceMs = 20000;
  private iceServers: RTCIceServer[] = [];
  private leaving = false;

  private constructor(
    readonly url: string,
    private readonly token: string,
    readonly name: string,
    private readonly options: ConnectOptions,
  ) {
    super();
    this.whiteboard = new Whiteboard(
      (payload) => this.sendOn("whiteboard", payload),
      () => this.identity,
    );
    const env: AdaptiveEnvironment = options.adaptiveEnvironment ?? {
      ResizeObserver: (globalThis as any).ResizeObserver,
      IntersectionObserver: (globalThis as any).IntersectionObserver,
      document: (globalThis as any).document,
      pixelRatio: (globalThis as any).devicePixelRatio ?? 1,
    };
    this.adaptive =
      options.adaptiveStream === false
        ? null
        : new AdaptiveStream(
            (track, want) => this.signal?.send({ type: "subscribe", track, want }),
            options.adaptiveDebounceMs ?? 250,
            env,
          );
  }

  /**
   * Joins a room. `url` is the signalling WebSocket (`wss://host/v1/signal`);
   * `token` the room token. Rejects with a DeepInfluenceError:
   * `server_unreachable`, `token_invalid`, `token_expired`, `token_wrong_room`,
   * `room_full`, `unavailable`, `timeout`.
   */
  static async connect(url: string, token: string, options: ConnectOptions = {}): Promise<Room> {
    const name = options.room ?? parseRoomToken(token).room;
    const room = new Room(url, token, name, options);
    try {
      await room.join(undefined);
    } catch (e) {
      room.teardown();
      room.state = "disconnected";
      throw e;
    }
    return room;
  }

  // ---------------------------------------------------------------- joining

  private get Socket(): SocketConstructor {
    const S = this.options.WebSocket ?? (globalThis as any).WebSocket;
    if (!S) throw new DeepInfluenceError("server_unreachable", "No WebSocket in this environment.", { fatal: true });
    return S;
  }

  private async openSignal(): Promise<SignalConnection> {
    return SignalConnection.open(this.url, this.Socket, {
      timeoutMs: this.options.connectTimeoutMs ?? 10000,
      pingIntervalMs: this.options.pingIntervalMs ?? 10000,
      silenceTimeoutMs: Math.max(25000, 2.5 * (this.options.pingIntervalMs ?? 10000)),
    });
  }

  /** Opens a socket and sends join (resuming `resume` if given); resolves with the welcome. */
  private async join(resume: string | undefined): Promise<{ signal: SignalConnection; welcome: Welcome }> {
    const signal = await this.openSignal();
    const first = firstMessage(signal, this.options.connectTimeoutMs ?? 10000);
    signal.send({ type: "join", room: this.name, token: this.token, tracks: [], ...(resume ? { resume } : {}) });
    let message: ServerMessage;
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

  private adopt(signal: SignalConnection): void {
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
  private async start(welcome: Welcome): Promise<void> {
    this.identity = welcome.participant;
    this.role = welcome.role;
    this.mayPublish = welcome.may_publish;
    this.call = welcome.call;
    this.session = welcome.session;
    this.resumeGraceMs = welcome.resume_grace_ms;
    this.iceServers = welcome.ice_servers.map((s) => ({ ...s }));
    if (!this.joinedAt) this.joinedAt = Date.now();
    this.syncRoster(welcome);

    const PC = this.options.RTCPeerConnection ?? (globalThis as any).RTCPeerConnection;
    const pc: RTCPeerConnection = new PC({
      ...this.options.rtcConfig,
      iceServers: [...(this.options.rtcConfig?.iceServers ?? []), ...this.iceServers],
      bundlePolicy: "max-bundle",
    });
    this.pc = pc;
    this.midTrack.clear();
    this.channels.clear();
    pc.ontrack = () => this.reconcileMedia();
    pc.ondatachannel = (ev) => this.addChannel(ev.channel);
    pc.onconnectionstatechange = () => {
      if (pc === this.pc && pc.connectionState === "failed" && this.state === "connected") {
        // The media path broke while signalling is fine: restart ICE.
        void this.negotiator?.negotiate({ iceRestart: true }).catch(() => {});
      }
    };
    this.negotiator = new Negotiator(
      pc,
      (m) => this.signal?.send(m) ?? false,
      () => this.trackSpecs(),
      (e) => this.emit("error", e instanceof DeepInfluenceError ? e : new DeepInfluenceError("bad_sdp", String(e))),
      (e) => void this.restartSession(e),
    );
    this.state = "connected";
    if (welcome.sdp?.type === "offer") {
      await this.negotiator.handleOffer(welcome.sdp.sdp);
      this.reconcileMedia();
    }
  }

  /** Brings participants and remote tracks in line with a welcome, emitting what changed. */
  private syncRoster(welcome: Welcome): void {
    const present = new Set<string>();
    for (const p of welcome.participants) {
      if (p.participant === welcome.participant) continue;
      present.add(p.participant);
      this.addParticipant(p);
    }
    for (const [id, p] of [...this.participants]) {
      if (!present.has(id)) this.dropParticipant(p, "left");
    }
    const tracks = new Set<number>();
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

  private closedReason: ClosedReason | null = null;

  private async reconnect(): Promise<void> {
    if (this.state === "disconnected") return;
    if (this.options.autoReconnect === false) {
      this.finish("connection_lost", new DeepInfluenceError("connection_lost", undefined, { fatal: true }));
      return;
    }
    this.state = "reconnecting";
    this.negotiator?.suspend();
    this.emit("reconnecting");
    const deadline = Date.now() + this.resumeGraceMs;
    let attempt = 0;
    // Resume within the grace period.
    while (Date.now() < deadline && this.state === "reconnecting") {
      await sleep(RECONNECT_DELAYS_MS[Math.min(attempt++, RECONNECT_DELAYS_MS.length - 1)]!);
      if (this.state !== "reconnecting") return;
      try {
        await this.join(this.session);
        this.state = "connected";
        await this.negotiator?.resume({ iceRestart: true }).catch(() => {
          // A failed ICE restart restarts the session (restartSession).
        });
        if (this.state === "connected") this.emit("reconnected", { resumed: true });
        return;
      } catch (e) {
        const err = e as DeepInfluenceError;
        if (err.code === "server_unreachable" || err.code === "timeout" || err.code === "connection_lost") continue;
        if (err.code === "resume_refused") break;
        this.finish("error", err);
        return;
      }
    }
    if (this.state !== "reconnecting") return;
    // The session is gone (refused or past its grace): join afresh and publish again.
    try {
      await this.rejoin();
      this.emit("reconnected", { resumed: false });
    } catch (e) {
      this.finish(
        "connection_lost",
        e instanceof DeepInfluenceError ? e : new DeepInfluenceError("connection_lost", String(e), { fatal: true }),
      );
    }
  }

  /**
   * The server's offer could not be applied: this session can no longer
   * negotiate. Leave it and join afresh (a new peer connection, the local
   * tracks published again).
   */
  private async restartSession(cause: unknown): Promise<void> {
    if (this.state !== "connected") return;
    this.emit(
      "error",
      new DeepInfluenceError("bad_sdp", `The server's offer could not be applied (${(cause as Error)?.message ?? cause}); joining the room again.`),
    );
    this.state = "reconnecting";
    this.emit("reconnecting");
    const signal = this.signal;
    this.signal = null;
    if (signal) {
      signal.onMessage = () => {};
      signal.onClose = () => {};
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
  private async rejoin(): Promise<void> {
    this.negotiator?.close();
    this.closePeer();
    let lastError: unknown;
    for (let attempt = 0; attempt < 3 && this.state === "reconnecting"; attempt++) {
      try {
        await sleep(RECONNECT_DELAYS_MS[Math.min(attempt + 1, RECONNECT_DELAYS_MS.length - 1)]!);
        await this.join(undefined);
        lastError = undefined;
        break;
      } catch (e) {
        lastError = e;
        const code = (e as DeepInfluenceError).code;
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

  private onMessage(m: ServerMessage): void {
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

  private fatalError: DeepInfluenceError | undefined;

  private addParticipant(info: ParticipantInfo): void {
    const known = this.participants.get(info.participant);
    if (known) {
      known.role = info.role;
      return;
    }
    const p: Participant = { identity: info.participant, role: info.role, tracks: new Set() };
    this.participants.set(p.identity, p);
    this.emit("participantJoined", p);
  }

  private dropParticipant(p: Participant, reason: LeftReason): void {
    for (const n of [...p.tracks]) {
      const t = this.remoteTracks.get(n);
      if (t) this.dropTrack(t);
    }
    this.participants.delete(p.identity);
    this.emit("participantLeft", p, reason);
  }

  private addTrack(info: TrackInfo): void {
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

  private dropTrack(t: RemoteTrack): void {
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
  private reconcileMedia(): void {
    const pc = this.pc;
    const sdp = pc?.remoteDescription?.sdp;
    if (!pc || !sdp) return;
    const sent = sentTracks(sdp);
    for (const tr of pc.getTransceivers()) {
      const mid = tr.mid;
      if (!mid || !sent.mids.has(mid)) continue;
      const now = sent.tracks.get(mid)?.track;
      const before = this.midTrack.get(mid);
      if (before !== undefined && before !== now) {
        this.midTrack.delete(mid);
        const old = this.remoteTracks.get(before);
        if (old && old.mid === mid && old.mediaStreamTrack) {
          old.mediaStreamTrack = null;
          old.stream = null;
          old.mid = null;
          this.emit("trackUnsubscribed", old);
        }
      }
      if (now === undefined) continue;
      this.midTrack.set(mid, now);
      const t = this.remoteTracks.get(now);
      if (!t || t.mediaStreamTrack) continue;
      t.mid = mid;
      t.mediaStreamTrack = tr.receiver.track;
      const MS = this.options.MediaStream ?? (globalThis as any).MediaStream;
      t.stream = MS ? new MS([tr.receiver.track]) : null;
      this.emit("trackSubscribed", t);
    }
  }

  private onMuted(track: number, muted: boolean, byHost: boolean): void {
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

  private onLayers(track: number, rids: string[]): void {
    this.emit("layers", track, rids);
    if (this.options.dynacast === false) return;
    for (const local of this.localTracks.values()) {
      if (local.sid !== track || local.layers.length < 2) continue;
      const sender = local.transceiver.sender;
      const params = sender.getParameters();
      const encodings = params.encodings ?? [];
      // Keep every layer up to the largest one watched: the SFU can then
      // step down at once when a subscriber's bandwidth drops, and the
      // publisher does not toggle layers as the SFU's choice moves.
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

  private addChannel(channel: RTCDataChannel): void {
    const label = channel.label as ChannelLabel;
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
    channel.addEventListener("message", (ev: MessageEvent) => {
      const raw = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
      this.onData(label, raw);
    });
  }

  private onData(channel: ChannelLabel, raw: string): void {
    if (channel === "whiteboard") {
      const stroke = this.whiteboard.receive(raw);
      this.emit("dataReceived", { channel, from: stroke?.from ?? null, data: stroke ?? raw });
      return;
    }
    const env = decodeEnvelope(raw);
    if (channel === "chat" && env?.kind === "chat") {
      const body = env.body as { text?: unknown; at?: unknown } | null;
      if (body && typeof body.text === "string") {
        const msg: ChatMessage = { from: env.from, text: body.text, at: typeof body.at === "number" ? body.at : Date.now() };
        this.emit("chat", msg);
      }
    }
    this.emit("dataReceived", { channel, from: env?.from ?? null, data: env ? env.body : raw });
  }

  /** Sends on a channel, queueing until it opens. */
  private sendOn(label: ChannelLabel, payload: string): void {
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
  sendChat(text: string): ChatMessage {
    const msg: ChatMessage = { from: this.identity, text, at: Date.now() };
    this.sendOn("chat", encodeEnvelope(this.identity, "chat", { text, at: msg.at }));
    return msg;
  }

  /** Sends any JSON value to everyone else: reliably (`chat` channel) or not (`lossy`, for cursors). */
  sendData(data: unknown, options: { reliable?: boolean } = {}): void {
    this.sendOn(options.reliable === false ? "lossy" : "chat", encodeEnvelope(this.identity, "data", data));
  }

  // -------------------------------------------------------------- publishing

  private get devices(): Pick<MediaDevices, "getUserMedia" | "getDisplayMedia"> {
    const d = this.options.mediaDevices ?? (globalThis as any).navigator?.mediaDevices;
    if (!d) throw new DeepInfluenceError("device_unavailable", "No media devices in this environment (is the page served over HTTPS?).");
    return d;
  }

  private checkPublish(source: Source): void {
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
  async publishCamera(options: { simulcast?: boolean; deviceId?: string; width?: number; height?: number; track?: MediaStreamTrack } = {}): Promise<LocalTrack> {
    this.checkPublish("camera");
    const track =
      options.track ??
      (await this.capture({
        video: {
          width: { ideal: options.width ?? 1280 },
          height: { ideal: options.height ?? 720 },
          ...(options.deviceId ? { deviceId: { exact: options.deviceId } } : {}),
        },
      }));
    return this.publishTrack("camera", track, undefined, options.simulcast !== false);
  }

  /** Publishes the microphone (Opus). */
  async publishMicrophone(options: { deviceId?: string; track?: MediaStreamTrack } = {}): Promise<LocalTrack> {
    this.checkPublish("microphone");
    const track =
      options.track ??
      (await this.capture({
        audio: { echoCancellation: true, noiseSuppression: true, ...(options.deviceId ? { deviceId: { exact: options.deviceId } } : {}) },
      }));
    return this.publishTrack("microphone", track, undefined, false);
  }

  /**
   * Shares the screen (getDisplayMedia), or `options.track` (e.g. a canvas
   * capture). Unpublished when the user stops sharing.
   */
  async publishScreen(options: { track?: MediaStreamTrack } = {}): Promise<LocalTrack> {
    this.checkPublish("screen");
    let track = options.track;
    if (!track) {
      try {
        const stream = await this.devices.getDisplayMedia({ video: true, audio: false });
        track = stream.getVideoTracks()[0]!;
      } catch (e) {
        throw mediaError(e);
      }
    }
    (track as MediaStreamTrack & { contentHint?: string }).contentHint = "detail";
    const local = await this.publishTrack("screen", track, undefined, false);
    track.addEventListener("ended", () => {
      if (this.localTracks.get("screen") === local) void this.unpublish("screen").catch(() => {});
    });
    return local;
  }

  private async capture(constraints: MediaStreamConstraints): Promise<MediaStreamTrack> {
    try {
      const stream = await this.devices.getUserMedia(constraints);
      return (constraints.video ? stream.getVideoTracks() : stream.getAudioTracks())[0]!;
    } catch (e) {
      throw mediaError(e);
    }
  }

  private async publishTrack(source: Source, track: MediaStreamTrack, stream: MediaStream | undefined, simulcast: boolean): Promise<LocalTrack> {
    if (this.state === "reconnecting") await this.untilConnected();
    const pc = this.pc;
    if (!pc || !this.negotiator) throw new DeepInfluenceError("room_closed");
    const MS = this.options.MediaStream ?? (globalThis as any).MediaStream;
    const s: MediaStream = stream ?? new MS([track]);
    const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [s] };
    let layers: LayerSpec[] = [];
    if (source === "camera" && simulcast) {
      init.sendEncodings = CAMERA_LAYERS.map((l) => ({ ...l }));
      const settings = track.getSettings?.() ?? {};
      const width = settings.width ?? 1280;
      const height = settings.height ?? 720;
      layers = CAMERA_LAYERS.map((l) => ({
        rid: l.rid,
        width: Math.round(width / l.scaleResolutionDownBy),
        height: Math.round(height / l.scaleResolutionDownBy),
      }));
    }
    const transceiver = pc.addTransceiver(track, init);
    if (track.kind === "video" && this.options.videoCodec) preferCodec(transceiver, this.options.videoCodec);
    const local = new LocalTrack(source, track, transceiver, layers, s);
    this.localTracks.set(source, local);
    try {
      await this.negotiator.negotiate();
    } catch (e) {
      if (this.state === "reconnecting" && (e as DeepInfluenceError)?.code === "room_closed") {
        // A new session is being set up; it publishes this track too.
        return this.republished(source);
      }
      this.localTracks.delete(source);
      this.stopTransceiver(transceiver);
      throw e instanceof DeepInfluenceError ? e : new DeepInfluenceError("bad_sdp", String(e));
    }
    return local;
  }

  /** Resolves once reconnected; rejects if the room ends instead. */
  private untilConnected(): Promise<void> {
    return new Promise((resolve, reject) => {
      const offs = [
        this.on("reconnected", () => {
          offs.forEach((f) => f());
          resolve();
        }),
        this.on("disconnected", (_reason, error) => {
          offs.forEach((f) => f());
          reject(error ?? new DeepInfluenceError("room_closed"));
        }),
      ];
    });
  }

  /** The local track of `source` once the session being set up has published it again. */
  private republished(source: Source): Promise<LocalTrack> {
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
        }),
      ];
    });
  }

  private stopTransceiver(t: RTCRtpTransceiver): void {
    try {
      if (typeof t.stop === "function") t.stop();
      else this.pc?.removeTrack(t.sender);
    } catch {
      /* the peer connection is closed */
    }
  }

  private trackSpecs(): TrackSpec[] {
    const specs: TrackSpec[] = [];
    for (const t of this.localTracks.values()) {
      const mid = t.transceiver.mid;
      if (mid !== null && mid !== undefined) specs.push({ mid, source: t.source, layers: t.layers });
    }
    return specs;
  }

  /** Stops publishing a source and stops its capture. */
  async unpublish(source: Source): Promise<void> {
    const local = this.localTracks.get(source);
    if (!local) return;
    this.localTracks.delete(source);
    this.stopTransceiver(local.transceiver);
    local.mediaStreamTrack.stop();
    await this.negotiator?.negotiate();
  }

  /** Mutes one's own track (it keeps its m-line; the others are told). */
  async mute(source: Source, muted = true): Promise<void> {
    const local = this.localTracks.get(source);
    if (!local) throw new DeepInfluenceError("invalid_argument", `${source} is not published.`);
    local.mediaStreamTrack.enabled = !muted;
    local.muted = muted;
    if (local.sid !== null) this.signal?.send({ type: "mute", track: local.sid, muted });
  }

  unmute(source: Source): Promise<void> {
    return this.mute(source, false);
  }

  /** Switches the camera or microphone to another device without renegotiating (replaceTrack). */
  async switchDevice(kind: "videoinput" | "audioinput", deviceId: string): Promise<LocalTrack> {
    const source: Source = kind === "videoinput" ? "camera" : "microphone";
    const local = this.localTracks.get(source);
    if (!local) throw new DeepInfluenceError("invalid_argument", `${source} is not published.`);
    const track = await this.capture(
      kind === "videoinput"
        ? { video: { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } } }
        : { audio: { deviceId: { exact: deviceId } } },
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
  attach(track: RemoteTrack | LocalTrack, element: HTMLMediaElement): () => void {
    this.attached.get(element)?.();
    const stream = track.stream;
    element.autoplay = true;
    (element as HTMLVideoElement).playsInline = true;
    if (track instanceof LocalTrack) element.muted = true;
    element.srcObject = stream;
    const stopObserving =
      track instanceof RemoteTrack && track.kind === "video" && this.adaptive ? this.adaptive.observe(track.sid, element) : () => {};
    const play = element.play?.();
    if (play && typeof play.catch === "function") play.catch(() => {});
    const detach = () => {
      if (this.attached.get(element) !== detach) return;
      this.attached.delete(element);
      stopObserving();
      if (element.srcObject === stream) element.srcObject = null;
    };
    this.attached.set(element, detach);
    return detach;
  }

  detach(element: HTMLMediaElement): void {
    this.attached.get(element)?.();
  }

  /** Sets a remote video track's preference by hand (when not using attach's adaptive stream). */
  setPreference(track: number, want: { width: number; height: number } | "paused"): void {
    this.signal?.send({ type: "subscribe", track, want: want === "paused" ? { type: "paused" } : { type: "size", ...want } });
  }

  // -------------------------------------------------------------- moderation

  private requireHost(): void {
    if (this.role !== "host") throw new DeepInfluenceError("not_host");
  }

  /** Host: mutes (or unmutes) anyone's track. */
  muteParticipantTrack(track: number, muted = true): void {
    this.requireHost();
    if (!this.signal?.send({ type: "mute", track, muted })) throw new DeepInfluenceError("connection_lost");
  }

  /** Host: removes a participant from the room. */
  removeParticipant(identity: string): void {
    this.requireHost();
    if (!this.signal?.send({ type: "remove", participant: identity })) throw new DeepInfluenceError("connection_lost");
  }

  // ------------------------------------------------------------------ ending

  /** Leaves the room for good. */
  async leave(): Promise<void> {
    if (this.state === "disconnected") return;
    this.leaving = true;
    const signal = this.signal;
    if (signal?.send({ type: "leave" })) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
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

  /** Debugging and tests: break the socket as a network failure would. */
  readonly debug = {
    dropSocket: (): void => this.signal?.drop(),
    negotiator: (): Negotiator | null => this.negotiator,
  };

  private finish(reason: DisconnectReason, error?: DeepInfluenceError): void {
    if (this.state === "disconnected") return;
    this.state = "disconnected";
    this.teardown();
    this.emit("disconnected", reason, error ?? (reason === "error" ? this.fatalError : undefined));
  }

  private closePeer(): void {
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
        /* closed */
      }
    }
    this.channels.clear();
    try {
      this.pc?.close();
    } catch {
      /* closed */
    }
    this.pc = null;
  }

  private teardown(): void {
    this.negotiator?.close();
    const signal = this.signal;
    this.signal = null;
    signal?.close();
    this.closePeer();
    this.adaptive?.close();
    for (const d of [...this.attached.values()]) d();
    for (const t of this.localTracks.values()) t.mediaStreamTrack.stop();
  }
}
