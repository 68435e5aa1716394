// Types for webrocket.js, the WebRocket browser client (served by the broker at /webrocket.js,
// /webrocket.mjs and /webrocket.d.ts).

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closing' | 'closed';
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed' | 'unsubscribing';
export type ChannelType = 'normal' | 'private' | 'presence';

/** A token, {token}, or a promise of either. */
export type TokenSource = string | (() => string | { token: string } | Promise<string | { token: string }>);

export interface WebRocketOptions {
  /** Reconnect after an unexpected close (default true). */
  reconnect?: boolean;
  /** First backoff step in ms (default 1000); it doubles per failed attempt, half of it random. */
  reconnectDelay?: number;
  /** Backoff ceiling in ms (default 30000). */
  maxReconnectDelay?: number;
  /** Failed attempts in a row before giving up (default Infinity). */
  maxRetries?: number;
  /** Broadcasts and triggers kept while offline (default 1000). */
  maxQueue?: number;
  /** For authenticate(params), the 2012 yodachat style: GET authURL?params answers {"token": T}. */
  authURL?: string;
  /** A WebSocket constructor where there is no global one. */
  WebSocket?: { new (url: string): WebSocket };
  debug?: boolean;
}

export declare class WebRocketError extends Error {
  /** WWFP status code (402, 403, 454, 503, ...); 0 for an error of the client itself. */
  code: number;
  status: string;
  /** The request it answers, when known: 'auth' | 'subscribe' | 'unsubscribe' | 'broadcast' | 'trigger'. */
  request?: string;
  channel?: string;
  event?: string;
  cause?: unknown;
  constructor(code: number, status: string, message?: string, details?: object);
}

export interface Member {
  uid: string;
  /** What the member subscribed with. */
  data: Record<string, unknown>;
}

/** Presence members, one entry per connection (a user with two tabs is listed twice). */
export interface Subscribers extends Array<Member> {
  each(fn: (member: Member, index: number) => void): void;
  get(uid: string): Member | null;
  find(uid: string): Member | null;
  find(predicate: (member: Member, index: number, list: Member[]) => unknown): Member | undefined;
}

export interface Channels extends Array<Channel> {
  each(fn: (channel: Channel, index: number) => void): void;
  get(name: string): Channel | null;
  find(name: string): Channel | null;
  find(predicate: (channel: Channel, index: number, list: Channel[]) => unknown): Channel | undefined;
}

/** Payloads as WWFP sends them; user events carry their data plus channel (and sid from a browser). */
export interface SubscribedEvent { channel: string; uid?: string; subscribers?: Subscribers }
export interface MemberEvent { uid: string; channel: string; [key: string]: unknown }
export interface DisconnectedEvent { code: number; reason: string; wasConnected: boolean; attempts: number; reconnectIn: number | null }

export type Handler<T = any> = (data: T) => void;

export declare class Events {
  bind(event: string, fn: Handler): Handler;
  unbind(event: string, fn?: Handler): void;
  trigger(event: string, data?: unknown): boolean;
}

export declare class Channel {
  readonly connection: WebRocket;
  readonly name: string;
  readonly type: ChannelType;
  readonly state: SubscriptionState;
  /** Presence channels only. */
  readonly subscribers?: Subscribers;
  readonly data?: object;
  readonly hidden: boolean;
  /** Resolves when subscribed; rejects with the server's :error (e.g. 403, 454). */
  readonly ready: Promise<Channel>;
  readonly events: Events;
  subscribe(data?: object, hidden?: boolean): Promise<Channel>;
  unsubscribe(data?: object): Promise<Channel>;
  /** False (and an :error event) if refused before sending. */
  broadcast(event: string, data?: object, trigger?: string): boolean;
  bind(event: ':subscribed', fn: Handler<SubscribedEvent>): Handler;
  bind(event: ':memberJoined' | ':memberLeft', fn: Handler<MemberEvent>): Handler;
  bind(event: ':error', fn: Handler<WebRocketError>): Handler;
  bind(event: string, fn: Handler): Handler;
  unbind(event: string, fn?: Handler): void;
  on(event: string, fn: Handler): Handler;
  off(event: string, fn?: Handler): void;
  /** Runs this channel's local handlers (nothing is sent), as in 2012. */
  trigger(event: string, data?: unknown): boolean;
}

export declare class WebRocket {
  static Error: typeof WebRocketError;
  static Channel: typeof Channel;
  static Events: typeof Events;
  static version: string;
  constructor(url: string, options?: WebRocketOptions);
  readonly url: string;
  /** The same object (the 2012 library had a separate Connection). */
  readonly connection: WebRocket;
  readonly state: ConnectionState;
  readonly sid: string | null;
  readonly uid: string | null;
  readonly authenticated: boolean;
  readonly attempts: number;
  readonly channels: Channels;
  readonly events: Events;
  connect(): this;
  reconnect(): this;
  close(data?: object): Promise<void>;
  /** The function is called again after every reconnect: tokens are single use. */
  authenticate(token: TokenSource): Promise<object>;
  /** 2012 yodachat: GET options.authURL with these parameters answers {"token": T}. */
  authenticate(params: Record<string, string>): Promise<object>;
  subscribe(channel: string, data?: object, hidden?: boolean): Channel;
  unsubscribe(channel: string, data?: object): Promise<Channel | null>;
  broadcast(channel: string, event: string, data?: object, trigger?: string): boolean;
  trigger(event: string, data?: object): boolean;
  /** Hook for channel history: called for each channel re-subscribed after a reconnect. */
  recover(channel: Channel, since: number): void;
  bind(event: ':connected' | ':reconnected' | ':closed', fn: Handler<{ sid: string }>): Handler;
  bind(event: ':disconnected', fn: Handler<DisconnectedEvent>): Handler;
  bind(event: ':error', fn: Handler<WebRocketError>): Handler;
  bind(event: string, fn: Handler): Handler;
  unbind(event: string, fn?: Handler): void;
  on(event: string, fn: Handler): Handler;
  off(event: string, fn?: Handler): void;
}

export default WebRocket;
