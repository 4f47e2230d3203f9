// Generated from proto/src/signal.rs and proto/src/sfu.rs by
// `UPDATE_TS=1 cargo test -p proto --test typescript`. Do not edit.

export type ClientMessage = { "type": "join", room: string, token: string, 
/**
 * The session id of an earlier welcome, to take that session over
 * after a broken socket.
 */
resume?: string, 
/**
 * The client's offer, with what its sending m-lines carry. Without
 * one, the welcome carries the SFU's offer (with the data channels).
 */
offer?: string, tracks: Array<TrackSpec>, } | { "type": "offer", sdp: string, 
/**
 * What each sending m-line carries (source and simulcast layers).
 */
tracks: Array<TrackSpec>, } | { "type": "answer", sdp: string, } | { "type": "subscribe", track: number, want: Want, } | { "type": "mute", track: number, muted: boolean, } | { "type": "remove", participant: string, } | { "type": "leave" } | { "type": "ping", id: number, };

export type ServerMessage = { "type": "welcome" } & Welcome | { "type": "offer", sdp: string, } | { "type": "answer", sdp: string, } | { "type": "participant_joined", participant: ParticipantInfo, } | { "type": "participant_left", participant: string, reason: LeftReason, } | { "type": "track_published", track: TrackInfo, } | { "type": "track_unpublished", track: number, } | { "type": "track_muted", track: number, muted: boolean, 
/**
 * The host muted it, not its owner.
 */
by_host: boolean, } | { "type": "speakers", participants: Array<string>, } | { "type": "layers", track: number, rids: Array<string>, } | { "type": "call_status" } & CallStatus | { "type": "error" } & SignalError | { "type": "pong", id: number, } | { "type": "closed", reason: ClosedReason, };

export type Welcome = { 
/**
 * Send it as `resume` to take this session over from a new socket.
 */
session: string, room: string, participant: string, role: Role, may_publish: Array<Source>, 
/**
 * The call this room belongs to, when it is a billed call.
 */
call: string | null, 
/**
 * Everyone in the room, oneself included.
 */
participants: Array<ParticipantInfo>, tracks: Array<TrackInfo>, ice_servers: Array<IceServer>, 
/**
 * A fresh join: the answer to the client's offer, or the SFU's offer to
 * answer. A resumed session: none; the client restarts ICE with an offer.
 */
sdp: Sdp | null, resumed: boolean, 
/**
 * How long the session waits for a new socket after the old one broke.
 */
resume_grace_ms: number, };

export type IceServer = { urls: Array<string>, username?: string, credential?: string, };

export type LeftReason = "left" | "removed_by_host" | "disconnected";

export type ClosedReason = "left" | "removed_by_host" | "replaced" | "call_ended" | "connection_lost" | "shutting_down" | "error";

export type CallStatus = { call: string, 
/**
 * Seconds in which both the expert and the paying user were present.
 */
billed_seconds: number, 
/**
 * Coins owed so far (the 10-minute minimum included).
 */
coins_used: number, 
/**
 * The paying user's wallet balance, holds excluded.
 */
balance: number, 
/**
 * Set when the balance covers less than the warning threshold.
 */
minutes_left?: number, 
/**
 * Set once the call has ended.
 */
ended?: CallEnd, };

export type CallEnd = "completed" | "host_ended" | "time_up" | "balance_exhausted";

export type SignalError = { code: ErrorCode, message: string, fatal: boolean, };

export type ErrorCode = "bad_message" | "token_invalid" | "token_expired" | "token_wrong_room" | "not_joined" | "already_joined" | "resume_refused" | "room_full" | "publish_denied" | "not_host" | "unknown_participant" | "unknown_track" | "bad_sdp" | "offer_pending" | "no_offer_pending" | "whiteboard" | "unavailable";

export type Role = "host" | "participant" | "viewer";

export type Source = "camera" | "microphone" | "screen";

export type Want = { "type": "size", width: number, height: number, } | { "type": "paused" };

export type LayerSpec = { 
/**
 * The RTP stream id (`a=rid`) of the encoding.
 */
rid: string, width: number, height: number, };

export type TrackSpec = { mid: string, source: Source, 
/**
 * Simulcast encodings, smallest first; empty for a single encoding.
 */
layers: Array<LayerSpec>, };

export type Sdp = { "type": "offer", "sdp": string } | { "type": "answer", "sdp": string };

export type TrackInfo = { track: number, owner: string, source: Source, muted: boolean, };

export type ParticipantInfo = { participant: string, role: Role, };
