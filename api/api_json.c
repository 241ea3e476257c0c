/*
 * api_json.c — events rendered back as docs/events.md names their fields, in JSON
 * (GET /v1/events) and CSV (format=csv). The inverse of the collector's
 * parsing: an event rendered here and sent back is the same content (a
 * duplicate), which the round-trip tests rely on.
 *
 * Amounts are decimal strings with the currency's digits; an event that
 * named no currency is printed with the base currency's digits, the same
 * rule the collector used to read it. Times are UTC RFC 3339, or the plain
 * date for events sent with a date only.
 */
#include "api_int.h"

#include <string.h>

#include "kpi_date.h"
#include "kpi_fx.h"
#include "kpi_money.h"

static bool is_ap(kpi_ev_type_t t)
{
    return kpi_ev_is_payable(t);
}

static int amount_digits(const kpi_event_t *ev, int base_digits)
{
    int d = base_digits;
    if (ev->currency[0] != '\0' && kpi_currency_digits(ev->currency, &d) != ERR_OK)
        d = base_digits;
    return d;
}

/* The values of an event as strings, in the fixed column order shared by
   JSON and CSV rendering. NULL = field absent. */
enum {
    COL_ID,
    COL_TYPE,
    COL_TIME,
    COL_BU,
    COL_CUSTOMER,
    COL_VENDOR,
    COL_INVOICE,
    COL_CREDIT_NOTE,
    COL_PAYMENT,
    COL_BILL,
    COL_DISPUTE,
    COL_INQUIRY,
    COL_AMOUNT,
    COL_CURRENCY,
    COL_DUE_DATE,
    COL_TERMS,
    COL_BILLING_DUE,
    COL_RESULT,
    COL_METHOD,
    COL_REASON,
    COL_RESOLUTION,
    COL_DATE,   /* fx.rate: its day (instead of time) */
    COL_RATE,   /* fx.rate: its rate (instead of amount) */
    COL_SOURCE, /* fx.rate: where the rate comes from */
    COL_NAME,   /* *.updated: the party's profile */
    COL_EMAIL,
    COL_COUNTRY,
    COL_SEGMENT,
    COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
    "id",      "type",        "time",       "business_unit", "customer",    "vendor",
    "invoice", "credit_note", "payment",    "bill",          "dispute",     "inquiry",
    "amount",  "currency",    "due_date",   "terms_days",    "billing_due", "result",
    "method",  "reason",      "resolution", "date",          "rate",        "source",
    "name",    "email",       "country",    "segment"};

typedef struct ev_cols {
    const char *v[COL_COUNT];
    char time[KPI_TIME_BUF];
    char amount[KPI_AMOUNT_BUF];
    char due[KPI_DATE_BUF];
    char billing[KPI_DATE_BUF];
    char terms[16];
    char rate[KPI_RATE_BUF];
} ev_cols_t;

static int doc_col(kpi_doc_kind_t k)
{
    switch (k) {
    case KPI_DOC_INVOICE: return COL_INVOICE;
    case KPI_DOC_CREDIT_NOTE: return COL_CREDIT_NOTE;
    case KPI_DOC_PAYMENT: return COL_PAYMENT;
    case KPI_DOC_DISPUTE: return COL_DISPUTE;
    case KPI_DOC_INQUIRY: return COL_INQUIRY;
    case KPI_DOC_BILL: return COL_BILL;
    case KPI_DOC_NONE:
    case KPI_DOC_COUNT: return -1;
    }
    return -1;
}

