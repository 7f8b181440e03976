import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { clientAction, clientCommand, type HttpAddrOption } from './client-command.js';
import { collect, usageError } from './flags.js';
import { formatTable } from './table.js';

interface Token {
  AccessorID: string;
  SecretID?: string;
  Description: string;
  Policies: { ID: string; Name: string }[];
  Local: boolean;
  CreateTime: string;
}

interface Policy {
  ID: string;
  Name: string;
  Description: string;
  Rules?: string;
  Datacenters: string[];
}

/** A token as `consul acl token read` prints it; the SecretID only when the answer has one (creation). */
export function formatToken(t: Token): string {
  const lines = [`AccessorID:       ${t.AccessorID}`];
  if (t.SecretID !== undefined) lines.push(`SecretID:         ${t.SecretID}`);
  lines.push(`Description:      ${t.Description}`, `Local:            ${t.Local}`, `Create Time:      ${t.CreateTime}`, 'Policies:');
  for (const p of t.Policies) lines.push(`   ${p.ID} - ${p.Name}`);
  return `${lines.join('\n')}\n`;
}

export function formatPolicy(p: Policy): string {
  const lines = [`ID:           ${p.ID}`, `Name:         ${p.Name}`, `Description:  ${p.Description}`, `Datacenters:  ${p.Datacenters.join(', ')}`];
  if (p.Rules !== undefined) lines.push('Rules:', p.Rules);
  return `${lines.join('\n')}\n`;
}

