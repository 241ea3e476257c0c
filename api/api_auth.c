/*
 * api_auth.c — API keys (making, hashing, checking, their JSON form) and the
 * per-request authorization every route goes through.
 *
 * Invariants:
 *   - the key text never leaves api_key_new's caller and is never stored or
 *     logged; only salt and hash are kept;
 *   - a request is authorized exactly once, at routing time, before any
 *     body byte is read (api_auth_check); handlers only narrow by business
 *     unit (api_auth_unit, api_auth_unit_allowed);
 *   - with no keys configured every request acts as an unscoped admin: the
 *     server then only listens on loopback (api_server.c enforces it).
 */
#include "api_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "api_int.h"
#include "kpi_date.h"
#include "kpi_event.h"

#define HASH_TAG "blake2b-256:"

err_t api_auth_init(err_msg_t *msg)
{
    /* 0 = initialised now, 1 = already; -1 = no entropy source. */
    if (sodium_init() < 0)
        return err_set(msg, ERR_INTERNAL, "libsodium could not be initialised");
    return ERR_OK;
}

const char *api_role_name(api_role_t r)
{
    switch (r) {
    case API_ROLE_ADMIN: return "admin";
    case API_ROLE_READ: return "read";
    case API_ROLE_INGEST: return "ingest";
    case API_ROLE_OPEN: return "open";
    }
    return "admin";
}

err_t api_role_parse(const char *s, api_role_t *out)
{
    static const api_role_t roles[] = {API_ROLE_ADMIN, API_ROLE_READ, API_ROLE_INGEST};
    for (size_t i = 0; s != NULL && i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(s, api_role_name(roles[i])) == 0) {
            *out = roles[i];
            return ERR_OK;
        }
    }
    return ERR_BAD_PARAM;
}

bool api_role_allows(api_role_t have, api_role_t need)
{
    return need == API_ROLE_OPEN || have == API_ROLE_ADMIN || have == need;
}

const char *api_key_unit(const api_key_t *k, size_t i)
{
    return k->units + k->unit_off[i];
}

bool api_key_unit_allowed(const api_key_t *k, const char *unit)
{
    if (k->n_units == 0)
        return true;
    for (size_t i = 0; unit != NULL && i < k->n_units; i++)
        if (strcmp(api_key_unit(k, i), unit) == 0)
            return true;
    return false;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > API_KEY_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Copy the units into k; ERR_BAD_PARAM with a message. */
static err_t set_units(api_key_t *k, const char *const *units, size_t n, err_msg_t *msg)
{
    if (n > API_KEY_UNITS_MAX)
        return err_set(msg, ERR_BAD_PARAM, "a key may name at most %d business units",
                       API_KEY_UNITS_MAX);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(units[i]);
        if (len == 0 || len > KPI_NAME_MAX)
            return err_set(msg, ERR_BAD_PARAM, "business unit %zu must be 1 to %d bytes", i + 1,
                           KPI_NAME_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(api_key_unit(k, j), units[i]) == 0)
                return err_set(msg, ERR_BAD_PARAM, "business unit '%s' is named twice", units[i]);
        if (len + 1 > sizeof k->units - off)
            return err_set(msg, ERR_BAD_PARAM,
                           "the business units' names are longer than %d bytes together",
                           API_KEY_UNITS_BUF);
        k->unit_off[i] = (uint16_t)off;
        memcpy(k->units + off, units[i], len + 1);
        off += len + 1;
        k->n_units = i + 1;
    }
    return ERR_OK;
}

void api_key_hash(const char *text, size_t len, const uint8_t salt[API_KEY_SALT_BYTES],
                  uint8_t out[API_KEY_HASH_BYTES])
{
    /* Keyed BLAKE2b: the salt is the key, so equal key texts under two
       salts give unrelated hashes and no table can be precomputed. */
    (void)crypto_generichash(out, API_KEY_HASH_BYTES, (const unsigned char *)text, len, salt,
                             API_KEY_SALT_BYTES);
}

