/*
 * test_api_auth.c — API keys: roles, making a key, the salted hash (against
 * vectors computed with Python's hashlib.blake2b, an independent
 * implementation), verification and lookup, business-unit scopes, the JSON
 * form in the config and every error it reports, and the per-request
 * scope helpers (which only read req->key).
 *
 * api_auth_check needs a live libmicrohttpd connection: it is covered by
 * tests/integration/test_security.py.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "api_auth.h"
#include "api_int.h"
#include "test.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void test_roles(void)
{
    static const struct {
        api_role_t have, need;
        bool ok;
    } rows[] = {
        {API_ROLE_ADMIN, API_ROLE_ADMIN, true},   {API_ROLE_ADMIN, API_ROLE_READ, true},
        {API_ROLE_ADMIN, API_ROLE_INGEST, true},  {API_ROLE_ADMIN, API_ROLE_OPEN, true},
        {API_ROLE_READ, API_ROLE_ADMIN, false},   {API_ROLE_READ, API_ROLE_READ, true},
        {API_ROLE_READ, API_ROLE_INGEST, false},  {API_ROLE_READ, API_ROLE_OPEN, true},
        {API_ROLE_INGEST, API_ROLE_ADMIN, false}, {API_ROLE_INGEST, API_ROLE_READ, false},
        {API_ROLE_INGEST, API_ROLE_INGEST, true}, {API_ROLE_INGEST, API_ROLE_OPEN, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_MSG(api_role_allows(rows[i].have, rows[i].need) == rows[i].ok, "row %zu: %s -> %s", i,
                  api_role_name(rows[i].have), api_role_name(rows[i].need));
    static const char *const names[] = {"admin", "read", "ingest"};
    for (size_t i = 0; i < 3; i++) {
        api_role_t r = API_ROLE_OPEN;
        CHECK_ERR(ERR_OK, api_role_parse(names[i], &r));
        CHECK_STR(names[i], api_role_name(r));
    }
    api_role_t r = API_ROLE_READ;
    CHECK_ERR(ERR_BAD_PARAM, api_role_parse("open", &r)); /* routes only */
    CHECK_ERR(ERR_BAD_PARAM, api_role_parse("Admin", &r));
    CHECK_ERR(ERR_BAD_PARAM, api_role_parse("", &r));
    CHECK_ERR(ERR_BAD_PARAM, api_role_parse(NULL, &r));
    CHECK_INT(API_ROLE_READ, r); /* untouched on error */
    CHECK_STR("open", api_role_name(API_ROLE_OPEN));
    /* A route that forgets its role is admin-only. */
    api_route_t route = {.method = "GET", .path = "/x"};
    CHECK_INT(API_ROLE_ADMIN, route.role);
}

