/*
 * coll_nats.c — the NATS JetStream client of kpid (coll_nats.h): the only
 * file that includes <nats/nats.h>.
 *
 * One connection per process, reconnecting forever in the background
 * (a node keeps serving reads while NATS is down). Publishing creates a
 * JetStream context per call, so that the asynchronous acknowledgements of
 * one HTTP request are counted apart from another's. The consumer is one
 * thread: fetch a batch from the durable pull consumer, parse, commit it
 * with its last stream sequence in one store transaction, acknowledge the
 * batch's last message (the consumer acknowledges all below it: AckAll).
 *
 * Status fields are written by the consumer thread and read by HTTP
 * workers with atomic builtins; nothing else is shared.
 */
#include "coll_nats.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "kpi_arena.h"
#include "store.h"

#define FETCH_BATCH 1000
#define FETCH_WAIT_MS 250
#define INFO_EVERY_MS 200
#define RETRY_MS 250

struct coll_nats {
    coll_nats_conf_t conf;
    FILE *log;
    natsConnection *nc;
    jsCtx *js;                /* for stream info and the consumer */
    pthread_mutex_t setup_mu; /* the stream is made sure of once per connection */
    bool stream_ready;
    /* consumer */
    store_t *store;
    coll_opts_t opts;
    pthread_t thread;
    bool started;
    volatile int stop;
    /* status (atomic builtins) */
    volatile uint64_t stream_seq, applied_seq, messages, skipped, rejected, publish_failed;
    volatile int consuming;
};

static void logf_(coll_nats_t *n, const char *fmt, ...) KPID_PRINTF(2, 3);
static void logf_(coll_nats_t *n, const char *fmt, ...)
{
    if (n->log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("kpid: nats: ", n->log);
    vfprintf(n->log, fmt, ap);
    fputc('\n', n->log);
    fflush(n->log);
    va_end(ap);
}

static int64_t now_ms(void)
{
    struct timespec t;
    (void)clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* The connection's callbacks run on libnats' own thread, possibly after
   coll_nats_close has freed n (closing fires "disconnected"): their
   closure is the log stream (stderr, or NULL), which outlives them. */
static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    if (closure == NULL)
        return;
    fputs("kpid: nats: disconnected; reconnecting in the background\n", closure);
    fflush(closure);
}

static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    if (closure == NULL)
        return;
    fputs("kpid: nats: connected\n", closure);
    fflush(closure);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    if (closure == NULL)
        return;
    fputs("kpid: nats: reconnected\n", closure);
    fflush(closure);
}

static err_t nats_fail(err_msg_t *msg, err_t e, const char *what, natsStatus s)
{
    return err_set(msg, e, "%s: %s", what, natsStatus_GetText(s));
}

