// Simulcast: the publisher sends three layers; a subscriber's small element
// gets the small one, and the large one once the element grows.
import assert from "node:assert/strict";
import { outboundStats, sleep } from "./harness.mjs";
import { installHelpers } from "./call.test.mjs";

async function cameraTrackAt(ctx, page, owner) {
  return ctx.waitFor(page, (owner) => [...window.demo.room.remoteTracks.values()].find((t) => t.owner === owner && t.source === "camera" && t.subscribed)?.sid, owner, {
    what: `${page.label} subscribed to ${owner}'s camera`,
  });
}

/**
 * Waits until `subscriber` decodes the publisher's `rid` layer: the frame
 * size it receives is the size that layer is encoded at right now (its
 * nominal size, or less if the encoder had to scale down under load), and
 * no other layer has that size.
 */
async function receivesLayer(ctx, publisher, subscriber, sid, rid, what) {
  const started = Date.now();
  let last;
  for (;;) {
    const out = await publisher.evaluate(() => window.__outbound());
    const sizes = Object.fromEntries(out.filter((s) => s.kind === "video" && s.rid && s.active).map((s) => [s.rid, s.frameWidth]));
    const inbound = (await subscriber.evaluate(() => window.__inbound())).find((x) => x.sid === sid && x.kind === "video");
    last = { sizes, received: inbound && `${inbound.frameWidth}x${inbound.frameHeight}` };
    const w = inbound?.frameWidth;
    if (w && w === sizes[rid] && Object.entries(sizes).every(([r, x]) => r === rid || x !== w)) {
      if (process.env.E2E_VERBOSE) console.log(`\n  ${what}: ${Date.now() - started} ms (${last.received})`);
      return inbound;
    }
    if (Date.now() - started > 60000) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

export const tests = [
  {
    name: "the publisher sends three simulcast layers; a small element gets the small one, a grown one the large",
    timeout: 180000,
    async run(ctx) {
      const room = ctx.room("simulcast");
      // Dynacast off: all three layers stay on whatever the subscriber watches.
      const alice = await ctx.join("alice", { room, microphone: false, options: { dynacast: false } });
      await alice.evaluate(`window.__outbound = ${outboundStats.toString()}`);
      const layers = await ctx.waitFor(
        alice,
        async () => {
          const out = (await window.__outbound()).filter((s) => s.kind === "video" && s.rid);
          const by = Object.fromEntries(out.map((s) => [s.rid, s]));
          // All three encoding, at their nominal sizes once the send
          // bandwidth estimate allows the full one.
          const nominal = { q: 320, h: 640, f: 1280 };
          return ["q", "h", "f"].every((r) => by[r]?.active && by[r].framesEncoded > 0 && by[r].bytesSent > 0 && by[r].frameWidth === nominal[r]) ? by : null;
        },
        null,
        { what: "alice's outbound-rtp q, h and f active and encoding", timeout: 60000 },
      );
      assert.deepEqual(
        ["q", "h", "f"].map((r) => layers[r].frameWidth),
        [320, 640, 1280],
        "q, h and f are a quarter, half and full 1280x720",
      );

      const bob = await ctx.join("bob", { room, camera: false, microphone: false });
      await installHelpers(bob);
      const sid = await cameraTrackAt(ctx, bob, "alice");
      await bob.evaluate((sid) => window.demo.pinSize(sid, 160, 90), sid);
      const small = await receivesLayer(ctx, alice, bob, sid, "q", "bob receiving the q layer in a 160x90 element");
      assert.ok(small.frameWidth <= 320 && Math.abs(small.frameWidth * 9 - small.frameHeight * 16) <= 32, `q is at most 320x180 (${small.frameWidth}x${small.frameHeight})`);
      await ctx.screenshot(bob, "simulcast-small");

      await bob.evaluate((sid) => window.demo.pinSize(sid, 1280, 720), sid);
      const large = await receivesLayer(ctx, alice, bob, sid, "f", "bob receiving the f layer after the element grew to 1280x720");
      assert.ok(large.frameWidth > 640, `f is larger than h (${large.frameWidth}x${large.frameHeight})`);
      const before = large.framesDecoded;
      await sleep(1000);
      const after = (await bob.evaluate(() => window.__inbound())).find((x) => x.sid === sid);
      assert.ok(after.framesDecoded > before, "the large layer keeps decoding");
      await ctx.screenshot(bob, "simulcast-large");
    },
  },
  {
    name: "dynacast: layers nobody watches are stopped at the publisher and restarted when wanted",
    timeout: 180000,
    async run(ctx) {
      const room = ctx.room("dynacast");
      const alice = await ctx.join("alice", { room, microphone: false });
      await alice.evaluate(`window.__outbound = ${outboundStats.toString()}`);
      const bob = await ctx.join("bob", { room, camera: false, microphone: false });
      await installHelpers(bob);
      const sid = await cameraTrackAt(ctx, bob, "alice");
      await bob.evaluate((sid) => window.demo.pinSize(sid, 160, 90), sid);
      await receivesLayer(ctx, alice, bob, sid, "q", "bob receiving the q layer");
      const active = (o) => Object.fromEntries(o.filter((s) => s.kind === "video" && s.rid).map((s) => [s.rid, s.active]));
      await ctx.waitFor(
        alice,
        async () => {
          const o = (await window.__outbound()).filter((s) => s.kind === "video" && s.rid);
          const a = Object.fromEntries(o.map((s) => [s.rid, s.active]));
          return a.q === true && a.h === false && a.f === false ? a : null;
        },
        null,
        { what: "alice sending only q while bob watches a small element" },
      );
      // Growing the element asks for more: a stopped layer is restarted and
      // bob gets a larger one (which of h and f also depends on the SFU's
      // bandwidth estimate for bob; f itself is checked in the test above).
      await bob.evaluate((sid) => window.demo.pinSize(sid, 1280, 720), sid);
      await ctx.waitFor(
        bob,
        async (sid) => {
          const s = (await window.__inbound()).find((x) => x.sid === sid && x.kind === "video");
          return s && s.frameWidth >= 640 ? s : null;
        },
        sid,
        { what: "bob receiving h or f after growing the element", timeout: 60000 },
      );
      const a = active(await alice.evaluate(() => window.__outbound()));
      assert.equal(a.q, true, "q stays on below the watched layer");
      assert.ok(a.h || a.f, "a layer above q is sent again");
    },
  },
];
