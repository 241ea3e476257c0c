/*
 * cmd_gen.c — deterministic synthetic events for `kpid gen` and the demo.
 *
 * Model. A fixed table of customers and vendors (their count grows with N
 * up to a cap, so memory stays bounded) each with a business unit, a
 * currency, payment terms and a payment habit. Invoices are spread over the
 * window's days with a weekday/month-end rhythm and go to customers with a
 * Zipf-like skew; a share of vendor bills runs alongside. When an invoice is
 * issued its whole life is planned at once (review, adjustment, credits,
 * dispute, inquiry, the payments and a possible write-off) so that by
 * construction nothing is over-applied: all debit adjustments come before
 * any reduction, and the reductions add up to at most the adjusted amount.
 *
 * Layout. Planned actions wait in a ring of GEN_RING per-day buckets, one
 * per day of the scheduling horizon; an action is at most GEN_RING - 1 days
 * ahead of the day that planned it (later plans are clamped). A day is run
 * by turning its bucket into a binary heap keyed (second, group, seq) and
 * popping it, so lines come out in time order, and an action may plan
 * another one later the same day. Memory is therefore the actions pending
 * over the horizon: proportional to invoices per day, not to N.
 *
 * Things that need the state of the day they happen (payment numbers, a
 * customer's weekly payment run gathering several invoices into one
 * payment, whether a customer is on hold) are decided when the action runs.
 *
 * The history ends with the window (start_day + days): actions falling
 * later are dropped, which leaves a live book with open items. Every time
 * prefix of a consistent history is consistent, so dropping is safe.
 *
 * Determinism: one xoshiro256** stream seeded by splitmix64 from the seed,
 * consumed in a fixed order; integers only; formatting by hand. The same
 * options give the same bytes everywhere.
 */
#include "cmd_gen.h"
#include "cmd_gen_names.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kpi_date.h"
#include "kpi_fx.h"
#include "kpi_money.h"

/* Days of scheduling horizon; a power of two so a day maps to its slot by a mask. */
#define GEN_RING 512
/* A single day's bucket may not grow beyond this (about 12 GiB of actions). */
#define GEN_BUCKET_MAX ((size_t)1 << 28)
/* Invoices settled by one payment in a payment run, at most. */
#define GEN_RUN_MAX 64
#define GEN_LINE_CAP 1024
/* Lines are gathered and handed to stdio in blocks this big: fewer calls, fewer syscalls. */
#define GEN_OUT_CAP (256 * 1024)
#define DAY_S 86400

/* ---- random numbers ---------------------------------------------------- */

typedef struct gen_rng {
    uint64_t s[4];
} gen_rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(gen_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n), n > 0; rejection keeps it unbiased (and portable: no 128-bit math). */
static uint64_t rng_below(gen_rng_t *r, uint64_t n)
{
    uint64_t floor = (0 - n) % n;
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= floor)
            return x % n;
    }
}