err_t coll_nats_open(const coll_nats_conf_t *conf, FILE *log, coll_nats_t **out, err_msg_t *msg)
{
    *out = NULL;
    coll_nats_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    n->conf = *conf;
    n->log = log;
    pthread_mutex_init(&n->setup_mu, NULL);
    natsOptions *o = NULL;
    err_t e = ERR_OK;
    /* "a,b,c": natsOptions_SetURL takes one server; a cluster's list goes
       through SetServers (the client tries them in random order). */
    char urls[sizeof conf->url];
    const char *servers[16];
    int n_servers = 0;
    snprintf(urls, sizeof urls, "%s", conf->url);
    for (char *p = urls; p != NULL && *p != '\0' && n_servers < 16;) {
        servers[n_servers++] = p;
        p = strchr(p, ',');
        if (p != NULL)
            *p++ = '\0';
    }
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetServers(o, servers, n_servers);
    if (s != NATS_OK) {
        e = nats_fail(msg, ERR_CONFIG, "nats.url", s);
        goto out;
    }
    /* Forever, quickly: a node must find NATS again on its own after an
       outage; publishing while disconnected fails at once (no reconnect
       buffer) so that an ingest request answers 503 instead of hanging. */
    s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, RETRY_MS);
    if (s == NATS_OK)
        /* With a callback, a first connect that fails returns at once and
           goes on in the background (without one it would block here). */
        s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, log);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(o, 0);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetName(o, "kpid");
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, log);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(o, on_reconnected, log);
    if (s != NATS_OK) {
        e = nats_fail(msg, ERR_INTERNAL, "NATS options", s);
        goto out;
    }
    if (conf->creds[0] != '\0')
        s = natsOptions_SetUserCredentialsFromFiles(o, conf->creds, NULL);
    if (s != NATS_OK) {
        e = err_set(msg, ERR_CONFIG, "nats.credentials %s: %s", conf->creds, natsStatus_GetText(s));
        goto out;
    }
    if (conf->tls_ca[0] != '\0') {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK)
            s = natsOptions_LoadCATrustedCertificates(o, conf->tls_ca);
        if (s == NATS_OK && conf->tls_cert[0] != '\0')
            s = natsOptions_LoadCertificatesChain(o, conf->tls_cert, conf->tls_key);
        if (s != NATS_OK) {
            e = err_set(msg, ERR_CONFIG, "nats.tls: %s", natsStatus_GetText(s));
            goto out;
        }
    }
    s = natsConnection_Connect(&n->nc, o);
    if (s == NATS_NOT_YET_CONNECTED) {
        logf_(n, "%s not reachable yet; retrying in the background", conf->url);
        s = NATS_OK;
    }
    if (s == NATS_OK)
        s = natsConnection_JetStream(&n->js, n->nc, NULL);
    if (s != NATS_OK) {
        e = err_set(msg, ERR_CONFIG, "connecting to %s: %s", conf->url, natsStatus_GetText(s));
        goto out;
    }
out:
    natsOptions_Destroy(o);
    if (e) {
        coll_nats_close(n);
        return e;
    }
    *out = n;
    return ERR_OK;
}

