/*
 * api_events.c — POST /v1/events (ingest) and GET /v1/events (the log).
 *
 * POST streams: each body chunk goes straight into the collector's
 * incremental parser; every complete event is copied into the request's
 * batch (compact kpi_event_t + strings in an arena) and the raw body is
 * never held. At the end the whole batch is written in ONE store
 * transaction, so a request is committed entirely or not at all — a server
 * stopped mid-request never leaves half a batch — and the answer is sent
 * only after the commit is durable (acknowledged = on disk).
 *
 * The answer lists rejected items in index order, merging the collector's
 * errors (syntax, fields) with the store's (conflicts, over-application),
 * with at most REJECTED_DETAIL_MAX details; counts are always complete.
 */
#include "api_int.h"
#include "api_params.h"

#include <stdlib.h>
#include <string.h>

#include "kpi_date.h"
#include "store_kpi.h"

#define REJECTED_DETAIL_MAX 1000
#define BATCH_ARENA_CAP ((size_t)1 << 30)

const char *const api_events_post_params[] = {"atomic", "strict", NULL};
const char *const api_events_get_params[] = {
    "customer", "vendor", "business_unit", "type", "from", "to",
    "limit",    "cursor", "format",        "bom",  NULL};

typedef struct post_state {
    coll_parser_t *parser;
    kpi_arena_t *strings; /* event strings, capped */
    kpi_event_t *evs;     /* parsed events, in arrival order */
    size_t *ev_index;     /* item index of evs[i] */
    size_t *ev_line;      /* line of evs[i] */
    size_t n, cap;
    coll_error_t *errs; /* collector rejections, index order, <= DETAIL_MAX */
    size_t n_errs;      /* details kept */
    size_t errs_total;  /* all collector rejections */
    bool atomic, strict;
    err_t fatal; /* stops the request: too many events, no memory */
    char fatal_msg[ERR_MSG_CAP];
} post_state_t;

static void post_state_free(void *p)
{
    post_state_t *st = p;
    if (st == NULL)
        return;
    coll_parser_free(st->parser);
    kpi_arena_free(st->strings);
    free(st->evs);
    free(st->ev_index);
    free(st->ev_line);
    free(st->errs);
    free(st);
}

static err_t on_event(void *ctx, size_t index, size_t line, const kpi_event_t *ev)
{
    api_req_t *req = ctx;
    post_state_t *st = req->state;
    if (st->n == req->srv->opts.max_batch_events) {
        st->fatal = ERR_TOO_LARGE;
        snprintf(st->fatal_msg, sizeof st->fatal_msg,
                 "batch exceeds %zu events; split it into smaller requests",
                 req->srv->opts.max_batch_events);
        return ERR_TOO_LARGE;
    }
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 256;
        kpi_event_t *e = realloc(st->evs, ncap * sizeof *e);
        if (e == NULL)
            return ERR_NOMEM;
        st->evs = e;
        size_t *ix = realloc(st->ev_index, ncap * sizeof *ix);
        if (ix == NULL)
            return ERR_NOMEM;
        st->ev_index = ix;
        size_t *ln = realloc(st->ev_line, ncap * sizeof *ln);
        if (ln == NULL)
            return ERR_NOMEM;
        st->ev_line = ln;
        st->cap = ncap;
    }
    err_t e = kpi_event_copy(st->strings, ev, &st->evs[st->n]);
    if (e) {
        st->fatal = ERR_TOO_LARGE;
        snprintf(st->fatal_msg, sizeof st->fatal_msg,
                 "batch needs more than %zu bytes of memory; split it", BATCH_ARENA_CAP);
        return e;
    }
    st->ev_index[st->n] = index;
    st->ev_line[st->n] = line;
    st->n++;
    return ERR_OK;
}

static err_t on_error(void *ctx, const coll_error_t *err)
{
    post_state_t *st = ((api_req_t *)ctx)->state;
    st->errs_total++;
    if (st->n_errs < REJECTED_DETAIL_MAX)
        st->errs[st->n_errs++] = *err;
    return ERR_OK;
}

/* Create the request state on the first chunk (or at the end for an empty
   body). Returns false with req->body_err set when the request is bad. */
