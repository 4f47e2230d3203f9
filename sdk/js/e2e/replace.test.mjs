// The same participant joining again (a reload, a second tab) replaces its
// old session; the others stay in the room and receive the new session's media.
import assert from "node:assert/strict";
import { expectMediaFrom, installHelpers } from "./call.test.mjs";

export const tests = [
  {
    name: "joining again as the same participant replaces the old session and leaves the others in the room",
    timeout: 120000,
    async run(ctx) {
      const room = ctx.room("replace");
      const first = await ctx.join("alice-tab1", { room, participant: "alice", role: "host" });
      const bob = await ctx.join("bob", { room });
      await installHelpers(bob);
      await expectMediaFrom(ctx, bob, "alice");
      const second = await ctx.join("alice-tab2", { room, participant: "alice", role: "host" });
      await installHelpers(second);
      const closed = await ctx.waitFor(first, () => window.demo.events.find((e) => e.name === "disconnected")?.args[0], null, { what: "the first tab closed" });
      assert.equal(closed, "replaced");
      await new Promise((r) => setTimeout(r, 1500));
      const bobState = await bob.evaluate(() => ({ state: window.demo.room.state, closed: window.demo.events.find((e) => e.name === "disconnected")?.args[0] ?? null }));
      assert.deepEqual(bobState, { state: "connected", closed: null }, "bob stays in the room");
      await expectMediaFrom(ctx, bob, "alice");
      await expectMediaFrom(ctx, second, "bob");
    },
  },
];
