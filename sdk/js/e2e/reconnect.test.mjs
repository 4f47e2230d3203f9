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
  {
    name: "a refused resume falls back to a fresh join that publishes again",
    timeout: 150000,
    async run(ctx) {
      const room = ctx.room("rejoin");
      const alice = await ctx.join("alice", { room, role: "host" });
      const bob = await ctx.join("bob", { room });
      for (const p of [alice, bob]) await installHelpers(p);
      await expectMediaFrom(ctx, bob, "alice");
      // A session id the server does not know: it answers resume_refused.
      await alice.evaluate(() => {
        window.demo.room.session = "0000000000000000";
        window.demo.room.debug.dropSocket();
      });
      const info = await ctx.waitFor(alice, () => window.demo.events.find((e) => e.name === "reconnected")?.args[0], null, { what: "alice reconnected" });
      assert.deepEqual(info, { resumed: false }, "joined afresh");
      const state = await alice.evaluate(() => ({ state: window.demo.room.state, session: window.demo.room.session, published: [...window.demo.room.localTracks.keys()].sort() }));
      assert.equal(state.state, "connected");
      assert.notEqual(state.session, "0000000000000000");
      assert.deepEqual(state.published, ["camera", "microphone"], "the same sources published again");
      // Bob stays (a fresh join replaces alice's old session, not bob's).
      await new Promise((r) => setTimeout(r, 1000));
      const bobState = await bob.evaluate(() => ({ state: window.demo.room.state, closed: window.demo.events.find((e) => e.name === "disconnected")?.args[0] }));
      assert.deepEqual(bobState, { state: "connected", closed: undefined }, "bob is still in the room after alice joined afresh");
      // The new session's media reaches bob, and bob's reaches alice's new peer connection.
      await ctx.waitFor(bob, () => [...window.demo.room.remoteTracks.values()].filter((t) => t.owner === "alice" && t.subscribed).length === 2, null, {
        what: "bob subscribed to alice's new tracks",
      });
      await expectMediaFrom(ctx, bob, "alice");
      await expectMediaFrom(ctx, alice, "bob");
    },
  },
  {
    name: "a socket dropped while publishing: the publication completes and reaches the others",
    timeout: 150000,
    async run(ctx) {
      const room = ctx.room("midpub");
      const alice = await ctx.join("alice", { room, microphone: false });
      const bob = await ctx.join("bob", { room, camera: false, microphone: false });
      await installHelpers(bob);
      await ctx.waitFor(bob, () => [...window.demo.room.remoteTracks.values()].some((t) => t.owner === "alice" && t.source === "camera" && t.subscribed), null, {
        what: "bob subscribed to alice's camera",
      });
      // The offer for the screen is in flight (or just answered) when the socket breaks.
      const outcome = await alice.evaluate(async () => {
        const shared = window.demo.shareScreen().then((t) => t.source, (e) => `failed: ${e.code} ${e.message}`);
        await new Promise((r) => setTimeout(r, 5));
        window.demo.room.debug.dropSocket();
        return shared;
      });
      assert.equal(outcome, "screen");
      await ctx.waitFor(alice, () => window.demo.room.state === "connected" && window.demo.events.some((e) => e.name === "reconnected"), null, { what: "alice reconnected" });
      await expectMediaFrom(ctx, bob, "alice", { source: "screen" });
    },
  },
];
