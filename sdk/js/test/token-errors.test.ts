import { describe, expect, it } from "vitest";
import { parseRoomToken } from "../src/token";
import { DeepInfluenceError, mediaError } from "../src/errors";
import { token } from "./fakes";

describe("parseRoomToken", () => {
  it("reads the claims of a room token", () => {
    const t = token({ sub: "alice", room: "r-1", role: "host", publish: ["camera", "microphone"], call: "c9", iat: 1, exp: 2000000000 });
    expect(parseRoomToken(t)).toEqual({
      sub: "alice",
      room: "r-1",
      role: "host",
      publish: ["camera", "microphone"],
      call: "c9",
      iat: 1,
      exp: 2000000000,
    });
  });

  it("decodes base64url with - and _ and non-ASCII names", () => {
    // "ÿ?>" style payloads produce - and _ in base64url.
    const t = token({ sub: "zoé ÿ??>>>", room: "salle-été", role: "viewer", publish: [], exp: 5 });
    expect(t.split(".")[1]).toMatch(/[-_]/);
    const c = parseRoomToken(t);
    expect(c.sub).toBe("zoé ÿ??>>>");
    expect(c.room).toBe("salle-été");
  });

  it.each([
    ["not a jwt", "abc"],
    ["two parts", "a.b"],
    ["payload not json", "a.bm90IGpzb24.c"],
    ["missing room", token({ sub: "a", role: "host", exp: 1 })],
    ["exp not a number", token({ sub: "a", room: "r", role: "host", exp: "soon" })],
  ])("refuses %s with token_invalid", (_why, t) => {
    try {
      parseRoomToken(t);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DeepInfluenceError);
      expect((e as DeepInfluenceError).code).toBe("token_invalid");
    }
  });
});

describe("mediaError", () => {
  it.each([
    ["NotAllowedError", "permission_denied"],
    ["SecurityError", "permission_denied"],
    ["NotFoundError", "device_unavailable"],
    ["NotReadableError", "device_unavailable"],
    ["OverconstrainedError", "device_unavailable"],
  ])("maps %s to %s", (name, code) => {
    const e = mediaError(Object.assign(new Error("x"), { name }));
    expect(e).toBeInstanceOf(DeepInfluenceError);
    expect(e.code).toBe(code);
    expect((e as any).cause.name).toBe(name);
  });
});
