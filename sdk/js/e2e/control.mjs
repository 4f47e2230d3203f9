// The control API as a user, an expert and an administrator drive it,
// against the server the harness started: accounts signed up and verified
// through the emailed link (the server writes mail to its outbox), an
// administrator made with the CLI, an expert verified and approved the way
// the product does it, coins bought from the sandbox payment provider, and
// bookings and their calls.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./harness.mjs";

export const PASSWORD = "Correct-Horse9-e2e";

/** One API request; the JSON answer, asserting its status when `expect` is given. */
export async function api(server, method, path, { token, body, headers = {}, expect } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && !(body instanceof Uint8Array)) {
    h["content-type"] ??= "application/json";
    payload = JSON.stringify(body);
  }
  const r = await fetch(`${server.control}${path}`, { method, headers: h, body: payload });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  if (expect !== undefined) assert.equal(r.status, expect, `${method} ${path}: ${text}`);
  return { status: r.status, body: json };
}

/** The token of the newest link to `email` whose URL contains `path`, from the outbox. */
async function emailedToken(server, email, path) {
  const outbox = join(server.dataDir, "outbox");
  const deadline = Date.now() + 10000;
  for (;;) {
    let files = [];
    try {
      files = readdirSync(outbox).sort().reverse();
    } catch {}
    for (const f of files) {
      const mail = readFileSync(join(outbox, f), "utf8");
      if (!mail.split(/\r?\n/).some((l) => l.startsWith("To:") && l.includes(email))) continue;
      const at = mail.indexOf(path);
      const m = at >= 0 && /token=([A-Za-z0-9_.-]+)/.exec(mail.slice(at));
      if (m) return m[1];
    }
    if (Date.now() > deadline) throw new Error(`no ${path} link emailed to ${email}`);
    await sleep(100);
  }
}

async function login(server, email, id) {
  const r = await api(server, "POST", "/api/v1/auth/login", { body: { email, password: PASSWORD }, expect: 200 });
  return { id, email, access: r.body.access_token };
}

/** Signs up (`role` user or expert), follows the emailed verification link, logs in. */
export async function account(server, { email, first = "Amira", last = "Ben Salah", role = "user" }) {
  const r = await api(server, "POST", "/api/v1/auth/signup", {
    body: { first_name: first, last_name: last, email, password: PASSWORD, ...(role === "expert" ? { role } : {}) },
    expect: 201,
  });
  const token = await emailedToken(server, email, "/api/v1/auth/verify-email");
  await api(server, "GET", `/api/v1/auth/verify-email?token=${token}`, { expect: 200 });
  return login(server, email, r.body.id);
}

/** An administrator, created as an operator does: `deepinfluence admin create`. */
export async function admin(server, email) {
  execFileSync(server.bin, ["admin", "create", "--email", email, "--password-stdin"], {
    env: server.env,
    input: `${PASSWORD}\n`,
    stdio: ["pipe", "pipe", "inherit"],
  });
  return login(server, email, null);
}

/** A valid RIB: 18 digits and the key (97 - first 18 digits x 100 mod 97). */
function rib(first18) {
  const r = [...first18].reduce((r, d) => (r * 10 + Number(d)) % 97, 0);
  return `${first18}${String(97 - ((r * 100) % 97)).padStart(2, "0")}`;
}

/** Open every day, all day, in UTC, no notice: any slot can be booked. */
export const ALWAYS_OPEN = {
  time_zone: "UTC",
  rules: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"].map((weekday) => ({ weekday, start: "00:00", end: "24:00" })),
  min_notice_minutes: 0,
  horizon_days: 90,
};

/**
 * An approved expert taking instant bookings of video calls at `rate` coins
 * a minute: profile, identity card, bank account and tax option, submitted
 * for verification and approved by `by` (an administrator), then hours.
 */
export async function approvedExpert(server, by, { email, first = "Sami", last = "Trabelsi", rate, availability = ALWAYS_OPEN }) {
  const e = await account(server, { email, first, last, role: "expert" });
  const as = (method, path, body, expect, headers) => api(server, method, path, { token: e.access, body, expect, headers });
  await as("PATCH", "/api/v1/experts/me", { bio: "Conseil en épargne", domains: ["finance"], languages: ["fr"], prices: { video_call: rate }, instant_booking: true }, 200);
  await as("PUT", "/api/v1/experts/me/documents/cin_pdf", new TextEncoder().encode("%PDF-1.7\n identity card, both sides\n%%EOF\n"), 201, { "content-type": "application/pdf" });
  await as("PUT", "/api/v1/experts/me/bank", { number: rib("080060123456789012") }, 200);
  await as("PUT", "/api/v1/experts/me/tax", { option: "withholding" }, 200);
  await as("POST", "/api/v1/experts/me/submit", {}, 200);
  await api(server, "POST", `/api/v1/admin/experts/${e.id}/approve`, { token: by.access, body: {}, expect: 200 });
  await as("PUT", "/api/v1/experts/me/availability", availability, 200);
  return e;
}

/** `who` buys `coins` from the sandbox payment provider and pays on its page. */
export async function buyCoins(server, who, coins) {
  const r = await api(server, "POST", "/api/v1/wallet/purchases", {
    token: who.access,
    headers: { "idempotency-key": randomUUID() },
    body: { coins, provider: "sandbox" },
    expect: 201,
  });
  const page = new URL(r.body.checkout_url);
  await api(server, "POST", `${page.pathname}/pay`, { body: {}, expect: 200 });
}

/** `who`'s wallet: balance, held and earnings, in millimes (500 a coin). */
export async function wallet(server, who) {
  return (await api(server, "GET", "/api/v1/wallet", { token: who.access, expect: 200 })).body;
}

/** Books `minutes` with `expert` from `start` (ms); the booking. */
export async function book(server, who, expert, start, minutes) {
  const r = await api(server, "POST", "/api/v1/bookings", {
    token: who.access,
    body: { expert_id: expert.id, start: new Date(start).toISOString().replace(".000Z", "Z"), minutes },
    expect: 201,
  });
  return r.body;
}

/** `POST /api/v1/calls/{id}/join`: a room token and where signalling is. */
export async function joinCall(server, who, booking) {
  return (await api(server, "POST", `/api/v1/calls/${booking}/join`, { token: who.access, body: {}, expect: 200 })).body;
}
