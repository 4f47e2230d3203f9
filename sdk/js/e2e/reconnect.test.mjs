// Reconnect: the page's socket is dropped and it resumes without leaving the room.
import assert from "node:assert/strict";
import { sleep } from "./harness.mjs";
import { expectMediaFrom, installHelpers } from "./call.test.mjs";

export const tests = [
  {
    name: "a dropped socket resumes the session (ICE restart) without leaving the room",
    timeout: 150000,
    async run(ctx) {
      const room = ctx.room("resume");
      const alice = await ctx.join("alice", { room, role: "host" });
      const bob = await ctx.join("bob", { room });
      for (const p of [alice, bob]) await installHelpers(p);
      await expectMediaFrom(ctx, bob, "alice");
      const session = await alice.evaluate(() => window.demo.room.session);
      await alice.evaluate(() => window.demo.room.debug.dropSocket());
      await ctx.waitFor(alice, () => window.demo.events.find((e) => e.name === "reconnected")?.args[0], null, { what: "alice reconnected" });
      const after = await alice.evaluate(() => ({
        session: window.demo.room.session,
        state: window.demo.room.state,
        events: window.demo.events.map((e) => e.name),
        reconnected: window.demo.events.find((e) => e.name === "reconnected").args[0],
      }));
      assert.equal(after.state, "connected");
      assert.deepEqual(after.reconnected, { resumed: true }, "the same session was resumed");
      assert.equal(after.session, session);
      assert.ok(after.events.includes("reconnecting"));
      assert.ok(!after.events.includes("disconnected"));
      // Media keeps flowing both ways after the ICE restart.
      await sleep(2000);
      await expectMediaFrom(ctx, bob, "alice");
      await expectMediaFrom(ctx, alice, "bob");
      // A second drop, then an ordinary chat, to show signalling still works.
      await alice.evaluate(() => window.demo.room.debug.dropSocket());
      await ctx.waitFor(alice, () => window.demo.events.filter((e) => e.name === "reconnected").length === 2, null, { what: "alice reconnected twice" });
      await alice.evaluate(() => window.demo.room.sendChat("still here"));
      await ctx.waitFor(bob, () => document.querySelector("#messages").textContent.includes("still here"), null, { what: "bob gets alice's chat after resuming" });
      const bobSaw = await bob.evaluate(() => window.demo.events.filter((e) => e.name === "participantLeft" || e.name === "participantJoined").map((e) => e.name));
      assert.deepEqual(bobSaw, [], "bob never saw alice leave (nor join again)");
      await ctx.screenshot(alice, "reconnect-alice");
    },
  },
];
