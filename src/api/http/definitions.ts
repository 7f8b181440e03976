/**
 * Agent registration bodies decoded outside a request (the config file's `services` and
 * `checks`): the same key normalization and schema as PUT /v1/agent/service/register and
 * /v1/agent/check/register, then the catalog's registration rules. One decoding, two callers.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { invalid } from '../../errors/index.js';
import { CHECK_SHAPE, SERVICE_SHAPE, normalizeKeys, normalizeTaggedAddresses } from './normalize.js';
import { toBeaconError } from './replies.js';
import { checkSchema, serviceSchema } from './schemas.js';

// The options the HTTP app gives Fastify's validator (app.ts), so both refuse the same bodies.
const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false });
let validators: { service: ValidateFunction; check: ValidateFunction } | undefined;
const compiled = () => (validators ??= { service: ajv.compile(serviceSchema), check: ajv.compile(checkSchema) });

function decode(body: unknown, kind: 'service' | 'check'): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('body', `a ${kind} definition must be an object`);
  const b = normalizeKeys(body, kind === 'service' ? SERVICE_SHAPE : CHECK_SHAPE) as Record<string, unknown>;
  if (kind === 'service' && 'TaggedAddresses' in b) b.TaggedAddresses = normalizeTaggedAddresses(b.TaggedAddresses);
  const validate = compiled()[kind];
  if (!validate(b)) throw toBeaconError({ validation: validate.errors ?? [] });
  return b;
}

/** A service definition as /v1/agent/service/register takes it, normalized and schema-checked. */
export function decodeServiceDefinition(body: unknown): Record<string, unknown> {
  return decode(body, 'service');
}

/** A check definition as /v1/agent/check/register takes it, normalized and schema-checked. */
export function decodeCheckDefinition(body: unknown): Record<string, unknown> {
  return decode(body, 'check');
}
