// Runs the end-to-end tests (e2e/*.test.mjs) against a real server and
// headless Chromium. `npm run e2e -- <filter>` runs the tests whose file or
// name contains the filter. Each test file exports `tests`: [{ name, run(ctx) }].
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { artifacts, launchBrowser, SDK_DIR, startServer } from "./harness.mjs";
import { Context } from "./context.mjs";

const filter = process.argv.slice(2).join(" ");
const dir = join(SDK_DIR, "e2e");
const files = readdirSync(dir).filter((f) => f.endsWith(".test.mjs")).sort();
const selected = [];
for (const f of files) {
  const mod = await import(pathToFileURL(join(dir, f)).href);
  for (const t of mod.tests ?? []) {
    if (!filter || f.includes(filter) || t.name.includes(filter)) selected.push({ file: f, ...t });
  }
}
if (selected.length === 0) {
  console.error(`no e2e test matches ${JSON.stringify(filter)}`);
  process.exit(1);
}

for (const f of readdirSync(artifacts())) if (f.startsWith("FAILED-")) rmSync(join(artifacts(), f));
const server = await startServer();
console.log(`server: signalling ${server.signalling}, control ${server.control}, demo ${server.demoUrl}`);
const browser = await launchBrowser();
console.log(`browser: ${browser.version()}`);
let failed = 0;
let skipped = 0;
const results = [];
for (const t of selected) {
  const ctx = new Context(browser, server, t.name);
  const started = Date.now();
  process.stdout.write(`• ${t.file} › ${t.name} … `);
  try {
    const outcome = await Promise.race([
      t.run(ctx),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`test timed out after ${(t.timeout ?? 120000) / 1000} s`)), t.timeout ?? 120000)),
    ]);
    if (outcome === "skip") {
      skipped++;
      console.log(`skipped (${ctx.skipReason})`);
      results.push({ name: t.name, status: "skipped", reason: ctx.skipReason });
    } else {
      console.log(`ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      results.push({ name: t.name, status: "passed" });
    }
  } catch (e) {
    failed++;
    console.log("FAILED");
    if (server.exited()) console.log(`  (the server is gone: ${server.exited()}; see the server log)`);
    console.log(`  ${String(e?.stack ?? e).split("\n").join("\n  ")}`);
    await ctx.dumpOnFailure();
    results.push({ name: t.name, status: "failed", error: String(e?.message ?? e) });
  } finally {
    await ctx.close();
  }
}
await browser.close();
await server.stop();
const passed = results.filter((r) => r.status === "passed").length;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped; screenshots in ${artifacts()}`);
process.exit(failed ? 1 : 0);
