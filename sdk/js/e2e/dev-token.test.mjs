// The demo's "get a development token" form: an administrator logs in to
// the control API, mints a room token, and joins with it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

export const tests = [
  {
    name: "the demo mints a development token with an admin login and joins with it",
    async run(ctx) {
      const email = `admin-${process.pid}@example.org`;
      const password = "correct horse battery staple 42";
      execFileSync(ctx.server.bin, ["admin", "create", "--email", email, "--password-stdin"], { env: ctx.server.env, input: `${password}\n`, stdio: ["pipe", "ignore", "inherit"] });
      const room = ctx.room("dev");
      // The page calls the control API from its own origin: that works when
      // the control listener serves the demo too (same origin), or when the
      // control API allows the signalling origin (CORS).
      const sameOrigin = (await fetch(`${ctx.server.control}/demo`).catch(() => null))?.status === 200;
      const page = await ctx.page("dev", sameOrigin ? `${ctx.server.control}/demo?server=${encodeURIComponent(ctx.server.signalUrl)}` : undefined);
      await page.fill("#api", ctx.server.control);
      await page.fill("#email", email);
      await page.fill("#password", password);
      await page.fill("#dev-room", room);
      await page.fill("#dev-participant", "tester");
      await page.selectOption("#dev-role", "host");
      await page.click('#dev-form button[type="submit"]');
      await ctx.waitFor(page, () => document.querySelector("#token").value || document.querySelector("#dev-error").textContent, null, { what: "a token or an error" });
      const error = await page.textContent("#dev-error");
      assert.equal(error, "", `minting failed: ${error}`);
      assert.match(await page.textContent("#dev-ok"), /tester/);
      await page.uncheck("#pub-microphone");
      await page.click("#join");
      await ctx.waitFor(page, () => window.demo.room?.state === "connected", null, { what: "joined with the minted token" });
      const who = await page.evaluate(() => ({ identity: window.demo.room.identity, role: window.demo.room.role, room: window.demo.room.name }));
      assert.deepEqual(who, { identity: "tester", role: "host", room });
      await ctx.screenshot(page, "dev-token-joined");
    },
  },
];
