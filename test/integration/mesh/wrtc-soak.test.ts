/**
 * Finding 17: one long-lived headless peer (the product's nodeMeshFactory mesh on @roamhq/wrtc)
 * and another peer reconnecting to it, in a child process with the collector forced every cycle,
 * so a native fault on collecting closed RTCPeerConnections ends that process by a signal.
 * 100 reconnects here; PARLEY_WRTC_SOAK_RECONNECTS=1000 for the full soak.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_RETIRED } from '../../../src/main/host/node-mesh';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const RECONNECTS = Number(process.env.PARLEY_WRTC_SOAK_RECONNECTS ?? 100);

describe('wrtc reconnect soak', () => {
  it(`${RECONNECTS} reconnects with closed connections collected: no crash, retired pool bounded`, async () => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/soak/wrtc-reconnect-soak.ts', String(RECONNECTS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    const lines = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = lines.find((l) => l.done === true);
    expect({ code, signal, error: lines.find((l) => l.error)?.error ?? null }, stderr.slice(-2000)).toEqual({ code: 0, signal: null, error: null });
    expect(done?.cycles).toBe(RECONNECTS);
    expect(Number(done?.retired)).toBeLessThanOrEqual(MAX_RETIRED);
    console.log(`wrtc soak: ${JSON.stringify(done)}`);
  }, 1_200_000);
});
