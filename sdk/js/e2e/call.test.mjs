// Two pages join one room; each decodes the other's video and audio.
import assert from "node:assert/strict";
import { inboundStats, sleep } from "./harness.mjs";

/** Video and audio from `owner` on `page`: framesDecoded rising, a frame size, audio packets. */
export async function expectMediaFrom(ctx, page, owner, { source = "camera" } = {}) {
  const first = await ctx.waitFor(
    page,
    async ([owner, source]) => {
      const s = await window.__inbound();
      const v = s.find((x) => x.owner === owner && x.kind === "video" && x.source === source && x.framesDecoded > 0 && x.frameWidth > 0);
      const a = s.find((x) => x.owner === owner && x.kind === "audio" && x.packetsReceived > 0);
      return v && (source !== "camera" || a) ? { v, a } : null;
    },
    [owner, source],
    { what: `${page.label} decoding ${source} video${source === "camera" ? " and audio" : ""} of ${owner}`, timeout: 45000 },
  );
  await sleep(1500);
  const later = await page.evaluate(async ([owner, source]) => {
    const s = await window.__inbound();
    return {
      v: s.find((x) => x.owner === owner && x.kind === "video" && x.source === source),
      a: s.find((x) => x.owner === owner && x.kind === "audio"),
    };
  }, [owner, source]);
  assert.ok(later.v.framesDecoded > first.v.framesDecoded, `${page.label}: framesDecoded of ${owner}'s ${source} rises (${first.v.framesDecoded} → ${later.v.framesDecoded})`);
  if (source === "camera") {
    assert.ok(later.a.packetsReceived > first.a.packetsReceived, `${page.label}: audio packets from ${owner} keep coming`);
  }
  return later;
}

export async function installHelpers(page) {
  await page.evaluate(`window.__inbound = ${inboundStats.toString()}`);
}

export const tests = [
  {
    name: "two pages join one room and each decodes the other's video and audio",
    async run(ctx) {
      const room = ctx.room("call");
      const alice = await ctx.join("alice", { room, role: "host" });
      const bob = await ctx.join("bob", { room });
      for (const p of [alice, bob]) await installHelpers(p);
      const atBob = await expectMediaFrom(ctx, bob, "alice");
      const atAlice = await expectMediaFrom(ctx, alice, "bob");
      // The camera is captured at 1280x720 and sent as 320x180, 640x360 and
      // 1280x720 (the encoder may scale a layer down further when the CPU is
      // busy): a 16:9 frame no larger than the capture.
      for (const v of [atBob.v, atAlice.v]) {
        assert.ok(v.frameWidth >= 100 && v.frameWidth <= 1280, `frame width ${v.frameWidth} within the camera's layers`);
        assert.ok(Math.abs(v.frameWidth * 9 - v.frameHeight * 16) <= 16 * 2, `16:9 frames (${v.frameWidth}x${v.frameHeight})`);
      }
      // The demo page shows the other's tile.
      assert.equal(await bob.locator('#tiles .tile[data-owner="alice"][data-source="camera"]').count(), 1);
      // Chat goes through the chat channel with the sender's name.
      await alice.fill("#chat-text", "hello from alice");
      await alice.press("#chat-text", "Enter");
      await ctx.waitFor(bob, () => [...document.querySelectorAll("#messages .msg b")].some((b) => b.textContent === "alice" && b.parentElement.textContent.includes("hello from alice")), null, { what: "bob sees alice's chat" });
      await ctx.screenshot(alice, "call-alice");
      await ctx.screenshot(bob, "call-bob");
    },
  },
];
