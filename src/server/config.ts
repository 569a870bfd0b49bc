/**
 * `parley server --config FILE`: the same settings as the flags, plus the ICE servers and TURN
 * credentials the server hands out. JSON or YAML; every key is checked, and a bad file is a
 * ConfigError (the CLI prints it and exits with code 2).
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { iceUrlProblem } from '../shared/settings-urls';
import { hasTurnUrl, MAX_ICE_CREDENTIAL_CHARS, MAX_ICE_URLS_PER_SERVER, MAX_SERVER_ICE_SERVERS } from '../shared/schemas/ice';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const port = z.number().int().min(0).max(65535);
const url = z.string().refine((s) => URL.canParse(s), { message: 'must be a URL' });

/** The same checks the clients apply to what they receive (src/shared/schemas/ice.ts), so a bad entry is caught here. */
const iceUrl = z.string().superRefine((value, ctx) => {
  const problem = iceUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
  else if (value.includes('@')) ctx.addIssue({ code: 'custom', message: 'put TURN credentials in username/credential (or use turn.secret), not in the URL' });
});
const credential = z.string().min(1).max(MAX_ICE_CREDENTIAL_CHARS).regex(/^[\x20-\x7e]+$/, 'printable ASCII only');
const iceServer = z
  .strictObject({
    urls: z.union([iceUrl, z.array(iceUrl).min(1).max(MAX_ICE_URLS_PER_SERVER)]),
    username: credential.optional(),
    credential: credential.optional(),
  })
  .refine((s) => !hasTurnUrl(s.urls) || (s.username !== undefined && s.credential !== undefined), {
    message: 'a TURN server needs username and credential (or use turn.secret for time-limited ones)',
  });

export const serverConfigSchema = z.strictObject({
  host: z.string().min(1).optional(),
  publicUrl: url.optional(),
  data: z.string().min(1).optional(),
  mqtt: port.optional(),
  mqttWs: port.optional(),
  signal: port.optional(),
  registry: port.optional(),
  mailbox: port.optional(),
  /** Networks the registry serves (default ['parley']); others are 404. */
  network: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a network id is 1-64 of A-Z a-z 0-9 _ -')).min(1).max(256).optional(),
  /** Registry storage in PostgreSQL (default: env DATABASE_URL; without either, an SQLite file). */
  databaseUrl: url.optional(),
  /** PostgreSQL schema for the registry tables, created if missing (default: env PARLEY_DATABASE_SCHEMA, else search_path). */
  databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
  admin: port.optional(),
  /** Address of the admin listener (default 127.0.0.1: metrics are for the operator, not the internet). */
  adminHost: z.string().min(1).optional(),
  /** Serve /healthz and /metrics on the public MQTT WebSocket port as well (off by default). */
  publicAdmin: z.boolean().optional(),
  redis: url.optional(),
  /** Prefix for every Redis key and pub/sub channel, so several deployments can share one Redis. */
  redisPrefix: z.string().min(1).max(64).optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Stop after this long with no client connected (0 = never); the embedded background server uses it. */
  idleExitMs: z.number().int().min(0).optional(),
  /** Run as the app's embedded background server: write DATA/embedded.json and answer its proof. */
  embedded: z.boolean().optional(),
  /** STUN/TURN servers handed to clients as they are. */
  iceServers: z.array(iceServer).max(MAX_SERVER_ICE_SERVERS - 1).optional(),
  /** coturn `use-auth-secret` (TURN REST API): per-user credentials valid for ttlSeconds. */
  turn: z
    .strictObject({
      urls: z.array(iceUrl.refine((u) => u.startsWith('turn'), 'turn.urls are turn: or turns: URLs')).min(1).max(MAX_ICE_URLS_PER_SERVER),
      /** coturn's static-auth-secret. */
      secret: z.string().min(8),
      ttlSeconds: z.number().int().min(60).max(7 * 24 * 3600).default(3600),
    })
    .optional(),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;

export class ConfigError extends Error {
  readonly exitCode = 2;
}

/** Reads and validates a config file; throws ConfigError naming the file and every bad key. */
export function loadConfigFile(path: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML/JSON'}: ${(err as Error).message}`);
  }
  return parseConfig(raw ?? {}, path);
}

export function parseConfig(raw: unknown, source = 'config'): ServerConfig {
  const parsed = serverConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const at = issue.path.length > 0 ? ` in ${where}` : '';
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${at}`;
    }
    return `${where}: ${issue.message}`;
  });
  throw new ConfigError(`${source} is invalid:\n  - ${problems.join('\n  - ')}`);
}
