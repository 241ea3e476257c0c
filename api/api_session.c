/*
 * api_session.c — the session table (api_session.h) and the endpoints the
 * dashboard signs in and out with: POST, GET and DELETE /v1/session.
 *
 * Invariants:
 *   - a token's text is never stored or logged: a slot holds its BLAKE2b
 *     hash, and lookups compare every used slot's hash in constant time;
 *   - a session authorizes only while its key (same name and hash) is
 *     among the keys in force (api_auth.c asks api_session_key), so
 *     revoking a key and SIGHUP end its sessions too;
 *   - every access to the table holds its mutex.
 */
#include "api_session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api_int.h"
#include "kpi_date.h"

typedef struct slot {
    bool used;
    uint8_t token_hash[crypto_generichash_BYTES];
    api_session_t s;
} slot_t;

struct api_sessions {
    pthread_mutex_t mu;
    int64_t ttl_s, idle_s;
    slot_t slots[API_SESSIONS_MAX];
};

int64_t api_session_ends(const api_session_t *s)
{
    int64_t idle_end = s->last_used_s + s->idle_s;
    return idle_end < s->expires_s ? idle_end : s->expires_s;
}

err_t api_sessions_new(int64_t ttl_s, int64_t idle_s, api_sessions_t **out)
{
    *out = NULL;
    if (sodium_init() < 0)
        return ERR_INTERNAL;
    api_sessions_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    t->ttl_s = ttl_s > 0 ? ttl_s : API_SESSION_TTL_DEFAULT_S;
    t->idle_s = idle_s > 0 ? idle_s : API_SESSION_IDLE_DEFAULT_S;
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return ERR_OK;
}

void api_sessions_free(api_sessions_t *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    sodium_memzero(t->slots, sizeof t->slots);
    free(t);
}

int64_t api_sessions_ttl(const api_sessions_t *t)
{
    return t->ttl_s;
}

static void token_hash(const char *token, size_t len, uint8_t out[crypto_generichash_BYTES])
{
    (void)crypto_generichash(out, crypto_generichash_BYTES, (const unsigned char *)token, len, NULL,
                             0);
}

static bool live(const slot_t *sl, int64_t now)
{
    return sl->used && now < api_session_ends(&sl->s);
}

void api_session_create(api_sessions_t *t, const api_key_t *k, int64_t now,
                        char token_out[API_SESSION_TOKEN_BUF], api_session_t *out)
{
    uint8_t raw[API_SESSION_TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    (void)sodium_bin2base64(token_out, API_SESSION_TOKEN_BUF, raw, sizeof raw,
                            sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    slot_t fresh = {.used = true};
    token_hash(token_out, API_SESSION_TOKEN_LEN, fresh.token_hash);
    snprintf(fresh.s.key_name, sizeof fresh.s.key_name, "%s", k->name);
    memcpy(fresh.s.key_hash, k->hash, sizeof fresh.s.key_hash);
    fresh.s.created_s = now;
    fresh.s.expires_s = now + t->ttl_s;
    fresh.s.last_used_s = now;
    fresh.s.idle_s = t->idle_s;

    pthread_mutex_lock(&t->mu);
    /* A free or ended slot; else the live session closest to its end. */
    size_t pick = 0;
    int64_t pick_end = INT64_MAX;
    for (size_t i = 0; i < API_SESSIONS_MAX; i++) {
        if (!live(&t->slots[i], now)) {
            pick = i;
            break;
        }
        int64_t end = api_session_ends(&t->slots[i].s);
        if (end < pick_end) {
            pick_end = end;
            pick = i;
        }
    }
    t->slots[pick] = fresh;
    pthread_mutex_unlock(&t->mu);
    if (out != NULL)
        *out = fresh.s;
}

/* The slot of a token, or SIZE_MAX. Every used slot is compared. Holds mu. */
static size_t find_slot(api_sessions_t *t, const char *token, size_t len)
{
    if (token == NULL || len != API_SESSION_TOKEN_LEN)
        return SIZE_MAX;
    uint8_t h[crypto_generichash_BYTES];
    token_hash(token, len, h);
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < API_SESSIONS_MAX; i++) {
        bool eq = sodium_memcmp(h, t->slots[i].token_hash, sizeof h) == 0;
        if (eq && t->slots[i].used && found == SIZE_MAX)
            found = i;
    }
    return found;
}

bool api_session_find(api_sessions_t *t, const char *token, size_t len, int64_t now,
                      api_session_t *out)
{
    pthread_mutex_lock(&t->mu);
    size_t i = find_slot(t, token, len);
    bool ok = false;
    if (i != SIZE_MAX) {
        slot_t *sl = &t->slots[i];
        if (live(sl, now)) {
            sl->s.last_used_s = now;
            *out = sl->s;
            ok = true;
        } else {
            memset(sl, 0, sizeof *sl);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return ok;
}

bool api_session_end(api_sessions_t *t, const char *token, size_t len)
{
    pthread_mutex_lock(&t->mu);
    size_t i = find_slot(t, token, len);
    if (i != SIZE_MAX)
        memset(&t->slots[i], 0, sizeof t->slots[i]);
    pthread_mutex_unlock(&t->mu);
    return i != SIZE_MAX;
}

size_t api_sessions_live(api_sessions_t *t, int64_t now)
{
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < API_SESSIONS_MAX; i++)
        n += live(&t->slots[i], now);
    pthread_mutex_unlock(&t->mu);
    return n;
}

const api_key_t *api_session_key(const api_session_t *s, const api_key_t *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, s->key_name) == 0 &&
            sodium_memcmp(keys[i].hash, s->key_hash, sizeof s->key_hash) == 0)
            return &keys[i];
    return NULL;
}

