import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';


export interface FaultyProxy {
  endpoint: string;
  /** What it did: requests forwarded, answered 503, and answers cut short mid-body. */
  counts: { forwarded: number; refused: number; cut: number };
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of an S3 server that misbehaves as networks and overloaded servers do:
 * every `refuseEvery`-th request is answered 503 SlowDown, and every `cutEvery`-th GET of an
 * object is cut off halfway through its body (the connection dropped).
 */
export async function startFaultyProxy(upstream: string, { refuseEvery = 4, cutEvery = 3 } = {}): Promise<FaultyProxy> {
  const target = new URL(upstream);
  const counts = { forwarded: 0, refused: 0, cut: 0 };
  let requests = 0;
  let gets = 0;
  const server: Server = createServer((incoming, answer) => {
    requests += 1;
    if (requests % refuseEvery === 0) {
      counts.refused += 1;
      incoming.resume();
      answer.writeHead(503, { 'content-type': 'application/xml' });
      answer.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    counts.forwarded += 1;
    const objectGet = incoming.method === 'GET' && !(incoming.url ?? '').includes('list-type') && (incoming.url ?? '').split('?')[0]!.split('/').length > 2;
    const cut = objectGet && ++gets % cutEvery === 0;
    const forward = request(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host } },
      (upstreamAnswer) => {
        answer.writeHead(upstreamAnswer.statusCode ?? 502, upstreamAnswer.headers);
        const length = Number(upstreamAnswer.headers['content-length'] ?? 0);
        if (!cut || length < 2) {
          upstreamAnswer.pipe(answer);
          return;
        }
        counts.cut += 1;
        let sent = 0;
        upstreamAnswer.on('data', (chunk: Buffer) => {
          const room = Math.floor(length / 2) - sent;
          if (room > 0) answer.write(chunk.subarray(0, room));
          sent += Math.min(room, chunk.length);
          if (sent >= Math.floor(length / 2)) {
            upstreamAnswer.destroy();
            answer.socket?.destroy();
          }
        });
      },
    );
    forward.on('error', () => answer.socket?.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
