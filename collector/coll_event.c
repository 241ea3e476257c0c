/*
 * coll_event.c — one JSON object to one validated kpi_event_t, by the field
 * rules of docs/events.md (table `rules` below: what each type requires, allows and
 * how its amount may be signed). Fields a type does not use are kept, as
 * canonical JSON, in `extra`: unknown fields are the sender's business.
 *
 * Amounts: a decimal string, or a JSON number. A JSON integer is exact; a
 * JSON real is accepted only when it denotes exactly a decimal with at most
 * the currency's digits (printed at those digits and read back, it is the
 * same double, and it is small enough for every such decimal to be exact),
 * because a double like 0.1 + 0.2 must not silently become money.
 */
#include "coll_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_date.h"
#include "kpi_fx.h"
#include "kpi_money.h"
#include "kpi_suggest.h"

enum { REQ = 1, OPT = 2 };
enum { AMT_NONE, AMT_POS, AMT_SIGNED, AMT_NONNEG };

typedef struct rule {
    uint8_t party;      /* customer (AR) or vendor (AP): REQ/OPT */
    uint8_t ref;        /* `invoice` on a non-invoice document: REQ/OPT/0 */
    uint8_t amount;     /* 0 / REQ / OPT */
    uint8_t sign;       /* AMT_* */
    uint8_t due;        /* due_date or terms_days required */
    uint8_t reason;     /* `reason`: REQ/OPT/0 */
    uint8_t resolution; /* `resolution`: OPT/0 */
    uint8_t result;     /* invoice.reviewed */
    uint8_t method;     /* payment.received */
} rule_t;

static const rule_t rules[KPI_EV_COUNT] = {
    [KPI_EV_INVOICE_ISSUED] = {.party = REQ, .amount = REQ, .sign = AMT_POS, .due = 1},
    [KPI_EV_INVOICE_REVIEWED] = {.party = OPT, .reason = OPT, .result = 1},
    [KPI_EV_INVOICE_ADJUSTED] = {.party = OPT, .amount = REQ, .sign = AMT_SIGNED, .reason = REQ},
    [KPI_EV_CREDIT_NOTE_ISSUED] =
        {.party = REQ, .ref = OPT, .amount = REQ, .sign = AMT_POS, .reason = OPT},
    [KPI_EV_PAYMENT_RECEIVED] = {.party = REQ, .amount = REQ, .sign = AMT_POS, .method = 1},
    [KPI_EV_PAYMENT_APPLIED] = {.party = OPT, .ref = REQ, .amount = REQ, .sign = AMT_POS},
    [KPI_EV_PAYMENT_REFUNDED] = {.party = OPT, .amount = REQ, .sign = AMT_POS, .reason = OPT},
    [KPI_EV_INVOICE_WRITTEN_OFF] = {.party = OPT, .amount = REQ, .sign = AMT_POS, .reason = REQ},
    [KPI_EV_DISPUTE_OPENED] =
        {.party = OPT, .ref = REQ, .amount = OPT, .sign = AMT_NONNEG, .reason = OPT},
    [KPI_EV_DISPUTE_RESOLVED] =
        {.party = OPT, .ref = OPT, .amount = OPT, .sign = AMT_NONNEG, .resolution = OPT},
    [KPI_EV_CREDIT_LIMIT_SET] = {.party = REQ, .amount = REQ, .sign = AMT_NONNEG},
    [KPI_EV_CREDIT_HOLD_SET] = {.party = REQ, .reason = REQ},
    [KPI_EV_CREDIT_HOLD_RELEASED] = {.party = REQ, .reason = REQ},
    [KPI_EV_INQUIRY_OPENED] = {.party = REQ, .ref = OPT, .reason = OPT},
    [KPI_EV_INQUIRY_RESOLVED] = {.party = REQ, .ref = OPT, .resolution = OPT},
    [KPI_EV_BILL_RECEIVED] = {.party = REQ, .amount = REQ, .sign = AMT_POS, .due = 1},
    [KPI_EV_BILL_REJECTED] = {.party = OPT, .reason = REQ},
    [KPI_EV_BILL_ESCALATED] = {.party = OPT, .reason = REQ},
    [KPI_EV_BILL_PROCESSED] = {.party = OPT},
    [KPI_EV_BILL_PAID] = {.party = OPT, .amount = REQ, .sign = AMT_POS},
    [KPI_EV_FX_RATE] = {0},                     /* its fields: fx_date and fx_fields */
    [KPI_EV_CUSTOMER_UPDATED] = {.party = REQ}, /* and profile_fields */
    [KPI_EV_VENDOR_UPDATED] = {.party = REQ},
};

