import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Room, type ConnectOptions } from "../src/room";
import { DeepInfluenceError } from "../src/errors";
import type { Welcome } from "../src/wire";
import { FakePeer, FakeSocket, FakeStream, FakeTrack, flush, sfuOffer, token } from "./fakes";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

const TOKEN = token({ sub: "alice", room: "room-1", role: "host", publish: ["camera", "microphone", "screen"], exp: 4102444800 });

function welcome(over: Partial<Welcome> = {}): Welcome {
  return {
    session: "s-1",
    room: "room-1",
    participant: "alice",
    role: "host",
    may_publish: ["camera", "microphone", "screen"],
    call: null,
    participants: [
      { participant: "alice", role: "host" },
      { participant: "bob", role: "participant" },
    ],
    tracks: [{ track: 4, owner: "bob", source: "camera", muted: false }],
    ice_servers: [{ urls: ["stun:stun.example.org"] }],
    sdp: { type: "offer", sdp: sfuOffer([{ mid: "1", owner: "bob", track: 4 }]) },
    resumed: false,
    resume_grace_ms: 20000,
    ...over,
  };
}

let gumCalls: MediaStreamConstraints[] = [];
let gumFailure: unknown = null;

function options(over: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    WebSocket: FakeSocket as any,
    RTCPeerConnection: FakePeer as any,
    MediaStream: FakeStream as any,
    adaptiveEnvironment: {},
    adaptiveDebounceMs: 50,
    mediaDevices: {
      async getUserMedia(c: MediaStreamConstraints) {
        gumCalls.push(c);
        if (gumFailure) throw gumFailure;
        return new FakeStream([new FakeTrack(c.video ? "video" : "audio", { width: 1280, height: 720 })]) as any;
      },
      async getDisplayMedia() {
        return new FakeStream([new FakeTrack("video", { width: 1920, height: 1080 })]) as any;
      },
    },
    ...over,
  };
}

async function connect(w: Welcome = welcome(), over: Partial<ConnectOptions> = {}) {
  const p = Room.connect("ws://sfu.test/v1/signal", TOKEN, options(over));
  await flush();
  const socket = FakeSocket.last();
  socket.deliver({ type: "welcome", ...w });
  const room = await p;
  await room.debug.negotiator()!.idle();
  return { room, socket, pc: FakePeer.last() };
}

/** Records a room's events as [name, ...args]. */
function record(room: Room) {
  const events: any[] = [];
  for (const name of [
    "participantJoined",
    "participantLeft",
    "trackPublished",
    "trackUnpublished",
    "trackSubscribed",
    "trackUnsubscribed",
    "muteChanged",
    "activeSpeakers",
    "callStatus",
    "reconnecting",
    "reconnected",
    "disconnected",
    "error",
    "chat",
  ] as const) {
    room.on(name, ((...args: any[]) => events.push([name, ...args])) as any);
  }
  return events;
}

beforeEach(() => {
  FakeSocket.reset();
  FakePeer.reset();
  gumCalls = [];
  gumFailure = null;
});
afterEach(() => vi.useRealTimers());