static void ev_cols(const kpi_event_t *ev, int base_digits, ev_cols_t *c)
{
    memset(c->v, 0, sizeof c->v);
    c->v[COL_ID] = ev->id;
    c->v[COL_TYPE] = kpi_ev_type_name(ev->type);
    if (ev->flags & KPI_EVF_DATE_ONLY)
        c->v[COL_TIME] = kpi_date_format(ev->date_day, c->time);
    else
        c->v[COL_TIME] = kpi_time_format_utc(ev->time_s, c->time);
    if (ev->business_unit[0] != '\0')
        c->v[COL_BU] = ev->business_unit;
    if (ev->party != NULL)
        c->v[is_ap(ev->type) ? COL_VENDOR : COL_CUSTOMER] = ev->party;
    int dc = doc_col(kpi_ev_doc_kind(ev->type));
    if (dc >= 0 && ev->doc != NULL)
        c->v[dc] = ev->doc;
    if (ev->ref != NULL)
        c->v[COL_INVOICE] = ev->ref;
    if (ev->flags & KPI_EVF_AMOUNT)
        c->v[COL_AMOUNT] =
            kpi_amount_format(ev->amount_minor, amount_digits(ev, base_digits), c->amount);
    if (ev->currency[0] != '\0')
        c->v[COL_CURRENCY] = ev->currency;
    if (ev->flags & KPI_EVF_DUE)
        c->v[COL_DUE_DATE] = kpi_date_format(ev->due_day, c->due);
    if (ev->flags & KPI_EVF_TERMS) {
        snprintf(c->terms, sizeof c->terms, "%d", (int)ev->terms_days);
        c->v[COL_TERMS] = c->terms;
    }
    if (ev->flags & KPI_EVF_BILLING_DUE)
        c->v[COL_BILLING_DUE] = kpi_date_format(ev->billing_due_day, c->billing);
    if (ev->result != KPI_RESULT_NONE)
        c->v[COL_RESULT] = kpi_result_name(ev->result);
    if (ev->method != KPI_METHOD_NONE)
        c->v[COL_METHOD] = kpi_method_name(ev->method);
    if (ev->text != NULL)
        c->v[ev->type == KPI_EV_DISPUTE_RESOLVED ? COL_RESOLUTION : COL_REASON] = ev->text;
    if (ev->type == KPI_EV_FX_RATE) { /* the collector's field names for it */
        c->v[COL_DATE] = c->v[COL_TIME];
        c->v[COL_TIME] = NULL;
        c->v[COL_RATE] =
            (ev->flags & KPI_EVF_AMOUNT) ? kpi_rate_format(ev->amount_minor, c->rate) : NULL;
        c->v[COL_AMOUNT] = NULL;
        c->v[COL_SOURCE] = c->v[COL_REASON];
        c->v[COL_REASON] = NULL;
    }
    if (kpi_ev_is_profile(ev->type)) {
        c->v[COL_NAME] = c->v[COL_REASON];
        c->v[COL_REASON] = NULL;
        c->v[COL_EMAIL] = ev->email;
        c->v[COL_COUNTRY] = ev->country;
        c->v[COL_SEGMENT] = ev->segment;
    }
}

json_t *api_event_json(const kpi_event_t *ev, int base_digits)
{
    ev_cols_t c;
    ev_cols(ev, base_digits, &c);
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    for (int i = 0; i < COL_COUNT; i++) {
        if (c.v[i] == NULL)
            continue;
        json_t *v = i == COL_TERMS ? json_integer(ev->terms_days) : json_string(c.v[i]);
        if (v == NULL || json_object_set_new(j, col_names[i], v) != 0) {
            json_decref(j);
            return NULL;
        }
    }
    if (ev->extra != NULL) {
        /* Unknown fields were kept as a JSON object; put them back beside
           the known ones (known names win, though the collector never lets
           a known name into extra). */
        json_t *x = json_loads(ev->extra, 0, NULL);
        if (x != NULL && json_is_object(x))
            json_object_update_missing(j, x);
        json_decref(x);
    }
    return j;
}

void api_event_csv_header(api_buf_t *b)
{
    for (int i = 0; i < COL_COUNT; i++) {
        api_buf_str(b, col_names[i]);
        api_buf_add(b, ",", 1);
    }
    api_buf_str(b, "extra\r\n");
}

void api_event_csv_row(api_buf_t *b, const kpi_event_t *ev, int base_digits)
{
    ev_cols_t c;
    ev_cols(ev, base_digits, &c);
    for (int i = 0; i < COL_COUNT; i++) {
        /* Amount and terms are numbers; every other column is text. */
        if (i == COL_AMOUNT || i == COL_TERMS)
            api_buf_csv_num(b, c.v[i]);
        else
            api_buf_csv_field(b, c.v[i]);
        api_buf_add(b, ",", 1);
    }
    api_buf_csv_field(b, ev->extra);
    api_buf_add(b, "\r\n", 2);
}
