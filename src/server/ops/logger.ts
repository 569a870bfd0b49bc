/**
 * pino JSON logs for `parley server`, on stderr: stdout carries only the ready line that scripts
 * and the embedded-server starter parse.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config';

export type { Logger };

export function createServerLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { pid: process.pid, service: 'parley-server' } }, pino.destination({ fd: 2, sync: true }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
