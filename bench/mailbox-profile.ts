// One append at a time against a 3-node Parley mailbox cluster (no JetStream), for profiling the
// single in-flight path: `tsx bench/mailbox-profile.ts [--sync normal|full] [--ms 5000] [--cpu-prof DIR]`.
// With --cpu-prof every broker process writes a V8 CPU profile to DIR when it stops.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ParleyCluster } from './mailbox/parley';
import { AckLedger } from './mailbox/ledger';
import { cleanupAll } from './mailbox/procs';
import { runClosedLoop } from './mailbox/workload';

/** user+system CPU ms of a process (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sync: { type: 'string', default: 'normal' }, ms: { type: 'string', default: '5000' }, 'cpu-prof': { type: 'string' }, 'node-flags': { type: 'string' }, 'in-flight': { type: 'string', default: '1' }, payload: { type: 'string', default: '256' } },
  });
  const sync = values.sync === 'full' ? 'full' : 'normal';
  const cluster = new ParleyCluster({ profile: 'fast', sync, nodeFlags: [
    ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
    ...(values['node-flags'] ? values['node-flags'].split(' ').filter(Boolean) : []),
  ] });
  await cluster.start();
  const queue = `p-${Date.now()}`;
  await cluster.createQueue(queue);
  const client = await cluster.connect();
  const ledger = new AckLedger();
  const opts = { queue, payloadSize: Number(values.payload), inFlight: Number(values['in-flight']), ledger, requestIdPrefix: queue };
  await runClosedLoop(client, { ...opts, durationMs: 500, requestIdPrefix: `${queue}-w` });
  for (let i = 0; i < 3; i++) {
    const pids = cluster.pids();
    const before = pids.map(cpuMs);
    const self0 = process.cpuUsage();
    const r = await runClosedLoop(client, { ...opts, durationMs: Number(values.ms), requestIdPrefix: `${queue}-${i}` });
    const self = process.cpuUsage(self0);
    const perAppend = pids.map((pid, j) => ((cpuMs(pid) - (before[j] ?? 0)) / r.appends) * 1000);
    console.log(
      `${sync} x${opts.inFlight}: ${r.throughput.toFixed(0)} appends/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms; ` +
        `CPU µs/append: nodes ${perAppend.map((v) => v.toFixed(0)).join(' ')}, client ${((self.user + self.system) / r.appends).toFixed(0)}`,
    );
  }
  await client.close();
  await cluster.stop();
}

main().then(() => { cleanupAll(); process.exit(0); }, (e: unknown) => { console.error(e); cleanupAll(); process.exit(1); });
