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

async function receivedWidth(ctx, page, sid, width, what) {
  const started = Date.now();
  const got = await ctx.waitFor(
    page,
    async ([sid, width]) => {
      const s = (await window.__inbound()).find((x) => x.sid === sid && x.kind === "video");
      return s && s.frameWidth === width && s.framesDecoded > 0 ? s : null;
    },
    [sid, width],
    { what, timeout: 60000 },
  );
  if (process.env.E2E_VERBOSE) console.log(`\n  ${what}: ${Date.now() - started} ms`);
  return got;
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
          return ["q", "h", "f"].every((r) => by[r]?.active && by[r].framesEncoded > 0 && by[r].bytesSent > 0) ? by : null;
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
      const small = await receivedWidth(ctx, bob, sid, 320, "bob receiving the q layer (320x180) in a 160x90 element");
      assert.equal(small.frameHeight, 180);
      await ctx.screenshot(bob, "simulcast-small");

      await bob.evaluate((sid) => window.demo.pinSize(sid, 1280, 720), sid);
      const large = await receivedWidth(ctx, bob, sid, 1280, "bob receiving the f layer (1280x720) after the element grew to 1280x720");
      assert.equal(large.frameHeight, 720);
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
      await receivedWidth(ctx, bob, sid, 320, "bob receiving the q layer");
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
