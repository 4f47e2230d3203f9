// An expired token and a token for another room are refused with the documented errors.
import assert from "node:assert/strict";
import { CHROMIUM_ARGS, launchBrowser, ROOM_CAPACITY } from "./harness.mjs";

export const tests = [
  {
    name: "an expired token is refused with token_expired",
    async run(ctx) {
      const room = ctx.room("refuse");
      const page = await ctx.page("expired");
      const token = ctx.token({ room, participant: "late", ttl: "-1s" });
      const err = await page.evaluate((t) => window.demo.join(t).then(() => null, (e) => ({ name: e.name, code: e.code, fatal: e.fatal })), token);
      assert.deepEqual(err, { name: "DeepInfluenceError", code: "token_expired", fatal: true });
      const shown = await page.textContent("#join-error");
      assert.match(shown, /expired/);
      assert.match(shown, /token_expired/);
      await ctx.screenshot(page, "refused-expired");
    },
  },
  {
    name: "a token for another room is refused with token_wrong_room",
    async run(ctx) {
      const room = ctx.room("refuse");
      const page = await ctx.page("wrong-room");
      const token = ctx.token({ room: `${room}-other`, participant: "mallory" });
      const err = await page.evaluate(
        ([t, room]) => window.demo.join(t, { room }).then(() => null, (e) => ({ name: e.name, code: e.code })),
        [token, room],
      );
      assert.deepEqual(err, { name: "DeepInfluenceError", code: "token_wrong_room" });
      assert.match(await page.textContent("#join-error"), /another room/);
    },
  },
  {
    name: "a full room is refused with room_full",
    async run(ctx) {
      const room = ctx.room("full");
      for (let i = 0; i < Number(ROOM_CAPACITY); i++) await ctx.join(`p${i}`, { room, camera: false, microphone: false });
      const page = await ctx.page("one-too-many");
      const token = ctx.token({ room, participant: "extra" });
      const err = await page.evaluate((t) => window.demo.join(t).then(() => null, (e) => e.code), token);
      assert.equal(err, "room_full");
      assert.match(await page.textContent("#join-error"), /full/);
    },
  },
  {
    name: "an unreachable server is reported as server_unreachable",
    async run(ctx) {
      const page = await ctx.page("unreachable");
      const token = ctx.token({ room: ctx.room("x"), participant: "p" });
      const err = await page.evaluate((t) => window.demo.join(t, { server: "ws://127.0.0.1:9/v1/signal" }).then(() => null, (e) => e.code), token);
      assert.equal(err, "server_unreachable");
    },
  },
];

tests.push({
  name: "a camera the browser refuses is reported as permission_denied",
  async run(ctx) {
    const room = ctx.room("perm");
    // A browser that denies media permission prompts, as a user blocking the camera would.
    const browser = await launchBrowser({
      args: CHROMIUM_ARGS.filter((a) => a !== "--use-fake-ui-for-media-stream").concat("--deny-permission-prompts"),
    });
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(ctx.server.demoUrl);
      await page.waitForFunction(() => !!window.demo);
      const token = ctx.token({ room, participant: "shy" });
      const result = await page.evaluate(async (t) => {
        await window.demo.join(t, { publish: { camera: false, microphone: false } });
        const r = await window.demo.room.publishCamera().then(() => null, (e) => ({ name: e.name, code: e.code, cause: e.cause?.name }));
        return { r, state: window.demo.room.state };
      }, token);
      assert.deepEqual(result.r, { name: "DeepInfluenceError", code: "permission_denied", cause: "NotAllowedError" });
      assert.equal(result.state, "connected", "still in the room");
      await page.evaluate(() => window.demo.room.leave());
    } finally {
      await browser.close();
    }
  },
});
