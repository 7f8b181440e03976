/**
 * Case-insensitive lookup of service and node names (DNS names are case-insensitive; catalog
 * names are not). The exact lower-case name is tried first; otherwise a lower-case index of
 * every name is built lazily from the public Catalog listing and dropped when the matching
 * table changes. A catalog method that kept this index would make a miss O(1) instead of O(n)
 * once per table change.
 */
import type { Topic } from '../catalog/index.js';
import type { DnsCatalog } from './answer-common.js';

export class NameIndex {
  private services: Map<string, string> | undefined;
  private nodes: Map<string, string> | undefined;

  constructor(private readonly catalog: DnsCatalog) {}

  /** Forget the indexes whose table changed. */
  invalidate(topics: ReadonlySet<Topic>): void {
    if (topics.has('table:services')) this.services = undefined;
    if (topics.has('table:nodes')) this.nodes = undefined;
  }

  clear(): void {
    this.services = undefined;
    this.nodes = undefined;
  }

  /** The catalog's spelling of a service name given in lower case, or undefined. */
  service(lower: string): string | undefined {
    if (this.catalog.hasService(lower)) return lower;
    if (!this.services) {
      this.services = new Map();
      for (const name of this.catalog.services().value.keys()) {
        const k = name.toLowerCase();
        if (!this.services.has(k)) this.services.set(k, name);
      }
    }
    return this.services.get(lower);
  }

  /** The catalog's spelling of a node name given in lower case, or undefined. */
  node(lower: string): string | undefined {
    if (this.catalog.node(lower).value) return lower;
    if (!this.nodes) {
      this.nodes = new Map();
      for (const n of this.catalog.nodes().value) {
        const k = n.record.Node.toLowerCase();
        if (!this.nodes.has(k)) this.nodes.set(k, n.record.Node);
      }
    }
    return this.nodes.get(lower);
  }
}
