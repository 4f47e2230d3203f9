// A booked call in the browser: an expert approved by an administrator, a
// user who bought coins from the sandbox provider and booked them, both
// joining with the room tokens `POST /api/v1/calls/{id}/join` minted. The
// control plane's call status (time billed, coins used, balance) reaches
// both pages through signalling, shown by the demo and told by the SDK's
// `callStatus` event; the host ends the call and both pages get the ended
// status, with the user's balance once settled. The harness runs the server
// with short call timings (`DI_CONTROL__CALLS__*`), so this takes seconds.
import assert from "node:assert/strict";
import * as control from "./control.mjs";

/** What the demo's meter shows, and what the SDK last told it. */
const meter = () => ({
  elapsed: document.querySelector("#elapsed").textContent,
  coins: document.querySelector("#coins").textContent,
  balance: document.querySelector("#balance").textContent,
  low: document.querySelector("#balance").parentElement.classList.contains("low"),
  status: window.demo.room?.callStatus ?? null,
  events: window.demo.events.filter((e) => e.name === "callStatus").map((e) => e.args[0]),
  state: window.demo.room?.state ?? null,
  messages: [...document.querySelectorAll("#messages .msg.system")].map((m) => m.textContent),
});

/** "mm:ss" or "h:mm:ss" in seconds. */
const seconds = (text) => text.split(":").reduce((total, part) => total * 60 + Number(part), 0);

export const tests = [
  {
    name: "a booked call's status (time billed, coins used, balance) reaches both pages until the host ends it",
    timeout: 150000,
    async run(ctx) {
      const s = ctx.server;
      const tag = `${process.pid}-${Date.now()}`;
      const admin = await control.admin(s, `calls-admin-${tag}@example.org`);
      const expert = await control.approvedExpert(s, admin, { email: `expert-${tag}@example.org`, rate: 2 });
      const user = await control.account(s, { email: `user-${tag}@example.org` });
      await control.buyCoins(s, user, 50);
      // 15 minutes at 2 coins (30 coins held) from the next whole minute:
      // the join window opens 10 minutes before the start.
      const start = Math.ceil((Date.now() + 5000) / 60000) * 60000;
      const booking = await control.book(s, user, expert, start, 15);
      assert.equal(booking.state, "confirmed", "instant booking");
      const before = await control.wallet(s, user);
      assert.deepEqual([before.balance, before.held], [10000, 15000], "50 coins bought, 30 held");

      const grants = { expert: await control.joinCall(s, expert, booking.id), user: await control.joinCall(s, user, booking.id) };
      assert.deepEqual([grants.expert.role, grants.user.role], ["host", "participant"]);
      assert.equal(grants.user.room, booking.id);
      const pages = {};
      let together;
      for (const who of ["expert", "user"]) {
        pages[who] = await ctx.page(who);
        // No second together before the user starts joining (the expert is in).
        together = Date.now();
        const { token, signalling_url } = grants[who];
        await pages[who].evaluate(([token, server]) => window.demo.join(token, { server, publish: { camera: true, microphone: true } }), [token, signalling_url]);
      }

      // The status reaches the user's page: billed time, the 10-minute
      // minimum at 2 coins, and the 20 coins left in the wallet.
      const first = await ctx.waitFor(pages.user, () => {
        const s = window.demo.room?.callStatus;
        const shown = document.querySelector("#elapsed").textContent;
        return s && s.billed_seconds > 0 && shown !== "00:00" ? true : null;
      }, null, { what: "billed time on the user's page", timeout: 30000 });
      assert.ok(first);
      const a = await pages.user.evaluate(meter);
      assert.equal(a.status.call, booking.id);
      assert.equal(a.status.coins_used, 20);
      assert.equal(a.status.balance, 20);
      assert.equal(a.status.minutes_left, undefined, "no warning: the hold and wallet pay for 25 minutes");
      assert.deepEqual([a.coins, a.balance, a.low], ["20", "20", false]);
      // The elapsed time rises, and never runs ahead of the time together
      // (a second may round up).
      await ctx.waitFor(pages.user, (from) => {
        const [m, s] = document.querySelector("#elapsed").textContent.split(":").map(Number);
        return m * 60 + s >= from + 2;
      }, seconds(a.elapsed), { what: `the elapsed time rising from ${a.elapsed}` });
      const b = await pages.user.evaluate(meter);
      const upTo = (Date.now() - together) / 1000;
      assert.ok(seconds(b.elapsed) <= upTo + 1, `${b.elapsed} billed in at most ${upTo} s together`);
      assert.ok(b.status.billed_seconds >= seconds(b.elapsed), "the page shows the SDK's status");
      // The SDK told each status as an event, in order, billed time never going back.
      assert.ok(b.events.length >= 2, `${b.events.length} callStatus events`);
      for (let i = 1; i < b.events.length; i++) assert.ok(b.events[i].billed_seconds >= b.events[i - 1].billed_seconds);
      // The expert's page shows the same time and coins, not the user's balance.
      const e = await ctx.waitFor(pages.expert, (min) => {
        const s = window.demo.room?.callStatus;
        return s && s.billed_seconds >= min ? s : null;
      }, b.status.billed_seconds, { what: "the status on the expert's page" });
      assert.deepEqual([e.coins_used, e.balance], [20, 0]);
      assert.equal(await pages.expert.textContent("#coins"), "20");

      // Only the host ends the call.
      const refused = await control.api(s, "POST", `/api/v1/calls/${booking.id}/end`, { token: user.access, body: {}, expect: 403 });
      assert.equal(refused.body.code, "host_only");
      await control.api(s, "POST", `/api/v1/calls/${booking.id}/end`, { token: expert.access, body: {}, expect: 204 });
      // Once late presence reports had their time it settles, and both
      // pages get the ended status and leave.
      for (const who of ["user", "expert"]) {
        await ctx.waitFor(pages[who], () => window.demo.room?.callStatus?.ended === "host_ended" && window.demo.room.state === "disconnected", null, { what: `the ended call on the ${who}'s page`, timeout: 20000 });
      }
      const end = await pages.user.evaluate(meter);
      assert.ok(end.messages.some((m) => m.includes("The call ended (host ended)")), end.messages.join("\n"));
      assert.ok(end.messages.some((m) => m.includes("Disconnected (call ended)")), end.messages.join("\n"));
      // The minimum charged; the rest of the hold is back: 50 - 20 coins.
      assert.deepEqual([end.coins, end.balance], ["20", "30"]);
      assert.equal(await pages.expert.textContent("#balance"), "0");
      const call = (await control.api(s, "GET", `/api/v1/calls/${booking.id}`, { token: user.access, expect: 200 })).body;
      assert.deepEqual([call.end_reason, call.owed, call.no_show], ["host_ended", 10000, null]);
      assert.equal(end.status.billed_seconds, call.billed_seconds, "the page's last status is the settlement's");
      assert.equal(seconds(end.elapsed), call.billed_seconds, `the page shows the time billed (${end.elapsed})`);
      assert.ok(call.billed_seconds >= seconds(b.elapsed));
      const after = await control.wallet(s, user);
      assert.deepEqual([after.balance, after.held], [15000, 0]);
      assert.equal((await control.wallet(s, expert)).earnings, 8000, "80% of 20 coins");
      await ctx.screenshot(pages.user, "call-status-user");
    },
  },
];
