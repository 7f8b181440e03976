import { readFileSync } from 'node:fs';
import { BeaconError } from '../errors/index.js';
import type { RawConfig } from './runtime.js';

const KEYS: readonly (keyof RawConfig)[] = [
  'httpAddr',
  'dnsAddr',
  'dataDir',
  'datacenter',
  'node',
  'advertiseAddr',
  'logLevel',
  'store',
  'storePrefix',
  'sessionTtl',
  'storeCa',
  'storeCert',
  'storeKey',
  'maxBodyBytes',
  'httpMaxConnsPerClient',
  'httpWriteRate',
  'domain',
  'altDomain',
  'recursors',
  'dnsOnlyPassing',
  'dnsServiceTtl',
  'dnsNodeTtl',
  'dnsARecordLimit',
  'dnsRrlRate',
  'dnsRrlSlip',
  'enableScriptChecks',
  'enableLocalScriptChecks',
  'checkFailuresBeforeCritical',
  'allowMetadataChecks',
  'tlsCert',
  'tlsKey',
  'tlsCa',
  'tlsVerifyIncoming',
  'aclDefaultPolicy',
  'aclDnsToken',
  'aclAgentToken',
  'joinWan',
  'wanInterval',
  'eventHistory',
  'eventHistoryAge',
  'eventSink',
  'eventLog',
];
/** Keys only a config file may set (structured values). */
const FILE_ONLY: readonly (keyof RawConfig)[] = ['services', 'checks'];

/** camelCase key -> BEACON_SNAKE_CASE environment variable name. */
export const envName = (k: string): string => `BEACON_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export function fromEnv(env: NodeJS.ProcessEnv): RawConfig {
  const out: Record<string, string> = {};
  for (const k of KEYS) {
    const v = env[envName(k)];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

/** Reads a JSON config file with the same camelCase keys as the flags. */
export function fromFile(path: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BeaconError('BEACON_ERR_CONFIG', `cannot read config file ${path}: ${(err as Error).message}`, { field: 'config' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BeaconError('BEACON_ERR_CONFIG', `config file ${path} is not valid JSON: ${(err as Error).message}`, { field: 'config' });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BeaconError('BEACON_ERR_CONFIG', `config file ${path} must hold a JSON object`, { field: 'config' });
  }
  for (const k of Object.keys(parsed)) {
    if (!KEYS.includes(k as keyof RawConfig) && !FILE_ONLY.includes(k as keyof RawConfig)) {
      throw new BeaconError('BEACON_ERR_CONFIG', `config file ${path}: unknown key "${k}" (known: ${[...KEYS, ...FILE_ONLY].join(', ')})`, { field: k });
    }
  }
  return parsed;
}

/** Later sources win: file < env < flags. Undefined values never override. */
export function mergeRaw(...sources: RawConfig[]): RawConfig {
  const out: Record<string, unknown> = {};
  for (const s of sources) for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k] = v;
  return out;
}