err_t api_key_new(const char *name, api_role_t role, const char *const *units, size_t n_units,
                  int64_t created_s, api_key_t *out, char *text_out, err_msg_t *msg)
{
    memset(out, 0, sizeof *out);
    text_out[0] = '\0';
    if (!name_ok(name))
        return err_set(msg, ERR_BAD_PARAM,
                       "key name '%s' must be 1 to %d characters of A-Z a-z 0-9 . _ -", name,
                       API_KEY_NAME_MAX);
    if (role == API_ROLE_OPEN)
        return err_set(msg, ERR_BAD_PARAM, "a key's role is admin, read or ingest");
    err_t e = set_units(out, units, n_units, msg);
    if (e)
        return e;
    err_t ie = api_auth_init(msg);
    if (ie)
        return ie;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->role = role;
    out->created_s = created_s;
    uint8_t raw[API_KEY_RANDOM_BYTES];
    randombytes_buf(raw, sizeof raw);
    randombytes_buf(out->salt, sizeof out->salt);
    size_t plen = strlen(API_KEY_PREFIX);
    memcpy(text_out, API_KEY_PREFIX, plen);
    (void)sodium_bin2base64(text_out + plen, API_KEY_TEXT_BUF - plen, raw, sizeof raw,
                            sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    api_key_hash(text_out, strlen(text_out), out->salt, out->hash);
    return ERR_OK;
}

bool api_key_verify(const api_key_t *k, const char *text, size_t len)
{
    uint8_t h[API_KEY_HASH_BYTES];
    api_key_hash(text, len, k->salt, h);
    return sodium_memcmp(h, k->hash, sizeof h) == 0;
}

const api_key_t *api_key_find(const api_key_t *keys, size_t n, const char *text, size_t len)
{
    const api_key_t *found = NULL;
    /* Every key kpid makes has this length (the format is public): anything
       else is refused before hashing, so a 200 KiB "key" cannot make the
       server hash 200 KiB once per configured key. */
    if (len != API_KEY_TEXT_LEN)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bool ok = api_key_verify(&keys[i], text, len);
        /* No early exit: every key costs the same whether or not it matched. */
        if (ok && found == NULL)
            found = &keys[i];
    }
    return found;
}

/* ---- JSON form --------------------------------------------------------- */

json_t *api_key_to_json(const api_key_t *k)
{
    char salt[2 * API_KEY_SALT_BYTES + 1], hash[sizeof HASH_TAG + 2 * API_KEY_HASH_BYTES];
    char created[KPI_TIME_BUF];
    (void)sodium_bin2hex(salt, sizeof salt, k->salt, sizeof k->salt);
    memcpy(hash, HASH_TAG, sizeof HASH_TAG - 1);
    (void)sodium_bin2hex(hash + sizeof HASH_TAG - 1, sizeof hash - (sizeof HASH_TAG - 1), k->hash,
                         sizeof k->hash);
    json_t *units = json_array();
    for (size_t i = 0; units != NULL && i < k->n_units; i++)
        if (json_array_append_new(units, json_string(api_key_unit(k, i))) != 0) {
            json_decref(units);
            return NULL;
        }
    if (units == NULL)
        return NULL;
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:s}", "name", k->name, "role", api_role_name(k->role),
                     "business_units", units, "created", kpi_time_format_utc(k->created_s, created),
                     "salt", salt, "hash", hash);
}

static err_t hex_field(const json_t *j, const char *field, const char *tag, uint8_t *out, size_t n,
                       size_t index, err_msg_t *msg)
{
    const char *s = json_string_value(json_object_get(j, field));
    size_t tl = strlen(tag);
    size_t got = 0;
    if (s == NULL || strncmp(s, tag, tl) != 0 || strlen(s + tl) != 2 * n ||
        sodium_hex2bin(out, n, s + tl, 2 * n, NULL, &got, NULL) != 0 || got != n)
        return err_set(msg, ERR_CONFIG,
                       "config 'api_keys' item %zu: '%s' must be %s%zu hex digits (as written "
                       "by 'kpid key add')",
                       index, field, tag, 2 * n);
    return ERR_OK;
}

