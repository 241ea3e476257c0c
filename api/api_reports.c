/*
 * api_reports.c — PDF reports over HTTP: POST /v1/reports (render now),
 * GET /v1/reports (list), GET /v1/reports/{id} (download).
 *
 * Translation only: parameters come from a small JSON body or the query
 * string and are checked by reports/ (rpt_kind_parse, rpt_period_parse);
 * rendering, ids, the temp-then-rename write and the listing are
 * reports/ functions (rpt.h). A report is rendered synchronously on the
 * request's worker thread into opts.reports_dir; readers never see a
 * partial file because the name appears only at the rename.
 */
#include "api_int.h"
#include "api_xlsx.h"
#include "api_params.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kpi_date.h"
#include "kpi_money.h"
#include "rpt.h"
#include "rpt_mail.h"

#define BODY_MAX 16384       /* a report request is a few short fields */
#define PDF_MAX (256u << 20) /* refuse to serve a file larger than this */

const char *const api_reports_post_params[] = {"kind",    "business_unit", "period", "currency",
                                               "mail_to", "customer",      "as_of",  NULL};
const char *const api_reports_get_params[] = {NULL};

typedef struct body {
    char *data;
    size_t len;
} body_t;

static void body_free(void *p)
{
    body_t *b = p;
    if (b == NULL)
        return;
    free(b->data);
    free(b);
}

bool api_reports_post_body(api_req_t *req, const char *data, size_t len)
{
    body_t *b = req->state;
    if (b == NULL) {
        b = calloc(1, sizeof *b);
        if (b == NULL) {
            req->body_err = ERR_NOMEM;
            snprintf(req->body_msg, sizeof req->body_msg, "out of memory");
            return false;
        }
        req->state = b;
        req->free_state = body_free;
    }
    if (len > BODY_MAX - b->len) {
        req->body_err = ERR_TOO_LARGE;
        snprintf(req->body_msg, sizeof req->body_msg, "a report request body is at most %d bytes",
                 BODY_MAX);
        return false;
    }
    char *n = realloc(b->data, b->len + len + 1);
    if (n == NULL) {
        req->body_err = ERR_NOMEM;
        snprintf(req->body_msg, sizeof req->body_msg, "out of memory");
        return false;
    }
    memcpy(n + b->len, data, len);
    b->data = n;
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

/* The report parameters: query string first, then the JSON body's keys. */
typedef struct params {
    const char *kind, *unit, *period, *currency;
    const char *customer, *as_of;         /* kind statement only */
    const char *mail_to[RPT_MAIL_TO_MAX]; /* into the query's copy or the body */
    size_t n_mail_to;
    char mail_buf[RPT_MAIL_TO_MAX * RPT_MAIL_ADDR_MAX]; /* the query's list, split */
} params_t;

/* mail_to=a@x,b@y (query) into p->mail_to. */
static err_t mail_from_query(const char *q, params_t *p, err_msg_t *m)
{
    p->n_mail_to = 0;
    if (q == NULL)
        return ERR_OK;
    size_t n = strlen(q);
    if (n >= sizeof p->mail_buf)
        return err_set(m, ERR_BAD_PARAM, "'mail_to' is too long");
    memcpy(p->mail_buf, q, n + 1);
    for (char *s = p->mail_buf;;) {
        char *c = strchr(s, ',');
        if (c != NULL)
            *c = '\0';
        if (p->n_mail_to == RPT_MAIL_TO_MAX)
            return err_set(m, ERR_BAD_PARAM, "'mail_to' lists more than %d addresses",
                           RPT_MAIL_TO_MAX);
        p->mail_to[p->n_mail_to++] = s;
        if (c == NULL)
            break;
        s = c + 1;
    }
    return ERR_OK;
}

/* "mail_to": ["a@x", ...] (body) into p->mail_to. */
static err_t mail_from_json(json_t *v, params_t *p, err_msg_t *m)
{
    if (!json_is_array(v))
        return err_set(m, ERR_BAD_TYPE, "field 'mail_to' must be an array of e-mail addresses");
    if (json_array_size(v) > RPT_MAIL_TO_MAX)
        return err_set(m, ERR_BAD_PARAM, "'mail_to' lists more than %d addresses", RPT_MAIL_TO_MAX);
    p->n_mail_to = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *a = json_array_get(v, i);
        if (!json_is_string(a))
            return err_set(m, ERR_BAD_TYPE, "field 'mail_to': item %zu is not a string", i);
        p->mail_to[p->n_mail_to++] = json_string_value(a);
    }
    return ERR_OK;
}

