import type { Want } from "./wire";

type ResizeObserverCtor = new (cb: (entries: Array<{ target: Element; contentRect: { width: number; height: number } }>) => void) => {
  observe(el: Element): void;
  unobserve(el: Element): void;
  disconnect(): void;
};
type IntersectionObserverCtor = new (
  cb: (entries: Array<{ target: Element; isIntersecting: boolean }>) => void,
) => { observe(el: Element): void; unobserve(el: Element): void; disconnect(): void };

export interface AdaptiveEnvironment {
  ResizeObserver?: ResizeObserverCtor;
  IntersectionObserver?: IntersectionObserverCtor;
  /** For page visibility; none: always visible. */
  document?: { visibilityState?: string; addEventListener?(t: string, l: () => void): void; removeEventListener?(t: string, l: () => void): void };
  /** Device pixels per CSS pixel (capped at 2 so retina screens don't ask for more than they show). */
  pixelRatio?: number;
}

interface Watched {
  width: number;
  height: number;
  visible: boolean;
}

/** Rounds to a multiple of 8 so tiny layout jitter does not send a new preference. */
function quantise(n: number): number {
  return Math.max(0, Math.round(n / 8) * 8);
}

export function sameWant(a: Want | undefined, b: Want): boolean {
  if (!a || a.type !== b.type) return false;
  return a.type === "paused" || (b.type === "size" && a.width === b.width && a.height === b.height);
}

/**
 * Adaptive stream: watches the elements a remote video track is attached to
 * (size with ResizeObserver, visibility with IntersectionObserver and the
 * page's visibility) and sends the subscription preference the track needs:
 * the largest rendered size among its visible elements, or `paused` when
 * none is visible. Changes are debounced.
 */
export class AdaptiveStream {
  private readonly elements = new Map<number, Map<Element, Watched>>();
  private readonly sent = new Map<number, Want>();
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly resize?: InstanceType<ResizeObserverCtor>;
  private readonly intersection?: InstanceType<IntersectionObserverCtor>;
  private readonly owner = new Map<Element, number>();
  private readonly onVisibility = () => {
    for (const track of this.elements.keys()) this.schedule(track);
  };

  constructor(
    private readonly send: (track: number, want: Want) => void,
    private readonly debounceMs: number,
    private readonly env: AdaptiveEnvironment,
  ) {
    if (env.ResizeObserver) {
      this.resize = new env.ResizeObserver((entries) => {
        for (const e of entries) {
          const w = this.watched(e.target);
          if (!w) continue;
          w.width = e.contentRect.width;
          w.height = e.contentRect.height;
          this.schedule(this.owner.get(e.target)!);
        }
      });
    }
    if (env.IntersectionObserver) {
      this.intersection = new env.IntersectionObserver((entries) => {
        for (const e of entries) {
          const w = this.watched(e.target);
          if (!w) continue;
          w.visible = e.isIntersecting;
          this.schedule(this.owner.get(e.target)!);
        }
      });
    }
    env.document?.addEventListener?.("visibilitychange", this.onVisibility);
  }

  /** Starts watching `element` for `track`; returns the function that stops it. */
  observe(track: number, element: Element): () => void {
    let set = this.elements.get(track);
    if (!set) this.elements.set(track, (set = new Map()));
    const el = element as Element & { clientWidth?: number; clientHeight?: number };
    set.set(element, { width: el.clientWidth ?? 0, height: el.clientHeight ?? 0, visible: true });
    this.owner.set(element, track);
    this.resize?.observe(element);
    this.intersection?.observe(element);
    this.schedule(track);
    return () => this.unobserve(track, element);
  }

  unobserve(track: number, element: Element): void {
    const set = this.elements.get(track);
    if (!set?.delete(element)) return;
    this.owner.delete(element);
    this.resize?.unobserve(element);
    this.intersection?.unobserve(element);
    if (set.size === 0) {
      this.elements.delete(track);
      // Detached everywhere: nobody looks at it any more.
      this.schedule(track, { type: "paused" });
    } else {
      this.schedule(track);
    }
  }

  /** The track is gone: forget it without sending anything. */
  forget(track: number): void {
    const set = this.elements.get(track);
    for (const el of set?.keys() ?? []) {
      this.owner.delete(el);
      this.resize?.unobserve(el);
      this.intersection?.unobserve(el);
    }
    this.elements.delete(track);
    this.sent.delete(track);
    const t = this.timers.get(track);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(track);
  }

  /** After a fresh join the server knows no preference: send them all again. */
  resendAll(): void {
    this.sent.clear();
    for (const track of this.elements.keys()) this.schedule(track);
  }

  /** What the track's elements ask for now. */
  want(track: number): Want {
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

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.resize?.disconnect();
    this.intersection?.disconnect();
    this.env.document?.removeEventListener?.("visibilitychange", this.onVisibility);
  }

  private watched(el: Element): Watched | undefined {
    const track = this.owner.get(el);
    return track === undefined ? undefined : this.elements.get(track)?.get(el);
  }

  private schedule(track: number, fixed?: Want): void {
    const t = this.timers.get(track);
    if (t !== undefined) clearTimeout(t);
    this.timers.set(
      track,
      setTimeout(() => {
        this.timers.delete(track);
        const want = fixed ?? this.want(track);
        if (sameWant(this.sent.get(track), want)) return;
        this.sent.set(track, want);
        this.send(track, want);
      }, this.debounceMs),
    );
  }
}