/* Uniform in [lo, hi]. */
static int64_t rng_range(gen_rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* True with probability permille / 1000. */
static bool rng_pm(gen_rng_t *r, unsigned permille)
{
    return rng_below(r, 1000) < permille;
}

/* ---- static tables ------------------------------------------------------ */

typedef struct gen_cur {
    const char *code;
    int digits;
    int64_t per_cent_num; /* minor units per US cent = num / den, at a fixed rate */
    int64_t per_cent_den;
} gen_cur_t;

enum { CUR_USD, CUR_EUR, CUR_GBP, CUR_JPY, CUR_KWD, CUR_COUNT };
static const gen_cur_t k_curs[CUR_COUNT] = {
    {"USD", 2, 1, 1},     {"EUR", 2, 92, 100},  {"GBP", 2, 79, 100},
    {"JPY", 0, 150, 100}, {"KWD", 3, 307, 100},
};

typedef struct gen_bu {
    const char *name;
    const char *suffix;  /* how its systems write times: "Z" or a fixed offset */
    int32_t offset_s;    /* that offset, seconds east of UTC */
    int32_t open_utc_s;  /* business hours, as seconds of the UTC day */
    int32_t close_utc_s; /* exclusive; open < close <= DAY_S */
    unsigned share;      /* permille of customers and vendors */
} gen_bu_t;

/* The Americas and EMEA log in UTC; APAC and the Gulf keep local time with
   offsets that have no daylight saving, so any offset is honest all year. */
static const gen_bu_t k_bus[] = {
    {"americas", "Z", 0, 13 * 3600, 23 * 3600, 500},
    {"emea", "Z", 0, 7 * 3600, 17 * 3600, 280},
    {"apac", "+09:00", 9 * 3600, 0, 9 * 3600, 140},
    {"gulf", "+03:00", 3 * 3600, 5 * 3600, 15 * 3600, 80},
};
#define BU_COUNT (sizeof k_bus / sizeof k_bus[0])

static const char *const k_methods[] = {"check", "eft", "wire", "card", "other"};

static const char *const k_review_fail[] = {"wrong price", "missing purchase order",
                                            "wrong bill-to address", "tax code error",
                                            "duplicate line"};
static const char *const k_adj_credit[] = {"price correction", "quantity correction",
                                           "discount not applied"};
static const char *const k_adj_debit[] = {"freight surcharge", "price correction", "late fee"};
static const char *const k_dispute[] = {"damaged goods", "pricing disagreement", "short shipment",
                                        "service not rendered"};
/* Index 0 comes with a credit note for the disputed amount. */
static const char *const k_resolution[] = {"credit issued", "customer accepted charges",
                                           "invalid claim", "proof of delivery provided"};
static const char *const k_writeoff[] = {"uncollectible", "customer insolvent", "small balance"};
static const char *const k_hold_set[] = {"past due over 45 days", "uncollectible balance"};
static const char *const k_hold_rel[] = {"account brought current", "payment plan agreed",
                                         "management approval"};
static const char *const k_bill_reject[] = {"missing purchase order", "price mismatch",
                                            "duplicate bill", "wrong legal entity"};
static const char *const k_bill_escalate[] = {"approval above limit", "missing goods receipt",
                                              "price over tolerance"};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Payment habits. */
enum { PROF_PROMPT, PROF_NORMAL, PROF_SLOW, PROF_TROUBLED };
static const unsigned k_writeoff_pm[] = {2, 10, 30, 100};

/* ---- state --------------------------------------------------------------- */

typedef struct gen_party {
    uint8_t bu;          /* index into k_bus */
    uint8_t cur;         /* index into k_curs */
    uint8_t terms_days;  /* 30, 45 or 60 */
    uint8_t profile;     /* PROF_* (customers) */
    uint8_t method;      /* preferred index into k_methods (customers) */
    bool batch;          /* pays in weekly runs: one payment, several invoices */
    bool on_hold;        /* a credit.hold_set was written and not released */
    bool has_limit;      /* a credit.limit_set was written */
    uint8_t run_wday;    /* batch payers: day number mod 7 of the run */
    int32_t run_sec;     /* batch payers: second of the UTC day the run posts */
    int32_t limit_day;   /* day of the last credit.limit_set */
    int64_t limit_minor; /* current credit limit, minor units */
    int64_t size_cents;  /* typical invoice size in US cents: bigger for top customers */
} gen_party_t;

/* Action kinds. Some map to one event type, some expand. */
enum {
    A_ISSUE = 1,     /* invoice.issued (+ credit.limit_set) and the plan */
    A_REVIEW,        /* invoice.reviewed; sub 0 pass, 1 + reason fail */
    A_ADJUST,        /* invoice.adjusted; amount signed; sub reason */
    A_CREDIT,        /* credit_note.issued; doc 0 = unallocated */
    A_DISPUTE_OPEN,  /* doc2 dispute; amount; sub reason */
    A_DISPUTE_RES,   /* doc2 dispute; amount credited when sub == 0 */
    A_INQ_OPEN,      /* doc2 inquiry; doc 0 = about no invoice */
    A_INQ_RES,       /* same */
    A_PAY,           /* pay amount on invoice doc; grp != 0 joins the customer's run */
    A_PAY_ACCOUNT,   /* payment.received applied to nothing */
    A_APPLY,         /* payment.applied of payment doc2 to invoice doc */
    A_REFUND,        /* payment.refunded of payment doc2 */
    A_WRITEOFF,      /* invoice.written_off; sub reason */
    A_HOLD_SET,      /* credit.hold_set; sub reason */
    A_HOLD_RELEASE,  /* credit.hold_released; sub reason */
    A_BILL,          /* bill.received and the plan */
    A_BILL_REJECT,   /* sub reason */
    A_BILL_ESCALATE, /* sub reason */
    A_BILL_PROCESS,
    A_BILL_PAY /* amount */
};

typedef struct gen_act {
    int32_t sec;    /* second of its UTC day, 0..86399 */
    uint32_t grp;   /* 0, or 1 + customer of a payment run: keeps the run adjacent */
    uint64_t seq;   /* planning order; the final tie-break makes the order total */
    uint64_t doc;   /* invoice or bill number, 0 for none */
    uint64_t doc2;  /* payment, dispute or inquiry number */
    int64_t amount; /* minor units of the party's currency */
    uint32_t party; /* customer (AR) or vendor (AP) index */
    uint8_t kind;   /* A_* */
    uint8_t sub;    /* kind-specific: reason or result index */
} gen_act_t;

typedef struct gen_bucket {
    gen_act_t *v;
    size_t n, cap;
} gen_bucket_t;

typedef struct gen {
    const cmd_gen_opts_t *o;
    FILE *out;
    cmd_gen_stats_t *st;
    err_msg_t *msg;
    gen_rng_t rng;
    gen_party_t *cust, *vend;
    uint64_t *cust_cum, *vend_cum; /* Zipf cumulative weights */
    uint32_t ncust, nvend;
    gen_bucket_t ring[GEN_RING];
    int32_t day;     /* the day being run */
    int32_t sec;     /* second of the action being run */
    int32_t end_day; /* first day not generated */
    bool running;    /* ring[day] is a heap being popped */
    uint64_t seq;
    uint64_t n_inv, n_bill, n_pay, n_cn, n_dsp, n_inq, n_ev;
    char seed_txt[24];
    char line[GEN_LINE_CAP];
    char obuf[GEN_OUT_CAP]; /* whole lines not yet given to `out` */
    size_t olen;
    size_t len;
    bool overflow;
    /* exchange rates: a walk per currency, in basis points around the
       fixed rate of k_curs, on its own generator so the book itself does
       not depend on them */
    gen_rng_t fx_rng;
    int64_t fx_walk_bp[CUR_COUNT];
    /* progress */
    FILE *prog;
    uint64_t inv_done;
    struct timespec prog_last;
} gen_t;

/* ---- small helpers -------------------------------------------------------- */

static int64_t imax(int64_t a, int64_t b)
{
    return a > b ? a : b;
}
static int64_t imin(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* amount * pct / 100 for a pct drawn from [lo, hi]; at least 1, so a share is never empty. */
static int64_t share_of(gen_t *g, int64_t amount, int64_t lo, int64_t hi)
{
    int64_t v = amount * rng_range(&g->rng, lo, hi) / 100;
    return v < 1 ? 1 : v;
}

static int64_t cents_to_minor(int cur, int64_t cents)
{
    int64_t v = cents * k_curs[cur].per_cent_num / k_curs[cur].per_cent_den;
    return v < 1 ? 1 : v;
}

/* A second in the business hours of unit bu. */
static int32_t bu_sec(gen_t *g, int bu)
{
    return (int32_t)rng_range(&g->rng, k_bus[bu].open_utc_s, k_bus[bu].close_utc_s - 1);
}

/* The unit whose share covers permille u. */
static unsigned pick_bu(unsigned u)
{
    for (unsigned i = 0; i < BU_COUNT; i++) {
        if (u < k_bus[i].share)
            return i;
        u -= k_bus[i].share;
    }
    return 0;
}

/* Rank by cumulative weight: rank 0 is the biggest. */
static uint32_t pick_zipf(gen_rng_t *r, const uint64_t *cum, uint32_t n)
{
    uint64_t x = rng_below(r, cum[n - 1]);
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- the ring -------------------------------------------------------------- */

static bool act_before(const gen_act_t *a, const gen_act_t *b)
{
    if (a->sec != b->sec)
        return a->sec < b->sec;
    if (a->grp != b->grp)
        return a->grp < b->grp;
    return a->seq < b->seq;
}

static void heap_down(gen_act_t *v, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && act_before(&v[l], &v[m]))
            m = l;
        if (l + 1 < n && act_before(&v[l + 1], &v[m]))
            m = l + 1;
        if (m == i)
            return;
        gen_act_t t = v[i];
        v[i] = v[m];
        v[m] = t;
        i = m;
    }
}

static void heap_up(gen_act_t *v, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!act_before(&v[i], &v[p]))
            return;
        gen_act_t t = v[i];
        v[i] = v[p];
        v[p] = t;
        i = p;
    }
}

static gen_bucket_t *slot(gen_t *g, int32_t day)
{
    return &g->ring[(uint32_t)day & (GEN_RING - 1)];
}

