/*
 * test_rpt_pdf.c — rendering (reports/rpt_pdf.c): every kind from the
 * hand-made book into a temporary directory, checked as a PDF with the page
 * count the layout gives (counted in the file and reported by the
 * renderer), the CJK font embedded only when a name needs it, same request
 * = same bytes, and the errors a user can hit: a missing font file (the
 * message names the package), a missing CJK font when a name needs one,
 * an unwritable output path, an unknown business unit.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <hpdf.h>
#include <hpdf_font.h>
#include <hpdf_fontdef.h>

#include "rpt.h"
#include "rpt_int.h"
#include "rpt_test.h"

static char dir[64];  /* store */
static char odir[64]; /* output */
static store_t *st;

static rpt_request_t req(rpt_kind_t k)
{
    rpt_request_t rq = {.kind = k,
                        .from_day = D(2025, 11, 1),
                        .to_day = D(2025, 11, 30),
                        .generated_s = T(2025, 12, 1, 6)};
    return rq;
}

static void out_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", odir, name);
}

/* Render rq to name; returns the page count found in the file (0 on error). */
static unsigned render(const rpt_request_t *rq, const char *name, rpt_info_t *info)
{
    char path[160];
    out_path(path, sizeof path, name);
    err_msg_t m = {{0}};
    err_t e = rpt_render_file_ex(st, rq, path, info, &m);
    CHECK_MSG(e == ERR_OK, "%s: %s", name, m.text);
    if (e)
        return 0;
    size_t len = 0;
    char *data = slurp(path, &len);
    REQUIRE(data != NULL);
    CHECK_MSG(pdf_looks_ok(data, len), "%s is not a complete PDF", name);
    CHECK_INT(len, info->bytes);
    unsigned pages = pdf_pages(data, len);
    CHECK_INT(info->pages, pages);
    free(data);
    return pages;
}

typedef struct kind_row {
    rpt_kind_t kind;
    unsigned pages; /* what the layout gives for the small book */
    int cjk;        /* prints customer names, one of which is CJK */
} kind_row_t;