void coll_nats_close(coll_nats_t *n)
{
    if (n == NULL)
        return;
    if (n->started) {
        __atomic_store_n(&n->stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(n->thread, NULL);
    }
    jsCtx_Destroy(n->js);
    if (n->nc != NULL) {
        natsConnection_Close(n->nc);
        natsConnection_Destroy(n->nc);
    }
    pthread_mutex_destroy(&n->setup_mu);
    free(n);
}

static bool connected(coll_nats_t *n)
{
    return n->nc != NULL && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* Make sure the stream exists (once per process; cheap afterwards). */
static natsStatus stream_ensure(coll_nats_t *n, err_msg_t *msg)
{
    pthread_mutex_lock(&n->setup_mu);
    natsStatus s = NATS_OK;
    if (n->stream_ready)
        goto out;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    s = js_GetStreamInfo(&si, n->js, n->conf.stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        const char *subjects[1] = {n->conf.subject};
        sc.Name = n->conf.stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        sc.Replicas = n->conf.replicas;
        sc.Duplicates = (int64_t)n->conf.duplicate_window_s * 1000000000;
        s = js_AddStream(&si, n->js, &sc, NULL, &jerr);
        if (s == NATS_OK)
            logf_(n, "created stream %s (subject %s, %u replica(s))", n->conf.stream,
                  n->conf.subject, n->conf.replicas);
        else /* another node may have created it meanwhile */
            s = js_GetStreamInfo(&si, n->js, n->conf.stream, NULL, &jerr);
    }
    if (s == NATS_OK) {
        n->stream_ready = true;
        __atomic_store_n(&n->stream_seq, si->State.LastSeq, __ATOMIC_RELAXED);
    } else {
        err_set(msg, ERR_BUSY, "stream %s on %s: %s", n->conf.stream, n->conf.url,
                natsStatus_GetText(s));
    }
    jsStreamInfo_Destroy(si);
out:
    pthread_mutex_unlock(&n->setup_mu);
    return s;
}

/* ---- publishing ------------------------------------------------------------- */

typedef struct pub_ctx {
    pthread_mutex_t mu;
    coll_nats_pub_stats_t st;
    char first_err[200];
} pub_ctx_t;

static void on_pub_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    pub_ctx_t *pc = closure;
    pthread_mutex_lock(&pc->mu);
    if (pa != NULL) {
        if (pa->Duplicate)
            pc->st.duplicates++;
        else
            pc->st.stored++;
        if (pa->Sequence > pc->st.last_seq)
            pc->st.last_seq = pa->Sequence;
    } else {
        pc->st.failed++;
        if (pc->first_err[0] == '\0' && pae != NULL)
            snprintf(pc->first_err, sizeof pc->first_err, "%s",
                     pae->ErrText != NULL ? pae->ErrText : natsStatus_GetText(pae->Err));
    }
    pthread_mutex_unlock(&pc->mu);
    natsMsg_Destroy(m);
}

err_t coll_nats_publish(coll_nats_t *n, const coll_nats_item_t *items, size_t n_items,
                        unsigned timeout_ms, coll_nats_pub_stats_t *st, err_msg_t *msg)
{
    pub_ctx_t pc = {.st = {0}};
    pthread_mutex_init(&pc.mu, NULL);
    jsCtx *js = NULL;
    err_t e = ERR_OK;
    size_t sent = 0;
    if (!connected(n)) {
        e = err_set(msg, ERR_BUSY, "NATS at %s is not reachable: events not published",
                    n->conf.url);
        pc.st.failed = n_items;
        goto fail;
    }
    if (stream_ensure(n, msg) != NATS_OK) {
        e = ERR_BUSY;
        pc.st.failed = n_items;
        goto fail;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = timeout_ms;
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.AckHandler = on_pub_ack;
    jo.PublishAsync.AckHandlerClosure = &pc;
    jo.PublishAsync.StallWait = timeout_ms;
    natsStatus s = natsConnection_JetStream(&js, n->nc, &jo);
    for (size_t i = 0; s == NATS_OK && i < n_items; i++) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = items[i].msg_id;
        po.MaxWait = timeout_ms;
        natsMsg *m = NULL;
        s = natsMsg_Create(&m, n->conf.subject, NULL, items[i].data, (int)items[i].len);
        if (s == NATS_OK)
            s = js_PublishMsgAsync(js, &m, &po);
        natsMsg_Destroy(m); /* NULL once the library owns it */
        if (s == NATS_OK)
            sent++;
    }
    if (s != NATS_OK)
        snprintf(pc.first_err, sizeof pc.first_err, "%s", natsStatus_GetText(s));
    if (js != NULL) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = timeout_ms;
        natsStatus w = js_PublishAsyncComplete(js, &po);
        if (w != NATS_OK) {
            /* Not acknowledged in time: count them as failed (they may be
               stored; a resend is then a duplicate). */
            natsMsgList pending = {0};
            if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) {
                pthread_mutex_lock(&pc.mu);
                pc.st.failed += (size_t)pending.Count;
                pthread_mutex_unlock(&pc.mu);
                natsMsgList_Destroy(&pending);
            }
            if (pc.first_err[0] == '\0')
                snprintf(pc.first_err, sizeof pc.first_err, "%s", natsStatus_GetText(w));
        }
    }
    pthread_mutex_lock(&pc.mu);
    pc.st.failed += n_items - sent;
    pthread_mutex_unlock(&pc.mu);
    if (pc.st.failed > 0) {
        __atomic_add_fetch(&n->publish_failed, pc.st.failed, __ATOMIC_RELAXED);
        e = err_set(msg, ERR_BUSY,
                    "the stream acknowledged %zu of %zu events (%s); send the batch again: the "
                    "acknowledged ones are then duplicates",
                    pc.st.stored + pc.st.duplicates, n_items,
                    pc.first_err[0] ? pc.first_err : "no acknowledgement");
    }
    if (pc.st.last_seq > __atomic_load_n(&n->stream_seq, __ATOMIC_RELAXED))
        __atomic_store_n(&n->stream_seq, pc.st.last_seq, __ATOMIC_RELAXED);
    goto out;
