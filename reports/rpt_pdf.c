/*
 * rpt_pdf.c — draw a gathered report (rpt_int.h) as an A4 PDF with libharu.
 *
 * The only file of kpid that includes <hpdf.h>. It formats and draws; every
 * figure was gathered before (rpt_data.c), so nothing here reads the store.
 *
 * Layout: A4 portrait, 48 pt side margins. Every page has a header (title,
 * business unit, period, currency, generation time, zone) and a footer
 * ("Page n of m", drawn once the page count is known). Content flows down
 * a cursor; a block that does not fit starts a new page, and a table that
 * breaks repeats its header row. Number columns are right-aligned; a
 * figure wider than its column is set smaller (down to 5 pt), a text wider
 * than its column is cut with an ellipsis, so nothing overlaps. The last
 * page lists the definitions used.
 *
 * Text: UTF-8 throughout (HPDF_UseUTFEncodings), TrueType fonts embedded
 * as subsets. Each character is drawn with DejaVu Sans when it has a
 * glyph there, else with the CJK font (loaded on first need), so a name
 * mixing scripts is split into runs of one font each. A character neither
 * font has is drawn as U+FFFD; a CJK character with no CJK font installed
 * is an error naming the package, never a silent box. Before saving, the
 * parts of composite glyphs are added to the font subsets ourselves
 * (rpt_pdf_mark_composites: libharu 2.3.0 loses those above glyph 32767).
 *
 * Chart geometry uses floating point (positions on the page); the numbers
 * printed anywhere are the exact figures formatted by rpt_fmt_*.
 */
#include "rpt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hpdf.h>
/* The glyph lookup (does this font have U+XXXX?) needs the font's
   definition; libharu installs these headers but has no accessor for it. */
#include <hpdf_font.h>
#include <hpdf_fontdef.h>

#include "kpi_date.h"
#include "kpi_money.h"

#define FONT_LATIN "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define FONT_BOLD "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
#define FONT_CJK "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define PKG_LATIN "fonts-dejavu-core"
#define PKG_CJK "fonts-wqy-microhei"

#define PAGE_W 595.276f      /* A4: 595.276 x 841.89 pt; y grows upwards from the bottom */
#define MX 48.0f             /* side margins */
#define CW (PAGE_W - 2 * MX) /* content width */
#define CONTENT_TOP 742.0f   /* first baseline area below the header */
#define CONTENT_BOTTOM 58.0f /* nothing below this but the footer */
#define MAX_PAGES 400
#define MAX_CPS 1024 /* code points drawn by one text call */

#define ROW_H 13.0f
#define FS 7.6f /* table text size */

enum { F_REG = RPT_PDF_REG, F_BOLD = RPT_PDF_BOLD };
enum { A_LEFT = RPT_PDF_LEFT, A_RIGHT = RPT_PDF_RIGHT, A_CENTER = RPT_PDF_CENTER };

typedef struct rgb {
    float r, g, b;
} rgb_t;

static const rgb_t C_TEXT = {0.12f, 0.14f, 0.17f};
static const rgb_t C_MUTED = {0.42f, 0.45f, 0.50f};
static const rgb_t C_RULE = {0.75f, 0.78f, 0.82f};
static const rgb_t C_HEAD_BG = {0.88f, 0.91f, 0.95f};
static const rgb_t C_ZEBRA = {0.965f, 0.972f, 0.98f};
static const rgb_t C_ACCENT = {0.11f, 0.30f, 0.55f};
static const rgb_t C_SERIES[] = {
    {0.11f, 0.30f, 0.55f}, {0.85f, 0.45f, 0.10f}, {0.20f, 0.55f, 0.30f}, {0.55f, 0.25f, 0.60f}};
static const rgb_t C_GOAL = {0.80f, 0.15f, 0.15f};

/* A line of text resolved to glyphs: each code point with its font and
   width (1/1000 em). Only BMP code points remain (others became U+FFFD). */
typedef struct line {
    uint32_t cp[MAX_CPS];
    HPDF_Font font[MAX_CPS];
    float w[MAX_CPS];
    size_t n;
} line_t;

typedef struct pdf {
    HPDF_Doc doc;
    HPDF_Font font[2]; /* DejaVu regular, bold */
    HPDF_FontDef def[2];
    const char *path[2]; /* font files of font[] */
    HPDF_Font cjk;       /* NULL until a character needs it */
    HPDF_FontDef cjk_def;
    const char *cjk_path;
    HPDF_Page pages[MAX_PAGES];
    unsigned n_pages;
    HPDF_Page page;
    float y; /* cursor: top of the next block */
    const rpt_data_t *d;
    HPDF_STATUS hst; /* first libharu error */
    HPDF_STATUS hdetail;
    err_t err; /* first error of ours (message in msg) */
    err_msg_t *msg;
    line_t scratch; /* the line being measured or drawn */
} pdf_t;

static void on_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user)
{
    pdf_t *p = user;
    if (p->hst == 0) {
        p->hst = error_no;
        p->hdetail = detail_no;
    }
}

static bool failed(const pdf_t *p)
{
    return p->err != ERR_OK || p->hst != 0;
}

static void fail(pdf_t *p, err_t e, const char *what)
{
    if (p->err == ERR_OK)
        p->err = err_set(p->msg, e, "%s", what);
}

/* ---- fonts ------------------------------------------------------------------------- */

static bool file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

static err_t load_font(pdf_t *p, const char *path, const char *pkg, bool ttc, HPDF_Font *font,
                       HPDF_FontDef *def)
{
    if (!file_exists(path))
        return err_set(p->msg, ERR_CONFIG,
                       "font file %s is missing: install the Debian package %s "
                       "(apt-get install %s)",
                       path, pkg, pkg);
    const char *name = ttc ? HPDF_LoadTTFontFromFile2(p->doc, path, 0, HPDF_TRUE)
                           : HPDF_LoadTTFontFromFile(p->doc, path, HPDF_TRUE);
    *font = name ? HPDF_GetFont(p->doc, name, "UTF-8") : NULL;
    if (*font == NULL)
        return err_set(p->msg, ERR_CONFIG, "font file %s cannot be loaded (libharu error 0x%04X)",
                       path, (unsigned)p->hst);
    *def = ((HPDF_FontAttr)(*font)->attr)->fontdef;
    return ERR_OK;
}

static bool has_glyph(HPDF_FontDef def, uint32_t cp)
{
    return cp <= 0xFFFF && HPDF_TTFontDef_GetGlyphid(def, (HPDF_UINT16)cp) != 0;
}

/*
 * libharu 2.3.0 subsets embedded TrueType fonts to the glyphs drawn, and
 * adds the parts of composite glyphs, but reads a part's glyph id as a
 * signed 16-bit number: in a font with more than 32767 glyphs (WenQuanYi
 * Micro Hei has about 49,000) parts above that are dropped, so characters
 * such as 连 or 限 lose strokes. Before saving, mark every part of every
 * used composite glyph ourselves (repeated until nothing changes, so parts
 * that are composites themselves are covered). Reads the font file at the
 * offsets libharu parsed.
 */
err_t rpt_pdf_mark_composites(void *fontdef, const char *path, err_msg_t *msg)
{
    HPDF_FontDef def = fontdef;
    HPDF_TTFontDefAttr a = (HPDF_TTFontDefAttr)def->attr;
    size_t n = a->num_glyphs;
    unsigned char *done = calloc(n ? n : 1, 1);
    FILE *f = fopen(path, "rb");
    err_t e = ERR_OK;
    if (done == NULL || f == NULL) {
        e = err_set(msg, f == NULL ? ERR_IO : ERR_NOMEM, "cannot read font %s: %s", path,
                    f == NULL ? strerror(errno) : "out of memory");
        goto out;
    }
    unsigned char g[4096];
    for (bool changed = true; changed && !e;) {
        changed = false;
        for (size_t gid = 0; gid < n; gid++) {
            if (!a->glyph_tbl.flgs[gid] || done[gid])
                continue;
            done[gid] = 1;
            uint64_t mul = a->header.index_to_loc_format == 0 ? 2 : 1;
            uint64_t off = (uint64_t)a->glyph_tbl.offsets[gid] * mul;
            uint64_t end = (uint64_t)a->glyph_tbl.offsets[gid + 1] * mul;
            size_t len = end > off ? (size_t)(end - off) : 0;
            if (len < 12)
                continue; /* empty or too short to be a composite */
            if (len > sizeof g)
                len = sizeof g; /* parts are listed first; 4 KiB holds hundreds */
            if (fseek(f, (long)(a->glyph_tbl.base_offset + off), SEEK_SET) != 0 ||
                fread(g, 1, len, f) != len) {
                e = err_set(msg, ERR_IO, "cannot read glyph %zu of font %s", gid, path);
                break;
            }
            if (!(g[0] == 0xFF && g[1] == 0xFF)) /* numberOfContours >= 0: simple glyph */
                continue;
            size_t at = 10; /* after numberOfContours and the bounding box */
            for (;;) {
                if (at + 4 > len)
                    break;
                unsigned flags = (unsigned)g[at] << 8 | g[at + 1];
                size_t part = (size_t)g[at + 2] << 8 | g[at + 3];
                at += 4 + ((flags & 1) ? 4 : 2);
                at += (flags & 8) ? 2 : (flags & 64) ? 4 : (flags & 128) ? 8 : 0;
                if (part < n && !a->glyph_tbl.flgs[part]) {
                    a->glyph_tbl.flgs[part] = 1;
                    changed = true;
                }
                if (!(flags & 32)) /* MORE_COMPONENTS */
                    break;
            }
        }
    }
out:
    if (f != NULL)
        fclose(f);
    free(done);
    return e;
}

