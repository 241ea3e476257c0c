/*
 * rpt_mime.c — the e-mail of a report, as pure functions (see rpt_mail.h):
 * address checks, the period label, the subject, and the RFC 5322 / MIME
 * message with the PDF attached.
 *
 * The message:
 *   Date, From, To, Subject (RFC 2047 "=?UTF-8?B?...?=" words of at most 75
 *   characters, folded), Message-ID, MIME-Version, then multipart/mixed with
 *   a text/plain part and the attachment, both base64 with lines of 76
 *   characters. The boundary starts with "=_", which base64 never produces,
 *   so it cannot occur in either part.
 */
#include "rpt_mail.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kpi_date.h"

bool rpt_mail_addr_ok(const char *a)
{
    if (a == NULL)
        return false;
    size_t n = strlen(a), at = 0, ats = 0;
    if (n < 3 || n > 254)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= 0x20 || c >= 0x7F || strchr("<>()[],;:\\\"", c) != NULL)
            return false;
        if (c == '@') {
            ats++;
            at = i;
        }
    }
    return ats == 1 && at > 0 && at < n - 1;
}

static bool has_ctl(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return true;
    return false;
}

static int32_t iso_week1(int32_t y)
{
    int32_t jan4 = kpi_days_from_civil(y, 1, 4);
    return jan4 - (kpi_weekday(jan4) - 1);
}

const char *rpt_mail_period_label(int32_t from, int32_t to, char buf[RPT_MAIL_PERIOD_BUF])
{
    int32_t y, m, d, y2, m2, d2;
    kpi_civil_from_days(from, &y, &m, &d);
    kpi_civil_from_days(to, &y2, &m2, &d2);
    char a[KPI_DATE_BUF], b[KPI_DATE_BUF];
    if (from == to) {
        snprintf(buf, RPT_MAIL_PERIOD_BUF, "%s", kpi_date_format(from, a));
        return buf;
    }
    bool month_end = d2 == kpi_days_in_month(y2, m2);
    if (d == 1 && month_end && y == y2) {
        if (m == 1 && m2 == 12) {
            snprintf(buf, RPT_MAIL_PERIOD_BUF, "%04d", (int)y);
            return buf;
        }
        if (m == m2) {
            snprintf(buf, RPT_MAIL_PERIOD_BUF, "%04d-%02d", (int)y, (int)m);
            return buf;
        }
        if (m2 == m + 2 && (m - 1) % 3 == 0) {
            snprintf(buf, RPT_MAIL_PERIOD_BUF, "%04d-Q%d", (int)y, (int)(m + 2) / 3);
            return buf;
        }
    }
    if (to == from + 6 && kpi_weekday(from) == 1) {
        /* The ISO year is the one of the week's Thursday. */
        int32_t ty, tm, td;
        kpi_civil_from_days(from + 3, &ty, &tm, &td);
        int32_t wk = (from - iso_week1(ty)) / 7 + 1;
        snprintf(buf, RPT_MAIL_PERIOD_BUF, "%04d-W%02d", (int)ty, (int)wk);
        return buf;
    }
    snprintf(buf, RPT_MAIL_PERIOD_BUF, "%s..%s", kpi_date_format(from, a), kpi_date_format(to, b));
    return buf;
}

#define EM_DASH " \xE2\x80\x94 "

err_t rpt_mail_subject(const char *kind, const char *unit, const char *period, char *buf,
                       size_t cap)
{
    if (unit == NULL || unit[0] == '\0')
        unit = "whole book";
    if (has_ctl(kind) || has_ctl(unit) || has_ctl(period))
        return ERR_BAD_PARAM;
    int n = snprintf(buf, cap, "kpid %s report" EM_DASH "%s" EM_DASH "%s", kind, unit, period);
    return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : ERR_OK;
}

/* ---- a growing buffer ------------------------------------------------------- */

typedef struct sb {
    char *p;
    size_t n, cap;
    bool oom;
} sb_t;