/* The addresses are checked before anything is rendered. */
static err_t mail_check(const api_req_t *req, const params_t *p, bool asked, err_msg_t *m)
{
    if (!asked)
        return ERR_OK;
    if (p->n_mail_to == 0)
        return err_set(m, ERR_BAD_PARAM, "'mail_to' must list 1 to %d e-mail addresses",
                       RPT_MAIL_TO_MAX);
    if (req->srv->opts.mailq == NULL)
        return err_set(m, ERR_BAD_PARAM,
                       "this server sends no e-mail: 'mail_to' needs the 'smtp' block in its "
                       "config");
    for (size_t i = 0; i < p->n_mail_to; i++)
        if (!rpt_mail_addr_ok(p->mail_to[i]))
            return err_set(m, ERR_BAD_PARAM, "'mail_to': '%.80s' is not an e-mail address",
                           p->mail_to[i]);
    return ERR_OK;
}

static err_t params_from_body(api_req_t *req, json_t **root, params_t *p, bool *mail_asked,
                              err_msg_t *m)
{
    body_t *b = req->state;
    *root = NULL;
    if (b == NULL || b->len == 0)
        return ERR_OK;
    json_error_t jerr;
    *root = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL)
        return err_set(m, ERR_PARSE, "request body is not JSON: %s (line %d)", jerr.text,
                       jerr.line);
    if (!json_is_object(*root))
        return err_set(m, ERR_BAD_PARAM, "request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(*root, key, v)
    {
        if (strcmp(key, "mail_to") == 0) {
            *mail_asked = true;
            err_t e = mail_from_json(v, p, m);
            if (e)
                return e;
            continue;
        }
        const char **dst = strcmp(key, "kind") == 0            ? &p->kind
                           : strcmp(key, "business_unit") == 0 ? &p->unit
                           : strcmp(key, "period") == 0        ? &p->period
                           : strcmp(key, "currency") == 0      ? &p->currency
                           : strcmp(key, "customer") == 0      ? &p->customer
                           : strcmp(key, "as_of") == 0         ? &p->as_of
                                                               : NULL;
        if (dst == NULL)
            return err_set(m, ERR_BAD_PARAM,
                           "unknown field '%s' (known: kind, business_unit, period, currency, "
                           "mail_to, customer, as_of)",
                           key);
        if (json_is_null(v) && dst == &p->unit) {
            *dst = NULL;
            continue;
        }
        if (!json_is_string(v))
            return err_set(m, ERR_BAD_TYPE, "field '%s' must be a string", key);
        *dst = json_string_value(v);
    }
    return ERR_OK;
}

#define KINDS "sla, aging, dso, ftq, summary, payables, xlsx, statement"

/* A statement's customer and days (docs/reports.md): the customer is
   required; as_of and the period are optional (rpt_statement_days). */
static err_t statement_of(api_req_t *req, const params_t *p, rpt_request_t *rq, err_msg_t *m)
{
    if (p->customer == NULL)
        return err_set(m, ERR_BAD_PARAM,
                       "'customer' is required for kind statement (a statement is one "
                       "customer's account)");
    err_t e = api_param_name("customer", p->customer, m);
    rpt_days_t days = {.has_period = p->period != NULL, .has_as_of = p->as_of != NULL};
    if (!e && p->period != NULL)
        e = rpt_period_parse(p->period, &days.from_day, &days.to_day, m);
    if (!e && p->as_of != NULL)
        e = api_param_date("as_of", p->as_of, &days.as_of, m);
    if (!e)
        e = rpt_statement_days(&days, kpi_tz_day(req->srv->opts.coll.tz, (int64_t)time(NULL)), rq,
                               m);
    rq->customer = p->customer;
    return e;
}