/* Decode one UTF-8 sequence at s (n bytes left); invalid input gives U+FFFD
   and consumes one byte. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *used)
{
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    *used = 1;
    if (len == 0 || len > n)
        return 0xFFFD;
    if (len == 1)
        return c;
    uint32_t cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0xFFFD;
    *used = len;
    return cp;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

static float glyph_w(HPDF_Font f, uint32_t cp)
{
    char b[4];
    size_t n = utf8_put(cp, b);
    HPDF_TextWidth tw = HPDF_Font_TextWidth(f, (const HPDF_BYTE *)b, (HPDF_UINT)n);
    return (float)tw.width;
}

static HPDF_Font font_for(pdf_t *p, int style, uint32_t *cp, const char *text)
{
    if (*cp < 0x20 || *cp == 0x7F)
        *cp = ' ';
    if (has_glyph(p->def[style], *cp))
        return p->font[style];
    if (p->cjk == NULL && !failed(p)) {
        if (!file_exists(p->cjk_path)) {
            if (p->err == ERR_OK)
                p->err = err_set(p->msg, ERR_CONFIG,
                                 "'%s' needs a CJK font, but %s is missing: install the Debian "
                                 "package %s (apt-get install %s)",
                                 text, p->cjk_path, PKG_CJK, PKG_CJK);
            *cp = 0xFFFD;
            return p->font[style];
        }
        p->err = load_font(p, p->cjk_path, PKG_CJK, true, &p->cjk, &p->cjk_def);
    }
    if (p->cjk != NULL && has_glyph(p->cjk_def, *cp))
        return p->cjk;
    *cp = 0xFFFD;
    return p->font[style];
}

static void line_make(pdf_t *p, int style, const char *text, line_t *l)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    l->n = 0;
    while (n > 0 && l->n < MAX_CPS) {
        size_t used;
        uint32_t cp = utf8_next(s, n, &used);
        s += used;
        n -= used;
        HPDF_Font f = font_for(p, style, &cp, text);
        l->cp[l->n] = cp;
        l->font[l->n] = f;
        l->w[l->n] = glyph_w(f, cp);
        l->n++;
    }
}

static float line_width(const line_t *l, float size)
{
    float w = 0;
    for (size_t i = 0; i < l->n; i++)
        w += l->w[i];
    return w * size / 1000.0f;
}

/* Cut l to max_w points, ending with an ellipsis, when it is wider. */
static void line_fit(pdf_t *p, int style, line_t *l, float size, float max_w)
{
    if (max_w <= 0 || line_width(l, size) <= max_w)
        return;
    uint32_t ell = 0x2026;
    HPDF_Font ef = font_for(p, style, &ell, "\xE2\x80\xA6");
    float ew = glyph_w(ef, ell);
    float w = ew;
    size_t k = 0;
    while (k < l->n && (w + l->w[k]) * size / 1000.0f <= max_w)
        w += l->w[k++];
    while (k > 0 && l->cp[k - 1] == ' ')
        k--;
    if (k >= MAX_CPS)
        k = MAX_CPS - 1;
    l->cp[k] = ell;
    l->font[k] = ef;
    l->w[k] = ew;
    l->n = k + 1;
}

static void set_fill(HPDF_Page pg, rgb_t c)
{
    HPDF_Page_SetRGBFill(pg, c.r, c.g, c.b);
}

static void set_stroke(HPDF_Page pg, rgb_t c)
{
    HPDF_Page_SetRGBStroke(pg, c.r, c.g, c.b);
}

/* Draw l with its baseline at y; x is the left edge, right edge or centre. */
static void line_draw(HPDF_Page pg, const line_t *l, float x, float y, float size, int align,
                      rgb_t color)
{
    float w = line_width(l, size);
    if (align == A_RIGHT)
        x -= w;
    else if (align == A_CENTER)
        x -= w / 2;
    set_fill(pg, color);
    HPDF_Page_BeginText(pg);
    size_t i = 0;
    char buf[MAX_CPS * 3 + 1];
    while (i < l->n) {
        size_t j = i, len = 0;
        float rw = 0;
        while (j < l->n && l->font[j] == l->font[i]) {
            len += utf8_put(l->cp[j], buf + len);
            rw += l->w[j];
            j++;
        }
        buf[len] = '\0';
        HPDF_Page_SetFontAndSize(pg, l->font[i], size);
        HPDF_Page_TextOut(pg, x, y, buf);
        x += rw * size / 1000.0f;
        i = j;
    }
    HPDF_Page_EndText(pg);
}

/* The one text primitive: UTF-8 text, fitted into max_w (0 = unbounded). */
static void text(pdf_t *p, float x, float y, int style, float size, const char *s, int align,
                 float max_w, rgb_t color)
{
    line_t *lp = &p->scratch;
    if (failed(p))
        return;
    line_make(p, style, s, lp);
    line_fit(p, style, lp, size, max_w);
    line_draw(p->page, lp, x, y, size, align, color);
}

static float text_w(pdf_t *p, int style, float size, const char *s)
{
    line_make(p, style, s, &p->scratch);
    return line_width(&p->scratch, size);
}

/* ---- pages ----------------------------------------------------------------------- */

static void fmt_day(int32_t day, char *buf)
{
    kpi_date_format(day, buf);
}

/* SLA and FTQ count documents of every currency (docs/kpi.md): their
   reports name no single currency. The summary has money, so its own. */
static const char *report_currency(const rpt_data_t *d)
{
    if (d->kind == RPT_STATEMENT) /* a section per currency: all of them */
        return d->stmt.currencies;
    return d->kind == RPT_SLA || d->kind == RPT_FTQ ? "every currency" : d->currency;
}

/* Whom the report is about: a statement's customer, else the unit or the book. */
static const char *report_subject(const rpt_data_t *d)
{
    if (d->kind == RPT_STATEMENT)
        return d->stmt.customer;
    return d->unit ? d->unit : "All business units";
}

static void draw_header(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    HPDF_Page pg = p->page;
    char from[KPI_DATE_BUF], to[KPI_DATE_BUF], per[160], gen[KPI_TIME_BUF + 8], asof[KPI_DATE_BUF];
    char title[96];
    if (d->kind == RPT_STATEMENT) /* its balances are of one day: the title says which */
        snprintf(title, sizeof title, "%s as of %s", rpt_kind_title(d->kind),
                 kpi_date_format(d->stmt.as_of, asof));
    else
        snprintf(title, sizeof title, "%s", rpt_kind_title(d->kind));
    text(p, MX, 806, F_BOLD, 15, title, A_LEFT, CW * 0.7f, C_ACCENT);
    text(p, PAGE_W - MX, 808, F_REG, 7.5f,
         d->kind == RPT_STATEMENT ? "kpid statement" : "kpid KPI report", A_RIGHT, 0, C_MUTED);
    fmt_day(d->from, from);
    fmt_day(d->to, to);
    if (d->partial) /* said where the period is named, so no page is read as a whole period */
        snprintf(per, sizeof per, "%s to %s, TO DATE (%d of %d days)", from, to,
                 (int)(d->to - d->from + 1), (int)(d->period_to - d->from + 1));
    else if (d->kind == RPT_STATEMENT) /* of the payments listed; balances: the title's day */
        snprintf(per, sizeof per, "%s to %s (zone %s)", from, to, d->tz);
    else
        snprintf(per, sizeof per, "%s to %s (%d days, zone %s)", from, to,
                 (int)(d->to - d->from + 1), d->tz);
    kpi_time_format_utc(d->generated_s, gen);
    const float lx = MX, vx = MX + 62, rx = MX + 300, rvx = MX + 362;
    char who[KPI_NAME_MAX * 3 + 48];
    char cust[KPI_NAME_MAX * 2 + 8];
    if (d->kind == RPT_STATEMENT && d->stmt.name != NULL)
        snprintf(cust, sizeof cust, "%s (%s)", d->stmt.name, d->stmt.customer);
    else if (d->kind == RPT_STATEMENT)
        snprintf(cust, sizeof cust, "%s", d->stmt.customer);
    if (d->kind == RPT_STATEMENT && d->unit != NULL)
        snprintf(who, sizeof who, "%s (business unit %s)", cust, d->unit);
    else if (d->kind == RPT_STATEMENT)
        snprintf(who, sizeof who, "%s", cust);
    else
        snprintf(who, sizeof who, "%s", report_subject(d));
    text(p, lx, 786, F_REG, 8, d->kind == RPT_STATEMENT ? "Customer" : "Business unit", A_LEFT, 0,
         C_MUTED);
    text(p, vx, 786, F_BOLD, 8, who, A_LEFT, rx - vx - 10, C_TEXT);
    text(p, lx, 774, F_REG, 8, "Period", A_LEFT, 0, C_MUTED);
    text(p, vx, 774, F_BOLD, 8, per, A_LEFT, rx - vx - 10, C_TEXT);
    text(p, rx, 786, F_REG, 8, "Currency", A_LEFT, 0, C_MUTED);
    text(p, rvx, 786, F_BOLD, 8, report_currency(d), A_LEFT, 0, C_TEXT);
    text(p, rx, 774, F_REG, 8, "Generated", A_LEFT, 0, C_MUTED);
    text(p, rvx, 774, F_BOLD, 8, gen, A_LEFT, PAGE_W - MX - rvx, C_TEXT);
    set_stroke(pg, C_ACCENT);
    HPDF_Page_SetLineWidth(pg, 1.2f);
    HPDF_Page_MoveTo(pg, MX, 764);
    HPDF_Page_LineTo(pg, PAGE_W - MX, 764);
    HPDF_Page_Stroke(pg);
}

