/**
 * Issue 8 part 5: which path a connection takes behind real NATs (network namespaces, iptables
 * NAT, coturn; test/helpers/natlab.ts). `parley server` runs on 198.18.0.1 in the public
 * namespace, headless peers (@roamhq/wrtc) in two homes. Each case asserts the ICE candidate pair
 * both peers report in `peers` (read from getStats()):
 *   (a) cone NATs, STUN only: a server-reflexive pair, neither host nor relay;
 *   (b) h2 behind a symmetric NAT, STUN + TURN: a relay pair (a TURN allocation carries it);
 *   (c) h2's network drops UDP, STUN + TURN udp/tcp: h2 relays through TURN over TCP.
 * Skipped with the reason where namespaces can't be made (no root, no `ip netns`, no coturn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCandidatePair, type CandidatePair } from '../../../src/shared/candidate-pair';
import { befriend, eventually, HeadlessPeer, tempProfile } from '../../helpers/headless-peer';
import { NatLab, natlabUnavailable, PUBLIC_IP, TURN_PASS, TURN_USER, type NatVariant } from '../../helpers/natlab';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';

const unavailable = natlabUnavailable();
if (unavailable) console.warn(`NAT path tests skipped: ${unavailable}`);

const STUN = `stun:${PUBLIC_IP}:3478`;
const TURN_UDP = `turn:${TURN_USER}:${TURN_PASS}@${PUBLIC_IP}:3478?transport=udp`;
const TURN_TCP = `turn:${TURN_USER}:${TURN_PASS}@${PUBLIC_IP}:3478?transport=tcp`;

type Peer = { userId: string; state: string; candidatePair?: CandidatePair };

interface Case {
  variant: NatVariant;
  ice: string[];
  title: string;
  check: (h1: CandidatePair, h2: CandidatePair, turnLog: string) => void;
}

const CASES: Case[] = [
  {
    variant: 'cone', ice: [STUN], title: '(a) cone NATs, STUN only: a server-reflexive pair, not host, not relay',
    check: (h1, h2) => {
      for (const p of [h1, h2]) {
        expect(['srflx', 'prflx']).toContain(p.local.type);
        expect(['srflx', 'prflx']).toContain(p.remote.type);
      }
      // each side's own public mapping (198.18.x.2, its router's WAN address) is what carries it
      expect([h1.local.type, h2.local.type]).toContain('srflx');
    },
  },
  {
    variant: 'symmetric', ice: [STUN, TURN_UDP, TURN_TCP], title: '(b) h2 behind a symmetric NAT, STUN + TURN: a relay pair',
    check: (h1, h2, turnLog) => {
      // h2's mapping changes per destination, so no srflx pair works: a TURN allocation carries it,
      // h2's own (seen: relay ↔ srflx) or h1's, reached from h2's fresh mapping (relay ↔ prflx)
      const [viaRelay, other] = h2.local.type === 'relay' ? [h2, h1] : [h1, h2];
      expect(viaRelay.local.type).toBe('relay');
      expect(['relay', 'prflx']).toContain(other.remote.type);
      expect(turnLog).toMatch(/ALLOCATE processed, success/);
    },
  },
  {
    variant: 'udp-blocked', ice: [STUN, TURN_UDP, TURN_TCP], title: '(c) UDP blocked at h2: a relay pair, TURN over TCP',
    check: (h1, h2, turnLog) => {
      expect(h2.local.type).toBe('relay');
      expect(h2.local.relayProtocol).toBe('tcp');
      expect(h1.remote.type).toBe('relay');
      expect(turnLog).toMatch(/TCP/);
    },
  },
];

describe.skipIf(unavailable !== null).each(CASES)('behind real NATs: $title', ({ variant, ice, check }) => {
  let lab: NatLab;
  let server: ServerProcess;
  let turn: { log: () => string };
  const peers: HeadlessPeer[] = [];

  beforeAll(async () => {
    lab = new NatLab(variant, { prefix: 'pn' });
    lab.up();
    turn = lab.startTurn();
    // Fixed ports are private to the namespace, so they can't collide with anything on the host.
    server = await startServerProcess(['--host', PUBLIC_IP, '--mqtt', '1883', '--log-level', 'warn'], {}, 90_000, ['ip', 'netns', 'exec', lab.ns('pub')]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
    await server?.stop();
    lab?.down();
  }, 60_000);

  it('connects, chats, and reports the pair in use on both sides', async () => {
    const start = async (name: string, home: 'h1' | 'h2'): Promise<HeadlessPeer> => {
      const p = await HeadlessPeer.start({
        profile: tempProfile(`pn-${variant}-${name}`), name, broker: String(server.ready.mqtt),
        extraArgs: ['--ice', ice.join(','), '--mailbox', 'none'], wrap: ['ip', 'netns', 'exec', lab.ns(home)],
      });
      peers.push(p);
      return p;
    };
    const alice = await start('alice', 'h1');
    const bob = await start('bob', 'h2');
    await befriend(alice, bob);
    const hello = String((await alice.ok({ op: 'send', to: bob.userId, text: `across ${variant}` })).id);
    await bob.waitFor((l) => l.event === 'message' && l.id === hello, 90_000);
    await alice.waitFor((l) => l.event === 'status' && l.id === hello && l.status === 'delivered', 90_000);

    const pairOf = async (p: HeadlessPeer, other: string): Promise<CandidatePair> => {
      const peer = await eventually(
        async () => ((await p.ok({ op: 'peers' })).peers as Peer[]).find((x) => x.userId === other),
        (x) => x?.state === 'CONNECTED' && x.candidatePair !== undefined, 60_000,
      );
      return peer!.candidatePair!;
    };
    // ICE may still switch pairs in the first seconds; the mesh reads again at 1, 3 and 10 s.
    const settled = async (): Promise<[CandidatePair, CandidatePair]> => [await pairOf(alice, bob.userId), await pairOf(bob, alice.userId)];
    let [h1, h2] = await settled();
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        check(h1, h2, turn.log());
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${(err as Error).message}\nh1: ${JSON.stringify(h1)}\nh2: ${JSON.stringify(h2)}`);
        await new Promise((r) => setTimeout(r, 1_000));
        [h1, h2] = await settled();
      }
    }
    console.info(`natlab ${variant}: h1 ${describeCandidatePair(h1)}; h2 ${describeCandidatePair(h2)}`);
    // and never a host pair: the homes can't see each other's private addresses
    expect(h1.local.type).not.toBe('host');
    expect(h2.local.type).not.toBe('host');
  }, 300_000);
});
