/*
 * api_session.h — sign-in sessions for the dashboard (docs/security.md).
 *
 * A browser cannot be made to send `Authorization: Bearer KEY` with a link
 * or a page load, and a key kept in the page's storage can be read by any
 * script that runs there. So the dashboard exchanges a key for a session:
 * POST /v1/session (with the key in the Authorization header) answers with
 * an HttpOnly, SameSite=Strict cookie holding a random 256-bit token; every
 * later request of the page sends the cookie and is authorized as that key.
 *
 * The table is in memory only: a restart ends every session (the user
 * signs in again). It has a fixed size (API_SESSIONS_MAX) and one mutex.
 * Only a BLAKE2b-256 hash of each token is kept; a presented token is
 * hashed and compared with every slot in constant time (sodium_memcmp).
 * A session ends at the first of: its absolute lifetime (ttl), an idle
 * time without requests (idle), DELETE /v1/session, a full table that
 * needs its slot (the one closest to its end goes), and its key being
 * revoked or replaced (the session names the key by name and hash, and a
 * request finds the key in the keys in force: api_session_key).
 *
 * Times are seconds passed in by the caller (the server passes the wall
 * clock): the table itself never reads a clock, so tests drive it.
 */
#ifndef KPID_API_SESSION_H
#define KPID_API_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_auth.h"
#include "err.h"

#define API_SESSION_COOKIE "kpid_session"
#define API_SESSION_TOKEN_BYTES 32
#define API_SESSION_TOKEN_LEN 43 /* base64url, no padding */
#define API_SESSION_TOKEN_BUF (API_SESSION_TOKEN_LEN + 1)
#define API_SESSIONS_MAX 1024
#define API_SESSION_TTL_DEFAULT_S 28800 /* 8 hours */
#define API_SESSION_IDLE_DEFAULT_S 3600 /* 1 hour without a request */

typedef struct api_sessions api_sessions_t;

/* What a session is: whose key, and until when. */
typedef struct api_session {
    char key_name[API_KEY_NAME_MAX + 1];
    uint8_t key_hash[API_KEY_HASH_BYTES]; /* the key's stored hash: names exactly one key */
    int64_t created_s;
    int64_t expires_s;   /* created + ttl: the absolute end */
    int64_t last_used_s; /* the last request that presented it */
    int64_t idle_s;      /* the table's idle bound */
} api_session_t;

/* The first second the session is no longer valid: the earlier of its
   absolute end and last use + idle. */
int64_t api_session_ends(const api_session_t *s);

/* A new, empty table. ttl_s, idle_s > 0 (0 takes the defaults above).
   ERR_NOMEM, or ERR_INTERNAL when libsodium cannot start. */
err_t api_sessions_new(int64_t ttl_s, int64_t idle_s, api_sessions_t **out) KPID_MUST_USE;
void api_sessions_free(api_sessions_t *t);
int64_t api_sessions_ttl(const api_sessions_t *t);

/*
 * Start a session for key k at `now`: a random token into token_out (give
 * it to the client; it is not stored) and the session into *out (may be
 * NULL). A full table gives up the live session closest to its end.
 */
void api_session_create(api_sessions_t *t, const api_key_t *k, int64_t now,
                        char token_out[API_SESSION_TOKEN_BUF], api_session_t *out);

/*
 * The session of token text `token` (len bytes) at `now`: true and *out
 * when it is live, and its idle clock restarts. false for an unknown, ended
 * or malformed token; an expired one is removed.
 */
bool api_session_find(api_sessions_t *t, const char *token, size_t len, int64_t now,
                      api_session_t *out);

/* End the session of `token`; true when there was one. */
bool api_session_end(api_sessions_t *t, const char *token, size_t len);

/* Live sessions at `now`. */
size_t api_sessions_live(api_sessions_t *t, int64_t now);

/* The key among keys[0..n) the session belongs to (same name and hash), or
   NULL when it was revoked or replaced. Borrowed from keys. */
const api_key_t *api_session_key(const api_session_t *s, const api_key_t *keys, size_t n);

#endif