fail:
    __atomic_add_fetch(&n->publish_failed, n_items, __ATOMIC_RELAXED);
out:
    jsCtx_Destroy(js); /* after the wait: no handler runs past here */
    if (st != NULL)
        *st = pc.st;
    pthread_mutex_destroy(&pc.mu);
    return e;
}

void coll_nats_get_status(coll_nats_t *n, coll_nats_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->connected = connected(n);
    out->consuming = __atomic_load_n(&n->consuming, __ATOMIC_RELAXED) != 0;
    out->stream_seq = __atomic_load_n(&n->stream_seq, __ATOMIC_RELAXED);
    out->applied_seq = __atomic_load_n(&n->applied_seq, __ATOMIC_RELAXED);
    out->lag = coll_nats_lag(out->stream_seq, out->applied_seq);
    out->messages = __atomic_load_n(&n->messages, __ATOMIC_RELAXED);
    out->skipped = __atomic_load_n(&n->skipped, __ATOMIC_RELAXED);
    out->rejected = __atomic_load_n(&n->rejected, __ATOMIC_RELAXED);
    out->publish_failed = __atomic_load_n(&n->publish_failed, __ATOMIC_RELAXED);
}

/* ---- consuming --------------------------------------------------------------- */

/* The events of one fetched batch, and what they came from. */
typedef struct batch {
    coll_nats_t *n;
    kpi_arena_t *arena;
    kpi_event_t *evs;
    uint64_t *ev_seq; /* the stream sequence of evs[i] */
    size_t count, cap;
    uint64_t cur_seq; /* the message being parsed */
    size_t cur_items;
} batch_t;

static err_t on_ev(void *ctx, size_t index, size_t line, const kpi_event_t *ev)
{
    (void)index;
    (void)line;
    batch_t *b = ctx;
    b->cur_items++;
    if (b->count == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : FETCH_BATCH;
        kpi_event_t *e = realloc(b->evs, ncap * sizeof *e);
        if (e == NULL)
            return ERR_NOMEM;
        b->evs = e;
        uint64_t *q = realloc(b->ev_seq, ncap * sizeof *q);
        if (q == NULL)
            return ERR_NOMEM;
        b->ev_seq = q;
        b->cap = ncap;
    }
    err_t e = kpi_event_copy(b->arena, ev, &b->evs[b->count]);
    if (e)
        return e;
    b->ev_seq[b->count++] = b->cur_seq;
    return ERR_OK;
}

static err_t on_err(void *ctx, const coll_error_t *ce)
{
    batch_t *b = ctx;
    b->cur_items++;
    __atomic_add_fetch(&b->n->rejected, 1, __ATOMIC_RELAXED);
    logf_(b->n, "stream sequence %llu: item %zu%s%s%s rejected: %s: %s",
          (unsigned long long)b->cur_seq, ce->index, ce->id[0] ? " (id '" : "", ce->id,
          ce->id[0] ? "')" : "", err_code(ce->code), ce->message);
    return ERR_OK;
}

/* Parse one message into the batch; a message with nothing usable in it is
   logged and counted, never retried. */
