import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('parley server --mailbox', () => {
  it('runs a one-node mailbox beside the broker that stores and serves appends', async () => {
    const data = mkdtempSync(join(tmpdir(), 'parley-server-'));
    const child = spawn(process.execPath, ['bin/parley.mjs', 'server', '--mailbox', '0', '--data', data], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const ready = JSON.parse(line) as { ready: boolean; mqtt: string; mailbox: string };
      expect(ready.ready).toBe(true);
      expect(ready.mailbox).toMatch(/^127\.0\.0\.1:\d+$/);
      const client = new MailboxClient({ seeds: [ready.mailbox] });
      try {
        await client.create('box:test');
        const { seq } = await client.append('box:test', 'sealed payload');
        expect(seq).toBe(1);
        expect(await client.read('box:test', 'device-1')).toEqual({ seq: 1, data: 'sealed payload' });
      } finally {
        client.close();
      }
    } finally {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      rmSync(data, { recursive: true, force: true });
      expect(code).toBe(0);
    }
  });
});