static bool post_begin(api_req_t *req)
{
    if (req->state != NULL)
        return true;
    post_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        goto nomem;
    req->state = st;
    req->free_state = post_state_free;
    static const char *const flags[] = {"atomic", "strict"};
    bool *flag_out[] = {&st->atomic, &st->strict};
    for (size_t i = 0; i < 2; i++) {
        const char *v = api_query(req, flags[i]);
        err_msg_t m = {{0}};
        if (v != NULL && api_param_bool(flags[i], v, flag_out[i], &m) != ERR_OK) {
            req->body_err = ERR_BAD_PARAM;
            snprintf(req->body_msg, sizeof req->body_msg, "%s", m.text);
            return false;
        }
    }
    const char *ctype =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    coll_format_t fmt = COLL_FMT_AUTO;
    if (ctype != NULL && ctype[0] != '\0') {
        fmt = coll_format_from_media_type(ctype);
        if (fmt == COLL_FMT_AUTO && strncmp(ctype, "text/plain", 10) != 0 &&
            strncmp(ctype, "application/octet-stream", 24) != 0) {
            req->body_err = ERR_BAD_PARAM;
            snprintf(req->body_msg, sizeof req->body_msg,
                     "unsupported Content-Type '%s': use application/json, "
                     "application/x-ndjson or text/csv",
                     ctype);
            return false;
        }
    }
    st->errs = calloc(REJECTED_DETAIL_MAX, sizeof *st->errs);
    if (st->errs == NULL || kpi_arena_new(BATCH_ARENA_CAP, &st->strings) != ERR_OK)
        goto nomem;
    if (coll_parser_new(&req->srv->opts.coll, fmt, on_event, on_error, req, &st->parser) != ERR_OK)
        goto nomem;
    return true;
nomem:
    req->body_err = ERR_NOMEM;
    snprintf(req->body_msg, sizeof req->body_msg, "out of memory starting the batch");
    return false;
}

static bool fail_from_parser(api_req_t *req, err_t e)
{
    post_state_t *st = req->state;
    req->body_err = st->fatal ? st->fatal : e;
    snprintf(req->body_msg, sizeof req->body_msg, "%s", st->fatal ? st->fatal_msg : err_str(e));
    return false;
}

bool api_events_post_body(api_req_t *req, const char *data, size_t len)
{
    if (!post_begin(req))
        return false;
    post_state_t *st = req->state;
    err_t e = coll_parser_feed(st->parser, data, len);
    if (e)
        return fail_from_parser(req, e);
    return true;
}

static json_t *rejected_json(size_t index, size_t line, const char *id, const char *field,
                             err_t code, const char *message)
{
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "index", json_integer((json_int_t)index));
    if (line > 0)
        json_object_set_new(j, "line", json_integer((json_int_t)line));
    json_object_set_new(j, "id", json_string(id ? id : ""));
    json_object_set_new(j, "field", json_string(field ? field : ""));
    json_object_set_new(j, "code", json_string(err_code(code)));
    json_object_set_new(j, "error", json_string(message));
    return j;
}

/* ---- business-unit scope of an ingest key -------------------------------
 *
 * A key limited to units may only write events that count in them:
 *   - a business_unit the event names must be one of the key's units;
 *   - every document the event is about (its own, the invoice it refers
 *     to) that is already stored must belong to one of them, whatever unit
 *     the event names (a movement counts under its invoice's unit);
 *   - an event that names no unit and refers to no stored document is in
 *     unit "default", which must be one of them;
 *   - a customer or vendor the event names that the store already knows
 *     (store_party_units: the units it has documents in) must be in one of
 *     the key's units; for credit.* and *.updated events it must be in no
 *     other unit, since a credit limit, a hold or a name is the whole
 *     party's, which every unit it deals with sees. A party new to the store belongs to the
 *     event's unit.
 * Such a batch is written with strict references, so an event about a
 * document not stored yet is refused unless an earlier item of the same
 * batch (which passed these checks) creates it: a scoped key cannot park a
 * movement that would later count in another unit's document.
 */