static void parse_msg(batch_t *b, natsMsg *m, uint64_t seq)
{
    b->cur_seq = seq;
    b->cur_items = 0;
    const char *data = natsMsg_GetData(m);
    int len = natsMsg_GetDataLength(m);
    err_t e = coll_parse_buffer(&b->n->opts, COLL_FMT_AUTO, data ? data : "",
                                len > 0 ? (size_t)len : 0, on_ev, on_err, b);
    if (e == ERR_NOMEM || e == ERR_TOO_LARGE) {
        __atomic_add_fetch(&b->n->rejected, 1, __ATOMIC_RELAXED);
        logf_(b->n, "stream sequence %llu: message not applied: %s", (unsigned long long)seq,
              err_str(e));
    } else if (b->cur_items == 0) {
        __atomic_add_fetch(&b->n->rejected, 1, __ATOMIC_RELAXED);
        logf_(b->n, "stream sequence %llu: rejected: the message holds no event",
              (unsigned long long)seq);
    }
}

/* Commit the batch (retrying while the store fails: the messages stay
   unacknowledged meanwhile) and log the store's rejections. false when
   stopped before it could commit. */
static bool commit(coll_nats_t *n, batch_t *b, uint64_t last_seq)
{
    store_item_result_t *res = calloc(b->count ? b->count : 1, sizeof *res);
    bool ok = false;
    for (unsigned tries = 0; res != NULL; tries++) {
        store_batch_opts_t bo = {.stream_seq = last_seq};
        store_batch_stats_t st;
        err_msg_t m = {{0}};
        err_t e = store_put_batch(n->store, b->evs, b->count, &bo, res, &st, &m);
        if (e == ERR_OK) {
            ok = true;
            break;
        }
        if (tries == 0)
            logf_(n, "stream sequence %llu: store write failed, retrying: %s",
                  (unsigned long long)last_seq, err_msg_or(&m, e));
        if (__atomic_load_n(&n->stop, __ATOMIC_SEQ_CST))
            break;
        sleep_ms(1000);
    }
    for (size_t i = 0; ok && i < b->count; i++) {
        if (res[i].status != STORE_ITEM_REJECTED)
            continue;
        __atomic_add_fetch(&n->rejected, 1, __ATOMIC_RELAXED);
        logf_(n, "stream sequence %llu: event '%s' rejected: %s: %s",
              (unsigned long long)b->ev_seq[i], b->evs[i].id, err_code(res[i].code),
              res[i].message);
    }
    free(res);
    return ok;
}

static void refresh_stream_seq(coll_nats_t *n)
{
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo(&si, n->js, n->conf.stream, NULL, NULL) == NATS_OK) {
        uint64_t last = si->State.LastSeq;
        if (last > __atomic_load_n(&n->stream_seq, __ATOMIC_RELAXED))
            __atomic_store_n(&n->stream_seq, last, __ATOMIC_RELAXED);
        jsStreamInfo_Destroy(si);
    }
}

/* Does the server still have this node's consumer? Asked after a fetch
   failed: a deleted consumer answers later pulls with nothing at all. */
static bool consumer_gone(coll_nats_t *n)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, n->js, n->conf.stream, n->conf.durable, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    return s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr;
}

/* from: 0 binds the durable consumer as it is (created delivering the
   whole stream if missing); else it was just deleted, and is created
   delivering from stream sequence `from`. */
static natsSubscription *subscribe(coll_nats_t *n, uint64_t from, bool *logged)
{
    err_msg_t m = {{0}};
    if (!connected(n) || stream_ensure(n, &m) != NATS_OK)
        return NULL;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = n->conf.stream;
    so.Config.AckPolicy = js_AckAll;
    so.Config.DeliverPolicy = from ? js_DeliverByStartSequence : js_DeliverAll;
    so.Config.OptStartSeq = from;
    so.Config.MaxAckPending = 4 * FETCH_BATCH;
    so.Config.AckWait = (int64_t)60 * 1000000000;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s =
        js_PullSubscribe(&sub, n->js, n->conf.subject, n->conf.durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        if (!*logged)
            logf_(n, "consumer %s on stream %s: %s (jetstream error %d); retrying", n->conf.durable,
                  n->conf.stream, natsStatus_GetText(s), (int)jerr);
        *logged = true;
        return NULL;
    }
    *logged = false;
    logf_(n, "consuming stream %s as %s from sequence %llu", n->conf.stream, n->conf.durable,
          (unsigned long long)__atomic_load_n(&n->applied_seq, __ATOMIC_RELAXED) + 1);
    return sub;
}

