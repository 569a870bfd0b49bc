/** `parley server`: one JSON ready line with working URLs, clean exit on SIGTERM and SIGINT. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventually, startClient } from './helpers';

const FIXTURE = fileURLToPath(new URL('./fixtures/server-cli.ts', import.meta.url));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.each(['SIGTERM', 'SIGINT'] as const)('parley server (stopped with %s)', (signal) => {
  it('prints {"ready":true,"mqtt","mqttWs"}, serves both, and exits 0 on the signal', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'server', '--mqtt', '0', '--mqtt-ws', '0', '--data', mkdtempSync(join(tmpdir(), 'parley-server-'))], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => out, (text) => text.includes('\n') || child.exitCode !== null, 45_000, `ready line (stderr: ${err})`);
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(1);
      const ready = JSON.parse(lines[0]!) as { ready: boolean; mqtt: string; mqttWs: string };
      expect(ready.ready).toBe(true);
      expect(ready.mqtt).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.mqttWs).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);

      const a = await startClient(ready.mqtt);
      const b = await startClient(ready.mqttWs);
      a.sig.send(b.identity.userId, 'contactRequest', { name: 'via tcp', deviceId: a.deviceId });
      await eventually(() => b.messages.length, (n) => n >= 1, 20_000, 'message across tcp and ws');
      expect(b.messages[0]).toMatchObject({ type: 'contactRequest', from: a.identity.userId });
      await Promise.all([a.sig.stop(), b.sig.stop()]);

      child.kill(signal);
      expect(await exited).toBe(0);
      const tcpPort = Number(new URL(ready.mqtt).port);
      const wsPort = Number(new URL(ready.mqttWs).port);
      expect(await portOpen(tcpPort)).toBe(false);
      expect(await portOpen(wsPort)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
