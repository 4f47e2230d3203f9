import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AdaptiveStream } from "../src/adaptive";

class FakeResize {
  static last: FakeResize;
  observed = new Set<Element>();
  constructor(readonly cb: (entries: any[]) => void) {
    FakeResize.last = this;
  }
  observe(el: Element) {
    this.observed.add(el);
  }
  unobserve(el: Element) {
    this.observed.delete(el);
  }
  disconnect() {}
  resize(el: Element, width: number, height: number) {
    this.cb([{ target: el, contentRect: { width, height } }]);
  }
}
class FakeIntersection {
  static last: FakeIntersection;
  constructor(readonly cb: (entries: any[]) => void) {
    FakeIntersection.last = this;
  }
  observe() {}
  unobserve() {}
  disconnect() {}
  show(el: Element, visible: boolean) {
    this.cb([{ target: el, isIntersecting: visible }]);
  }
}

function el(w = 0, h = 0): Element {
  return { clientWidth: w, clientHeight: h } as unknown as Element;
}

describe("AdaptiveStream", () => {
  let sent: Array<[number, any]>;
  let doc: { visibilityState: string; listeners: Array<() => void>; addEventListener: any; removeEventListener: any };
  let a: AdaptiveStream;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    doc = {
      visibilityState: "visible",
      listeners: [],
      addEventListener(_t: string, l: () => void) {
        this.listeners.push(l);
      },
      removeEventListener() {},
    };
    a = new AdaptiveStream((t, w) => sent.push([t, w]), 250, {
      ResizeObserver: FakeResize as any,
      IntersectionObserver: FakeIntersection as any,
      document: doc,
      pixelRatio: 1,
    });
  });
  afterEach(() => vi.useRealTimers());

  it("sends the element's size once, after the debounce", () => {
    const v = el(160, 90);
    a.observe(7, v);
    vi.advanceTimersByTime(200);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([[7, { type: "size", width: 160, height: 88 }]]);
  });

  it("a burst of resizes sends only the last size", () => {
    const v = el(160, 90);
    a.observe(3, v);
    vi.advanceTimersByTime(300);
    sent.length = 0;
    for (let w = 200; w <= 1280; w += 40) {
      FakeResize.last.resize(v, w, (w * 9) / 16);
      vi.advanceTimersByTime(50);
    }
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(250);
    expect(sent).toEqual([[3, { type: "size", width: 1280, height: 720 }]]);
  });

  it("does not resend an unchanged preference (jitter below 8 px is rounded away)", () => {
    const v = el(640, 360);
    a.observe(1, v);
    vi.advanceTimersByTime(300);
    FakeResize.last.resize(v, 641, 361);
    vi.advanceTimersByTime(300);
    expect(sent).toHaveLength(1);
  });

  it("pauses when the element scrolls out of view or the page is hidden, and resumes", () => {
    const v = el(320, 180);
    a.observe(2, v);
    vi.advanceTimersByTime(300);
    FakeIntersection.last.show(v, false);
    vi.advanceTimersByTime(300);
    expect(sent.at(-1)).toEqual([2, { type: "paused" }]);
    FakeIntersection.last.show(v, true);
    vi.advanceTimersByTime(300);
    expect(sent.at(-1)).toEqual([2, { type: "size", width: 320, height: 184 }]);
    doc.visibilityState = "hidden";
    doc.listeners.forEach((l) => l());
    vi.advanceTimersByTime(300);
    expect(sent.at(-1)).toEqual([2, { type: "paused" }]);
    expect(sent).toHaveLength(4);
  });

  it("takes the largest visible element of a track, and pauses when the last is detached", () => {
    const small = el(160, 90);
    const big = el(1280, 720);
    a.observe(5, small);
    const stop = a.observe(5, big);
    vi.advanceTimersByTime(300);
    expect(sent).toEqual([[5, { type: "size", width: 1280, height: 720 }]]);
    stop();
    vi.advanceTimersByTime(300);
    expect(sent.at(-1)).toEqual([5, { type: "size", width: 160, height: 88 }]);
    a.unobserve(5, small);
    vi.advanceTimersByTime(300);
    expect(sent.at(-1)).toEqual([5, { type: "paused" }]);
  });

  it("a zero-sized element counts as hidden; the pixel ratio scales sizes (capped at 2)", () => {
    const b = new AdaptiveStream((t, w) => sent.push([t, w]), 100, { pixelRatio: 3 });
    b.observe(9, el(0, 0));
    vi.advanceTimersByTime(150);
    expect(sent.at(-1)).toEqual([9, { type: "paused" }]);
    b.observe(9, el(200, 100));
    vi.advanceTimersByTime(150);
    expect(sent.at(-1)).toEqual([9, { type: "size", width: 400, height: 200 }]);
  });

  it("forget drops a gone track without sending; resendAll repeats current preferences", () => {
    a.observe(1, el(320, 180));
    a.observe(2, el(640, 360));
    vi.advanceTimersByTime(300);
    expect(sent).toHaveLength(2);
    a.forget(1);
    vi.advanceTimersByTime(300);
    expect(sent).toHaveLength(2);
    a.resendAll();
    vi.advanceTimersByTime(300);
    expect(sent.slice(2)).toEqual([[2, { type: "size", width: 640, height: 360 }]]);
  });
});