static void *consume_thread(void *arg)
{
    coll_nats_t *n = arg;
    natsSubscription *sub = NULL;
    bool logged = false;
    unsigned fetch_errors = 0; /* in a row, while subscribed */
    int64_t info_at = 0;
    kpi_arena_t *arena = NULL;
    batch_t b = {.n = n};
    uint64_t from = 0;      /* subscribe from this sequence (0: as the consumer is) */
    bool any_first = false; /* the first message may be past a gap (see below) */
    while (!__atomic_load_n(&n->stop, __ATOMIC_SEQ_CST)) {
        if (sub == NULL) {
            if ((sub = subscribe(n, from, &logged)) == NULL) {
                sleep_ms(RETRY_MS);
                continue;
            }
            /* Created from `from`: its first message is the earliest the
               server has from there on. Bound as it was (a restart), its
               deliveries not acked before a crash come again only later. */
            any_first = from != 0;
            from = 0;
        }
        __atomic_store_n(&n->consuming, 1, __ATOMIC_RELAXED);
        if (now_ms() - info_at >= INFO_EVERY_MS) {
            refresh_stream_seq(n);
            info_at = now_ms();
        }
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, sub, FETCH_BATCH, FETCH_WAIT_MS, &jerr);
        if (s == NATS_TIMEOUT)
            continue;
        if (s != NATS_OK) {
            natsMsgList_Destroy(&list);
            if (++fetch_errors == 1)
                logf_(n, "fetch from consumer %s: %s (jetstream error %d)", n->conf.durable,
                      natsStatus_GetText(s), (int)jerr);
            if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr || consumer_gone(n)) {
                /* Deleted on the server (by an operator, or lost with its
                   stream), or failing while connected: subscribe again,
                   which creates it afresh from the start if need be; the
                   applied sequence skips what was applied. */
                logf_(n, "consumer %s is gone; creating it again", n->conf.durable);
                natsSubscription_Destroy(sub);
                sub = NULL;
                fetch_errors = 0;
            }
            sleep_ms(RETRY_MS);
            continue;
        }
        fetch_errors = 0;
        if (kpi_arena_new((size_t)1 << 30, &arena) != ERR_OK) {
            natsMsgList_Destroy(&list);
            sleep_ms(RETRY_MS);
            continue;
        }
        b.arena = arena;
        b.count = 0;
        uint64_t applied = __atomic_load_n(&n->applied_seq, __ATOMIC_RELAXED), last = applied;
        uint64_t fresh = 0, skipped = 0, gap_at = 0;
        int ack_i = -1; /* the last message applied or skipped */
        for (int i = 0; i < list.Count; i++) {
            jsMsgMetaData *md = NULL;
            if (natsMsg_GetMetaData(&md, list.Msgs[i]) != NATS_OK)
                continue; /* not a stream message: nothing to apply or ack */
            uint64_t seq = md->Sequence.Stream;
            jsMsgMetaData_Destroy(md);
            if (seq <= last) {
                skipped++; /* applied before a restart or a lost ack */
                ack_i = i;
                continue;
            }
            /* The applied sequence says every message up to it is in the
               store, so messages are applied in stream order only. A later
               one first (messages delivered before a crash and not acked
               come again only after AckWait) is a gap: stop there. */
            if (seq != last + 1 && !any_first) {
                gap_at = seq;
                break;
            }
            any_first = false;
            parse_msg(&b, list.Msgs[i], seq);
            fresh++;
            last = seq;
            ack_i = i;
        }
        bool ok = fresh == 0 || commit(n, &b, last);
        if (ok) {
            __atomic_store_n(&n->applied_seq, last, __ATOMIC_RELAXED);
            __atomic_add_fetch(&n->messages, fresh, __ATOMIC_RELAXED);
            __atomic_add_fetch(&n->skipped, skipped, __ATOMIC_RELAXED);
            if (last > __atomic_load_n(&n->stream_seq, __ATOMIC_RELAXED))
                __atomic_store_n(&n->stream_seq, last, __ATOMIC_RELAXED);
            /* AckAll: the last message applied acknowledges those before
               it. A lost ack only means a redelivery, which the sequence
               skips. */
            if (ack_i >= 0)
                (void)natsMsg_Ack(list.Msgs[ack_i], NULL);
        }
        if (ok && gap_at != 0) {
            /* Read again from the first message not applied: the consumer
               is deleted (its pending redeliveries with it) and created
               from there. */
            logf_(n, "stream sequence %llu came before %llu: consumer %s reads again from %llu",
                  (unsigned long long)gap_at, (unsigned long long)last + 1, n->conf.durable,
                  (unsigned long long)last + 1);
            jsErrCode derr = 0;
            (void)js_DeleteConsumer(n->js, n->conf.stream, n->conf.durable, NULL, &derr);
            natsSubscription_Destroy(sub);
            sub = NULL;
            from = last + 1;
        }
        natsMsgList_Destroy(&list);
        kpi_arena_free(arena);
        arena = NULL;
    }
    free(b.evs);
    free(b.ev_seq);
    /* Destroy only: natsSubscription_Unsubscribe would delete the durable
       consumer this subscription created (libnats 3.4), and the next start
       would then read the whole stream again to skip it. */
    natsSubscription_Destroy(sub);
    __atomic_store_n(&n->consuming, 0, __ATOMIC_RELAXED);
    return NULL;
}