describe("joining", () => {
  it("joins the token's room, answers the SFU's offer and binds the announced tracks", async () => {
    const { room, socket, pc } = await connect();
    expect(socket.url).toBe("ws://sfu.test/v1/signal");
    expect(socket.sent[0]).toEqual({ type: "join", room: "room-1", token: TOKEN, tracks: [] });
    expect(socket.sent[1]).toMatchObject({ type: "answer" });
    expect(pc.config?.iceServers).toEqual([{ urls: ["stun:stun.example.org"] }]);
    expect(room.identity).toBe("alice");
    expect(room.role).toBe("host");
    expect([...room.participants.keys()]).toEqual(["bob"]);
    const t = room.remoteTracks.get(4)!;
    expect(t.owner).toBe("bob");
    expect(t.subscribed).toBe(true);
    expect(t.mid).toBe("1");
    expect(room.participants.get("bob")!.tracks.has(4)).toBe(true);
  });

  it("options.room overrides the token's room", async () => {
    const p = Room.connect("ws://x", TOKEN, options({ room: "other" }));
    await flush();
    expect(FakeSocket.last().sent[0].room).toBe("other");
    FakeSocket.last().deliver({ type: "error", code: "token_wrong_room", message: "the token is for another room", fatal: true });
    FakeSocket.last().deliver({ type: "closed", reason: "error" });
    await expect(p).rejects.toMatchObject({ code: "token_wrong_room", fatal: true });
  });

  it.each(["token_expired", "token_invalid", "room_full"] as const)("a refused join rejects with %s", async (code) => {
    const p = Room.connect("ws://x", TOKEN, options());
    await flush();
    FakeSocket.last().deliver({ type: "error", code, message: "no", fatal: true });
    const e = await p.catch((e) => e);
    expect(e).toBeInstanceOf(DeepInfluenceError);
    expect(e.code).toBe(code);
    expect(FakeSocket.last().closed).toBe(true);
  });

  it("an unreachable server rejects with server_unreachable", async () => {
    FakeSocket.behaviour = "fail";
    const e = await Room.connect("ws://nowhere", TOKEN, options()).catch((e) => e);
    expect(e).toBeInstanceOf(DeepInfluenceError);
    expect(e.code).toBe("server_unreachable");
  });

  it("a socket that never opens times out as server_unreachable", async () => {
    vi.useFakeTimers();
    FakeSocket.behaviour = "manual";
    const p = Room.connect("ws://slow", TOKEN, options({ connectTimeoutMs: 1000 })).catch((e) => e);
    await vi.advanceTimersByTimeAsync(1001);
    expect((await p).code).toBe("server_unreachable");
  });

  it("a token that is not a JWT is refused before any socket opens", async () => {
    await expect(Room.connect("ws://x", "garbage", options())).rejects.toMatchObject({ code: "token_invalid" });
    expect(FakeSocket.instances).toHaveLength(0);
  });
});

