/*
 * err.h — the one error type of kpid.
 *
 * Every fallible function returns err_t and passes results through
 * out-parameters. ERR_OK is 0 so `if (e)` reads as "failed".
 *
 * Each code has a stable machine name (err_code(): what the HTTP API puts in
 * {"error":{"code":...}} and in per-item ingest errors) and a human message
 * (err_str()). Both are switches without `default`, so adding a code without
 * naming it fails the -Werror build.
 *
 * Detail for the user goes into an optional caller-supplied err_msg_t: one
 * line, no newline. There is no global "last error".
 */
#ifndef KPID_ERR_H
#define KPID_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define KPID_MUST_USE __attribute__((warn_unused_result))
#define KPID_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define KPID_MUST_USE
#define KPID_PRINTF(f, a)
#endif

typedef enum err {
    ERR_OK = 0,
    /* input: one event or one parameter is wrong */
    ERR_PARSE,             /* malformed JSON / CSV / NDJSON syntax */
    ERR_MISSING_FIELD,     /* a required field is absent */
    ERR_BAD_TYPE,          /* a field has the wrong JSON type */
    ERR_UNKNOWN_TYPE,      /* `type` is not an event type of docs/events.md */
    ERR_BAD_VALUE,         /* a field's value is outside its domain */
    ERR_BAD_DATE,          /* not an RFC 3339 time or YYYY-MM-DD date */
    ERR_BAD_AMOUNT,        /* not a decimal amount, or sign not allowed here */
    ERR_TOO_MANY_DECIMALS, /* more fraction digits than the currency has */
    ERR_BAD_CURRENCY,      /* not an ISO 4217 code we know */
    ERR_OVERFLOW,          /* an amount or sum leaves int64 minor units */
    ERR_BAD_PARAM,         /* an HTTP query or command-line parameter */
    /* input against what is stored */
    ERR_CONFLICT,          /* same event id, other content */
    ERR_DOC_CONFLICT,      /* document number already created by another event */
    ERR_OVER_APPLIED,      /* more applied/refunded than the payment received */
    ERR_UNKNOWN_DOC,       /* reference to a document not (yet) known */
    ERR_CURRENCY_MISMATCH, /* movement in another currency than its document */
    ERR_UNIT_MISMATCH,     /* movement naming another business unit than its document */
    ERR_NOT_FOUND,         /* the thing asked for does not exist */
    ERR_NO_RATE,           /* no exchange rate (or only a stale one) to convert a book */
    ERR_TOO_LARGE,         /* a body, batch, field or buffer exceeds its cap */
    /* access */
    ERR_UNAUTHORIZED, /* no valid API key was presented */
    ERR_FORBIDDEN,    /* the key's role or business units do not allow this */
    /* environment */
    ERR_NOMEM,
    ERR_IO,            /* a file or socket operation failed */
    ERR_STORE_VERSION, /* the store was written by another format version */
    ERR_STORE_CORRUPT, /* the store's files are damaged */
    ERR_STORE_LOCKED,  /* another process holds the store */
    ERR_READONLY,      /* the store or its directory cannot be written */
    ERR_DISK_FULL,     /* no space left for the store to grow */
    ERR_TZ,            /* unknown or unreadable time zone */
    ERR_CONFIG,        /* the configuration file is wrong */
    ERR_BUSY,          /* overloaded; try again later */
    ERR_INTERNAL       /* a bug: an invariant did not hold */
} err_t;

/* Stable machine name, e.g. "missing_field". Never NULL. */
const char *err_code(err_t e);

/* Short human message, e.g. "required field is missing". Never NULL. */
const char *err_str(err_t e);

/* Caller-supplied detail buffer. `text` is always NUL-terminated. */
#define ERR_MSG_CAP 320
typedef struct err_msg {
    char text[ERR_MSG_CAP];
} err_msg_t;

/*
 * Write a one-line detail into msg (no-op when msg is NULL) and return e, so
 * callers can write `return err_set(msg, ERR_IO, "open %s: %s", p, why);`.
 * Output longer than the buffer is truncated; newlines are replaced by spaces.
 */
err_t err_set(err_msg_t *msg, err_t e, const char *fmt, ...) KPID_PRINTF(3, 4);

/* The detail if one was set, otherwise err_str(e). */
const char *err_msg_or(const err_msg_t *msg, err_t e);

#endif
