import { spawn, type ChildProcess } from 'node:child_process';
import { formatDuration } from '../../config/index.js';
import { BoundedBuffer } from '../output.js';
import type { CheckResult, RunContext, Runner } from '../types.js';
import { errorText } from './errors.js';

/** Kills the child and everything it started (it leads its own process group). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Script check (`Args`, run without a shell): exit 0 passing, 1 warning, anything else
 * critical; stdout and stderr captured (up to the output cap). On timeout the process group is
 * killed and the check is critical with `Timed out (<t>) running check`.
 */
export class ScriptRunner implements Runner {
  constructor(
    private readonly args: readonly string[],
    private readonly outputMax: number,
  ) {}

  run(ctx: RunContext): Promise<CheckResult> {
    return new Promise((resolve) => {
      const out = new BoundedBuffer(this.outputMax);
      let settled = false;
      const finish = (r: CheckResult) => {
        if (settled) return;
        settled = true;
        ctx.signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      let child: ChildProcess;
      try {
        child = spawn(this.args[0], this.args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      } catch (err) {
        finish({ status: 'critical', output: `Check failed to start: ${errorText(err)}` });
        return;
      }
      const onAbort = () => {
        killGroup(child);
        finish({ status: 'critical', output: `Timed out (${formatDuration(ctx.timeoutMs)}) running check` });
      };
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => out.push(d));
      child.once('error', (err) => finish({ status: 'critical', output: `Check failed to start: ${errorText(err)}` }));
      child.once('close', (code, signal) => {
        const output = out.text();
        if (code === 0) finish({ status: 'passing', output });
        else if (code === 1) finish({ status: 'warning', output });
        else finish({ status: 'critical', output: output || (signal ? `Check was killed by ${signal}` : `Check exited with status ${code}`) });
      });
    });
  }
}
