/*
 * kpi_suggest.h — "did you mean": the closest of a list of known words.
 *
 * One helper for every message that refuses a name (event types, fields,
 * query parameters, business units, currencies): the collector and the API
 * both call it, so a typo is answered the same way everywhere. Pure: no
 * allocation beyond the stack, no I/O.
 */
#ifndef KPID_KPI_SUGGEST_H
#define KPID_KPI_SUGGEST_H

#include <stddef.h>

/* Longest word (bytes) kpi_suggest_distance compares; longer ones never match. */
#define KPI_SUGGEST_LEN_MAX 128

/*
 * The optimal-string-alignment (restricted Damerau-Levenshtein) distance
 * of a and b: insertions, deletions, substitutions and transpositions of
 * two adjacent bytes each cost 1. Bytes are compared case-insensitively
 * (ASCII), but a difference of case alone still costs 1 overall so that
 * "EMEA" is near "emea" without being equal to it. Computation stops at
 * `bound`: any distance above it is returned as bound + 1. Words longer
 * than KPI_SUGGEST_LEN_MAX are bound + 1 away from everything.
 */
size_t kpi_suggest_distance(const char *a, const char *b, size_t bound);

/*
 * The word of words[0..n) closest to `s` (NULL entries are skipped), or
 * NULL when none is close: a word is close when its distance is at most a
 * third of the longer word's length (at least 1, at most 3), or when it
 * differs from s in case only, or when one starts with the other and
 * lacks at most three bytes ("invoice.issue" -> "invoice.issued"). A word
 * equal to s is never suggested. Ties go to the earlier word.
 */
const char *kpi_suggest(const char *s, const char *const *words, size_t n);

/*
 * Write into buf (cap bytes, always terminated) the words of words[0..n)
 * joined by ", ", at most `max` of them, followed by ", ... (N more)"
 * when there are more; NULL entries are skipped. Returns buf.
 */
char *kpi_suggest_list(const char *const *words, size_t n, size_t max, char *buf, size_t cap);

#endif
