// The signalling protocol as the SDK uses it: the types generated from
// proto/src/signal.rs and proto/src/sfu.rs by ts-rs (src/protocol.ts, kept
// equal to the Rust definitions by proto's tests), so the SDK cannot drift
// from the server.
export type {
  CallEnd,
  CallStatus,
  ClientMessage,
  ClosedReason,
  ErrorCode,
  IceServer,
  LayerSpec,
  LeftReason,
  ParticipantInfo,
  Role,
  Sdp,
  ServerMessage,
  SignalError,
  Source,
  TrackInfo,
  TrackSpec,
  Want,
  Welcome,
} from "./protocol";
