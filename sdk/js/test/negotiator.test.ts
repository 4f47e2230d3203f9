import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Negotiator, OFFER_PENDING_RETRY_MS } from "../src/negotiator";
import { DeepInfluenceError } from "../src/errors";
import { FakePeer, flush } from "./fakes";

function setup() {
  FakePeer.reset();
  const pc = new FakePeer();
  const sent: any[] = [];
  let online = true;
  const errors: unknown[] = [];
  const n = new Negotiator(
    pc as any,
    (m) => {
      if (!online) return false;
      sent.push(m);
      return true;
    },
    () => [{ mid: "c0", source: "camera", layers: [] }],
    (e) => errors.push(e),
  );
  return { pc, n, sent, errors, setOnline: (v: boolean) => (online = v) };
}

describe("Negotiator", () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => vi.useRealTimers());

  it("offers with the track list and resolves once the answer is applied", async () => {
    const { pc, n, sent } = setup();
    let done = false;
    const p = n.negotiate().then(() => (done = true));
    await flush();
    expect(sent).toEqual([{ type: "offer", sdp: "client-offer-1", tracks: [{ mid: "c0", source: "camera", layers: [] }] }]);
    expect(pc.signalingState).toBe("have-local-offer");
    expect(done).toBe(false);
    await n.handleAnswer("server-answer");
    await p;
    expect(done).toBe(true);
    expect(pc.signalingState).toBe("stable");
    expect(pc.remoteDescription).toEqual({ type: "answer", sdp: "server-answer" });
  });

  it("answers a server offer", async () => {
    const { pc, n, sent } = setup();
    await n.handleOffer("server-offer-1");
    expect(sent).toEqual([{ type: "answer", sdp: "client-answer-to-server-offer-1" }]);
    expect(pc.signalingState).toBe("stable");
  });

  it("coalesces requests made while an offer is out into one next offer", async () => {
    const { n, sent } = setup();
    const a = n.negotiate();
    await flush();
    const b = n.negotiate();
    const c = n.negotiate();
    await flush();
    expect(sent.filter((m) => m.type === "offer")).toHaveLength(1);
    await n.handleAnswer("answer-1");
    await a;
    await flush();
    expect(sent.filter((m) => m.type === "offer")).toHaveLength(2);
    let settled = false;
    void Promise.all([b, c]).then(() => (settled = true));
    await flush();
    expect(settled).toBe(false);
    await n.handleAnswer("answer-2");
    await Promise.all([b, c]);
  });

  it("glare: a server offer while ours is out rolls ours back, answers, absorbs offer_pending and offers again", async () => {
    const { pc, n, sent } = setup();
    const published = n.negotiate();
    await flush();
    expect(pc.signalingState).toBe("have-local-offer");
    // The server's offer crossed ours; it refuses ours with offer_pending.
    await n.handleOffer("server-offer-x");
    expect(pc.log).toContain("setLocal:rollback");
    // Answered, then offered again right away: the server replies in order,
    // so the refusal of the rolled-back offer comes before the new reply.
    expect(sent.map((m) => m.type)).toEqual(["offer", "answer", "offer"]);
    expect(sent[1].sdp).toBe("client-answer-to-server-offer-x");
    expect(sent[2].sdp).toBe("client-offer-2");
    expect(n.handleError("offer_pending", "answer first")).toBe(true);
    await flush();
    // Absorbed: no further offer, ours is still waiting for its answer.
    expect(sent.map((m) => m.type)).toEqual(["offer", "answer", "offer"]);
    expect(pc.signalingState).toBe("have-local-offer");
    await n.handleAnswer("answer-to-2");
    await published;
    expect(pc.signalingState).toBe("stable");
  });

  it("offer_pending before the server's offer: rolls back, waits for it, answers, then retries", async () => {
    vi.useFakeTimers();
    const { pc, n, sent } = setup();
    const published = n.negotiate();
    await vi.advanceTimersByTimeAsync(0);
    expect(n.handleError("offer_pending", "answer first")).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(pc.signalingState).toBe("stable");
    expect(sent.map((m) => m.type)).toEqual(["offer"]);
    await vi.advanceTimersByTimeAsync(OFFER_PENDING_RETRY_MS / 2);
    expect(sent.map((m) => m.type)).toEqual(["offer"]);
    await n.handleOffer("server-offer");
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((m) => m.type)).toEqual(["offer", "answer", "offer"]);
    await n.handleAnswer("ok");
    await published;
  });

  it("offer_pending with no server offer following: retries after a while", async () => {
    vi.useFakeTimers();
    const { n, sent } = setup();
    void n.negotiate();
    await vi.advanceTimersByTimeAsync(0);
    n.handleError("offer_pending", "answer first");
    await vi.advanceTimersByTimeAsync(OFFER_PENDING_RETRY_MS - 10);
    expect(sent.filter((m) => m.type === "offer")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(sent.filter((m) => m.type === "offer")).toHaveLength(2);
  });

  it("a refused publish rejects with the server's code and leaves the connection stable", async () => {
    const { pc, n } = setup();
    const p = n.negotiate();
    await flush();
    expect(n.handleError("publish_denied", "no screen")).toBe(true);
    await expect(p).rejects.toMatchObject({ code: "publish_denied", message: "no screen" });
    await n.idle();
    expect(pc.signalingState).toBe("stable");
  });

  it("errors unrelated to offers are not taken", () => {
    const { n } = setup();
    expect(n.handleError("offer_pending", "x")).toBe(false); // nothing outstanding
    expect(n.handleError("unknown_track", "x")).toBe(false);
  });

  it("a broken socket: the offer in flight is rolled back and redone as an ICE restart on resume", async () => {
    const { pc, n, sent, setOnline } = setup();
    void n.negotiate();
    await flush();
    setOnline(false);
    n.suspend();
    await n.idle();
    expect(pc.signalingState).toBe("stable");
    // Nothing goes out while suspended.
    void n.negotiate();
    await flush();
    expect(sent.filter((m) => m.type === "offer")).toHaveLength(1);
    setOnline(true);
    const resumed = n.resume({ iceRestart: true });
    await flush();
    const offers = sent.filter((m) => m.type === "offer");
    expect(offers).toHaveLength(2);
    expect(pc.offerOptions.at(-1)).toEqual({ iceRestart: true });
    expect(offers[1].tracks).toEqual([{ mid: "c0", source: "camera", layers: [] }]);
    await n.handleAnswer("a");
    await resumed;
  });

  it("an answer that never left is sent again on resume", async () => {
    const { n, sent, setOnline } = setup();
    setOnline(false);
    await n.handleOffer("server-offer");
    expect(sent).toEqual([]);
    n.suspend();
    setOnline(true);
    void n.resume({ iceRestart: true });
    await flush();
    expect(sent.map((m) => m.type)).toEqual(["answer", "offer"]);
  });

  it("an answer that cannot be applied breaks the session: rolled back, reported, pending negotiations rejected", async () => {
    FakePeer.reset();
    const pc = new FakePeer();
    const broken: unknown[] = [];
    const n = new Negotiator(pc as any, () => true, () => [], () => {}, (e) => {
      broken.push(e);
      n.close();
    });
    const p = n.negotiate();
    await flush();
    pc.failNextAnswer = true;
    await n.handleAnswer("garbage");
    expect(String(broken[0])).toMatch(/bad answer/);
    await expect(p).rejects.toMatchObject({ code: "room_closed" });
    expect(pc.signalingState).toBe("stable");
  });

  it("a server offer that cannot be applied is reported as broken, and nothing more is offered", async () => {
    FakePeer.reset();
    const pc = new FakePeer();
    const sent: any[] = [];
    const broken: unknown[] = [];
    const n = new Negotiator(pc as any, (m) => (sent.push(m), true), () => [], () => {}, (e) => broken.push(e));
    pc.failNextOffer = true;
    await n.handleOffer("bad offer");
    expect(broken).toHaveLength(1);
    expect(String(broken[0])).toMatch(/extension/);
    expect(sent).toEqual([]);
    expect(pc.signalingState).toBe("stable");
    await expect(n.negotiate()).rejects.toMatchObject({ code: "room_closed" });
  });

  it("close rejects pending negotiations", async () => {
    const { n } = setup();
    const p = n.negotiate();
    n.close();
    await expect(p).rejects.toBeInstanceOf(DeepInfluenceError);
    await expect(n.negotiate()).rejects.toMatchObject({ code: "room_closed" });
  });
});
