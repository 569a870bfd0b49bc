/**
 * The seed-004 cast for discovery tests: one real `parley server` with an MQTT broker, a WebSocket
 * signal server and a registry; Alice only on the broker, Carol only on the signal server
 * (`--broker none`), Bob on both. Peers are real `parley peer --json` processes on @roamhq/wrtc.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { rmSync } from 'node:fs';
import { HeadlessPeer, befriend, eventually, messagesWith, tempProfile, waitConnected, type Line } from './headless-peer';
import { startServerProcess, type ServerProcess } from './parley-server';

export interface ReachServers {
  server: ServerProcess;
  mqtt: string;
  signal: string;
  registry: string;
  network: string;
  stop(): Promise<void>;
}

/** Step cutoffs stretched for a loaded 2-core machine (budget x slack + grace; the product's knob). */
export const DISCOVERY_ENV = {
  PARLEY_DISCOVERY_SLACK: process.env.PARLEY_DISCOVERY_SLACK ?? '10',
  PARLEY_DISCOVERY_GRACE_MS: process.env.PARLEY_DISCOVERY_GRACE_MS ?? '2000',
};

/** Starting a peer (tsx, wrtc, SQLite) took over 30 s at load average 27. */
export const PEER_READY_MS = 120_000;
/** For each wait on another process (a reply, an event) on the loaded machine. */
export const SLOW_MS = 90_000;

/** befriend() with waits sized for the loaded machine. */
export const befriendSlowly = (a: HeadlessPeer, b: HeadlessPeer): Promise<void> => befriend(a, b, SLOW_MS);

export async function startReachServers(): Promise<ReachServers> {
  const network = `disc-${randomBytes(4).toString('hex')}`;
  const server = await startServerProcess(['--mqtt', '0', '--signal', '0', '--registry', '0', '--network', network]);
  const { mqtt, signal, registry } = server.ready as Record<string, string>;
  if (!mqtt || !signal || !registry) throw new Error(`ready line lacks a server: ${JSON.stringify(server.ready)}`);
  return { server, mqtt, signal, registry, network, stop: async () => void (await server.stop()) };
}

export type Role = 'mqtt-only' | 'ws-only' | 'both';

/** The CLI flags that put a peer on the broker, the signal server, or both (all on the registry). */
export function reachArgs(s: ReachServers, role: Role, opts: { registry?: boolean } = {}): { broker: string; extraArgs: string[] } {
  const extraArgs: string[] = [];
  if (role !== 'mqtt-only') extraArgs.push('--signal', s.signal);
  if (opts.registry !== false) extraArgs.push('--registry', s.registry, '--network', s.network);
  return { broker: role === 'ws-only' ? 'none' : s.mqtt, extraArgs };
}

const profiles: string[] = [];

export async function startRolePeer(s: ReachServers, name: string, role: Role, opts: { profile?: string; registry?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<HeadlessPeer> {
  const profile = opts.profile ?? tempProfile(`disc-${name}`);
  if (!opts.profile) profiles.push(profile);
  return HeadlessPeer.start({ profile, name, ...reachArgs(s, role, opts), env: { ...DISCOVERY_ENV, ...opts.env }, readyTimeoutMs: PEER_READY_MS });
}

export function removeTrioProfiles(): void {
  for (const p of profiles.splice(0)) rmSync(p, { recursive: true, force: true });
}

/**
 * The hooks every discovery spec repeats: one set of reach servers for the file, the peers a test
 * started quit after it, the servers stopped and the profiles removed at the end.
 */
export function reachSuite(): { readonly servers: ReachServers; readonly running: HeadlessPeer[] } {
  let servers: ReachServers | undefined;
  const running: HeadlessPeer[] = [];
  beforeAll(async () => {
    servers = await startReachServers();
  }, 90_000);
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.quit()));
  });
  afterAll(async () => {
    await servers?.stop();
    removeTrioProfiles();
  });
  return {
    get servers(): ReachServers {
      if (!servers) throw new Error('reachSuite: the servers are not started yet (use them inside a test)');
      return servers;
    },
    running,
  };
}

export interface Trio {
  a: HeadlessPeer;
  b: HeadlessPeer;
  c: HeadlessPeer;
}

/** A, B, C started; B befriended A (over the broker) and C (over the signal server), both channels open. */
export async function startTrio(s: ReachServers): Promise<Trio> {
  const [a, b, c] = await Promise.all([
    startRolePeer(s, 'alice', 'mqtt-only'), startRolePeer(s, 'bob', 'both'), startRolePeer(s, 'carol', 'ws-only'),
  ]);
  await befriend(a, b, SLOW_MS);
  await befriend(c, b, SLOW_MS);
  return { a, b, c };
}

/** `from` adds `to` (the request finds its way by itself), `to` accepts; resolves when both say accepted. */
export async function addContact(from: HeadlessPeer, to: HeadlessPeer, timeoutMs = 90_000): Promise<void> {
  await from.ok({ op: 'contact.add', userId: to.userId, name: to.opts.name ?? 'peer' });
  await to.waitFor((l) => l.event === 'contactRequest' && l.userId === from.userId, timeoutMs);
  await to.ok({ op: 'contact.accept', userId: from.userId });
  await from.waitFor((l) => l.event === 'contactAccepted' && l.userId === to.userId, timeoutMs);
}

export interface StepTrace { step: string; ms: number; budgetMs: number; outcome: string; detail?: string }
export interface TraceLine { userId: string; winner: string | null; result: string; route: { signalAddr: string | null; via?: string } | null; steps: StepTrace[] }

/** The `route` op's trace once the attempt it describes has connected. */
export async function connectedTrace(p: HeadlessPeer, other: string, timeoutMs = 90_000): Promise<TraceLine> {
  const reply = await eventually(() => p.ok({ op: 'route', userId: other }), (r) => (r.trace as TraceLine | null)?.result === 'connected', timeoutMs, 300);
  return reply.trace as TraceLine;
}

/** This peer's own signal addresses (the `network` op). */
export async function signalAddrsOf(p: HeadlessPeer): Promise<string[]> {
  return (await p.ok({ op: 'network' })).signalAddrs as string[];
}

/** Sends `text` from `from` to `to`, waits until `to` shows it and `from` sees it `delivered`. */
export async function chatDelivered(from: HeadlessPeer, to: HeadlessPeer, text: string, timeoutMs = 90_000): Promise<void> {
  const { id } = await from.ok({ op: 'send', to: to.userId, text }) as Line & { id: string };
  await eventually(() => messagesWith(to, from.userId), (ms) => ms.some((m) => m.id === id && m.text === text), timeoutMs, 300);
  await eventually(() => messagesWith(from, to.userId), (ms) => ms.find((m) => m.id === id)?.status === 'delivered', timeoutMs, 300);
}

export { waitConnected };
