// A TCP port that was free a moment ago (for a single-machine rendezvous: launch.js --standalone,
// the benchmarks, the tests). Another process may take it before it is bound again.
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