static bool scope_doc_ok(store_snap_t *snap, const api_key_t *k, kpi_doc_kind_t kind,
                         const char *number, bool *known, store_item_result_t *r)
{
    store_doc_t d;
    if (number == NULL || kind == KPI_DOC_NONE || store_doc_get(snap, kind, number, &d) != ERR_OK ||
        !d.exists)
        return true;
    *known = true;
    if (api_key_unit_allowed(k, d.business_unit))
        return true;
    r->status = STORE_ITEM_REJECTED;
    r->code = ERR_FORBIDDEN;
    r->field = kpi_doc_kind_name(kind);
    snprintf(r->message, sizeof r->message,
             "%s %s belongs to a business unit key '%s' may not write", kpi_doc_kind_name(kind),
             number, k->name);
    return false;
}

typedef struct party_scope {
    const api_key_t *k;
    bool inside;  /* a unit of the party is the key's */
    bool outside; /* a unit of the party is not the key's */
} party_scope_t;

static err_t party_unit(void *ctx, const char *unit)
{
    party_scope_t *ps = ctx;
    if (api_key_unit_allowed(ps->k, unit))
        ps->inside = true;
    else
        ps->outside = true;
    return ERR_OK;
}

/* The last party checked, so that a run of one customer's events costs one
   look-up. */
typedef struct party_memo {
    char name[KPI_NAME_MAX + 1];
    bool failed; /* the look-up failed: refuse, the key's limits must hold */
    party_scope_t ps;
} party_memo_t;

static bool scope_party_ok(store_snap_t *snap, const api_key_t *k, const kpi_event_t *ev,
                           party_memo_t *memo, store_item_result_t *r)
{
    if (ev->party == NULL || ev->party[0] == '\0')
        return true;
    if (strcmp(memo->name, ev->party) != 0) {
        memo->ps = (party_scope_t){k, false, false};
        memo->failed = store_party_units(snap, ev->party, party_unit, &memo->ps) != ERR_OK;
        snprintf(memo->name, sizeof memo->name, "%s", ev->party);
    }
    bool known = memo->ps.inside || memo->ps.outside;
    /* A standing or a profile is the whole party's, seen by all its units. */
    bool standing = ev->type == KPI_EV_CREDIT_LIMIT_SET || ev->type == KPI_EV_CREDIT_HOLD_SET ||
                    ev->type == KPI_EV_CREDIT_HOLD_RELEASED || kpi_ev_is_profile(ev->type);
    bool ok = !memo->failed && (!known || (standing ? !memo->ps.outside : memo->ps.inside));
    if (ok)
        return true;
    const char *field = kpi_ev_is_payable(ev->type) ? "vendor" : "customer";
    r->status = STORE_ITEM_REJECTED;
    r->code = ERR_FORBIDDEN;
    r->field = field;
    snprintf(r->message, sizeof r->message,
             "%s %.100s belongs to a business unit key '%s' may not write", field, ev->party,
             k->name);
    return false;
}

static bool scope_event_ok(store_snap_t *snap, const api_key_t *k, const kpi_event_t *ev,
                           party_memo_t *memo, store_item_result_t *r)
{
    if (ev->type == KPI_EV_FX_RATE) {
        /* A rate converts every unit's figures: not one unit's to set. */
        r->status = STORE_ITEM_REJECTED;
        r->code = ERR_FORBIDDEN;
        r->field = "type";
        snprintf(r->message, sizeof r->message,
                 "exchange rates apply to every business unit; key '%s' is limited to some, so "
                 "it may not write fx.rate",
                 k->name);
        return false;
    }
    const char *unit = ev->business_unit;
    if (unit[0] != '\0' && !api_key_unit_allowed(k, unit)) {
        r->status = STORE_ITEM_REJECTED;
        r->code = ERR_FORBIDDEN;
        r->field = "business_unit";
        snprintf(r->message, sizeof r->message, "key '%s' may not write business unit '%s'",
                 k->name, unit);
        return false;
    }
    bool known = false;
    if (!scope_doc_ok(snap, k, kpi_ev_doc_kind(ev->type), ev->doc, &known, r) ||
        !scope_doc_ok(snap, k, KPI_DOC_INVOICE, ev->ref, &known, r) ||
        !scope_party_ok(snap, k, ev, memo, r))
        return false;
    bool refers = ev->ref != NULL || (ev->doc != NULL && !kpi_ev_creates_doc(ev->type));
    if (unit[0] == '\0' && !known && !refers && !api_key_unit_allowed(k, "default")) {
        r->status = STORE_ITEM_REJECTED;
        r->code = ERR_FORBIDDEN;
        r->field = "business_unit";
        snprintf(r->message, sizeof r->message,
                 "the event names no business_unit, so it is in 'default', which key '%s' may "
                 "not write",
                 k->name);
        return false;
    }
    return true;
}