describe("room events", () => {
  it("follows participants and tracks, binding media by msid after a renegotiation", async () => {
    const { room, socket, pc } = await connect();
    const events = record(room);
    socket.deliver({ type: "participant_joined", participant: { participant: "carol", role: "viewer" } });
    socket.deliver({ type: "track_published", track: { track: 7, owner: "carol", source: "screen", muted: false } });
    expect(room.remoteTracks.get(7)!.subscribed).toBe(false);
    socket.deliver({
      type: "offer",
      sdp: sfuOffer(
        [
          { mid: "1", owner: "bob", track: 4 },
          { mid: "2", owner: "carol", track: 7 },
        ],
        "o2",
      ),
    });
    await room.debug.negotiator()!.idle();
    await flush();
    expect(socket.sent.at(-1)).toMatchObject({ type: "answer" });
    const carolScreen = room.remoteTracks.get(7)!;
    expect(carolScreen.subscribed).toBe(true);
    expect(carolScreen.source).toBe("screen");
    expect(carolScreen.mediaStreamTrack).toBe(pc.transceivers.find((t) => t.mid === "2")!.receiver.track);
    socket.deliver({ type: "track_muted", track: 7, muted: true, by_host: false });
    socket.deliver({ type: "speakers", participants: ["carol", "bob"] });
    socket.deliver({ type: "track_unpublished", track: 7 });
    socket.deliver({ type: "participant_left", participant: "carol", reason: "removed_by_host" });
    const names = events.map((e) => e[0]);
    expect(names).toEqual([
      "participantJoined",
      "trackPublished",
      "trackSubscribed",
      "muteChanged",
      "activeSpeakers",
      "trackUnsubscribed",
      "trackUnpublished",
      "participantLeft",
    ]);
    expect(events[3][1]).toEqual({ track: 7, participant: "carol", source: "screen", muted: true, byHost: false, local: false });
    expect(events[4][1]).toEqual(["carol", "bob"]);
    expect(events[7][2]).toBe("removed_by_host");
    expect(room.participants.has("carol")).toBe(false);
  });

  it("a recycled m-line unsubscribes the old track and subscribes the new one", async () => {
    const { room, socket } = await connect();
    const events = record(room);
    socket.deliver({ type: "track_published", track: { track: 9, owner: "bob", source: "screen", muted: false } });
    socket.deliver({ type: "offer", sdp: sfuOffer([{ mid: "1", owner: "bob", track: 9 }], "o3") });
    await room.debug.negotiator()!.idle();
    await flush();
    expect(events.filter((e) => e[0] === "trackUnsubscribed").map((e) => e[1].sid)).toEqual([4]);
    expect(events.filter((e) => e[0] === "trackSubscribed").map((e) => e[1].sid)).toEqual([9]);
  });

  it("call status, and a closed message ends the room with its reason", async () => {
    const { room, socket } = await connect();
    const events = record(room);
    socket.deliver({ type: "call_status", call: "c1", billed_seconds: 61, coins_used: 10, balance: 90, minutes_left: 3 });
    expect(room.callStatus).toEqual({ call: "c1", billed_seconds: 61, coins_used: 10, balance: 90, minutes_left: 3 });
    socket.deliver({ type: "closed", reason: "removed_by_host" });
    socket.close();
    expect(room.state).toBe("disconnected");
    expect(events.at(-1)).toEqual(["disconnected", "removed_by_host", undefined]);
    // No reconnect after a closed message.
    await flush();
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("a fatal error is reported with the disconnect", async () => {
    const { room, socket } = await connect();
    const events = record(room);
    socket.deliver({ type: "error", code: "unavailable", message: "shutting down", fatal: true });
    socket.deliver({ type: "closed", reason: "error" });
    socket.close();
    const d = events.find((e) => e[0] === "disconnected")!;
    expect(d[1]).toBe("error");
    expect(d[2]).toMatchObject({ code: "unavailable" });
  });
});

describe("publishing", () => {
  it("publishes the camera with three simulcast encodings and declares its layers by mid", async () => {
    const { room, socket, pc } = await connect();
    const p = room.publishCamera();
    await flush(40);
    const offer = socket.ofType("offer")[0];
    const tr = pc.transceivers.find((t) => t.direction === "sendonly")!;
    expect(tr.sender.params.encodings.map((e) => [e.rid, e.scaleResolutionDownBy])).toEqual([
      ["q", 4],
      ["h", 2],
      ["f", 1],
    ]);
    expect(offer.tracks).toEqual([
      {
        mid: tr.mid,
        source: "camera",
        layers: [
          { rid: "q", width: 320, height: 180 },
          { rid: "h", width: 640, height: 360 },
          { rid: "f", width: 1280, height: 720 },
        ],
      },
    ]);
    socket.deliver({ type: "answer", sdp: "sfu-answer" });
    const local = await p;
    socket.deliver({ type: "track_published", track: { track: 11, owner: "alice", source: "camera", muted: false } });
    expect(local.sid).toBe(11);
    // Dynacast: only q watched.
    socket.deliver({ type: "layers", track: 11, rids: ["q"] });
    await flush();
    expect(tr.sender.params.encodings.map((e) => e.active)).toEqual([true, false, false]);
    // Layers below the largest watched stay on (the SFU may step down to them).
    socket.deliver({ type: "layers", track: 11, rids: ["h"] });
    await flush();
    expect(tr.sender.params.encodings.map((e) => e.active)).toEqual([true, true, false]);
    socket.deliver({ type: "layers", track: 11, rids: ["q", "f"] });
    await flush();
    expect(tr.sender.params.encodings.map((e) => e.active)).toEqual([true, true, true]);
    // Nobody watches: nothing is sent.
    socket.deliver({ type: "layers", track: 11, rids: [] });
    await flush();
    expect(tr.sender.params.encodings.map((e) => e.active)).toEqual([false, false, false]);
    socket.deliver({ type: "layers", track: 11, rids: ["q", "h", "f"] });
    await flush();
    expect(tr.sender.params.encodings.map((e) => e.active)).toEqual([true, true, true]);
    // Mute tells the server and disables the track.
    await room.mute("camera");
    expect(socket.sent.at(-1)).toEqual({ type: "mute", track: 11, muted: true });
    expect(local.mediaStreamTrack.enabled).toBe(false);
  });

  it("the microphone and the screen go out without simulcast; all sending m-lines are declared", async () => {
    const { room, socket } = await connect();
    const mic = room.publishMicrophone();
    await flush(40);
    socket.deliver({ type: "answer", sdp: "a1" });
    await mic;
    const screen = room.publishScreen();
    await flush(40);
    const offers = socket.ofType("offer");
    expect(offers[1].tracks.map((t: any) => [t.source, t.layers])).toEqual([
      ["microphone", []],
      ["screen", []],
    ]);
    socket.deliver({ type: "answer", sdp: "a2" });
    await screen;
  });

  it("camera permission refused: permission_denied, nothing negotiated", async () => {
    const { room, socket } = await connect();
    gumFailure = Object.assign(new Error("Permission denied"), { name: "NotAllowedError" });
    const e = await room.publishCamera().catch((e) => e);
    expect(e).toBeInstanceOf(DeepInfluenceError);
    expect(e.code).toBe("permission_denied");
    expect(socket.ofType("offer")).toHaveLength(0);
    expect(room.localTracks.size).toBe(0);
  });

  it("a source the token does not allow is refused locally; one the server refuses is undone", async () => {
    const { room, socket, pc } = await connect(welcome({ may_publish: ["camera"] }));
    await expect(room.publishScreen()).rejects.toMatchObject({ code: "publish_denied" });
    expect(socket.ofType("offer")).toHaveLength(0);
    const p = room.publishCamera();
    await flush(40);
    socket.deliver({ type: "error", code: "publish_denied", message: "not allowed to publish Camera", fatal: false });
    await expect(p).rejects.toMatchObject({ code: "publish_denied" });
    expect(room.localTracks.size).toBe(0);
    expect(pc.transceivers.find((t) => t.direction === "stopped")).toBeTruthy();
    expect(pc.signalingState).toBe("stable");
  });

  it("glare while publishing: the server's offer is answered first, then the camera is offered again", async () => {
    const { room, socket, pc } = await connect();
    const p = room.publishCamera({ simulcast: false });
    await flush(40);
    expect(socket.types().slice(-1)).toEqual(["offer"]);
    socket.deliver({ type: "offer", sdp: sfuOffer([{ mid: "1", owner: "bob", track: 4 }], "glare") });
    socket.deliver({ type: "error", code: "offer_pending", message: "answer first", fatal: false });
    await flush(60);
    expect(socket.types().slice(-3)).toEqual(["offer", "answer", "offer"]);
    expect(pc.log).toContain("setLocal:rollback");
    socket.deliver({ type: "answer", sdp: "ok" });
    const local = await p;
    expect(local.source).toBe("camera");
    const offers = socket.ofType("offer");
    expect(offers[1].tracks[0].mid).toBe(local.transceiver.mid);
  });

  it("switchDevice replaces the sender's track without renegotiating", async () => {
    const { room, socket } = await connect();
    const p = room.publishCamera();
    await flush(40);
    socket.deliver({ type: "answer", sdp: "a" });
    const local = await p;
    const old = local.mediaStreamTrack as unknown as FakeTrack;
    const offers = socket.ofType("offer").length;
    await room.switchDevice("videoinput", "cam-2");
    expect(gumCalls.at(-1)).toMatchObject({ video: { deviceId: { exact: "cam-2" } } });
    expect(old.stopped).toBe(true);
    expect((local.transceiver.sender as any).track).toBe(local.mediaStreamTrack);
    expect(socket.ofType("offer")).toHaveLength(offers);
  });
});

describe("host moderation", () => {
  it("sends mute and remove as the host", async () => {
    const { room, socket } = await connect();
    room.muteParticipantTrack(4);
    room.removeParticipant("bob");
    expect(socket.sent.slice(-2)).toEqual([
      { type: "mute", track: 4, muted: true },
      { type: "remove", participant: "bob" },
    ]);
  });

  it("refuses them locally for a participant", async () => {
    const { room } = await connect(welcome({ role: "participant" }));
    expect(() => room.removeParticipant("bob")).toThrowError(expect.objectContaining({ code: "not_host" }));
  });

  it("a host mute of one's own track disables it", async () => {
    const { room, socket } = await connect(welcome({ role: "participant" }));
    const p = room.publishMicrophone();
    await flush(40);
    socket.deliver({ type: "answer", sdp: "a" });
    const mic = await p;
    socket.deliver({ type: "track_published", track: { track: 12, owner: "alice", source: "microphone", muted: false } });
    const events = record(room);
    socket.deliver({ type: "track_muted", track: 12, muted: true, by_host: true });
    expect(mic.mediaStreamTrack.enabled).toBe(false);
    expect(events[0][1]).toMatchObject({ local: true, byHost: true, muted: true });
  });
});

describe("data channels", () => {
  it("whiteboard strokes carry the sender; the replay fills the board; clear empties it", async () => {
    const { room, pc } = await connect();
    const ch = pc.announceChannels();
    const mine = room.whiteboard.draw({ points: [[0.1, 0.1], [0.2, 0.3]], color: "#f00", width: 0.01 });
    expect(ch.whiteboard!.sent).toEqual([]); // queued until open
    ch.whiteboard!.open();
    expect(JSON.parse(ch.whiteboard!.sent[0]!)).toEqual({ from: "alice", kind: "stroke", body: mine });
    const got: any[] = [];
    room.whiteboard.on("stroke", (s) => got.push(s));
    const bobs = { id: "b1", points: [[0.5, 0.5]], color: "#00f" };
    ch.whiteboard!.receive(JSON.stringify({ from: "bob", kind: "stroke", body: bobs }));
    // The same stroke replayed again (a fresh join) is not doubled.
    ch.whiteboard!.receive(new TextEncoder().encode(JSON.stringify({ from: "bob", kind: "stroke", body: bobs })).buffer);
    expect(got).toEqual([{ ...bobs, from: "bob" }]);
    expect(room.whiteboard.strokes.map((s) => s.from)).toEqual(["alice", "bob"]);
    ch.whiteboard!.receive("clear");
    expect(room.whiteboard.strokes).toEqual([]);
    room.whiteboard.clear();
    expect(ch.whiteboard!.sent.at(-1)).toBe("clear");
  });

  it("chat messages are wrapped with the sender and surface as chat events", async () => {
    const { room, pc } = await connect();
    const ch = pc.announceChannels();
    ch.chat!.open();
    ch.lossy!.open();
    room.sendChat("hello");
    expect(JSON.parse(ch.chat!.sent[0]!)).toMatchObject({ from: "alice", kind: "chat", body: { text: "hello" } });
    room.sendData({ x: 1 }, { reliable: false });
    expect(JSON.parse(ch.lossy!.sent[0]!)).toEqual({ from: "alice", kind: "data", body: { x: 1 } });
    const events = record(room);
    ch.chat!.receive(JSON.stringify({ from: "bob", kind: "chat", body: { text: "hi", at: 5 } }));
    expect(events).toEqual([["chat", { from: "bob", text: "hi", at: 5 }]]);
  });
});

describe("reconnect", () => {
  it("resumes the session on a new socket with an ICE restart, keeping participants and tracks", async () => {
    const { room, socket, pc } = await connect();
    const p = room.publishCamera();
    await flush(40);
    socket.deliver({ type: "answer", sdp: "a" });
    const cam = await p;
    const events = record(room);
    socket.drop();
    expect(events.map((e) => e[0])).toEqual(["reconnecting"]);
    expect(room.state).toBe("reconnecting");
    await tick();
    const s2 = FakeSocket.last();
    expect(s2).not.toBe(socket);
    expect(s2.sent[0]).toEqual({ type: "join", room: "room-1", token: TOKEN, tracks: [], resume: "s-1" });
    s2.deliver({ type: "welcome", ...welcome({ sdp: null, resumed: true }) });
    await flush(60);
    const offer = s2.ofType("offer")[0];
    expect(offer.sdp).toMatch(/icerestart/);
    expect(offer.tracks).toEqual([{ mid: cam.transceiver.mid, source: "camera", layers: cam.layers }]);
    s2.deliver({ type: "answer", sdp: "restarted" });
    await flush(40);
    expect(events.map((e) => e[0])).toEqual(["reconnecting", "reconnected"]);
    expect(events[1][1]).toEqual({ resumed: true });
    expect(FakePeer.instances).toHaveLength(1); // same peer connection
    expect(pc.closed).toBe(false);
    expect(room.participants.has("bob")).toBe(true);
    expect(room.remoteTracks.get(4)!.subscribed).toBe(true);
    expect(room.state).toBe("connected");
  });

  it("retries while the server is unreachable, within the grace period", async () => {
    vi.useFakeTimers();
    const { room, socket } = await connect();
    const events = record(room);
    FakeSocket.behaviour = "fail";
    socket.drop();
    await vi.advanceTimersByTimeAsync(1500);
    const failed = FakeSocket.instances.length;
    expect(failed).toBeGreaterThan(2);
    FakeSocket.behaviour = "open";
    await vi.advanceTimersByTimeAsync(3000);
    const s = FakeSocket.last();
    expect(s.sent[0].resume).toBe("s-1");
    s.deliver({ type: "welcome", ...welcome({ sdp: null, resumed: true }) });
    await vi.advanceTimersByTimeAsync(10);
    s.deliver({ type: "answer", sdp: "x" });
    await vi.advanceTimersByTimeAsync(10);
    expect(events.map((e) => e[0])).toEqual(["reconnecting", "reconnected"]);
  });

  it("resume_refused: joins afresh with a new peer connection and publishes again", async () => {
    const { room, socket } = await connect();
    const p = room.publishMicrophone();
    await flush(40);
    socket.deliver({ type: "answer", sdp: "a" });
    await p;
    const events = record(room);
    socket.drop();
    await tick();
    const s2 = FakeSocket.last();
    expect(s2.sent[0].resume).toBe("s-1");
    s2.deliver({ type: "error", code: "resume_refused", message: "no", fatal: true });
    await new Promise((r) => setTimeout(r, 400));
    const s3 = FakeSocket.last();
    expect(s3).not.toBe(s2);
    expect(s3.sent[0]).toEqual({ type: "join", room: "room-1", token: TOKEN, tracks: [] });
    s3.deliver({ type: "welcome", ...welcome({ session: "s-2" }) });
    await flush(80);
    expect(FakePeer.instances).toHaveLength(2);
    expect(FakePeer.instances[0]!.closed).toBe(true);
    expect(s3.types()).toEqual(["join", "answer", "offer"]);
    expect(s3.ofType("offer")[0].tracks.map((t: any) => t.source)).toEqual(["microphone"]);
    s3.deliver({ type: "answer", sdp: "b" });
    await flush(40);
    expect(room.session).toBe("s-2");
    expect(events.map((e) => e[0])).toEqual(["reconnecting", "trackUnsubscribed", "trackSubscribed", "reconnected"]);
    expect(events.at(-1)[1]).toEqual({ resumed: false });
  });

  it("a server offer that cannot be applied: leaves and joins afresh, publishing again", async () => {
    const { room, socket, pc } = await connect();
    const p = room.publishCamera();
    await flush(40);
    socket.deliver({ type: "answer", sdp: "a" });
    await p;
    const events = record(room);
    pc.failNextOffer = true;
    socket.deliver({ type: "offer", sdp: sfuOffer([{ mid: "1", owner: "bob", track: 4 }], "bad") });
    await flush(40);
    expect(socket.sent.at(-1)).toEqual({ type: "leave" });
    expect(socket.closed).toBe(true);
    await tick(400);
    const s2 = FakeSocket.last();
    expect(s2).not.toBe(socket);
    expect(s2.sent[0]).toEqual({ type: "join", room: "room-1", token: TOKEN, tracks: [] });
    s2.deliver({ type: "welcome", ...welcome({ session: "s-2" }) });
    await flush(80);
    expect(FakePeer.instances).toHaveLength(2);
    expect(pc.closed).toBe(true);
    const offer = s2.ofType("offer")[0];
    expect(offer.tracks.map((t: any) => [t.source, t.layers.length])).toEqual([["camera", 3]]);
    s2.deliver({ type: "answer", sdp: "b" });
    await flush(40);
    const names = events.map((e) => e[0]);
    expect(names[0]).toBe("error");
    expect(events[0][1].code).toBe("bad_sdp");
    expect(names).toContain("reconnecting");
    expect(names.at(-1)).toBe("reconnected");
    expect(events.at(-1)[1]).toEqual({ resumed: false });
    expect(room.state).toBe("connected");
    expect(room.session).toBe("s-2");
  });

  it("a publication caught in a session restart completes in the new session", async () => {
    const { room, socket, pc } = await connect();
    const screen = room.publishScreen();
    await flush(40);
    expect(socket.ofType("offer")).toHaveLength(1);
    pc.failNextOffer = true;
    socket.deliver({ type: "offer", sdp: sfuOffer([{ mid: "1", owner: "bob", track: 4 }], "bad") });
    await tick(400);
    const s2 = FakeSocket.last();
    s2.deliver({ type: "welcome", ...welcome({ session: "s-2" }) });
    await flush(80);
    expect(s2.ofType("offer")[0].tracks.map((t: any) => t.source)).toEqual(["screen"]);
    s2.deliver({ type: "answer", sdp: "b" });
    const local = await screen;
    expect(local.source).toBe("screen");
    expect(local.transceiver).toBe(FakePeer.last().transceivers.find((t) => t.direction === "sendonly"));
  });

  it("publishing while reconnecting waits for the new session", async () => {
    const { room, socket } = await connect();
    socket.drop();
    expect(room.state).toBe("reconnecting");
    const mic = room.publishMicrophone();
    await tick();
    const s2 = FakeSocket.last();
    expect(s2.ofType("offer")).toHaveLength(0);
    s2.deliver({ type: "welcome", ...welcome({ sdp: null, resumed: true }) });
    await flush(60);
    // The ICE restart goes first; the microphone follows once it is answered.
    expect(s2.ofType("offer")).toHaveLength(1);
    s2.deliver({ type: "answer", sdp: "restart" });
    await flush(60);
    const offers = s2.ofType("offer");
    expect(offers).toHaveLength(2);
    expect(offers[1].tracks.map((t: any) => t.source)).toEqual(["microphone"]);
    s2.deliver({ type: "answer", sdp: "mic" });
    expect((await mic).source).toBe("microphone");
  });

  it("autoReconnect false: a dropped socket disconnects with connection_lost", async () => {
    const { room, socket } = await connect(welcome(), { autoReconnect: false });
    const events = record(room);
    socket.drop();
    const d = events.find((e) => e[0] === "disconnected")!;
    expect(d[1]).toBe("connection_lost");
    expect(d[2]).toMatchObject({ code: "connection_lost" });
    await tick();
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("leave sends leave and ends without reconnecting", async () => {
    const { room, socket, pc } = await connect();
    const events = record(room);
    const left = room.leave();
    expect(socket.sent.at(-1)).toEqual({ type: "leave" });
    socket.deliver({ type: "closed", reason: "left" });
    socket.close();
    await left;
    expect(events.filter((e) => e[0] !== "trackUnsubscribed")).toEqual([["disconnected", "left", undefined]]);
    expect(events.filter((e) => e[0] === "trackUnsubscribed").map((e) => e[1].sid)).toEqual([4]);
    expect(pc.closed).toBe(true);
    expect(FakeSocket.instances).toHaveLength(1);
  });
});

describe("keep-alive", () => {
  it("pings every interval and drops a silent socket", async () => {
    vi.useFakeTimers();
    const p = Room.connect("ws://x", TOKEN, options({ pingIntervalMs: 10000, autoReconnect: false }));
    await vi.advanceTimersByTimeAsync(0);
    const s = FakeSocket.last();
    s.deliver({ type: "welcome", ...welcome() });
    const room = await p;
    const events = record(room);
    await vi.advanceTimersByTimeAsync(10000);
    expect(s.ofType("ping")).toEqual([{ type: "ping", id: 1 }]);
    s.deliver({ type: "pong", id: 1 });
    await vi.advanceTimersByTimeAsync(20000);
    expect(s.ofType("ping")).toHaveLength(3);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(10000);
    expect(events.find((e) => e[0] === "disconnected")?.slice(0, 2)).toEqual(["disconnected", "connection_lost"]);
  });
});

describe("codec preference", () => {
  it("videoCodec h264 offers only H.264 (packetization mode 1, 42e01f first) on video transceivers", async () => {
    const codecs = [
      { mimeType: "video/VP8", clockRate: 90000 },
      { mimeType: "video/rtx", clockRate: 90000 },
      { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "packetization-mode=0;profile-level-id=42e01f" },
      { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "packetization-mode=1;profile-level-id=42001f" },
      { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "packetization-mode=1;profile-level-id=42e01f" },
    ];
    (globalThis as any).RTCRtpReceiver = { getCapabilities: () => ({ codecs, headerExtensions: [] }) };
    try {
      const { room, socket, pc } = await connect(welcome(), { videoCodec: "h264" });
      const prefs: any[] = [];
      const orig = pc.addTransceiver.bind(pc);
      pc.addTransceiver = (track: any, init: any) => {
        const t: any = orig(track, init);
        t.setCodecPreferences = (c: any[]) => prefs.push({ kind: track.kind, c });
        return t;
      };
      const cam = room.publishCamera();
      await flush(40);
      socket.deliver({ type: "answer", sdp: "a" });
      await cam;
      const mic = room.publishMicrophone();
      await flush(40);
      socket.deliver({ type: "answer", sdp: "b" });
      await mic;
      expect(prefs).toHaveLength(1);
      expect(prefs[0].c.map((c: any) => `${c.mimeType} ${c.sdpFmtpLine ?? ""}`.trim())).toEqual([
        "video/H264 packetization-mode=1;profile-level-id=42e01f",
        "video/H264 packetization-mode=1;profile-level-id=42001f",
        "video/H264 packetization-mode=0;profile-level-id=42e01f",
        "video/rtx",
      ]);
    } finally {
      delete (globalThis as any).RTCRtpReceiver;
    }
  });
});
