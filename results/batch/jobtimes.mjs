// Per-shard timings of a batch from the queue: when each job became active and finished (Redis
// clock), and the seconds its processor measured. Usage: node results/batch/jobtimes.mjs DIR [URL]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';

const [dir, url] = process.argv.slice(2);
const m = JSON.parse(readFileSync(join(dir, 'batch.json'), 'utf8'));
const client = new Redis(url ?? m.queue, { maxRetriesPerRequest: null });
const queue = new Queue(m.name, { connection: client });
const jobs = [];
for (const s of m.shards) {
  const j = await queue.getJob(s.jobId);
  jobs.push({ shard: s.shard, images: s.count, processedOn: j.processedOn, finishedOn: j.finishedOn, seconds: j.returnvalue?.seconds ?? null, stalled: j.stalledCounter });
}
await queue.close();
client.disconnect();
const first = Math.min(...jobs.map((j) => j.processedOn));
const last = Math.max(...jobs.map((j) => j.finishedOn));
const span = (last - first) / 1000;
const images = jobs.reduce((a, j) => a + j.images, 0);
const busy = jobs.reduce((a, j) => a + j.seconds, 0);
// Shards after each worker's first (which also loads the engine thread, the model and the data).
const later = jobs.slice().sort((a, b) => a.processedOn - b.processedOn);
console.log(JSON.stringify({ shards: jobs.length, images, spanSeconds: span, imagesPerSec: images / span, processorSeconds: busy, jobs: later }));