static void new_page(pdf_t *p)
{
    if (failed(p))
        return;
    if (p->n_pages == MAX_PAGES) {
        fail(p, ERR_TOO_LARGE, "the report would have more than 400 pages");
        return;
    }
    p->page = HPDF_AddPage(p->doc);
    if (p->page == NULL) {
        fail(p, ERR_NOMEM, "cannot add a page");
        return;
    }
    HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    p->pages[p->n_pages++] = p->page;
    draw_header(p);
    p->y = CONTENT_TOP;
}

/* Make room for h points of content; a new page when they do not fit. */
static bool need(pdf_t *p, float h)
{
    if (p->y - h < CONTENT_BOTTOM) {
        new_page(p);
        return true;
    }
    return false;
}

static void draw_footers(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    char left[400], pn[48];
    snprintf(left, sizeof left, "%s \xC2\xB7 %s \xC2\xB7 %s", rpt_kind_title(d->kind),
             report_subject(d), report_currency(d));
    for (unsigned i = 0; i < p->n_pages && !failed(p); i++) {
        p->page = p->pages[i];
        set_stroke(p->page, C_RULE);
        HPDF_Page_SetLineWidth(p->page, 0.5f);
        HPDF_Page_MoveTo(p->page, MX, 46);
        HPDF_Page_LineTo(p->page, PAGE_W - MX, 46);
        HPDF_Page_Stroke(p->page);
        snprintf(pn, sizeof pn, "Page %u of %u", i + 1, p->n_pages);
        text(p, MX, 34, F_REG, 7.5f, left, A_LEFT, CW - 90, C_MUTED);
        text(p, PAGE_W - MX, 34, F_REG, 7.5f, pn, A_RIGHT, 0, C_MUTED);
    }
}

static void section(pdf_t *p, const char *title)
{
    need(p, 90); /* a title never sits alone: it keeps a few rows below it */
    p->y -= 16;
    text(p, MX, p->y, F_BOLD, 11, title, A_LEFT, CW, C_ACCENT);
    p->y -= 5;
    set_stroke(p->page, C_RULE);
    HPDF_Page_SetLineWidth(p->page, 0.6f);
    HPDF_Page_MoveTo(p->page, MX, p->y);
    HPDF_Page_LineTo(p->page, PAGE_W - MX, p->y);
    HPDF_Page_Stroke(p->page);
    p->y -= 8;
}

static void note(pdf_t *p, const char *s)
{
    need(p, 12);
    p->y -= 10;
    text(p, MX, p->y, F_REG, 7, s, A_LEFT, CW, C_MUTED);
    p->y -= 3;
}

/* ---- tables ---------------------------------------------------------------------- */

typedef rpt_pdf_col_t col_t; /* rpt_int.h: shared with layouts in other files */
typedef rpt_pdf_table_t table_t;

static void fill_rect(HPDF_Page pg, float x, float y, float w, float h, rgb_t c)
{
    set_fill(pg, c);
    HPDF_Page_Rectangle(pg, x, y, w, h);
    HPDF_Page_Fill(pg);
}

static void cells(pdf_t *p, const table_t *t, const char *const *v, int style, rgb_t color)
{
    float x = MX;
    float base = p->y - ROW_H + 3.8f;
    for (size_t i = 0; i < t->n; i++) {
        const col_t *c = &t->cols[i];
        float pad = 4;
        if (v[i] != NULL && v[i][0] != '\0') {
            float tx = c->align == A_RIGHT    ? x + c->w - pad
                       : c->align == A_CENTER ? x + c->w / 2
                                              : x + pad;
            float size = FS;
            /* A figure is never cut: a number too wide for its column is set
               smaller instead (text cells are cut with an ellipsis). */
            if (c->align == A_RIGHT) {
                float w = text_w(p, style, FS, v[i]);
                if (w > c->w - 2 * pad)
                    size = FS * (c->w - 2 * pad) / w * 0.98f;
                size = size < 5.0f ? 5.0f : size;
            }
            text(p, tx, base, style, size, v[i], c->align, c->w - 2 * pad + 1, color);
        }
        x += c->w;
    }
}

static void table_head(pdf_t *p, table_t *t)
{
    const char *v[16];
    float w = 0;
    for (size_t i = 0; i < t->n && i < 16; i++) {
        v[i] = t->cols[i].head;
        w += t->cols[i].w;
    }
    fill_rect(p->page, MX, p->y - ROW_H - 1, w, ROW_H + 1, C_HEAD_BG);
    cells(p, t, v, F_BOLD, C_TEXT);
    p->y -= ROW_H + 1;
    t->rows = 0;
}

static void table_begin(pdf_t *p, table_t *t, const col_t *cols, size_t n)
{
    t->cols = cols;
    t->n = n;
    need(p, 3 * ROW_H);
    table_head(p, t);
}

/* One row; `total` rows are bold with a rule above. */
static void table_row(pdf_t *p, table_t *t, const char *const *v, bool total)
{
    if (need(p, ROW_H))
        table_head(p, t);
    float w = 0;
    for (size_t i = 0; i < t->n; i++)
        w += t->cols[i].w;
    if (total) {
        set_stroke(p->page, C_TEXT);
        HPDF_Page_SetLineWidth(p->page, 0.6f);
        HPDF_Page_MoveTo(p->page, MX, p->y);
        HPDF_Page_LineTo(p->page, MX + w, p->y);
        HPDF_Page_Stroke(p->page);
    } else if (t->rows % 2 == 1) {
        fill_rect(p->page, MX, p->y - ROW_H, w, ROW_H, C_ZEBRA);
    }
    cells(p, t, v, total ? F_BOLD : F_REG, C_TEXT);
    p->y -= ROW_H;
    t->rows++;
}

static void table_end(pdf_t *p)
{
    p->y -= 8;
}

/* ---- charts ---------------------------------------------------------------------- */

typedef struct series {
    const char *name;
    const double *v; /* n values (geometry only) */
    const bool *ok;  /* false: undefined, the line breaks */
} series_t;

/* Axis labels: whole numbers, k/M for large ones ("250k", "1.5M"). */
static void tick_label(int64_t v, char *buf, size_t cap)
{
    int64_t a = v < 0 ? -v : v;
    const char *sg = v < 0 ? "-" : "";
    if (a >= 1000000 && a % 100000 == 0)
        snprintf(buf, cap, a % 1000000 ? "%s%lld.%lldM" : "%s%lldM", sg, (long long)(a / 1000000),
                 (long long)(a % 1000000 / 100000));
    else if (a >= 1000 && a % 100 == 0)
        snprintf(buf, cap, a % 1000 ? "%s%lld.%lldk" : "%s%lldk", sg, (long long)(a / 1000),
                 (long long)(a % 1000 / 100));
    else
        snprintf(buf, cap, "%s%lld", sg, (long long)a);
}

/* A step from {1, 2, 5} x 10^k with at most 5 steps up to span. */
static int64_t nice_step(double span)
{
    int64_t step = 1;
    while (step < INT64_MAX / 10) {
        if (span / (double)step <= 5)
            return step;
        if (span / (double)(step * 2) <= 5)
            return step * 2;
        if (span / (double)(step * 5) <= 5)
            return step * 5;
        step *= 10;
    }
    return step;
}

typedef struct axes {
    float x0, y0, w, h; /* plot area */
    double lo, hi;      /* value range */
} axes_t;

static float ay(const axes_t *a, double v)
{
    return a->y0 + (float)((v - a->lo) / (a->hi - a->lo)) * a->h;
}

/* Frame, title, grid and y labels of a chart of height h; returns its axes. */
static axes_t chart_frame(pdf_t *p, const char *title, float h, double lo, double hi,
                          const char *unit)
{
    need(p, h + 8);
    HPDF_Page pg = p->page;
    axes_t a = {MX + 40, p->y - h + 24, CW - 48, h - 46, 0, 0};
    text(p, MX, p->y - 10, F_BOLD, 8.5f, title, A_LEFT, CW * 0.55f, C_TEXT);
    if (hi <= lo)
        hi = lo + 1;
    int64_t step = nice_step(hi - lo);
    int64_t tlo = (int64_t)(lo / (double)step) - (lo < 0 ? 1 : 0);
    int64_t thi = (int64_t)(hi / (double)step) + 1;
    if ((double)((thi - 1) * step) >= hi)
        thi--;
    a.lo = (double)(tlo * step);
    a.hi = (double)(thi * step);
    HPDF_Page_SetLineWidth(pg, 0.4f);
    for (int64_t t = tlo; t <= thi; t++) {
        float yy = ay(&a, (double)(t * step));
        set_stroke(pg, t == 0 ? C_MUTED : C_RULE);
        HPDF_Page_MoveTo(pg, a.x0, yy);
        HPDF_Page_LineTo(pg, a.x0 + a.w, yy);
        HPDF_Page_Stroke(pg);
        char lab[32];
        tick_label(t * step, lab, sizeof lab);
        text(p, a.x0 - 4, yy - 2.3f, F_REG, 6.5f, lab, A_RIGHT, 36, C_MUTED);
    }
    text(p, MX, p->y - 20, F_REG, 6.5f, unit, A_LEFT, 40, C_MUTED);
    p->y -= h + 8;
    return a;
}