static bool is_ap(kpi_ev_type_t t)
{
    return kpi_ev_is_payable(t);
}

static err_t fail(coll_error_t *err, err_t code, const char *field, const char *fmt, ...)
    KPID_PRINTF(4, 5);

static err_t fail(coll_error_t *err, err_t code, const char *field, const char *fmt, ...)
{
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

/* `key` is required and absent: name a field of obj that looks like a
   misspelling of it ("custmer" for "customer"). */
static err_t missing(json_t *obj, const char *key, coll_error_t *err)
{
    const char *k;
    json_t *val;
    json_object_foreach(obj, k, val)
    {
        (void)val;
        const char *one[] = {key};
        if (kpi_suggest(k, one, 1) != NULL)
            return fail(err, ERR_MISSING_FIELD, key,
                        "%s: required (is '%.60s' a misspelling of it?)", key, k);
    }
    return fail(err, ERR_MISSING_FIELD, key, "%s: required", key);
}

/* A string field of at most `max` bytes, no NUL. NULL when absent. */
static err_t get_str(json_t *obj, const char *key, size_t max, bool required, kpi_arena_t *a,
                     const char **out, coll_error_t *err)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return missing(obj, key, err);
        return ERR_OK;
    }
    if (!json_is_string(v))
        return fail(err, ERR_BAD_TYPE, key, "%s: must be a string", key);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (memchr(s, '\0', n) != NULL)
        return fail(err, ERR_BAD_VALUE, key, "%s: contains a NUL character", key);
    if (n == 0 && required)
        return fail(err, ERR_MISSING_FIELD, key, "%s: required, and empty", key);
    if (n == 0)
        return ERR_OK;
    if (n > max)
        return fail(err, ERR_TOO_LARGE, key, "%s: %zu bytes, at most %zu", key, n, max);
    *out = kpi_arena_strndup(a, s, n);
    if (*out == NULL)
        return fail(err, ERR_NOMEM, key, "out of memory");
    return ERR_OK;
}

static err_t get_date(json_t *obj, const char *key, bool *has, int32_t *day, coll_error_t *err)
{
    *has = false;
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return ERR_OK;
    if (!json_is_string(v))
        return fail(err, ERR_BAD_TYPE, key, "%s: must be a date string YYYY-MM-DD", key);
    if (kpi_date_parse(json_string_value(v), json_string_length(v), day) != ERR_OK)
        return fail(err, ERR_BAD_DATE, key, "%s: '%.40s' is not a date YYYY-MM-DD", key,
                    json_string_value(v));
    *has = true;
    return ERR_OK;
}

static err_t get_amount(json_t *v, int digits, const char *cur, int64_t *out, coll_error_t *err)
{
    char buf[64];
    const char *s;
    size_t n;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        s = buf;
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        double lim = 9007199254740992.0; /* 2^53 */
        for (int i = 0; i < digits; i++)
            lim /= 10;
        if (!(d > -lim && d < lim))
            return fail(err, ERR_BAD_AMOUNT, "amount",
                        "amount: %g is too large to be exact as a JSON number; send it as a "
                        "string",
                        d);
        n = (size_t)snprintf(buf, sizeof buf, "%.*f", digits, d);
        char *end;
        if (strtod(buf, &end) != d)
            return fail(err, ERR_TOO_MANY_DECIMALS, "amount",
                        "amount: %.17g has more decimals than %s allows (%d); send it as a "
                        "string",
                        d, cur, digits);
        s = buf;
    } else {
        return fail(err, ERR_BAD_TYPE, "amount", "amount: must be a decimal string or a number");
    }
    err_t e = kpi_amount_parse(s, n, digits, out);
    if (e == ERR_TOO_MANY_DECIMALS)
        return fail(err, e, "amount", "amount: '%.40s' has more decimals than %s allows (%d)", s,
                    cur, digits);
    if (e == ERR_OVERFLOW)
        return fail(err, e, "amount", "amount: '%.40s' is too large", s);
    if (e)
        return fail(err, ERR_BAD_AMOUNT, "amount", "amount: '%.40s' is not a decimal amount", s);
    return ERR_OK;
}

