/*
 * test_rpt_mail.c — reports by e-mail (reports/rpt_mime.c, rpt_mailq.c,
 * rpt_smtp.c): address checks, period labels (the inverse of
 * rpt_period_parse), the subject, the whole MIME message (headers, base64
 * line lengths, the attachment decoded back byte for byte, no header
 * injection), the backoff, and the delivery queue driven by a fake clock
 * and a fake sender (retry after a 451, give up after max_attempts, no
 * retry after a 550, a PDF that is gone). rpt_smtp_send is tested here on
 * its failure path (nobody listening); the integration tests send to a
 * real SMTP server (tests/integration/test_mail.py).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kpi_date.h"
#include "rpt.h"
#include "rpt_mail.h"
#include "test.h"

static void test_addr(void)
{
    static const char *const good[] = {"a@b", "ops@example.com", "first.last+tag@sub.example.org",
                                       "x_y-z@127.0.0.1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK_MSG(rpt_mail_addr_ok(good[i]), "%s", good[i]);
    static const char *const bad[] = {"",
                                      "ab",
                                      "@example.com",
                                      "ops@",
                                      "ops",
                                      "a@b@c",
                                      "ops@example.com\r\nBcc: x@y",
                                      "ops@example.com\n",
                                      "o ps@example.com",
                                      "<ops@example.com>",
                                      "ops@example.com, b@c",
                                      "ops;x@example.com",
                                      "M\xC3\xBCller@example.com",
                                      "\"q\"@example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!rpt_mail_addr_ok(bad[i]), "'%s'", bad[i]);
    CHECK(!rpt_mail_addr_ok(NULL));
    char longest[300];
    memset(longest, 'a', sizeof longest);
    memcpy(longest + 250, "@b.cd", 6); /* 255 bytes */
    CHECK(!rpt_mail_addr_ok(longest));
    longest[249] = '\0';
    memcpy(longest + 249 - 5, "@b.cd", 6); /* 249 bytes */
    CHECK(rpt_mail_addr_ok(longest));
}

static void test_period_label(void)
{
    static const char *const forms[] = {"2025-11",
                                        "2024-02",
                                        "2025-Q1",
                                        "2025-Q4",
                                        "2025",
                                        "2025-W47",
                                        "2025-W01",
                                        "2026-W53",
                                        "2020-W53",
                                        "2025-01-01..2025-03-15",
                                        "2025-11-03..2025-11-09",
                                        "2025-02-01..2025-04-30"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        int32_t a, b;
        REQUIRE(rpt_period_parse(forms[i], &a, &b, NULL) == ERR_OK);
        char buf[RPT_MAIL_PERIOD_BUF];
        const char *want = forms[i];
        /* 2025-11-03 is a Monday: that range is ISO week 45 */
        if (strcmp(forms[i], "2025-11-03..2025-11-09") == 0)
            want = "2025-W45";
        CHECK_STR(want, rpt_mail_period_label(a, b, buf));
    }
    char buf[RPT_MAIL_PERIOD_BUF];
    int32_t d = kpi_days_from_civil(2025, 11, 3);
    CHECK_STR("2025-11-03", rpt_mail_period_label(d, d, buf));
    /* a week that does not start on Monday is a range */
    CHECK_STR("2025-11-04..2025-11-10", rpt_mail_period_label(d + 1, d + 7, buf));
}

static void test_subject(void)
{
    char s[256];
    CHECK_ERR(ERR_OK, rpt_mail_subject("aging", "emea", "2025-Q4", s, sizeof s));
    CHECK_STR("kpid aging report \xE2\x80\x94 emea \xE2\x80\x94 2025-Q4", s);
    CHECK_ERR(ERR_OK, rpt_mail_subject("sla", NULL, "2025-11", s, sizeof s));
    CHECK_STR("kpid sla report \xE2\x80\x94 whole book \xE2\x80\x94 2025-11", s);
    CHECK_ERR(ERR_OK, rpt_mail_subject("sla", "", "2025-11", s, sizeof s));
    CHECK_STR("kpid sla report \xE2\x80\x94 whole book \xE2\x80\x94 2025-11", s);
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_subject("sla", "emea\r\nBcc: x@y", "2025-11", s, sizeof s));
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_subject("sla\n", "emea", "2025-11", s, sizeof s));
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_subject("sla", "emea", "2025-11\r", s, sizeof s));
    CHECK_ERR(ERR_TOO_LARGE, rpt_mail_subject("aging", "emea", "2025-Q4", s, 20));
}