/* x labels under n slots of the axes, thinned so they never overlap. */
static void x_labels(pdf_t *p, const axes_t *a, const char *const *labels, size_t n)
{
    float slot = a->w / (float)n;
    float lw = 0;
    for (size_t i = 0; i < n; i++) {
        float w = text_w(p, F_REG, 6.5f, labels[i]);
        lw = w > lw ? w : lw;
    }
    size_t every = 1;
    while (every < n && slot * (float)every < lw + 6)
        every++;
    for (size_t i = 0; i < n; i += every)
        text(p, a->x0 + slot * ((float)i + 0.5f), a->y0 - 10, F_REG, 6.5f, labels[i], A_CENTER,
             slot * (float)every, C_MUTED);
}

static void legend(pdf_t *p, float top, const series_t *s, size_t ns, const char *goal)
{
    float x = PAGE_W - MX;
    HPDF_Page pg = p->page;
    for (size_t k = ns + (goal ? 1 : 0); k-- > 0;) {
        const char *name = k < ns ? s[k].name : goal;
        rgb_t c = k < ns ? C_SERIES[k % 4] : C_GOAL;
        float w = text_w(p, F_REG, 7, name);
        text(p, x, top - 10, F_REG, 7, name, A_RIGHT, 0, C_TEXT);
        x -= w + 4;
        set_stroke(pg, c);
        HPDF_Page_SetLineWidth(pg, 1.6f);
        if (k >= ns) {
            HPDF_UINT16 dash[] = {3, 2};
            HPDF_Page_SetDash(pg, dash, 2, 0);
        }
        HPDF_Page_MoveTo(pg, x - 14, top - 7.5f);
        HPDF_Page_LineTo(pg, x, top - 7.5f);
        HPDF_Page_Stroke(pg);
        HPDF_Page_SetDash(pg, NULL, 0, 0);
        x -= 24;
    }
}

/* Whether the last trend month is cut short (a period to date, or a week
   or range ending inside a month): its point is then drawn hollow at the
   end of a dashed segment, so a thin month does not read as a real drop. */
static bool trend_last_cut(const rpt_data_t *d)
{
    if (d->n_trend == 0)
        return false;
    const kpi_period_t *t = &d->trend[d->n_trend - 1];
    return t->end != kpi_unit_start(KPI_IV_MONTH, kpi_add_months(t->start, 1)) - 1;
}

/* Lines over n periods (the trend months); goal >= 0 draws a dashed goal
   line at that value. */
static void line_chart(pdf_t *p, const char *title, float h, const char *unit,
                       const char *const *labels, size_t n, const series_t *s, size_t ns,
                       double fixed_hi, double goal, const char *goal_name)
{
    if (failed(p) || n == 0)
        return;
    bool cut = n == p->d->n_trend && trend_last_cut(p->d);
    double lo = 0, hi = fixed_hi > 0 ? fixed_hi : 1;
    for (size_t k = 0; k < ns; k++)
        for (size_t i = 0; i < n; i++)
            if (s[k].ok[i]) {
                hi = s[k].v[i] > hi ? s[k].v[i] : hi;
                lo = s[k].v[i] < lo ? s[k].v[i] : lo;
            }
    float top = p->y;
    if (top - h - 8 < CONTENT_BOTTOM)
        top = CONTENT_TOP;
    axes_t a = chart_frame(p, title, h, lo, hi, unit);
    legend(p, top, s, ns, goal >= 0 ? goal_name : NULL);
    HPDF_Page pg = p->page;
    float slot = a.w / (float)n;
    if (goal >= 0) {
        HPDF_UINT16 dash[] = {3, 2};
        set_stroke(pg, C_GOAL);
        HPDF_Page_SetLineWidth(pg, 0.9f);
        HPDF_Page_SetDash(pg, dash, 2, 0);
        HPDF_Page_MoveTo(pg, a.x0, ay(&a, goal));
        HPDF_Page_LineTo(pg, a.x0 + a.w, ay(&a, goal));
        HPDF_Page_Stroke(pg);
        HPDF_Page_SetDash(pg, NULL, 0, 0);
    }
    for (size_t k = 0; k < ns; k++) {
        rgb_t c = C_SERIES[k % 4];
        set_stroke(pg, c);
        set_fill(pg, c);
        HPDF_Page_SetLineWidth(pg, 1.4f);
        bool open = false;
        size_t solid = cut ? n - 1 : n; /* points joined by the solid line */
        for (size_t i = 0; i < solid; i++) {
            if (!s[k].ok[i]) {
                if (open)
                    HPDF_Page_Stroke(pg);
                open = false;
                continue;
            }
            float x = a.x0 + slot * ((float)i + 0.5f), y = ay(&a, s[k].v[i]);
            if (open)
                HPDF_Page_LineTo(pg, x, y);
            else
                HPDF_Page_MoveTo(pg, x, y);
            open = true;
        }
        if (open)
            HPDF_Page_Stroke(pg);
        if (cut && n >= 2 && s[k].ok[n - 2] && s[k].ok[n - 1]) {
            HPDF_UINT16 dash[] = {2, 2};
            HPDF_Page_SetDash(pg, dash, 2, 0);
            HPDF_Page_MoveTo(pg, a.x0 + slot * ((float)n - 1.5f), ay(&a, s[k].v[n - 2]));
            HPDF_Page_LineTo(pg, a.x0 + slot * ((float)n - 0.5f), ay(&a, s[k].v[n - 1]));
            HPDF_Page_Stroke(pg);
            HPDF_Page_SetDash(pg, NULL, 0, 0);
        }
        for (size_t i = 0; i < n; i++) {
            if (!s[k].ok[i])
                continue;
            float x = a.x0 + slot * ((float)i + 0.5f), y = ay(&a, s[k].v[i]);
            if (cut && i == n - 1) { /* hollow: white inside, the series' colour around */
                set_fill(pg, (rgb_t){1, 1, 1});
                HPDF_Page_SetLineWidth(pg, 0.9f);
                HPDF_Page_Circle(pg, x, y, 2.2f);
                HPDF_Page_FillStroke(pg);
                set_fill(pg, c);
                HPDF_Page_SetLineWidth(pg, 1.4f);
                continue;
            }
            HPDF_Page_Circle(pg, x, y, 1.6f);
            HPDF_Page_Fill(pg);
        }
    }
    x_labels(p, &a, labels, n);
}

/* Bars with their exact value printed above (or below, when negative). */
static void bar_chart(pdf_t *p, const char *title, float h, const char *unit,
                      const char *const *labels, const double *v, const char *const *vtext,
                      size_t n)
{
    if (failed(p) || n == 0)
        return;
    double lo = 0, hi = 1;
    for (size_t i = 0; i < n; i++) {
        hi = v[i] > hi ? v[i] : hi;
        lo = v[i] < lo ? v[i] : lo;
    }
    hi += (hi - lo) * 0.12; /* room for the value labels */
    axes_t a = chart_frame(p, title, h, lo, hi, unit);
    HPDF_Page pg = p->page;
    float slot = a.w / (float)n, bw = slot * 0.62f;
    for (size_t i = 0; i < n; i++) {
        float x = a.x0 + slot * (float)i + (slot - bw) / 2;
        float y0 = ay(&a, 0), y1 = ay(&a, v[i]);
        fill_rect(pg, x, y1 < y0 ? y1 : y0, bw, y1 < y0 ? y0 - y1 : y1 - y0,
                  i == 0 ? C_SERIES[2] : C_SERIES[0]);
        float ty = v[i] >= 0 ? y1 + 3 : y1 - 8;
        text(p, x + bw / 2, ty, F_REG, 6.5f, vtext[i], A_CENTER, slot, C_TEXT);
    }
    x_labels(p, &a, labels, n);
}

/* ---- figures ---------------------------------------------------------------------- */

typedef struct bufs {
    char b[24][RPT_NUM_BUF]; /* cell texts of one row */
} bufs_t;

static const char *money(const pdf_t *p, int64_t v, char *buf)
{
    return rpt_fmt_money(v, p->d->digits, buf);
}

static int64_t comp_v(const store_q_point_t *pt, const char *name)
{
    const store_q_comp_t *c = store_q_comp(pt, name);
    return c ? c->v : 0;
}

/* A ratio as a chart value: the rounded figure the report prints. */
static bool ratio_value(const kpi_ratio_t *r, double *out)
{
    int64_t v;
    if (r->undef != KPI_UNDEF_NONE || kpi_ratio_round(r, 2, &v) != ERR_OK)
        return false;
    *out = (double)v / 100.0;
    return true;
}

