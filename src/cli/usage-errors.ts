import { type Command, type CommanderError } from 'commander';
import { didYouMean } from '../client/index.js';

/** Exit code of a failure: the server refused the request, or could not be reached. */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error: the command line (a flag, an argument, a file) is wrong; nothing was sent. */
export const EXIT_USAGE = 2;

/** Consul CLI flags that Beacon spells another way. */
const CONSUL_FLAGS: Readonly<Record<string, string>> = { passingonly: '--passing' };

/** A commander error, with the command that raised it. */
class CommandLineError extends Error {
  constructor(
    readonly command: Command,
    readonly error: CommanderError,
  ) {
    super(error.message);
  }
}

/** The command and every command below it. */
function commandTree(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(commandTree)];
}

/** `beacon catalog services` for that command. */
function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The long flags a command takes, its ancestors' included (`--http-addr`, `--passing`, …). */
function longFlags(cmd: Command): string[] {
  const out: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) for (const o of c.options) if (o.long) out.push(o.long);
  return out;
}

/**
 * One line (without `beacon: `) for a command-line mistake commander found, with a suggestion
 * where there is one: `unknown command 'memebers' (did you mean members?)`, `unknown option
 * '-passing' (use --passing: …)`, else a pointer to the command's --help.
 */
export function usageLine(cmd: Command, err: Pick<CommanderError, 'code' | 'message'>): string {
  const name = fullName(cmd);
  const help = ` (see ${name} --help)`;
  const text = err.message
    .replace(/^error: /, '')
    .replace(/\s*\(Did you mean [^)]*\)\s*$/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  if (err.code === 'commander.unknownCommand') {
    const word = cmd.args[0] ?? '';
    const prefix = name.replace(/^beacon ?/, '');
    const typed = prefix ? `${prefix} ${word}` : word;
    const guess = didYouMean(
      word,
      cmd.commands.map((c) => c.name()),
    );
    return `unknown command '${typed}'${guess ? ` (did you mean ${prefix ? `${prefix} ` : ''}${guess}?)` : ` (see ${name} --help for the commands)`}`;
  }
  if (err.code === 'commander.unknownOption') {
    const flag = /unknown option '([^']*)'/.exec(err.message)?.[1] ?? '';
    const flags = longFlags(cmd);
    if (/^-[^-]/.test(flag) && flag.length > 2) {
      // Consul's CLI spells long flags with one dash: -passing, -http-addr=…
      const [bare, value] = flag.slice(1).split(/=(.*)/s);
      const alias = CONSUL_FLAGS[bare.toLowerCase()];
      if (alias && flags.includes(alias)) return `unknown option '${flag}' (use ${alias})`;
      if (flags.includes(`--${bare}`))
        return `unknown option '${flag}' (use --${bare}${value !== undefined ? `=${value}` : ''}: beacon's options take two dashes)`;
      const guess = didYouMean(bare, flags);
      return `unknown option '${flag}'${guess ? ` (did you mean ${guess}?)` : help}`;
    }
    const guess = didYouMean(flag.split('=')[0], flags);
    return `unknown option '${flag}'${guess ? ` (did you mean ${guess}?)` : help}`;
  }
  return `${text}${help}`;
}

/**
 * Runs the program so that every mistake on the command line is one `beacon: …` line on stderr
 * with exit code 2 (usage), instead of commander's `error: …` followed by the help: every command
 * gets the same error handling, `beacon server` included. Help and `--version` exit 0, also when
 * their reader goes away early (`beacon --help | head`).
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  // `beacon --help | head -3`: a closed pipe ends the command quietly, as for any Unix tool.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  for (const cmd of commandTree(program)) {
    cmd
      .exitOverride((err) => {
        throw new CommandLineError(cmd, err);
      })
      .configureOutput({ outputError: () => {} })
      .showHelpAfterError(false);
  }
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    const { command, error } = err;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return;
    // A command group run without its subcommand (`beacon catalog`): commander printed the help on stderr.
    if (error.code !== 'commander.help') process.stderr.write(`beacon: ${usageLine(command, error)}\n`);
    process.exitCode = EXIT_USAGE;
  }
}
