import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { artifacts, waitFor } from "./harness.mjs";

let roomCounter = 0;

/** What a test gets: the server, the browser, and helpers to open demo pages in a room. */
export class Context {
  constructor(browser, server, name) {
    this.browser = browser;
    this.server = server;
    this.name = name;
    this.pages = [];
    this.contexts = [];
    this.logs = new Map();
    this.skipReason = "";
  }

  /** A room name unique to this run. */
  room(prefix = "room") {
    return `${prefix}-${process.pid}-${++roomCounter}`;
  }

  token(opts) {
    return this.server.token(opts);
  }

  /** A demo page in its own browser context (its own fake devices and storage). */
  async page(label, url = this.server.demoUrl) {
    const context = await this.browser.newContext({ viewport: { width: 1440, height: 900 }, permissions: ["camera", "microphone"] });
    this.contexts.push(context);
    const page = await context.newPage();
    const log = [];
    this.logs.set(label, log);
    page.on("console", (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
    page.label = label;
    await page.goto(url);
    await page.waitForFunction(() => !!window.demo);
    this.pages.push(page);
    return page;
  }

  /** Opens a page and joins `room` as `participant`; returns the page once joined. */
  async join(label, { room, participant = label, role = "participant", publish = "camera,microphone,screen", camera = true, microphone = true, options = {} }) {
    const page = await this.page(label);
    const token = this.token({ room, participant, role, publish });
    await page.evaluate(
      async ([token, camera, microphone, options]) => {
        await window.demo.join(token, { publish: { camera, microphone }, ...options });
      },
      [token, camera, microphone, options],
    );
    return page;
  }

  waitFor(page, fn, arg, opts) {
    return waitFor(page, fn, arg, opts);
  }

  async screenshot(page, name) {
    const file = join(artifacts(), `${name}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  skip(reason) {
    this.skipReason = reason;
    return "skip";
  }

  async dumpOnFailure() {
    const safe = this.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    for (const page of this.pages) {
      await page.screenshot({ path: join(artifacts(), `FAILED-${safe}-${page.label}.png`) }).catch(() => {});
      const state = await page
        .evaluate(() => ({
          state: window.demo.room?.state,
          events: window.demo.events,
          errors: window.demo.errors,
          tracks: [...(window.demo.room?.remoteTracks.values() ?? [])].map((t) => ({ sid: t.sid, owner: t.owner, source: t.source, mid: t.mid, subscribed: t.subscribed })),
          signalingState: window.demo.room?.pc?.signalingState,
          connectionState: window.demo.room?.pc?.connectionState,
        }))
        .catch((e) => ({ error: String(e) }));
      writeFileSync(
        join(artifacts(), `FAILED-${safe}-${page.label}.log`),
        `${JSON.stringify(state, null, 2)}\n\n${(this.logs.get(page.label) ?? []).join("\n")}\n`,
      );
    }
    writeFileSync(join(artifacts(), `FAILED-${safe}-server.log`), this.server.log().slice(-200000));
  }

  async close() {
    for (const page of this.pages) await page.evaluate(() => window.demo.room?.leave()).catch(() => {});
    for (const c of this.contexts) await c.close().catch(() => {});
  }
}