static void sb_put(sb_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sb_t *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of data without line breaks */
static void b64(sb_t *b, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        char q[4] = {B64[(v >> 18) & 63], B64[(v >> 12) & 63], i + 1 < n ? B64[(v >> 6) & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        sb_put(b, q, 4);
    }
}

/* base64 in lines of 76 characters, each ended by CRLF */
static void b64_lines(sb_t *b, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i += 57) {
        b64(b, d + i, n - i < 57 ? n - i : 57);
        sb_str(b, "\r\n");
    }
}

/* "Subject: " and the subject as encoded words of at most 75 characters
   (=?UTF-8?B? + 44 base64 characters + ?=: 33 bytes of text each, cut only
   between UTF-8 characters), one per line. */
static void subject_header(sb_t *b, const char *s)
{
    sb_str(b, "Subject:");
    size_t n = strlen(s), i = 0;
    if (n == 0)
        sb_str(b, " ");
    while (i < n) {
        size_t k = n - i < 33 ? n - i : 33;
        while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k--; /* do not split a character */
        sb_str(b, i == 0 ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?");
        b64(b, (const unsigned char *)s + i, k);
        sb_str(b, "?=");
        i += k;
    }
    sb_str(b, "\r\n");
}

const char *rpt_mail_content_type(const char *file_name)
{
    size_t n = file_name != NULL ? strlen(file_name) : 0;
    if (n > 5 && strcmp(file_name + n - 5, ".xlsx") == 0)
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    return "application/pdf";
}

static bool file_name_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 200)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

err_t rpt_mail_build(const rpt_mail_msg_t *m, char **out, size_t *out_len, err_msg_t *msg)
{
    *out = NULL;
    *out_len = 0;
    if (!rpt_mail_addr_ok(m->from))
        return err_set(msg, ERR_BAD_PARAM, "sender '%.80s' is not an e-mail address", m->from);
    if (m->n_to == 0 || m->n_to > RPT_MAIL_TO_MAX)
        return err_set(msg, ERR_BAD_PARAM, "a message needs 1 to %d recipients", RPT_MAIL_TO_MAX);
    for (size_t i = 0; i < m->n_to; i++)
        if (!rpt_mail_addr_ok(m->to[i]))
            return err_set(msg, ERR_BAD_PARAM, "recipient '%.80s' is not an e-mail address",
                           m->to[i]);
    if (m->subject == NULL || has_ctl(m->subject))
        return err_set(msg, ERR_BAD_PARAM, "the subject holds a control character (CR, LF ...)");
    if (m->message_id == NULL || !rpt_mail_addr_ok(m->message_id))
        return err_set(msg, ERR_BAD_PARAM, "message id '%.80s' is not left@right",
                       m->message_id ? m->message_id : "");
    if (!file_name_ok(m->file_name))
        return err_set(msg, ERR_BAD_PARAM, "attachment name '%.80s' is not [A-Za-z0-9._-]",
                       m->file_name ? m->file_name : "");

    /* The boundary: "=_kpid_" and the message id's left part, sanitized. */
    char boundary[96] = "=_kpid_";
    size_t bl = strlen(boundary);
    for (const char *p = m->message_id; *p && *p != '@' && bl < sizeof boundary - 1; p++)
        boundary[bl++] =
            ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
                ? *p
                : '_';
    boundary[bl] = '\0';

    sb_t b = {0};
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t t = m->date_s;
    int32_t day = kpi_utc_day(t), y, mm, d;
    kpi_civil_from_days(day, &y, &mm, &d);
    int64_t sod = t - (int64_t)day * 86400;
    char line[512];
    snprintf(line, sizeof line, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             wd[kpi_weekday(day) % 7], (int)d, mo[mm - 1], (int)y, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60));
    sb_str(&b, line);
    snprintf(line, sizeof line, "From: <%s>\r\n", m->from);
    sb_str(&b, line);
    sb_str(&b, "To: ");
    for (size_t i = 0; i < m->n_to; i++) {
        snprintf(line, sizeof line, "%s<%s>", i ? ",\r\n " : "", m->to[i]);
        sb_str(&b, line);
    }
    sb_str(&b, "\r\n");
    subject_header(&b, m->subject);
    snprintf(line, sizeof line, "Message-ID: <%s>\r\n", m->message_id);
    sb_str(&b, line);
    sb_str(&b, "MIME-Version: 1.0\r\n");
    snprintf(line, sizeof line, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n",
             boundary);
    sb_str(&b, line);
    const char *ctype = rpt_mail_content_type(m->file_name);
    sb_str(&b, strcmp(ctype, "application/pdf") == 0
                   ? "This is a MIME message with a PDF report attached.\r\n"
                   : "This is a MIME message with an XLSX report attached.\r\n");

    snprintf(line, sizeof line, "\r\n--%s\r\n", boundary);
    sb_str(&b, line);
    sb_str(&b, "Content-Type: text/plain; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n");
    /* The text with CRLF line ends, then base64. */
    sb_t txt = {0};
    const char *tx = m->text ? m->text : "";
    for (const char *p = tx; *p; p++) {
        if (*p == '\n')
            sb_str(&txt, "\r\n");
        else if (*p != '\r')
            sb_put(&txt, p, 1);
    }
    if (txt.oom)
        b.oom = true;
    b64_lines(&b, (const unsigned char *)(txt.p ? txt.p : ""), txt.n);
    free(txt.p);

    snprintf(line, sizeof line, "\r\n--%s\r\n", boundary);
    sb_str(&b, line);
    snprintf(line, sizeof line,
             "Content-Type: %s;\r\n name=\"%s\"\r\n"
             "Content-Disposition: attachment;\r\n filename=\"%s\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n",
             ctype, m->file_name, m->file_name);
    sb_str(&b, line);
    b64_lines(&b, m->data, m->len);
    snprintf(line, sizeof line, "\r\n--%s--\r\n", boundary);
    sb_str(&b, line);
    if (b.oom) {
        free(b.p);
        return err_set(msg, ERR_NOMEM, "out of memory building the message");
    }
    *out = b.p;
    *out_len = b.n;
    return ERR_OK;
}