static err_t request_of(api_req_t *req, const params_t *p, rpt_request_t *rq, err_msg_t *m)
{
    memset(rq, 0, sizeof *rq);
    if (p->kind == NULL)
        return err_set(m, ERR_BAD_PARAM, "'kind' is required (one of: " KINDS ")");
    if (rpt_kind_parse(p->kind, &rq->kind) != ERR_OK)
        return err_set(m, ERR_BAD_PARAM, "'kind': '%s' is not one of: " KINDS, p->kind);
    err_t e = ERR_OK;
    if (rq->kind == RPT_STATEMENT) {
        e = statement_of(req, p, rq, m);
    } else if (p->customer != NULL || p->as_of != NULL) {
        return err_set(m, ERR_BAD_PARAM, "'%s' is only for kind statement",
                       p->customer != NULL ? "customer" : "as_of");
    } else if (p->period == NULL) {
        return err_set(m, ERR_BAD_PARAM,
                       "'period' is required (2025-11, 2025-Q4, 2025-W47, 2025 or "
                       "2025-01-01..2025-03-31)");
    } else {
        e = rpt_period_parse(p->period, &rq->from_day, &rq->to_day, m);
    }
    if (e)
        return e;
    if (p->currency != NULL) {
        int digits;
        if (strlen(p->currency) != 3 || kpi_currency_digits(p->currency, &digits) != ERR_OK)
            return err_set(m, ERR_BAD_PARAM, "'currency': '%s' is not an ISO 4217 code",
                           p->currency);
        memcpy(rq->currency, p->currency, 4);
    }
    if (p->unit != NULL && (p->unit[0] == '\0' || strlen(p->unit) > KPI_NAME_MAX))
        return err_set(m, ERR_BAD_PARAM, "'business_unit' must be 1 to %d bytes", KPI_NAME_MAX);
    rq->business_unit = p->unit;
    rq->generated_s = (int64_t)time(NULL);
    rq->tz = req->srv->opts.coll.tz; /* a period not over is reported to date */
    rq->aging_edges = req->srv->opts.aging_edges;
    rq->n_aging_edges = req->srv->opts.n_aging_edges;
    rq->sla_goal_bp = req->srv->opts.sla_goal_bp;
    return ERR_OK;
}

/* The media type of the report named id: its kind's file (rpt_id_ext). */
static const char *report_type(const char *id)
{
    return strcmp(rpt_id_ext(id), ".xlsx") == 0 ? API_XLSX_TYPE : "application/pdf";
}

/* Accept asks for the report's own file (PDF, or XLSX for the kind xlsx). */
static bool wants_pdf(api_req_t *req, const char *id)
{
    const char *a = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept");
    return a != NULL && strstr(a, report_type(id)) != NULL;
}

/* The whole file at path into a malloc'd buffer (caller frees). */
static err_t read_file(const char *path, char **data, size_t *len, err_msg_t *m)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ERR_NOT_FOUND
                               : err_set(m, ERR_IO, "cannot read report: %s", strerror(errno));
    err_t e = ERR_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        e = err_set(m, ERR_IO, "report file is not a readable regular file");
        goto out;
    }
    if ((uint64_t)st.st_size > PDF_MAX) {
        e = err_set(m, ERR_TOO_LARGE, "report file is larger than %u bytes", PDF_MAX);
        goto out;
    }
    *data = malloc((size_t)st.st_size + 1);
    if (*data == NULL) {
        e = err_set(m, ERR_NOMEM, "out of memory");
        goto out;
    }
    while (*len < (size_t)st.st_size) {
        ssize_t n = read(fd, *data + *len, (size_t)st.st_size - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = err_set(m, ERR_IO, "cannot read report: %s", n < 0 ? strerror(errno) : "short");
            break;
        }
        *len += (size_t)n;
    }
out:
    close(fd);
    if (e) {
        free(*data);
        *data = NULL;
    }
    return e;
}

static enum MHD_Result send_pdf(api_req_t *req, unsigned status, const char *path, const char *id,
                                const char *location)
{
    err_msg_t m = {{0}};
    char *data;
    size_t len;
    err_t e = read_file(path, &data, &len, &m);
    if (e == ERR_NOT_FOUND)
        return api_send_error(req, e, "no report '%s'", id);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    char disp[RPT_ID_MAX + 48];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s%s\"", id, rpt_id_ext(id));
    const char *headers[] = {"Content-Disposition", disp, location ? "Location" : NULL, location,
                             NULL};
    enum MHD_Result r = api_send_body_h(req, status, report_type(id), data, len, headers);
    free(data);
    return r;
}

static json_t *j_day(int32_t day)
{
    char buf[KPI_DATE_BUF];
    return json_string(kpi_date_format(day, buf));
}

static json_t *j_time(int64_t t)
{
    char buf[KPI_TIME_BUF];
    return json_string(kpi_time_format_utc(t, buf));
}

/* Queue the report written at `path` for p->mail_to. */
static err_t mail_submit(api_req_t *req, const params_t *p, const rpt_request_t *rq,
                         const char *path, const char *id, err_msg_t *m)
{
    rpt_mail_item_t it = {.pdf_path = path,
                          .kind = rpt_kind_name(rq->kind),
                          /* the subject names whom the report is about */
                          .unit = rq->kind == RPT_STATEMENT ? rq->customer : rq->business_unit,
                          .from_day = rq->from_day,
                          .to_day = rq->to_day,
                          .generated_s = rq->generated_s,
                          .to = p->mail_to,
                          .n_to = p->n_mail_to};
    err_msg_t qm = {{0}};
    err_t e = rpt_mailq_submit(req->srv->opts.mailq, &it, &qm);
    if (e)
        return err_set(m, e, "report %s is written, but not queued for e-mail: %s", id,
                       err_msg_or(&qm, e));
    return ERR_OK;
}

