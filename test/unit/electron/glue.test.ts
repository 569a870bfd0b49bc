/** The Electron glue's pure decisions: which profile, which sender may call the host. */
import { describe, expect, it } from 'vitest';
import { profileFromArgv } from '../../../src/main/electron/profile';
import { isTrustedSender } from '../../../src/main/electron/sender';

describe('profile selection', () => {
  it('reads --profile and --user-data-dir in both spellings, last one wins, relative to cwd', () => {
    expect(profileFromArgv(['electron', '.', '--profile', '/tmp/a'])).toBe('/tmp/a');
    expect(profileFromArgv(['electron', '.', '--profile=/tmp/b'])).toBe('/tmp/b');
    expect(profileFromArgv(['electron', '.', '--user-data-dir=/tmp/c'])).toBe('/tmp/c');
    expect(profileFromArgv(['app', '--user-data-dir', 'rel'], '/home/u')).toBe('/home/u/rel');
    expect(profileFromArgv(['app', '--profile', '/tmp/a', '--user-data-dir=/tmp/z'])).toBe('/tmp/z');
  });

  it('keeps the default when no usable profile is given', () => {
    expect(profileFromArgv(['electron', '.'])).toBeNull();
    expect(profileFromArgv(['electron', '.', '--profile'])).toBeNull();
    expect(profileFromArgv(['electron', '.', '--profile', '--inspect'])).toBeNull();
    expect(profileFromArgv(['electron', '.', '--profile='])).toBeNull();
    expect(profileFromArgv(['electron', '.', '--profiles=/tmp/x'])).toBeNull();
  });
});

describe('IPC sender check', () => {
  const page = 'file:///opt/Parley/resources/app.asar/out/renderer/index.html';
  it('accepts only the top frame of our own page', () => {
    expect(isTrustedSender(page, true, page)).toBe(true);
    expect(isTrustedSender(`${page}#/chat`, true, page)).toBe(true);
    expect(isTrustedSender(page, false, page)).toBe(false);
  });

  it('refuses other files, remote pages, look-alikes and garbage', () => {
    for (const url of [
      'file:///opt/Parley/resources/app.asar/out/renderer/other.html',
      'file:///tmp/index.html',
      'https://example.org/out/renderer/index.html',
      'http://127.0.0.1:8080/index.html',
      'file://evil-host/opt/Parley/resources/app.asar/out/renderer/index.html',
      'data:text/html,hi',
      'not a url',
      '',
      undefined,
    ]) {
      expect(isTrustedSender(url, true, page), String(url)).toBe(false);
    }
  });
});