/*
 * Write st's events as the store would, refusing (ERR_FORBIDDEN, in res)
 * the ones outside the key's units first; only the others reach the store.
 */
static err_t put_scoped(api_req_t *req, post_state_t *st, store_item_result_t *res,
                        store_batch_stats_t *stats, err_msg_t *msg)
{
    const api_key_t *k = req->key;
    kpi_event_t *ok = malloc(st->n * sizeof *ok);
    size_t *at = malloc(st->n * sizeof *at);
    store_item_result_t *ok_res = calloc(st->n, sizeof *ok_res);
    store_snap_t *snap = NULL;
    err_t e = ok && at && ok_res ? store_snap_begin(req->srv->opts.store, &snap) : ERR_NOMEM;
    size_t n_ok = 0, n_forbidden = 0;
    party_memo_t memo = {"", false, {k, false, false}};
    for (size_t i = 0; !e && i < st->n; i++) {
        if (scope_event_ok(snap, k, &st->evs[i], &memo, &res[i])) {
            ok[n_ok] = st->evs[i];
            at[n_ok++] = i;
        } else {
            n_forbidden++;
        }
    }
    store_snap_end(snap);
    if (e) {
        err_set(msg, e, "out of memory");
        goto out;
    }
    if (st->atomic && n_forbidden > 0) {
        for (size_t j = 0; j < n_ok; j++)
            res[at[j]].status = STORE_ITEM_NOT_COMMITTED;
        goto out;
    }
    if (n_ok > 0) {
        store_batch_opts_t bo = {.atomic = st->atomic, .strict_refs = true};
        e = store_put_batch(req->srv->opts.store, ok, n_ok, &bo, ok_res, stats, msg);
        for (size_t j = 0; !e && j < n_ok; j++)
            res[at[j]] = ok_res[j];
    }
out:
    free(ok);
    free(at);
    free(ok_res);
    return e;
}

enum MHD_Result api_events_post_respond(api_req_t *req)
{
    if (!post_begin(req))
        return api_send_error(req, req->body_err, "%s", req->body_msg);
    post_state_t *st = req->state;
    err_t e = coll_parser_finish(st->parser);
    if (e) {
        (void)fail_from_parser(req, e);
        return api_send_error(req, req->body_err, "%s", req->body_msg);
    }
    size_t items = st->n + st->errs_total;
    if (items == 0)
        return api_send_error(req, ERR_BAD_PARAM, "the request body holds no events");
    if (req->srv->opts.stream != NULL && (st->atomic || st->strict))
        /* Each event is its own message of the stream, applied by every
           node in its own batches: no transaction spans a request. */
        return api_send_error(req, ERR_BAD_PARAM,
                              "'atomic' and 'strict' are not available when kpid ingests "
                              "through NATS (each event is its own stream message); send the "
                              "batch without them");
    if (req->srv->opts.stream != NULL && api_auth_scoped(req))
        return api_send_error(req, ERR_FORBIDDEN,
                              "key '%s' is limited to business units, and through NATS the "
                              "nodes cannot check a unit's documents when they apply; use an "
                              "unscoped ingest key",
                              req->key->name);

    store_item_result_t *res = NULL;
    store_batch_stats_t stats = {0};
    bool committed = false;
    if (st->n > 0) {
        res = calloc(st->n, sizeof *res);
        if (res == NULL)
            return api_send_error(req, ERR_NOMEM, "out of memory");
    }
    if (st->atomic && st->errs_total > 0) {
        /* All or nothing, and something is already bad: write nothing. */
        for (size_t i = 0; i < st->n; i++)
            res[i].status = STORE_ITEM_NOT_COMMITTED;
    } else if (st->n > 0) {
        store_batch_opts_t bo = {.atomic = st->atomic, .strict_refs = st->strict};
        err_msg_t msg = {{0}};
        if (req->srv->opts.stream != NULL)
            e = api_stream_put(req, st->evs, st->n, res, &stats, &msg);
        else if (api_auth_scoped(req))
            e = put_scoped(req, st, res, &stats, &msg);
        else
            e = store_put_batch(req->srv->opts.store, st->evs, st->n, &bo, res, &stats, &msg);
        if (e) {
            free(res);
            return api_send_error(req, e, "batch not written: %s", err_msg_or(&msg, e));
        }
        committed = stats.committed;
    }

