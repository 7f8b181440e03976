import { useMemo, useState } from 'preact/hooks';
import { summarize, type ServiceSummary } from './api';
import { Counts, Tags } from './common';
import { href } from './router';
import { useSnapshot } from './snapshot';

type SortKey = 'name' | 'instances' | 'critical';
type Health = 'all' | 'passing' | 'warning' | 'critical';

const cmp: Record<SortKey, (a: ServiceSummary, b: ServiceSummary) => number> = {
  name: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  instances: (a, b) => a.instances - b.instances || cmp.name(a, b),
  critical: (a, b) => a.critical - b.critical || a.warning - b.warning || cmp.name(a, b),
};

export function ServicesView() {
  const { snapshot, error } = useSnapshot();
  const [query, setQuery] = useState(() => new URLSearchParams(location.search).get('q') ?? '');
  const [health, setHealth] = useState<Health>('all');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const all = useMemo(() => (snapshot ? summarize(snapshot).services : []), [snapshot]);
  const shown = useMemo(() => {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const list = all.filter(
      (s) =>
        words.every((w) => s.haystack.includes(w)) &&
        (health === 'all' || (health === 'passing' ? s.passing === s.instances : health === 'warning' ? s.warning > 0 : s.critical > 0)),
    );
    list.sort(cmp[sort.key]);
    if (sort.desc) list.reverse();
    return list;
  }, [all, query, health, sort]);
  const header = (key: SortKey, label: string) => (
    <th aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button class="sort" onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key !== 'name' }))}>
        {label} {sort.key === key ? (sort.desc ? '▼' : '▲') : ''}
      </button>
    </th>
  );
  return (
    <section>
      <h1>Services</h1>
      <div class="controls">
        <input
          type="search"
          placeholder="Search name, tag or metadata"
          aria-label="Search services"
          value={query}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
        />
        <label>
          Health{' '}
          <select value={health} onChange={(e) => setHealth((e.target as HTMLSelectElement).value as Health)} aria-label="Filter by health">
            <option value="all">all</option>
            <option value="passing">all passing</option>
            <option value="warning">with warning</option>
            <option value="critical">with critical</option>
          </select>
        </label>
        <span class="muted" data-testid="service-count">
          {shown.length} of {all.length}
        </span>
      </div>
      {error && <p class="error">{error}</p>}
      {!snapshot && !error ? (
        <p class="muted">Loading…</p>
      ) : (
        <div class="scroll">
          <table class="services">
            <thead>
              <tr>
                {header('name', 'Service')}
                <th>Tags</th>
                {header('instances', 'Instances')}
                {header('critical', 'Passing / warning / critical')}
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr key={s.name} data-service={s.name} class={s.critical > 0 ? 'row-critical' : s.warning > 0 ? 'row-warning' : 'row-passing'}>
                  <td>
                    <a href={href.service(s.name)}>{s.name}</a>
                  </td>
                  <td>
                    <Tags tags={s.tags} />
                  </td>
                  <td class="num">{s.instances}</td>
                  <td>
                    <Counts passing={s.passing} warning={s.warning} critical={s.critical} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
