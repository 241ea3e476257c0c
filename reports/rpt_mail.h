/*
 * rpt_mail.h — reports by e-mail (issue 12, item 3): the message, the SMTP
 * send, and the delivery queue with retries.
 *
 * Three parts, each in its own file:
 *   - rpt_mime.c: pure functions. The subject ("kpid aging report — emea —
 *     2025-Q4"), the period label, address checks, and the whole RFC 5322
 *     message: multipart/mixed with a text part and the PDF as a base64
 *     attachment (lines of 76 characters), Date and Message-ID headers, the
 *     subject as RFC 2047 encoded words. A CR, LF or other control byte in
 *     an address, the sender or a subject part is refused, so no header can
 *     be injected.
 *   - rpt_smtp.c: one message to an SMTP server with libcurl (smtp:// with
 *     optional STARTTLS, or smtps://; optional user and password).
 *   - rpt_mailq.c: the delivery queue. Reports are queued by file path (the
 *     PDF stays in its reports directory whatever happens to the mail); a
 *     thread sends them; a failed attempt is logged and retried after
 *     retry_s, 2 * retry_s, 4 * retry_s ... (at most retry_max_s), up to
 *     max_attempts attempts, except that a permanent SMTP refusal (5xx) is
 *     not retried. The queue lives in memory: deliveries still pending when
 *     the server stops are logged with their PDF's path and dropped.
 *
 * Nothing here reads the clock except the queue's thread (injected clock).
 */
#ifndef KPID_RPT_MAIL_H
#define KPID_RPT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define RPT_MAIL_ADDR_MAX 256 /* an address buffer: at most 254 bytes + NUL */
#define RPT_MAIL_TO_MAX 16    /* recipients of one report */
#define RPT_MAIL_URL_MAX 512
#define RPT_MAIL_SECRET_MAX 256 /* user name, password */
#define RPT_MAIL_QUEUE_MAX 1000 /* deliveries pending at once */

/* ---- the message (rpt_mime.c) --------------------------------------------- */

/*
 * A mailbox as kpid accepts it: "local@domain", 3 to 254 bytes of printable
 * ASCII with exactly one '@' (not first, not last) and none of: space, CR,
 * LF, other control bytes, < > ( ) [ ] , ; : \ ".
 */
bool rpt_mail_addr_ok(const char *addr);

/*
 * The period [from_day, to_day] as people write it: "2025-11" (a whole
 * month), "2025-Q4", "2025" (a year), "2025-W47" (an ISO week), "2025-11-03"
 * (one day), else "2025-01-01..2025-03-15". buf holds RPT_MAIL_PERIOD_BUF.
 */
#define RPT_MAIL_PERIOD_BUF 32
const char *rpt_mail_period_label(int32_t from_day, int32_t to_day, char buf[RPT_MAIL_PERIOD_BUF]);

/*
 * "kpid <kind> report — <unit> — <period>" (unit NULL or "": "whole book"),
 * UTF-8, into buf (cap bytes). ERR_BAD_PARAM when a part holds a control
 * byte (CR, LF ...); ERR_TOO_LARGE when it does not fit.
 */
err_t rpt_mail_subject(const char *kind, const char *unit, const char *period, char *buf,
                       size_t cap) KPID_MUST_USE;

/* The media type of an attachment named `file_name`: the XLSX type for a
   name ending in ".xlsx" (the xlsx report kind), application/pdf for any
   other. A static string. */
const char *rpt_mail_content_type(const char *file_name);

/* What one message says. Every string is borrowed. */
typedef struct rpt_mail_msg {
    const char *from;          /* sender address */
    const char *const *to;     /* recipients */
    size_t n_to;               /* 1..RPT_MAIL_TO_MAX */
    const char *subject;       /* UTF-8, no control bytes */
    const char *text;          /* the text part (UTF-8; "\n" line ends become CRLF) */
    int64_t date_s;            /* the Date header, UTC seconds */
    const char *message_id;    /* "left@right", without the angle brackets */
    const char *file_name;     /* the attachment's name: [A-Za-z0-9._-]+ */
    const unsigned char *data; /* the attachment (a PDF, or an XLSX workbook) */
    size_t len;
} rpt_mail_msg_t;

/*
 * The whole message (headers and body, CRLF line ends) in a malloc'd
 * buffer (*out, *out_len; NUL-terminated too). ERR_BAD_PARAM with a message
 * for a bad address, a control byte in the subject or message id, a bad
 * file name or no recipients; ERR_NOMEM.
 */
err_t rpt_mail_build(const rpt_mail_msg_t *m, char **out, size_t *out_len,
                     err_msg_t *msg) KPID_MUST_USE;

/* ---- SMTP (rpt_smtp.c) ---------------------------------------------------- */

typedef enum rpt_mail_tls {
    RPT_MAIL_TLS_TRY = 0, /* STARTTLS when the server offers it (smtp://) */
    RPT_MAIL_TLS_REQUIRE, /* STARTTLS or fail (smtp://); smtps:// is TLS from the start */
    RPT_MAIL_TLS_OFF      /* never STARTTLS */
} rpt_mail_tls_t;