    /* Merge collector and store rejections by item index. */
    json_t *rejected = json_array();
    size_t store_rejected = 0, detailed = 0;
    size_t ci = 0;
    err_t only_code = ERR_OK;
    bool mixed = false;
    for (size_t si = 0; si <= st->n; si++) {
        size_t s_index = si < st->n ? st->ev_index[si] : (size_t)-1;
        while (ci < st->n_errs && st->errs[ci].index < s_index) {
            const coll_error_t *ce = &st->errs[ci++];
            if (detailed++ < REJECTED_DETAIL_MAX)
                json_array_append_new(rejected, rejected_json(ce->index, ce->line, ce->id,
                                                              ce->field, ce->code, ce->message));
            mixed |= only_code != ERR_OK && only_code != ce->code;
            only_code = ce->code;
        }
        if (si == st->n)
            break;
        if (res[si].status != STORE_ITEM_REJECTED)
            continue;
        store_rejected++;
        if (detailed++ < REJECTED_DETAIL_MAX)
            json_array_append_new(rejected,
                                  rejected_json(s_index, st->ev_line[si], st->evs[si].id,
                                                res[si].field, res[si].code, res[si].message));
        mixed |= only_code != ERR_OK && only_code != res[si].code;
        only_code = res[si].code;
    }
    /* Collector errors past the detail cap were counted but not kept. */
    if (st->errs_total > st->n_errs)
        mixed = true;
    free(res);

    size_t rejected_total = st->errs_total + store_rejected;
    json_t *j = json_object();
    json_object_set_new(j, "accepted", json_integer(committed ? (json_int_t)stats.accepted : 0));
    json_object_set_new(j, "duplicates",
                        json_integer(committed ? (json_int_t)stats.duplicates : 0));
    json_object_set_new(j, "rejected", rejected);
    json_object_set_new(j, "rejected_count", json_integer((json_int_t)rejected_total));
    if (rejected_total > REJECTED_DETAIL_MAX)
        json_object_set_new(j, "rejected_truncated", json_true());
    json_object_set_new(j, "pending", json_integer(committed ? (json_int_t)stats.pending : 0));
    json_object_set_new(j, "released", json_integer(committed ? (json_int_t)stats.released : 0));
    json_object_set_new(j, "items", json_integer((json_int_t)items));
    json_object_set_new(j, "committed", json_boolean(committed));

    size_t taken = committed ? stats.accepted + stats.duplicates : 0;
    api_metrics_events(req->srv->metrics, committed ? stats.accepted : 0,
                       committed ? stats.duplicates : 0, rejected_total,
                       items > taken + rejected_total ? items - taken - rejected_total : 0);

    unsigned status = MHD_HTTP_OK;
    bool nothing_taken = !committed || stats.accepted + stats.duplicates == 0;
    if (rejected_total > 0 && nothing_taken)
        status = (!mixed && only_code != ERR_OK && !st->atomic) ? api_err_status(only_code)
                                                                : MHD_HTTP_UNPROCESSABLE_CONTENT;
    return api_send_json(req, status, j);
}

/* ---- GET /v1/events ----------------------------------------------------- */

typedef struct list_ctx {
    int base_digits;
    bool csv;
    json_t *arr;
    api_buf_t buf;
} list_ctx_t;

static err_t list_row(void *ctx, const store_ev_row_t *row)
{
    list_ctx_t *lc = ctx;
    if (lc->csv) {
        api_event_csv_row(&lc->buf, row->ev, lc->base_digits);
        return lc->buf.failed ? ERR_TOO_LARGE : ERR_OK;
    }
    json_t *j = api_event_json(row->ev, lc->base_digits);
    if (j == NULL || json_array_append_new(lc->arr, j) != 0)
        return ERR_NOMEM;
    return ERR_OK;
}

static bool parse_day_param(api_req_t *req, const char *name, bool *has, int32_t *day)
{
    const char *v = api_query(req, name);
    *has = false;
    if (v == NULL || v[0] == '\0')
        return true;
    *has = true;
    return kpi_date_parse(v, strlen(v), day) == ERR_OK;
}

