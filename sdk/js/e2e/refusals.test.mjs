// An expired token and a token for another room are refused with the documented errors.
import assert from "node:assert/strict";

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
    name: "an unreachable server is reported as server_unreachable",
    async run(ctx) {
      const page = await ctx.page("unreachable");
      const token = ctx.token({ room: ctx.room("x"), participant: "p" });
      const err = await page.evaluate((t) => window.demo.join(t, { server: "ws://127.0.0.1:9/v1/signal" }).then(() => null, (e) => e.code), token);
      assert.equal(err, "server_unreachable");
    },
  },
];
