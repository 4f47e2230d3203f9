import type { ErrorCode } from "./wire";

/**
 * Every failure the SDK reports. `code` is stable: the server's error codes
 * (see docs/signalling.md) plus the SDK's own for failures that never reach
 * the server.
 */
export type DeepInfluenceErrorCode =
  | ErrorCode
  /** The signalling WebSocket could not be opened (wrong URL, server down, network). */
  | "server_unreachable"
  /** The socket closed before the room was joined, or broke and could not be resumed. */
  | "connection_lost"
  /** The user (or the browser policy) refused access to the camera, microphone or screen. */
  | "permission_denied"
  /** No camera or microphone matches, or the device is in use by another program. */
  | "device_unavailable"
  /** The server did not answer in time. */
  | "timeout"
  /** The room has been left or closed: the call cannot do this any more. */
  | "room_closed"
  /** An argument the SDK refuses before asking the server (e.g. an unknown track). */
  | "invalid_argument";

const MESSAGES: Partial<Record<DeepInfluenceErrorCode, string>> = {
  token_invalid: "The room token is not valid (wrong signature or shape).",
  token_expired: "The room token has expired; ask for a new one.",
  token_wrong_room: "The room token is for another room.",
  room_full: "The room is full.",
  publish_denied: "This participant may not publish that source.",
  not_host: "Only the host may do this.",
  server_unreachable: "The signalling server cannot be reached.",
  permission_denied: "Access to the camera, microphone or screen was denied.",
  device_unavailable: "The requested camera or microphone is not available.",
  resume_refused: "The session could not be resumed.",
  unavailable: "The media server is unavailable.",
};

export class DeepInfluenceError extends Error {
  readonly code: DeepInfluenceErrorCode;
  /** The session cannot continue after this error. */
  readonly fatal: boolean;

  constructor(code: DeepInfluenceErrorCode, message?: string, options?: { fatal?: boolean; cause?: unknown }) {
    super(message ?? MESSAGES[code] ?? code);
    this.name = "DeepInfluenceError";
    this.code = code;
    this.fatal = options?.fatal ?? false;
    if (options && "cause" in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Maps a getUserMedia/getDisplayMedia failure to an SDK error. */
export function mediaError(e: unknown): DeepInfluenceError {
  if (e instanceof DeepInfluenceError) return e;
  const name = (e as { name?: string } | null)?.name ?? "";
  const message = (e as { message?: string } | null)?.message;
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return new DeepInfluenceError("permission_denied", undefined, { cause: e });
    case "NotFoundError":
    case "NotReadableError":
    case "OverconstrainedError":
    case "AbortError":
    case "DevicesNotFoundError":
    case "TrackStartError":
      return new DeepInfluenceError(
        "device_unavailable",
        `${MESSAGES.device_unavailable}${message ? ` (${message})` : ""}`,
        { cause: e },
      );
    default:
      return new DeepInfluenceError("device_unavailable", message || String(e), { cause: e });
  }
}
