#!/usr/bin/env python3
"""The pgqueuer peer of `tickler dispatch --once` on PostgreSQL: drain N no-op jobs.

    pgqueuer_drain.py DATABASE_URL N

Installs pgqueuer's schema in the (fresh) database, enqueues N jobs of a no-op entrypoint in
one call (not timed), then times a QueueManager in drain mode (batch size 100) until the
queue is empty. Prints `RESULT jobs=N seconds=S jobs_per_s=R`. Runs in the venv that
bench/run.sh makes, where pgqueuer and asyncpg are installed.
"""

import asyncio
import sys
import time

import asyncpg
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.domain.types import QueueExecutionMode


async def main(url, count):
    connection = await asyncpg.connect(url)
    driver = AsyncpgDriver(connection)
    queries = Queries(driver)
    await queries.install()
    await queries.enqueue(["noop"] * count, [None] * count, [0] * count)

    manager = QueueManager(queries)
    done = 0

    @manager.entrypoint("noop")
    async def noop(job):
        nonlocal done
        done += 1

    start = time.monotonic()
    await manager.run(batch_size=100, mode=QueueExecutionMode.drain)
    seconds = time.monotonic() - start
    await connection.close()
    if done != count:
        sys.exit(f"pgqueuer ran {done} jobs, expected {count}")
    print(f"RESULT jobs={count} seconds={seconds:.3f} jobs_per_s={count / seconds:.0f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
