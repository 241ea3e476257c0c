/*
 * api_stream.c — the HTTP side of the NATS mode (api.h api_stream_t,
 * docs/operations.md "Many nodes"): POST /v1/events publishing to the
 * stream instead of writing the store, the lag every KPI answer carries,
 * and the node's stream position on /healthz and /metrics.
 *
 * Publishing answers in the shape of a local write: each valid event the
 * node already stores is decided here, from its own view (same content: a
 * duplicate; other content: a conflict, 409), because every node has
 * applied the same prefix of the stream and would decide it the same way;
 * the rest is published, one message per event, and counted accepted (or a
 * duplicate when the stream's window already holds that exact message)
 * once the stream has acknowledged it. What only applying can tell (an
 * over-application, a document conflict) is decided by every node as it
 * applies the stream, logged and counted in kpid_nats_rejected_total.
 */
#include "api_int.h"

#include <stdlib.h>
#include <string.h>

#include "api_metrics.h"
#include "coll_nats.h"

#define PUBLISH_TIMEOUT_MS 10000u

typedef struct same_ctx {
    const uint8_t *enc;
    size_t len;
    bool same;
} same_ctx_t;

static err_t same_row(void *ctx, const store_ev_row_t *row)
{
    same_ctx_t *sc = ctx;
    uint8_t buf[8192];
    size_t len = 0;
    /* An encoding too long for buf is compared by length only when it
       differs; equal lengths of such sizes are re-encoded on the heap. */
    err_t e = kpi_event_encode(row->ev, buf, sizeof buf, &len);
    if (e == ERR_TOO_LARGE) {
        uint8_t *big = len == sc->len ? malloc(len) : NULL;
        sc->same = big != NULL && kpi_event_encode(row->ev, big, len, &len) == ERR_OK &&
                   memcmp(big, sc->enc, len) == 0;
        free(big);
        return ERR_OK;
    }
    sc->same = e == ERR_OK && len == sc->len && memcmp(buf, sc->enc, len) == 0;
    return ERR_OK;
}

/* Is this event's id stored already (*found), and with the same content? */
static err_t known_event(store_snap_t *snap, const kpi_event_t *ev, bool *found, bool *same)
{
    *found = *same = false;
    size_t len = 0;
    err_t e = kpi_event_encode(ev, NULL, 0, &len); /* asks for the size */
    if (e != ERR_TOO_LARGE)
        return e ? e : ERR_INTERNAL;
    uint8_t *enc = malloc(len ? len : 1);
    if (enc == NULL)
        return ERR_NOMEM;
    e = kpi_event_encode(ev, enc, len, &len);
    same_ctx_t sc = {enc, len, false};
    if (!e) {
        e = store_event_get(snap, ev->id, same_row, &sc);
        *found = e == ERR_OK;
        if (e == ERR_NOT_FOUND)
            e = ERR_OK;
    }
    *same = sc.same;
    free(enc);
    return e;
}

char *api_event_text(const kpi_event_t *ev, int base_digits)
{
    json_t *j = api_event_json(ev, base_digits);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return text;
}