static const char *month_label(const kpi_period_t *per, char *buf, size_t cap)
{
    int32_t y, m, d0, d1;
    kpi_civil_from_days(per->start, &y, &m, &d0);
    kpi_civil_from_days(per->end, NULL, NULL, &d1);
    if (d0 == 1 && d1 == kpi_days_in_month(y, m))
        snprintf(buf, cap, "%04d-%02d", (int)y, (int)m);
    else
        snprintf(buf, cap, "%04d-%02d (%d-%d)", (int)y, (int)m, (int)d0, (int)d1);
    return buf;
}

/* Labels of the trend months: v for tables ("2025-11 (1-15)" for a month
   the period cuts short), axis for charts (always "2025-11", so that the
   axis labels keep an even rhythm). */
typedef struct trend_labels {
    char text[RPT_TREND_MAX][32];
    char short_text[RPT_TREND_MAX][16];
    const char *v[RPT_TREND_MAX];
    const char *axis[RPT_TREND_MAX];
} trend_labels_t;

static void trend_labels(const rpt_data_t *d, trend_labels_t *tl)
{
    for (size_t i = 0; i < d->n_trend; i++) {
        tl->v[i] = month_label(&d->trend[i], tl->text[i], sizeof tl->text[i]);
        snprintf(tl->short_text[i], sizeof tl->short_text[i], "%.7s", tl->text[i]);
        tl->axis[i] = tl->short_text[i];
    }
}

static void ratio_series(const store_q_point_t *pts, size_t n, double *v, bool *ok)
{
    for (size_t i = 0; i < n; i++)
        ok[i] = ratio_value(&pts[i].value, &v[i]);
}

static const char *sla_target(const kpi_sla_def_t *def, char *buf, size_t cap)
{
    bool one = def->target.amount == 1;
    const char *unit = def->target.unit == KPI_SLA_HOURS ? (one ? "hour" : "hours")
                       : def->target.unit == KPI_SLA_BUSINESS_DAYS
                           ? (one ? "business day" : "business days")
                           : (one ? "day" : "days");
    snprintf(buf, cap, "%d %s", (int)def->target.amount, unit);
    return buf;
}

/* ---- sections --------------------------------------------------------------------- */

static void sec_aging(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    const kpi_aging_t *ag = &d->aging.all;
    char title[96], day[KPI_DATE_BUF], unit[32];
    fmt_day(d->to, day);
    snprintf(title, sizeof title, "Aging as of %s (days past due date)", day);
    section(p, title);
    snprintf(unit, sizeof unit, "Amount (%s)", d->currency);
    /* Not static: the header names this report's currency, and reports
       render concurrently on the server's threads. */
    const col_t cols[4] = {{"Bucket (days past due)", 150, A_LEFT},
                           {"Open invoices", 100, A_RIGHT},
                           {unit, 150, A_RIGHT},
                           {"Share of AR (%)", 99, A_RIGHT}};
    table_t t;
    table_begin(p, &t, cols, 4);
    bufs_t b;
    for (size_t i = 0; i <= ag->n_buckets; i++) {
        bool tot = i == ag->n_buckets;
        int64_t amt = tot ? ag->total_amount : ag->buckets[i].amount;
        int64_t cnt = tot ? ag->total_count : ag->buckets[i].count;
        kpi_ratio_t share = kpi_percent(amt, ag->total_amount);
        const char *v[4] = {tot ? "Total AR" : kpi_bucket_label(&ag->buckets[i], b.b[0], 32),
                            b.b[1], money(p, amt, b.b[2]), rpt_fmt_ratio(&share, b.b[3])};
        snprintf(b.b[1], RPT_NUM_BUF, "%lld", (long long)cnt);
        table_row(p, &t, v, tot);
    }
    table_end(p);
    const col_t kcols[2] = {{"Beside the buckets", 250, A_LEFT}, {unit, 150, A_RIGHT}};
    table_begin(p, &t, kcols, 2);
    const char *r1[2] = {"Overdue (1 day or more past due)",
                         money(p, ag->total_amount - ag->buckets[0].amount, b.b[0])};
    table_row(p, &t, r1, false);
    const char *r2[2] = {"Unapplied cash", money(p, d->aging.unapplied_cash, b.b[1])};
    table_row(p, &t, r2, false);
    const char *r3[2] = {"Unallocated credit notes",
                         money(p, d->aging.unallocated_credits, b.b[2])};
    table_row(p, &t, r3, false);
    table_end(p);

    const char *labels[KPI_BUCKETS_MAX];
    const char *vt[KPI_BUCKETS_MAX];
    double v[KPI_BUCKETS_MAX];
    char lab[KPI_BUCKETS_MAX][32], vb[KPI_BUCKETS_MAX][RPT_NUM_BUF];
    for (size_t i = 0; i < ag->n_buckets; i++) {
        labels[i] = kpi_bucket_label(&ag->buckets[i], lab[i], 32);
        vt[i] = money(p, ag->buckets[i].amount, vb[i]);
        v[i] = (double)ag->buckets[i].amount;
        for (int k = 0; k < d->digits; k++)
            v[i] /= 10.0;
    }
    snprintf(title, sizeof title, "Open amount by bucket (%s)", d->currency);
    bar_chart(p, title, 190, d->currency, labels, v, vt, ag->n_buckets);
}

static const char *oldest_bucket(const kpi_aging_t *ag, char *buf)
{
    for (size_t i = ag->n_buckets; i-- > 1;)
        if (ag->buckets[i].amount > 0)
            return kpi_bucket_label(&ag->buckets[i], buf, 32);
    return "";
}

static void sec_customers(pdf_t *p, size_t max)
{
    const rpt_data_t *d = p->d;
    char title[96];
    size_t n = d->n_customers < max ? d->n_customers : max;
    snprintf(title, sizeof title, "Top overdue customers (%zu of %zu with an overdue amount)", n,
             d->n_customers);
    section(p, title);
    if (n == 0) {
        note(p, "No customer has an overdue amount at the end of the period.");
        return;
    }
    /* The name people know (customer.updated), the id the ERP knows. */
    static const col_t cols[9] = {
        {"#", 14, A_RIGHT},          {"Customer", 128, A_LEFT}, {"Id", 62, A_LEFT},
        {"Invoices", 36, A_RIGHT},   {"Current", 57, A_RIGHT},  {"Overdue", 57, A_RIGHT},
        {"Total open", 57, A_RIGHT}, {"Oldest", 40, A_RIGHT},   {"Overdue %", 48, A_RIGHT}};
    table_t t;
    table_begin(p, &t, cols, 9);
    bufs_t b;
    for (size_t i = 0; i < n; i++) {
        const rpt_customer_t *c = &d->customers[i];
        kpi_ratio_t share = kpi_percent(c->overdue, d->overdue_total);
        snprintf(b.b[0], RPT_NUM_BUF, "%zu", i + 1);
        snprintf(b.b[2], RPT_NUM_BUF, "%lld", (long long)c->aging.total_count);
        const char *v[9] = {b.b[0],
                            c->label,
                            c->name,
                            b.b[2],
                            money(p, c->aging.buckets[0].amount, b.b[3]),
                            money(p, c->overdue, b.b[4]),
                            money(p, c->aging.total_amount, b.b[5]),
                            oldest_bucket(&c->aging, b.b[6]),
                            rpt_fmt_ratio(&share, b.b[7])};
        table_row(p, &t, v, false);
    }
    table_end(p);
    note(p, "Amounts in the report currency as of the last day of the period; overdue = open "
            "amount of invoices at least one day past due.");
}

static void sec_units(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    if (d->unit != NULL || d->by_unit.n_groups == 0)
        return;
    section(p, "Aging by business unit");
    static const col_t cols[5] = {{"Business unit", 169, A_LEFT},
                                  {"Open invoices", 70, A_RIGHT},
                                  {"Current", 86, A_RIGHT},
                                  {"Overdue", 87, A_RIGHT},
                                  {"Total open", 87, A_RIGHT}};
    table_t t;
    table_begin(p, &t, cols, 5);
    bufs_t b;
    for (size_t i = 0; i < d->by_unit.n_groups; i++) {
        const kpi_aging_t *g = &d->by_unit.groups[i];
        snprintf(b.b[1], RPT_NUM_BUF, "%lld", (long long)g->total_count);
        const char *v[5] = {d->by_unit.keys[i], b.b[1], money(p, g->buckets[0].amount, b.b[2]),
                            money(p, g->total_amount - g->buckets[0].amount, b.b[3]),
                            money(p, g->total_amount, b.b[4])};
        table_row(p, &t, v, false);
    }
    table_end(p);
}

