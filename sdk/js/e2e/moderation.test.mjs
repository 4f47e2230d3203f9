// Host moderation: the host mutes someone's microphone, then removes them.
import assert from "node:assert/strict";

export const tests = [
  {
    name: "the host mutes a participant's microphone and removes the participant",
    async run(ctx) {
      const room = ctx.room("moderation");
      const host = await ctx.join("host", { room, role: "host", camera: false, microphone: false });
      const guest = await ctx.join("guest", { room, camera: false, microphone: true });
      const mic = await ctx.waitFor(host, () => [...window.demo.room.remoteTracks.values()].find((t) => t.owner === "guest" && t.source === "microphone")?.sid, null, {
        what: "the host sees the guest's microphone",
      });
      await host.evaluate((sid) => window.demo.room.muteParticipantTrack(sid, true), mic);
      const change = await ctx.waitFor(guest, () => window.demo.events.find((e) => e.name === "muteChanged")?.args[0], null, { what: "the guest told of the host's mute" });
      assert.deepEqual({ ...change, track: undefined }, { track: undefined, participant: "guest", source: "microphone", muted: true, byHost: true, local: true });
      assert.equal(await guest.evaluate(() => window.demo.room.localTracks.get("microphone").mediaStreamTrack.enabled), false, "the guest's microphone is disabled");
      await ctx.waitFor(host, (sid) => window.demo.room.remoteTracks.get(sid)?.muted === true, mic, { what: "the host sees the microphone muted" });

      // A participant cannot moderate.
      const refused = await guest.evaluate(() => {
        try {
          window.demo.room.removeParticipant("host");
          return null;
        } catch (e) {
          return e.code;
        }
      });
      assert.equal(refused, "not_host");

      await host.evaluate(() => window.demo.room.removeParticipant("guest"));
      const gone = await ctx.waitFor(guest, () => window.demo.events.find((e) => e.name === "disconnected")?.args, null, { what: "the guest disconnected" });
      assert.equal(gone[0], "removed_by_host");
      const left = await ctx.waitFor(host, () => window.demo.events.find((e) => e.name === "participantLeft")?.args, null, { what: "the host sees the guest leave" });
      assert.equal(left[0].identity, "guest");
      assert.equal(left[1], "removed_by_host");
      // Removed means removed: the guest does not come back by itself.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await host.evaluate(() => window.demo.room.participants.has("guest")), false);
      assert.equal(await guest.evaluate(() => window.demo.room.state), "disconnected");
      await ctx.screenshot(guest, "removed-by-host");
    },
  },
];
