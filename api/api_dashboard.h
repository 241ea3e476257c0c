/*
 * api_dashboard.h — the management dashboard (GET /) and its static assets
 * (GET /dashboard/NAME), plus GET /v1/meta, the facts the page needs to
 * build its filters (business units, SLAs, currencies, latest event day).
 *
 * The page's files (api/dashboard/index.html, app.js, app.css) and the
 * charting library fetched by npm (Chart.js) are turned into byte arrays at
 * build time (api/dashboard/embed.cmake writes api_dashboard_assets.c in
 * the build tree), so the binary serves them with no file system access and
 * no internet. Nothing in the page refers to another host.
 */
#ifndef KPID_API_DASHBOARD_H
#define KPID_API_DASHBOARD_H

#include <stddef.h>

#include "api_int.h"

/* One embedded file. Everything is static data, never freed. */
typedef struct api_asset {
    const char *name;          /* file name under /dashboard/ ("app.js") */
    const char *ctype;         /* Content-Type, with charset for text */
    const unsigned char *data; /* the file's bytes */
    size_t len;                /* bytes */
    const char *etag;          /* quoted strong ETag: the file's SHA-1 prefix */
} api_asset_t;

/* The generated table (api_dashboard_assets.c), in name order. */
extern const api_asset_t api_dashboard_assets[];
extern const size_t api_dashboard_n_assets;

/* The asset called `name`, or NULL. */
const api_asset_t *api_dashboard_find(const char *name);

/* GET / (the page) and GET /dashboard/NAME (its scripts and styles). */
enum MHD_Result api_dashboard_index(api_req_t *req);
enum MHD_Result api_dashboard_asset(api_req_t *req);

/* GET /v1/openapi.json: docs/openapi.json, the API's OpenAPI 3.1 document,
   embedded at build time; open, like /healthz (docs/security.md). */
enum MHD_Result api_openapi_get(api_req_t *req);

/* GET /v1/meta (api_meta.c). */
enum MHD_Result api_meta_get(api_req_t *req);
extern const char *const api_meta_params[];

#endif