/* POST /v1/reports with its parameters in *p (zeroed; big, so on the heap). */
static enum MHD_Result reports_post(api_req_t *req, const char *dir, params_t *p)
{
    err_msg_t m = {{0}};
    p->kind = api_query(req, "kind");
    p->unit = api_query(req, "business_unit");
    p->period = api_query(req, "period");
    p->currency = api_query(req, "currency");
    p->customer = api_query(req, "customer");
    p->as_of = api_query(req, "as_of");
    const char *mq = api_query(req, "mail_to");
    bool mail_asked = mq != NULL;
    json_t *root = NULL;
    rpt_request_t rq;
    err_t e = mail_from_query(mq, p, &m);
    if (!e)
        e = params_from_body(req, &root, p, &mail_asked, &m);
    if (!e) /* a key limited to business units renders only its own */
        e = api_auth_unit(req, p->unit, &p->unit, &m);
    if (!e)
        e = request_of(req, p, &rq, &m);
    if (!e)
        e = mail_check(req, p, mail_asked, &m);
    if (e) {
        json_decref(root);
        return api_send_error(req, e, "%s", m.text);
    }
    char id[RPT_ID_MAX], path[4096], location[RPT_ID_MAX + 16];
    rpt_report_id(&rq, id);
    e = rpt_dir_ensure(dir, &m);
    if (!e && rpt_path(dir, id, path, sizeof path) != ERR_OK)
        e = err_set(&m, ERR_CONFIG, "reports directory path is too long");
    rpt_info_t info = {0};
    if (!e)
        e = rpt_render_atomic(req->srv->opts.store, &rq, path, &info, &m);
    if (!e && mail_asked)
        e = mail_submit(req, p, &rq, path, id, &m);
    if (e) {
        json_decref(root);
        return api_send_error(req, e, "%s", m.text);
    }
    snprintf(location, sizeof location, "/v1/reports/%s", id);
    if (wants_pdf(req, id)) {
        json_decref(root);
        return send_pdf(req, MHD_HTTP_CREATED, path, id, location);
    }
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "kind", json_string(rpt_kind_name(rq.kind)));
    json_object_set_new(j, "business_unit",
                        rq.business_unit ? json_string(rq.business_unit) : json_null());
    if (p->period != NULL) {
        json_object_set_new(j, "period", json_string(p->period));
    } else { /* a statement's default period, as a range */
        char f[KPI_DATE_BUF], t[KPI_DATE_BUF], per[2 * KPI_DATE_BUF + 2];
        snprintf(per, sizeof per, "%s..%s", kpi_date_format(rq.from_day, f),
                 kpi_date_format(rq.to_day, t));
        json_object_set_new(j, "period", json_string(per));
    }
    if (rq.kind == RPT_STATEMENT) {
        json_object_set_new(j, "customer", json_string(rq.customer));
        json_object_set_new(j, "as_of", j_day(rq.as_of_day));
    }
    json_object_set_new(j, "from", j_day(rq.from_day));
    json_object_set_new(j, "to", j_day(rq.to_day));
    json_object_set_new(j, "size", json_integer((json_int_t)info.bytes));
    json_object_set_new(j, "pages", json_integer((json_int_t)info.pages));
    json_object_set_new(j, "created", j_time(rq.generated_s));
    json_object_set_new(j, "url", json_string(location));
    if (mail_asked) { /* queued: delivery (and its retries) runs on its own thread */
        json_t *to = json_array();
        for (size_t i = 0; i < p->n_mail_to; i++)
            json_array_append_new(to, json_string(p->mail_to[i]));
        json_object_set_new(j, "mail_to", to);
    }
    json_decref(root); /* after the copies above: p->* may point into it */
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (text == NULL)
        return api_send_error(req, ERR_NOMEM, "out of memory building the response");
    const char *headers[] = {"Location", location, NULL};
    enum MHD_Result r =
        api_send_body_h(req, MHD_HTTP_CREATED, "application/json", text, strlen(text), headers);
    free(text);
    return r;
}