static void sec_dso(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    section(p, "DSO and collection effectiveness for the period");
    static const col_t cols[3] = {
        {"Measure", 150, A_LEFT}, {"Value", 90, A_RIGHT}, {"Inputs", 259, A_LEFT}};
    table_t t;
    table_begin(p, &t, cols, 3);
    bufs_t b;
    static const char *const names[4] = {"Standard DSO (days)", "Countback DSO (days)",
                                         "Best possible DSO (days)",
                                         "Average days delinquent (days)"};
    for (int m = 0; m < 4; m++) {
        const store_q_point_t *pt = &d->dso[m];
        char in[200];
        if (m == 0 || m == 1)
            snprintf(in, sizeof in, "AR %s, sales %s, %lld days",
                     money(p, comp_v(pt, "ar"), b.b[2]), money(p, comp_v(pt, "sales"), b.b[3]),
                     (long long)comp_v(pt, "days"));
        else
            snprintf(in, sizeof in, "current AR %s, sales %s",
                     money(p, comp_v(pt, "current_ar"), b.b[2]),
                     money(p, comp_v(pt, "sales"), b.b[3]));
        const char *v[3] = {names[m], rpt_fmt_ratio(&pt->value, b.b[1]), in};
        table_row(p, &t, v, false);
    }
    char in[200], in2[200];
    snprintf(in, sizeof in, "AR at start %s, sales %s",
             money(p, comp_v(&d->cei, "ar_start"), b.b[2]),
             money(p, comp_v(&d->cei, "sales"), b.b[3]));
    snprintf(in2, sizeof in2, "AR at end %s, current AR at end %s",
             money(p, comp_v(&d->cei, "ar"), b.b[4]),
             money(p, comp_v(&d->cei, "current_ar"), b.b[5]));
    const char *v[3] = {"CEI (%)", rpt_fmt_ratio(&d->cei.value, b.b[1]), in};
    table_row(p, &t, v, false);
    t.rows--; /* the continuation line keeps the row's shading */
    const char *v2[3] = {"", "", in2};
    table_row(p, &t, v2, false);
    table_end(p);

    trend_labels_t tl;
    trend_labels(d, &tl);
    double sv[2][RPT_TREND_MAX];
    bool ok[2][RPT_TREND_MAX];
    ratio_series(d->t_dso[STORE_Q_DSO_STANDARD], d->n_trend, sv[0], ok[0]);
    ratio_series(d->t_dso[STORE_Q_DSO_COUNTBACK], d->n_trend, sv[1], ok[1]);
    series_t s[2] = {{"Standard", sv[0], ok[0]}, {"Countback", sv[1], ok[1]}};
    line_chart(p, "DSO by month (days)", 170, "days", tl.axis, d->n_trend, s, 2, 0, -1, NULL);
    ratio_series(d->t_cei, d->n_trend, sv[0], ok[0]);
    series_t c[1] = {{"CEI", sv[0], ok[0]}};
    line_chart(p, "Collection effectiveness index by month (%)", 150, "%", tl.axis, d->n_trend, c,
               1, 100, -1, NULL);

    section(p, "DSO and CEI by month");
    static const col_t tc[8] = {{"Month", 64, A_LEFT},      {"Sales", 72, A_RIGHT},
                                {"AR at end", 72, A_RIGHT}, {"Standard", 54, A_RIGHT},
                                {"Countback", 56, A_RIGHT}, {"Best possible", 66, A_RIGHT},
                                {"ADD", 52, A_RIGHT},       {"CEI (%)", 63, A_RIGHT}};
    table_begin(p, &t, tc, 8);
    for (size_t i = 0; i < d->n_trend; i++) {
        const store_q_point_t *st = &d->t_dso[0][i];
        const char *row[8] = {tl.v[i],
                              money(p, comp_v(st, "sales"), b.b[1]),
                              money(p, comp_v(st, "ar"), b.b[2]),
                              rpt_fmt_ratio(&st->value, b.b[3]),
                              rpt_fmt_ratio(&d->t_dso[1][i].value, b.b[4]),
                              rpt_fmt_ratio(&d->t_dso[2][i].value, b.b[5]),
                              rpt_fmt_ratio(&d->t_dso[3][i].value, b.b[6]),
                              rpt_fmt_ratio(&d->t_cei[i].value, b.b[7])};
        table_row(p, &t, row, false);
    }
    table_end(p);
    note(p, "DSO values in days; countback walks back month by month.");
}

static void sec_sla(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    section(p, "SLA compliance for the period");
    if (d->n_slas == 0) {
        note(p, "No SLA is configured.");
        return;
    }
    static const col_t cols[6] = {
        {"SLA", 130, A_LEFT}, {"Target", 90, A_LEFT},          {"Completed", 64, A_RIGHT},
        {"Met", 58, A_RIGHT}, {"Compliance (%)", 80, A_RIGHT}, {"Breached open", 77, A_RIGHT}};
    table_t t;
    table_begin(p, &t, cols, 6);
    bufs_t b;
    for (size_t i = 0; i < d->n_slas; i++) {
        const store_q_point_t *pt = &d->slas[i].period;
        snprintf(b.b[2], RPT_NUM_BUF, "%lld", (long long)comp_v(pt, "completed"));
        snprintf(b.b[3], RPT_NUM_BUF, "%lld", (long long)comp_v(pt, "met"));
        snprintf(b.b[5], RPT_NUM_BUF, "%lld", (long long)comp_v(pt, "breached_open"));
        const char *v[6] = {d->slas[i].def->name,
                            sla_target(d->slas[i].def, b.b[1], RPT_NUM_BUF),
                            b.b[2],
                            b.b[3],
                            rpt_fmt_ratio(&pt->value, b.b[4]),
                            b.b[5]};
        table_row(p, &t, v, false);
    }
    table_end(p);
    char goal[64], gtext[RPT_NUM_BUF];
    kpi_ratio_t g = {d->sla_goal_bp, 100, KPI_UNDEF_NONE};
    snprintf(goal, sizeof goal, "goal %s%%", rpt_fmt_ratio(&g, gtext));
    trend_labels_t tl;
    trend_labels(d, &tl);
    for (size_t i = 0; i < d->n_slas; i++) {
        double v[RPT_TREND_MAX];
        bool ok[RPT_TREND_MAX];
        ratio_series(d->slas[i].trend, d->n_trend, v, ok);
        series_t s[1] = {{d->slas[i].def->name, v, ok}};
        char title[96];
        snprintf(title, sizeof title, "%s: compliance by month (%%)", d->slas[i].def->name);
        line_chart(p, title, 118, "%", tl.axis, d->n_trend, s, 1, 100,
                   (double)d->sla_goal_bp / 100.0, goal);
    }
    /* The trend as numbers, at most 5 SLAs per table. */
    for (size_t first = 0; first < d->n_slas; first += 5) {
        size_t k = d->n_slas - first < 5 ? d->n_slas - first : 5;
        section(p, first == 0 ? "SLA compliance by month (%)"
                              : "SLA compliance by month (%), "
                                "continued");
        col_t tc[6] = {{"Month", 74, A_LEFT}};
        for (size_t j = 0; j < k; j++)
            tc[j + 1] = (col_t){d->slas[first + j].def->name, 85, A_RIGHT};
        table_begin(p, &t, tc, k + 1);
        for (size_t i = 0; i < d->n_trend; i++) {
            const char *v[6] = {tl.v[i]};
            for (size_t j = 0; j < k; j++)
                v[j + 1] = rpt_fmt_ratio(&d->slas[first + j].trend[i].value, b.b[j + 1]);
            table_row(p, &t, v, false);
        }
        table_end(p);
    }
}

static void sec_ftq(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    section(p, "First-time quality for the period");
    static const col_t cols[4] = {{"Documents", 200, A_LEFT},
                                  {"Reviewed / processed", 100, A_RIGHT},
                                  {"Passed / clean", 100, A_RIGHT},
                                  {"FTQ (%)", 99, A_RIGHT}};
    table_t t;
    table_begin(p, &t, cols, 4);
    bufs_t b;
    static const char *const names[2] = {"Invoices (first review passed, never corrected)",
                                         "Bills (processed without rejection or escalation)"};
    for (int k = 0; k < 2; k++) {
        snprintf(b.b[1], RPT_NUM_BUF, "%lld", (long long)comp_v(&d->ftq[k], "reviewed"));
        snprintf(b.b[2], RPT_NUM_BUF, "%lld", (long long)comp_v(&d->ftq[k], "passed"));
        const char *v[4] = {names[k], b.b[1], b.b[2], rpt_fmt_ratio(&d->ftq[k].value, b.b[3])};
        table_row(p, &t, v, false);
    }
    table_end(p);
    trend_labels_t tl;
    trend_labels(d, &tl);
    double sv[2][RPT_TREND_MAX];
    bool ok[2][RPT_TREND_MAX];
    ratio_series(d->t_ftq[0], d->n_trend, sv[0], ok[0]);
    ratio_series(d->t_ftq[1], d->n_trend, sv[1], ok[1]);
    series_t s[2] = {{"Invoices", sv[0], ok[0]}, {"Bills", sv[1], ok[1]}};
    line_chart(p, "First-time quality by month (%)", 170, "%", tl.axis, d->n_trend, s, 2, 100, -1,
               NULL);
    section(p, "First-time quality by month");
    static const col_t tc[7] = {{"Month", 62, A_LEFT},
                                {"Invoices reviewed", 80, A_RIGHT},
                                {"Passed", 58, A_RIGHT},
                                {"Invoice FTQ (%)", 72, A_RIGHT},
                                {"Bills processed", 76, A_RIGHT},
                                {"Clean", 58, A_RIGHT},
                                {"Bill FTQ (%)", 93, A_RIGHT}};
    table_begin(p, &t, tc, 7);
    for (size_t i = 0; i < d->n_trend; i++) {
        const store_q_point_t *a = &d->t_ftq[0][i], *c = &d->t_ftq[1][i];
        snprintf(b.b[1], RPT_NUM_BUF, "%lld", (long long)comp_v(a, "reviewed"));
        snprintf(b.b[2], RPT_NUM_BUF, "%lld", (long long)comp_v(a, "passed"));
        snprintf(b.b[4], RPT_NUM_BUF, "%lld", (long long)comp_v(c, "reviewed"));
        snprintf(b.b[5], RPT_NUM_BUF, "%lld", (long long)comp_v(c, "passed"));
        const char *v[7] = {tl.v[i],
                            b.b[1],
                            b.b[2],
                            rpt_fmt_ratio(&a->value, b.b[3]),
                            b.b[4],
                            b.b[5],
                            rpt_fmt_ratio(&c->value, b.b[6])};
        table_row(p, &t, v, false);
    }
    table_end(p);
}

