/*
 * cmd_gen_names.h — the names, countries, segments and e-mail addresses
 * that `kpid gen` gives its customers and vendors (customer.updated and
 * vendor.updated events at the start of the book).
 *
 * A pure function of (receivables or payables, rank, unit, count): no
 * random stream is drawn, so the rest of a generated book is the same with
 * or without them. Names are in the scripts of the units' countries (Latin
 * with accents for EMEA, Japanese and Chinese for APAC), distinct for
 * distinct ranks, and never contain a quote or a backslash (the generator
 * writes them into JSON as they are).
 */
#ifndef KPID_CMD_GEN_NAMES_H
#define KPID_CMD_GEN_NAMES_H

#include <stdbool.h>
#include <stdint.h>

enum { GEN_NAME_MAX = 160 };

typedef struct gen_profile {
    char name[GEN_NAME_MAX];
    char email[64];
    char country[3];
    const char *segment; /* static */
} gen_profile_t;

/* The profile of the party of rank `idx` (0 = the biggest) of `n`, in unit
   `bu` (0 americas, 1 emea, 2 apac, 3 gulf); ar: a customer, else a
   vendor. `id` is its identifier (CUST-00001), used in its e-mail. */
void gen_party_profile(bool ar, uint32_t idx, uint32_t n, int bu, const char *id,
                       gen_profile_t *out);

#endif
