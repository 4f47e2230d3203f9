// Whiteboard strokes drawn on one page arrive on the other; a page joining
// later receives the existing board.
import assert from "node:assert/strict";

async function drawWithMouse(page, points) {
  const box = await page.locator("#board").boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 4 });
  await page.mouse.up();
}

const strokes = (page) => page.evaluate(() => window.demo.room.whiteboard.strokes.map((s) => ({ id: s.id, from: s.from, n: s.points.length, color: s.color })));

export const tests = [
  {
    name: "whiteboard strokes reach the other page, and a late joiner gets the board",
    async run(ctx) {
      const room = ctx.room("board");
      const alice = await ctx.join("alice", { room, camera: false, microphone: false });
      const bob = await ctx.join("bob", { room, camera: false, microphone: false });
      await drawWithMouse(alice, [[0.1, 0.2], [0.3, 0.5], [0.5, 0.3]]);
      await drawWithMouse(alice, [[0.6, 0.6], [0.9, 0.8]]);
      await bob.evaluate(() => window.demo.room.whiteboard.draw({ points: [[0.2, 0.8], [0.4, 0.9]], color: "#d62222", width: 0.01 }));
      const mine = await strokes(alice);
      assert.equal(mine.length, 3, "alice has her two strokes and bob's");
      await ctx.waitFor(bob, () => window.demo.room.whiteboard.strokes.length === 3, null, { what: "bob's board with 3 strokes" });
      await ctx.waitFor(alice, () => window.demo.room.whiteboard.strokes.some((s) => s.from === "bob"), null, { what: "alice got bob's stroke" });
      const atBob = await strokes(bob);
      assert.deepEqual(
        atBob.filter((s) => s.from === "alice").map((s) => s.id),
        mine.filter((s) => s.from === "alice").map((s) => s.id),
        "bob has alice's strokes, with her name",
      );
      assert.ok(atBob.every((s) => s.n >= 2));
      await ctx.screenshot(bob, "whiteboard-bob");

      // Carol joins later: the SFU replays the board on the whiteboard channel.
      const carol = await ctx.join("carol", { room, camera: false, microphone: false });
      await ctx.waitFor(carol, () => window.demo.room.whiteboard.strokes.length === 3, null, { what: "carol's board replayed with 3 strokes" });
      const atCarol = await strokes(carol);
      assert.deepEqual(new Set(atCarol.map((s) => s.id)), new Set(mine.map((s) => s.id)));
      assert.deepEqual(new Set(atCarol.map((s) => s.from)), new Set(["alice", "bob"]));
      await ctx.screenshot(carol, "whiteboard-late-joiner");

      // Clear empties it for everyone, and for the next late joiner.
      await alice.click("#board-clear");
      await ctx.waitFor(bob, () => window.demo.room.whiteboard.strokes.length === 0, null, { what: "bob's board cleared" });
      await ctx.waitFor(carol, () => window.demo.room.whiteboard.strokes.length === 0, null, { what: "carol's board cleared" });
      await drawWithMouse(carol, [[0.5, 0.5], [0.55, 0.55]]);
      const dave = await ctx.join("dave", { room, camera: false, microphone: false });
      await ctx.waitFor(dave, () => window.demo.room.whiteboard.strokes.length === 1 && window.demo.room.whiteboard.strokes[0].from === "carol", null, {
        what: "dave gets only the stroke after the clear",
      });
    },
  },
  {
    name: "a long stroke (over the SFU's 16 KiB per operation) arrives whole, in pieces",
    async run(ctx) {
      const room = ctx.room("board-long");
      const alice = await ctx.join("alice", { room, camera: false, microphone: false });
      const bob = await ctx.join("bob", { room, camera: false, microphone: false });
      const drawn = await alice.evaluate(() => {
        const points = Array.from({ length: 4000 }, (_, i) => [i / 4000, 0.5 + 0.4 * Math.sin(i / 40)]);
        window.demo.room.whiteboard.draw({ points, color: "#0a7", width: 0.004 });
        return window.demo.room.whiteboard.strokes.map((s) => ({ id: s.id, n: s.points.length }));
      });
      assert.ok(drawn.length > 1, "split into pieces");
      await ctx.waitFor(bob, (n) => window.demo.room.whiteboard.strokes.length === n, drawn.length, { what: `bob's board with ${drawn.length} pieces` });
      const got = await bob.evaluate(() => window.demo.room.whiteboard.strokes.map((s) => ({ id: s.id, n: s.points.length })));
      assert.deepEqual(got, drawn);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(await alice.evaluate(() => window.demo.errors), [], "no whiteboard refusal");
      await ctx.screenshot(bob, "whiteboard-long-stroke");
    },
  },
];
