/*
 * test_kpi_text.c — the formula-start rule of every exported text cell:
 * each of its six bytes, and the bytes that look close but are safe.
 */
#include "kpi_text.h"
#include "test.h"

static void test_formula_start(void)
{
    static const struct {
        char c;
        bool formula;
    } rows[] = {{'=', true},   {'+', true},   {'-', true},   {'@', true},  {'\t', true},
                {'\r', true},  {'\'', false}, {'a', false},  {'1', false}, {' ', false},
                {'\n', false}, {'"', false},  {'\0', false}, {'(', false}, {'%', false}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_MSG(kpi_text_formula_start(rows[i].c) == rows[i].formula,
                  "row %zu (byte 0x%02x): want %d", i, (unsigned)(unsigned char)rows[i].c,
                  (int)rows[i].formula);
}

int main(void)
{
    RUN(test_formula_start);
    return test_summary();
}
