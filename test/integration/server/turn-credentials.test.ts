/**
 * ICE servers and TURN credentials from the config file reach the clients: `parley server
 * --registry --config` with `turn.secret` (coturn's use-auth-secret) hands each user
 * time-limited credentials at `GET /ice`; the host merges them under its own `--ice` entries and a
 * real coturn accepts them. Both peers are forced to relay (iceTransportPolicy 'relay'), so the
 * chat that works went through a TURN allocation made with the server's credentials.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wrtc from '@roamhq/wrtc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { registryClientFactory } from '../../../src/main/host/reach-clients';
import { Mesh } from '../../../src/renderer/mesh';
import { coturnUnavailable, startCoturn, type Coturn } from '../../helpers/coturn';
import { eventually, tempProfile } from '../../helpers/headless-peer';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';

const unavailable = coturnUnavailable();
if (unavailable) console.warn(`TURN credentials test skipped: ${unavailable}`);

const TURN_PORT = Number(process.env.PARLEY_TEST_TURN_PORT ?? 24478);
const RELAY_MIN = Number(process.env.PARLEY_TEST_TURN_RELAY_MIN ?? 24500);
const SECRET = 'parley-test-shared-secret';

const Base = wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection;
/** Relay only, and every connection kept (for getStats, and so wrtc never collects a live one). */
function relayOnly(made: { config: RTCConfiguration; pc: RTCPeerConnection }[]): typeof RTCPeerConnection {
  return class extends Base {
    constructor(config: RTCConfiguration = {}) {
      super({ ...config, iceTransportPolicy: 'relay' });
      made.push({ config, pc: this });
    }
  };
}

async function selectedPair(pc: RTCPeerConnection): Promise<{ local: string; remote: string } | null> {
  const stats = (await pc.getStats()) as unknown as Map<string, unknown>;
  let pairId: string | undefined;
  stats.forEach((value) => {
    const s = value as { type: string; selectedCandidatePairId?: string };
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId ? (stats.get(pairId) as { localCandidateId: string; remoteCandidateId: string } | undefined) : undefined;
  if (!pair) return null;
  const type = (id: string): string => (stats.get(id) as { candidateType?: string } | undefined)?.candidateType ?? '?';
  return { local: type(pair.localCandidateId), remote: type(pair.remoteCandidateId) };
}

describe.skipIf(unavailable !== null)('TURN credentials handed out by parley server (GET /ice) and used with a real coturn', () => {
  let turn: Coturn;
  let server: ServerProcess;
  const hosts: HostApi[] = [];

  beforeAll(async () => {
    turn = await startCoturn({ secret: SECRET, ip: '127.0.0.1', port: TURN_PORT, relayPorts: [RELAY_MIN, RELAY_MIN + 99], allowLoopback: true });
    const dir = mkdtempSync(join(tmpdir(), 'parley-turn-config-'));
    const config = join(dir, 'server.yaml');
    writeFileSync(config, [
      'iceServers:',
      `  - urls: stun:127.0.0.1:${TURN_PORT}`,
      'turn:',
      `  urls: ["turn:127.0.0.1:${TURN_PORT}?transport=udp"]`,
      `  secret: ${SECRET}`,
      '  ttlSeconds: 600',
      '',
    ].join('\n'));
    server = await startServerProcess(['--config', config, '--registry', '0', '--log-level', 'warn']);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.close()));
    await server?.stop();
    await turn?.stop();
  }, 60_000);

  it('GET /ice needs the Bearer token', async () => {
    const res = await fetch(`${String(server.ready.registry)}/ice`);
    expect(res.status).toBe(401);
  });

  it('both peers relay through coturn with the credentials the server gave them, and chat', async () => {
    const made: Record<string, { config: RTCConfiguration; pc: RTCPeerConnection }[]> = { alice: [], bob: [] };
    const start = async (name: 'alice' | 'bob'): Promise<HostApi> => {
      const host = await startHost({
        profileDir: tempProfile(`turn-${name}`), name, brokerUrl: String(server.ready.mqtt), registryUrl: String(server.ready.registry),
        mailbox: 'none',
        // The user's own entry for the same STUN URL wins over the server's.
        iceServers: [`stun:127.0.0.1:${TURN_PORT}`],
        registryClientFactory,
        meshFactory: (signaling, selfId, iceServers, discovery) =>
          new Mesh({ selfId, signaling, iceServers, RTCPeerConnection: relayOnly(made[name]!), ...(discovery ? { discovery } : {}) }),
      });
      hosts.push(host);
      return host;
    };
    const alice = await start('alice');
    const bob = await start('bob');
    await eventually(() => Promise.all([alice.handle('status', {}), bob.handle('status', {})]), (s) => s.every((x) => x.signaling === 'connected'));
    const requested = new Promise<void>((r) => bob.on('contactRequest', (e) => e.userId === alice.userId && r()));
    await alice.handle('contacts.add', { userId: bob.userId, name: 'bob' });
    await requested;
    await bob.handle('contacts.respond', { userId: alice.userId, accept: true });
    const hello = await eventually(async () => {
      try {
        return await alice.handle('messages.send', { to: bob.userId, text: 'hello through the relay' });
      } catch {
        return null;
      }
    }, (r) => r !== null);
    await eventually(() => alice.handle('messages.list', { with: bob.userId }), (list) => list.some((m) => m.id === hello!.id && m.status === 'delivered'), 120_000);
    const bobGot = await bob.handle('messages.list', { with: alice.userId });
    expect(bobGot.filter((m) => m.text === 'hello through the relay')).toHaveLength(1);

    for (const [name, host] of [['alice', alice], ['bob', bob]] as const) {
      const { config } = made[name]![0]!;
      const servers = config.iceServers ?? [];
      // Own STUN entry first and only once; then the server's TURN with `expiry:userId` credentials.
      expect(servers[0]).toEqual({ urls: `stun:127.0.0.1:${TURN_PORT}` });
      expect(servers.filter((s) => JSON.stringify(s.urls).includes('stun:'))).toHaveLength(1);
      const turnEntry = servers.find((s) => JSON.stringify(s.urls).includes('turn:'));
      expect(turnEntry?.username).toMatch(new RegExp(`^\\d+:${host.userId}$`));
      expect(Number(String(turnEntry?.username).split(':')[0])).toBeGreaterThan(Date.now() / 1000);
      expect(turnEntry?.credential).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
    const pairs = await eventually(
      () => Promise.all([...made.alice!, ...made.bob!].map((m) => selectedPair(m.pc))),
      (ps) => ps.some((p) => p !== null),
    );
    expect(pairs.filter((p) => p !== null).every((p) => p!.local === 'relay')).toBe(true);
    // coturn saw allocations authenticated with both users' REST credentials.
    for (const host of [alice, bob]) expect(turn.log()).toMatch(new RegExp(`user <\\d+:${host.userId}>: .*ALLOCATE processed, success`));
  }, 240_000);
});