static void test_each_kind(void)
{
    /* aging: tables, chart, customers, units + definitions; dso: one page of
       figures, charts and the trend + definitions; sla: the summary, five
       charts (two pages) and the trend + definitions; ftq: one page +
       definitions; summary: key figures and aging, customers and units, then
       DSO, SLA (2 pages) and FTQ each from a new page, + definitions. */
    static const kind_row_t rows[] = {
        {RPT_AGING, 2, 1}, {RPT_DSO, 2, 0}, {RPT_SLA, 3, 0}, {RPT_FTQ, 2, 0}, {RPT_SUMMARY, 7, 1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rpt_request_t rq = req(rows[i].kind);
        char name[64];
        snprintf(name, sizeof name, "%s.pdf", rpt_kind_name(rows[i].kind));
        rpt_info_t info = {0};
        unsigned pages = render(&rq, name, &info);
        CHECK_MSG(pages == rows[i].pages, "%s: expected %u pages, got %u", name, rows[i].pages,
                  pages);
        CHECK_MSG(info.cjk_used == rows[i].cjk, "%s: CJK font embedded %d, expected %d", name,
                  info.cjk_used, rows[i].cjk);
    }
}

static void test_unit_and_same_bytes(void)
{
    rpt_request_t rq = req(RPT_AGING);
    rq.business_unit = "emea"; /* Latin names only: no CJK font embedded */
    rpt_info_t a = {0}, b = {0};
    CHECK_INT(2, render(&rq, "emea-1.pdf", &a));
    CHECK_INT(0, a.cjk_used);
    CHECK_INT(2, render(&rq, "emea-2.pdf", &b));
    char p1[160], p2[160];
    out_path(p1, sizeof p1, "emea-1.pdf");
    out_path(p2, sizeof p2, "emea-2.pdf");
    size_t l1, l2;
    char *d1 = slurp(p1, &l1), *d2 = slurp(p2, &l2);
    REQUIRE(d1 != NULL && d2 != NULL);
    CHECK_MSG(l1 == l2 && memcmp(d1, d2, l1) == 0, "the same request gave different bytes");
    free(d1);
    free(d2);
    /* a long period: the trend covers it month by month */
    rq.from_day = D(2024, 1, 1);
    CHECK(render(&rq, "emea-long.pdf", &a) >= 2);
}

static void test_errors(void)
{
    char path[160];
    out_path(path, sizeof path, "err.pdf");
    err_msg_t m = {{0}};
    rpt_request_t rq = req(RPT_AGING);
    rq.font_latin = "/nonexistent/DejaVuSans.ttf";
    CHECK_ERR(ERR_CONFIG, rpt_render_file(st, &rq, path, &m));
    CHECK_STR("font file /nonexistent/DejaVuSans.ttf is missing: install the Debian package "
              "fonts-dejavu-core (apt-get install fonts-dejavu-core)",
              m.text);
    rq = req(RPT_AGING);
    rq.font_bold = "/nonexistent/DejaVuSans-Bold.ttf";
    CHECK_ERR(ERR_CONFIG, rpt_render_file(st, &rq, path, &m));
    CHECK(strstr(m.text, "fonts-dejavu-core") != NULL);
    /* No CJK font: fine while no name needs it, an error naming the package once one does. */
    rq = req(RPT_AGING);
    rq.font_cjk = "/nonexistent/wqy-microhei.ttc";
    rq.business_unit = "emea";
    CHECK_ERR(ERR_OK, rpt_render_file(st, &rq, path, &m));
    rq.business_unit = "apac";
    CHECK_ERR(ERR_CONFIG, rpt_render_file(st, &rq, path, &m));
    CHECK_STR("'" CJK_NAME "' needs a CJK font, but /nonexistent/wqy-microhei.ttc is missing: "
              "install the Debian package fonts-wqy-microhei (apt-get install "
              "fonts-wqy-microhei)",
              m.text);
    /* unwritable output */
    rq = req(RPT_DSO);
    CHECK_ERR(ERR_IO, rpt_render_file(st, &rq, "/nonexistent-dir/x.pdf", &m));
    CHECK_STR("cannot write /nonexistent-dir/x.pdf: No such file or directory", m.text);
    /* bad requests reach the user's message */
    rq.business_unit = "nope";
    CHECK_ERR(ERR_NOT_FOUND, rpt_render_file(st, &rq, path, &m));
    CHECK_STR("unknown business unit 'nope' (no receivables in USD)", m.text);
}

static size_t flagged_above(HPDF_FontDef def, size_t from)
{
    HPDF_TTFontDefAttr a = (HPDF_TTFontDefAttr)def->attr;
    size_t n = 0;
    for (size_t g = from; g < a->num_glyphs; g++)
        n += a->glyph_tbl.flgs[g] != 0;
    return n;
}

/* The subset fix: after measuring CJK text, libharu has flagged the
   characters' glyphs but not their parts numbered above 32767; the fix adds
   them, and a second pass finds nothing more to add. */
static void test_composite_parts(void)
{
    const char *cjk = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
    if (access(cjk, R_OK) != 0) {
        test_skip("wqy-microhei.ttc missing (install fonts-wqy-microhei): CJK subsetting "
                  "not checked");
        return;
    }
    HPDF_Doc doc = HPDF_New(NULL, NULL);
    REQUIRE(doc != NULL);
    HPDF_UseUTFEncodings(doc);
    const char *name = HPDF_LoadTTFontFromFile2(doc, cjk, 0, HPDF_TRUE);
    REQUIRE(name != NULL);
    HPDF_Font f = HPDF_GetFont(doc, name, "UTF-8");
    REQUIRE(f != NULL);
    HPDF_FontDef def = ((HPDF_FontAttr)f->attr)->fontdef;
    HPDF_TTFontDefAttr a = (HPDF_TTFontDefAttr)def->attr;
    CHECK(a->num_glyphs > 32768);
    const char *s = CJK_NAME;
    (void)HPDF_Font_TextWidth(f, (const HPDF_BYTE *)s, (HPDF_UINT)strlen(s));
    size_t before = flagged_above(def, 0), high_before = flagged_above(def, 32768);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, rpt_pdf_mark_composites(def, cjk, &m));
    size_t after = flagged_above(def, 0), high_after = flagged_above(def, 32768);
    CHECK_MSG(high_after > high_before, "no part above 32767 added (%zu before, %zu after)",
              high_before, high_after);
    CHECK(after > before);
    CHECK_ERR(ERR_OK, rpt_pdf_mark_composites(def, cjk, &m));
    CHECK_INT(after, flagged_above(def, 0));
    CHECK_ERR(ERR_IO, rpt_pdf_mark_composites(def, "/nonexistent/font.ttc", &m));
    CHECK_STR("cannot read font /nonexistent/font.ttc: No such file or directory", m.text);
    HPDF_Free(doc);
}

/* The ToUnicode map: the identity of the BMP without surrogates, as
   bfranges that each stay within one high byte, at most 100 a block. */