/** `--rules`: the text itself, `@FILE` for a file's contents, or `-` for stdin. */
function rulesOf(value: string): string {
  if (value === '-') return readFileSync(0, 'utf8');
  if (!value.startsWith('@')) return value;
  try {
    return readFileSync(value.slice(1), 'utf8');
  } catch (err) {
    throw usageError(`invalid --rules "${value}": ${(err as Error).message}`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function idFlag(flag: string, v: string | undefined): string {
  if (v === undefined) throw usageError(`${flag} is required`);
  if (!UUID.test(v)) throw usageError(`invalid ${flag} "${v}": expected an ID such as 6a1253d2-1785-24fd-91c2-f8e78c745511`);
  return v;
}

function bootstrap(): Command {
  return clientCommand('bootstrap', 'Make the first management token, once (PUT /v1/acl/bootstrap); prints its SecretID', ['beacon acl bootstrap']).action(
    clientAction(async ({ api, out }) => {
      out(formatToken(await api.json<Token>({ method: 'PUT', path: '/v1/acl/bootstrap', what: 'bootstrapping ACLs' })));
    }),
  );
}

function policy(): Command {
  const create = clientCommand('create', 'Create a policy (PUT /v1/acl/policy)', [
    `beacon acl policy create --name web --rules 'service "web" { policy = "write" }'`,
    'beacon acl policy create --name readers --rules @readers.hcl',
  ])
    .requiredOption('--name <name>', 'policy name')
    .option('--description <text>', 'description')
    .option('--rules <rules|@file|->', 'rules in HCL or JSON; @FILE reads a file, - reads stdin', '')
    .action(
      clientAction<HttpAddrOption & { name: string; description?: string; rules: string }>(async ({ api, out }, o) => {
        const body = { Name: o.name, Description: o.description ?? '', Rules: rulesOf(o.rules) };
        out(formatPolicy(await api.json<Policy>({ method: 'PUT', path: '/v1/acl/policy', body, what: `creating policy "${o.name}"` })));
      }),
    );
  const list = clientCommand('list', 'List policies (GET /v1/acl/policies)', ['beacon acl policy list']).action(
    clientAction(async ({ api, out }) => {
      const ps = await api.json<Policy[]>({ path: '/v1/acl/policies', what: 'listing policies' });
      out(formatTable([['ID', 'Name', 'Description'], ...ps.map((p) => [p.ID, p.Name, p.Description])]));
    }),
  );
  const read = clientCommand('read', 'Show a policy with its rules (GET /v1/acl/policy/:id or /name/:name)', ['beacon acl policy read --name web'])
    .option('--id <id>', 'policy ID')
    .option('--name <name>', 'policy name')
    .action(
      clientAction<HttpAddrOption & { id?: string; name?: string }>(async ({ api, out }, o) => {
        if ((o.id === undefined) === (o.name === undefined)) throw usageError('give one of --id or --name');
        const path = o.id !== undefined ? `/v1/acl/policy/${idFlag('--id', o.id)}` : `/v1/acl/policy/name/${encodeURIComponent(o.name!)}`;
        out(formatPolicy(await api.json<Policy>({ path, what: 'reading policy' })));
      }),
    );
  const del = clientCommand('delete', 'Delete a policy (DELETE /v1/acl/policy/:id)', ['beacon acl policy delete --id 6a1253d2-1785-24fd-91c2-f8e78c745511'])
    .option('--id <id>', 'policy ID')
    .action(
      clientAction<HttpAddrOption & { id?: string }>(async ({ api, out }, o) => {
        const id = idFlag('--id', o.id);
        const ok = await api.json<boolean>({ method: 'DELETE', path: `/v1/acl/policy/${id}`, what: `deleting policy ${id}` });
        out(ok ? `Policy "${id}" deleted successfully\n` : `Policy "${id}" does not exist\n`);
      }),
    );
  return new Command('policy').description('Create, list, read and delete ACL policies').addCommand(create).addCommand(list).addCommand(read).addCommand(del);
}

function token(): Command {
  const create = clientCommand('create', 'Create a token linked to policies (PUT /v1/acl/token); prints its SecretID, which is shown this once', [
    'beacon acl token create --description "web instances" --policy-name web',
  ])
    .option('--description <text>', 'description')
    .option('--policy-name <name>', 'a policy to link (repeatable)', collect)
    .option('--policy-id <id>', 'a policy to link by ID (repeatable)', collect)
    .option('--secret <uuid>', 'the SecretID to give the token (default: a new random one)')
    .action(
      clientAction<HttpAddrOption & { description?: string; policyName?: string[]; policyId?: string[]; secret?: string }>(async ({ api, out }, o) => {
        const policies = [...(o.policyName ?? []).map((Name) => ({ Name })), ...(o.policyId ?? []).map((ID) => ({ ID: idFlag('--policy-id', ID) }))];
        const body = { Description: o.description ?? '', Policies: policies, ...(o.secret !== undefined ? { SecretID: idFlag('--secret', o.secret) } : {}) };
        out(formatToken(await api.json<Token>({ method: 'PUT', path: '/v1/acl/token', body, what: 'creating token' })));
      }),
    );
  const list = clientCommand('list', 'List tokens (GET /v1/acl/tokens): accessor IDs, never secrets', ['beacon acl token list']).action(
    clientAction(async ({ api, out }) => {
      const ts = await api.json<Token[]>({ path: '/v1/acl/tokens', what: 'listing tokens' });
      out(formatTable([['AccessorID', 'Description', 'Policies'], ...ts.map((t) => [t.AccessorID, t.Description, t.Policies.map((p) => p.Name).join(',')])]));
    }),
  );
  const read = clientCommand('read', 'Show a token (GET /v1/acl/token/:accessor, or /self with --self)', ['beacon acl token read --self'])
    .option('--id <accessor>', 'accessor ID')
    .option('--self', 'the token this command sends (--token)')
    .action(
      clientAction<HttpAddrOption & { id?: string; self?: boolean }>(async ({ api, out }, o) => {
        if ((o.id === undefined) === (o.self !== true)) throw usageError('give one of --id or --self');
        const path = o.self ? '/v1/acl/token/self' : `/v1/acl/token/${idFlag('--id', o.id)}`;
        out(formatToken(await api.json<Token>({ path, what: 'reading token' })));
      }),
    );
  const del = clientCommand('delete', 'Delete a token (DELETE /v1/acl/token/:accessor); it stops working at once', [
    'beacon acl token delete --id 6a1253d2-1785-24fd-91c2-f8e78c745511',
  ])
    .option('--id <accessor>', 'accessor ID')
    .action(
      clientAction<HttpAddrOption & { id?: string }>(async ({ api, out }, o) => {
        const id = idFlag('--id', o.id);
        const ok = await api.json<boolean>({ method: 'DELETE', path: `/v1/acl/token/${id}`, what: `deleting token ${id}` });
        out(ok ? `Token "${id}" deleted successfully\n` : `Token "${id}" does not exist\n`);
      }),
    );
  return new Command('token').description('Create, list, read and delete ACL tokens').addCommand(create).addCommand(list).addCommand(read).addCommand(del);
}

/** `beacon acl bootstrap|policy|token`, like `consul acl`. */
export function aclCommand(): Command {
  return new Command('acl')
    .description('Manage ACL tokens and policies')
    .addCommand(bootstrap())
    .addCommand(policy())
    .addCommand(token())
    .addHelpText(
      'after',
      `\nExamples:\n  beacon acl bootstrap\n  beacon acl policy create --name web --rules 'service "web" { policy = "write" }'\n  beacon acl token create --policy-name web --token <management secret>`,
    );
}
