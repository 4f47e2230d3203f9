import { describe, expect, it } from "vitest";
import { MAX_OPERATION_BYTES, splitStroke, Whiteboard, type Point } from "../src/data";

describe("whiteboard", () => {
  it("sends a stroke under the limit as one operation", () => {
    const sent: string[] = [];
    const wb = new Whiteboard((p) => sent.push(p), () => "ann");
    const s = wb.draw({ points: [[0, 0], [1, 1]], color: "#000" });
    expect(sent).toHaveLength(1);
    expect(wb.strokes).toEqual([s]);
    expect(s.from).toBe("ann");
    expect(s.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("splits a long stroke into continuous pieces each under the SFU's limit", () => {
    const sent: string[] = [];
    const wb = new Whiteboard((p) => sent.push(p), () => "ann");
    const points: Point[] = Array.from({ length: 5000 }, (_, i) => [i / 5000, Math.abs(Math.sin(i / 50)) * 0.9 + 0.012345]);
    const first = wb.draw({ id: "long", points, color: "#123456", width: 0.004 });
    expect(sent.length).toBeGreaterThan(4);
    for (const raw of sent) expect(new TextEncoder().encode(raw).length).toBeLessThanOrEqual(MAX_OPERATION_BYTES);
    const pieces = sent.map((r) => JSON.parse(r).body);
    expect(first).toEqual(pieces[0]);
    expect(pieces.map((p) => p.id)).toEqual(pieces.map((_, i) => (i === 0 ? "long" : `long.${i}`)));
    // Continuous: each piece starts where the last ended, and all points are there in order.
    for (let i = 1; i < pieces.length; i++) expect(pieces[i].points[0]).toEqual(pieces[i - 1].points.at(-1));
    const joined = pieces.flatMap((p, i) => (i === 0 ? p.points : p.points.slice(1)));
    expect(joined).toEqual(points);
    expect(pieces.every((p) => p.color === "#123456" && p.width === 0.004 && p.from === "ann")).toBe(true);
    expect(wb.strokes.map((s) => s.id)).toEqual(pieces.map((p) => p.id));
  });

  it("splitStroke leaves short strokes alone", () => {
    const s = { id: "x", points: [[0, 0], [1, 1]] as Point[] };
    expect(splitStroke(s, () => false)).toEqual([s]);
  });
});
