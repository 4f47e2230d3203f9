import { describe, expect, it } from "vitest";
import { parseSections, sentTracks } from "../src/sdp";

const SDP = [
  "v=0",
  "o=str0m-0.25.0 1 2 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1 2 3 4",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "a=mid:0",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "a=mid:1",
  "a=sendonly",
  "a=msid:alice t4",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:2",
  "a=sendonly",
  "a=msid:alice t5",
  "m=video 0 UDP/TLS/RTP/SAVPF 96",
  "a=mid:3",
  "a=inactive",
  "a=msid:bob t7",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "a=mid:4",
  "a=recvonly",
  "",
].join("\r\n");

describe("sdp", () => {
  it("parses m-lines: kind, mid, direction, msid, stopped", () => {
    expect(parseSections(SDP).map((s) => [s.kind, s.mid, s.direction, s.rejected, s.stream, s.trackId])).toEqual([
      ["application", "0", "sendrecv", false, null, null],
      ["video", "1", "sendonly", false, "alice", "t4"],
      ["audio", "2", "sendonly", false, "alice", "t5"],
      ["video", "3", "inactive", true, "bob", "t7"],
      ["video", "4", "recvonly", false, null, null],
    ]);
  });

  it("maps the mids the SFU sends on to track numbers and owners", () => {
    const { tracks, mids } = sentTracks(SDP);
    expect([...tracks.entries()]).toEqual([
      ["1", { track: 4, owner: "alice", kind: "video" }],
      ["2", { track: 5, owner: "alice", kind: "audio" }],
    ]);
    expect([...mids]).toEqual(["0", "1", "2", "3", "4"]);
  });
});