/* The "smtp" config block. Plain data. */
typedef struct rpt_mail_conf {
    char url[RPT_MAIL_URL_MAX];     /* smtp://host:port or smtps://host:port */
    char from[RPT_MAIL_ADDR_MAX];   /* sender address */
    char user[RPT_MAIL_SECRET_MAX]; /* "" = no authentication */
    char password[RPT_MAIL_SECRET_MAX];
    rpt_mail_tls_t starttls;
    uint32_t timeout_s;    /* one attempt; 0 = 60 */
    uint32_t retry_s;      /* the first retry's delay; 0 = 60 */
    uint32_t retry_max_s;  /* the longest delay; 0 = 3600 */
    uint32_t max_attempts; /* attempts per message, first included; 0 = 8 */
} rpt_mail_conf_t;

/*
 * Send `data` (a whole message) from `from` to `to` through the server of
 * `c`. *smtp_code (may be NULL) receives the server's last reply code (0
 * when there was none, e.g. connection refused). ERR_IO with libcurl's
 * reason (and the reply code) when the message was not accepted.
 */
err_t rpt_smtp_send(const rpt_mail_conf_t *c, const char *from, const char *const *to, size_t n_to,
                    const char *data, size_t len, int *smtp_code, err_msg_t *msg) KPID_MUST_USE;

/* ---- the delivery queue (rpt_mailq.c) ------------------------------------- */

/* How the queue sends (rpt_smtp_send's shape; tests pass a fake). */
typedef err_t (*rpt_mail_send_fn)(void *ctx, const rpt_mail_conf_t *c, const char *from,
                                  const char *const *to, size_t n_to, const char *data, size_t len,
                                  int *smtp_code, err_msg_t *msg);

typedef int64_t (*rpt_mail_clock_fn)(void *ctx);

typedef struct rpt_mailq_opts {
    const rpt_mail_conf_t *conf; /* copied; defaults applied */
    rpt_mail_send_fn send;       /* NULL = rpt_smtp_send */
    void *send_ctx;
    rpt_mail_clock_fn now_s; /* UTC seconds; NULL = the wall clock */
    void *clock_ctx;
    const char *host; /* the Message-ID's right part; NULL = gethostname() */
    FILE *log;        /* one line per attempt that failed, per message sent; may be NULL */
} rpt_mailq_opts_t;

/* One report to deliver. Copied by rpt_mailq_submit. */
typedef struct rpt_mail_item {
    const char *pdf_path; /* the report's file (read at each attempt) */
    const char *kind;     /* "aging", ... */
    const char *unit;     /* NULL or "" = the whole book */
    int32_t from_day, to_day;
    int64_t generated_s;
    const char *const *to; /* 1..RPT_MAIL_TO_MAX addresses */
    size_t n_to;
} rpt_mail_item_t;

typedef struct rpt_mailq_stats {
    uint64_t sent;    /* messages the server accepted */
    uint64_t failed;  /* messages given up (max_attempts reached, a 5xx refusal, PDF gone) */
    uint64_t retries; /* failed attempts followed by another attempt */
    uint64_t pending; /* messages waiting now (a gauge) */
} rpt_mailq_stats_t;

typedef struct rpt_mailq rpt_mailq_t;

/* A queue for conf. ERR_BAD_PARAM for a bad sender address or an empty url. */
err_t rpt_mailq_new(const rpt_mailq_opts_t *opts, rpt_mailq_t **out, err_msg_t *msg) KPID_MUST_USE;

/*
 * Queue one report for delivery, first attempt as soon as possible (the
 * thread is woken). ERR_BAD_PARAM (a bad address, no or too many
 * recipients, a control byte in the kind or unit, a path too long);
 * ERR_BUSY when RPT_MAIL_QUEUE_MAX messages are pending. Thread-safe.
 */
err_t rpt_mailq_submit(rpt_mailq_t *q, const rpt_mail_item_t *it, err_msg_t *msg) KPID_MUST_USE;

/*
 * Attempt every delivery due at now_s, on the calling thread; *next_s (may
 * be NULL) receives the earliest later attempt (INT64_MAX when none is
 * pending). Must not be called while the thread runs.
 */
void rpt_mailq_run(rpt_mailq_t *q, int64_t now_s, int64_t *next_s);

/* The delay before attempt n + 1 after n failed attempts: retry_s * 2^(n-1), at most
   retry_max_s. */
int64_t rpt_mailq_backoff(const rpt_mail_conf_t *c, uint32_t failed_attempts);

/* Start the delivery thread. ERR_INTERNAL when it runs already or cannot be created. */
err_t rpt_mailq_start(rpt_mailq_t *q, err_msg_t *msg) KPID_MUST_USE;

void rpt_mailq_stats(rpt_mailq_t *q, rpt_mailq_stats_t *out);

/* Stop the thread (a message being sent finishes), log every delivery still
   pending with its PDF's path, and free. NULL is a no-op. */
void rpt_mailq_free(rpt_mailq_t *q);

#endif
