/*
 * err.c — names and messages of err_t.
 *
 * The switches have no `default`: with -Wall -Werror (-Wswitch) a new code
 * that is not named here breaks the build instead of printing "unknown".
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *err_code(err_t e)
{
    switch (e) {
    case ERR_OK: return "ok";
    case ERR_PARSE: return "parse_error";
    case ERR_MISSING_FIELD: return "missing_field";
    case ERR_BAD_TYPE: return "bad_type";
    case ERR_UNKNOWN_TYPE: return "unknown_type";
    case ERR_BAD_VALUE: return "bad_value";
    case ERR_BAD_DATE: return "bad_date";
    case ERR_BAD_AMOUNT: return "bad_amount";
    case ERR_TOO_MANY_DECIMALS: return "too_many_decimals";
    case ERR_BAD_CURRENCY: return "bad_currency";
    case ERR_OVERFLOW: return "overflow";
    case ERR_BAD_PARAM: return "bad_parameter";
    case ERR_CONFLICT: return "conflict";
    case ERR_DOC_CONFLICT: return "document_conflict";
    case ERR_OVER_APPLIED: return "over_applied";
    case ERR_UNKNOWN_DOC: return "unknown_document";
    case ERR_CURRENCY_MISMATCH: return "currency_mismatch";
    case ERR_UNIT_MISMATCH: return "unit_mismatch";
    case ERR_NO_RATE: return "no_rate";
    case ERR_NOT_FOUND: return "not_found";
    case ERR_TOO_LARGE: return "too_large";
    case ERR_UNAUTHORIZED: return "unauthorized";
    case ERR_FORBIDDEN: return "forbidden";
    case ERR_NOMEM: return "out_of_memory";
    case ERR_IO: return "io_error";
    case ERR_STORE_VERSION: return "store_version";
    case ERR_STORE_CORRUPT: return "store_corrupt";
    case ERR_STORE_LOCKED: return "store_locked";
    case ERR_READONLY: return "read_only";
    case ERR_DISK_FULL: return "disk_full";
    case ERR_TZ: return "bad_time_zone";
    case ERR_CONFIG: return "bad_config";
    case ERR_BUSY: return "busy";
    case ERR_INTERNAL: return "internal_error";
    }
    return "internal_error"; /* not reached for valid enum values */
}

const char *err_str(err_t e)
{
    switch (e) {
    case ERR_OK: return "success";
    case ERR_PARSE: return "malformed input";
    case ERR_MISSING_FIELD: return "required field is missing";
    case ERR_BAD_TYPE: return "field has the wrong type";
    case ERR_UNKNOWN_TYPE: return "unknown event type";
    case ERR_BAD_VALUE: return "field value is not allowed";
    case ERR_BAD_DATE: return "not a valid RFC 3339 time or YYYY-MM-DD date";
    case ERR_BAD_AMOUNT: return "not a valid amount";
    case ERR_TOO_MANY_DECIMALS: return "amount has more decimals than the currency allows";
    case ERR_BAD_CURRENCY: return "unknown currency code";
    case ERR_OVERFLOW: return "amount out of range";
    case ERR_BAD_PARAM: return "invalid parameter";
    case ERR_CONFLICT: return "event id already used with other content";
    case ERR_DOC_CONFLICT: return "document number already used by another event";
    case ERR_OVER_APPLIED: return "more applied than the payment received";
    case ERR_UNKNOWN_DOC: return "reference to an unknown document";
    case ERR_CURRENCY_MISMATCH: return "currency differs from the document's";
    case ERR_UNIT_MISMATCH: return "business unit differs from the document's";
    case ERR_NO_RATE: return "no usable exchange rate";
    case ERR_NOT_FOUND: return "not found";
    case ERR_TOO_LARGE: return "too large";
    case ERR_UNAUTHORIZED: return "a valid API key is required";
    case ERR_FORBIDDEN: return "not allowed for this API key";
    case ERR_NOMEM: return "out of memory";
    case ERR_IO: return "input/output error";
    case ERR_STORE_VERSION: return "store has another format version";
    case ERR_STORE_CORRUPT: return "store is damaged";
    case ERR_STORE_LOCKED: return "store is in use by another process";
    case ERR_READONLY: return "store is read-only";
    case ERR_DISK_FULL: return "no space left on device";
    case ERR_TZ: return "unknown time zone";
    case ERR_CONFIG: return "invalid configuration";
    case ERR_BUSY: return "server busy, try again later";
    case ERR_INTERNAL: return "internal error";
    }
    return "internal error";
}

err_t err_set(err_msg_t *msg, err_t e, const char *fmt, ...)
{
    if (msg == NULL)
        return e;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg->text, sizeof msg->text, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg->text[0] = '\0';
    /* One line: keep log lines and JSON messages single-line. */
    for (char *p = msg->text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return e;
}

const char *err_msg_or(const err_msg_t *msg, err_t e)
{
    if (msg != NULL && msg->text[0] != '\0')
        return msg->text;
    return err_str(e);
}
