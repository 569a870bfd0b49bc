/**
 * One broker process for the scale-out benchmark: `startServers` as `parley server` runs it, with
 * the per-client publish limit lifted (the benchmark measures the broker, not the limiter).
 * argv: memory | redis URL PREFIX. Prints the ready line.
 */
import { startServers } from '../../src/server/server';
import { redisBackend } from '../../src/server/broker/persistence';

const [kind, url, prefix] = process.argv.slice(2);
const servers = await startServers({
  rateLimit: { burst: 1_000_000, perSecond: 1_000_000 },
  ...(kind === 'redis' ? { persistence: await redisBackend({ url: url!, prefix: prefix! })() } : {}),
});
process.stdout.write(`${JSON.stringify(servers.ready)}\n`);
process.on('SIGTERM', () => void servers.close().finally(() => process.exit(0)));