/* ---- the endpoints ------------------------------------------------------ */

static json_t *j_time(int64_t t)
{
    char buf[KPI_TIME_BUF];
    return json_string(kpi_time_format_utc(t, buf));
}

/* {"keys_required", "via", "key": {name, role, business_units} | null,
    "expires", "idle_expires"}: who the request is. */
static json_t *who_json(api_req_t *req, bool keys_required, const api_session_t *s)
{
    json_t *key = json_null();
    if (req->key != NULL) {
        json_t *units = json_array();
        for (size_t i = 0; units != NULL && i < req->key->n_units; i++)
            (void)json_array_append_new(units, json_string(api_key_unit(req->key, i)));
        key = json_pack("{s:s,s:s,s:o*}", "name", req->key->name, "role",
                        api_role_name(req->key->role), "business_units", units);
    }
    const char *via = !keys_required ? "none" : s != NULL ? "session" : "bearer";
    return json_pack("{s:b,s:s,s:o*,s:o,s:o}", "keys_required", keys_required, "via", via, "key",
                     key, "expires", s != NULL ? j_time(s->expires_s) : json_null(), "idle_expires",
                     s != NULL ? j_time(api_session_ends(s)) : json_null());
}

static enum MHD_Result send_with_cookie(api_req_t *req, unsigned status, json_t *j,
                                        const char *cookie)
{
    if (j == NULL)
        return api_send_error(req, ERR_NOMEM, "out of memory building the response");
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (text == NULL)
        return api_send_error(req, ERR_NOMEM, "out of memory building the response");
    const char *headers[] = {MHD_HTTP_HEADER_SET_COOKIE, cookie, NULL};
    enum MHD_Result r =
        api_send_body_h(req, status, "application/json", text, strlen(text), headers);
    free(text);
    return r;
}

static bool keys_configured(api_req_t *req)
{
    const api_keyring_t *ring = __atomic_load_n(&req->srv->ring, __ATOMIC_ACQUIRE);
    return ring->n > 0;
}

/* POST /v1/session: the key in Authorization (api_auth_check has verified
   it and its role) becomes a session cookie. */
enum MHD_Result api_session_post(api_req_t *req)
{
    if (!keys_configured(req))
        return api_send_error(req, ERR_BAD_PARAM,
                              "no API keys are configured: this server needs no sign-in");
    if (req->session)
        return api_send_error(req, ERR_BAD_PARAM,
                              "sign in with 'Authorization: Bearer KEY': a session cannot start "
                              "another");
    char token[API_SESSION_TOKEN_BUF];
    api_session_t s;
    api_session_create(req->srv->sessions, req->key, (int64_t)time(NULL), token, &s);
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             API_SESSION_COOKIE, token, (long long)api_sessions_ttl(req->srv->sessions),
             api_server_tls(req->srv) ? "; Secure" : "");
    sodium_memzero(token, sizeof token);
    enum MHD_Result r = send_with_cookie(req, MHD_HTTP_CREATED, who_json(req, true, &s), cookie);
    sodium_memzero(cookie, sizeof cookie);
    return r;
}

/* GET /v1/session: who is signed in, with which units, until when. */
enum MHD_Result api_session_get(api_req_t *req)
{
    bool keys = keys_configured(req);
    return api_send_json(req, MHD_HTTP_OK,
                         who_json(req, keys, keys && req->session ? &req->session_info : NULL));
}

/* DELETE /v1/session: open (an ended session signs out too); the session of
   the cookie ends, and the cookie is cleared. A cookie sent from another
   site's page is refused (403) like every cookie-authenticated write. */
enum MHD_Result api_session_delete(api_req_t *req)
{
    const char *token = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, API_SESSION_COOKIE);
    if (token != NULL) {
        err_msg_t m = {{0}};
        err_t e = api_auth_same_origin(req, &m);
        if (e)
            return api_send_error(req, e, "%s", m.text);
        (void)api_session_end(req->srv->sessions, token, strlen(token));
    }
    char cookie[160];
    snprintf(cookie, sizeof cookie, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             API_SESSION_COOKIE, api_server_tls(req->srv) ? "; Secure" : "");
    const char *headers[] = {MHD_HTTP_HEADER_SET_COOKIE, cookie, NULL};
    return api_send_body_h(req, MHD_HTTP_NO_CONTENT, "application/json", "", 0, headers);
}
