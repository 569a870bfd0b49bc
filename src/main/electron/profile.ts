/** Command-line profile selection for the desktop app (no electron import, so it is testable). */
import { resolve } from 'node:path';

/**
 * `--profile DIR`, `--profile=DIR`, `--user-data-dir DIR` or `--user-data-dir=DIR`; the last one
 * given wins. Returns an absolute path, or null to keep Electron's default.
 */
export function profileFromArgv(argv: readonly string[], cwd: string = process.cwd()): string | null {
  let found: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    for (const flag of ['--profile', '--user-data-dir']) {
      if (arg === flag && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) found = argv[++i]!;
      else if (arg.startsWith(`${flag}=`) && arg.length > flag.length + 1) found = arg.slice(flag.length + 1);
    }
  }
  return found === null ? null : resolve(cwd, found);
}
