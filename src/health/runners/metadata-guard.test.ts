import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedLookup, isMetadataAddress } from './metadata-guard.js';
import { GrpcRunner, HttpRunner, TcpRunner } from './index.js';

const run = (r: { run(ctx: { signal: AbortSignal; timeoutMs: number }): Promise<{ status: string; output: string }> }, timeoutMs = 2000) =>
  r.run({ signal: AbortSignal.timeout(timeoutMs), timeoutMs });

describe('metadata guard', () => {
  it('knows the metadata addresses in their usual spellings, and nothing else', () => {
    for (const a of ['169.254.169.254', '169.254.170.2', '::ffff:169.254.169.254', '[fd00:ec2::254]', 'fd00:ec2:0:0:0:0:0:254', 'FD00:EC2::0254'])
      expect(isMetadataAddress(a), a).toBe(true);
    for (const a of ['169.254.169.253', '127.0.0.1', '10.0.0.1', '::1', 'fd00:ec2::253', 'metadata.google.internal', ''])
      expect(isMetadataAddress(a), a).toBe(false);
  });

  it('resolves ordinary names through the guarded lookup', async () => {
    const address = await new Promise<string>((resolve, reject) =>
      guardedLookup('localhost', { family: 4 }, (err, a) => (err ? reject(err) : resolve(a as string))),
    );
    expect(address).toBe('127.0.0.1');
  });

  describe('runners', () => {
    let redirector: Server;
    let redirectUrl: string;
    beforeAll(async () => {
      // An instance whose health endpoint redirects to the metadata service.
      redirector = createServer((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end());
      await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
      redirectUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/health`;
    });
    afterAll(() => new Promise<void>((r) => redirector.close(() => r())));

    it('an HTTP check is refused at the literal address, and when redirected there', async () => {
      const direct = await run(new HttpRunner({ url: 'http://169.254.169.254/latest/meta-data/', outputMax: 4096 }));
      expect(direct.status).toBe('critical');
      expect(direct.output).toMatch(/169\.254\.169\.254 is a cloud metadata address; checks may not reach it \(start the server with --allow-metadata-checks/);
      // A decimal spelling of the same address is normalised by the URL parser and refused too.
      const decimal = await run(new HttpRunner({ url: 'http://2852039166/', outputMax: 4096 }));
      expect(decimal.output).toMatch(/cloud metadata address/);
      const redirected = await run(new HttpRunner({ url: redirectUrl, outputMax: 4096 }));
      expect(redirected.status).toBe('critical');
      expect(redirected.output).toMatch(/cloud metadata address/);
    });

    it('TCP and gRPC checks are refused at the address', async () => {
      const tcp = await run(new TcpRunner('169.254.169.254:80'));
      expect(tcp.status).toBe('critical');
      expect(tcp.output).toMatch(/^dial tcp 169\.254\.169\.254:80: .*cloud metadata address/);
      const grpc = await run(new GrpcRunner({ target: '169.254.169.254:443/svc' }));
      expect(grpc.status).toBe('critical');
      expect(grpc.output).toMatch(/cloud metadata address/);
    });

    it('with the flag, the check is made (whatever the network then answers)', async () => {
      const allowed = await run(new TcpRunner('169.254.169.254:80', true), 200);
      expect(allowed.output).not.toMatch(/metadata/);
      const redirected = await run(new HttpRunner({ url: redirectUrl, outputMax: 4096, allowMetadataAddresses: true }), 200);
      expect(redirected.output).not.toMatch(/metadata address/);
    });
  });
});
