import { Emitter } from "./emitter";

/** The data channels the SFU opens for every participant of a room. */
export type ChannelLabel = "whiteboard" | "chat" | "lossy";
export const CHANNELS: ChannelLabel[] = ["whiteboard", "chat", "lossy"];
/** A whiteboard message with exactly this content empties the board (for everyone, late joiners too). */
export const WHITEBOARD_CLEAR = "clear";

/** A point in board coordinates: 0..1 across the board's width and height. */
export type Point = [number, number];

export interface Stroke {
  /** Unique per stroke; set by `draw()` when missing. */
  id?: string;
  points: Point[];
  color?: string;
  /** Line width, in board units (fraction of the board's width). */
  width?: number;
  /** The participant who drew it; set by the SDK. */
  from?: string;
}

export interface ChatMessage {
  from: string;
  text: string;
  /** Sender's clock, ms since the epoch. */
  at: number;
}

/** What travels on a channel: the SDK wraps every payload with the sender, since the SFU relays it raw. */
export interface Envelope {
  from: string;
  /** "stroke", "chat" or "data". */
  kind: string;
  body: unknown;
}

export function encodeEnvelope(from: string, kind: string, body: unknown): string {
  return JSON.stringify({ from, kind, body } satisfies Envelope);
}

export function decodeEnvelope(raw: string): Envelope | null {
  try {
    const v = JSON.parse(raw) as Partial<Envelope> | null;
    if (!v || typeof v !== "object" || typeof v.from !== "string" || typeof v.kind !== "string") return null;
    return { from: v.from, kind: v.kind, body: v.body };
  } catch {
    return null;
  }
}

export function randomId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What the SDK keeps a whiteboard operation under (the SFU's limit is 16 KiB). */
export const MAX_OPERATION_BYTES = 15 * 1024;

function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * Splits a stroke into consecutive pieces that each pass `fits`; neighbours
 * share a point so the line stays continuous. Ids are `<id>`, `<id>.1`, ….
 */
export function splitStroke(stroke: Stroke, fits: (s: Stroke) => boolean): Stroke[] {
  if (fits(stroke) || stroke.points.length < 4) return [stroke];
  const out: Stroke[] = [];
  const go = (points: Point[]) => {
    const piece: Stroke = { ...stroke, points, id: out.length === 0 ? stroke.id : `${stroke.id}.${out.length}` };
    if (fits(piece) || points.length < 4) {
      out.push(piece);
      return;
    }
    const mid = Math.floor(points.length / 2);
    go(points.slice(0, mid + 1));
    go(points.slice(mid));
  };
  go(stroke.points);
  // Ids follow the final order.
  return out.map((p, i) => ({ ...p, id: i === 0 ? stroke.id : `${stroke.id}.${i}` }));
}

export interface WhiteboardEvents {
  /** A stroke from someone else (live, or from the board replayed on join). */
  stroke: (stroke: Stroke) => void;
  /** The board was emptied (by anyone). */
  clear: (by: string | null) => void;
}

/**
 * The shared whiteboard. `strokes` is the board as this client knows it:
 * the replay received on join, then every stroke drawn here or elsewhere.
 */
export class Whiteboard extends Emitter<WhiteboardEvents> {
  readonly strokes: Stroke[] = [];
  private readonly ids = new Set<string>();

  /** @internal */
  constructor(
    private readonly sendRaw: (payload: string) => void,
    private readonly me: () => string,
  ) {
    super();
  }

  /**
   * Draws a stroke for everyone; returns it with its id and sender filled
   * in. The SFU refuses board operations over 16 KiB, so a longer stroke
   * goes out (and is kept in `strokes`) as consecutive pieces that share
   * their end points; the first is returned.
   */
  draw(stroke: Stroke): Stroke {
    if (!stroke || !Array.isArray(stroke.points)) throw new TypeError("a stroke needs points");
    const base: Stroke = { ...stroke, id: stroke.id ?? randomId(), from: this.me() };
    const pieces = splitStroke(base, (s) => byteLength(encodeEnvelope(s.from!, "stroke", s)) <= MAX_OPERATION_BYTES);
    for (const s of pieces) {
      this.add(s);
      this.sendRaw(encodeEnvelope(s.from!, "stroke", s));
    }
    return pieces[0]!;
  }

  /** Empties the board for everyone. */
  clear(): void {
    this.reset();
    this.sendRaw(WHITEBOARD_CLEAR);
    this.emit("clear", this.me());
  }

  /** @internal A message from the whiteboard channel. */
  receive(raw: string): Stroke | null {
    if (raw === WHITEBOARD_CLEAR) {
      this.reset();
      this.emit("clear", null);
      return null;
    }
    const env = decodeEnvelope(raw);
    if (!env || env.kind !== "stroke") return null;
    const body = env.body as Stroke | null;
    if (!body || !Array.isArray(body.points)) return null;
    const s: Stroke = { ...body, from: env.from };
    if (!this.add(s)) return null;
    this.emit("stroke", s);
    return s;
  }

  private add(s: Stroke): boolean {
    if (s.id) {
      if (this.ids.has(s.id)) return false;
      this.ids.add(s.id);
    }
    this.strokes.push(s);
    return true;
  }

  private reset(): void {
    this.strokes.length = 0;
    this.ids.clear();
  }
}
