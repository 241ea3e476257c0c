/*
 * test_coll_fastjson.c — the fast reader of flat event objects: what it
 * takes equals Jansson's json_loadb, and everything outside its simple shape
 * is left to Jansson (NULL), so users only ever see Jansson's messages.
 */
#include <jansson.h>

#include "coll_int.h"
#include "test.h"

static json_t *jansson(const char *s)
{
    json_error_t je;
    return json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
}

/* Inputs the fast reader takes: the object equals Jansson's. */
static void test_same_as_jansson(void)
{
    static const char *const rows[] = {
        "{}",
        "  { }  ",
        "{\"id\":\"e1\",\"type\":\"invoice.issued\",\"amount\":\"12.50\"}",
        "{\"id\":\"e1\", \"terms_days\": 30, \"n\": -7, \"z\": 0, \"m\": -0}",
        "{\"a\":true,\"b\":false,\"c\":null,\"d\":\"\"}",
        "\t{\r\n\"a\" :\t\"x y\" ,\n\"b\": 123456789012345678 }\r\n",
        "{\"time\":\"2025-03-31T14:05:00+02:00\",\"x\":\"~!@#$%^&*()[]{}:,\"}",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *f = coll_fast_object(rows[i], strlen(rows[i]));
        json_t *j = jansson(rows[i]);
        CHECK_MSG(f != NULL, "row %zu: %s", i, rows[i]);
        CHECK_MSG(j != NULL && json_equal(f, j), "row %zu differs from Jansson: %s", i, rows[i]);
        if (f != NULL && j != NULL) {
            /* Same keys in the same order, same value types. */
            const char *k1, *k2;
            json_t *v1, *v2;
            void *it1 = json_object_iter(f), *it2 = json_object_iter(j);
            while (it1 != NULL && it2 != NULL) {
                k1 = json_object_iter_key(it1);
                k2 = json_object_iter_key(it2);
                v1 = json_object_iter_value(it1);
                v2 = json_object_iter_value(it2);
                CHECK_STR(k2, k1);
                CHECK_INT(json_typeof(v2), json_typeof(v1));
                it1 = json_object_iter_next(f, it1);
                it2 = json_object_iter_next(j, it2);
            }
            CHECK(it1 == NULL && it2 == NULL);
        }
        json_decref(f);
        json_decref(j);
    }
}

/* Anything else goes to Jansson: valid JSON of another shape, and every
   syntax error (Jansson words the message). */
static void test_left_to_jansson(void)
{
    static const char *const rows[] = {
        "",
        "   ",
        "[1,2]",
        "\"text\"",
        "42",
        "{\"a\":\"esc\\\"aped\"}",
        "{\"a\":\"\\u00e9\"}",
        "{\"a\":\"caf\xc3\xa9\"}",
        "{\"a\":{\"b\":1}}",
        "{\"a\":[1]}",
        "{\"amount\":12.5}",
        "{\"amount\":1e3}",
        "{\"n\":1234567890123456789}",
        /* Digit runs long enough to overflow a 64-bit accumulator (found
           by fuzz_collector: UBSan signed overflow). */
        "{\"n\":92233720367203685470}",
        "{\"n\":-922337203672036854700000000000}",
        "{\"n\":007}",
        "{\"n\":-}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1,}",
        "{\"a\":1} x",
        "{\"a\":1}{\"b\":2}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":tru}",
        "{\"a\":\"unterminated}",
        "{\"a\":1",
        "{\"a\":\"tab\there\"}",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *f = coll_fast_object(rows[i], strlen(rows[i]));
        CHECK_MSG(f == NULL, "row %zu should be left to Jansson: %s", i, rows[i]);
        json_decref(f);
    }
    /* A key longer than the reader's buffer is left to Jansson too. */
    char big[400];
    memset(big, 'k', sizeof big);
    memcpy(big, "{\"", 2);
    memcpy(big + sizeof big - 6, "\":1}", 5);
    json_t *f = coll_fast_object(big, strlen(big));
    CHECK(f == NULL);
    json_decref(f);
    /* The length bounds the input: a NUL inside is not an end. */
    static const char nul[] = "{\"a\":1}\0junk";
    f = coll_fast_object(nul, sizeof nul - 1);
    CHECK(f == NULL);
    json_decref(f);
    f = coll_fast_object(nul, 7);
    CHECK(f != NULL && json_integer_value(json_object_get(f, "a")) == 1);
    json_decref(f);
    /* An empty item may come as (NULL, 0): left to Jansson, no arithmetic on
       the null pointer (found by fuzz_collector). */
    CHECK(coll_fast_object(NULL, 0) == NULL);
    CHECK(coll_fast_object("", 0) == NULL);
}

int main(void)
{
    RUN(test_same_as_jansson);
    RUN(test_left_to_jansson);
    return test_summary();
}
