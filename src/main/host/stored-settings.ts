/** Checks settings read back from the store; each unusable field falls back to its default. */
import { zBrokerSetting, zDisplayName, zDownloadsDir, zIceServers, zMailboxSetting, zMaxFileBytes, zNetworkId, zRegistryUrl, zSignalUrls, type Settings } from '../../shared/api';
import { z } from 'zod';

const FIELDS: { [K in keyof Settings]: { schema: z.ZodType<Settings[K]>; label: string } } = {
  displayName: { schema: zDisplayName, label: 'display name' },
  brokerUrl: { schema: zBrokerSetting, label: 'broker URL' },
  iceServers: { schema: zIceServers, label: 'ICE servers' },
  downloadsDir: { schema: zDownloadsDir, label: 'downloads folder' },
  maxFileBytes: { schema: zMaxFileBytes, label: 'largest file to accept' },
  mailbox: { schema: zMailboxSetting, label: 'mailbox' },
  signalUrls: { schema: zSignalUrls, label: 'signal servers' },
  registryUrl: { schema: zRegistryUrl.nullable(), label: 'registry URL' },
  networkId: { schema: zNetworkId, label: 'network id' },
  discoverable: { schema: z.boolean(), label: '"let contacts find me" setting' },
  coordinator: { schema: z.boolean(), label: '"hold messages for my contacts" setting' },
  allowRelay: { schema: z.boolean(), label: '"relay for my contacts" setting' },
};

export function checkStoredSettings(stored: Record<string, unknown>, defaults: Settings): { settings: Settings; notices: string[] } {
  const notices: string[] = [];
  const pick = <K extends keyof Settings>(key: K): Settings[K] => {
    if (!(key in stored) || stored[key] === undefined) return defaults[key];
    const parsed = FIELDS[key].schema.safeParse(stored[key]);
    if (parsed.success) return parsed.data;
    const why = parsed.error.issues[0]?.message ?? 'not valid';
    notices.push(`The saved ${FIELDS[key].label} could not be used (${why}); using ${JSON.stringify(defaults[key])} instead. Open Settings to set it again.`);
    return defaults[key];
  };
    const settings: Settings = {
    displayName: pick('displayName'),
    brokerUrl: pick('brokerUrl'),
    iceServers: pick('iceServers'),
    downloadsDir: pick('downloadsDir'),
    maxFileBytes: pick('maxFileBytes'),
    mailbox: pick('mailbox'),
    signalUrls: pick('signalUrls'),
    registryUrl: pick('registryUrl'),
    networkId: pick('networkId'),
    discoverable: pick('discoverable'),
    coordinator: pick('coordinator'),
    allowRelay: pick('allowRelay'),
  };
  return { settings, notices };
}
