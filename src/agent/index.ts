export { runAgent, DEFAULT_AGENT_OPTIONS, type AgentOptions, type RunningAgent } from './run-agent.js';
export { buildAgentConfig, type AgentConfig, type RawAgentConfig } from './config.js';
export { loadConfigDir, type Definitions } from './config-dir.js';
export { WatchCache, cacheKey } from './watch-cache.js';