/* ---- decoding what the builder wrote ---------------------------------------- */

static int b64v(char c)
{
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : -1;
}

/* Decode base64 lines from s up to the next "\r\n\r\n" or "\r\n--"; every
   line must be at most 76 characters. Returns the byte count. */
static size_t b64_decode(const char *s, unsigned char *out, size_t cap, int *max_line)
{
    size_t n = 0;
    unsigned v = 0;
    int bits = 0, line = 0;
    *max_line = 0;
    for (const char *p = s; *p; p++) {
        if (p[0] == '\r' && p[1] == '\n') {
            if (line > *max_line)
                *max_line = line;
            line = 0;
            if (p[2] == '-' || p[2] == '\r' || p[2] == '\0')
                break;
            p++;
            continue;
        }
        line++;
        if (*p == '=')
            continue;
        int x = b64v(*p);
        if (x < 0)
            return (size_t)-1;
        v = v << 6 | (unsigned)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < cap)
                out[n] = (unsigned char)(v >> bits);
            n++;
        }
    }
    return n;
}

static void test_build(void)
{
    unsigned char pdf[5000];
    for (size_t i = 0; i < sizeof pdf; i++)
        pdf[i] = (unsigned char)(i * 7 + 3);
    memcpy(pdf, "%PDF-1.7\n", 9);
    const char *to[] = {"a@example.com", "b@example.org"};
    char subject[256];
    REQUIRE(rpt_mail_subject("aging", "\xE5\xA4\xA7\xE8\xBF\x9E emea", "2025-Q4", subject,
                             sizeof subject) == ERR_OK);
    rpt_mail_msg_t m = {.from = "kpid@example.com",
                        .to = to,
                        .n_to = 2,
                        .subject = subject,
                        .text = "line one\nline two\n",
                        .date_s = 1764769415, /* 2025-12-03T13:43:35Z, a Wednesday */
                        .message_id = "kpid.1.2.3@host",
                        .file_name = "aging-emea-2025-10-01-2025-12-31-20251203T134335Z.pdf",
                        .data = pdf,
                        .len = sizeof pdf};
    char *out = NULL;
    size_t len = 0;
    CHECK_ERR(ERR_OK, rpt_mail_build(&m, &out, &len, NULL));
    REQUIRE(out != NULL);
    CHECK_INT(strlen(out), len);
    CHECK(strstr(out, "Date: Wed, 03 Dec 2025 13:43:35 +0000\r\n") == out);
    CHECK(strstr(out, "\r\nFrom: <kpid@example.com>\r\n") != NULL);
    CHECK(strstr(out, "\r\nTo: <a@example.com>,\r\n <b@example.org>\r\n") != NULL);
    CHECK(strstr(out, "\r\nMessage-ID: <kpid.1.2.3@host>\r\n") != NULL);
    CHECK(strstr(out, "\r\nMIME-Version: 1.0\r\n") != NULL);
    CHECK(strstr(out, "Content-Type: multipart/mixed;\r\n boundary=\"=_kpid_kpid_1_2_3\"\r\n") !=
          NULL);
    CHECK(strstr(out, "\r\n--=_kpid_kpid_1_2_3--\r\n") != NULL);
    /* every line ends in CRLF; none is longer than 78 characters */
    size_t line = 0, longest = 0;
    bool bare_lf = false;
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '\n') {
            bare_lf = bare_lf || i == 0 || out[i - 1] != '\r';
            longest = line > longest ? line : longest;
            line = 0;
        } else if (out[i] != '\r') {
            line++;
        }
    }
    CHECK(!bare_lf);
    CHECK_MSG(longest <= 78, "longest line %zu", longest);

    /* The subject: encoded words that decode back to it. */
    const char *sh = strstr(out, "\r\nSubject: ");
    REQUIRE(sh != NULL);
    char dec[512] = "";
    size_t dl = 0;
    for (const char *p = sh + 11; strncmp(p, "=?UTF-8?B?", 10) == 0;) {
        p += 10;
        const char *end = strstr(p, "?=");
        REQUIRE(end != NULL && end - p <= 64);
        char word[80];
        memcpy(word, p, (size_t)(end - p));
        memcpy(word + (end - p), "\r\n", 3);
        int ml;
        size_t n = b64_decode(word, (unsigned char *)dec + dl, sizeof dec - dl - 1, &ml);
        REQUIRE(n != (size_t)-1);
        dl += n;
        CHECK(end - p + 12 <= 75); /* the whole encoded word */
        p = end + 2;
        if (strncmp(p, "\r\n ", 3) == 0)
            p += 3;
    }
    dec[dl] = '\0';
    CHECK_STR(subject, dec);

    /* The attachment decodes to the PDF; its lines are 76 characters. */
    const char *ah = strstr(out, "Content-Type: application/pdf;\r\n name=\"aging-emea-");
    REQUIRE(ah != NULL);
    CHECK(strstr(ah,
                 "Content-Disposition: attachment;\r\n filename=\"aging-emea-2025-10-01-2025-12-31-"
                 "20251203T134335Z.pdf\"\r\n") != NULL);
    const char *body = strstr(ah, "\r\n\r\n");
    REQUIRE(body != NULL);
    static unsigned char back[6000];
    int ml = 0;
    size_t n = b64_decode(body + 4, back, sizeof back, &ml);
    CHECK_INT(sizeof pdf, n);
    CHECK(n == sizeof pdf && memcmp(back, pdf, n) == 0);
    CHECK_INT(76, ml);

    /* The text part, with CRLF line ends. */
    const char *th = strstr(out, "Content-Type: text/plain; charset=UTF-8\r\n"
                                 "Content-Transfer-Encoding: base64\r\n\r\n");
    REQUIRE(th != NULL);
    n = b64_decode(strstr(th, "\r\n\r\n") + 4, back, sizeof back, &ml);
    CHECK(n == 20 && memcmp(back, "line one\r\nline two\r\n", 20) == 0);
    free(out);

    /* An empty attachment and an empty text are still a valid message. */
    m.len = 0;
    m.text = NULL;
    CHECK_ERR(ERR_OK, rpt_mail_build(&m, &out, &len, NULL));
    CHECK(out != NULL && strstr(out, "--=_kpid_kpid_1_2_3--") != NULL);
    free(out);
}

