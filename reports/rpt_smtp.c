/*
 * rpt_smtp.c — one message to an SMTP server with libcurl (see rpt_mail.h).
 * The only file of kpid that uses libcurl.
 */
#include "rpt_mail.h"

#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

typedef struct reader {
    const char *data;
    size_t len, off;
} reader_t;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
    reader_t *r = ud;
    size_t room = size * nmemb, left = r->len - r->off;
    size_t n = left < room ? left : room;
    memcpy(buf, r->data + r->off, n);
    r->off += n;
    return n;
}

/* The server's last reply line (CURLINFO_HEADER_IN), for the log: libcurl's
   own message for a 4xx/5xx reply is only "Weird server reply". */
typedef struct reply {
    char line[200];
} reply_t;

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    reply_t *r = ud;
    if (type != CURLINFO_HEADER_IN || size == 0)
        return 0;
    size_t n = size < sizeof r->line - 1 ? size : sizeof r->line - 1;
    size_t o = 0;
    for (size_t i = 0; i < n && data[i] != '\r' && data[i] != '\n'; i++)
        r->line[o++] = (unsigned char)data[i] >= 0x20 && data[i] != 0x7F ? data[i] : '?';
    r->line[o] = '\0';
    return 0;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_OK;

static void global_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

err_t rpt_smtp_send(const rpt_mail_conf_t *c, const char *from, const char *const *to, size_t n_to,
                    const char *data, size_t len, int *smtp_code, err_msg_t *msg)
{
    if (smtp_code != NULL)
        *smtp_code = 0;
    pthread_once(&init_once, global_init);
    if (init_rc != CURLE_OK)
        return err_set(msg, ERR_INTERNAL, "libcurl: %s", curl_easy_strerror(init_rc));
    CURL *h = curl_easy_init();
    if (h == NULL)
        return err_set(msg, ERR_NOMEM, "libcurl: cannot create a handle");
    struct curl_slist *rcpt = NULL;
    err_t e = ERR_OK;
    char addr[RPT_MAIL_ADDR_MAX + 2];
    for (size_t i = 0; i < n_to && !e; i++) {
        snprintf(addr, sizeof addr, "<%s>", to[i]);
        struct curl_slist *n = curl_slist_append(rcpt, addr);
        if (n == NULL)
            e = err_set(msg, ERR_NOMEM, "out of memory");
        else
            rcpt = n;
    }
    if (e) {
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(h);
        return e;
    }
    char sender[RPT_MAIL_ADDR_MAX + 2];
    snprintf(sender, sizeof sender, "<%s>", from);
    reader_t r = {data, len, 0};
    char ebuf[CURL_ERROR_SIZE] = "";
    long timeout = c->timeout_s ? (long)c->timeout_s : 60;
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, sender);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &r);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 30 ? timeout : 30L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    reply_t reply = {""};
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &reply);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* feeds debug_cb; nothing is printed */
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     c->starttls == RPT_MAIL_TLS_REQUIRE ? (long)CURLUSESSL_ALL
                     : c->starttls == RPT_MAIL_TLS_OFF   ? (long)CURLUSESSL_NONE
                                                         : (long)CURLUSESSL_TRY);
    if (c->user[0] != '\0') {
        curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    }
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (smtp_code != NULL)
        *smtp_code = (int)code;
    if (rc != CURLE_OK) {
        if (code >= 400 && reply.line[0] != '\0')
            e = err_set(msg, ERR_IO, "SMTP %s: the server replied '%s'", c->url, reply.line);
        else if (code > 0)
            e = err_set(msg, ERR_IO, "SMTP %s: %s (server replied %ld)", c->url,
                        ebuf[0] ? ebuf : curl_easy_strerror(rc), code);
        else
            e = err_set(msg, ERR_IO, "SMTP %s: %s", c->url,
                        ebuf[0] ? ebuf : curl_easy_strerror(rc));
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return e;
}