static const char *const method_names[] = {"", "check", "eft", "wire", "card", "other"};

/* fx.rate: the day the rate is for, from `date` or (when `date` is absent)
   `time`, which must then be a plain date: a rate is for a day. *tm is
   the field to read as the event's time. */
static err_t fx_date(json_t *obj, json_t **tm, coll_error_t *err)
{
    json_t *dv = json_object_get(obj, "date");
    const char *field = "date";
    if (dv == NULL || json_is_null(dv)) {
        dv = *tm;
        field = "time";
    } else if (*tm != NULL && !json_is_null(*tm)) {
        return fail(err, ERR_BAD_VALUE, "time",
                    "time: an fx.rate takes its day from `date`; leave `time` out");
    }
    if (dv == NULL || json_is_null(dv))
        return fail(err, ERR_MISSING_FIELD, "date", "date: required (the day of the rate)");
    if (!json_is_string(dv) || json_string_length(dv) != 10)
        return fail(err, ERR_BAD_DATE, field, "%s: an fx.rate is for a day: a date YYYY-MM-DD",
                    field);
    *tm = dv;
    return ERR_OK;
}

/* fx.rate: `currency` (required, not the base currency), `rate` (a decimal
   string of at most 10 decimals, > 0, or a JSON integer) and `source`. */
static err_t fx_fields(const coll_opts_t *o, json_t *obj, kpi_arena_t *a, kpi_event_t *ev,
                       coll_error_t *err)
{
    if (ev->currency[0] == '\0')
        return fail(err, ERR_MISSING_FIELD, "currency",
                    "currency: required (the currency the rate converts from)");
    if (strcmp(ev->currency, o->base_currency) == 0)
        return fail(err, ERR_BAD_CURRENCY, "currency",
                    "currency: %s is the base currency, whose rate is 1 by definition",
                    ev->currency);
    json_t *rv = json_object_get(obj, "rate");
    if (rv == NULL || json_is_null(rv))
        return fail(err, ERR_MISSING_FIELD, "rate",
                    "rate: required (units of %s per 1 %s, e.g. \"1.0825\")", o->base_currency,
                    ev->currency);
    char buf[32];
    const char *s;
    size_t n;
    if (json_is_string(rv)) {
        s = json_string_value(rv);
        n = json_string_length(rv);
    } else if (json_is_integer(rv)) {
        n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(rv));
        s = buf;
    } else {
        return fail(err, ERR_BAD_TYPE, "rate",
                    "rate: must be a decimal string (\"1.0825\"); a JSON real is not exact");
    }
    err_t e = kpi_rate_parse(s, n, &ev->amount_minor);
    if (e == ERR_TOO_MANY_DECIMALS)
        return fail(err, e, "rate", "rate: '%.40s' has more than %d decimals", s, KPI_RATE_DIGITS);
    if (e == ERR_BAD_VALUE)
        return fail(err, ERR_BAD_AMOUNT, "rate", "rate: '%.40s' must be greater than 0", s);
    if (e)
        return fail(err, ERR_BAD_AMOUNT, "rate",
                    "rate: '%.40s' is not a decimal number (digits, one '.', no sign or exponent)",
                    s);
    ev->flags |= KPI_EVF_AMOUNT;
    return get_str(obj, "source", KPI_TEXT_MAX, false, a, &ev->text, err);
}

/* customer.updated / vendor.updated: `name` (required), and the optional
   `email` (one '@' with text on both sides, no spaces), `country` (two
   capital letters, ISO 3166-1 alpha-2) and `segment`. */
