// A browser and the Rust test client (simpeer) in the same room see each
// other's media.
//
// The Rust client is target/debug/simpeer-join (or $SIMPEER_JOIN_BIN):
// `simpeer-join <ws-url> <room> <token> [seconds] [--receive-only]` joins
// through signalling, publishes H.264 320x180 and Opus, stays for the given
// time and prints what it decoded as JSON on stdout:
// {"connected", "video_frames_sent", "audio_frames_sent",
//  "tracks": {"<track>": {"video_frames", "decode_errors", "width", "height", "audio_frames"}}}.
// Without the binary the test is skipped (and says so).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./harness.mjs";
import { expectMediaFrom, installHelpers } from "./call.test.mjs";

const BIN = process.env.SIMPEER_JOIN_BIN || join(REPO, "target", "debug", "simpeer-join");

const SECONDS = 15;

function rustClientArgs({ url, room, token }) {
  return [url, room, token, String(SECONDS)];
}

export const tests = [
  {
    name: "a browser and the Rust test client see each other's media",
    timeout: 120000,
    async run(ctx) {
      if (!existsSync(BIN)) return ctx.skip(`${BIN} not built yet`);
      const room = ctx.room("rust");
      // The Rust client decodes H.264 only: the browser sends H.264 (simulcast).
      const browser = await ctx.join("browser", { room, options: { videoCodec: "h264" } });
      await installHelpers(browser);
      const token = ctx.token({ room, participant: "rusty" });
      const child = spawn(BIN, rustClientArgs({ url: ctx.server.signalUrl, room, token }), { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const exited = new Promise((r) => child.on("exit", (code) => r(code)));
      try {
        // The browser decodes the Rust client's H.264 320x180 and hears its Opus.
        const got = await expectMediaFrom(ctx, browser, "rusty");
        assert.equal(got.v.frameWidth, 320);
        assert.equal(got.v.frameHeight, 180);
        const code = await exited;
        assert.equal(code, 0, `simpeer-join exited with ${code}:\n${out}`);
        const report = JSON.parse(out.trim().split("\n").filter((l) => l.startsWith("{")).at(-1));
        assert.equal(report.connected, true);
        assert.ok(report.video_frames_sent > 0 && report.audio_frames_sent > 0, "the Rust client sent media");
        // What the Rust client received from the browser: its camera (one
        // simulcast layer, 16:9) and its microphone.
        const received = Object.values(report.tracks);
        const video = received.find((t) => t.video_frames > 0);
        const audio = received.find((t) => t.audio_frames > 0);
        assert.ok(video, `the Rust client decoded the browser's video: ${JSON.stringify(report)}`);
        assert.ok(audio, `the Rust client decoded the browser's audio: ${JSON.stringify(report)}`);
        assert.equal(video.decode_errors, 0);
        assert.ok(video.width > 0 && Math.abs(video.width * 9 - video.height * 16) <= 32, `16:9 video (${video.width}x${video.height})`);
      } finally {
        if (child.exitCode === null) child.kill();
      }
    },
  },
];
