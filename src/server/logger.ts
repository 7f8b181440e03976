import pino from 'pino';
import type { LogLevel } from '../config/index.js';

/** Structured logs (pino) on stderr; stdout carries only the ready line. */
export function createLogger(level: LogLevel): pino.Logger {
  return pino({ level, base: { svc: 'beacon' } }, pino.destination({ fd: 2, sync: false }));
}
