import { DeepInfluenceError } from "./errors";
import type { Role, Source } from "./wire";

/** What a room token says about its holder (the JWT payload, unchecked). */
export interface RoomTokenClaims {
  /** The participant's name in the room. */
  sub: string;
  room: string;
  role: Role;
  publish: Source[];
  call?: string;
  /** Issued and expiry times, Unix seconds. */
  iat?: number;
  exp: number;
}

function base64UrlDecode(part: string): string {
  let b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  while (b64.length % 4) b64 += "=";
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/**
 * Reads a room token's payload without checking its signature (the server
 * does that). Throws `token_invalid` if it is not a JWT with the room claims.
 */
export function parseRoomToken(token: string): RoomTokenClaims {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || !parts[1]) {
    throw new DeepInfluenceError("token_invalid", "The room token is not a JWT (three dot-separated parts).", {
      fatal: true,
    });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(base64UrlDecode(parts[1]));
  } catch (e) {
    throw new DeepInfluenceError("token_invalid", "The room token's payload is not base64url JSON.", {
      fatal: true,
      cause: e,
    });
  }
  const p = payload as Partial<RoomTokenClaims> | null;
  if (
    !p ||
    typeof p !== "object" ||
    typeof p.room !== "string" ||
    typeof p.sub !== "string" ||
    typeof p.role !== "string" ||
    typeof p.exp !== "number"
  ) {
    throw new DeepInfluenceError("token_invalid", "The room token lacks room, sub, role or exp.", { fatal: true });
  }
  return {
    sub: p.sub,
    room: p.room,
    role: p.role,
    publish: Array.isArray(p.publish) ? p.publish : [],
    call: p.call,
    iat: p.iat,
    exp: p.exp,
  };
}