static void sec_key_figures(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    section(p, "Key figures");
    if (d->partial) {
        char to[KPI_DATE_BUF], end[KPI_DATE_BUF], line[200];
        snprintf(line, sizeof line,
                 "To date: the period runs to %s; figures up to %s, the day of this report.",
                 kpi_date_format(d->period_to, end), kpi_date_format(d->to, to));
        note(p, line);
    }
    static const col_t cols[3] = {
        {"Measure", 230, A_LEFT}, {"Value", 110, A_RIGHT}, {"Unit", 159, A_LEFT}};
    table_t t;
    table_begin(p, &t, cols, 3);
    bufs_t b;
    const kpi_aging_t *ag = &d->aging.all;
    char day[KPI_DATE_BUF], lab[96];
    fmt_day(d->to, day);
    snprintf(lab, sizeof lab, "AR at %s", day);
    const char *r[][3] = {
        {lab, money(p, ag->total_amount, b.b[0]), d->currency},
        {"Overdue AR", money(p, ag->total_amount - ag->buckets[0].amount, b.b[1]), d->currency},
        {"Unapplied cash", money(p, d->aging.unapplied_cash, b.b[2]), d->currency},
        {"Standard DSO", rpt_fmt_ratio(&d->dso[0].value, b.b[3]), "days"},
        {"Countback DSO", rpt_fmt_ratio(&d->dso[1].value, b.b[4]), "days"},
        {"Collection effectiveness index", rpt_fmt_ratio(&d->cei.value, b.b[5]), "%"},
        {"First-time quality, invoices", rpt_fmt_ratio(&d->ftq[0].value, b.b[6]), "%"},
        {"First-time quality, bills", rpt_fmt_ratio(&d->ftq[1].value, b.b[7]), "%"},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        table_row(p, &t, r[i], false);
    for (size_t i = 0; i < d->n_slas && i < 16; i++) {
        char name[96];
        snprintf(name, sizeof name, "SLA compliance, %s", d->slas[i].def->name);
        const char *v[3] = {name, rpt_fmt_ratio(&d->slas[i].period.value, b.b[8 + i]), "%"};
        table_row(p, &t, v, false);
    }
    table_end(p);
}

/* ---- drawing for section files (rpt_int.h) --------------------------------------- */

void rpt_pdf_table(rpt_pdf_t *p, const rpt_col_t *cols, size_t n, const char *const *v,
                   size_t n_rows, bool total)
{
    table_t t;
    table_begin(p, &t, cols, n);
    for (size_t r = 0; r < n_rows; r++)
        table_row(p, &t, v + r * n, total && r + 1 == n_rows);
    table_end(p);
}

/* ---- definitions ------------------------------------------------------------------ */

typedef struct defn {
    unsigned kinds; /* bit per rpt_kind_t where it is printed (summary: all) */
    const char *term;
    const char *text;
} defn_t;

#define K(x) (1u << (x))

static const defn_t defs[] = {
    {K(RPT_AGING) | K(RPT_DSO), "AR and open amount",
     "Open amount of an invoice = amount + adjustments - applied payments - credit notes against "
     "it - write-offs. AR is the sum of open amounts at the end of a day in the reporting zone. "
     "Unapplied cash and unallocated credit notes are shown beside it, never in a bucket."},
    {K(RPT_AGING), "Aging buckets",
     "Days past due = day - due date. 'current' is not yet due (0 days or less), then the "
     "configured edges (default 1-30, 31-60, 61-90, 91-120, 121+). Overdue means at least one day "
     "past due. Customers are ranked by overdue amount."},
    {K(RPT_DSO), "Standard DSO",
     "AR at period end / sales in the period x days in the period. Undefined (n/a) with no "
     "sales."},
    {K(RPT_DSO), "Countback DSO",
     "From AR at the end, walk back month by month subtracting each month's sales and adding its "
     "days while AR exceeds them, then add the remaining AR / that month's sales x its days."},
    {K(RPT_DSO), "Best possible DSO and ADD",
     "Best possible DSO = current (not yet due) AR / sales x days. Average days delinquent = "
     "standard DSO - best possible DSO."},
    {K(RPT_DSO), "Collection effectiveness index (CEI)",
     "(AR at start + sales - AR at end) / (AR at start + sales - current AR at end) x 100."},
    {K(RPT_SLA), "SLA compliance",
     "An SLA is a start and a stop event on the same document with a target in hours, business "
     "days (weekends and holidays excluded) or days. Compliance = items stopped in the period "
     "within target / items stopped in the period, in percent. Breached open = started, not "
     "stopped and already past target at the period end. The dashed line is the compliance "
     "goal."},
    {K(RPT_FTQ), "First-time quality (FTQ)",
     "Invoices first reviewed in the period whose first review passed and which were never "
     "corrected (credit note against it, adjustment) / invoices first reviewed, in percent. "
     "Bills: processed with no rejection or escalation before processing / bills processed."},
    {K(RPT_PAYABLES), "Payables aging and cash requirements",
     "Open amount of a bill = amount received - payments (each from its day, or the day the bill "
     "was received if later). A rejected or escalated bill is still owed. Days past due = day - "
     "due date, in the aging's buckets; the total is DPO's AP. Cash requirements: the bills open "
     "at the end of the period by due date: overdue, due in each week (Monday to Sunday, the "
     "first from the period's last day), later."},
    {K(RPT_AGING) | K(RPT_DSO) | K(RPT_SLA) | K(RPT_FTQ) | K(RPT_PAYABLES), "Numbers",
     "Amounts are exact, in the report currency with its minor digits. Ratios are rounded half "
     "away from zero to 2 decimals, as the JSON API prints them. n/a (reason) marks a value that "
     "is undefined, e.g. no sales or no items. Trends show the months ending at the period end, "
     "at least 12. SLA and first-time quality count the documents of every currency. Full "
     "definitions: docs/kpi.md."},
};

/* Word-wrapped paragraph at the cursor. */
static void paragraph(pdf_t *p, const char *s, float size, float indent)
{
    char line[600];
    size_t ll = 0;
    const char *w = s;
    float maxw = CW - indent;
    while (*w && !failed(p)) {
        const char *e = strchr(w, ' ');
        size_t wl = e ? (size_t)(e - w) : strlen(w);
        char trial[600];
        snprintf(trial, sizeof trial, "%.*s%s%.*s", (int)ll, line, ll ? " " : "", (int)wl, w);
        if (ll > 0 && text_w(p, F_REG, size, trial) > maxw) {
            need(p, size + 3);
            p->y -= size + 3;
            text(p, MX + indent, p->y, F_REG, size, line, A_LEFT, maxw, C_TEXT);
            snprintf(line, sizeof line, "%.*s", (int)wl, w);
            ll = strlen(line);
        } else {
            snprintf(line, sizeof line, "%s", trial);
            ll = strlen(line);
        }
        w += wl;
        while (*w == ' ')
            w++;
    }
    if (ll > 0) {
        need(p, size + 3);
        p->y -= size + 3;
        text(p, MX + indent, p->y, F_REG, size, line, A_LEFT, maxw, C_TEXT);
    }
}

static void sec_definitions(pdf_t *p)
{
    new_page(p);
    section(p, "Definitions used in this report");
    /* The summary is the receivables pack: every kind but payables. */
    unsigned bit = p->d->kind == RPT_SUMMARY ? ~K(RPT_PAYABLES) : K(p->d->kind);
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        if (!(defs[i].kinds & bit))
            continue;
        need(p, 40);
        p->y -= 12;
        text(p, MX, p->y, F_BOLD, 8.5f, defs[i].term, A_LEFT, CW, C_TEXT);
        paragraph(p, defs[i].text, 8, 0);
        p->y -= 4;
    }
}

/* ---- document --------------------------------------------------------------------- */

static void render(pdf_t *p)
{
    new_page(p);
    switch (p->d->kind) {
    case RPT_AGING:
        sec_aging(p);
        sec_customers(p, RPT_TOP_CUSTOMERS * 2);
        sec_units(p);
        break;
    case RPT_DSO: sec_dso(p); break;
    case RPT_SLA: sec_sla(p); break;
    case RPT_FTQ: sec_ftq(p); break;
    case RPT_PAYABLES: rpt_payables_render(p); break;
    case RPT_XLSX: break; /* a workbook, never drawn here (rpt_xlsx.c) */
    case RPT_SUMMARY:
        sec_key_figures(p);
        sec_aging(p);
        sec_customers(p, RPT_TOP_CUSTOMERS);
        sec_units(p);
        new_page(p);
        sec_dso(p);
        new_page(p);
        sec_sla(p);
        new_page(p);
        sec_ftq(p);
        break;
    case RPT_STATEMENT: rpt_statement_draw(p); break; /* notes of its own, no definitions */
    }
    if (p->d->kind != RPT_STATEMENT)
        sec_definitions(p);
    draw_footers(p);
}