static err_t bucket_push(gen_t *g, gen_bucket_t *b, const gen_act_t *a)
{
    if (b->n == b->cap) {
        if (b->cap >= GEN_BUCKET_MAX)
            return err_set(g->msg, ERR_TOO_LARGE,
                           "more than %zu events planned for one day: use more --days",
                           GEN_BUCKET_MAX);
        size_t cap = b->cap ? b->cap * 2 : 256;
        gen_act_t *v = realloc(b->v, cap * sizeof *v);
        if (v == NULL)
            return err_set(g->msg, ERR_NOMEM, "out of memory planning events");
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = *a;
    return ERR_OK;
}

/*
 * Plan action a at (day, sec). A time not after the running action moves
 * just after it, so the output stays in order; a day beyond the horizon is
 * clamped to its last day; a day past the window is dropped (see top).
 */
static err_t plan(gen_t *g, int32_t day, int32_t sec, gen_act_t a)
{
    if (day > g->day + GEN_RING - 1)
        day = g->day + GEN_RING - 1;
    if (day < g->day || (day == g->day && g->running && sec <= g->sec)) {
        day = g->day;
        sec = g->sec + 1 + (int32_t)rng_below(&g->rng, 3600);
        if (sec >= DAY_S) {
            day++;
            sec -= DAY_S;
        }
    }
    if (day >= g->end_day)
        return ERR_OK;
    a.sec = sec;
    a.seq = ++g->seq;
    gen_bucket_t *b = slot(g, day);
    err_t e = bucket_push(g, b, &a);
    if (!e && day == g->day && g->running)
        heap_up(b->v, b->n - 1);
    return e;
}

/* ---- writing lines ---------------------------------------------------------- */

static void put(gen_t *g, const char *s, size_t n)
{
    if (g->len + n >= GEN_LINE_CAP) {
        g->overflow = true;
        return;
    }
    memcpy(g->line + g->len, s, n);
    g->len += n;
}

static void puts_(gen_t *g, const char *s)
{
    put(g, s, strlen(s));
}

/* Decimal v, zero-padded to at least `width` digits. */
static void put_u64(gen_t *g, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[sizeof tmp - 1 - (size_t)n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n < width && n < (int)sizeof tmp)
        tmp[sizeof tmp - 1 - (size_t)n++] = '0';
    put(g, tmp + sizeof tmp - (size_t)n, (size_t)n);
}

static void put_key(gen_t *g, const char *key)
{
    put(g, ",\"", 2);
    puts_(g, key);
    put(g, "\":", 2);
}

static void put_kstr(gen_t *g, const char *key, const char *val)
{
    put_key(g, key);
    put(g, "\"", 1);
    puts_(g, val);
    put(g, "\"", 1);
}

/* Document numbers carry the seed, so books of different seeds can share a store. */
static void put_kdoc(gen_t *g, const char *key, const char *prefix, uint64_t n)
{
    put_key(g, key);
    put(g, "\"", 1);
    puts_(g, prefix);
    puts_(g, g->seed_txt);
    put(g, "-", 1);
    put_u64(g, n, 7);
    put(g, "\"", 1);
}

static void put_kparty(gen_t *g, const char *key, const char *prefix, uint32_t idx)
{
    put_key(g, key);
    put(g, "\"", 1);
    puts_(g, prefix);
    put_u64(g, idx + 1, 5);
    put(g, "\"", 1);
}

static void put_kcust(gen_t *g, uint32_t c)
{
    put_kparty(g, "customer", "CUST-", c);
}

static void put_kamount(gen_t *g, const char *key, int64_t minor, int cur)
{
    char buf[KPI_AMOUNT_BUF];
    kpi_amount_format(minor, k_curs[cur].digits, buf);
    put_kstr(g, key, buf);
}

static void put_kint(gen_t *g, const char *key, int64_t v)
{
    put_key(g, key);
    if (v < 0) {
        put(g, "-", 1);
        v = -v;
    }
    put_u64(g, (uint64_t)v, 1);
}

static void put_date(gen_t *g, int32_t day)
{
    int32_t y, m, d;
    kpi_civil_from_days(day, &y, &m, &d);
    put_u64(g, (uint64_t)y, 4);
    put(g, "-", 1);
    put_u64(g, (uint64_t)m, 2);
    put(g, "-", 1);
    put_u64(g, (uint64_t)d, 2);
}

static void put_kdate(gen_t *g, const char *key, int32_t day)
{
    put_key(g, key);
    put(g, "\"", 1);
    put_date(g, day);
    put(g, "\"", 1);
}

/* A new line: {"id":"g<seed>-<line number>","type":... */
static void ev_id_type(gen_t *g, kpi_ev_type_t type)
{
    g->len = 0;
    g->overflow = false;
    put(g, "{\"id\":\"g", 8);
    puts_(g, g->seed_txt);
    put(g, "-", 1);
    put_u64(g, ++g->n_ev, 1);
    put(g, "\"", 1);
    put_kstr(g, "type", kpi_ev_type_name(type));
}

/* {"id","type","time","business_unit" — the running action's instant in bu's notation. */
static void ev_begin(gen_t *g, kpi_ev_type_t type, int bu)
{
    ev_id_type(g, type);
    /* Floor division: days before 1970 are negative. */
    int64_t local = (int64_t)g->day * DAY_S + g->sec + k_bus[bu].offset_s;
    int64_t lsec = local % DAY_S;
    if (lsec < 0)
        lsec += DAY_S;
    int32_t lday = (int32_t)((local - lsec) / DAY_S);
    put_key(g, "time");
    put(g, "\"", 1);
    put_date(g, lday);
    put(g, "T", 1);
    put_u64(g, (uint64_t)(lsec / 3600), 2);
    put(g, ":", 1);
    put_u64(g, (uint64_t)(lsec / 60 % 60), 2);
    put(g, ":", 1);
    put_u64(g, (uint64_t)(lsec % 60), 2);
    puts_(g, k_bus[bu].suffix);
    put(g, "\"", 1);
    put_kstr(g, "business_unit", k_bus[bu].name);
}

static err_t out_flush(gen_t *g)
{
    size_t n = g->olen;
    g->olen = 0;
    if (n > 0 && fwrite(g->obuf, 1, n, g->out) != n)
        return err_set(g->msg, ERR_IO, "writing events: %s", strerror(errno));
    return ERR_OK;
}

static err_t ev_end(gen_t *g, kpi_ev_type_t type)
{
    put(g, "}\n", 2);
    if (g->overflow)
        return err_set(g->msg, ERR_INTERNAL, "generated line longer than %d bytes", GEN_LINE_CAP);
    if (g->olen + g->len > GEN_OUT_CAP) {
        err_t e = out_flush(g);
        if (e)
            return e;
    }
    memcpy(g->obuf + g->olen, g->line, g->len);
    g->olen += g->len;
    g->st->events++;
    g->st->bytes += g->len;
    g->st->by_type[type]++;
    return ERR_OK;
}

/* ---- exchange rates ------------------------------------------------------------ */

/* One fx.rate per currency but the base (USD) for g->day: units of USD per
   unit of the currency, k_curs's fixed rate moved by a bounded random walk
   (within 3 %), printed with 10 decimals at most. */
static err_t emit_rates(gen_t *g)
{
    for (int c = 0; c < CUR_COUNT; c++) {
        if (c == CUR_USD)
            continue;
        int64_t w = g->fx_walk_bp[c] + rng_range(&g->fx_rng, -25, 25);
        g->fx_walk_bp[c] = w = imax(-300, imin(300, w));
        /* 1 unit = 10^digits minor units = 10^digits * den / num US cents. */
        int64_t scale = 1;
        for (int i = 0; i < k_curs[c].digits; i++)
            scale *= 10;
        __int128 r = (__int128)10000000000LL * scale * k_curs[c].per_cent_den * (10000 + w) /
                     ((__int128)k_curs[c].per_cent_num * 100 * 10000);
        char buf[KPI_RATE_BUF];
        ev_id_type(g, KPI_EV_FX_RATE);
        /* `time` as a date (docs/events.md allows it for fx.rate), so that
           every generated line has a time, as tools reading them expect. */
        put_kdate(g, "time", g->day);
        put_kstr(g, "currency", k_curs[c].code);
        put_kstr(g, "rate", kpi_rate_format((int64_t)r, buf));
        put_kstr(g, "source", "kpid gen");
        err_t e = ev_end(g, KPI_EV_FX_RATE);
        if (e)
            return e;
    }
    return ERR_OK;
}

/* ---- master data ------------------------------------------------------------- */

/* customer.updated and vendor.updated for every party at 00:00 UTC of the
   first day (the instant of the day's rates, before any document), written
   in the notation of its unit: names before the first invoice. */
static err_t emit_profiles(gen_t *g)
{
    for (int ar = 1; ar >= 0; ar--) {
        uint32_t n = ar ? g->ncust : g->nvend;
        for (uint32_t i = 0; i < n; i++) {
            const gen_party_t *p = ar ? &g->cust[i] : &g->vend[i];
            char id[32];
            snprintf(id, sizeof id, "%s%05" PRIu32, ar ? "CUST-" : "VEND-", i + 1);
            gen_profile_t pf;
            gen_party_profile(ar, i, n, p->bu, id, &pf);
            kpi_ev_type_t t = ar ? KPI_EV_CUSTOMER_UPDATED : KPI_EV_VENDOR_UPDATED;
            g->sec = 0;
            ev_begin(g, t, p->bu);
            put_kstr(g, ar ? "customer" : "vendor", id);
            put_kstr(g, "name", pf.name);
            put_kstr(g, "email", pf.email);
            put_kstr(g, "country", pf.country);
            put_kstr(g, "segment", pf.segment);
            err_t e = ev_end(g, t);
            if (e)
                return e;
        }
    }
    return ERR_OK;
}

/* ---- AR: one invoice's life ------------------------------------------------- */

static err_t emit_limit(gen_t *g, uint32_t c)
{
    gen_party_t *p = &g->cust[c];
    int64_t unit = cents_to_minor(p->cur, 100000 * 100); /* 100k USD, in its currency */
    if (!p->has_limit)
        p->limit_minor = unit * rng_range(&g->rng, 1, 4) * (p->size_cents / 2000000 + 1);
    else if (rng_pm(&g->rng, 700))
        p->limit_minor += unit / 2;
    else if (p->limit_minor > unit)
        p->limit_minor -= unit / 2;
    p->has_limit = true;
    p->limit_day = g->day;
    ev_begin(g, KPI_EV_CREDIT_LIMIT_SET, p->bu);
    put_kcust(g, c);
    put_kstr(g, "currency", k_curs[p->cur].code);
    put_kamount(g, "amount", p->limit_minor, p->cur);
    return ev_end(g, KPI_EV_CREDIT_LIMIT_SET);
}

/* Days from due date to payment, by habit: some early, most a few days late, a long tail. */
static int32_t draw_late(gen_t *g, int profile)
{
    gen_rng_t *r = &g->rng;
    unsigned u = (unsigned)rng_below(r, 1000);
    switch (profile) {
    case PROF_PROMPT:
        return (int32_t)(u < 350   ? rng_range(r, -10, -1)
                         : u < 750 ? rng_range(r, 0, 2)
                         : u < 980 ? rng_range(r, 3, 10)
                                   : rng_range(r, 11, 40));
    case PROF_SLOW:
        return (int32_t)(u < 50    ? rng_range(r, -5, -1)
                         : u < 150 ? rng_range(r, 0, 2)
                         : u < 550 ? rng_range(r, 3, 30)
                         : u < 900 ? rng_range(r, 31, 75)
                                   : rng_range(r, 76, 200));
    case PROF_TROUBLED:
        return (int32_t)(u < 100   ? rng_range(r, 0, 5)
                         : u < 400 ? rng_range(r, 6, 45)
                         : u < 800 ? rng_range(r, 46, 120)
                                   : rng_range(r, 121, 250));
    default:
        return (int32_t)(u < 120   ? rng_range(r, -10, -1)
                         : u < 300 ? rng_range(r, 0, 2)
                         : u < 850 ? rng_range(r, 3, 20)
                         : u < 970 ? rng_range(r, 21, 60)
                                   : rng_range(r, 61, 180));
    }
}

static int32_t rand_day(gen_t *g, int32_t from, int32_t lo, int32_t hi)
{
    return from + (int32_t)rng_range(&g->rng, lo, hi);
}

/* A payment of amt on invoice inv on (about) day: batch payers wait for their weekly run. */
static err_t plan_pay(gen_t *g, uint32_t c, uint64_t inv, int64_t amt, int32_t day,
                      int32_t *paid_day)
{
    gen_party_t *p = &g->cust[c];
    gen_act_t a = {.kind = A_PAY, .party = c, .doc = inv, .amount = amt};
    int32_t sec = bu_sec(g, p->bu);
    if (p->batch) {
        int32_t wd = day % 7;
        if (wd < 0)
            wd += 7; /* days before 1970 */
        int32_t wait = (p->run_wday - wd + 7) % 7;
        if (day + wait < g->day + GEN_RING) {
            day += wait;
            sec = p->run_sec;
            a.grp = c + 1;
        }
    }
    *paid_day = day;
    return plan(g, day, sec, a);
}

static err_t plan_hold(gen_t *g, uint32_t c, int kind, int32_t day, uint8_t reason)
{
    gen_act_t a = {.kind = (uint8_t)kind, .party = c, .sub = reason};
    return plan(g, day, bu_sec(g, g->cust[c].bu), a);
}

/* Everything after an invoice: planned when it is issued (see the top comment). */
static err_t plan_invoice(gen_t *g, uint32_t c, uint64_t inv, int64_t amount, int32_t due)
{
    gen_party_t *p = &g->cust[c];
    gen_rng_t *r = &g->rng;
    const int32_t d0 = g->day, lim = g->day + GEN_RING - 1;
    int bu = p->bu;
    err_t e = ERR_OK;
    /* First day a reduction may land: after every debit adjustment, so an
       application never meets an invoice whose debit has not arrived. */
    int32_t ready = d0 + 1;
    int64_t adj = 0;

    if (rng_pm(r, 960)) {
        int32_t rd = d0;
        unsigned u = (unsigned)rng_below(r, 100);
        rd += u < 40 ? 0 : u < 75 ? 1 : u < 90 ? 2 : (int32_t)rng_range(r, 3, 5);
        bool fail = rng_pm(r, 70);
        gen_act_t a = {.kind = A_REVIEW, .party = c, .doc = inv};
        if (fail)
            a.sub = (uint8_t)(1 + rng_below(r, NELEM(k_review_fail)));
        e = plan(g, rd, bu_sec(g, bu), a);
        if (!e && fail && rng_pm(r, 650)) {
            int32_t ad = rand_day(g, rd, 1, 4);
            bool debit = rng_pm(r, 200);
            adj = debit ? share_of(g, amount, 1, 5) : -share_of(g, amount, 1, 8);
            if (-adj >= amount)
                adj = 0;
            if (adj != 0) {
                gen_act_t b = {.kind = A_ADJUST, .party = c, .doc = inv, .amount = adj};
                b.sub = (uint8_t)rng_below(r, debit ? NELEM(k_adj_debit) : NELEM(k_adj_credit));
                e = plan(g, ad, bu_sec(g, bu), b);
                ready = ad + 1;
                /* The corrected invoice passes its second look. */
                gen_act_t rv = {.kind = A_REVIEW, .party = c, .doc = inv};
                if (!e)
                    e = plan(g, ad + 1, bu_sec(g, bu), rv);
            }
        }
    }
    if (!e && adj == 0 && rng_pm(r, 15)) {
        int32_t ad = rand_day(g, d0, 2, 10);
        adj = share_of(g, amount, 1, 5);
        gen_act_t b = {.kind = A_ADJUST, .party = c, .doc = inv, .amount = adj};
        b.sub = (uint8_t)rng_below(r, NELEM(k_adj_debit));
        e = plan(g, ad, bu_sec(g, bu), b);
        ready = ad + 1;
    }
    const int64_t net = amount + adj;
    int64_t left = net; /* not yet promised to a reduction */

    /* A credit note against the invoice (returns, goodwill). */
    if (!e && rng_pm(r, 30) && left >= 2) {
        int64_t cn = imin(share_of(g, net, 5, 30), left - 1);
        gen_act_t a = {.kind = A_CREDIT, .party = c, .doc = inv, .amount = cn};
        e = plan(g, (int32_t)imax(rand_day(g, d0, 5, 45), ready), bu_sec(g, bu), a);
        left -= cn;
    }
    /* A dispute; customers hold payment until it is resolved. */
    int32_t hold_pay_until = 0;
    if (!e && rng_pm(r, 30)) {
        int64_t damt = share_of(g, left, 10, 100);
        int32_t od = rand_day(g, d0, 5, 40);
        int32_t rsd = (int32_t)imax(rand_day(g, od, 3, 60), ready);
        gen_act_t a = {
            .kind = A_DISPUTE_OPEN, .party = c, .doc = inv, .doc2 = ++g->n_dsp, .amount = damt};
        a.sub = (uint8_t)rng_below(r, NELEM(k_dispute));
        e = plan(g, od, bu_sec(g, bu), a);
        a.kind = A_DISPUTE_RES;
        a.sub = (uint8_t)(rng_pm(r, 450) ? 0 : 1 + rng_below(r, NELEM(k_resolution) - 1));
        if (!e)
            e = plan(g, rsd, bu_sec(g, bu), a);
        if (a.sub == 0)
            left -= damt;
        hold_pay_until = rsd + (int32_t)rng_range(r, 1, 7);
    }
    /* A client inquiry about this invoice, and now and then one about the account. */
    for (int k = 0; !e && k < 2; k++) {
        if (!rng_pm(r, k == 0 ? 50 : 8))
            continue;
        int32_t od = rand_day(g, d0, k == 0 ? 2 : 1, 30);
        gen_act_t a = {.kind = A_INQ_OPEN, .party = c, .doc = k == 0 ? inv : 0, .doc2 = ++g->n_inq};
        e = plan(g, od, bu_sec(g, bu), a);
        a.kind = A_INQ_RES;
        if (!e)
            e = plan(g, rand_day(g, od, 0, 9), bu_sec(g, bu), a);
    }
    /* An unallocated credit (rebate) and cash on account: open items beside the invoices. */
    if (!e && rng_pm(r, 7)) {
        gen_act_t a = {.kind = A_CREDIT, .party = c, .amount = share_of(g, amount, 1, 5)};
        e = plan(g, rand_day(g, d0, 1, 30), bu_sec(g, bu), a);
    }
    if (!e && rng_pm(r, 5)) {
        gen_act_t a = {.kind = A_PAY_ACCOUNT, .party = c, .amount = share_of(g, amount, 2, 20)};
        e = plan(g, rand_day(g, d0, 1, 60), bu_sec(g, bu), a);
    }
    if (e || left <= 0)
        return e;

    /* Payments: whole, in two parts, short-paid, or partly and then written off. */
    int32_t late = draw_late(g, p->profile);
    int32_t pay_day = (int32_t)imax(imax(due + late, ready), hold_pay_until);
    pay_day = (int32_t)imin(pay_day, lim - 2);
    int32_t paid = pay_day;
    if (rng_pm(r, k_writeoff_pm[p->profile])) {
        int64_t part = rng_pm(r, 500) ? imin(share_of(g, left, 20, 60), left - 1) : 0;
        int32_t last = ready;
        if (part > 0) {
            int64_t pd = imax(imax(rand_day(g, due, 20, 90), ready), hold_pay_until);
            e = plan_pay(g, c, inv, part, (int32_t)imin(pd, lim - 2), &last);
        }
        int32_t wd = (int32_t)imax(rand_day(g, due, 150, 330), imax(last, hold_pay_until) + 1);
        gen_act_t a = {.kind = A_WRITEOFF, .party = c, .doc = inv, .amount = left - part};
        a.sub = (uint8_t)rng_below(r, 2);
        if (!e)
            e = plan(g, (int32_t)imin(wd, lim), bu_sec(g, bu), a);
        if (!e)
            e = plan_hold(g, c, A_HOLD_SET, rand_day(g, due, 45, 75), 1);
        if (!e && rng_pm(r, 400))
            e = plan_hold(g, c, A_HOLD_RELEASE, rand_day(g, wd, 5, 30),
                          (uint8_t)rng_below(r, NELEM(k_hold_rel)));
        return e;
    }
    if (rng_pm(r, 80) && left >= 2) {
        int64_t p1 = imin(share_of(g, left, 30, 70), left - 1);
        e = plan_pay(g, c, inv, p1, pay_day, &paid);
        if (!e)
            e = plan_pay(g, c, inv, left - p1, (int32_t)imin(rand_day(g, paid, 10, 45), lim - 2),
                         &paid);
    } else if (rng_pm(r, 15) && left >= 200) {
        /* Short payment: the customer pays a little less; the remainder is written off. */
        int64_t gap = imin(rng_range(r, 1, 500), left / 100);
        e = plan_pay(g, c, inv, left - gap, pay_day, &paid);
        gen_act_t a = {.kind = A_WRITEOFF, .party = c, .doc = inv, .amount = gap, .sub = 2};
        if (!e)
            e = plan(g, rand_day(g, paid, 30, 60), bu_sec(g, bu), a);
    } else {
        e = plan_pay(g, c, inv, left, pay_day, &paid);
    }
    /* Long overdue: collections put the account on hold until the cash arrives. */
    if (!e && late > 60) {
        int32_t hd = rand_day(g, due, 31, 45);
        if (hd < paid) {
            e = plan_hold(g, c, A_HOLD_SET, hd, 0);
            if (!e)
                e = plan_hold(g, c, A_HOLD_RELEASE, rand_day(g, paid, 1, 5), 0);
        }
    }
    return e;
}

static err_t run_issue(gen_t *g, const gen_act_t *a)
{
    uint32_t c = a->party;
    gen_party_t *p = &g->cust[c];
    gen_rng_t *r = &g->rng;
    err_t e = ERR_OK;
    if (!p->has_limit || g->day - p->limit_day >= 365)
        e = emit_limit(g, c);
    if (e)
        return e;
    /* Sizes vary a lot around the customer's typical invoice. */
    int64_t cents = p->size_cents * rng_range(r, 20, 300) / 100 + rng_range(r, 0, 99);
    int64_t amount = cents_to_minor(p->cur, cents);
    int32_t terms = p->terms_days;
    int32_t due = g->day + terms;
    ev_begin(g, KPI_EV_INVOICE_ISSUED, p->bu);
    put_kdoc(g, "invoice", "INV", a->doc);
    put_kcust(g, c);
    put_kstr(g, "currency", k_curs[p->cur].code);
    put_kamount(g, "amount", amount, p->cur);
    if (rng_pm(r, 700))
        put_kint(g, "terms_days", terms);
    else
        put_kdate(g, "due_date", due);
    /* The billing cycle's schedule, for the billing SLA; about one in ten goes out late. */
    if (rng_pm(r, 600))
        put_kdate(g, "billing_due", g->day - (rng_pm(r, 100) ? (int32_t)rng_range(r, 1, 3) : 0));
    e = ev_end(g, KPI_EV_INVOICE_ISSUED);
    g->st->invoices++;
    if (!e)
        e = plan_invoice(g, c, a->doc, amount, due);
    return e;
}

static err_t run_payment(gen_t *g, const gen_act_t *first)
{
    /* Gather the rest of this customer's run: same second, same group. */
    gen_act_t run[GEN_RUN_MAX];
    size_t n = 0;
    run[n++] = *first;
    gen_bucket_t *b = slot(g, g->day);
    while (first->grp != 0 && n < GEN_RUN_MAX && b->n > 0 && b->v[0].sec == first->sec &&
           b->v[0].grp == first->grp && b->v[0].kind == A_PAY) {
        run[n++] = b->v[0];
        b->v[0] = b->v[--b->n];
        heap_down(b->v, b->n, 0);
    }
    uint32_t c = first->party;
    gen_party_t *p = &g->cust[c];
    gen_rng_t *r = &g->rng;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += run[i].amount;
    int64_t extra = rng_pm(r, 30) ? share_of(g, total, 1, 3) : 0;
    uint64_t pay = ++g->n_pay;
    ev_begin(g, KPI_EV_PAYMENT_RECEIVED, p->bu);
    put_kdoc(g, "payment", "PAY", pay);
    put_kcust(g, c);
    put_kstr(g, "currency", k_curs[p->cur].code);
    put_kamount(g, "amount", total + extra, p->cur);
    put_kstr(g, "method", k_methods[rng_pm(r, 850) ? p->method : rng_below(r, NELEM(k_methods))]);
    err_t e = ev_end(g, KPI_EV_PAYMENT_RECEIVED);
    /* Most cash is matched at once (lockbox, remittance advice); the rest waits for a clerk. */
    bool later = rng_pm(r, 200);
    int32_t ad = g->day + (rng_pm(r, 600) ? 1 : (int32_t)rng_range(r, 2, 4));
    int32_t as = bu_sec(g, p->bu);
    for (size_t i = 0; !e && i < n; i++) {
        if (later) {
            gen_act_t a = {.kind = A_APPLY,
                           .party = c,
                           .doc = run[i].doc,
                           .doc2 = pay,
                           .amount = run[i].amount};
            e = plan(g, ad, as, a);
            continue;
        }
        ev_begin(g, KPI_EV_PAYMENT_APPLIED, p->bu);
        put_kdoc(g, "payment", "PAY", pay);
        put_kdoc(g, "invoice", "INV", run[i].doc);
        put_kstr(g, "currency", k_curs[p->cur].code);
        put_kamount(g, "amount", run[i].amount, p->cur);
        e = ev_end(g, KPI_EV_PAYMENT_APPLIED);
    }
    if (!e && extra > 0 && rng_pm(r, 600)) {
        gen_act_t a = {.kind = A_REFUND,
                       .party = c,
                       .doc2 = pay,
                       .amount = rng_pm(r, 700) ? extra : imax(extra / 2, 1)};
        e = plan(g, g->day + (int32_t)rng_range(r, 7, 40), bu_sec(g, p->bu), a);
    }
    return e;
}

static err_t run_on_account(gen_t *g, const gen_act_t *a)
{
    gen_party_t *p = &g->cust[a->party];
    uint64_t pay = ++g->n_pay;
    ev_begin(g, KPI_EV_PAYMENT_RECEIVED, p->bu);
    put_kdoc(g, "payment", "PAY", pay);
    put_kcust(g, a->party);
    put_kstr(g, "currency", k_curs[p->cur].code);
    put_kamount(g, "amount", a->amount, p->cur);
    put_kstr(g, "method", k_methods[p->method]);
    err_t e = ev_end(g, KPI_EV_PAYMENT_RECEIVED);
    if (!e && rng_pm(&g->rng, 500)) {
        gen_act_t b = {.kind = A_REFUND, .party = a->party, .doc2 = pay, .amount = a->amount};
        e = plan(g, g->day + (int32_t)rng_range(&g->rng, 10, 60), bu_sec(g, p->bu), b);
    }
    return e;
}

/* The actions that become exactly one AR line. */
static err_t run_ar_simple(gen_t *g, const gen_act_t *a)
{
    gen_party_t *p = &g->cust[a->party];
    int cur = p->cur;
    kpi_ev_type_t t = KPI_EV_NONE;
    switch (a->kind) {
    case A_REVIEW:
        ev_begin(g, t = KPI_EV_INVOICE_REVIEWED, p->bu);
        put_kdoc(g, "invoice", "INV", a->doc);
        put_kstr(g, "result", a->sub == 0 ? "pass" : "fail");
        if (a->sub != 0)
            put_kstr(g, "reason", k_review_fail[a->sub - 1]);
        break;
    case A_ADJUST:
        ev_begin(g, t = KPI_EV_INVOICE_ADJUSTED, p->bu);
        put_kdoc(g, "invoice", "INV", a->doc);
        put_kstr(g, "currency", k_curs[cur].code);
        put_kamount(g, "amount", a->amount, cur);
        put_kstr(g, "reason", a->amount > 0 ? k_adj_debit[a->sub] : k_adj_credit[a->sub]);
        break;
    case A_CREDIT:
        ev_begin(g, t = KPI_EV_CREDIT_NOTE_ISSUED, p->bu);
        put_kdoc(g, "credit_note", "CN", ++g->n_cn);
        put_kcust(g, a->party);
        if (a->doc != 0)
            put_kdoc(g, "invoice", "INV", a->doc);
        put_kstr(g, "currency", k_curs[cur].code);
        put_kamount(g, "amount", a->amount, cur);
        break;
    case A_DISPUTE_OPEN:
        ev_begin(g, t = KPI_EV_DISPUTE_OPENED, p->bu);
        put_kdoc(g, "dispute", "DSP", a->doc2);
        put_kdoc(g, "invoice", "INV", a->doc);
        put_kstr(g, "currency", k_curs[cur].code);
        put_kamount(g, "amount", a->amount, cur);
        put_kstr(g, "reason", k_dispute[a->sub]);
        break;
    case A_INQ_OPEN:
    case A_INQ_RES:
        t = a->kind == A_INQ_OPEN ? KPI_EV_INQUIRY_OPENED : KPI_EV_INQUIRY_RESOLVED;
        ev_begin(g, t, p->bu);
        put_kdoc(g, "inquiry", "INQ", a->doc2);
        put_kcust(g, a->party);
        if (a->doc != 0)
            put_kdoc(g, "invoice", "INV", a->doc);
        break;
    case A_APPLY:
        ev_begin(g, t = KPI_EV_PAYMENT_APPLIED, p->bu);
        put_kdoc(g, "payment", "PAY", a->doc2);
        put_kdoc(g, "invoice", "INV", a->doc);
        put_kstr(g, "currency", k_curs[cur].code);
        put_kamount(g, "amount", a->amount, cur);
        break;
    case A_REFUND:
        ev_begin(g, t = KPI_EV_PAYMENT_REFUNDED, p->bu);
        put_kdoc(g, "payment", "PAY", a->doc2);
        put_kstr(g, "currency", k_curs[cur].code);
        put_kamount(g, "amount", a->amount, cur);
        break;
    case A_WRITEOFF:
        ev_begin(g, t = KPI_EV_INVOICE_WRITTEN_OFF, p->bu);
        put_kdoc(g, "invoice", "INV", a->doc);
        put_kstr(g, "currency", k_curs[cur].code);
        put_kamount(g, "amount", a->amount, cur);
        put_kstr(g, "reason", k_writeoff[a->sub]);
        break;
    default: return err_set(g->msg, ERR_INTERNAL, "generator: unknown action %d", a->kind);
    }
    return ev_end(g, t);
}

static err_t run_dispute_resolved(gen_t *g, const gen_act_t *a)
{
    gen_party_t *p = &g->cust[a->party];
    ev_begin(g, KPI_EV_DISPUTE_RESOLVED, p->bu);
    put_kdoc(g, "dispute", "DSP", a->doc2);
    put_kdoc(g, "invoice", "INV", a->doc);
    put_kstr(g, "resolution", k_resolution[a->sub]);
    err_t e = ev_end(g, KPI_EV_DISPUTE_RESOLVED);
    if (!e && a->sub == 0) {
        gen_act_t cn = *a;
        cn.kind = A_CREDIT;
        e = run_ar_simple(g, &cn);
    }
    return e;
}

/* Holds follow the customer's state: a second hold or a stray release writes nothing. */
static err_t run_hold(gen_t *g, const gen_act_t *a)
{
    gen_party_t *p = &g->cust[a->party];
    bool set = a->kind == A_HOLD_SET;
    if (p->on_hold == set)
        return ERR_OK;
    p->on_hold = set;
    kpi_ev_type_t t = set ? KPI_EV_CREDIT_HOLD_SET : KPI_EV_CREDIT_HOLD_RELEASED;
    ev_begin(g, t, p->bu);
    put_kcust(g, a->party);
    put_kstr(g, "reason", set ? k_hold_set[a->sub] : k_hold_rel[a->sub]);
    return ev_end(g, t);
}

/* ---- AP: one bill's life -------------------------------------------------------- */

static err_t plan_bill(gen_t *g, uint32_t v, uint64_t bill, int64_t amount, int32_t due)
{
    gen_rng_t *r = &g->rng;
    int bu = g->vend[v].bu;
    const int32_t d0 = g->day;
    gen_act_t a = {.party = v, .doc = bill};
    int32_t proc;
    err_t e;
    if (rng_pm(r, 70)) {
        int32_t rd = rand_day(g, d0, 1, 2);
        a.kind = A_BILL_REJECT;
        a.sub = (uint8_t)rng_below(r, NELEM(k_bill_reject));
        e = plan(g, rd, bu_sec(g, bu), a);
        if (e || !rng_pm(r, 800))
            return e; /* the vendor never sends it back */
        proc = rand_day(g, rd, 2, 10);
    } else if (rng_pm(r, 110)) {
        int32_t ed = rand_day(g, d0, 1, 3);
        a.kind = A_BILL_ESCALATE;
        a.sub = (uint8_t)rng_below(r, NELEM(k_bill_escalate));
        e = plan(g, ed, bu_sec(g, bu), a);
        if (e)
            return e;
        proc = rand_day(g, ed, 1, 7);
    } else {
        unsigned u = (unsigned)rng_below(r, 100);
        proc = d0 + (u < 15   ? 0
                     : u < 50 ? 1
                     : u < 75 ? 2
                     : u < 87 ? 3
                              : (int32_t)rng_range(r, 4, 8));
    }
    a.kind = A_BILL_PROCESS;
    a.sub = 0;
    e = plan(g, proc, bu_sec(g, bu), a);
    int32_t pd = (int32_t)imax(rand_day(g, due, -5, 15), proc + 1);
    a.kind = A_BILL_PAY;
    if (!e && rng_pm(r, 50) && amount >= 2) {
        a.amount = imin(share_of(g, amount, 30, 70), amount - 1);
        e = plan(g, pd, bu_sec(g, bu), a);
        a.amount = amount - a.amount;
        pd = rand_day(g, pd, 5, 30);
    } else {
        a.amount = amount;
    }
    if (!e)
        e = plan(g, pd, bu_sec(g, bu), a);
    return e;
}

static err_t run_bill(gen_t *g, const gen_act_t *a)
{
    gen_party_t *p = &g->vend[a->party];
    gen_rng_t *r = &g->rng;
    int64_t cents = p->size_cents * rng_range(r, 20, 300) / 100 + rng_range(r, 0, 99);
    int64_t amount = cents_to_minor(p->cur, cents);
    int32_t due = g->day + p->terms_days;
    ev_begin(g, KPI_EV_BILL_RECEIVED, p->bu);
    put_kdoc(g, "bill", "BILL", a->doc);
    put_kparty(g, "vendor", "VEND-", a->party);
    put_kstr(g, "currency", k_curs[p->cur].code);
    put_kamount(g, "amount", amount, p->cur);
    if (rng_pm(r, 600))
        put_kint(g, "terms_days", p->terms_days);
    else
        put_kdate(g, "due_date", due);
    err_t e = ev_end(g, KPI_EV_BILL_RECEIVED);
    g->st->bills++;
    if (!e)
        e = plan_bill(g, a->party, a->doc, amount, due);
    return e;
}

static err_t run_bill_step(gen_t *g, const gen_act_t *a)
{
    gen_party_t *p = &g->vend[a->party];
    kpi_ev_type_t t = a->kind == A_BILL_REJECT     ? KPI_EV_BILL_REJECTED
                      : a->kind == A_BILL_ESCALATE ? KPI_EV_BILL_ESCALATED
                      : a->kind == A_BILL_PROCESS  ? KPI_EV_BILL_PROCESSED
                                                   : KPI_EV_BILL_PAID;
    ev_begin(g, t, p->bu);
    put_kdoc(g, "bill", "BILL", a->doc);
    put_kparty(g, "vendor", "VEND-", a->party);
    if (t == KPI_EV_BILL_REJECTED)
        put_kstr(g, "reason", k_bill_reject[a->sub]);
    else if (t == KPI_EV_BILL_ESCALATED)
        put_kstr(g, "reason", k_bill_escalate[a->sub]);
    else if (t == KPI_EV_BILL_PAID) {
        put_kstr(g, "currency", k_curs[p->cur].code);
        put_kamount(g, "amount", a->amount, p->cur);
    }
    return ev_end(g, t);
}

static err_t run_action(gen_t *g, const gen_act_t *a)
{
    switch (a->kind) {
    case A_ISSUE: return run_issue(g, a);
    case A_PAY: return run_payment(g, a);
    case A_PAY_ACCOUNT: return run_on_account(g, a);
    case A_DISPUTE_RES: return run_dispute_resolved(g, a);
    case A_HOLD_SET:
    case A_HOLD_RELEASE: return run_hold(g, a);
    case A_BILL: return run_bill(g, a);
    case A_BILL_REJECT:
    case A_BILL_ESCALATE:
    case A_BILL_PROCESS:
    case A_BILL_PAY: return run_bill_step(g, a);
    default: return run_ar_simple(g, a);
    }
}

/* ---- set-up ------------------------------------------------------------------------ */

/* Customers, vendors and their Zipf weights (rank k weighs 1/(k+1)). */
static err_t make_parties(gen_t *g, gen_party_t **out, uint64_t **cum, uint32_t n, bool ar)
{
    gen_party_t *v = calloc(n, sizeof *v);
    uint64_t *w = calloc(n, sizeof *w);
    if (v == NULL || w == NULL) {
        free(v);
        free(w);
        return err_set(g->msg, ERR_NOMEM, "out of memory for %" PRIu32 " parties", n);
    }
    gen_rng_t *r = &g->rng;
    uint64_t acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        gen_party_t *p = &v[i];
        /* Units by a golden-ratio sequence over the ranks, so the big customers are spread
           over the units and the currency mix barely depends on the seed. */
        p->bu = (uint8_t)pick_bu((unsigned)((uint64_t)i * 618 % 1000));
        unsigned u = (unsigned)rng_below(r, 100);
        switch (p->bu) {
        case 0: p->cur = CUR_USD; break;
        case 1: p->cur = u < 60 ? CUR_EUR : CUR_GBP; break;
        case 2: p->cur = u < 80 ? CUR_JPY : CUR_USD; break;
        default: p->cur = u < 60 ? CUR_KWD : CUR_USD; break;
        }
        u = (unsigned)rng_below(r, 100);
        p->terms_days = u < 50 ? 30 : u < 75 ? 45 : 60;
        u = (unsigned)rng_below(r, 100);
        if (i < n / 20 + 1)
            u = u * 85 / 100; /* the biggest accounts are never the troubled ones */
        p->profile = u < 20   ? PROF_PROMPT
                     : u < 70 ? PROF_NORMAL
                     : u < 92 ? PROF_SLOW
                              : PROF_TROUBLED;
        u = (unsigned)rng_below(r, 100);
        if (p->bu == 0)
            p->method = (uint8_t)(u < 35 ? 0 : u < 75 ? 1 : u < 90 ? 2 : u < 98 ? 3 : 4);
        else
            p->method = (uint8_t)(u < 5 ? 0 : u < 60 ? 1 : u < 92 ? 2 : u < 98 ? 3 : 4);
        /* Big customers more often pay in runs: that is where one payment covers many invoices. */
        p->batch = ar && rng_pm(r, i < n / 10 ? 600 : 250);
        p->run_wday = (uint8_t)rng_below(r, 7);
        p->run_sec = bu_sec(g, p->bu);
        /* Typical invoice: 200 USD to 50k USD, larger for the top ranks. */
        p->size_cents = rng_range(r, 20000, 2000000) * (i < n / 20 ? 3 : 1);
        acc += 1000000 / (i + 1);
        w[i] = acc;
    }
    *out = v;
    *cum = w;
    return ERR_OK;
}

