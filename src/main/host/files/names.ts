/**
 * Turning a name chosen by a remote peer into a file name that is safe to create in the downloads
 * folder, on every OS we ship to: no directories (either separator), no `..`, no control or
 * Windows-forbidden characters, no Windows device names (CON, NUL, COM1, …, also with an
 * extension), no trailing dots or spaces, at most 200 bytes of UTF-8 with the extension kept.
 */
import { existsSync, linkSync, copyFileSync, constants as fsConstants, unlinkSync } from 'node:fs';
import { basename, extname, join, resolve, dirname } from 'node:path';

const MAX_NAME_BYTES = 200;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// Control characters and what Windows forbids in names: < > : " / \ | ? *
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f<>:"/\\|?*]/g;

export interface SanitizedName {
  name: string;
  /** The offered name had to be changed (a path, a reserved name, forbidden characters…). */
  changed: boolean;
}

export function sanitizeFileName(offered: string): SanitizedName {
  // Only the last path component, whichever separator the sender's OS uses.
  let name = offered.split(/[/\\]/).pop() ?? '';
  name = name.normalize('NFC').replace(FORBIDDEN, '_').replace(/[. ]+$/, '').trim();
  if (name === '' || /^\.+$/.test(name)) name = 'file';
  if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
  name = truncateKeepingExtension(name, MAX_NAME_BYTES);
  return { name, changed: name !== offered };
}

function truncateKeepingExtension(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  let ext = extname(name);
  if (Buffer.byteLength(ext) > 32) ext = '';
  let stem = name.slice(0, name.length - ext.length);
  while (Buffer.byteLength(stem + ext) > maxBytes) stem = [...stem].slice(0, -1).join('');
  return stem + ext;
}

/** `photo.jpg`, then `photo (1).jpg`, `photo (2).jpg`, … */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const ext = extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  return `${stem} (${n})${ext && ext !== name ? ext : ''}`;
}

/**
 * Moves a verified temp file into `dir` under `name` (already sanitized), with a numbered suffix if
 * the name is taken. Never overwrites: the target is created exclusively (a hard link, or an
 * exclusive copy across file systems), so a file that appears meanwhile is not clobbered.
 * Returns the final path, which is always directly inside `dir`.
 */
export function moveIntoFolder(tempPath: string, dir: string, name: string, maxTries = 1000): string {
  const folder = resolve(dir);
  for (let n = 0; n < maxTries; n++) {
    const target = join(folder, numberedName(name, n));
    if (dirname(target) !== folder || basename(target) !== numberedName(name, n)) throw new Error(`unsafe file name ${JSON.stringify(name)}`);
    if (existsSync(target)) continue;
    try {
      linkSync(tempPath, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
      try {
        copyFileSync(tempPath, target, fsConstants.COPYFILE_EXCL);
      } catch (copyErr) {
        if ((copyErr as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw copyErr;
      }
    }
    unlinkSync(tempPath);
    return target;
  }
  throw new Error(`no free name for ${name} in ${folder}`);
}
