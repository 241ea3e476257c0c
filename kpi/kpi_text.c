/*
 * kpi_text.c — rules about exported text (kpi_text.h).
 */
#include "kpi_text.h"

bool kpi_text_formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}
