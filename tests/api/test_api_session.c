/*
 * test_api_session.c — the sign-in session table (api_session.h): tokens,
 * lookup, the absolute lifetime and the idle bound (on a clock the test
 * passes in: no sleeping, no timing), sign-out, a full table, and the
 * binding of a session to exactly one key (a revoked or replaced key ends
 * its sessions).
 *
 * The HTTP side (cookie attributes, the Origin check, 401 after expiry)
 * is covered by tests/integration/test_session.py.
 */
#include <string.h>

#include "api_session.h"
#include "test.h"

static api_key_t key(const char *name, const char *unit)
{
    api_key_t k;
    char text[API_KEY_TEXT_BUF];
    err_msg_t m = {{0}};
    const char *units[] = {unit};
    REQUIRE(api_key_new(name, API_ROLE_READ, unit ? units : NULL, unit ? 1 : 0, 0, &k, text, &m) ==
            ERR_OK);
    return k;
}

static bool token_chars_ok(const char *t)
{
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

static void test_create_and_find(void)
{
    api_sessions_t *t;
    CHECK_ERR(ERR_OK, api_sessions_new(100, 50, &t));
    api_key_t k = key("emea-read", "emea");
    char tok[API_SESSION_TOKEN_BUF], tok2[API_SESSION_TOKEN_BUF];
    api_session_t s;
    api_session_create(t, &k, 1000, tok, &s);
    CHECK_INT(API_SESSION_TOKEN_LEN, strlen(tok));
    CHECK(token_chars_ok(tok)); /* cookie-safe without quoting */
    CHECK_STR("emea-read", s.key_name);
    CHECK_INT(1000, s.created_s);
    CHECK_INT(1100, s.expires_s);
    CHECK_INT(1050, api_session_ends(&s)); /* idle bound first */
    api_session_create(t, &k, 1000, tok2, NULL);
    CHECK(strcmp(tok, tok2) != 0); /* random: two sign-ins, two tokens */
    CHECK_INT(2, api_sessions_live(t, 1000));

    api_session_t got;
    memset(&got, 0, sizeof got);
    CHECK(api_session_find(t, tok, strlen(tok), 1010, &got));
    CHECK_STR("emea-read", got.key_name);
    CHECK_INT(1010, got.last_used_s);
    CHECK(memcmp(got.key_hash, k.hash, sizeof k.hash) == 0);

    /* Not a session: one character changed, cut, extended, empty, NULL. */
    char bad[API_SESSION_TOKEN_BUF + 1];
    memcpy(bad, tok, sizeof tok);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    CHECK(!api_session_find(t, bad, strlen(bad), 1010, &got));
    CHECK(!api_session_find(t, tok, strlen(tok) - 1, 1010, &got));
    memcpy(bad, tok, API_SESSION_TOKEN_LEN);
    bad[API_SESSION_TOKEN_LEN] = 'x';
    bad[API_SESSION_TOKEN_LEN + 1] = '\0';
    CHECK(!api_session_find(t, bad, strlen(bad), 1010, &got));
    CHECK(!api_session_find(t, "", 0, 1010, &got));
    CHECK(!api_session_find(t, NULL, 0, 1010, &got));
    /* An all-zero token hash never matches a free slot. */
    char zeros[API_SESSION_TOKEN_BUF];
    memset(zeros, 'A', API_SESSION_TOKEN_LEN);
    zeros[API_SESSION_TOKEN_LEN] = '\0';
    CHECK(!api_session_find(t, zeros, API_SESSION_TOKEN_LEN, 1010, &got));
    api_sessions_free(t);
}

static void test_idle_and_absolute_expiry(void)
{
    api_sessions_t *t;
    CHECK_ERR(ERR_OK, api_sessions_new(100, 30, &t));
    api_key_t k = key("analyst", NULL);
    char tok[API_SESSION_TOKEN_BUF];
    api_session_create(t, &k, 0, tok, NULL);
    api_session_t s;
    /* Used every 29 s, it outlives the idle bound ... */
    for (int64_t now = 29; now < 100; now += 29)
        CHECK_MSG(api_session_find(t, tok, strlen(tok), now, &s), "at %lld", (long long)now);
    /* ... but not its absolute lifetime (created at 0, ttl 100). */
    CHECK_INT(100, api_session_ends(&s));
    CHECK(!api_session_find(t, tok, strlen(tok), 100, &s));
    CHECK_INT(0, api_sessions_live(t, 100));

    /* Idle: 30 s without a request ends it, at exactly last use + 30. */
    api_session_create(t, &k, 1000, tok, NULL);
    CHECK(api_session_find(t, tok, strlen(tok), 1029, &s));
    CHECK(!api_session_find(t, tok, strlen(tok), 1059, &s));
    /* An expired session is gone: an earlier clock does not revive it. */
    CHECK(!api_session_find(t, tok, strlen(tok), 1030, &s));

    /* Defaults: 8 hours and 1 hour. */
    api_sessions_t *d;
    CHECK_ERR(ERR_OK, api_sessions_new(0, 0, &d));
    CHECK_INT(API_SESSION_TTL_DEFAULT_S, api_sessions_ttl(d));
    api_session_create(d, &k, 0, tok, &s);
    CHECK_INT(28800, s.expires_s);
    CHECK_INT(3600, api_session_ends(&s));
    api_sessions_free(d);
    api_sessions_free(t);
}

static void test_sign_out(void)
{
    api_sessions_t *t;
    CHECK_ERR(ERR_OK, api_sessions_new(100, 100, &t));
    api_key_t k = key("analyst", NULL);
    char a[API_SESSION_TOKEN_BUF], b[API_SESSION_TOKEN_BUF];
    api_session_create(t, &k, 0, a, NULL);
    api_session_create(t, &k, 0, b, NULL);
    api_session_t s;
    CHECK(api_session_end(t, a, strlen(a)));
    CHECK(!api_session_end(t, a, strlen(a))); /* once */
    CHECK(!api_session_find(t, a, strlen(a), 1, &s));
    CHECK(api_session_find(t, b, strlen(b), 1, &s)); /* the other sign-in stays */
    CHECK(!api_session_end(t, "nonsense", 8));
    CHECK_INT(1, api_sessions_live(t, 1));
    api_sessions_free(t);
}

static void test_full_table_gives_up_the_nearest_end(void)
{
    api_sessions_t *t;
    CHECK_ERR(ERR_OK, api_sessions_new(1000000, 1000000, &t));
    api_key_t k = key("analyst", NULL);
    static char toks[API_SESSIONS_MAX][API_SESSION_TOKEN_BUF];
    for (size_t i = 0; i < API_SESSIONS_MAX; i++)
        api_session_create(t, &k, (int64_t)i + 10, toks[i], NULL);
    CHECK_INT(API_SESSIONS_MAX, api_sessions_live(t, 2000));
    api_session_t s;
    /* Session 0 is the oldest; using it moves its idle end past session 1's
       but the absolute end stays the earliest (created first). */
    CHECK(api_session_find(t, toks[0], API_SESSION_TOKEN_LEN, 2000, &s));
    char extra[API_SESSION_TOKEN_BUF];
    api_session_create(t, &k, 3000, extra, NULL);
    CHECK_INT(API_SESSIONS_MAX, api_sessions_live(t, 3000));
    CHECK(!api_session_find(t, toks[0], API_SESSION_TOKEN_LEN, 3000, &s));
    CHECK(api_session_find(t, toks[1], API_SESSION_TOKEN_LEN, 3000, &s));
    CHECK(api_session_find(t, extra, API_SESSION_TOKEN_LEN, 3000, &s));
    /* An ended slot is reused before any live session is given up. */
    CHECK(api_session_end(t, toks[7], API_SESSION_TOKEN_LEN));
    api_session_create(t, &k, 3001, extra, NULL);
    CHECK(api_session_find(t, toks[2], API_SESSION_TOKEN_LEN, 3001, &s));
    CHECK(api_session_find(t, extra, API_SESSION_TOKEN_LEN, 3001, &s));
    api_sessions_free(t);
}

static void test_session_names_one_key(void)
{
    api_sessions_t *t;
    CHECK_ERR(ERR_OK, api_sessions_new(100, 100, &t));
    api_key_t keys[3] = {key("ops", NULL), key("emea-read", "emea"), key("analyst", NULL)};
    char tok[API_SESSION_TOKEN_BUF];
    api_session_t s;
    api_session_create(t, &keys[1], 0, tok, &s);
    CHECK(api_session_key(&s, keys, 3) == &keys[1]);
    /* Revoked (not among the keys in force). */
    api_key_t after_revoke[2] = {keys[0], keys[2]};
    CHECK(api_session_key(&s, after_revoke, 2) == NULL);
    /* Replaced: revoked and added again under the same name is another key. */
    api_key_t again[3] = {keys[0], key("emea-read", "emea"), keys[2]};
    CHECK(api_session_key(&s, again, 3) == NULL);
    /* The same key in a reloaded ring (a copy) still holds. */
    api_key_t copy[1] = {keys[1]};
    CHECK(api_session_key(&s, copy, 1) == &copy[0]);
    CHECK(api_session_key(&s, NULL, 0) == NULL);
    api_sessions_free(t);
}

int main(void)
{
    RUN(test_create_and_find);
    RUN(test_idle_and_absolute_expiry);
    RUN(test_sign_out);
    RUN(test_full_table_gives_up_the_nearest_end);
    RUN(test_session_names_one_key);
    return test_summary();
}
