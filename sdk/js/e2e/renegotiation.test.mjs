// Many offers at once: three pages join together and publish camera,
// microphone and screen while the SFU renegotiates for the others' tracks
// (glare on the client's and the SFU's offers). Everyone ends up receiving
// everything.
import assert from "node:assert/strict";
import { installHelpers } from "./call.test.mjs";

export const tests = [
  {
    name: "simultaneous joins and publications all settle: every page receives every track",
    timeout: 180000,
    async run(ctx) {
      const room = ctx.room("storm");
      const names = ["ann", "ben", "cat"];
      const pages = await Promise.all(names.map((n) => ctx.join(n, { room, camera: true, microphone: true })));
      await Promise.all(pages.map((p) => p.evaluate(() => window.demo.shareScreen())));
      for (const p of pages) await installHelpers(p);
      for (const [i, page] of pages.entries()) {
        const others = names.filter((_, j) => j !== i);
        const tracks = await ctx.waitFor(
          page,
          async (others) => {
            const got = [...window.demo.room.remoteTracks.values()].filter((t) => t.subscribed).map((t) => `${t.owner}:${t.source}`);
            const want = others.flatMap((o) => [`${o}:camera`, `${o}:microphone`, `${o}:screen`]);
            if (!want.every((w) => got.includes(w))) return null;
            const s = await window.__inbound();
            const videosDecoding = s.filter((x) => x.kind === "video" && x.framesDecoded > 0).length;
            const audioFlowing = s.filter((x) => x.kind === "audio" && x.packetsReceived > 0).length;
            return videosDecoding >= 4 && audioFlowing >= 2 ? { got, videosDecoding, audioFlowing } : null;
          },
          others,
          { what: `${names[i]} receiving the camera, microphone and screen of ${others.join(" and ")}`, timeout: 60000 },
        );
        assert.equal(tracks.got.length, 6);
        const state = await page.evaluate(() => ({ sig: window.demo.room.pc.signalingState, errors: window.demo.errors }));
        assert.equal(state.sig, "stable");
        // Every offer of the server applies: a browser's first media offer
        // rolled back for the server's keeps its header extension ids, so
        // the SFU fixes them in its first offer (inactive audio and video
        // m-lines); without that, Chromium refused a later offer with
        // "RTP extension ID reassignment" and the SDK had to join afresh.
        assert.deepEqual(state.errors, [], "no errors, no fresh joins");
      }
      await ctx.screenshot(pages[0], "three-way-call");
    },
  },
];
