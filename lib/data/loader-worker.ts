// The DataLoader's worker thread: runs batch jobs (decode + transform, batch-job.ts) and posts the
// packed bytes back, transferring the buffer (no copy). Loads no torch: the addon's tensor table
// belongs to the main thread.
import { parentPort } from 'node:worker_threads';
import { runJob, type JobRequest } from './batch-job.js';

if (!parentPort) throw new Error('loader-worker.ts runs as a worker thread');
const port = parentPort;

port.on('message', async (msg: { id: number; req: JobRequest }) => {
  try {
    const res = await runJob(msg.req);
    const transfer = res.data ? [res.data.buffer as ArrayBuffer] : [];
    port.postMessage({ id: msg.id, res }, transfer);
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: msg.id, error: { message: err.message, stack: err.stack } });
  }
});