err_t api_stream_put(api_req_t *req, const kpi_event_t *evs, size_t n, store_item_result_t *res,
                     store_batch_stats_t *stats, err_msg_t *msg)
{
    const api_stream_t *sm = req->srv->opts.stream;
    memset(stats, 0, sizeof *stats);
    api_stream_msg_t *msgs = calloc(n ? n : 1, sizeof *msgs);
    char **texts = calloc(n ? n : 1, sizeof *texts);
    char(*ids)[COLL_NATS_MSG_ID_MAX] = calloc(n ? n : 1, sizeof *ids);
    store_snap_t *snap = NULL;
    size_t n_msgs = 0;
    err_t e = msgs && texts && ids ? store_snap_begin(req->srv->opts.store, &snap) : ERR_NOMEM;
    for (size_t i = 0; !e && i < n; i++) {
        bool found, same;
        e = known_event(snap, &evs[i], &found, &same);
        if (e)
            break;
        if (found && same) {
            res[i].status = STORE_ITEM_DUPLICATE;
            stats->duplicates++;
            continue;
        }
        if (found) {
            res[i].status = STORE_ITEM_REJECTED;
            res[i].code = ERR_CONFLICT;
            res[i].field = "id";
            snprintf(res[i].message, sizeof res[i].message,
                     "event id '%.100s' is already stored with other content", evs[i].id);
            stats->rejected++;
            continue;
        }
        texts[i] = api_event_text(&evs[i], req->srv->coll_digits_base);
        if (texts[i] == NULL || coll_nats_msg_id(&evs[i], ids[i]) != ERR_OK) {
            e = ERR_NOMEM;
            break;
        }
        res[i].status = STORE_ITEM_ACCEPTED;
        msgs[n_msgs++] = (api_stream_msg_t){ids[i], texts[i], strlen(texts[i])};
    }
    store_snap_end(snap);
    if (e) {
        err_set(msg, e, "%s", err_str(e));
        goto out;
    }
    size_t stored = 0, dups = 0;
    if (n_msgs > 0)
        e = sm->publish(sm->ctx, msgs, n_msgs, &stored, &dups, msg);
    if (!e) {
        stats->accepted = stored;
        stats->duplicates += dups;
        stats->committed = true;
    }
out:
    for (size_t i = 0; texts != NULL && i < n; i++)
        free(texts[i]);
    free(texts);
    free(msgs);
    free(ids);
    return e;
}

void api_stream_headers(api_req_t *req, struct MHD_Response *r)
{
    if (!req->stream_lag_set || req->stream_lag == 0)
        return;
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)req->stream_lag);
    (void)MHD_add_response_header(r, "X-Kpid-Lag", v);
}

bool api_stream_too_far(api_req_t *req, uint64_t *lag)
{
    const api_stream_t *sm = req->srv->opts.stream;
    if (sm == NULL || req->route == NULL || !req->route->cached)
        return false;
    /* Read once, at admission: the 503 and the header agree. */
    api_stream_pos_t p;
    sm->position(sm->ctx, &p);
    req->stream_lag = *lag = p.lag;
    req->stream_lag_set = true;
    return sm->max_lag > 0 && p.lag > sm->max_lag;
}

json_t *api_stream_health(api_server_t *srv)
{
    const api_stream_t *sm = srv->opts.stream;
    if (sm == NULL)
        return NULL;
    api_stream_pos_t p;
    sm->position(sm->ctx, &p);
    return json_pack("{s:b,s:I,s:I,s:I,s:I}", "connected", p.connected, "stream_sequence",
                     (json_int_t)p.stream_seq, "applied_sequence", (json_int_t)p.applied_seq, "lag",
                     (json_int_t)p.lag, "max_lag", (json_int_t)sm->max_lag);
}

void api_stream_metrics(api_server_t *srv, api_buf_t *b)
{
    const api_stream_t *sm = srv->opts.stream;
    if (sm == NULL)
        return;
    api_stream_pos_t p;
    sm->position(sm->ctx, &p);
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"kpid_nats_connected", "gauge", "1 while the node is connected to NATS."},
        {"kpid_nats_stream_sequence", "gauge", "The stream's last sequence, as last seen."},
        {"kpid_nats_applied_sequence", "gauge",
         "The last stream sequence committed to this node's store."},
        {"kpid_nats_lag_messages", "gauge",
         "Messages in the stream this node has not applied yet (stream - applied)."},
        {"kpid_nats_messages_applied_total", "counter", "Stream messages applied since start."},
        {"kpid_nats_messages_skipped_total", "counter",
         "Redelivered messages skipped because they were applied before."},
        {"kpid_nats_rejected_total", "counter",
         "Events from the stream refused by validation or the store (logged with their "
         "sequence), since start."},
        {"kpid_nats_publish_failed_total", "counter",
         "Events POSTed to this node that the stream did not acknowledge (answered 503)."},
    };
    uint64_t v[] = {p.connected ? 1 : 0, p.stream_seq, p.applied_seq, p.lag,
                    p.messages,          p.skipped,    p.rejected,    p.publish_failed};
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
        api_prom_family(b, fam[i].name, fam[i].type, fam[i].help);
        api_prom_sample_u64(b, fam[i].name, NULL, 0, v[i]);
    }
}
