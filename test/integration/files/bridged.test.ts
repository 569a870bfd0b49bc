/**
 * File transfer where the data channels live in the renderer (desktop, web mode): both hosts'
 * meshes run behind the mesh bridge (@roamhq/wrtc standing in for the page's WebRTC), so every
 * chunk crosses the host⇄renderer bridge on both sides, validated as the web server does.
 */
import wrtc from '@roamhq/wrtc';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseApiCall, type ApiArgs, type ApiCall, type ApiResults, type FileInfo, type ParleyApi } from '../../../src/shared/api';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { startMeshBridge, type MeshBridge } from '../../../src/renderer/mesh-bridge';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, tempProfile } from '../../helpers/headless-peer';
import { randomFile, sha256OfFile } from './support';

const RTC = wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection;

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

function fileState(host: HostApi, id: string, states: FileInfo['state'][]): Promise<FileInfo> {
  return new Promise((resolve) => {
    const off = host.on('file', (f) => {
      if (f.id === id && states.includes(f.state)) {
        off();
        resolve(f);
      }
    });
  });
}

describe('file transfer through the renderer bridge', () => {
  const hosts: HostApi[] = [];
  const bridges: MeshBridge[] = [];
  afterEach(async () => {
    bridges.splice(0).forEach((b) => b.stop());
    await Promise.all(hosts.splice(0).map((h) => h.close()));
  });

  it('a 12 MiB file goes both ways with the SHA-256 matched', { timeout: 60_000 }, async () => {
    const a = await startHost({ profileDir: tempProfile('fa'), name: 'a', brokerUrl: MOSQUITTO_URL });
    const b = await startHost({ profileDir: tempProfile('fb'), name: 'b', brokerUrl: MOSQUITTO_URL });
    hosts.push(a, b);
    for (const h of [a, b]) await eventually(() => h.handle('status', {}), (s) => s.signaling === 'connected');
    for (const h of [a, b]) bridges.push(await startMeshBridge(apiOf(h), () => {}, RTC));
    const incoming = new Promise((r) => b.on('contactRequest', r));
    await a.handle('contacts.add', { userId: b.userId, name: 'b' });
    await incoming;
    await b.handle('contacts.respond', { userId: a.userId, accept: true });
    await eventually(() => a.handle('status', {}), (s) => s.peers[0]?.state === 'CONNECTED', 60_000);
    await eventually(() => b.handle('status', {}), (s) => s.peers[0]?.state === 'CONNECTED', 60_000);

    const work = mkdtempSync(join(tmpdir(), 'parley-bridged-'));
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const source = randomFile(work, `from-${from === a ? 'a' : 'b'}.bin`, 12 * 1024 * 1024);
      const offered = new Promise<FileInfo>((r) => to.on('file', (f) => f.state === 'offered' && r(f)));
      const { id } = await from.handle('file.send', { to: to.userId, path: source });
      expect((await offered).id).toBe(id);
      const received = fileState(to, id, ['done', 'failed']);
      const sent = fileState(from, id, ['done', 'failed']);
      await to.handle('file.accept', { id });
      const got = await received;
      expect(got).toMatchObject({ state: 'done', bytes: 12 * 1024 * 1024 });
      expect((await sent).state).toBe('done');
      expect(await sha256OfFile(got.path!)).toBe(await sha256OfFile(source));
    }
  });
});