enum MHD_Result api_reports_post(api_req_t *req)
{
    const char *dir = req->srv->opts.reports_dir;
    if (dir == NULL)
        return api_send_error(req, ERR_CONFIG, "this server has no reports directory configured");
    params_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return api_send_error(req, ERR_NOMEM, "out of memory");
    enum MHD_Result r = reports_post(req, dir, p);
    free(p);
    return r;
}

/* Whether the request's key may see the report of id parts `p`: every
   report for an unscoped key; for a key limited to business units, only
   reports on one of its units (never whole-book reports). Ids keep units in
   their file-name form (rpt_id_unit), so the key's units are compared in
   that form too. */
static bool report_visible(const api_req_t *req, const rpt_id_parts_t *p)
{
    if (!api_auth_scoped(req))
        return true;
    if (strcmp(p->unit, "all") == 0)
        return false;
    for (size_t i = 0; i < req->key->n_units; i++) {
        char u[RPT_ID_UNIT_MAX];
        rpt_id_unit(api_key_unit(req->key, i), u);
        if (strcmp(u, p->unit) == 0)
            return true;
    }
    return false;
}

typedef struct list_ctx {
    const api_req_t *req;
    json_t *arr;
} list_ctx_t;

static err_t list_one(void *ctx, const rpt_file_t *f)
{
    const list_ctx_t *lc = ctx;
    json_t *arr = lc->arr;
    rpt_id_parts_t parts;
    if (rpt_id_parse(f->id, &parts) != ERR_OK)
        return ERR_OK; /* a PDF someone put there by hand: not ours to describe */
    if (!report_visible(lc->req, &parts))
        return ERR_OK;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(f->id));
    json_object_set_new(o, "kind", json_string(parts.kind));
    json_object_set_new(o, "business_unit",
                        strcmp(parts.unit, "all") == 0 ? json_null() : json_string(parts.unit));
    json_object_set_new(o, "from", j_day(parts.from_day));
    json_object_set_new(o, "to", j_day(parts.to_day));
    json_object_set_new(o, "size", json_integer((json_int_t)f->size));
    json_object_set_new(o, "created", j_time(parts.created_s));
    char url[RPT_ID_MAX + 16];
    snprintf(url, sizeof url, "/v1/reports/%s", f->id);
    json_object_set_new(o, "url", json_string(url));
    return json_array_append_new(arr, o) ? ERR_NOMEM : ERR_OK;
}

enum MHD_Result api_reports_list(api_req_t *req)
{
    err_msg_t m = {{0}};
    json_t *arr = json_array();
    const char *dir = req->srv->opts.reports_dir;
    list_ctx_t lc = {req, arr};
    err_t e = dir ? rpt_list(dir, list_one, &lc, &m) : ERR_OK;
    if (e) {
        json_decref(arr);
        return api_send_error(req, e, "%s", m.text[0] ? m.text : err_str(e));
    }
    json_t *root = json_object();
    json_object_set_new(root, "reports", arr);
    return api_send_json(req, MHD_HTTP_OK, root);
}

enum MHD_Result api_reports_get(api_req_t *req)
{
    const char *dir = req->srv->opts.reports_dir;
    char id[RPT_ID_MAX];
    const char *rest = req->path_rest ? req->path_rest : "";
    size_t n = strlen(rest);
    if (n > 4 && strcmp(rest + n - 4, ".pdf") == 0)
        n -= 4; /* /v1/reports/ID.pdf names the same report */
    else if (n > 5 && strcmp(rest + n - 5, ".xlsx") == 0)
        n -= 5; /* and ID.xlsx, an xlsx report's file */
    if (n == 0 || n >= sizeof id)
        return api_send_error(req, ERR_BAD_PARAM, "report id must be 1 to %d bytes",
                              RPT_ID_MAX - 1);
    memcpy(id, rest, n);
    id[n] = '\0';
    if (!rpt_id_valid(id))
        return api_send_error(req, ERR_BAD_PARAM,
                              "report id '%s' may hold only A-Z a-z 0-9 . _ - (not starting "
                              "with '.', no '..')",
                              id);
    char path[4096];
    rpt_id_parts_t parts;
    /* Another unit's report is answered like a missing one: a scoped key
       learns nothing about which reports exist elsewhere. */
    bool hidden = api_auth_scoped(req) &&
                  (rpt_id_parse(id, &parts) != ERR_OK || !report_visible(req, &parts));
    if (dir == NULL || hidden || rpt_path(dir, id, path, sizeof path) != ERR_OK)
        return api_send_error(req, ERR_NOT_FOUND, "no report '%s'", id);
    return send_pdf(req, MHD_HTTP_OK, path, id, NULL);
}
