/*
 * api_csv.c — the cells of every CSV answer (see api_int.h).
 *
 * Text and numbers take different paths: a text cell that a spreadsheet
 * would run as a formula is neutralised as OWASP recommends (a leading
 * apostrophe, the cell quoted); a numeric cell is checked to be a plain
 * decimal number and written as is, so negative amounts stay numbers.
 */
#include "api_int.h"

#include <string.h>

static bool formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

void api_buf_csv_field(api_buf_t *b, const char *s)
{
    if (s == NULL)
        return;
    bool neutralise = formula_start(s[0]);
    /* Excel opens RFC 4180 CSV; quote only when needed so that plain text
       stays plain. */
    if (!neutralise && strpbrk(s, ",\"\r\n") == NULL) {
        api_buf_str(b, s);
        return;
    }
    api_buf_add(b, neutralise ? "\"'" : "\"", neutralise ? 2 : 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            api_buf_add(b, "\"\"", 2);
        else
            api_buf_add(b, p, 1);
    }
    api_buf_add(b, "\"", 1);
}

bool api_csv_is_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    size_t digits = 0, dots = 0;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && dots == 0 && digits > 0)
            dots++;
        else
            return false;
    }
    return digits > 0 && p[-1] != '.';
}

void api_buf_csv_num(api_buf_t *b, const char *s)
{
    if (s == NULL)
        return;
    if (api_csv_is_number(s))
        api_buf_str(b, s);
    else
        api_buf_csv_field(b, s);
}

void api_csv_start(api_buf_t *b, size_t max, bool bom)
{
    api_buf_init(b, max);
    if (bom)
        api_buf_str(b, API_CSV_BOM);
}
