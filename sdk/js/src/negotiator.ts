import { DeepInfluenceError } from "./errors";
import type { ClientMessage, ErrorCode, TrackSpec } from "./wire";

/** The part of RTCPeerConnection the negotiator drives (a fake in tests). */
export interface NegotiablePeer {
  readonly signalingState: RTCSignalingState;
  readonly localDescription: { type: RTCSdpType; sdp: string } | null;
  createOffer(options?: RTCOfferOptions): Promise<RTCSessionDescriptionInit>;
  createAnswer(): Promise<RTCSessionDescriptionInit>;
  setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void>;
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>;
}

interface Outstanding {
  /** The last negotiate() request this offer covers. */
  gen: number;
  iceRestart: boolean;
  /** Rolled back for a server offer: its reply (an offer_pending refusal) is absorbed. */
  abandoned: boolean;
}

interface Waiter {
  gen: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** How long to wait for the server's offer after an offer_pending refusal before retrying anyway. */
export const OFFER_PENDING_RETRY_MS = 2000;

/**
 * SDP offer/answer with the signalling service, as the polite side of
 * perfect negotiation. Every SDP step runs one at a time on a queue. The
 * client's offers get exactly one reply each, in order (an `answer` or an
 * `error`), so they are matched first-in first-out.
 *
 * - An incoming server offer while our offer is out: roll ours back, answer
 *   theirs, then offer again (the server refuses the rolled-back offer with
 *   `offer_pending`, which is absorbed).
 * - `offer_pending` for an offer still standing: roll back, wait for the
 *   server's offer, answer it, then offer again.
 */
export class Negotiator {
  private chain: Promise<void> = Promise.resolve();
  private outstanding: Outstanding[] = [];
  private needOffer = false;
  private iceRestart = false;
  private requested = 0;
  private waiters: Waiter[] = [];
  private waitingServerOffer: ReturnType<typeof setTimeout> | null = null;
  private suspended = false;
  private unsentAnswer: string | null = null;
  private closed = false;
  /** Replies still due to our offers, counted as messages arrive (the queue may lag behind). */
  private repliesDue = 0;

  constructor(
    private readonly pc: NegotiablePeer,
    private readonly send: (message: ClientMessage) => boolean,
    private readonly tracks: () => TrackSpec[],
    private readonly onError: (error: unknown) => void = () => {},
    /**
     * The server's offer cannot be applied or answered (the server keeps
     * waiting for an answer that will not come), or its answer cannot be
     * applied (it already took our offer): this session cannot negotiate
     * again (the room starts a new one).
     */
    private readonly onBroken: (error: unknown) => void = (e) => onError(e),
  ) {}

  /** Offers (publish/unpublish, or an ICE restart); resolves once an answer covering it is applied. */
  negotiate(options: { iceRestart?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new DeepInfluenceError("room_closed"));
    const gen = ++this.requested;
    this.needOffer = true;
    if (options.iceRestart) this.iceRestart = true;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
    this.enqueue(() => this.maybeOffer());
    return done;
  }

