/*
 * test_api_writer.c — the writer thread: jobs run in submission order on a
 * thread of their own; stop refuses new jobs but runs every accepted one.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "api_writer.h"
#include "test.h"

/* The stopper thread is scheduled long before this many submissions. */
#define MAX_JOBS (1 << 20)

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;  /* the gate job may finish */
    int *order; /* job numbers in the order they ran (MAX_JOBS) */
    int n;
    pthread_t main;
    int on_main; /* jobs that ran on the submitting thread */
} log_t;

typedef struct {
    log_t *log;
    int no;
} job_arg_t;

static void record(void *p)
{
    job_arg_t *a = p;
    pthread_mutex_lock(&a->log->mu);
    a->log->order[a->log->n++] = a->no;
    if (pthread_equal(pthread_self(), a->log->main))
        a->log->on_main++;
    pthread_mutex_unlock(&a->log->mu);
}

static void gate(void *p)
{
    job_arg_t *a = p;
    pthread_mutex_lock(&a->log->mu);
    while (!a->log->open)
        pthread_cond_wait(&a->log->cv, &a->log->mu);
    pthread_mutex_unlock(&a->log->mu);
    record(p);
}

static log_t *log_new(void)
{
    log_t *l = calloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->main = pthread_self();
    l->order = malloc(MAX_JOBS * sizeof *l->order);
    return l;
}

static void log_free(log_t *l)
{
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->order);
    free(l);
}

static void test_order(void)
{
    log_t *l = log_new();
    static job_arg_t args[1000];
    api_writer_t *w = NULL;
    err_msg_t msg = {{0}};
    REQUIRE(api_writer_new(0, &w, &msg) == ERR_OK);
    for (int i = 0; i < 1000; i++) {
        args[i] = (job_arg_t){l, i};
        CHECK(api_writer_submit(w, record, &args[i]));
    }
    api_writer_stop(w); /* drains */
    CHECK_INT(1000, l->n);
    /* Stopped: refused, and the caller keeps its job. */
    CHECK(!api_writer_submit(w, record, &args[0]));
    CHECK_INT(1000, l->n);
    api_writer_stop(w); /* again: nothing to do */
    api_writer_free(w);
    int in_order = 0;
    for (int i = 0; i < l->n; i++)
        in_order += l->order[i] == i;
    CHECK_INT(1000, in_order);
    CHECK_INT(0, l->on_main);
    log_free(l);
}

static void *stopper(void *p)
{
    api_writer_stop(p);
    return NULL;
}

/* A job holds the writer; stop begins meanwhile: new jobs are refused from
   that moment, and every job accepted before it still runs. */
static void test_stop_drains(void)
{
    log_t *l = log_new();
    job_arg_t *args = malloc(MAX_JOBS * sizeof *args);
    REQUIRE(args != NULL);
    api_writer_t *w = NULL;
    err_msg_t msg = {{0}};
    REQUIRE(api_writer_new(0, &w, &msg) == ERR_OK);
    args[0] = (job_arg_t){l, 0};
    REQUIRE(api_writer_submit(w, gate, &args[0]));
    CHECK_INT(1, (int)api_writer_pending(w));
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, stopper, w) == 0);
    /* Until the stopper has begun, jobs are accepted (and must run). */
    int accepted = 1;
    for (;;) {
        REQUIRE(accepted < MAX_JOBS);
        args[accepted] = (job_arg_t){l, accepted};
        if (!api_writer_submit(w, record, &args[accepted]))
            break;
        accepted++;
        sched_yield();
    }
    pthread_mutex_lock(&l->mu);
    CHECK_INT(0, l->n); /* the gate still holds the writer */
    l->open = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(t, NULL);
    api_writer_free(w);
    CHECK_INT(accepted, l->n);
    int in_order = 0;
    for (int i = 0; i < l->n; i++)
        in_order += l->order[i] == i;
    CHECK_INT(accepted, in_order);
    free(args);
    log_free(l);
}

static void test_stop_null(void)
{
    api_writer_stop(NULL);
    api_writer_free(NULL);
    api_writer_t *w = NULL;
    err_msg_t msg = {{0}};
    REQUIRE(api_writer_new(0, &w, &msg) == ERR_OK);
    CHECK_INT(0, (int)api_writer_pending(w));
    api_writer_free(w); /* never stopped: free stops it */
}

int main(void)
{
    RUN(test_order);
    RUN(test_stop_drains);
    RUN(test_stop_null);
    return test_summary();
}
