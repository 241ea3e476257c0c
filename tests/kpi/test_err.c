/*
 * test_err.c — every error code has a distinct stable name and a message;
 * err_set formats into the caller's buffer and tolerates NULL.
 */
#include <string.h>

#include "err.h"
#include "test.h"

static void test_names_distinct(void)
{
    for (int a = ERR_OK; a <= ERR_INTERNAL; a++) {
        test_current_ = err_code((err_t)a);
        CHECK(err_code((err_t)a)[0] != '\0');
        CHECK(err_str((err_t)a)[0] != '\0');
        for (int b = a + 1; b <= ERR_INTERNAL; b++)
            CHECK(strcmp(err_code((err_t)a), err_code((err_t)b)) != 0);
    }
    CHECK_STR("too_many_decimals", err_code(ERR_TOO_MANY_DECIMALS));
    CHECK_STR("document_conflict", err_code(ERR_DOC_CONFLICT));
}

static void test_err_set(void)
{
    err_msg_t m = {{0}};
    CHECK_STR(err_str(ERR_IO), err_msg_or(&m, ERR_IO));
    CHECK_ERR(ERR_IO, err_set(&m, ERR_IO, "open %s: %s", "x", "denied"));
    CHECK_STR("open x: denied", m.text);
    CHECK_STR("open x: denied", err_msg_or(&m, ERR_IO));
    CHECK_ERR(ERR_TZ, err_set(NULL, ERR_TZ, "ignored %d", 1));
    CHECK_STR(err_str(ERR_TZ), err_msg_or(NULL, ERR_TZ));
    /* Long detail is truncated, never overflows. */
    char longs[1000];
    memset(longs, 'a', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    CHECK_ERR(ERR_PARSE, err_set(&m, ERR_PARSE, "%s", longs));
    CHECK_INT(ERR_MSG_CAP - 1, strlen(m.text));
}

int main(void)
{
    RUN(test_names_distinct);
    RUN(test_err_set);
    return test_summary();
}
