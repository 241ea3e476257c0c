/*
 * api_writer.c — the writer thread (api_writer.h): a FIFO of jobs under
 * one mutex, run by one thread until stopped and drained.
 */
#include "api_writer.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    struct job *next;
    api_writer_job_fn fn;
    void *arg;
} job_t;

struct api_writer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t *head, *tail; /* queued, not yet started */
    unsigned pending;   /* queued + running */
    bool stopping;
    int nice; /* added to the thread's niceness when it starts */
    pthread_t thread;
};

static void *writer_main(void *arg)
{
    api_writer_t *w = arg;
    /* Linux keeps a niceness per thread: this one alone. Failing (a
       sandbox refusing it) only leaves the writer at normal priority. */
    if (w->nice != 0) {
        pid_t tid = (pid_t)syscall(SYS_gettid);
        errno = 0;
        int now = getpriority(PRIO_PROCESS, (id_t)tid);
        if (errno == 0)
            (void)setpriority(PRIO_PROCESS, (id_t)tid, now + w->nice);
    }
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        job_t *j = w->head;
        if (j == NULL)
            break; /* stopping and drained */
        w->head = j->next;
        if (w->head == NULL)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&w->mu);
        w->pending--;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

err_t api_writer_new(int nice, api_writer_t **out, err_msg_t *msg)
{
    *out = NULL;
    api_writer_t *w = calloc(1, sizeof *w);
    if (w == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    w->nice = nice;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return err_set(msg, ERR_INTERNAL, "cannot start the writer thread: %s", strerror(rc));
    }
    *out = w;
    return ERR_OK;
}

bool api_writer_submit(api_writer_t *w, api_writer_job_fn fn, void *arg)
{
    job_t *j = malloc(sizeof *j);
    if (j == NULL)
        return false;
    *j = (job_t){NULL, fn, arg};
    pthread_mutex_lock(&w->mu);
    bool ok = !w->stopping;
    if (ok) {
        if (w->tail != NULL)
            w->tail->next = j;
        else
            w->head = j;
        w->tail = j;
        w->pending++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (!ok)
        free(j);
    return ok;
}

unsigned api_writer_pending(api_writer_t *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned n = w->pending;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void api_writer_stop(api_writer_t *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    bool join = !w->stopping;
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    /* Only the first caller joins; the server stops from one thread. */
    if (join)
        pthread_join(w->thread, NULL);
}

void api_writer_free(api_writer_t *w)
{
    if (w == NULL)
        return;
    api_writer_stop(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
