/*
 * fuzz_cron.c — libFuzzer target for report schedules: cron expressions
 * (rpt_cron_parse in reports/rpt_cron.h).
 *
 * The whole input, NUL-terminated, is the expression. Properties:
 *   - a refused expression comes with a non-empty one-line message;
 *   - parsing is deterministic: the same text gives the same result bytes;
 *   - an input with an embedded NUL parses as its prefix would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz_util.h"
#include "rpt_cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = malloc(size + 1);
    if (expr == NULL)
        return 0;
    memcpy(expr, data, size);
    expr[size] = '\0';
    rpt_cron_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    err_msg_t m1 = {{0}}, m2 = {{0}};
    err_t e1 = rpt_cron_parse(expr, &a, &m1);
    err_t e2 = rpt_cron_parse(expr, &b, &m2);
    FUZZ_CHECK(e1 == e2, "'%s': %s then %s", expr, err_code(e1), err_code(e2));
    if (e1 != ERR_OK) {
        FUZZ_CHECK(m1.text[0] != '\0' && fuzz_one_line(m1.text), "'%s': message '%s'", expr,
                   m1.text);
        FUZZ_CHECK(strcmp(m1.text, m2.text) == 0, "'%s': two messages", expr);
    } else {
        FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0, "'%s' parses two ways", expr);
    }
    free(expr);
    return 0;
}
