/**
 * The registry against real storage, twice: an SQLite file and PostgreSQL (a fresh schema per
 * run, dropped after). Attackers speak raw HTTP; honest devices use the host's RegistryClient.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { RegistryClient, RegistryRequestError } from '../../../src/main/registry/registry-client';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { signAnnounce, signCoordinatorHeartbeat, signRegistryAuth, MAX_REGISTRY_BODY_BYTES } from '../../../src/shared/schemas/registry';
import type { RegistryServerHandle } from '../../../src/server/registry/registry-server';
import { DIALECTS, http, newStorage, startOn, type Storage } from './helpers';

const NET = 'parley';

function client(server: RegistryServerHandle, identity: Identity = generateIdentity()): RegistryClient {
  return new RegistryClient({ baseUrl: server.url, identity, signer: nodeSigner });
}

async function tokenFor(server: RegistryServerHandle, identity: Identity): Promise<string> {
  return client(server, identity).getToken();
}

const announceFields = (deviceId: string, signalAddr: string | null = `ws://127.0.0.1:18885/${deviceId}`) => ({
  deviceId,
  signalAddr,
  canRelay: true,
  coordinator: false,
});

async function refusal(promise: Promise<unknown>): Promise<RegistryRequestError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RegistryRequestError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe.each(DIALECTS)('registry on %s', (dialect) => {
  let storage: Storage;
  let server: RegistryServerHandle;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    storage = newStorage(dialect);
    server = await startOn(storage, { networks: ['parley', 'office'] });
    expect(server.dialect).toBe(dialect);
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await server?.close();
    await storage?.drop();
  });

  it('announce, look up, list active peers, coordinator heartbeat', async () => {
    const carol = client(server);
    const alice = client(server);
    const bob = generateIdentity();
    await carol.announce(NET, { ...announceFields('carol-dev'), coordinators: [bob.userId], ttlMs: 60_000 });
    const found = await alice.getPeer(NET, (carol as unknown as { options: { identity: Identity } }).options.identity.userId);
    expect(found).toMatchObject({ online: true, signalAddr: 'ws://127.0.0.1:18885/carol-dev', lastCoordinators: [bob.userId] });
    expect(Date.parse(found.lastSeen!)).toBeGreaterThan(Date.now() - 60_000);

    const unknown = await alice.getPeer(NET, generateIdentity().userId);
    expect(unknown).toEqual({ online: false, lastSeen: null, lastCoordinators: [] });

    const active = await alice.activePeers(NET);
    expect(active.map((p) => p.deviceId)).toContain('carol-dev');
    expect(await alice.activePeers('office')).toEqual([]);

    const coord = client(server, bob);
    await coord.heartbeat({ networkId: NET, deviceId: 'bob-dev', signalAddr: 'ws://127.0.0.1:18885/bob-dev', peers: 3, stored: 0 });
    const dave = client(server);
    const daveId = (dave as unknown as { options: { identity: Identity } }).options.identity;
    await dave.announce(NET, announceFields('dave-dev', null));
    expect(await alice.getPeer(NET, daveId.userId)).toMatchObject({ online: true, lastCoordinators: [bob.userId] });
  });

  it('a missing, malformed, unknown or expired token is 401 with a reason; a challenge works once', async () => {
    const me = generateIdentity();
    const announce = signAnnounce({ networkId: NET, ...announceFields('d1') }, me, nodeSigner);
    const url = `${server.url}/network/${NET}/announce`;
    const headerSets: Array<Record<string, string>> = [{}, { authorization: 'Bearer' }, { authorization: 'Basic abc' }, { authorization: `Bearer ${'A'.repeat(43)}` }, { authorization: "Bearer ' OR 1=1 --" }];
    for (const headers of headerSets) {
      const res = await http(url, { body: announce, headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body).toMatchObject({ error: 'UNAUTHORIZED', reason: expect.stringMatching(/token/) });
    }
    expect((await http(`${server.url}/network/${NET}/peer/${me.userId}`)).status).toBe(401);
    expect((await http(`${server.url}/network/${NET}/active-peers`)).status).toBe(401);

    const challenge = (await http(`${server.url}/auth/challenge`, { body: { userId: me.userId } })).body as { nonce: string };
    const mallory = generateIdentity();
    const forged = { ...signRegistryAuth(challenge.nonce, mallory, nodeSigner), userId: me.userId };
    expect(await http(`${server.url}/auth/token`, { body: forged })).toMatchObject({ status: 401, body: { error: 'UNAUTHORIZED' } });
    const good = signRegistryAuth(challenge.nonce, me, nodeSigner);
    const first = await http(`${server.url}/auth/token`, { body: good });
    expect(first.status).toBe(200);
    expect(await http(`${server.url}/auth/token`, { body: good })).toMatchObject({ status: 401, body: { reason: expect.stringMatching(/challenge/) } });
    const token = (first.body as { token: string }).token;
    expect((await http(url, { body: announce, headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('an expired token is 401; the client fetches a new one by itself', async () => {
    const short = await startOn(storage, { limits: { tokenTtlMs: 1500 } });
    cleanups.push(() => short.close());
    const me = generateIdentity();
    const token = await tokenFor(short, me);
    await new Promise((r) => setTimeout(r, 1700));
    expect((await http(`${short.url}/network/${NET}/active-peers`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const c = new RegistryClient({ baseUrl: short.url, identity: me, signer: nodeSigner, renewBeforeMs: 0 });
    (c as unknown as { token: { value: string; expiresAt: number } }).token = { value: token, expiresAt: Date.now() + 60_000 };
    expect(await c.activePeers(NET)).toBeInstanceOf(Array);
    expect(await c.getToken()).not.toBe(token);
  });

  it('an announce signed by another key is 403; an announce for another userId is refused and stores nothing', async () => {
    const me = generateIdentity();
    const other = generateIdentity();
    const token = await tokenFor(server, me);
    const auth = { authorization: `Bearer ${token}` };
    const url = `${server.url}/network/${NET}/announce`;
    const signedByOther = { ...signAnnounce({ networkId: NET, ...announceFields('mine') }, other, nodeSigner), userId: me.userId };
    expect(await http(url, { body: signedByOther, headers: auth })).toMatchObject({ status: 403, body: { error: 'BAD_SIGNATURE', reason: expect.any(String) } });
    const forOther = signAnnounce({ networkId: NET, ...announceFields('theirs', 'ws://evil/theirs') }, other, nodeSigner);
    expect(await http(url, { body: forOther, headers: auth })).toMatchObject({ status: 403, body: { error: 'FORBIDDEN', reason: expect.stringMatching(/another userId/) } });
    const hbForOther = signCoordinatorHeartbeat({ networkId: NET, deviceId: 'x', signalAddr: null, peers: 0, stored: 0 }, other, nodeSigner);
    expect((await http(`${server.url}/coordinator/heartbeat`, { body: hbForOther, headers: auth })).status).toBe(403);
    expect(await client(server).getPeer(NET, other.userId)).toMatchObject({ online: false, lastSeen: null });
    // Signed for another network than the URL's.
    const elsewhere = signAnnounce({ networkId: 'office', ...announceFields('mine') }, me, nodeSigner);
    expect((await http(url, { body: elsewhere, headers: auth })).status).toBe(403);
  });

  it('a malformed body is 400 with a reason naming the problem', async () => {
    const me = generateIdentity();
    const auth = { authorization: `Bearer ${await tokenFor(server, me)}` };
    const url = `${server.url}/network/${NET}/announce`;
    const valid = signAnnounce({ networkId: NET, ...announceFields('d') }, me, nodeSigner);
    const cases: Array<[unknown, RegExp]> = [
      ['{"networkId":', /JSON|json|Unexpected|body/i],
      [{ ...valid, extra: 1 }, /extra|unrecognized/i],
      [{ ...valid, canRelay: 'yes' }, /canRelay/],
      [{ ...valid, deviceId: undefined }, /deviceId/],
      [{ ...valid, ttlMs: 1 }, /ttlMs/],
      [[], /announce/],
    ];
    for (const [body, reason] of cases) {
      const res = await http(url, { body, headers: auth });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((res.body as { reason: string }).reason).toMatch(reason);
    }
    expect((await http(url, { body: 'networkId=x', headers: { ...auth, 'content-type': 'text/plain' } })).status).toBe(400);
    expect(await http(`${server.url}/auth/challenge`, { body: { userId: 'alice' } })).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/userId/) } });
    expect(await http(`${server.url}/network/${NET}/peer/not-a-user`, { headers: auth })).toMatchObject({ status: 400, body: { error: 'SCHEMA' } });
    const stale = signAnnounce({ networkId: NET, ...announceFields('d'), ts: Date.now() - 3600_000 }, me, nodeSigner);
    expect(await http(url, { body: stale, headers: auth })).toMatchObject({ status: 400, body: { error: 'STALE' } });
  });

  it('an unknown network is 404 on every network route', async () => {
    const me = generateIdentity();
    const auth = { authorization: `Bearer ${await tokenFor(server, me)}` };
    const body = signAnnounce({ networkId: 'nowhere', ...announceFields('d') }, me, nodeSigner);
    expect(await http(`${server.url}/network/nowhere/announce`, { body, headers: auth })).toMatchObject({ status: 404, body: { error: 'UNKNOWN_NETWORK' } });
    expect((await http(`${server.url}/network/nowhere/peer/${me.userId}`, { headers: auth })).status).toBe(404);
    expect((await http(`${server.url}/network/nowhere/active-peers`, { headers: auth })).status).toBe(404);
    const hb = signCoordinatorHeartbeat({ networkId: 'nowhere', deviceId: 'x', signalAddr: null, peers: 0, stored: 0 }, me, nodeSigner);
    expect((await http(`${server.url}/coordinator/heartbeat`, { body: hb, headers: auth })).status).toBe(404);
    expect(await http(`${server.url}/no/such/route`)).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } });
  });

  it('an oversize body is 413 before it is parsed', async () => {
    const me = generateIdentity();
    const auth = { authorization: `Bearer ${await tokenFor(server, me)}` };
    const body = JSON.stringify({ pad: 'x'.repeat(MAX_REGISTRY_BODY_BYTES + 100) });
    expect(await http(`${server.url}/network/${NET}/announce`, { body, headers: auth })).toMatchObject({ status: 413, body: { error: 'PAYLOAD_TOO_LARGE' } });
    expect((await http(`${server.url}/auth/challenge`, { body })).status).toBe(413);
    expect(server.stats().refused['413:PAYLOAD_TOO_LARGE']).toBeGreaterThanOrEqual(2);
  });

  it('a flood is 429 (JSON reason, counted) while other addresses are still served', async () => {
    const small = await startOn(storage, { limits: { requestsPerWindow: 20, authRequestsPerWindow: 6, windowMs: 60_000 } });
    cleanups.push(() => small.close());
    const honest = client(small);
    await honest.getToken();
    const results = [];
    for (let i = 0; i < 60; i++) results.push(await http(`${small.url}/network/${NET}/active-peers`, { localAddress: '127.0.0.2' }));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBe(40);
    expect(limited[0]!.body).toMatchObject({ error: 'RATE_LIMITED', reason: expect.stringMatching(/retry/) });
    // /auth/* has its own, tighter limit (each request writes a row).
    const auths = [];
    for (let i = 0; i < 10; i++) auths.push((await http(`${small.url}/auth/challenge`, { body: { userId: generateIdentity().userId }, localAddress: '127.0.0.3' })).status);
    expect(auths.filter((s) => s === 429)).toHaveLength(4);
    expect(small.stats().refused['429:RATE_LIMITED']).toBe(44);
    expect(await honest.activePeers(NET)).toBeInstanceOf(Array);
  });

  it('tables outside input can grow are capped: challenges per user and in total, devices per user', async () => {
    const capped = await startOn(storage, {
      caps: { challenges: 30, devicesPerUser: 3 },
      limits: { authRequestsPerWindow: 1000 },
    });
    cleanups.push(() => capped.close());
    const many = client(capped, generateIdentity());
    await many.getToken();
    const me = generateIdentity();
    const nonces: string[] = [];
    for (let i = 0; i < 10; i++) nonces.push(((await http(`${capped.url}/auth/challenge`, { body: { userId: me.userId } })).body as { nonce: string }).nonce);
    // Only the newest few stay valid: the oldest nonce was dropped, the newest works.
    expect((await http(`${capped.url}/auth/token`, { body: signRegistryAuth(nonces[0]!, me, nodeSigner) })).status).toBe(401);
    expect((await http(`${capped.url}/auth/token`, { body: signRegistryAuth(nonces[9]!, me, nodeSigner) })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await http(`${capped.url}/auth/challenge`, { body: { userId: generateIdentity().userId } })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(capped.stats().refused['429:CAPACITY']).toBeGreaterThan(0);

    for (let i = 0; i < 3; i++) await many.announce(NET, announceFields(`dev-${i}`));
    const err = await refusal(many.announce(NET, announceFields('dev-3')));
    expect(err).toMatchObject({ status: 429, error: 'CAPACITY' });
    await many.announce(NET, announceFields('dev-1')); // a known device still renews
  });

  it('SQL-looking strings are stored and returned verbatim', async () => {
    const tricky = client(server);
    const id = (tricky as unknown as { options: { identity: Identity } }).options.identity;
    const addr = "ws://h/x');DROP/**/TABLE/**/peers;--";
    const addrs = [addr, 'wss://h/";DELETE/**/FROM/**/auth_tokens;--', "ws://h/'OR'1'='1'--"];
    await tricky.announce(NET, { deviceId: 'Robert_-DROP-TABLE', signalAddr: addr, signalAddrs: addrs, canRelay: false, coordinator: true });
    const looked = await client(server).getPeer(NET, id.userId);
    expect(looked).toMatchObject({ online: true, signalAddr: addr, signalAddrs: addrs });
    const listed = (await client(server).activePeers(NET)).find((p) => p.userId === id.userId);
    expect(listed).toMatchObject({ deviceId: 'Robert_-DROP-TABLE', signalAddr: addr, coordinator: true, canRelay: false });
    expect((await client(server).activePeers(NET)).length).toBeGreaterThan(1); // the tables are all still there
  });

  it('an older announce never rolls a device back', async () => {
    const me = generateIdentity();
    const auth = { authorization: `Bearer ${await tokenFor(server, me)}` };
    const url = `${server.url}/network/${NET}/announce`;
    const t = Date.now();
    const newer = signAnnounce({ networkId: NET, ...announceFields('d', 'ws://new/d'), ts: t }, me, nodeSigner);
    const older = signAnnounce({ networkId: NET, ...announceFields('d', 'ws://old/d'), ts: t - 10_000 }, me, nodeSigner);
    expect((await http(url, { body: newer, headers: auth })).status).toBe(200);
    expect((await http(url, { body: older, headers: auth })).status).toBe(200);
    expect(await client(server).getPeer(NET, me.userId)).toMatchObject({ signalAddr: 'ws://new/d' });
  });

  it('a restart loses nothing: tokens, peers and coordinators survive', async () => {
    const first = await startOn(storage);
    const me = generateIdentity();
    const c = client(first, me);
    await c.announce(NET, { ...announceFields('survivor'), ttlMs: 600_000 });
    const token = await c.getToken();
    const before = await client(first).getPeer(NET, me.userId);
    await first.close();
    const second = await startOn(storage);
    cleanups.push(() => second.close());
    const res = await http(`${second.url}/network/${NET}/peer/${me.userId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res).toEqual({ status: 200, body: before });
    expect(before).toMatchObject({ online: true, signalAddr: 'ws://127.0.0.1:18885/survivor' });
  });
});
