/*
 * store_query_seg.h — customers grouped by the segment of their profile
 * (customer.updated's `segment`): aging per segment and a series per
 * segment, for `group_by=segment` on /v1/aging and /v1/dso.
 *
 * A segment's figures are the sums of its customers' figures in the scope
 * (currency, business unit), so the segments of a scope add up to the
 * scope. A customer with no profile, or a profile without a segment, is in
 * the group STORE_Q_NO_SEGMENT. Segments are listed by name, that group
 * last. A customer moves to another segment with its latest profile: the
 * grouping is today's, for every period and as-of day.
 */
#ifndef KPID_STORE_QUERY_SEG_H
#define KPID_STORE_QUERY_SEG_H

#include "store_query.h"

#define STORE_Q_NO_SEGMENT "(no segment)"

/* The segments of the customers of scope (currency, unit; party is
   ignored), by name, and for each the customers in it. */
typedef struct store_q_segments {
    size_t n;
    const char **names;         /* n names; the last may be STORE_Q_NO_SEGMENT */
    store_q_names_t *customers; /* n lists */
} store_q_segments_t;

err_t store_q_segments(store_snap_t *snap, const store_scope_t *sc, kpi_arena_t *arena,
                       store_q_segments_t *out, err_msg_t *m) KPID_MUST_USE;

/* Aging by segment: out->all is the scope's, out->groups/keys the
   segments' (those with no open item left out, as for customers). */
err_t store_q_aging_by_segment(store_snap_t *snap, const store_scope_t *sc,
                               const store_q_aging_req_t *rq, kpi_arena_t *arena,
                               store_q_aging_t *out, err_msg_t *m) KPID_MUST_USE;

/* A DSO, CEI or roll-forward series of one segment's customers (their
   flows summed day by day): out has rq->n_periods points. */
err_t store_q_series_of(store_snap_t *snap, const store_scope_t *sc,
                        const store_q_names_t *customers, const store_q_series_req_t *rq,
                        kpi_arena_t *arena, store_q_point_t *out, err_msg_t *m) KPID_MUST_USE;

#endif
