import { describe, expect, it } from 'vitest';
import { memberRows, wanFlagAlias } from './members-command.js';

describe('memberRows', () => {
  it("prints members as `consul members` does: servers first, then by name; build before ':'; Serf status names", () => {
    const rows = memberRows([
      { Name: 'b-client', Addr: '10.0.0.2', Port: 8301, Status: 4, Tags: { role: 'node', dc: 'dc1', vsn: '2', build: '1.2.3:abc' } },
      { Name: 'z-server', Addr: '::1', Port: 8301, Status: 1, Tags: { role: 'consul', dc: 'dc2', vsn: '2' } },
      { Name: 'a-other', Addr: '10.0.0.3', Port: 8301, Status: 3, Tags: { role: 'x' } },
    ]);
    expect(rows).toEqual([
      ['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC'],
      ['z-server', '[::1]:8301', 'alive', 'server', '< 0.3', '2', 'dc2'],
      ['a-other', '10.0.0.3:8301', 'left', 'unknown', '', '', ''],
      ['b-client', '10.0.0.2:8301', 'failed', 'client', '1.2.3', '2', 'dc1'],
    ]);
  });
});

describe('wanFlagAlias', () => {
  it("reads consul's -wan after members as --wan, and leaves other commands alone", () => {
    expect(wanFlagAlias(['node', 'beacon', 'members', '-wan'])).toEqual(['node', 'beacon', 'members', '--wan']);
    expect(wanFlagAlias(['node', 'beacon', 'services', '-wan'])).toEqual(['node', 'beacon', 'services', '-wan']);
  });
});
