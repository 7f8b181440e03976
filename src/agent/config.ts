import { buildConfig, type RawConfig, type RuntimeConfig } from '../config/index.js';
import { BeaconError } from '../errors/index.js';

/** The agent's own flags, on top of the ones it shares with `beacon server`. */
export interface RawAgentConfig extends RawConfig {
  servers?: string[] | string;
  configDir?: string;
}

export interface AgentConfig {
  /** The settings shared with a server (HTTP and DNS addresses, node, data dir, checks, DNS rules). */
  base: RuntimeConfig;
  /** Server base URLs (`http://host:port`), tried in order with failover. */
  servers: readonly string[];
  configDir: string | null;
}

const bad = (field: string, message: string) => new BeaconError('BEACON_ERR_CONFIG', `invalid ${field}: ${message}`, { field });

function serverUrl(v: string): string {
  const raw = /^[a-z]+:\/\//i.test(v) ? v : `http://${v}`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad('server', `"${v}" is not a URL like http://10.0.0.1:8500`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('server', `"${v}" must be an http:// or https:// URL`);
  if (u.pathname !== '/' || u.search || u.hash || u.username) throw bad('server', `"${v}" must be only scheme, host and port (http://10.0.0.1:8500)`);
  if (!u.port) u.port = '8500';
  return `${u.protocol}//${u.host}`;
}

/** Validates the agent's raw config into its frozen runtime config. */
export function buildAgentConfig(raw: RawAgentConfig): AgentConfig {
  const { servers, configDir, ...rest } = raw;
  const list = servers === undefined ? [] : (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw bad('server', 'give at least one --server URL (e.g. --server http://10.0.0.1:8500)');
  if (list.length > 64) throw bad('server', 'at most 64 servers');
  if (configDir !== undefined && configDir.trim() === '') throw bad('configDir', 'must name a directory');
  if (rest.store !== undefined) throw bad('store', 'an agent keeps no store: it talks to the servers given by --server');
  const base = buildConfig({ ...rest, dataDir: rest.dataDir ?? './agent-data' });
  return Object.freeze({ base, servers: Object.freeze([...new Set(list.map(serverUrl))]), configDir: configDir ?? null });
}
