/**
 * The mesh-in-the-renderer bridge (desktop and web mode): the host keeps signaling, signatures
 * and storage while a Mesh elsewhere (here @roamhq/wrtc standing in for the page's WebRTC) holds
 * the connections, attached through the same API calls the UI uses.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import { parseApiCall, type ApiArgs, type ApiCall, type ApiResults, type ParleyApi } from '../../../src/shared/api';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { startMeshBridge, type MeshBridge } from '../../../src/renderer/mesh-bridge';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, tempProfile } from '../../helpers/headless-peer';

const RTC = wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection;

/** The UI's view of a host: every call validated exactly as the web server and IPC do. */
function apiOf(host: HostApi): ParleyApi {
  return {
    call: async <C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> => {
      const parsed = parseApiCall(call, args);
      if (!parsed.ok) throw Object.assign(new Error(parsed.message), { code: parsed.code });
      return host.handle(parsed.call as C, parsed.args as ApiArgs<C>);
    },
    on: (event, listener) => host.on(event, listener),
  };
}

describe('mesh in the renderer, bridged to the host', () => {
  const hosts: HostApi[] = [];
  const bridges: MeshBridge[] = [];
  afterEach(async () => {
    bridges.splice(0).forEach((b) => b.stop());
    await Promise.all(hosts.splice(0).map((h) => h.close()));
  });

  async function startPair(): Promise<[HostApi, HostApi]> {
    const a = await startHost({ profileDir: tempProfile('ra'), name: 'a', brokerUrl: MOSQUITTO_URL });
    const b = await startHost({ profileDir: tempProfile('rb'), name: 'b', brokerUrl: MOSQUITTO_URL });
    hosts.push(a, b);
    // Both MQTT sessions up, so the contact request is not published before B subscribes.
    for (const h of [a, b]) await eventually(() => h.handle('status', {}), (s) => s.signaling === 'connected');
    return [a, b];
  }

  it('two hosts chat through bridged meshes; messages reach delivered', async () => {
    const [a, b] = await startPair();
    for (const h of [a, b]) bridges.push(await startMeshBridge(apiOf(h), () => {}, RTC));
    const incoming = new Promise<{ userId: string }>((r) => b.on('contactRequest', r));
    await a.handle('contacts.add', { userId: b.userId, name: 'b' });
    expect((await incoming).userId).toBe(a.userId);
    await b.handle('contacts.respond', { userId: a.userId, accept: true });
    await eventually(async () => (await a.handle('status', {})).peers, (p) => p[0]?.state === 'CONNECTED');

    const { id } = await a.handle('messages.send', { to: b.userId, text: 'through the page' });
    const onA = await eventually(() => a.handle('messages.list', { with: b.userId }), (ms) => ms[0]?.status === 'delivered');
    expect(onA.map((m) => [m.id, m.text])).toEqual([[id, 'through the page']]);
    const onB = await b.handle('messages.list', { with: a.userId });
    expect(onB.map((m) => m.text)).toEqual(['through the page']);
  });

  it('a second window takes over; the first is told to stand down and its reports are refused', async () => {
    const [a] = await startPair();
    const api = apiOf(a);
    const first = await api.call('mesh.attach', {});
    const detached = new Promise((r) => a.on('mesh.command', (cmd) => { if (cmd.op === 'detach' && cmd.session === first.session) r(cmd); }));
    const second = await api.call('mesh.attach', {});
    expect(second.session).not.toBe(first.session);
    await detached;
    await expect(api.call('mesh.report', { kind: 'open', session: first.session, userId: 'c'.repeat(64) })).rejects.toMatchObject({ code: 'MESH_DETACHED' });
  });

  it('rejects malformed reports at the boundary and a frame from the page is still verified by the host', async () => {
    const [a] = await startPair();
    const api = apiOf(a);
    const { session } = await api.call('mesh.attach', {});
    const bad = [
      { kind: 'frame', session, userId: 'nope', frame: 'x' },
      { kind: 'frame', session, userId: 'c'.repeat(64), frame: 'x'.repeat(70_000) },
      { kind: 'state', session, userId: 'c'.repeat(64), state: 'HACKED', attempt: 0 },
      { kind: 'launch', session },
      { kind: 'open', session: 'short', userId: 'c'.repeat(64) },
    ];
    for (const args of bad) {
      await expect(api.call('mesh.report', args as never)).rejects.toMatchObject({ code: 'BAD_ARGS' });
    }
    // A well-formed report carrying a forged frame reaches the host, which drops and counts it.
    await api.call('mesh.report', { kind: 'frame', session, userId: 'c'.repeat(64), frame: '{"v":1,"type":"CHAT_MESSAGE"}' });
    expect(a.rejectStats()['datachannel:SCHEMA'] ?? a.rejectStats()['datachannel:BAD_SIGNATURE'] ?? 0).toBeGreaterThan(0);
  });
});