enum MHD_Result api_events_get(api_req_t *req)
{
    store_ev_filter_t f = {0};
    const char *customer = api_query(req, "customer");
    const char *vendor = api_query(req, "vendor");
    if (customer != NULL && vendor != NULL)
        return api_send_error(req, ERR_BAD_PARAM, "give 'customer' or 'vendor', not both");
    /* One name may be a customer and a vendor: customer= lists only its
       receivables events, vendor= only its bills. */
    f.party = customer ? customer : vendor;
    f.side = customer ? STORE_EV_RECEIVABLE : vendor ? STORE_EV_PAYABLE : STORE_EV_ANY;
    err_msg_t am = {{0}};
    if (api_auth_unit(req, api_query(req, "business_unit"), &f.business_unit, &am) != ERR_OK)
        return api_send_error(req, ERR_FORBIDDEN, "%s", am.text);
    const char *type = api_query(req, "type");
    if (type != NULL && kpi_ev_type_parse(type, strlen(type), &f.type) != ERR_OK) {
        size_t nt;
        const char *const *names = kpi_ev_type_names(&nt);
        char hint[KPI_NAME_MAX + 24];
        return api_send_error(req, ERR_BAD_PARAM, "parameter 'type': unknown event type '%s'%s",
                              type, api_did_you_mean(type, names, nt, hint, sizeof hint));
    }
    if (!parse_day_param(req, "from", &f.has_from, &f.from_day))
        return api_send_error(req, ERR_BAD_PARAM, "parameter 'from' must be a date YYYY-MM-DD");
    if (!parse_day_param(req, "to", &f.has_to, &f.to_day))
        return api_send_error(req, ERR_BAD_PARAM, "parameter 'to' must be a date YYYY-MM-DD");
    if (f.has_from && f.has_to && f.from_day > f.to_day)
        return api_send_error(req, ERR_BAD_PARAM, "parameter 'from' is after 'to'");
    size_t limit = 100;
    const char *ls = api_query(req, "limit");
    err_msg_t lm = {{0}};
    if (ls != NULL && api_param_limit(ls, &limit, &lm) != ERR_OK)
        return api_send_error(req, ERR_BAD_PARAM, "%s", lm.text);
    err_t fe;
    const char *badfmt = NULL;
    bool csv = api_wants_csv(req, &fe, &badfmt);
    if (fe)
        return api_send_error(req, fe, "parameter 'format' must be json, csv or xlsx, not '%s'",
                              badfmt);
    bool bom = false;
    const char *boms = api_query(req, "bom");
    err_msg_t bm = {{0}};
    if (boms != NULL && api_param_bool("bom", boms, &bom, &bm) != ERR_OK)
        return api_send_error(req, ERR_BAD_PARAM, "%s", bm.text);

    list_ctx_t lc = {.base_digits = req->srv->coll_digits_base, .csv = csv};
    if (csv) {
        api_csv_start(&lc.buf, (size_t)64 << 20, bom);
        api_event_csv_header(&lc.buf);
    } else {
        lc.arr = json_array();
    }
    store_snap_t *snap = NULL;
    char next[STORE_CURSOR_BUF] = "";
    err_t e = store_snap_begin(req->srv->opts.store, &snap);
    if (!e)
        e = store_events_list(snap, &f, api_query(req, "cursor"), limit, list_row, &lc, next);
    store_snap_end(snap);
    if (e) {
        json_decref(lc.arr);
        api_buf_free(&lc.buf);
        if (e == ERR_BAD_PARAM)
            return api_send_error(req, e, "parameter 'cursor' is not a cursor from this server");
        return api_send_error(req, e, "listing events failed: %s", err_str(e));
    }
    if (csv) {
        if (lc.buf.failed) {
            api_buf_free(&lc.buf);
            return api_send_error(req, ERR_TOO_LARGE, "CSV page too large; lower 'limit'");
        }
        return api_send_table(req, &lc.buf, NULL, NULL); /* CSV, or XLSX made from it */
    }
    json_t *j = json_object();
    json_object_set_new(j, "events", lc.arr);
    json_object_set_new(j, "next_cursor", next[0] ? json_string(next) : json_null());
    return api_send_json(req, MHD_HTTP_OK, j);
}
