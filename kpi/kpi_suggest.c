/*
 * kpi_suggest.c — closest-match suggestions (see kpi_suggest.h).
 */
#include "kpi_suggest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

size_t kpi_suggest_distance(const char *a, const char *b, size_t bound)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > KPI_SUGGEST_LEN_MAX || lb > KPI_SUGGEST_LEN_MAX)
        return bound + 1;
    if ((la > lb ? la - lb : lb - la) > bound)
        return bound + 1;
    /* Three rows of the dynamic programme: i-2, i-1, i. */
    size_t rows[3][KPI_SUGGEST_LEN_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        rows[0][j] = j;
    size_t *pp = NULL, *p = rows[0], *c = rows[1];
    for (size_t i = 1; i <= la; i++) {
        c[0] = i;
        size_t best = c[0];
        unsigned char ai = lower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            unsigned char bj = lower((unsigned char)b[j - 1]);
            size_t cost = ai == bj ? 0 : 1;
            size_t v = min3(p[j] + 1, c[j - 1] + 1, p[j - 1] + cost);
            if (pp != NULL && j > 1 && ai == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == bj && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
            if (v < best)
                best = v;
        }
        if (best > bound)
            return bound + 1;
        size_t *spare = pp != NULL ? pp : rows[2];
        pp = p;
        p = c;
        c = spare;
    }
    size_t d = p[lb];
    /* Equal but for case: one step away, never zero. */
    if (d == 0 && strcmp(a, b) != 0)
        d = 1;
    return d > bound ? bound + 1 : d;
}

static bool same_but_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* One starts with the other (ignoring case) and is at most 3 bytes longer. */
static bool near_prefix(const char *s, const char *w)
{
    size_t ls = strlen(s), lw = strlen(w);
    const char *shorter = ls < lw ? s : w;
    size_t n = ls < lw ? ls : lw, diff = ls < lw ? lw - ls : ls - lw;
    if (diff == 0 || diff > 3 || n < 3)
        return false;
    const char *longer = shorter == s ? w : s;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)shorter[i]) != lower((unsigned char)longer[i]))
            return false;
    return true;
}

const char *kpi_suggest(const char *s, const char *const *words, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t ls = strlen(s);
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        if (w == NULL || strcmp(w, s) == 0)
            continue;
        size_t lw = strlen(w), longer = ls > lw ? ls : lw;
        size_t bound = longer / 3;
        if (bound < 1)
            bound = 1;
        if (bound > 3)
            bound = 3;
        size_t d;
        if (same_but_case(s, w))
            d = 0; /* the best possible hint */
        else if ((d = kpi_suggest_distance(s, w, bound)) > bound)
            d = near_prefix(s, w) ? bound : (size_t)-1;
        if (d < best_d) {
            best_d = d;
            best = w;
        }
    }
    return best;
}

char *kpi_suggest_list(const char *const *words, size_t n, size_t max, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    size_t len = 0, shown = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (words[i] == NULL)
            continue;
        total++;
        if (shown == max)
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s", shown ? ", " : "", words[i]);
        if (w < 0 || (size_t)w >= cap - len) {
            buf[len] = '\0';
            max = shown; /* no room: the rest are counted, not shown */
            continue;
        }
        len += (size_t)w;
        shown++;
    }
    if (total > shown) {
        char more[48];
        int w = snprintf(more, sizeof more, "%s... (%zu more)", shown ? ", " : "", total - shown);
        if (w > 0 && (size_t)w < cap - len)
            memcpy(buf + len, more, (size_t)w + 1);
    }
    return buf;
}