static err_t profile_fields(json_t *obj, kpi_arena_t *a, kpi_event_t *ev, coll_error_t *err)
{
    err_t e = get_str(obj, "name", KPI_NAME_MAX, true, a, &ev->text, err);
    if (!e)
        e = get_str(obj, "email", KPI_EMAIL_MAX, false, a, &ev->email, err);
    if (!e && ev->email != NULL) {
        const char *at = strchr(ev->email, '@');
        if (at == NULL || at == ev->email || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
            strpbrk(ev->email, " \t\r\n<>,;") != NULL)
            return fail(err, ERR_BAD_VALUE, "email",
                        "email: '%.60s' is not an address like name@example.com", ev->email);
    }
    if (!e)
        e = get_str(obj, "country", 8, false, a, &ev->country, err);
    if (!e && ev->country != NULL &&
        (strlen(ev->country) != 2 || ev->country[0] < 'A' || ev->country[0] > 'Z' ||
         ev->country[1] < 'A' || ev->country[1] > 'Z'))
        return fail(err, ERR_BAD_VALUE, "country",
                    "country: '%.20s' is not an ISO 3166 code of two capital letters (DE, JP)",
                    ev->country);
    if (!e)
        e = get_str(obj, "segment", KPI_NAME_MAX, false, a, &ev->segment, err);
    if (!e && (ev->email != NULL || ev->country != NULL || ev->segment != NULL))
        ev->flags |= KPI_EVF_PROFILE;
    return e;
}

/* Keys each type understands; anything else goes to `extra`. */
static bool known_key(const char *k, kpi_ev_type_t t, const rule_t *r, const char *doc_field)
{
    static const char *const common[] = {"id", "type", "time", "business_unit", "currency"};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (strcmp(k, common[i]) == 0)
            return true;
    if (doc_field != NULL && strcmp(k, doc_field) == 0)
        return true;
    if (t != KPI_EV_FX_RATE && strcmp(k, is_ap(t) ? "vendor" : "customer") == 0)
        return true;
    if (r->ref && strcmp(k, "invoice") == 0)
        return true;
    if (r->amount && strcmp(k, "amount") == 0)
        return true;
    if (r->due && (strcmp(k, "due_date") == 0 || strcmp(k, "terms_days") == 0))
        return true;
    if (t == KPI_EV_INVOICE_ISSUED && strcmp(k, "billing_due") == 0)
        return true;
    if (r->reason && strcmp(k, "reason") == 0)
        return true;
    if (r->resolution && strcmp(k, "resolution") == 0)
        return true;
    if (r->result && strcmp(k, "result") == 0)
        return true;
    if (r->method && strcmp(k, "method") == 0)
        return true;
    if (t == KPI_EV_FX_RATE &&
        (strcmp(k, "rate") == 0 || strcmp(k, "date") == 0 || strcmp(k, "source") == 0))
        return true;
    if (kpi_ev_is_profile(t) && (strcmp(k, "name") == 0 || strcmp(k, "email") == 0 ||
                                 strcmp(k, "country") == 0 || strcmp(k, "segment") == 0))
        return true;
    return false;
}

