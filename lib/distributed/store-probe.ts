// Run as a script: exits 0 when the TCPStore at argv[2]:argv[3] answers this libtorch's store
// protocol (a set, then a get of the same key), 1 otherwise. A separate process because some
// libtorch versions block without a timeout while talking to a server of another protocol
// generation (libtorch 2.x's client against a 1.x server); the caller kills it after a while.
import { native } from '../core/native.js';

const [host, port] = process.argv.slice(2);
try {
  const s = native.distributed.tcpStore(host, Number(port), false, 0, 5000);
  native.distributed.storeSet(s, 'torchnode/probe', '1');
  process.exit(native.distributed.storeGet(s, 'torchnode/probe') === '1' ? 0 : 1);
} catch {
  process.exit(1);
}
