export * from './types.js';
export { Catalog, type CatalogOptions, type ChangeListener } from './catalog.js';
export { aggregateStatus, isMaintenanceCheck, NODE_MAINTENANCE_CHECK, SERVICE_MAINTENANCE_PREFIX } from './aggregate.js';
export { CATALOG_PREFIX } from './keys.js';
