// Screen share reaches the other page as a screen-source track.
import assert from "node:assert/strict";
import { expectMediaFrom, installHelpers } from "./call.test.mjs";

export const tests = [
  {
    name: "screen share reaches the other page as a screen-source track",
    async run(ctx) {
      const room = ctx.room("screen");
      const alice = await ctx.join("alice", { room, role: "host", microphone: false });
      const bob = await ctx.join("bob", { room, camera: false, microphone: false });
      await installHelpers(bob);
      // getDisplayMedia with Chromium's auto-select flags; the demo falls
      // back to a canvas capture stream where headless cannot capture.
      const shared = await alice.evaluate(async () => {
        const t = await window.demo.shareScreen();
        return { source: t.source, fallback: window.demo.screenFallback, label: t.mediaStreamTrack.label };
      });
      console.log(`\n  screen captured with ${shared.fallback ? "the canvas fallback" : `getDisplayMedia (${shared.label})`}`);
      assert.equal(shared.source, "screen");
      const got = await expectMediaFrom(ctx, bob, "alice", { source: "screen" });
      assert.ok(got.v.frameWidth > 0);
      assert.equal(await bob.locator('#tiles .tile[data-owner="alice"][data-source="screen"]').count(), 1);
      const info = await bob.evaluate(() => [...window.demo.room.remoteTracks.values()].map((t) => ({ owner: t.owner, source: t.source, kind: t.kind })));
      assert.ok(info.some((t) => t.owner === "alice" && t.source === "screen" && t.kind === "video"));
      await ctx.screenshot(bob, "screen-share-bob");
      // Stopping the share unpublishes it for bob.
      await alice.evaluate(() => window.demo.room.unpublish("screen"));
      await ctx.waitFor(bob, () => ![...window.demo.room.remoteTracks.values()].some((t) => t.source === "screen"), null, { what: "the screen track gone at bob" });
    },
  },
];