static void test_tounicode_text(void)
{
    char buf[RPT_PDF_TOUNICODE_MAX];
    size_t n = rpt_pdf_tounicode(buf, sizeof buf);
    REQUIRE(n > 0 && n < sizeof buf);
    CHECK_INT(strlen(buf), n);
    CHECK(strstr(buf, "begincidrange") == NULL);
    CHECK(strstr(buf, "/CMapType 2 def\n") != NULL);
    CHECK(strstr(buf, "/Ordering (UCS)") != NULL);
    CHECK(strstr(buf, "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n") != NULL);
    unsigned blocks = 0, ranges = 0, in_block = 0;
    bool seen[256] = {false}, ok = true;
    for (const char *l = buf; *l; l = strchr(l, '\n') + 1) {
        unsigned k, a, b, c, a2, b2, c2;
        int used = 0;
        if (sscanf(l, "%u beginbfrange%n", &k, &used) == 1 && used > 0 && l[used] == '\n') {
            blocks++;
            ok = ok && k >= 1 && k <= 100;
            in_block = k;
        } else if (sscanf(l, "<%2X%2X> <%2X%2X> <%2X%2X>", &a, &a2, &b, &b2, &c, &c2) == 6) {
            ranges++;
            ok = ok && in_block > 0 && a == b && a == c && a2 == 0 && b2 == 0xFF && c2 == 0 &&
                 !seen[a];
            seen[a] = true;
            in_block--;
        } else if (strncmp(l, "endbfrange", 10) == 0) {
            ok = ok && in_block == 0;
        }
    }
    CHECK(ok);
    CHECK_INT(3, blocks);
    CHECK_INT(248, ranges);
    for (unsigned h = 0; h < 256; h++)
        CHECK_MSG(seen[h] == (h < 0xD8 || h > 0xDF), "high byte %02X", h);
    CHECK(strstr(buf, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n") !=
          NULL);
    CHECK_INT(0, rpt_pdf_tounicode(buf, 100)); /* does not fit */
}

/* rpt_pdf_fix_tounicode replaces libharu's map of a UTF-8 TrueType font. */
static void test_fix_tounicode(void)
{
    HPDF_Doc doc = HPDF_New(NULL, NULL);
    REQUIRE(doc != NULL);
    HPDF_UseUTFEncodings(doc);
    const char *name =
        HPDF_LoadTTFontFromFile(doc, "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", HPDF_TRUE);
    REQUIRE(name != NULL);
    HPDF_Font f = HPDF_GetFont(doc, name, "UTF-8");
    REQUIRE(f != NULL);
    HPDF_Dict cm = ((HPDF_FontAttr)f->attr)->cmap_stream;
    REQUIRE(cm != NULL);
    CHECK(HPDF_Dict_GetItem(cm, "CMapName", HPDF_OCLASS_NAME) != NULL); /* libharu's */
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, rpt_pdf_fix_tounicode(f, &m));
    char want[RPT_PDF_TOUNICODE_MAX];
    size_t n = rpt_pdf_tounicode(want, sizeof want);
    CHECK_INT(n, cm->stream->size);
    char got[RPT_PDF_TOUNICODE_MAX];
    HPDF_UINT len = sizeof got;
    REQUIRE(HPDF_Stream_Seek(cm->stream, 0, HPDF_SEEK_SET) == HPDF_OK);
    (void)HPDF_Stream_Read(cm->stream, (HPDF_BYTE *)got, &len);
    CHECK(len == n && memcmp(got, want, n) == 0);
    /* the encoding CMap's entries are gone */
    CHECK(HPDF_Dict_GetItem(cm, "CMapName", HPDF_OCLASS_NAME) == NULL);
    CHECK(HPDF_Dict_GetItem(cm, "CIDSystemInfo", HPDF_OCLASS_DICT) == NULL);
    HPDF_ResetError(doc);
    /* twice is the same */
    CHECK_ERR(ERR_OK, rpt_pdf_fix_tounicode(f, &m));
    CHECK_INT(n, cm->stream->size);
    HPDF_Free(doc);
    CHECK_ERR(ERR_INTERNAL, rpt_pdf_fix_tounicode(NULL, &m));
    CHECK_STR("libharu font without a ToUnicode stream", m.text);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    tmpdir(dir);
    tmpdir(odir);
    st = open_store(dir, 0);
    rpt_test_book(st, true);
    RUN(test_each_kind);
    RUN(test_unit_and_same_bytes);
    RUN(test_errors);
    RUN(test_composite_parts);
    RUN(test_tounicode_text);
    RUN(test_fix_tounicode);
    store_close(st);
    rmdir_all(dir);
    rmdir_all(odir);
    kpi_tz_free(test_utc);
    return test_summary();
}
