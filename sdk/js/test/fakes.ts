// Fakes of the browser objects the SDK drives: a WebSocket the test plays
// the server on, and a peer connection with the signalling state machine of
// RTCPeerConnection (offers, answers, rollback, mids, data channels).
import type { ServerMessage } from "../src/wire";

export class FakeSocket {
  static instances: FakeSocket[] = [];
  /** What the next sockets do: open, or fail like an unreachable server. */
  static behaviour: "open" | "fail" | "manual" = "open";
  readyState = 0;
  sent: any[] = [];
  onopen: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  closed = false;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
    const behaviour = FakeSocket.behaviour;
    queueMicrotask(() => {
      if (behaviour === "open") this.open();
      else if (behaviour === "fail") this.fail();
    });
  }
  static reset(): void {
    FakeSocket.instances = [];
    FakeSocket.behaviour = "open";
  }
  static last(): FakeSocket {
    return FakeSocket.instances[FakeSocket.instances.length - 1]!;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  fail(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: "" });
  }
  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    this.onclose?.({ code: 1000, reason: "" });
  }
  /** The server sends a message. */
  deliver(message: ServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  /** The network drops the socket. */
  drop(): void {
    this.closed = true;
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
  types(): string[] {
    return this.sent.map((m) => m.type);
  }
  ofType(type: string): any[] {
    return this.sent.filter((m) => m.type === type);
  }
}

export class FakeTrack {
  enabled = true;
  stopped = false;
  id = Math.random().toString(36).slice(2);
  private listeners: Record<string, Array<() => void>> = {};
  constructor(
    readonly kind: "audio" | "video",
    private readonly settings: { width?: number; height?: number } = {},
  ) {}
  getSettings() {
    return this.settings;
  }
  stop() {
    this.stopped = true;
  }
  addEventListener(t: string, l: () => void) {
    (this.listeners[t] ??= []).push(l);
  }
  dispatch(t: string) {
    for (const l of this.listeners[t] ?? []) l();
  }
}

export class FakeStream {
  id = Math.random().toString(36).slice(2);
  constructor(public tracks: any[] = []) {}
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === "video");
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === "audio");
  }
  addTrack(t: any) {
    this.tracks.push(t);
  }
  removeTrack(t: any) {
    this.tracks = this.tracks.filter((x) => x !== t);
  }
}

export class FakeSender {
  params: { encodings: Array<{ rid?: string; active?: boolean; scaleResolutionDownBy?: number }> };
  setCalls = 0;
  constructor(
    public track: any,
    encodings?: Array<{ rid?: string; scaleResolutionDownBy?: number }>,
  ) {
    this.params = { encodings: (encodings ?? [{}]).map((e) => ({ ...e, active: true })) };
  }
  getParameters() {
    return JSON.parse(JSON.stringify(this.params));
  }
  async setParameters(p: any) {
    this.setCalls++;
    this.params = p;
  }
  async replaceTrack(t: any) {
    this.track = t;
  }
}

export class FakeTransceiver {
  mid: string | null = null;
  stopped = false;
  receiver = { track: new FakeTrack("video") as any };
  constructor(
    public direction: string,
    public sender: FakeSender,
    public kind: "audio" | "video",
  ) {}
  stop() {
    this.stopped = true;
    this.direction = "stopped";
  }
}

export class FakeChannel {
  readyState = "connecting";
  binaryType = "blob";
  sent: string[] = [];
  private listeners: Record<string, Array<(ev: any) => void>> = {};
  constructor(readonly label: string) {}
  addEventListener(t: string, l: (ev: any) => void) {
    (this.listeners[t] ??= []).push(l);
  }
  send(d: string) {
    if (this.readyState !== "open") throw new Error("channel not open");
    this.sent.push(d);
  }
  close() {
    this.readyState = "closed";
  }
  open() {
    this.readyState = "open";
    for (const l of this.listeners.open ?? []) l({});
  }
  receive(data: string | ArrayBuffer) {
    for (const l of this.listeners.message ?? []) l({ data });
  }
}

let nextMid = 0;