static void set_info(pdf_t *p)
{
    const rpt_data_t *d = p->d;
    char title[400];
    snprintf(title, sizeof title, "%s - %s", rpt_kind_title(d->kind), report_subject(d));
    HPDF_SetInfoAttr(p->doc, HPDF_INFO_TITLE, title);
    HPDF_SetInfoAttr(p->doc, HPDF_INFO_CREATOR, "kpid");
    int64_t s = d->generated_s;
    int32_t day = kpi_utc_day(s), y, m, dd;
    kpi_civil_from_days(day, &y, &m, &dd);
    int64_t sod = s - (int64_t)day * 86400;
    HPDF_Date dt = {(HPDF_INT)y,
                    (HPDF_INT)m,
                    (HPDF_INT)dd,
                    (HPDF_INT)(sod / 3600),
                    (HPDF_INT)(sod / 60 % 60),
                    (HPDF_INT)(sod % 60),
                    'Z',
                    0,
                    0};
    HPDF_SetInfoDateAttr(p->doc, HPDF_INFO_CREATION_DATE, dt);
}

size_t rpt_pdf_tounicode(char *buf, size_t cap)
{
    size_t o = 0;
    int n;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        n = snprintf(buf + o, cap - o, __VA_ARGS__);                                               \
        if (n < 0 || (size_t)n >= cap - o)                                                         \
            return 0;                                                                              \
        o += (size_t)n;                                                                            \
    } while (0)
    PUT("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    /* high bytes 0x00..0xFF except the surrogates 0xD8..0xDF: 248 ranges */
    unsigned hi[256], nhi = 0;
    for (unsigned h = 0; h < 256; h++)
        if (h < 0xD8 || h > 0xDF)
            hi[nhi++] = h;
    for (unsigned i = 0; i < nhi; i += 100) {
        unsigned k = nhi - i < 100 ? nhi - i : 100;
        PUT("%u beginbfrange\n", k);
        for (unsigned j = i; j < i + k; j++)
            PUT("<%02X00> <%02XFF> <%02X00>\n", hi[j], hi[j], hi[j]);
        PUT("endbfrange\n");
    }
    PUT("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
#undef PUT
    return o;
}

err_t rpt_pdf_fix_tounicode(void *font, err_msg_t *msg)
{
    HPDF_Font f = font;
    HPDF_FontAttr a = f ? (HPDF_FontAttr)f->attr : NULL;
    HPDF_Dict cm = a ? a->cmap_stream : NULL;
    if (cm == NULL || cm->stream == NULL)
        return err_set(msg, ERR_INTERNAL, "libharu font without a ToUnicode stream");
    char text[RPT_PDF_TOUNICODE_MAX];
    size_t len = rpt_pdf_tounicode(text, sizeof text);
    HPDF_MemStream_FreeData(cm->stream);
    /* A ToUnicode stream needs no CID system entries; libharu's are those of
       an encoding CMap (Ordering "Identity-H"), so they go. */
    static const char *const drop[] = {"Type", "CMapName", "CIDSystemInfo", "WMode"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        (void)HPDF_Dict_RemoveElement(cm, drop[i]); /* all four are there; none is needed */
    if (len == 0 ||
        HPDF_Stream_Write(cm->stream, (const HPDF_BYTE *)text, (HPDF_UINT)len) != HPDF_OK)
        return err_set(msg, ERR_INTERNAL, "cannot write the ToUnicode map");
    return ERR_OK;
}

/* Write the finished document to path; *bytes receives its size. */
static err_t save(pdf_t *p, const char *path, int64_t *bytes, err_msg_t *msg)
{
    if (HPDF_SaveToStream(p->doc) != HPDF_OK)
        return err_set(msg, ERR_INTERNAL, "libharu could not finish the PDF (error 0x%04X)",
                       (unsigned)p->hst);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return err_set(msg, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    err_t e = ERR_OK;
    HPDF_BYTE buf[65536];
    *bytes = 0;
    for (;;) {
        HPDF_UINT32 n = sizeof buf;
        HPDF_STATUS st = HPDF_ReadFromStream(p->doc, buf, &n);
        if (n > 0 && fwrite(buf, 1, n, f) != n) {
            e = err_set(msg, errno == ENOSPC ? ERR_DISK_FULL : ERR_IO, "cannot write %s: %s", path,
                        strerror(errno));
            break;
        }
        *bytes += n;
        if (st == HPDF_STREAM_EOF)
            break;
        if (st != HPDF_OK) {
            e = err_set(msg, ERR_INTERNAL, "libharu stream error 0x%04X", (unsigned)st);
            break;
        }
    }
    if (fflush(f) != 0 && !e)
        e = err_set(msg, errno == ENOSPC ? ERR_DISK_FULL : ERR_IO, "cannot write %s: %s", path,
                    strerror(errno));
    if (!e && fsync(fileno(f)) != 0)
        e = err_set(msg, ERR_IO, "cannot sync %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && !e)
        e = err_set(msg, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return e;
}

err_t rpt_pdf_write(const rpt_data_t *d, const rpt_request_t *rq, const char *path,
                    rpt_info_t *info, err_msg_t *msg)
{
    pdf_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    p->d = d;
    p->msg = msg;
    p->cjk_path = rq->font_cjk ? rq->font_cjk : FONT_CJK;
    err_t e = ERR_OK;
    p->doc = HPDF_New(on_hpdf_error, p);
    if (p->doc == NULL) {
        e = err_set(msg, ERR_NOMEM, "cannot create a PDF document");
        goto out;
    }
    HPDF_SetCompressionMode(p->doc, HPDF_COMP_ALL);
    HPDF_UseUTFEncodings(p->doc);
    HPDF_SetCurrentEncoder(p->doc, "UTF-8");
    p->path[0] = rq->font_latin ? rq->font_latin : FONT_LATIN;
    p->path[1] = rq->font_bold ? rq->font_bold : FONT_BOLD;
    for (int i = 0; i < 2 && !e; i++)
        e = load_font(p, p->path[i], PKG_LATIN, false, &p->font[i], &p->def[i]);
    if (e)
        goto out;
    set_info(p);
    render(p);
    if (p->err) {
        e = p->err;
        goto out;
    }
    if (p->hst != 0) {
        e = err_set(msg, ERR_INTERNAL, "libharu error 0x%04X (detail %u) while drawing",
                    (unsigned)p->hst, (unsigned)p->hdetail);
        goto out;
    }
    for (int i = 0; i < 2 && !e; i++)
        e = rpt_pdf_mark_composites(p->def[i], p->path[i], msg);
    if (!e && p->cjk != NULL)
        e = rpt_pdf_mark_composites(p->cjk_def, p->cjk_path, msg);
    for (int i = 0; i < 2 && !e; i++)
        e = rpt_pdf_fix_tounicode(p->font[i], msg);
    if (!e && p->cjk != NULL)
        e = rpt_pdf_fix_tounicode(p->cjk, msg);
    if (e)
        goto out;
    int64_t bytes = 0;
    e = save(p, path, &bytes, msg);
    if (!e && info != NULL) {
        info->pages = p->n_pages;
        info->bytes = bytes;
        info->cjk_used = p->cjk != NULL;
    }
out:
    if (p->doc != NULL)
        HPDF_Free(p->doc);
    free(p);
    return e;
}

/* ---- drawing for other layouts (rpt_int.h) ----------------------------------------- */

const rpt_data_t *rpt_pdf_data(const rpt_pdf_t *p)
{
    return p->d;
}

void rpt_pdf_new_page(rpt_pdf_t *p)
{
    new_page(p);
}

void rpt_pdf_section(rpt_pdf_t *p, const char *title)
{
    section(p, title);
}

void rpt_pdf_note(rpt_pdf_t *p, const char *s)
{
    note(p, s);
}

void rpt_pdf_paragraph(rpt_pdf_t *p, const char *s, float size)
{
    paragraph(p, s, size, 0);
}

void rpt_pdf_table_begin(rpt_pdf_t *p, rpt_pdf_table_t *t, const rpt_pdf_col_t *cols, size_t n)
{
    table_begin(p, t, cols, n);
}

void rpt_pdf_table_row(rpt_pdf_t *p, rpt_pdf_table_t *t, const char *const *v, bool total)
{
    table_row(p, t, v, total);
}

void rpt_pdf_table_end(rpt_pdf_t *p)
{
    table_end(p);
}

err_t rpt_render_file_ex(store_t *store, const rpt_request_t *rq, const char *path,
                         rpt_info_t *info, err_msg_t *msg)
{
    kpi_arena_t *arena = NULL;
    err_t e = kpi_arena_new(RPT_ARENA_CAP, &arena);
    if (e)
        return err_set(msg, e, "out of memory");
    rpt_data_t d;
    e = rpt_data_gather(store, rq, arena, &d, msg);
    if (!e)
        e = rq->kind == RPT_XLSX ? rpt_xlsx_write(&d, path, info, msg)
                                 : rpt_pdf_write(&d, rq, path, info, msg);
    kpi_arena_free(arena);
    return e;
}

err_t rpt_render_file(store_t *store, const rpt_request_t *rq, const char *path, err_msg_t *msg)
{
    return rpt_render_file_ex(store, rq, path, NULL, msg);
}
