/*
 * coll_fastjson.c — a fast reader for the common shape of an event: one flat
 * JSON object whose values are plain ASCII strings without escapes, small
 * integers, true, false or null.
 *
 * Why: json_loadb spends tens of thousands of instructions on a 200-byte
 * event (a stream reader per byte, a string buffer per token), which made
 * parsing the bound of bulk ingest. This reader scans the bytes once and
 * builds the same Jansson object.
 *
 * What must stay true: for every input it accepts, the object equals what
 * json_loadb(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL)
 * gives; anything else (escapes, non-ASCII, nesting, reals, big integers,
 * duplicate keys, any syntax error) makes it return NULL, and the caller
 * asks Jansson, whose messages users see. It never reports errors itself.
 */
#include "coll_int.h"

#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A string body from p (after the quote) to the closing quote: plain
   printable ASCII only. Returns the closing quote, or NULL to give up. */
static const char *plain_string(const char *p, const char *end)
{
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p;
        if (c == '\\' || c < 0x20 || c >= 0x80)
            return NULL;
    }
    return NULL;
}

static json_t *scalar(const char **pp, const char *end)
{
    const char *p = *pp;
    if (p >= end)
        return NULL;
    if (*p == '"') {
        const char *q = plain_string(p + 1, end);
        if (q == NULL)
            return NULL;
        *pp = q + 1;
        return json_stringn_nocheck(p + 1, (size_t)(q - p - 1));
    }
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        const char *q = p;
        bool neg = *q == '-';
        if (neg)
            q++;
        const char *digits = q;
        long long v = 0;
        /* Stop accumulating after 18 digits so v can never overflow;
         * a longer run is counted and handed to Jansson below. */
        while (q < end && *q >= '0' && *q <= '9') {
            if (q - digits < 18)
                v = v * 10 + (*q - '0');
            q++;
        }
        size_t nd = (size_t)(q - digits);
        /* Leave reals, exponents, leading zeros and long numbers to Jansson. */
        if (nd == 0 || nd > 18 || (nd > 1 && digits[0] == '0'))
            return NULL;
        if (q < end && (*q == '.' || *q == 'e' || *q == 'E'))
            return NULL;
        *pp = q;
        return json_integer(neg ? -v : v);
    }
    size_t left = (size_t)(end - p);
    if (left >= 4 && memcmp(p, "true", 4) == 0) {
        *pp = p + 4;
        return json_true();
    }
    if (left >= 5 && memcmp(p, "false", 5) == 0) {
        *pp = p + 5;
        return json_false();
    }
    if (left >= 4 && memcmp(p, "null", 4) == 0) {
        *pp = p + 4;
        return json_null();
    }
    return NULL;
}

json_t *coll_fast_object(const char *data, size_t len)
{
    if (data == NULL) /* an empty item: Jansson names the error */
        return NULL;
    const char *p = data, *end = data + len;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p = skip_ws(p + 1, end);
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    char key[256];
    if (p < end && *p == '}') {
        p++;
        goto done;
    }
    for (;;) {
        if (p >= end || *p != '"')
            goto fail;
        const char *q = plain_string(p + 1, end);
        size_t klen = q ? (size_t)(q - p - 1) : 0;
        if (q == NULL || klen >= sizeof key)
            goto fail;
        memcpy(key, p + 1, klen);
        key[klen] = '\0';
        p = skip_ws(q + 1, end);
        if (p >= end || *p != ':')
            goto fail;
        p = skip_ws(p + 1, end);
        json_t *v = scalar(&p, end);
        if (v == NULL)
            goto fail;
        if (json_object_get(obj, key) != NULL || json_object_set_new_nocheck(obj, key, v) != 0) {
            json_decref(v);
            goto fail;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        goto fail;
    }
done:
    if (skip_ws(p, end) != end)
        goto fail;
    return obj;
fail:
    json_decref(obj);
    return NULL;
}
