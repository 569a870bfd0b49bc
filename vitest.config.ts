import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native modules (better-sqlite3, @roamhq/wrtc) are happiest in child processes.
    pool: 'forks',
    // Two cores: real brokers, WebRTC and Chromium under parallel load time out spuriously.
    maxWorkers: 2,
    // Generous: multi-process WebRTC tests on a loaded 2-core machine; only there to stop hangs.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // Keeps @roamhq/wrtc connections from being garbage-collected in test workers (see the file).
    setupFiles: ['test/setup/wrtc-keep-alive.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
