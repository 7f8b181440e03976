import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LiveView } from './live-view';
import { live, type Contact } from './live';
import { NodesView } from './nodes-view';
import { href, useRoute } from './router';
import { ServiceView } from './service-view';
import { ServicesView } from './services-view';
import { reload } from './snapshot';
import './style.css';

function Banner() {
  const [contact, setContact] = useState<{ c: Contact; since: number }>({ c: live.contact, since: live.since });
  useEffect(() => live.onContact((c, since) => setContact({ c, since })), []);
  if (contact.c === 'lost')
    return (
      <div class="banner lost" role="alert" data-testid="contact-lost">
        Lost contact with the server at {new Date(contact.since).toLocaleTimeString(undefined, { hour12: false })}. What you see may be out of date; retrying…
      </div>
    );
  if (contact.c === 'back')
    return (
      <div class="banner back" role="status" data-testid="contact-back">
        Back in contact with the server.
      </div>
    );
  return null;
}

function Dot() {
  const [c, setC] = useState<Contact>(live.contact);
  useEffect(() => live.onContact((next) => setC(next)), []);
  return <span class={`dot ${c}`} title={c === 'lost' ? 'no contact with the server' : 'in contact with the server'} aria-hidden="true" />;
}

function App() {
  const route = useRoute();
  // Every view follows the stream: reading the state starts it from the state's index.
  useEffect(() => void reload(), []);
  useEffect(() => {
    document.title = route.view === 'service' || route.view === 'node' ? `${route.name} · Beacon` : 'Beacon';
  }, [route]);
  const current = route.view === 'service' ? 'services' : route.view === 'node' ? 'nodes' : route.view;
  return (
    <>
      <header>
        <a class="brand" href={href.services()}>
          Beacon
        </a>
        <nav>
          <a href={href.services()} aria-current={current === 'services' ? 'page' : undefined}>
            Services
          </a>
          <a href={href.nodes()} aria-current={current === 'nodes' ? 'page' : undefined}>
            Nodes
          </a>
          <a href={href.live()} aria-current={current === 'live' ? 'page' : undefined}>
            Live
          </a>
        </nav>
        <Dot />
      </header>
      <Banner />
      <main>
        {route.view === 'services' && <ServicesView />}
        {route.view === 'service' && <ServiceView key={route.name} name={route.name} instance={route.instance} />}
        {route.view === 'nodes' && <NodesView />}
        {route.view === 'node' && <NodesView key={route.name} name={route.name} />}
        {route.view === 'live' && <LiveView />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
