import { describe, expect, it } from 'vitest';
import { aggregatedStatus } from './health-status.js';

describe('aggregatedStatus', () => {
  const serf = { CheckID: 'serfHealth', Status: 'passing' };

  it('orders maintenance > critical > warning > passing', () => {
    expect(aggregatedStatus([])).toBe('passing');
    expect(aggregatedStatus(undefined)).toBe('passing');
    expect(aggregatedStatus([serf, { CheckID: 'service:web', Status: 'passing' }])).toBe('passing');
    expect(aggregatedStatus([serf, { CheckID: 'a', Status: 'warning' }])).toBe('warning');
    expect(
      aggregatedStatus([
        { CheckID: 'a', Status: 'critical' },
        { CheckID: 'b', Status: 'warning' },
      ]),
    ).toBe('critical');
    expect(
      aggregatedStatus([
        { CheckID: 'a', Status: 'critical' },
        { CheckID: '_service_maintenance:web-1', Status: 'critical' },
      ]),
    ).toBe('maintenance');
    expect(aggregatedStatus([serf, { CheckID: '_node_maintenance', Status: 'critical' }])).toBe('maintenance');
  });
});