/* Relative volume of a day: quiet weekends, a month-end push. */
static uint64_t day_weight(int32_t day)
{
    int32_t y, m, d;
    kpi_civil_from_days(day, &y, &m, &d);
    uint64_t w = kpi_weekday(day) >= 6 ? 2 : 10;
    if (d > kpi_days_in_month(y, m) - 2)
        w += 6;
    return w;
}

static void progress(gen_t *g, bool last)
{
    if (g->prog == NULL)
        return;
    struct timespec now;
    if (!last) {
        /* Look at the clock every 1024 invoices; redraw at most 5 times a second. */
        if ((g->inv_done & 1023) != 0 || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
            return;
        int64_t ms = (int64_t)(now.tv_sec - g->prog_last.tv_sec) * 1000 +
                     (now.tv_nsec - g->prog_last.tv_nsec) / 1000000;
        if (ms < 200)
            return;
        g->prog_last = now;
    }
    uint64_t n = g->o->invoices;
    fprintf(g->prog, "\rkpid gen: %" PRIu64 "/%" PRIu64 " invoices (%" PRIu64 "%%)%s", g->inv_done,
            n, g->inv_done * 100 / n, last ? "\n" : "");
    fflush(g->prog);
}

void cmd_gen_opts_default(cmd_gen_opts_t *o)
{
    o->invoices = 1000;
    o->seed = 1;
    o->start_day = kpi_days_from_civil(2024, 1, 1);
    o->days = 730;
    o->progress = false;
}

static uint32_t clamp_u32(uint64_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

/* Run the window day by day (see the top comment). */
static err_t run_days(gen_t *g)
{
    const cmd_gen_opts_t *o = g->o;
    uint64_t w_total = 0;
    for (int32_t d = 0; d < o->days; d++)
        w_total += day_weight(o->start_day + d);
    const uint64_t n_bills = o->invoices * 3 / 10;
    uint64_t w_acc = 0, inv_prev = 0, bill_prev = 0;
    err_t e = ERR_OK;
    for (int32_t d = 0; !e && d < o->days; d++) {
        g->day = o->start_day + d;
        g->running = false;
        /* Rates first (they are for the whole day): on the first day and
           every weekday, as central banks publish them. */
        if (d == 0 || kpi_weekday(g->day) <= 5)
            e = emit_rates(g);
        if (!e && d == 0)
            e = emit_profiles(g);
        w_acc += day_weight(g->day);
        /* Cumulative shares make the totals exact: sum of the days == N. */
        uint64_t inv_to = o->invoices * w_acc / w_total, bill_to = n_bills * w_acc / w_total;
        for (; !e && inv_prev < inv_to; inv_prev++) {
            uint32_t c = pick_zipf(&g->rng, g->cust_cum, g->ncust);
            gen_act_t a = {.kind = A_ISSUE, .party = c, .doc = ++g->n_inv};
            e = plan(g, g->day, bu_sec(g, g->cust[c].bu), a);
        }
        for (; !e && bill_prev < bill_to; bill_prev++) {
            uint32_t v = pick_zipf(&g->rng, g->vend_cum, g->nvend);
            gen_act_t a = {.kind = A_BILL, .party = v, .doc = ++g->n_bill};
            e = plan(g, g->day, bu_sec(g, g->vend[v].bu), a);
        }
        gen_bucket_t *b = slot(g, g->day);
        for (size_t i = b->n / 2; i-- > 0;)
            heap_down(b->v, b->n, i);
        g->running = true;
        while (!e && b->n > 0) {
            gen_act_t a = b->v[0];
            b->v[0] = b->v[--b->n];
            heap_down(b->v, b->n, 0);
            g->sec = a.sec;
            e = run_action(g, &a);
            if (a.kind == A_ISSUE) {
                g->inv_done++;
                progress(g, false);
            }
        }
        /* Give the day's array back: a slot that keeps its peak capacity would make memory
           GEN_RING full days instead of the actions actually pending. */
        free(b->v);
        b->v = NULL;
        b->cap = 0;
    }
    return e;
}

err_t cmd_gen_run(const cmd_gen_opts_t *o, FILE *out, FILE *progress_to, cmd_gen_stats_t *st,
                  err_msg_t *msg)
{
    cmd_gen_stats_t st_local;
    if (st == NULL)
        st = &st_local;
    memset(st, 0, sizeof *st);
    if (o->invoices < 1 || o->invoices > 1000000000ull || o->days < 1 || o->days > 36500)
        return err_set(msg, ERR_BAD_PARAM, "invoices must be 1..1e9 and days 1..36500");
    const int32_t first = kpi_days_from_civil(KPI_YEAR_MIN, 1, 1);
    const int32_t last = kpi_days_from_civil(KPI_YEAR_MAX, 12, 31);
    if (o->start_day < first + 1 || o->start_day > last - 1 - o->days)
        return err_set(msg, ERR_BAD_PARAM, "the window must lie within years %d..%d", KPI_YEAR_MIN,
                       KPI_YEAR_MAX);
    gen_t *g = calloc(1, sizeof *g);
    if (g == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    g->o = o;
    g->out = out;
    g->st = st;
    g->msg = msg;
    g->end_day = o->start_day + o->days;
    uint64_t x = o->seed;
    for (int i = 0; i < 4; i++)
        g->rng.s[i] = splitmix64(&x);
    for (int i = 0; i < 4; i++)
        g->fx_rng.s[i] = splitmix64(&x);
    snprintf(g->seed_txt, sizeof g->seed_txt, "%" PRIu64, o->seed);
    if (o->progress && progress_to != NULL) {
        g->prog = progress_to;
        (void)clock_gettime(CLOCK_MONOTONIC, &g->prog_last); /* only paces redraws */
    }
    /* About eight invoices per customer, within bounds that keep the tables small. */
    g->ncust = clamp_u32(o->invoices / 8, 30, 5000);
    g->nvend = clamp_u32(o->invoices / 40, 10, 1500);
    err_t e = make_parties(g, &g->cust, &g->cust_cum, g->ncust, true);
    if (!e)
        e = make_parties(g, &g->vend, &g->vend_cum, g->nvend, false);
    if (!e)
        e = run_days(g);
    if (!e)
        e = out_flush(g);
    if (!e && fflush(out) != 0)
        e = err_set(msg, ERR_IO, "writing events: %s", strerror(errno));
    if (!e && ferror(out))
        e = err_set(msg, ERR_IO, "writing events failed");
    if (!e)
        progress(g, true);
    else if (g->prog != NULL)
        fputc('\n', g->prog);
    for (size_t i = 0; i < GEN_RING; i++)
        free(g->ring[i].v);
    free(g->cust);
    free(g->vend);
    free(g->cust_cum);
    free(g->vend_cum);
    free(g);
    return e;
}
