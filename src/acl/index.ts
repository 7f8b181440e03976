/** ACL tokens and policies: rules in Consul's syntax, authorizers, token resolution. See README.md. */
export { parseRules, merge, RESOURCES, type Access, type Resource, type Rules } from './rules.js';
export { Authorizer, type Want } from './authorizer.js';
export { AclResolver, type DefaultPolicy } from './resolver.js';
