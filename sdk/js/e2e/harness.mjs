// End-to-end harness: starts `deepinfluence serve` on free ports with a
// temporary data directory, mints room tokens with its CLI, and opens pages
// of the demo in headless Chromium (fake camera, microphone and screen).
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const SDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = resolve(SDK_DIR, "..", "..");
export const ARTIFACTS = join(SDK_DIR, "e2e", "artifacts");

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--disable-background-networking",
  "--auto-select-desktop-capture-source=Entire screen",
  "--enable-usermedia-screen-capturing",
  "--autoplay-policy=no-user-gesture-required",
  "--disable-gpu",
  // Keep pages in the background fully running (several pages share one browser).
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

/** Participants a room takes in the e2e server. */
export const ROOM_CAPACITY = "4";

export function binary() {
  const bin = process.env.DEEPINFLUENCE_BIN || join(REPO, "target", "debug", "deepinfluence");
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: build it with \`cargo build --bin deepinfluence\` or set DEEPINFLUENCE_BIN`);
  }
  return bin;
}

/** The server, started on free ports; `stop()` ends it and removes its data. */
export async function startServer() {
  const bin = binary();
  const dataDir = mkdtempSync(join(tmpdir(), "di-e2e-"));
  const env = {
    ...process.env,
    DI_DATA_DIR: dataDir,
    DI_CONTROL__LISTEN: "127.0.0.1:0",
    DI_SIGNALLING__LISTEN: "127.0.0.1:0",
    DI_SFU__LISTEN: "127.0.0.1:0",
    DI_RECORDER__LISTEN: "127.0.0.1:0",
    DI_SFU__MEDIA__PORT: "0",
    DI_SFU__MEDIA__BIND: "127.0.0.1",
    DI_SFU__MEDIA__WORKERS: process.env.DI_SFU__MEDIA__WORKERS || "2",
    // Small rooms, so the room_full refusal can be shown (no test needs more).
    DI_SFU__MEDIA__ROOM_CAPACITY: ROOM_CAPACITY,
    // Booked calls in seconds rather than minutes: the status pushed twice a
    // second, a call the host ended settled 2 s later, one everybody left 5 s
    // later (defaults: 2 s, 30 s, 2 min).
    DI_CONTROL__CALLS__STATUS_EVERY: "500ms",
    DI_CONTROL__CALLS__REPORT_LAG: "2s",
    DI_CONTROL__CALLS__EMPTY_GRACE: "5s",
    DI_LOG_FORMAT: "human",
    RUST_LOG: process.env.RUST_LOG || "info",
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  // Run a link (or copy) of the binary under another name, so that tools
  // stopping `deepinfluence` processes by name elsewhere on the machine
  // leave this test server alone.
  const serverBin = join(dataDir, "e2e-server");
  try {
    linkSync(bin, serverBin);
  } catch {
    copyFileSync(bin, serverBin);
    chmodSync(serverBin, 0o755);
  }
  const child = spawn(serverBin, ["serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let exited = null;
  child.on("exit", (code, signal) => (exited = signal ? `killed by ${signal}` : `exited with ${code}`));
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const addresses = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not print its addresses in 60 s:\n${stdout}\n${stderr.slice(-4000)}`)), 60000);
    const check = () => {
      const found = {};
      for (const m of stdout.matchAll(/^\s+(\w+)\s+http:\/\/(\S+)/gm)) found[m[1]] = m[2];
      if (found.signalling && found.control) {
        clearTimeout(timer);
        resolvePromise(found);
      }
    };
    child.stdout.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${stdout}\n${stderr.slice(-4000)}`));
    });
  });
  const signalling = `http://${addresses.signalling}`;
  let pageBase = signalling;
  let staticServer = null;
  // The server embeds signalling/assets at build time. Pages come from its
  // /demo when it serves the same files as the checkout; otherwise (a binary
  // older than the assets, or no /demo yet) the harness serves the
  // checkout's files itself, pointing the page at the server's WebSocket.
  // E2E_SERVER_ASSETS=1 always uses the server's.
  const assets = join(REPO, "signalling", "assets");
  const served = async (path) => {
    const r = await fetch(`${signalling}${path}`).catch(() => null);
    return r && r.status === 200 ? await r.text() : null;
  };
  const [demoHtml, bundle] = await Promise.all([served("/demo"), served("/sdk/deepinfluence.js")]);
  const same = demoHtml === readFileSync(join(assets, "demo.html"), "utf8") && bundle === readFileSync(join(assets, "deepinfluence.js"), "utf8");
  if (!same && process.env.E2E_SERVER_ASSETS !== "1") {
    console.warn(
      demoHtml === null
        ? `warning: ${signalling}/demo is not served; serving signalling/assets from the harness`
        : `warning: ${bin} embeds other assets than signalling/assets (rebuild it); serving the checkout's from the harness`,
    );
    staticServer = await serveAssets();
    pageBase = `http://127.0.0.1:${staticServer.address().port}`;
  }
  return {
    bin,
    env,
    dataDir,
    addresses,
    signalling,
    control: `http://${addresses.control}`,
    signalUrl: `ws://${addresses.signalling}/v1/signal`,
    demoUrl: `${pageBase}/demo${staticServer ? `?server=${encodeURIComponent(`ws://${addresses.signalling}/v1/signal`)}` : ""}`,
    log: () => stderr,
    /** Why the server process ended, if it did. */
    exited: () => exited,
    /** Mints a room token with the CLI (`ttl` like "10m", or "-1s" for an expired one). */
    token({ room, participant, role = "participant", publish = "camera,microphone,screen", ttl = "10m" }) {
      return execFileSync(bin, ["admin", "room-token", "--room", room, "--participant", participant, "--role", role, "--publish", publish, `--ttl=${ttl}`], {
        env,
        encoding: "utf8",
      }).trim();
    },
    async stop() {
      staticServer?.close();
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill("SIGKILL");
            r();
          }, 5000);
          child.on("exit", () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function serveAssets() {
  const assets = join(REPO, "signalling", "assets");
  const files = {
    "/demo": ["demo.html", "text/html; charset=utf-8"],
    "/sdk/deepinfluence.js": ["deepinfluence.js", "text/javascript; charset=utf-8"],
  };
  const server = createServer((req, res) => {
    const f = files[new URL(req.url, "http://x").pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": f[1] }).end(readFileSync(join(assets, f[0])));
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r(server)));
}

export async function launchBrowser({ args = CHROMIUM_ARGS } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** Polls `fn` (run in the page with `arg`) until it returns a truthy value. */
export async function waitFor(page, fn, arg, { timeout = 30000, interval = 250, what = "condition" } = {}) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      last = await page.evaluate(fn, arg);
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > timeout) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function artifacts() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

// ------------------------------------------------------- in-page helpers
// Functions passed to page.evaluate: they run in the demo page.

/** Inbound RTP of the page's peer connection, with the SDK track each belongs to. */
export const inboundStats = async () => {
  const room = window.demo.room;
  if (!room?.pc) return [];
  const stats = await room.pc.getStats();
  const out = [];
  stats.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    const track = [...room.remoteTracks.values()].find((t) => t.mid === s.mid);
    out.push({
      kind: s.kind,
      mid: s.mid,
      sid: track?.sid ?? null,
      owner: track?.owner ?? null,
      source: track?.source ?? null,
      framesDecoded: s.framesDecoded ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      packetsReceived: s.packetsReceived ?? 0,
      bytesReceived: s.bytesReceived ?? 0,
      audioLevel: s.audioLevel ?? null,
    });
  });
  return out;
};

/** Outbound RTP per simulcast rid of the page's camera. */
export const outboundStats = async () => {
  const room = window.demo.room;
  if (!room?.pc) return [];
  const stats = await room.pc.getStats();
  const out = [];
  stats.forEach((s) => {
    if (s.type !== "outbound-rtp") return;
    out.push({
      kind: s.kind,
      mid: s.mid,
      rid: s.rid ?? null,
      active: s.active,
      framesEncoded: s.framesEncoded ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      bytesSent: s.bytesSent ?? 0,
      qualityLimitationReason: s.qualityLimitationReason,
    });
  });
  return out;
};