err_t coll_nats_consume_start(coll_nats_t *n, store_t *store, const coll_opts_t *opts,
                              err_msg_t *msg)
{
    store_stats_t st;
    err_t e = store_stats(store, &st);
    if (e)
        return err_set(msg, e, "reading the applied stream sequence: %s", err_str(e));
    n->store = store;
    n->opts = *opts;
    __atomic_store_n(&n->applied_seq, st.stream_seq, __ATOMIC_RELAXED);
    if (pthread_create(&n->thread, NULL, consume_thread, n) != 0)
        return err_set(msg, ERR_INTERNAL, "cannot start the NATS consumer thread");
    n->started = true;
    return ERR_OK;
}

err_t coll_nats_catch_up(coll_nats_t *n, unsigned timeout_ms,
                         void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                         err_msg_t *msg)
{
    int64_t t0 = now_ms();
    /* The target: the stream's last sequence now (connecting may take a
       moment after a start). */
    while (!connected(n) || stream_ensure(n, msg) != NATS_OK) {
        if (now_ms() - t0 > 3000)
            return err_set(msg, ERR_BUSY,
                           "NATS at %s is not reachable: serving the %llu message(s) applied "
                           "before; the node catches up once it is",
                           n->conf.url,
                           (unsigned long long)__atomic_load_n(&n->applied_seq, __ATOMIC_RELAXED));
        sleep_ms(50);
    }
    refresh_stream_seq(n);
    uint64_t target = __atomic_load_n(&n->stream_seq, __ATOMIC_RELAXED);
    uint64_t start = __atomic_load_n(&n->applied_seq, __ATOMIC_RELAXED);
    for (;;) {
        uint64_t applied = __atomic_load_n(&n->applied_seq, __ATOMIC_RELAXED);
        if (progress != NULL && target > start)
            progress(ctx, applied > start ? applied - start : 0, target - start);
        if (applied >= target)
            return ERR_OK;
        if (now_ms() - t0 > (int64_t)timeout_ms)
            return err_set(msg, ERR_BUSY, "still %llu message(s) behind the stream",
                           (unsigned long long)(target - applied));
        sleep_ms(50);
    }
}
