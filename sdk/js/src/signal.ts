import { DeepInfluenceError } from "./errors";
import type { ClientMessage, ServerMessage } from "./wire";

/** The part of the browser WebSocket the SDK uses (a fake in tests). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketConstructor = new (url: string) => SocketLike;

const OPEN = 1;

export interface SignalOptions {
  /** A ping goes out this often (the server takes 30 s of silence as a broken socket). */
  pingIntervalMs: number;
  /** Without any message from the server for this long, the socket is taken as broken. */
  silenceTimeoutMs: number;
}

/**
 * One signalling WebSocket: JSON messages, keep-alive pings, and one
 * `onClose` call when it ends (`expected` when we closed it or the server
 * said `closed`).
 */
export class SignalConnection {
  onMessage: (message: ServerMessage) => void = () => {};
  onClose: (expected: boolean) => void = () => {};
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pingId = 0;
  private lastHeard = Date.now();
  private ended = false;
  private expectClose = false;

  private constructor(
    private readonly socket: SocketLike,
    private readonly options: SignalOptions,
  ) {
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onclose = () => this.end();
    socket.onerror = () => {};
    this.pingTimer = setInterval(() => this.tick(), options.pingIntervalMs);
  }

  /** Opens a socket; rejects with `server_unreachable` if it does not open within `timeoutMs`. */
  static open(
    url: string,
    Socket: SocketConstructor,
    options: SignalOptions & { timeoutMs: number },
  ): Promise<SignalConnection> {
    return new Promise((resolve, reject) => {
      let socket: SocketLike;
      try {
        socket = new Socket(url);
      } catch (e) {
        reject(new DeepInfluenceError("server_unreachable", `Cannot open a WebSocket to ${url}.`, { cause: e, fatal: true }));
        return;
      }
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.onopen = socket.onclose = socket.onerror = null;
        try {
          socket.close();
        } catch {
          /* already closed */
        }
        reject(new DeepInfluenceError("server_unreachable", `The signalling server at ${url} cannot be reached (${why}).`, { fatal: true }));
      };
      const timer = setTimeout(() => fail("timed out"), options.timeoutMs);
      socket.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new SignalConnection(socket, options));
      };
      socket.onerror = () => fail("connection error");
      socket.onclose = (ev) => fail(`closed with code ${ev.code}`);
    });
  }

  get open(): boolean {
    return !this.ended && this.socket.readyState === OPEN;
  }

  /** Sends a message; false if the socket is not open (the message is lost). */
  send(message: ClientMessage): boolean {
    if (!this.open) return false;
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes on purpose (`onClose(true)`). */
  close(): void {
    this.expectClose = true;
    try {
      this.socket.close(1000, "bye");
    } catch {
      /* already closed */
    }
    this.end();
  }

  /** Drops the socket as a network failure would (`onClose(false)`); a debugging and test hook. */
  drop(): void {
    try {
      this.socket.close(4000, "dropped");
    } catch {
      /* already closed */
    }
    this.end();
  }

  private receive(data: unknown): void {
    this.lastHeard = Date.now();
    if (typeof data !== "string") return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (!message || typeof message !== "object" || typeof (message as { type?: unknown }).type !== "string") return;
    if (message.type === "closed") this.expectClose = true;
    this.onMessage(message);
  }

  private tick(): void {
    if (Date.now() - this.lastHeard > this.options.silenceTimeoutMs) {
      this.drop();
      return;
    }
    this.pingId = (this.pingId + 1) >>> 0;
    this.send({ type: "ping", id: this.pingId });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.socket.onmessage = null;
    this.socket.onclose = null;
    this.onClose(this.expectClose);
  }
}
