/*
 * api_dashboard.c — serves the embedded dashboard: GET / is index.html,
 * GET /dashboard/NAME one of its assets (api_dashboard.h); and GET
 * /v1/openapi.json, docs/openapi.json embedded the same way.
 *
 * Caching: every answer carries a strong ETag (a hash of the file, fixed at
 * build time) and "Cache-Control: no-cache", so a browser revalidates with
 * If-None-Match and gets a body-less 304 until the binary is upgraded; a
 * new binary can never be mixed with a cached old script.
 *
 * The page is locked to this server by its Content-Security-Policy: scripts,
 * styles and API calls may come only from the same origin, so the page
 * cannot depend on the internet by accident.
 */
#include "api_dashboard.h"

#include <string.h>

#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const api_asset_t *api_dashboard_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < api_dashboard_n_assets; i++)
        if (strcmp(api_dashboard_assets[i].name, name) == 0)
            return &api_dashboard_assets[i];
    return NULL;
}

/* true when the request's If-None-Match names etag (or is "*"). */
static bool not_modified(api_req_t *req, const char *etag)
{
    const char *inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "If-None-Match");
    if (inm == NULL)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    /* A list of entity tags, possibly weak (W/"..."): the weak comparison
       of RFC 9110 13.1.2 is what If-None-Match uses. */
    size_t el = strlen(etag);
    for (const char *p = strstr(inm, etag); p != NULL; p = strstr(p + 1, etag)) {
        char after = p[el];
        if (after == '\0' || after == ',' || after == ' ')
            return true;
    }
    return false;
}

static enum MHD_Result send_asset(api_req_t *req, const api_asset_t *a)
{
    bool nm = not_modified(req, a->etag);
    /* The data is static: MHD may send it in place. */
    struct MHD_Response *r =
        MHD_create_response_from_buffer(nm ? 0 : a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->ctype);
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    (void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (strncmp(a->ctype, "text/html", 9) == 0) {
        (void)MHD_add_response_header(r, "Content-Security-Policy", CSP);
        (void)MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    }
    return api_queue(req, nm ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
}

enum MHD_Result api_dashboard_index(api_req_t *req)
{
    const api_asset_t *a = api_dashboard_find("index.html");
    if (a == NULL) /* the build always embeds it; kept for a clear answer */
        return api_send_error(req, ERR_INTERNAL, "the dashboard was not built into this binary");
    return send_asset(req, a);
}

/* Embedded with the page's files but not one of them: one URL per document. */
#define OPENAPI_ASSET "openapi.json"

enum MHD_Result api_dashboard_asset(api_req_t *req)
{
    const api_asset_t *a = api_dashboard_find(req->path_rest);
    if (a != NULL && strcmp(a->name, OPENAPI_ASSET) == 0)
        a = NULL;
    if (a == NULL)
        return api_send_error_status(req, MHD_HTTP_NOT_FOUND, ERR_NOT_FOUND,
                                     "no such dashboard file: /dashboard/%s",
                                     req->path_rest ? req->path_rest : "");
    return send_asset(req, a);
}

enum MHD_Result api_openapi_get(api_req_t *req)
{
    const api_asset_t *a = api_dashboard_find(OPENAPI_ASSET);
    if (a == NULL) /* the build always embeds it; kept for a clear answer */
        return api_send_error(req, ERR_INTERNAL,
                              "docs/openapi.json was not built into this binary");
    return send_asset(req, a);
}
