#!/usr/bin/env node
// `npm start`: build what is missing, then run the desktop app, or web mode where the Electron
// binary is absent (installs made with ELECTRON_SKIP_BINARY_DOWNLOAD=1). Extra arguments are
// passed on, e.g. `npm start -- --profile /tmp/alice`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);

function electronPath() {
  try {
    const path = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n"${[command, ...commandArgs].join(' ')}" failed; fix the error above and run npm start again.`);
    process.exit(result.status ?? 1);
  }
}

function node(script, scriptArgs) {
  run(process.execPath, [join(root, script), ...scriptArgs]);
}

/**
 * npm ci never downloads Electron (package.json allowScripts denies its postinstall, so installs
 * also succeed where its download host is unreachable); fetch it here on first start instead.
 */
function fetchElectron() {
  const installer = join(root, 'node_modules/electron/install.js');
  if (!existsSync(installer) || process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return null;
  console.log('Fetching the Electron binary (first start)…');
  const result = spawnSync(process.execPath, [installer], { cwd: join(root, 'node_modules/electron'), encoding: 'utf8', timeout: 300_000 });
  if (result.status === 0) return electronPath();
  const reason = `${result.stderr ?? ''}${result.stdout ?? ''}`.split('\n').find((l) => l.trim()) ?? 'unknown error';
  console.log(`Could not download Electron: ${reason.trim()}`);
  return null;
}

const electron = electronPath() ?? fetchElectron();

if (!existsSync(join(root, 'out/renderer/index.html'))) {
  console.log('Building the UI (first start)…');
  node('node_modules/vite/bin/vite.js', ['build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn']);
}

let child;
if (electron) {
  if (!existsSync(join(root, 'out/main/index.js')) || !existsSync(join(root, 'out/preload/index.cjs'))) {
    console.log('Building the desktop app (first start)…');
    node('node_modules/electron-vite/bin/electron-vite.js', ['build']);
  }
  child = spawn(electron, [root, ...args], { cwd: root, stdio: 'inherit' });
} else {
  console.log('The Electron binary is not installed and could not be downloaded here; starting web mode instead.');
  child = spawn(process.execPath, [join(root, 'bin/parley.mjs'), 'web', ...args], { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] });
  // parley web announces itself with one JSON line; show the URL plainly as well.
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    buffered += chunk.toString();
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const url = /http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+/.exec(line)?.[0];
      if (url) console.log(`\nParley is running. Open this URL in Chromium, Chrome, Edge or Firefox:\n\n  ${url}\n\nPress Ctrl+C to stop.`);
    }
  });
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
