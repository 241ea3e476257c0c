/*
 * rpt_id.h — the one rule that names report files, shared by on-demand
 * reports (rpt.h) and scheduled ones (rpt_sched.h), so that GET /v1/reports
 * lists and parses both alike.
 *
 * An id is "<kind>-<unit>-<from>-<to>-<YYYYMMDDTHHMMSSZ>" (days as
 * YYYY-MM-DD, the stamp in UTC); the file is "<id>.pdf", or "<id>.xlsx" for
 * the kind xlsx (rpt_id_ext). The unit is "all"
 * for the whole book; a unit's name keeps [A-Za-z0-9._-], other bytes become
 * '_', a leading '.' and any ".." are broken up, and a unit really called
 * "all" becomes "_all". So an id never names a path outside its directory.
 */
#ifndef KPID_RPT_ID_H
#define KPID_RPT_ID_H

#include <stdint.h>

#define RPT_ID_MAX 160 /* bytes of an id, NUL included */

#define RPT_ID_UNIT_MAX 65 /* bytes of an id's unit part, NUL included */

/*
 * A customer as a statement's id names it (rpt.h): its bytes with every one
 * outside [A-Za-z0-9_] as '_', cut to 40, then '.' and 8 hex digits of a
 * 32-bit FNV-1a hash of the whole name. The hash keeps apart names that
 * read alike in this form (every CJK name is only '_'s), so two statements
 * of one second for different customers never share a file; the readable
 * part lets a person find a file. "CUST-00001" -> "CUST_00001.8f2c41d0".
 */
#define RPT_ID_CUSTOMER_MAX 50 /* bytes, NUL included */
void rpt_id_customer(const char *customer, char buf[RPT_ID_CUSTOMER_MAX]);

/* The unit part of an id for business_unit (NULL or "" = "all"). */
void rpt_id_unit(const char *business_unit, char buf[RPT_ID_UNIT_MAX]);

/* kind: "sla", "aging", ...; business_unit: NULL or "" = the whole book. */
void rpt_id_format(const char *kind, const char *business_unit, int32_t from_day, int32_t to_day,
                   int64_t created_s, char buf[RPT_ID_MAX]);

/* The file extension of a report of `kind`, or of the report named `id`
   (an id starts with its kind): ".xlsx" for the kind "xlsx", ".pdf" for
   every other. A static string. */
const char *rpt_id_ext(const char *kind_or_id);

/* true when id could name a report file: 1..RPT_ID_MAX-1 bytes of
   [A-Za-z0-9._-], not starting with '.', no "..": no path traversal. */
int rpt_id_valid(const char *id);

#endif
