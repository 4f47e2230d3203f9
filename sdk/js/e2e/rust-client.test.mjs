// A browser and the Rust test client (simpeer) in the same room see each
// other's media.
//
// >>> RUST CLIENT SPOT <<<
// The Rust client binary is looked up as $SIMPEER_JOIN_BIN, or
// target/debug/simpeer-join. Until it exists this test is skipped (and says
// so). Expected interface (adjust `rustClientArgs` when it lands): it joins
// `--url <ws url> --room <room> --token <token>`, publishes a test video and
// audio track, and exits 0 once it has received media from the others
// (printing what it received), or non-zero on failure.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./harness.mjs";
import { expectMediaFrom, installHelpers } from "./call.test.mjs";

const BIN = process.env.SIMPEER_JOIN_BIN || join(REPO, "target", "debug", "simpeer-join");

function rustClientArgs({ url, room, token }) {
  return ["--url", url, "--room", room, "--token", token, "--seconds", "20"];
}

export const tests = [
  {
    name: "a browser and the Rust test client see each other's media",
    timeout: 120000,
    async run(ctx) {
      if (!existsSync(BIN)) return ctx.skip(`${BIN} not built yet`);
      const room = ctx.room("rust");
      const browser = await ctx.join("browser", { room });
      await installHelpers(browser);
      const token = ctx.token({ room, participant: "rusty" });
      const child = spawn(BIN, rustClientArgs({ url: ctx.server.signalUrl, room, token }), { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const exited = new Promise((r) => child.on("exit", (code) => r(code)));
      try {
        await expectMediaFrom(ctx, browser, "rusty");
        const code = await exited;
        assert.equal(code, 0, `the Rust client reports receiving the browser's media:\n${out}`);
      } finally {
        if (child.exitCode === null) child.kill();
      }
    },
  },
];
