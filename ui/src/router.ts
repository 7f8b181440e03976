// A URL for every view: /ui/ (services), /ui/services/NAME, /ui/services/NAME/NODE/ID (an
// instance), /ui/nodes, /ui/nodes/NAME, /ui/live. Links are plain <a href>, so the keyboard,
// middle-click and the back button work; clicks are handled here without a page load.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { view: 'services' }
  | { view: 'service'; name: string; instance?: { node: string; id: string } }
  | { view: 'nodes' }
  | { view: 'node'; name: string }
  | { view: 'live' };

export const BASE = '/ui/';

export function parse(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : '';
  const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'services' && parts[1])
    return parts[2] && parts[3] ? { view: 'service', name: parts[1], instance: { node: parts[2], id: parts[3] } } : { view: 'service', name: parts[1] };
  if (parts[0] === 'nodes' && parts[1]) return { view: 'node', name: parts[1] };
  if (parts[0] === 'nodes') return { view: 'nodes' };
  if (parts[0] === 'live') return { view: 'live' };
  return { view: 'services' };
}

export const href = {
  services: () => BASE,
  service: (name: string) => `${BASE}services/${encodeURIComponent(name)}`,
  instance: (name: string, node: string, id: string) => `${BASE}services/${encodeURIComponent(name)}/${encodeURIComponent(node)}/${encodeURIComponent(id)}`,
  nodes: () => `${BASE}nodes`,
  node: (name: string) => `${BASE}nodes/${encodeURIComponent(name)}`,
  live: () => `${BASE}live`,
};

export function navigate(to: string): void {
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(parse(location.pathname));
    const onClick = (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const a = (e.target as Element).closest?.('a');
      if (!a || a.target || !a.href.startsWith(location.origin + BASE)) return;
      e.preventDefault();
      navigate(a.pathname + a.search);
    };
    addEventListener('popstate', onPop);
    document.addEventListener('click', onClick);
    return () => {
      removeEventListener('popstate', onPop);
      document.removeEventListener('click', onClick);
    };
  }, []);
  return route;
}
