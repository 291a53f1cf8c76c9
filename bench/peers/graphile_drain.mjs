// The graphile-worker peer of `tickler dispatch --once` on PostgreSQL: drain N no-op jobs.
//
//     node graphile_drain.mjs DATABASE_URL N plain|batched
//
// Installs graphile-worker's schema in the (fresh) database, adds N jobs of a no-op task in
// one statement (not timed), then times a runner from its start until every job has run and
// the runner has stopped (which flushes batched completions). `plain` is the default
// settings (concurrency 10, one fetch and one completion per job); `batched` adds the local
// queue (fetch 500 at a time) and batched completions. Prints `RESULT jobs=N seconds=S jobs_per_s=R`.
// Run with NODE_PATH pointing at the node_modules where graphile-worker is installed.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { run, makeWorkerUtils, Logger } = require("graphile-worker");

// Silent: a log line per job would cost more than the no-op job.
const logger = new Logger(() => () => {});

const [connectionString, countText, mode] = process.argv.slice(2);
const count = Number(countText);
if (!connectionString || !(count > 0) || !["plain", "batched"].includes(mode)) {
  console.error("usage: node graphile_drain.mjs DATABASE_URL N plain|batched");
  process.exit(2);
}

const utils = await makeWorkerUtils({ connectionString, logger });
await utils.migrate();
await utils.withPgClient((client) =>
  client.query(
    `SELECT graphile_worker.add_jobs(array(
       SELECT json_populate_record(null::graphile_worker.job_spec,
                                   json_build_object('identifier', 'noop'))
       FROM generate_series(1, $1)))`,
    [count],
  ),
);
await utils.release();

const worker =
  mode === "batched"
    ? { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
    : {};
let done = 0;
let allRun;
const finished = new Promise((resolve) => (allRun = resolve));
const start = performance.now();
const runner = await run({
  connectionString,
  concurrency: 10,
  noHandleSignals: true,
  pollInterval: 1000,
  preset: { worker },
  logger,
  parsedCronItems: [],
  taskList: {
    noop: async () => {
      done += 1;
      if (done === count) allRun();
    },
  },
});
await finished;
await runner.stop();
const seconds = (performance.now() - start) / 1000;
console.log(`RESULT jobs=${count} seconds=${seconds.toFixed(3)} jobs_per_s=${(count / seconds).toFixed(0)}`);
