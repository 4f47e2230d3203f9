import { defineConfig } from "vitest/config";

// Unit tests only; the end-to-end tests (e2e/*.test.mjs) run with `npm run e2e`.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], environment: "node" } });