err_t coll_event_from_json(const coll_opts_t *o, json_t *obj, kpi_arena_t *a, kpi_event_t *ev,
                           coll_error_t *err)
{
    memset(ev, 0, sizeof *ev);
    err->code = ERR_OK;
    err->field[0] = '\0';
    err->message[0] = '\0';
    err->id[0] = '\0';
    if (!json_is_object(obj))
        return fail(err, ERR_BAD_TYPE, "", "an event must be a JSON object");

    /* id first, so every later error can name it. */
    json_t *idv = json_object_get(obj, "id");
    if (json_is_string(idv) && json_string_length(idv) <= KPI_ID_MAX)
        snprintf(err->id, sizeof err->id, "%s", json_string_value(idv));
    err_t e = get_str(obj, "id", KPI_ID_MAX, true, a, &ev->id, err);
    if (e)
        return e;
    json_t *tv = json_object_get(obj, "type");
    if (tv == NULL || json_is_null(tv))
        return missing(obj, "type", err);
    if (!json_is_string(tv))
        return fail(err, ERR_BAD_TYPE, "type", "type: must be a string");
    if (kpi_ev_type_parse(json_string_value(tv), json_string_length(tv), &ev->type) != ERR_OK) {
        size_t nt;
        const char *const *names = kpi_ev_type_names(&nt);
        const char *near = kpi_suggest(json_string_value(tv), names, nt);
        return fail(err, ERR_UNKNOWN_TYPE, "type", "type: '%.60s' is not an event type%s%s%s",
                    json_string_value(tv), near ? " (did you mean '" : "", near ? near : "",
                    near ? "'?)" : " (docs/events.md lists them)");
    }
    const rule_t *r = &rules[ev->type];

    /* time; an exchange rate is for a day: `date`, or `time` as a date */
    json_t *tm = json_object_get(obj, "time");
    if (ev->type == KPI_EV_FX_RATE) {
        e = fx_date(obj, &tm, err);
        if (e)
            return e;
    }
    if (tm == NULL || json_is_null(tm))
        return missing(obj, "time", err);
    if (!json_is_string(tm))
        return fail(err, ERR_BAD_TYPE, "time", "time: must be a string");
    const char *ts = json_string_value(tm);
    size_t tl = json_string_length(tm);
    if (tl == 10) {
        if (kpi_date_parse(ts, tl, &ev->date_day) != ERR_OK)
            return fail(err, ERR_BAD_DATE, "time", "time: '%.40s' is not a date YYYY-MM-DD", ts);
        ev->flags |= KPI_EVF_DATE_ONLY;
        ev->time_s = kpi_tz_day_start(o->tz, ev->date_day);
    } else if (kpi_time_parse_rfc3339(ts, tl, &ev->time_s) != ERR_OK) {
        return fail(err, ERR_BAD_DATE, "time",
                    "time: '%.40s' is not RFC 3339 with an offset (2025-03-31T14:05:00Z) or a "
                    "date",
                    ts);
    }

    /* currency: its digits read the amount */
    const char *cur = NULL;
    e = get_str(obj, "currency", 8, false, a, &cur, err);
    if (e)
        return e;
    int digits;
    if (cur != NULL) {
        if (strlen(cur) != 3 || kpi_currency_digits(cur, &digits) != ERR_OK)
            return fail(err, ERR_BAD_CURRENCY, "currency", "currency: '%s' is not an ISO 4217 code",
                        cur);
        memcpy(ev->currency, cur, 4);
    } else if (kpi_currency_digits(o->base_currency, &digits) != ERR_OK) {
        digits = 2;
    }

    const char *bu = NULL;
    e = get_str(obj, "business_unit", KPI_NAME_MAX, false, a, &bu, err);
    if (e)
        return e;
    ev->business_unit = bu ? bu : "";

    const char *pf = is_ap(ev->type) ? "vendor" : "customer";
    if (ev->type != KPI_EV_FX_RATE) { /* a rate is nobody's */
        e = get_str(obj, pf, KPI_NAME_MAX, r->party == REQ, a, &ev->party, err);
        if (e)
            return e;
    }

    kpi_doc_kind_t kind = kpi_ev_doc_kind(ev->type);
    const char *doc_field = kind != KPI_DOC_NONE ? kpi_doc_kind_name(kind) : NULL;
    if (doc_field != NULL) {
        e = get_str(obj, doc_field, KPI_NAME_MAX, true, a, &ev->doc, err);
        if (e)
            return e;
    }
    if (r->ref) {
        e = get_str(obj, "invoice", KPI_NAME_MAX, r->ref == REQ, a, &ev->ref, err);
        if (e)
            return e;
    }

    if (r->amount) {
        json_t *av = json_object_get(obj, "amount");
        if (av == NULL || json_is_null(av)) {
            if (r->amount == REQ)
                return missing(obj, "amount", err);
        } else {
            e = get_amount(av, digits, cur ? cur : o->base_currency, &ev->amount_minor, err);
            if (e)
                return e;
            int64_t v = ev->amount_minor;
            if ((r->sign == AMT_POS && v <= 0) || (r->sign == AMT_NONNEG && v < 0) ||
                (r->sign == AMT_SIGNED && v == 0))
                return fail(err, ERR_BAD_AMOUNT, "amount", "amount: must be %s for %s",
                            r->sign == AMT_POS      ? "greater than 0"
                            : r->sign == AMT_NONNEG ? "0 or more"
                                                    : "non-zero",
                            kpi_ev_type_name(ev->type));
            ev->flags |= KPI_EVF_AMOUNT;
        }
    }

    if (r->due) {
        bool has;
        e = get_date(obj, "due_date", &has, &ev->due_day, err);
        if (e)
            return e;
        if (has)
            ev->flags |= KPI_EVF_DUE;
        json_t *tv2 = json_object_get(obj, "terms_days");
        if (tv2 != NULL && !json_is_null(tv2)) {
            long long t = -1;
            if (json_is_integer(tv2)) {
                t = json_integer_value(tv2);
            } else if (json_is_string(tv2)) {
                const char *s = json_string_value(tv2);
                size_t n = json_string_length(tv2);
                t = n > 0 && n <= 5 ? 0 : -1;
                for (size_t i = 0; t >= 0 && i < n; i++)
                    t = s[i] >= '0' && s[i] <= '9' ? t * 10 + (s[i] - '0') : -1;
            } else {
                return fail(err, ERR_BAD_TYPE, "terms_days", "terms_days: must be an integer");
            }
            if (t < 0 || t > 36600)
                return fail(err, ERR_BAD_VALUE, "terms_days",
                            "terms_days: must be a whole number of days from 0 to 36600");
            ev->terms_days = (int32_t)t;
            ev->flags |= KPI_EVF_TERMS;
        }
        if (!(ev->flags & (KPI_EVF_DUE | KPI_EVF_TERMS)))
            return fail(err, ERR_MISSING_FIELD, "due_date", "due_date or terms_days: required");
    }
    if (ev->type == KPI_EV_INVOICE_ISSUED) {
        bool has;
        e = get_date(obj, "billing_due", &has, &ev->billing_due_day, err);
        if (e)
            return e;
        if (has)
            ev->flags |= KPI_EVF_BILLING_DUE;
    }
    if (r->result) {
        const char *res = NULL;
        e = get_str(obj, "result", 16, true, a, &res, err);
        if (e)
            return e;
        if (strcmp(res, "pass") == 0)
            ev->result = KPI_RESULT_PASS;
        else if (strcmp(res, "fail") == 0)
            ev->result = KPI_RESULT_FAIL;
        else
            return fail(err, ERR_BAD_VALUE, "result", "result: '%s' is not pass or fail", res);
    }
    if (r->method) {
        const char *m = NULL;
        e = get_str(obj, "method", 16, true, a, &m, err);
        if (e)
            return e;
        for (int i = 1; i <= KPI_METHOD_OTHER; i++)
            if (strcmp(m, method_names[i]) == 0)
                ev->method = (uint8_t)i;
        if (ev->method == KPI_METHOD_NONE)
            return fail(err, ERR_BAD_VALUE, "method",
                        "method: '%s' is not one of check, eft, wire, card, other", m);
    }
    if (r->reason) {
        e = get_str(obj, "reason", KPI_TEXT_MAX, r->reason == REQ, a, &ev->text, err);
        if (e)
            return e;
    }
    if (r->resolution) {
        e = get_str(obj, "resolution", KPI_TEXT_MAX, false, a, &ev->text, err);
        if (e)
            return e;
    }
    if (ev->type == KPI_EV_FX_RATE) {
        e = fx_fields(o, obj, a, ev, err);
        if (e)
            return e;
    }
    if (kpi_ev_is_profile(ev->type)) {
        e = profile_fields(obj, a, ev, err);
        if (e)
            return e;
    }

    /* Everything else is kept, canonical (sorted, compact). */
    json_t *extra = NULL;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (known_key(key, ev->type, r, doc_field))
            continue;
        if (extra == NULL && (extra = json_object()) == NULL)
            return fail(err, ERR_NOMEM, "", "out of memory");
        json_object_set(extra, key, val);
    }
    if (extra != NULL) {
        char *text = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        json_decref(extra);
        if (text == NULL)
            return fail(err, ERR_NOMEM, "", "out of memory");
        size_t n = strlen(text);
        if (n > KPI_EXTRA_MAX) {
            free(text);
            return fail(err, ERR_TOO_LARGE, "", "unknown fields take %zu bytes, at most %d", n,
                        KPI_EXTRA_MAX);
        }
        ev->extra = kpi_arena_strndup(a, text, n);
        free(text);
        if (ev->extra == NULL)
            return fail(err, ERR_NOMEM, "", "out of memory");
    }
    return ERR_OK;
}
