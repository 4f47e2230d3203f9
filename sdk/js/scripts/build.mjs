// Builds the SDK: dist/deepinfluence.js (ESM bundle), dist/types (.d.ts), and
// the copy the Rust server embeds (signalling/assets/deepinfluence.js). The
// output depends only on the sources and the locked esbuild version, so the
// project's test command can check the committed copy is up to date.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const out = join(root, "dist", "deepinfluence.js");
const asset = join(root, "..", "..", "signalling", "assets", "deepinfluence.js");

rmSync(join(root, "dist"), { recursive: true, force: true });
await build({
  entryPoints: [join(root, "src", "index.ts")],
  outfile: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  charset: "utf8",
  legalComments: "none",
  sourcemap: false,
  // The committed copy is an artefact, not source: minified, it is small and
  // reads as what it is.
  minify: true,
  banner: { js: `// ${pkg.name} ${pkg.version}: built from sdk/js by \`npm run build\`; do not edit.` },
  logLevel: "warning",
});
execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(root, "tsconfig.json")], { stdio: "inherit" });
mkdirSync(dirname(asset), { recursive: true });
copyFileSync(out, asset);
console.log(`built ${out}\ncopied to ${asset}`);