static void test_hash_vectors(void)
{
    uint8_t salt[API_KEY_SALT_BYTES], h[API_KEY_HASH_BYTES];
    char got[2 * API_KEY_HASH_BYTES + 1];
    for (size_t i = 0; i < sizeof salt; i++)
        salt[i] = (uint8_t)i;
    static const struct {
        const char *text, *hex;
    } rows[] = {
        {"kpid_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         "a86fee742e1f929d1fe1c9ac0a440a107beaa4d62d70c0ba3fd09eadb5aeb8c5"},
        {"", "4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        api_key_hash(rows[i].text, strlen(rows[i].text), salt, h);
        hex(h, sizeof h, got);
        CHECK_STR(rows[i].hex, got);
    }
    /* Another salt, another hash. */
    salt[0] ^= 1;
    api_key_hash(rows[0].text, strlen(rows[0].text), salt, h);
    hex(h, sizeof h, got);
    CHECK(strcmp(got, rows[0].hex) != 0);
}

static void test_new_and_verify(void)
{
    REQUIRE(api_auth_init(NULL) == ERR_OK);
    REQUIRE(api_auth_init(NULL) == ERR_OK); /* twice is fine */
    api_key_t a, b;
    char ta[API_KEY_TEXT_BUF], tb[API_KEY_TEXT_BUF];
    const char *units[] = {"emea", "us"};
    err_msg_t m = {{0}};
    REQUIRE(api_key_new("ops.1_a-B", API_ROLE_READ, units, 2, 1700000000, &a, ta, &m) == ERR_OK);
    REQUIRE(api_key_new("other", API_ROLE_ADMIN, NULL, 0, 1700000001, &b, tb, &m) == ERR_OK);
    CHECK_INT(API_KEY_TEXT_LEN, strlen(ta));
    CHECK(strncmp(ta, "kpid_", 5) == 0);
    for (const char *p = ta + 5; *p; p++)
        CHECK_MSG((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_',
                  "'%c' in %s", *p, ta);
    CHECK(strcmp(ta, tb) != 0);
    CHECK(memcmp(a.salt, b.salt, sizeof a.salt) != 0);
    CHECK_STR("ops.1_a-B", a.name);
    CHECK_INT(API_ROLE_READ, a.role);
    CHECK_INT(1700000000, a.created_s);
    CHECK_INT(2, a.n_units);
    CHECK_STR("emea", api_key_unit(&a, 0));
    CHECK_STR("us", api_key_unit(&a, 1));
    uint8_t h[API_KEY_HASH_BYTES];
    api_key_hash(ta, strlen(ta), a.salt, h);
    CHECK(memcmp(h, a.hash, sizeof h) == 0);

    CHECK(api_key_verify(&a, ta, strlen(ta)));
    CHECK(!api_key_verify(&a, tb, strlen(tb)));
    CHECK(!api_key_verify(&a, ta, strlen(ta) - 1)); /* prefix */
    CHECK(!api_key_verify(&a, "", 0));
    char t[API_KEY_TEXT_BUF + 1];
    memcpy(t, ta, sizeof ta);
    t[10] = t[10] == 'x' ? 'y' : 'x'; /* one character off */
    CHECK(!api_key_verify(&a, t, strlen(t)));
    memcpy(t, ta, API_KEY_TEXT_LEN);
    t[API_KEY_TEXT_LEN] = 'x'; /* one character more */
    CHECK(!api_key_verify(&a, t, API_KEY_TEXT_LEN + 1));

    api_key_t ring[3] = {a, b, a};
    CHECK(api_key_find(ring, 3, ta, strlen(ta)) == &ring[0]); /* the first match */
    CHECK(api_key_find(ring, 3, tb, strlen(tb)) == &ring[1]);
    CHECK(api_key_find(ring, 3, t, API_KEY_TEXT_LEN + 1) == NULL);
    CHECK(api_key_find(ring, 0, ta, strlen(ta)) == NULL);
    /* The right key text with the wrong length is not looked at. */
    CHECK(api_key_find(ring, 3, ta, strlen(ta) - 1) == NULL);
    static char huge[200000];
    memset(huge, 'k', sizeof huge);
    memcpy(huge, ta, strlen(ta));
    CHECK(api_key_find(ring, 3, huge, sizeof huge) == NULL);

    CHECK(api_key_unit_allowed(&a, "emea"));
    CHECK(api_key_unit_allowed(&a, "us"));
    CHECK(!api_key_unit_allowed(&a, "apac"));
    CHECK(!api_key_unit_allowed(&a, "EMEA"));
    CHECK(!api_key_unit_allowed(&a, NULL));
    CHECK(api_key_unit_allowed(&b, "anything")); /* unscoped */
}

static void test_new_errors(void)
{
    char many_names[API_KEY_UNITS_MAX + 1][8];
    const char *many[API_KEY_UNITS_MAX + 1];
    for (size_t i = 0; i <= API_KEY_UNITS_MAX; i++) {
        snprintf(many_names[i], sizeof many_names[i], "u%zu", i);
        many[i] = many_names[i];
    }
    static char long_unit[KPI_NAME_MAX + 2];
    memset(long_unit, 'u', KPI_NAME_MAX + 1);
    static char big[5][KPI_NAME_MAX + 1];
    const char *bigs[5];
    for (int i = 0; i < 5; i++) {
        memset(big[i], 'a' + i, KPI_NAME_MAX);
        bigs[i] = big[i];
    }
    const char *dup[] = {"emea", "emea"};
    const char *empty[] = {""};
    const char *lu[] = {long_unit};
    char long_name[API_KEY_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    static const char *const bad_names[] = {"", "a b", "x/y", "ä", "k:1"};
    struct {
        const char *name;
        api_role_t role;
        const char *const *units;
        size_t n;
        const char *msg;
    } rows[] = {
        {bad_names[0], API_ROLE_READ, NULL, 0, "key name '' must be 1 to 64 characters"},
        {bad_names[1], API_ROLE_READ, NULL, 0, "key name 'a b' must be"},
        {bad_names[2], API_ROLE_READ, NULL, 0, "key name 'x/y' must be"},
        {bad_names[3], API_ROLE_READ, NULL, 0, "must be 1 to 64 characters of A-Z"},
        {bad_names[4], API_ROLE_READ, NULL, 0, "key name 'k:1'"},
        {long_name, API_ROLE_READ, NULL, 0, "must be 1 to 64 characters"},
        {"k", API_ROLE_OPEN, NULL, 0, "a key's role is admin, read or ingest"},
        {"k", API_ROLE_READ, many, API_KEY_UNITS_MAX + 1, "at most 16 business units"},
        {"k", API_ROLE_READ, dup, 2, "business unit 'emea' is named twice"},
        {"k", API_ROLE_READ, empty, 1, "business unit 1 must be 1 to 256 bytes"},
        {"k", API_ROLE_READ, lu, 1, "business unit 1 must be 1 to 256 bytes"},
        {"k", API_ROLE_READ, bigs, 5, "longer than 1024 bytes together"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        api_key_t k;
        char text[API_KEY_TEXT_BUF] = "x";
        err_msg_t m = {{0}};
        CHECK_ERR(ERR_BAD_PARAM, api_key_new(rows[i].name, rows[i].role, rows[i].units, rows[i].n,
                                             0, &k, text, &m));
        CHECK_MSG(strstr(m.text, rows[i].msg) != NULL, "row %zu: '%s' not in '%s'", i, rows[i].msg,
                  m.text);
        CHECK_STR("", text); /* no key text is handed out on error */
    }
    /* Exactly the maximum is fine. */
    api_key_t k;
    char text[API_KEY_TEXT_BUF];
    CHECK_ERR(ERR_OK, api_key_new("k", API_ROLE_READ, many, API_KEY_UNITS_MAX, 0, &k, text, NULL));
    CHECK_INT(API_KEY_UNITS_MAX, k.n_units);
    CHECK_STR("u15", api_key_unit(&k, 15));
}

static void test_json_roundtrip(void)
{
    api_key_t a, back;
    char text[API_KEY_TEXT_BUF];
    const char *units[] = {"emea", "Zürich \"HQ\""};
    REQUIRE(api_key_new("feed", API_ROLE_INGEST, units, 2, 1733011200, &a, text, NULL) == ERR_OK);
    json_t *j = api_key_to_json(&a);
    REQUIRE(j != NULL);
    char *dump = json_dumps(j, JSON_COMPACT);
    REQUIRE(dump != NULL);
    CHECK(strstr(dump, text) == NULL); /* the key text is never stored */
    CHECK(strstr(dump, "\"created\":\"2024-12-01T00:00:00Z\"") != NULL);
    CHECK(strstr(dump, "\"hash\":\"blake2b-256:") != NULL);
    CHECK(strstr(dump, "\"role\":\"ingest\"") != NULL);
    free(dump);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, api_key_from_json(j, 0, &back, &m));
    CHECK_STR("feed", back.name);
    CHECK_INT(API_ROLE_INGEST, back.role);
    CHECK_INT(1733011200, back.created_s);
    CHECK_INT(2, back.n_units);
    CHECK_STR("Zürich \"HQ\"", api_key_unit(&back, 1));
    CHECK(memcmp(a.salt, back.salt, sizeof a.salt) == 0);
    CHECK(memcmp(a.hash, back.hash, sizeof a.hash) == 0);
    CHECK(api_key_verify(&back, text, strlen(text)));
    json_decref(j);

    /* An unscoped key: empty list, or no list at all. */
    REQUIRE(api_key_new("all", API_ROLE_ADMIN, NULL, 0, 0, &a, text, NULL) == ERR_OK);
    j = api_key_to_json(&a);
    CHECK_INT(0, json_array_size(json_object_get(j, "business_units")));
    json_object_del(j, "business_units");
    CHECK_ERR(ERR_OK, api_key_from_json(j, 0, &back, NULL));
    CHECK_INT(0, back.n_units);
    json_object_del(j, "created"); /* optional */
    CHECK_ERR(ERR_OK, api_key_from_json(j, 0, &back, NULL));
    CHECK(api_key_verify(&back, text, strlen(text)));
    json_decref(j);
}

static void test_json_errors(void)
{
    static const char salt[] = "\"" /* 64 hex digits */
                               "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                               "\"";
    static const char hash[] = "\"blake2b-256:"
                               "a86fee742e1f929d1fe1c9ac0a440a107beaa4d62d70c0ba3fd09eadb5aeb8c5"
                               "\"";
    char ok[512];
    snprintf(ok, sizeof ok, "{\"name\":\"k\",\"role\":\"read\",\"salt\":%s,\"hash\":%s}", salt,
             hash);
    json_t *base = json_loads(ok, 0, NULL);
    REQUIRE(base != NULL);
    api_key_t k;
    CHECK_ERR(ERR_OK, api_key_from_json(base, 0, &k, NULL));
    CHECK(api_key_verify(&k, "kpid_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 48));

    static const struct {
        const char *field, *value; /* JSON value; NULL deletes the field */
        const char *msg;
    } rows[] = {
        {"name", NULL, "item 3: 'name' must be 1 to 64 characters"},
        {"name", "\"a b\"", "item 3: 'name' must be"},
        {"name", "7", "item 3: 'name' must be"},
        {"role", NULL, "item 3 ('k'): 'role' must be admin, read or ingest"},
        {"role", "\"open\"", "'role' must be admin, read or ingest"},
        {"business_units", "\"emea\"", "'business_units' must be an array of at most 16"},
        {"business_units", "[1]", "'business_units' must be an array"},
        {"business_units", "[\"a\",\"a\"]", "business unit 'a' is named twice"},
        {"created", "\"yesterday\"", "'created' must be an RFC 3339 time"},
        {"salt", NULL, "item 3: 'salt' must be 64 hex digits"},
        {"salt", "\"00\"", "'salt' must be 64 hex digits"},
        {"salt", "\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"",
         "'salt' must be 64 hex digits"},
        {"hash", NULL, "'hash' must be blake2b-256:64 hex digits"},
        {"hash", "\"a86fee742e1f929d1fe1c9ac0a440a107beaa4d62d70c0ba3fd09eadb5aeb8c5\"",
         "'hash' must be blake2b-256:64 hex digits"},
        {"hash", "\"argon2id:a86fee742e1f929d1fe1c9ac0a440a107beaa4d62d70c0ba3fd09eadb5aeb8c5\"",
         "'hash' must be blake2b-256:"},
        {"key", "\"kpid_secret\"", "item 3: unknown key 'key' (known: name, role"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *j = json_deep_copy(base);
        if (rows[i].value == NULL)
            json_object_del(j, rows[i].field);
        else
            json_object_set_new(j, rows[i].field, json_loads(rows[i].value, JSON_DECODE_ANY, NULL));
        err_msg_t m = {{0}};
        CHECK_ERR(ERR_CONFIG, api_key_from_json(j, 3, &k, &m));
        CHECK_MSG(strstr(m.text, rows[i].msg) != NULL, "row %zu: '%s' not in '%s'", i, rows[i].msg,
                  m.text);
        json_decref(j);
    }
    json_t *arr = json_array();
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_CONFIG, api_key_from_json(arr, 2, &k, &m));
    CHECK_STR("config 'api_keys' item 2 must be an object", m.text);
    json_decref(arr);
    json_decref(base);
}

static void test_request_scope(void)
{
    api_key_t one, two, all;
    char text[API_KEY_TEXT_BUF];
    const char *u1[] = {"emea"}, *u2[] = {"emea", "apac"};
    REQUIRE(api_key_new("one", API_ROLE_READ, u1, 1, 0, &one, text, NULL) == ERR_OK);
    REQUIRE(api_key_new("two", API_ROLE_READ, u2, 2, 0, &two, text, NULL) == ERR_OK);
    REQUIRE(api_key_new("all", API_ROLE_READ, NULL, 0, 0, &all, text, NULL) == ERR_OK);
    static const struct {
        int key; /* 0 none (no keys configured), 1 one, 2 two, 3 all */
        const char *asked, *unit;
        err_t e;
        const char *msg;
    } rows[] = {
        {0, NULL, NULL, ERR_OK, ""},
        {0, "us", "us", ERR_OK, ""},
        {3, NULL, NULL, ERR_OK, ""},
        {3, "us", "us", ERR_OK, ""},
        {1, NULL, "emea", ERR_OK, ""},
        {1, "emea", "emea", ERR_OK, ""},
        {1, "us", NULL, ERR_FORBIDDEN, "key 'one' may not see business unit 'us'"},
        {2, "apac", "apac", ERR_OK, ""},
        {2, NULL, NULL, ERR_FORBIDDEN,
         "key 'two' is limited to 2 business units: add business_unit= with one of them"},
        {2, "us", NULL, ERR_FORBIDDEN, "key 'two' may not see business unit 'us'"},
    };
    const api_key_t *keys[] = {NULL, &one, &two, &all};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        api_req_t req;
        memset(&req, 0, sizeof req);
        req.key = keys[rows[i].key];
        const char *unit = "untouched";
        err_msg_t m = {{0}};
        CHECK_ERR(rows[i].e, api_auth_unit(&req, rows[i].asked, &unit, &m));
        CHECK_STR(rows[i].msg, m.text);
        if (rows[i].e == ERR_OK)
            CHECK_STR(rows[i].unit, unit);
        CHECK(api_auth_scoped(&req) == (rows[i].key == 1 || rows[i].key == 2));
        CHECK(api_auth_unit_allowed(&req, "emea"));
        CHECK(api_auth_unit_allowed(&req, "us") == (rows[i].key == 0 || rows[i].key == 3));
    }
}

int main(void)
{
    RUN(test_roles);
    RUN(test_hash_vectors);
    RUN(test_new_and_verify);
    RUN(test_new_errors);
    RUN(test_json_roundtrip);
    RUN(test_json_errors);
    RUN(test_request_scope);
    return test_summary();
}
