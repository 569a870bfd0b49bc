import { MAILBOX_SETTING_RE, USER_ID_RE, zDownloadsDir, zMaxFileBytes, zNetworkId, zRegistryUrl, zSignalUrls, type Settings } from '../../shared/api';
import { brokerUrlProblem, iceUrlProblem } from '../../shared/settings-urls';

/** Checks a pasted userId and says how to fix it if it is wrong. */
export function validateUserIdInput(raw: string, ownId: string | undefined): { ok: true; userId: string } | { ok: false; message: string } {
  const userId = raw.trim().toLowerCase();
  if (!userId) return { ok: false, message: 'Paste the userId your contact copied from their Parley window.' };
  if (!USER_ID_RE.test(userId)) {
    return { ok: false, message: `A userId is exactly 64 characters 0-9 and a-f (this has ${userId.length}). Ask your contact to press “Copy” next to their userId and paste it again.` };
  }
  if (userId === ownId) return { ok: false, message: 'That is your own userId. Paste the userId of the person you want to add.' };
  return { ok: true, userId };
}

/** The discovery fields of the settings form, as typed. */
export interface ReachFields { signalText: string; registryText: string; networkId: string; discoverable: boolean }

/** Checks the settings form and says how to fix each field (same schemas as the host's). */
export function checkSettings(name: string, brokerUrl: string, iceText: string, mailboxText?: string, reach?: ReachFields): { ok: true; patch: Partial<Settings> } | { ok: false; message: string } {
  const displayName = name.trim();
  if (!displayName || displayName.length > 64) return { ok: false, message: 'Display name: 1 to 64 characters.' };
  const brokerProblem = brokerUrlProblem(brokerUrl.trim());
  if (brokerProblem) return { ok: false, message: brokerProblem };
  const iceServers = iceText.split('\n').map((l) => l.trim()).filter(Boolean);
  const iceProblem = iceServers.map(iceUrlProblem).find((p) => p !== null);
  if (iceProblem) return { ok: false, message: `${iceProblem} One per line.` };
  if (iceServers.length > 16) return { ok: false, message: 'At most 16 ICE servers.' };
  const patch: Partial<Settings> = { displayName, brokerUrl: brokerUrl.trim(), iceServers };
  if (mailboxText !== undefined) {
    const mailbox = mailboxText.split(/[\s,]+/).filter(Boolean).join(',');
    if (!MAILBOX_SETTING_RE.test(mailbox)) {
      return { ok: false, message: 'Mailbox: leave it empty for the built-in one, write none to turn it off, or list HOST:PORT of the mailbox nodes separated by commas.' };
    }
    patch.mailbox = mailbox;
  }
  if (reach) {
    const checked = checkReach(reach);
    if (!checked.ok) return checked;
    Object.assign(patch, checked.patch);
  }
  return { ok: true, patch };
}

function checkReach(r: ReachFields): { ok: true; patch: Partial<Settings> } | { ok: false; message: string } {
  const signalUrls = r.signalText.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const url of signalUrls) {
    const parsed = zSignalUrls.safeParse([url]);
    if (!parsed.success) return { ok: false, message: `Signal server ${JSON.stringify(url.slice(0, 60))}: ${parsed.error.issues[0]?.message ?? 'not valid'}. One per line, e.g. ws://127.0.0.1:18885.` };
  }
  const all = zSignalUrls.safeParse(signalUrls);
  if (!all.success) return { ok: false, message: `Signal servers: ${all.error.issues[0]?.message ?? 'not valid'}` };
  const registryText = r.registryText.trim();
  const registry = registryText === '' ? null : registryText;
  if (registry !== null) {
    const parsed = zRegistryUrl.safeParse(registry);
    if (!parsed.success) return { ok: false, message: `${parsed.error.issues[0]?.message ?? 'Registry URL is not valid.'} Leave it empty for no registry.` };
  }
  const networkId = r.networkId.trim();
  const net = zNetworkId.safeParse(networkId);
  if (!net.success) return { ok: false, message: `Network id: 1 to 64 letters, digits, _ or - (e.g. parley); ask whoever runs the registry which one to use.` };
  return { ok: true, patch: { signalUrls: [...new Set(signalUrls)], registryUrl: registry, networkId, discoverable: r.discoverable } };
}

const GIB = 1024 ** 3;

/** The size cap as the form shows it: GiB, at most two decimals (4 GiB → "4"). */
export function gibText(bytes: number): string {
  return String(Math.round((bytes / GIB) * 100) / 100);
}

/**
 * The file fields of the settings form: the downloads folder (an absolute path) and the largest
 * file to accept, typed in GiB (decimals allowed, e.g. 0.5). Checked with the host's schemas.
 * `unchangedBytes`: the cap as saved, kept exactly when its GiB text was not edited.
 */
export function checkFileFields(dirText: string, maxGibText: string, unchangedBytes?: number): { ok: true; patch: Pick<Settings, 'downloadsDir' | 'maxFileBytes'> } | { ok: false; message: string } {
  const downloadsDir = dirText.trim();
  if (!zDownloadsDir.safeParse(downloadsDir).success) {
    return { ok: false, message: 'Downloads folder: the full path of a folder, e.g. /home/me/Downloads or C:\\Users\\me\\Downloads.' };
  }
  const text = maxGibText.trim().replace(',', '.');
  const gib = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (unchangedBytes !== undefined && text === gibText(unchangedBytes)) return { ok: true, patch: { downloadsDir, maxFileBytes: unchangedBytes } };
  const maxFileBytes = Math.round(gib * GIB);
  if (!Number.isFinite(gib) || !zMaxFileBytes.safeParse(maxFileBytes).success || maxFileBytes < 1024 * 1024) {
    return { ok: false, message: 'Largest file to accept: a number of GiB from 0.001 to 64, e.g. 4 or 0.5.' };
  }
  return { ok: true, patch: { downloadsDir, maxFileBytes } };
}

/** Settings the host only reads when it starts; a change to one needs a restart. */
export const RESTART_FIELDS = ['brokerUrl', 'iceServers', 'mailbox'] as const satisfies readonly (keyof Settings)[];
const FIELD_WORDS: Record<(typeof RESTART_FIELDS)[number], string> = {
  brokerUrl: 'broker URL', iceServers: 'ICE servers', mailbox: 'mailbox',
};

/** Which saved changes wait for a restart, in words (empty when everything applied at once). */
export function needsRestart(before: Settings, patch: Partial<Settings>): string[] {
  return RESTART_FIELDS.filter((k) => patch[k] !== undefined && JSON.stringify(patch[k]) !== JSON.stringify(before[k])).map((k) => FIELD_WORDS[k]);
}