  /** The server's offer (at join or renegotiation). */
  handleOffer(sdp: string): Promise<void> {
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
          await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
        }
        this.closed = true;
        this.onBroken(e);
        return;
      }
      const answer = this.pc.localDescription!.sdp;
      this.unsentAnswer = this.send({ type: "answer", sdp: answer }) ? null : answer;
      if (this.waitingServerOffer !== null) {
        clearTimeout(this.waitingServerOffer);
        this.waitingServerOffer = null;
      }
      await this.maybeOffer();
    });
  }

  /** The server's answer to our oldest outstanding offer. */
  handleAnswer(sdp: string): Promise<void> {
    if (this.repliesDue > 0) this.repliesDue--;
    return this.enqueue(async () => {
      const head = this.outstanding.shift();
      if (!head || head.abandoned || this.pc.signalingState !== "have-local-offer") return;
      try {
        await this.pc.setRemoteDescription({ type: "answer", sdp });
        this.settle(head.gen, null);
      } catch (e) {
        // The server took our offer and answered it, but the answer does not
        // fit (the two sides diverged, e.g. after an answer lost with a
        // socket): this session cannot negotiate again.
        await this.rollback().catch(() => {});
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
  handleError(code: ErrorCode, message: string): boolean {
    if (!["offer_pending", "bad_sdp", "publish_denied"].includes(code) || this.repliesDue === 0) {
      return false;
    }
    this.repliesDue--;
    this.enqueue(async () => {
      const head = this.outstanding.shift();
      if (!head) return;
      if (head.abandoned) {
        // The refusal of an offer we rolled back for the server's: expected.
        await this.maybeOffer();
        return;
      }
      await this.rollback();
      if (code === "offer_pending") {
        // The server has an offer out: answer it first, then offer again.
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
  suspend(): void {
    this.suspended = true;
    this.repliesDue = 0;
    this.enqueue(async () => {
      this.abandonOutstanding();
      this.outstanding = [];
      await this.rollback();
    });
  }

  /** A new socket took the session over; an ICE restart offer goes out. */
  resume(options: { iceRestart?: boolean } = {}): Promise<void> {
    this.suspended = false;
    if (this.waitingServerOffer !== null) {
      clearTimeout(this.waitingServerOffer);
      this.waitingServerOffer = null;
    }
    if (this.unsentAnswer !== null) {
      // Our answer never left: the server still waits for it.
      const sdp = this.unsentAnswer;
      this.unsentAnswer = this.send({ type: "answer", sdp }) ? null : sdp;
    }
    return this.negotiate(options);
  }

  /** Stops for good: pending negotiate() promises reject. */
  close(): void {
    this.closed = true;
    if (this.waitingServerOffer !== null) clearTimeout(this.waitingServerOffer);
    this.waitingServerOffer = null;
    for (const w of this.waiters.splice(0)) w.reject(new DeepInfluenceError("room_closed"));
  }

  /** Resolves once every queued SDP step has run (for tests and orderly shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  private enqueue(step: () => Promise<void> | void): Promise<void> {
    const next = this.chain.then(step).catch((e) => this.onError(e));
    this.chain = next;
    return next;
  }

  private abandonOutstanding(): void {
    for (const o of this.outstanding) {
      if (o.abandoned) continue;
      o.abandoned = true;
      this.needOffer = true;
      if (o.iceRestart) this.iceRestart = true;
    }
  }

  private async rollback(): Promise<void> {
    if (this.pc.signalingState === "have-local-offer") {
      await this.pc.setLocalDescription({ type: "rollback" });
    }
  }

  private settle(gen: number, error: unknown): void {
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.gen > gen) keep.push(w);
      else if (error) w.reject(error);
      else w.resolve();
    }
    this.waiters = keep;
  }

  private async maybeOffer(): Promise<void> {
    if (
      this.closed ||
      this.suspended ||
      !this.needOffer ||
      this.waitingServerOffer !== null ||
      this.outstanding.some((o) => !o.abandoned) ||
      this.pc.signalingState !== "stable"
    ) {
      return;
    }
    this.needOffer = false;
    const gen = this.requested;
    const iceRestart = this.iceRestart;
    this.iceRestart = false;
    try {
      const offer = await this.pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
      await this.pc.setLocalDescription(offer);
    } catch (e) {
      await this.rollback().catch(() => {});
      this.settle(gen, e);
      return;
    }
    this.outstanding.push({ gen, iceRestart, abandoned: false });
    const sent = this.send({ type: "offer", sdp: this.pc.localDescription!.sdp, tracks: this.tracks() });
    if (sent) {
      this.repliesDue++;
    } else {
      // No socket: offer again once resumed.
      this.outstanding.pop();
      this.needOffer = true;
      if (iceRestart) this.iceRestart = true;
      await this.rollback();
    }
  }
}
