/**
 * The etcd3 client as this driver sets it up: every member of the URL as a host, no retries of
 * the client's own (the store decides what may be retried, see etcd-calls.ts), a circuit
 * breaker per member that stops sending to one that keeps failing and tries it again after a
 * jittered, growing pause, gRPC keepalive pings so a stream to a member that went silent is
 * noticed, and etcd's "require leader" flag on every request, so a member cut off from its
 * cluster refuses at once (and ends its watch streams) instead of serving stale data.
 */
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, noop } from 'cockatiel';
import { rootCertificates } from 'node:tls';
import { Etcd3 } from 'etcd3';
import { classify } from './etcd-errors.js';

/** Adds etcd's `hasleader: true` metadata: a member without a leader answers "no leader". */
const requireLeader: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('hasleader', 'true');
      next(metadata, listener);
    },
  });

/** TLS to etcd: the CA that signs the members' certificates, and a client certificate for members that require one. */
export interface EtcdTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function createEtcdClient(endpoints: readonly string[], tls?: EtcdTls): Etcd3 {
  return new Etcd3({
    hosts: endpoints.map((e) => `${tls ? 'https' : 'http'}://${e}`),
    ...(tls
      ? {
          credentials: {
            // Without a CA of its own, the members' certificates are checked against Node's roots.
            rootCertificate: tls.ca ?? Buffer.from(rootCertificates.join('\n')),
            ...(tls.cert && tls.key ? { certChain: tls.cert, privateKey: tls.key } : {}),
          },
        }
      : {}),
    grpcOptions: {
      // etcd refuses pings more often than every 5 s (its --grpc-keepalive-min-time) and pings
      // without a call open; a silent member is noticed within ~10 s on an open stream.
      'grpc.keepalive_time_ms': 6000,
      'grpc.keepalive_timeout_ms': 4000,
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5000,
      // Ranges are paged (etcd-store.ts), but one page of large values may pass gRPC's 4 MB default.
      'grpc.max_receive_message_length': -1,
    },
    faultHandling: {
      global: noop,
      host: () =>
        circuitBreaker(
          handleWhen((err) => classify(err).kind === 'unreachable'),
          {
            halfOpenAfter: new ExponentialBackoff({ initialDelay: 300, maxDelay: 5000 }),
            breaker: new ConsecutiveBreaker(2),
          },
        ),
    },
    defaultCallOptions: { interceptors: [requireLeader] },
  });
}
