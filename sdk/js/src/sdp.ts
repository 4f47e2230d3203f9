/** One m-line of an SDP, as far as the SDK needs it. */
export interface MediaSection {
  kind: string;
  mid: string | null;
  /** As written in this SDP (the sender's view). */
  direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
  /** Port 0: the m-line is stopped. */
  rejected: boolean;
  /** `a=msid:<stream> <track>`. */
  stream: string | null;
  trackId: string | null;
}

export function parseSections(sdp: string): MediaSection[] {
  const sections: MediaSection[] = [];
  let current: MediaSection | null = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      const [kind, port] = line.slice(2).split(" ");
      current = { kind: kind ?? "", mid: null, direction: "sendrecv", rejected: port === "0", stream: null, trackId: null };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith("a=mid:")) current.mid = line.slice(6);
    else if (line === "a=sendrecv" || line === "a=sendonly" || line === "a=recvonly" || line === "a=inactive") {
      current.direction = line.slice(2) as MediaSection["direction"];
    } else if (line.startsWith("a=msid:")) {
      const [stream, track] = line.slice(7).split(" ");
      current.stream = stream ?? null;
      current.trackId = track ?? null;
    }
  }
  return sections;
}

/**
 * The SFU's track number each m-line of its SDP sends (`a=msid:<owner> t<N>`),
 * keyed by mid. M-lines that send nothing are left out.
 */
export function sentTracks(sdp: string): {
  tracks: Map<string, { track: number; owner: string; kind: string }>;
  /** Every mid the SDP describes (a description that lacks a mid says nothing about it). */
  mids: Set<string>;
} {
  const out = new Map<string, { track: number; owner: string; kind: string }>();
  const mids = new Set<string>();
  for (const s of parseSections(sdp)) {
    if (s.mid) mids.add(s.mid);
    if (!s.mid || s.rejected || s.kind === "application") continue;
    if (s.direction !== "sendonly" && s.direction !== "sendrecv") continue;
    const m = /^t(\d+)$/.exec(s.trackId ?? "");
    if (!m || !s.stream) continue;
    out.set(s.mid, { track: Number(m[1]), owner: s.stream, kind: s.kind });
  }
  return { tracks: out, mids };
}