/* An xlsx report travels as what it is: the XLSX media type on the
   attachment, the preamble saying so; every other file is a PDF. */
static void test_attachment_type(void)
{
    static const struct {
        const char *name, *type;
    } rows[] = {
        {"xlsx-all-2025-11-01-2025-11-30-20251201T060000Z.xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"sla-all-2025-11-01-2025-11-30-20251201T060000Z.pdf", "application/pdf"},
        {"r.xlsx.pdf", "application/pdf"},
        {".xlsx", "application/pdf"},
        {"", "application/pdf"},
        {NULL, "application/pdf"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_STR(rows[i].type, rpt_mail_content_type(rows[i].name));
    const char *to[] = {"a@example.com"};
    unsigned char zip[4] = {'P', 'K', 3, 4};
    rpt_mail_msg_t m = {.from = "kpid@example.com",
                        .to = to,
                        .n_to = 1,
                        .subject = "s",
                        .text = "t",
                        .message_id = "x@y",
                        .file_name = "xlsx-all-2025-11-01-2025-11-30-20251201T060000Z.xlsx",
                        .data = zip,
                        .len = sizeof zip};
    char *out = NULL;
    size_t len = 0;
    CHECK_ERR(ERR_OK, rpt_mail_build(&m, &out, &len, NULL));
    REQUIRE(out != NULL);
    CHECK(strstr(out, "This is a MIME message with an XLSX report attached.\r\n") != NULL);
    CHECK(strstr(out, "Content-Type: application/vnd.openxmlformats-officedocument."
                      "spreadsheetml.sheet;\r\n name=\"xlsx-all-") != NULL);
    CHECK(strstr(out, "application/pdf") == NULL);
    free(out);
}

static void test_build_refuses(void)
{
    const char *to[] = {"a@example.com"};
    const char *bad_to[] = {"a@example.com\r\nBcc: evil@example.com"};
    unsigned char pdf[4] = "%PDF";
    rpt_mail_msg_t good = {.from = "kpid@example.com",
                           .to = to,
                           .n_to = 1,
                           .subject = "s",
                           .text = "t",
                           .date_s = 0,
                           .message_id = "x@y",
                           .file_name = "r.pdf",
                           .data = pdf,
                           .len = 4};
    char *out = (char *)1;
    size_t len = 1;
    err_msg_t msg = {{0}};
    rpt_mail_msg_t m = good;
    m.from = "kpid@example.com\nBcc: x@y";
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    CHECK(out == NULL && len == 0);
    CHECK(strstr(msg.text, "sender") != NULL);
    m = good;
    m.to = bad_to;
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    CHECK(strstr(msg.text, "recipient") != NULL);
    m = good;
    m.n_to = 0;
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    m = good;
    m.n_to = RPT_MAIL_TO_MAX + 1;
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    m = good;
    m.subject = "report\r\nBcc: evil@example.com";
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    CHECK(strstr(msg.text, "subject") != NULL);
    m = good;
    m.message_id = "x@y>\r\nBcc: z@w";
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    m = good;
    m.file_name = "r.pdf\"\r\nX: y";
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    CHECK(strstr(msg.text, "attachment") != NULL);
    m = good;
    m.file_name = "../etc/passwd";
    CHECK_ERR(ERR_BAD_PARAM, rpt_mail_build(&m, &out, &len, &msg));
    CHECK(out == NULL);
}

static void test_backoff(void)
{
    rpt_mail_conf_t c = {.retry_s = 2, .retry_max_s = 10};
    CHECK_INT(2, rpt_mailq_backoff(&c, 1));
    CHECK_INT(4, rpt_mailq_backoff(&c, 2));
    CHECK_INT(8, rpt_mailq_backoff(&c, 3));
    CHECK_INT(10, rpt_mailq_backoff(&c, 4));
    CHECK_INT(10, rpt_mailq_backoff(&c, 1000000));
    rpt_mail_conf_t d = {0}; /* defaults: 60 s doubling up to an hour */
    CHECK_INT(60, rpt_mailq_backoff(&d, 1));
    CHECK_INT(120, rpt_mailq_backoff(&d, 2));
    CHECK_INT(3600, rpt_mailq_backoff(&d, 7));
}

/* ---- the queue, with a fake sender ------------------------------------------ */

typedef struct fake {
    int fail_codes[8]; /* reply code of attempt i when != 250; 0 = connection failure */
    int n_fail;
    int calls;
    char last[4096]; /* the start of the last message */
    size_t last_len;
    size_t last_n_to;
} fake_t;

static err_t fake_send(void *ctx, const rpt_mail_conf_t *c, const char *from, const char *const *to,
                       size_t n_to, const char *data, size_t len, int *code, err_msg_t *msg)
{
    fake_t *f = ctx;
    (void)c;
    (void)from;
    (void)to;
    int i = f->calls++;
    f->last_len = len;
    f->last_n_to = n_to;
    snprintf(f->last, sizeof f->last, "%.*s", (int)(len < 4000 ? len : 4000), data);
    if (i < f->n_fail) {
        *code = f->fail_codes[i];
        return err_set(msg, ERR_IO, "fake: refused with %d", f->fail_codes[i]);
    }
    *code = 250;
    return ERR_OK;
}

static char dir_[64];

static void write_pdf(const char *path)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputs("%PDF-1.7\nfake report\n%%EOF\n", f);
    fclose(f);
}

static rpt_mailq_t *new_queue(fake_t *f, uint32_t max_attempts, FILE *log)
{
    rpt_mail_conf_t c = {.url = "smtp://127.0.0.1:1",
                         .from = "kpid@example.com",
                         .retry_s = 5,
                         .retry_max_s = 20,
                         .max_attempts = max_attempts};
    rpt_mailq_opts_t o = {
        .conf = &c, .send = fake_send, .send_ctx = f, .host = "test.host", .log = log};
    rpt_mailq_t *q = NULL;
    REQUIRE(rpt_mailq_new(&o, &q, NULL) == ERR_OK);
    return q;
}

static void submit(rpt_mailq_t *q, const char *path)
{
    const char *to[] = {"ops@example.com", "cfo@example.com"};
    rpt_mail_item_t it = {.pdf_path = path,
                          .kind = "aging",
                          .unit = "emea",
                          .from_day = kpi_days_from_civil(2025, 10, 1),
                          .to_day = kpi_days_from_civil(2025, 12, 31),
                          .generated_s = 1764769415,
                          .to = to,
                          .n_to = 2};
    CHECK_ERR(ERR_OK, rpt_mailq_submit(q, &it, NULL));
}

static void test_queue_retry(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/aging-emea-2025-10-01-2025-12-31-20251203T134335Z.pdf", dir_);
    write_pdf(path);
    char *logbuf = NULL;
    size_t logsz = 0;
    FILE *log = open_memstream(&logbuf, &logsz);
    fake_t f = {.fail_codes = {451, 0}, .n_fail = 2};
    rpt_mailq_t *q = new_queue(&f, 5, log);
    submit(q, path);
    rpt_mailq_stats_t st;
    rpt_mailq_stats(q, &st);
    CHECK_INT(1, st.pending);
    int64_t next = 0;
    rpt_mailq_run(q, 1000, &next); /* 451 */
    CHECK_INT(1, f.calls);
    CHECK_INT(1005, next);
    rpt_mailq_run(q, 1004, &next); /* not due yet */
    CHECK_INT(1, f.calls);
    CHECK_INT(1005, next);
    rpt_mailq_run(q, 1005, &next); /* no reply at all */
    CHECK_INT(2, f.calls);
    CHECK_INT(1015, next);
    rpt_mailq_stats(q, &st);
    CHECK_INT(0, st.sent);
    CHECK_INT(2, st.retries);
    CHECK_INT(1, st.pending);
    rpt_mailq_run(q, 1015, &next); /* accepted */
    CHECK_INT(3, f.calls);
    CHECK_INT(INT64_MAX, next);
    rpt_mailq_stats(q, &st);
    CHECK_INT(1, st.sent);
    CHECK_INT(0, st.failed);
    CHECK_INT(2, st.retries);
    CHECK_INT(0, st.pending);
    CHECK_INT(2, f.last_n_to);
    CHECK(strstr(f.last, "\r\nTo: <ops@example.com>,\r\n <cfo@example.com>\r\n") != NULL);
    CHECK(strstr(f.last, "Message-ID: <kpid.1015.") != NULL);
    CHECK(strstr(f.last, "@test.host>") != NULL);
    CHECK(strstr(f.last, " filename=\"aging-emea-2025-10-01-2025-12-31-20251203T134335Z.pdf\"") !=
          NULL);
    /* the subject names kind, unit and period: "kpid aging report — emea — 2025-Q4" */
    char subject[128];
    REQUIRE(rpt_mail_subject("aging", "emea", "2025-Q4", subject, sizeof subject) == ERR_OK);
    CHECK(strstr(f.last, "Subject: =?UTF-8?B?a3BpZCBhZ2luZyByZXBvcnQg4oCUIGVtZWEg4oCUIDIw?=\r\n"
                         " =?UTF-8?B?MjUtUTQ=?=\r\n") != NULL);
    rpt_mailq_free(q);
    fclose(log);
    CHECK_MSG(strstr(logbuf, "kpid: mail: attempt 1 of 5 to send aging-emea-") != NULL, "%s",
              logbuf);
    CHECK(strstr(logbuf, "fake: refused with 451; retrying at 1970-01-01T00:16:45Z") != NULL);
    CHECK(strstr(logbuf, "kpid: mail: sent aging-emea-2025-10-01-2025-12-31-20251203T134335Z.pdf "
                         "to ops@example.com, cfo@example.com") != NULL);
    free(logbuf);
    CHECK(access(path, F_OK) == 0); /* the PDF stays */
    unlink(path);
}

static void test_queue_give_up(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/sla-all-2025-11-01-2025-11-30-20251201T060000Z.pdf", dir_);
    write_pdf(path);
    char *logbuf = NULL;
    size_t logsz = 0;
    FILE *log = open_memstream(&logbuf, &logsz);
    /* max_attempts 3: three failures, then it is given up */
    fake_t f = {.fail_codes = {421, 421, 421, 421}, .n_fail = 4};
    rpt_mailq_t *q = new_queue(&f, 3, log);
    submit(q, path);
    int64_t next = 0;
    rpt_mailq_run(q, 0, &next);
    CHECK_INT(5, next);
    rpt_mailq_run(q, 5, &next);
    CHECK_INT(15, next);
    rpt_mailq_run(q, 15, &next);
    CHECK_INT(INT64_MAX, next);
    CHECK_INT(3, f.calls);
    rpt_mailq_stats_t st;
    rpt_mailq_stats(q, &st);
    CHECK_INT(0, st.sent);
    CHECK_INT(1, st.failed);
    CHECK_INT(2, st.retries);
    CHECK_INT(0, st.pending);

    /* a 5xx refusal is final at once */
    f = (fake_t){.fail_codes = {550}, .n_fail = 1};
    submit(q, path);
    rpt_mailq_run(q, 100, &next);
    CHECK_INT(1, f.calls);
    CHECK_INT(INT64_MAX, next);
    rpt_mailq_stats(q, &st);
    CHECK_INT(2, st.failed);
    CHECK_INT(2, st.retries);

    /* a PDF that is gone (pruned by keep) is not retried */
    unlink(path);
    f = (fake_t){0};
    submit(q, path);
    rpt_mailq_run(q, 200, &next);
    CHECK_INT(0, f.calls);
    rpt_mailq_stats(q, &st);
    CHECK_INT(3, st.failed);
    CHECK_INT(0, st.pending);

    /* stopping with a delivery pending logs it and its PDF */
    write_pdf(path);
    f = (fake_t){.fail_codes = {451}, .n_fail = 1};
    submit(q, path);
    rpt_mailq_run(q, 300, &next);
    rpt_mailq_free(q);
    fclose(log);
    CHECK_MSG(strstr(logbuf, "giving up sla-all-2025-11-01-2025-11-30-20251201T060000Z.pdf to "
                             "ops@example.com, cfo@example.com after 3 attempts: fake: refused "
                             "with 421 (the report stays in ") != NULL,
              "%s", logbuf);
    CHECK(strstr(logbuf, "after 1 attempt: fake: refused with 550") != NULL);
    CHECK(strstr(logbuf, "No such file or directory") != NULL);
    CHECK(strstr(logbuf, "stopping: not sent to ops@example.com, cfo@example.com after 1 attempt; "
                         "the report stays in ") != NULL);
    free(logbuf);
    unlink(path);
}

static void test_queue_refuses(void)
{
    fake_t f = {0};
    rpt_mailq_t *q = new_queue(&f, 0, NULL);
    err_msg_t msg = {{0}};
    const char *bad[] = {"ops@example.com\r\nBcc: x@y"};
    const char *good[RPT_MAIL_TO_MAX + 1];
    for (size_t i = 0; i < RPT_MAIL_TO_MAX + 1; i++)
        good[i] = "ops@example.com";
    rpt_mail_item_t it = {.pdf_path = "/nonexistent/r.pdf", .kind = "sla", .to = bad, .n_to = 1};
    CHECK_ERR(ERR_BAD_PARAM, rpt_mailq_submit(q, &it, &msg));
    CHECK(strstr(msg.text, "is not an e-mail address") != NULL);
    it.to = good;
    it.n_to = 0;
    CHECK_ERR(ERR_BAD_PARAM, rpt_mailq_submit(q, &it, &msg));
    it.n_to = RPT_MAIL_TO_MAX + 1;
    CHECK_ERR(ERR_BAD_PARAM, rpt_mailq_submit(q, &it, &msg));
    CHECK(strstr(msg.text, "1 to 16 addresses") != NULL);
    it.n_to = 1;
    it.unit = "emea\nBcc: x@y";
    CHECK_ERR(ERR_BAD_PARAM, rpt_mailq_submit(q, &it, &msg));
    CHECK(strstr(msg.text, "control character") != NULL);
    it.unit = NULL;
    /* the queue holds RPT_MAIL_QUEUE_MAX deliveries */
    for (int i = 0; i < RPT_MAIL_QUEUE_MAX; i++)
        REQUIRE(rpt_mailq_submit(q, &it, NULL) == ERR_OK);
    CHECK_ERR(ERR_BUSY, rpt_mailq_submit(q, &it, &msg));
    rpt_mailq_stats_t st;
    rpt_mailq_stats(q, &st);
    CHECK_INT(RPT_MAIL_QUEUE_MAX, st.pending);
    rpt_mailq_free(q);

    /* options */
    rpt_mail_conf_t c = {.url = "", .from = "kpid@example.com"};
    rpt_mailq_opts_t o = {.conf = &c};
    CHECK_ERR(ERR_BAD_PARAM, rpt_mailq_new(&o, &q, &msg));
    CHECK(q == NULL);
    snprintf(c.url, sizeof c.url, "smtp://127.0.0.1:25");
    snprintf(c.from, sizeof c.from, "not an address");
    CHECK_ERR(ERR_BAD_PARAM, rpt_mailq_new(&o, &q, &msg));
    CHECK(strstr(msg.text, "sender") != NULL);
    rpt_mailq_free(NULL);
}

/* The thread delivers what is submitted, without being driven. */
static void test_queue_thread(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ftq-all-2025-11-01-2025-11-30-20251201T060000Z.pdf", dir_);
    write_pdf(path);
    fake_t f = {0};
    rpt_mailq_t *q = new_queue(&f, 0, NULL);
    CHECK_ERR(ERR_OK, rpt_mailq_start(q, NULL));
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_INTERNAL, rpt_mailq_start(q, &msg));
    submit(q, path);
    rpt_mailq_stats_t st = {0};
    for (int i = 0; i < 2000 && st.sent == 0; i++) {
        usleep(5000);
        rpt_mailq_stats(q, &st);
    }
    CHECK_INT(1, st.sent);
    CHECK_INT(0, st.pending);
    rpt_mailq_free(q);
    unlink(path);
}

/* Nobody listens on the port: the send fails with libcurl's reason. */
static void test_smtp_refused(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    REQUIRE(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t al = sizeof a;
    REQUIRE(getsockname(s, (struct sockaddr *)&a, &al) == 0);
    close(s); /* the port is free again, and nothing listens on it */
    rpt_mail_conf_t c = {.from = "kpid@example.com", .timeout_s = 5};
    snprintf(c.url, sizeof c.url, "smtp://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    const char *to[] = {"ops@example.com"};
    err_msg_t msg = {{0}};
    int code = -1;
    CHECK_ERR(ERR_IO, rpt_smtp_send(&c, c.from, to, 1, "Subject: x\r\n\r\nx\r\n", 16, &code, &msg));
    CHECK_INT(0, code);
    CHECK_MSG(strstr(msg.text, "SMTP smtp://127.0.0.1:") != NULL, "%s", msg.text);
    CHECK_MSG(strstr(msg.text, "onnect") != NULL, "%s", msg.text);
    /* not an SMTP url at all */
    snprintf(c.url, sizeof c.url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    CHECK_ERR(ERR_IO, rpt_smtp_send(&c, c.from, to, 1, "x", 1, NULL, &msg));
}

int main(void)
{
    snprintf(dir_, sizeof dir_, "/tmp/kpid-test-mail-XXXXXX");
    REQUIRE(mkdtemp(dir_) != NULL);
    RUN(test_addr);
    RUN(test_period_label);
    RUN(test_subject);
    RUN(test_build);
    RUN(test_attachment_type);
    RUN(test_build_refuses);
    RUN(test_backoff);
    RUN(test_queue_retry);
    RUN(test_queue_give_up);
    RUN(test_queue_refuses);
    RUN(test_queue_thread);
    RUN(test_smtp_refused);
    rmdir(dir_);
    return test_summary();
}