export class FakePeer {
  static instances: FakePeer[] = [];
  signalingState: RTCSignalingState = "stable";
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  remoteDescription: { type: RTCSdpType; sdp: string } | null = null;
  connectionState = "new";
  transceivers: FakeTransceiver[] = [];
  /** Every SDP call, in order, e.g. "createOffer", "setLocal:offer", "setLocal:rollback". */
  log: string[] = [];
  offerOptions: Array<RTCOfferOptions | undefined> = [];
  ontrack: ((ev: any) => void) | null = null;
  ondatachannel: ((ev: { channel: FakeChannel }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  closed = false;
  private offers = 0;
  /** Make the next setRemoteDescription(answer) fail. */
  failNextAnswer = false;
  /** Make the next setRemoteDescription(offer) fail. */
  failNextOffer = false;

  constructor(readonly config?: RTCConfiguration) {
    FakePeer.instances.push(this);
  }
  static reset(): void {
    FakePeer.instances = [];
    nextMid = 0;
  }
  static last(): FakePeer {
    return FakePeer.instances[FakePeer.instances.length - 1]!;
  }
  async createOffer(options?: RTCOfferOptions) {
    this.log.push("createOffer");
    this.offerOptions.push(options);
    return { type: "offer" as const, sdp: `client-offer-${++this.offers}${options?.iceRestart ? "-icerestart" : ""}` };
  }
  async createAnswer() {
    this.log.push("createAnswer");
    if (this.signalingState !== "have-remote-offer") throw new Error("createAnswer in " + this.signalingState);
    return { type: "answer" as const, sdp: `client-answer-to-${this.remoteDescription!.sdp.slice(0, 24)}` };
  }
  async setLocalDescription(d: RTCSessionDescriptionInit) {
    await Promise.resolve();
    this.log.push(`setLocal:${d.type}`);
    if (d.type === "rollback") {
      if (this.signalingState !== "have-local-offer") throw new Error("rollback in " + this.signalingState);
      this.signalingState = "stable";
      this.localDescription = null;
      for (const t of this.transceivers) if (t.mid?.startsWith("c")) t.mid = null;
      return;
    }
    if (d.type === "offer") {
      if (this.signalingState !== "stable") throw new Error("offer in " + this.signalingState);
      for (const t of this.transceivers) if (t.mid === null && !t.stopped) t.mid = `c${nextMid++}`;
      this.signalingState = "have-local-offer";
    } else if (d.type === "answer") {
      if (this.signalingState !== "have-remote-offer") throw new Error("answer in " + this.signalingState);
      this.signalingState = "stable";
    }
    this.localDescription = { type: d.type!, sdp: d.sdp! };
  }
  async setRemoteDescription(d: RTCSessionDescriptionInit) {
    await Promise.resolve();
    this.log.push(`setRemote:${d.type}`);
    if (d.type === "offer") {
      if (this.signalingState !== "stable") throw new Error("remote offer in " + this.signalingState);
      if (this.failNextOffer) {
        this.failNextOffer = false;
        throw new Error("RTP extension ID reassignment not supported");
      }
      this.signalingState = "have-remote-offer";
      this.remoteDescription = { type: "offer", sdp: d.sdp! };
      // Receivers for the m-lines the server sends on.
      for (const m of d.sdp!.matchAll(/a=mid:(\S+)/g)) {
        const mid = m[1]!;
        if (!this.transceivers.some((t) => t.mid === mid)) {
          const t = new FakeTransceiver("recvonly", new FakeSender(null), "video");
          t.mid = mid;
          this.transceivers.push(t);
          this.ontrack?.({ transceiver: t, track: t.receiver.track, streams: [] });
        }
      }
    } else if (d.type === "answer") {
      if (this.signalingState !== "have-local-offer") throw new Error("remote answer in " + this.signalingState);
      if (this.failNextAnswer) {
        this.failNextAnswer = false;
        throw new Error("bad answer");
      }
      this.signalingState = "stable";
      this.remoteDescription = { type: "answer", sdp: d.sdp! };
    }
  }
  addTransceiver(track: any, init: { direction: string; sendEncodings?: any[] }) {
    const t = new FakeTransceiver(init.direction, new FakeSender(track, init.sendEncodings), track.kind);
    this.transceivers.push(t);
    return t;
  }
  getTransceivers() {
    return this.transceivers;
  }
  removeTrack() {}
  close() {
    this.closed = true;
  }
  /** The SFU's data channels arrive. */
  announceChannels(): Record<string, FakeChannel> {
    const out: Record<string, FakeChannel> = {};
    for (const label of ["whiteboard", "chat", "lossy"]) {
      const ch = new FakeChannel(label);
      out[label] = ch;
      this.ondatachannel?.({ channel: ch });
    }
    return out;
  }
}

/** A JWT with the given payload (the signature is not checked client-side). */
export function token(payload: Record<string, unknown>): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64url");
  return `${b64(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64(JSON.stringify(payload))}.c2ln`;
}

/** An SFU offer sending the given tracks, one m-line each (`a=msid:<owner> t<N>`). */
export function sfuOffer(tracks: Array<{ mid: string; owner: string; track: number; kind?: string; stopped?: boolean }>, tag = "o"): string {
  const lines = ["v=0", `o=- ${tag} 1 IN IP4 127.0.0.1`, "s=-", "t=0 0"];
  lines.push("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:0");
  for (const t of tracks) {
    lines.push(`m=${t.kind ?? "video"} ${t.stopped ? 0 : 9} UDP/TLS/RTP/SAVPF 96`, `a=mid:${t.mid}`, "a=sendonly", `a=msid:${t.owner} t${t.track}`);
  }
  return lines.join("\r\n") + "\r\n";
}

export const flush = async (n = 20) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};
