/*
 * api_writer.h — one thread that runs the server's store writes.
 *
 * A batch commit takes tens to hundreds of milliseconds (its sync to disk
 * included). libmicrohttpd binds each connection to one worker of its
 * pool, so a commit run on a worker holds every other connection of that
 * worker behind it: reads waited up to the length of a commit under
 * continuous ingest (issue 18, item 8). The server therefore suspends an
 * ingest request once its body is in, hands the write to this thread and
 * resumes the connection when the answer is ready; the workers only read.
 *
 * What must stay true:
 *   - jobs run one at a time, in the order they were submitted, on the
 *     writer's own thread (LMDB has one writer anyway: order is kept and
 *     nothing waits on its mutex);
 *   - a submitted job always runs, even when the writer is being stopped:
 *     api_writer_stop returns only once every accepted job has run, so a
 *     suspended connection is always resumed;
 *   - after api_writer_stop has begun, api_writer_submit refuses (returns
 *     false) and the caller runs the job itself; the writer stays valid for
 *     such calls until api_writer_free (HTTP workers may still hold it).
 */
#ifndef KPID_API_WRITER_H
#define KPID_API_WRITER_H

#include <stdbool.h>

#include "err.h"

typedef struct api_writer api_writer_t;

typedef void (*api_writer_job_fn)(void *arg);

/* Start the thread, its niceness raised by nice (0: as the caller's). A
 * positive nice lets the CPU go to the readers first when both want it:
 * on a busy machine a batch then takes longer, a query does not wait
 * behind it. ERR_NOMEM or ERR_INTERNAL (with msg) on failure. */
err_t api_writer_new(int nice, api_writer_t **out, err_msg_t *msg);

/* Queue fn(arg) to run on the writer thread. false when the writer is
   stopping (or out of memory): the job was not queued. */
bool api_writer_submit(api_writer_t *w, api_writer_job_fn fn, void *arg);

/* Jobs queued and not finished (for /metrics and tests). */
unsigned api_writer_pending(api_writer_t *w);

/* Refuse new jobs, run every queued one, join the thread. Idempotent; NULL
   is a no-op. */
void api_writer_stop(api_writer_t *w);

/* Stop (if not yet) and free. NULL is a no-op. */
void api_writer_free(api_writer_t *w);

#endif
