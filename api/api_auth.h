/*
 * api_auth.h — API keys: roles, business-unit scopes, how a key is made,
 * stored and checked. Shared by the server (api_server.c checks every
 * request) and `kpid key` (cmd_key.c edits the config's "api_keys").
 *
 * A key is "kpid_" + 43 characters: 32 bytes from libsodium's randombytes,
 * base64url without padding (256 bits: guessing is hopeless, so no slow
 * password hash is needed). Only a salted hash is stored: BLAKE2b-256
 * (crypto_generichash) keyed with a per-key random 32-byte salt over the
 * key text. Checking a request costs one BLAKE2b of ~50 bytes per configured
 * key (about a microsecond), compared with sodium_memcmp (constant time).
 * docs/security.md explains why not Argon2.
 *
 * Roles: ingest may POST events; read may GET every KPI and event endpoint;
 * admin may do everything. A key may be limited to business units; it then
 * sees and writes only those units' numbers.
 */
#ifndef KPID_API_AUTH_H
#define KPID_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* What a route requires, and what a key holds. The zero value is ADMIN so
   that a route added without a role is admin-only (fails closed). */
typedef enum api_role {
    API_ROLE_ADMIN = 0,  /* everything */
    API_ROLE_READ = 1,   /* GET KPI, event log, reports, metrics */
    API_ROLE_INGEST = 2, /* POST /v1/events only */
    API_ROLE_OPEN = 3    /* routes only: no key needed (/healthz) */
} api_role_t;

#define API_KEY_PREFIX "kpid_"
#define API_KEY_RANDOM_BYTES 32
#define API_KEY_TEXT_LEN 48 /* "kpid_" + 43 base64url characters */
#define API_KEY_TEXT_BUF (API_KEY_TEXT_LEN + 1)
#define API_KEY_SALT_BYTES 32
#define API_KEY_HASH_BYTES 32
#define API_KEY_NAME_MAX 64    /* bytes of a key's name: [A-Za-z0-9._-] */
#define API_KEY_UNITS_MAX 16   /* business units of one key */
#define API_KEY_UNITS_BUF 1024 /* their names, NUL-terminated, back to back */
#define API_KEYS_MAX 64        /* keys in one config */

typedef struct api_key {
    char name[API_KEY_NAME_MAX + 1];      /* unique within the config */
    api_role_t role;                      /* ADMIN, READ or INGEST (never OPEN) */
    size_t n_units;                       /* 0 = every business unit */
    uint16_t unit_off[API_KEY_UNITS_MAX]; /* offset of unit i in units */
    char units[API_KEY_UNITS_BUF];        /* n_units names, each 1..256 bytes */
    int64_t created_s;                    /* UTC seconds */
    uint8_t salt[API_KEY_SALT_BYTES];     /* random, per key */
    uint8_t hash[API_KEY_HASH_BYTES];     /* BLAKE2b-256(key text; key = salt) */
} api_key_t;

/* libsodium's one-time initialisation; ERR_INTERNAL if it fails. Safe to
   call more than once and from several threads. */
err_t api_auth_init(err_msg_t *msg) KPID_MUST_USE;

/* "admin", "read", "ingest", "open". */
const char *api_role_name(api_role_t r);
/* "admin", "read" or "ingest" -> *out; ERR_BAD_PARAM otherwise. */
err_t api_role_parse(const char *s, api_role_t *out) KPID_MUST_USE;
/* Does a key with role `have` satisfy a route that requires `need`? */
bool api_role_allows(api_role_t have, api_role_t need);

/* Name i of a key's units (i < k->n_units); borrowed from k. */
const char *api_key_unit(const api_key_t *k, size_t i);
/* true when the key is unscoped or `unit` is one of its units. */
bool api_key_unit_allowed(const api_key_t *k, const char *unit);

/*
 * Make a new key: random key text into text_out (API_KEY_TEXT_BUF bytes;
 * show it once, it is not stored), random salt and its hash into *out.
 * `units` (n_units names, may be NULL when 0) are copied. ERR_BAD_PARAM
 * with a message for a bad name, role, unit or too many units.
 */
err_t api_key_new(const char *name, api_role_t role, const char *const *units, size_t n_units,
                  int64_t created_s, api_key_t *out, char *text_out, err_msg_t *msg) KPID_MUST_USE;

/* The stored hash of key text `text` (len bytes) under `salt`. */
void api_key_hash(const char *text, size_t len, const uint8_t salt[API_KEY_SALT_BYTES],
                  uint8_t out[API_KEY_HASH_BYTES]);

/* true when `text` (len bytes) is the key k was made from (constant-time
   comparison of the hashes). */
bool api_key_verify(const api_key_t *k, const char *text, size_t len);

/*
 * The key among keys[0..n) that `text` is, or NULL. Every key is hashed and
 * compared, whether or not an earlier one matched, so the time taken does
 * not depend on which key (if any) matched. A text that is not
 * API_KEY_TEXT_LEN bytes long is NULL at once. Borrowed from keys.
 */
const api_key_t *api_key_find(const api_key_t *keys, size_t n, const char *text, size_t len);

/*
 * A key as stored in the config's "api_keys" array:
 * {"name", "role", "business_units": [...], "created": "RFC 3339",
 *  "salt": hex, "hash": "blake2b-256:" hex}. New object, or NULL on ENOMEM.
 */
json_t *api_key_to_json(const api_key_t *k);
/* The reverse; ERR_CONFIG with a message naming item `index` and the field. */
err_t api_key_from_json(const json_t *j, size_t index, api_key_t *out,
                        err_msg_t *msg) KPID_MUST_USE;

#endif