err_t api_key_from_json(const json_t *j, size_t index, api_key_t *out, err_msg_t *msg)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j))
        return err_set(msg, ERR_CONFIG, "config 'api_keys' item %zu must be an object", index);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
        static const char *const known[] = {"name",    "role", "business_units",
                                            "created", "salt", "hash"};
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(key, known[k]) != 0)
            k++;
        if (k == sizeof known / sizeof known[0])
            return err_set(msg, ERR_CONFIG,
                           "config 'api_keys' item %zu: unknown key '%s' (known: name, role, "
                           "business_units, created, salt, hash)",
                           index, key);
    }
    const char *name = json_string_value(json_object_get(j, "name"));
    if (name == NULL || !name_ok(name))
        return err_set(msg, ERR_CONFIG,
                       "config 'api_keys' item %zu: 'name' must be 1 to %d characters of "
                       "A-Z a-z 0-9 . _ -",
                       index, API_KEY_NAME_MAX);
    snprintf(out->name, sizeof out->name, "%s", name);
    if (api_role_parse(json_string_value(json_object_get(j, "role")), &out->role) != ERR_OK)
        return err_set(msg, ERR_CONFIG,
                       "config 'api_keys' item %zu ('%s'): 'role' must be admin, read or ingest",
                       index, name);
    json_t *units = json_object_get(j, "business_units");
    if (units != NULL) {
        const char *names[API_KEY_UNITS_MAX];
        size_t n = json_is_array(units) ? json_array_size(units) : 0;
        bool ok = json_is_array(units) && n <= API_KEY_UNITS_MAX;
        for (size_t i = 0; ok && i < n; i++) {
            names[i] = json_string_value(json_array_get(units, i));
            ok = names[i] != NULL;
        }
        err_msg_t um = {{0}};
        if (!ok || set_units(out, names, n, &um) != ERR_OK)
            return err_set(msg, ERR_CONFIG,
                           "config 'api_keys' item %zu ('%s'): 'business_units' must be an "
                           "array of at most %d unit names%s%s",
                           index, name, API_KEY_UNITS_MAX, um.text[0] ? ": " : "", um.text);
    }
    const char *created = json_string_value(json_object_get(j, "created"));
    if (created != NULL &&
        kpi_time_parse_rfc3339(created, strlen(created), &out->created_s) != ERR_OK)
        return err_set(msg, ERR_CONFIG,
                       "config 'api_keys' item %zu ('%s'): 'created' must be an RFC 3339 time",
                       index, name);
    err_t e = hex_field(j, "salt", "", out->salt, sizeof out->salt, index, msg);
    if (!e)
        e = hex_field(j, "hash", HASH_TAG, out->hash, sizeof out->hash, index, msg);
    return e;
}

/* ---- per request ------------------------------------------------------- */

/* The key text of "Authorization: Bearer KEY", or NULL. */
static const char *bearer(api_req_t *req, size_t *len)
{
    const char *h =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == ' ')
        n--;
    *len = n;
    return n > 0 ? h : NULL;
}

err_t api_auth_same_origin(api_req_t *req, err_msg_t *msg)
{
    const char *origin = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin");
    const char *host =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *scheme = api_server_tls(req->srv) ? "https://" : "http://";
    size_t sl = strlen(scheme);
    if (origin != NULL && host != NULL && strncasecmp(origin, scheme, sl) == 0 &&
        strcasecmp(origin + sl, host) == 0)
        return ERR_OK;
    return err_set(msg, ERR_FORBIDDEN,
                   "a %s signed in with a session cookie must come from this server's own page: "
                   "its Origin header (%s) does not name %s%s (scripts send 'Authorization: "
                   "Bearer KEY' instead)",
                   req->route != NULL ? req->route->method : "request",
                   origin != NULL ? origin : "none", scheme, host != NULL ? host : "this host");
}

/* The key of the request's session cookie (token): the session must be live
   and its key still in force. A write must come from this server's page. */
