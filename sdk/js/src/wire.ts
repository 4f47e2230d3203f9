// The signalling protocol as the SDK uses it. The types mirror
// proto/src/signal.rs and proto/src/sfu.rs; once the ts-rs output
// (src/protocol.ts) is checked in, these re-export it instead, so the SDK
// cannot drift from the server.

export type Role = "host" | "participant" | "viewer";
export type Source = "camera" | "microphone" | "screen";
export type Want = { type: "size"; width: number; height: number } | { type: "paused" };
export type LayerSpec = { rid: string; width: number; height: number };
export type TrackSpec = { mid: string; source: Source; layers: Array<LayerSpec> };
export type Sdp = { type: "offer"; sdp: string } | { type: "answer"; sdp: string };
export type TrackInfo = { track: number; owner: string; source: Source; muted: boolean };
export type ParticipantInfo = { participant: string; role: Role };
export type IceServer = { urls: Array<string>; username?: string; credential?: string };

export type ClientMessage =
  | { type: "join"; room: string; token: string; resume?: string | null; offer?: string | null; tracks: Array<TrackSpec> }
  | { type: "offer"; sdp: string; tracks: Array<TrackSpec> }
  | { type: "answer"; sdp: string }
  | { type: "subscribe"; track: number; want: Want }
  | { type: "mute"; track: number; muted: boolean }
  | { type: "remove"; participant: string }
  | { type: "leave" }
  | { type: "ping"; id: number };

export type Welcome = {
  session: string;
  room: string;
  participant: string;
  role: Role;
  may_publish: Array<Source>;
  call: string | null;
  participants: Array<ParticipantInfo>;
  tracks: Array<TrackInfo>;
  ice_servers: Array<IceServer>;
  sdp: Sdp | null;
  resumed: boolean;
  resume_grace_ms: number;
};

export type LeftReason = "left" | "removed_by_host" | "disconnected";
export type ClosedReason =
  | "left"
  | "removed_by_host"
  | "replaced"
  | "call_ended"
  | "connection_lost"
  | "shutting_down"
  | "error";
export type CallEnd = "completed" | "host_ended" | "time_up" | "balance_exhausted";
export type CallStatus = {
  call: string;
  billed_seconds: number;
  coins_used: number;
  balance: number;
  minutes_left?: number;
  ended?: CallEnd;
};
export type ErrorCode =
  | "bad_message"
  | "token_invalid"
  | "token_expired"
  | "token_wrong_room"
  | "not_joined"
  | "already_joined"
  | "resume_refused"
  | "room_full"
  | "publish_denied"
  | "not_host"
  | "unknown_participant"
  | "unknown_track"
  | "bad_sdp"
  | "offer_pending"
  | "no_offer_pending"
  | "whiteboard"
  | "unavailable";
export type SignalError = { code: ErrorCode; message: string; fatal: boolean };

export type ServerMessage =
  | ({ type: "welcome" } & Welcome)
  | { type: "offer"; sdp: string }
  | { type: "answer"; sdp: string }
  | { type: "participant_joined"; participant: ParticipantInfo }
  | { type: "participant_left"; participant: string; reason: LeftReason }
  | { type: "track_published"; track: TrackInfo }
  | { type: "track_unpublished"; track: number }
  | { type: "track_muted"; track: number; muted: boolean; by_host: boolean }
  | { type: "speakers"; participants: Array<string> }
  | { type: "layers"; track: number; rids: Array<string> }
  | ({ type: "call_status" } & CallStatus)
  | ({ type: "error" } & SignalError)
  | { type: "pong"; id: number }
  | { type: "closed"; reason: ClosedReason };
