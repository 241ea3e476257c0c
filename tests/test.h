/*
 * test.h — the minimal test harness of kpid's unit tests.
 *
 * A test file defines `static void test_xxx(void)` functions and runs them
 * from main() with RUN(test_xxx); main returns test_summary(). A failed
 * CHECK prints file:line, the expression and, for the typed forms, the
 * expected and actual values, then continues with the next check so one run
 * shows every failure. Table-driven tests pass the row (or its label) in
 * `ctx` so a failure names it.
 */
#ifndef KPID_TEST_H
#define KPID_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_;
static int test_checks_;
static const char *test_current_ = "";

#define TEST_FAIL_(...)                                                                            \
    do {                                                                                           \
        test_failures_++;                                                                          \
        fprintf(stderr, "%s:%d: [%s] ", __FILE__, __LINE__, test_current_);                        \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_checks_++;                                                                            \
        if (!(cond))                                                                               \
            TEST_FAIL_("check failed: %s", #cond);                                                 \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        test_checks_++;                                                                            \
        if (!(cond)) {                                                                             \
            TEST_FAIL_("check failed: %s", #cond);                                                 \
            fprintf(stderr, "    ");                                                               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_INT(expected, actual)                                                                \
    do {                                                                                           \
        test_checks_++;                                                                            \
        long long e_ = (long long)(expected), a_ = (long long)(actual);                            \
        if (e_ != a_)                                                                              \
            TEST_FAIL_("%s: expected %lld, got %lld", #actual, e_, a_);                            \
    } while (0)

#define CHECK_STR(expected, actual)                                                                \
    do {                                                                                           \
        test_checks_++;                                                                            \
        const char *e_ = (expected), *a_ = (actual);                                               \
        if ((e_ == NULL) != (a_ == NULL) || (e_ && strcmp(e_, a_) != 0))                           \
            TEST_FAIL_("%s: expected \"%s\", got \"%s\"", #actual, e_ ? e_ : "(null)",             \
                       a_ ? a_ : "(null)");                                                        \
    } while (0)

/* err_t checks print the code names. */
#define CHECK_ERR(expected, actual)                                                                \
    do {                                                                                           \
        test_checks_++;                                                                            \
        err_t e_ = (expected), a_ = (actual);                                                      \
        if (e_ != a_)                                                                              \
            TEST_FAIL_("%s: expected %s, got %s", #actual, err_code(e_), err_code(a_));            \
    } while (0)

/* Abort the whole test binary: for set-up that later checks cannot survive. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        test_checks_++;                                                                            \
        if (!(cond)) {                                                                             \
            TEST_FAIL_("required: %s", #cond);                                                     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        test_current_ = #fn;                                                                       \
        int before_ = test_failures_;                                                              \
        fn();                                                                                      \
        fprintf(stderr, "%s %s\n", test_failures_ == before_ ? "ok  " : "FAIL", #fn);              \
    } while (0)

/* An optional check that cannot run here (a missing font, no /dev/full, no
   right to mount): say so on stderr and append "test: why" to the file
   $KPID_SKIP_LOG names, which ./dev test prints at the end, so a skip is
   never silent in a green run. */
static inline void test_skip(const char *why)
{
    fprintf(stderr, "    skipped: %s\n", why);
    const char *path = getenv("KPID_SKIP_LOG");
    if (path == NULL || path[0] == '\0')
        return;
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return;
    fprintf(f, "%s: %s\n", test_current_, why);
    fclose(f);
}

static inline int test_summary(void)
{
    fprintf(stderr, "%d checks, %d failed\n", test_checks_, test_failures_);
    return test_failures_ ? 1 : 0;
}

#endif