static err_t session_key(api_req_t *req, const api_keyring_t *ring, const char *token,
                         const api_key_t **out, err_msg_t *msg)
{
    api_session_t s;
    if (!api_session_find(req->srv->sessions, token, strlen(token), (int64_t)time(NULL), &s))
        return err_set(msg, ERR_UNAUTHORIZED,
                       "the session has expired or was signed out: sign in again, or send "
                       "'Authorization: Bearer KEY'");
    const api_key_t *k = api_session_key(&s, ring->keys, ring->n);
    if (k == NULL) {
        (void)api_session_end(req->srv->sessions, token, strlen(token));
        return err_set(msg, ERR_UNAUTHORIZED,
                       "the session's key '%s' is no longer valid (revoked): sign in again",
                       s.key_name);
    }
    const char *method = req->route != NULL ? req->route->method : "";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        err_t e = api_auth_same_origin(req, msg);
        if (e)
            return e;
    }
    req->session = true;
    req->session_info = s;
    *out = k;
    return ERR_OK;
}

err_t api_auth_check(api_req_t *req, api_role_t need, err_msg_t *msg)
{
    const api_keyring_t *ring = __atomic_load_n(&req->srv->ring, __ATOMIC_ACQUIRE);
    req->key = NULL;
    req->session = false;
    if (ring->n == 0 || need == API_ROLE_OPEN)
        return ERR_OK; /* loopback-only, unauthenticated mode; or an open route */
    /* A key in the header wins over a cookie (scripts, and a page signing
       in): only a request without Authorization is looked up as a session. */
    bool has_auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
    const char *cookie =
        has_auth ? NULL
                 : MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, API_SESSION_COOKIE);
    const api_key_t *k = NULL;
    if (cookie != NULL) {
        err_t e = session_key(req, ring, cookie, &k, msg);
        if (e)
            return e;
    } else {
        size_t len = 0;
        const char *text = bearer(req, &len);
        if (text == NULL)
            return err_set(msg, ERR_UNAUTHORIZED,
                           "this endpoint needs an API key: send 'Authorization: Bearer KEY', "
                           "or sign in (POST /v1/session)");
        k = api_key_find(ring->keys, ring->n, text, len);
        if (k == NULL)
            return err_set(msg, ERR_UNAUTHORIZED, "the API key is not valid (unknown or revoked)");
    }
    req->key = k;
    if (!api_role_allows(k->role, need))
        return err_set(msg, ERR_FORBIDDEN, "key '%s' has role %s; this endpoint needs %s%s",
                       k->name, api_role_name(k->role), api_role_name(need),
                       need == API_ROLE_ADMIN ? "" : " or admin");
    return ERR_OK;
}

err_t api_auth_unscoped(const api_req_t *req, err_msg_t *msg)
{
    if (!api_auth_scoped(req))
        return ERR_OK;
    return err_set(msg, ERR_FORBIDDEN,
                   "key '%s' is limited to business units; this endpoint needs a key for all "
                   "units",
                   req->key->name);
}

bool api_auth_scoped(const api_req_t *req)
{
    return req->key != NULL && req->key->n_units > 0;
}

bool api_auth_unit_allowed(const api_req_t *req, const char *unit)
{
    return req->key == NULL || api_key_unit_allowed(req->key, unit);
}

err_t api_auth_unit(api_req_t *req, const char *asked, const char **unit, err_msg_t *msg)
{
    *unit = asked;
    if (!api_auth_scoped(req))
        return ERR_OK;
    const api_key_t *k = req->key;
    if (asked == NULL) {
        if (k->n_units == 1) {
            *unit = api_key_unit(k, 0);
            return ERR_OK;
        }
        return err_set(msg, ERR_FORBIDDEN,
                       "key '%s' is limited to %zu business units: add business_unit= with one "
                       "of them",
                       k->name, k->n_units);
    }
    if (!api_key_unit_allowed(k, asked))
        return err_set(msg, ERR_FORBIDDEN, "key '%s' may not see business unit '%s'", k->name,
                       asked);
    return ERR_OK;
}
