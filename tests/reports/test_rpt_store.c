/*
 * test_rpt_store.c — report files (reports/rpt_store.c): ids and their
 * sanitizing, id validation against path traversal, parsing an id back,
 * paths, creating the directory, the listing (newest first, *.tmp and
 * strangers skipped) and the temp-then-rename write.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "rpt.h"
#include "rpt_test.h"

static char dir[64];
static char odir[64];
static store_t *st;

static void test_report_id(void)
{
    rpt_request_t rq = {.kind = RPT_SLA,
                        .from_day = D(2025, 11, 1),
                        .to_day = D(2025, 11, 30),
                        .generated_s = T(2025, 12, 1, 6) + 7 * 60 + 9};
    char id[RPT_ID_MAX];
    rpt_report_id(&rq, id);
    CHECK_STR("sla-all-2025-11-01-2025-11-30-20251201T060709Z", id);
    CHECK(rpt_id_valid(id));
    static const struct {
        const char *unit, *want;
    } rows[] = {
        {"emea", "aging-emea-2025-11-01-2025-11-30-20251201T060709Z"},
        {"Sales / EMEA", "aging-Sales___EMEA-2025-11-01-2025-11-30-20251201T060709Z"},
        {"../../etc", "aging-_._.__etc-2025-11-01-2025-11-30-20251201T060709Z"},
        {".hidden", "aging-_hidden-2025-11-01-2025-11-30-20251201T060709Z"},
        {"a..b", "aging-a._b-2025-11-01-2025-11-30-20251201T060709Z"},
        {"all", "aging-_all-2025-11-01-2025-11-30-20251201T060709Z"},
        {"all?", "aging-all_-2025-11-01-2025-11-30-20251201T060709Z"},
        {"M\xC3\xBCller", "aging-M__ller-2025-11-01-2025-11-30-20251201T060709Z"},
    };
    rq.kind = RPT_AGING;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rq.business_unit = rows[i].unit;
        rpt_report_id(&rq, id);
        CHECK_STR(rows[i].want, id);
        CHECK_MSG(rpt_id_valid(id), "%s", id);
    }
    /* a long unit is cut to 64 bytes */
    char unit[300];
    memset(unit, 'u', sizeof unit - 1);
    unit[sizeof unit - 1] = '\0';
    rq.business_unit = unit;
    rpt_report_id(&rq, id);
    CHECK_INT(strlen("aging-") + 64 + strlen("-2025-11-01-2025-11-30-20251201T060709Z"),
              strlen(id));
}

static void test_id_valid_and_parse(void)
{
    static const char *const bad[] = {"",     ".",   "..",        ".pdf", "a/b", "a..b",
                                      "../x", "a b", "x\xC3\xBC", "a\\b", "a%2f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!rpt_id_valid(bad[i]), "'%s' accepted", bad[i]);
    CHECK(!rpt_id_valid(NULL));
    char longid[RPT_ID_MAX + 1];
    memset(longid, 'a', RPT_ID_MAX);
    longid[RPT_ID_MAX] = '\0';
    CHECK(!rpt_id_valid(longid));
    longid[RPT_ID_MAX - 1] = '\0';
    CHECK(rpt_id_valid(longid));
    CHECK(rpt_id_valid("my-report.v2_final"));

    rpt_id_parts_t p;
    CHECK_ERR(ERR_OK, rpt_id_parse("dso-Sales___EMEA-2025-10-01-2025-12-31-20260102T030405Z", &p));
    CHECK_STR("dso", p.kind);
    CHECK_STR("Sales___EMEA", p.unit);
    CHECK_INT(D(2025, 10, 1), p.from_day);
    CHECK_INT(D(2025, 12, 31), p.to_day);
    CHECK_INT(T(2026, 1, 2, 3) + 4 * 60 + 5, p.created_s);
    CHECK_ERR(ERR_OK, rpt_id_parse("summary-all-2025-11-01-2025-11-30-20251201T060709Z", &p));
    CHECK_STR("all", p.unit);
    /* statements: the customer in the kind part, readable and hashed */
    char cust[RPT_ID_CUSTOMER_MAX];
    rpt_id_customer("CUST-00001", cust);
    CHECK_MSG(strncmp(cust, "CUST_00001.", 11) == 0 && strlen(cust) == 19, "'%s'", cust);
    rpt_id_customer("\xE5\xA4\xA7\xE8\xBF\x9E", cust); /* two CJK characters */
    char cjk2[RPT_ID_CUSTOMER_MAX];
    rpt_id_customer("\xE5\xA4\xA7\xE8\xBF\x9F", cjk2); /* another second character */
    CHECK(strncmp(cust, "______.", 7) == 0 && strlen(cust) == 15);
    CHECK_MSG(strcmp(cust, cjk2) != 0, "'%s' for two names", cust);
    char longname[400];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    rpt_id_customer(longname, cust);
    CHECK_INT(49, strlen(cust)); /* 40 + '.' + 8 hex digits */
    rpt_request_t sq = {.kind = RPT_STATEMENT,
                        .customer = "M\xC3\xBCller..GmbH",
                        .business_unit = "emea",
                        .from_day = D(2025, 6, 1),
                        .to_day = D(2025, 6, 20),
                        .as_of_day = D(2025, 6, 30),
                        .generated_s = T(2026, 1, 2, 3)};
    char sid[RPT_ID_MAX];
    rpt_report_id(&sq, sid);
    CHECK(rpt_id_valid(sid));
    CHECK_MSG(strncmp(sid, "statement_M__ller__GmbH.", 24) == 0, "'%s'", sid);
    CHECK_ERR(ERR_OK, rpt_id_parse(sid, &p));
    CHECK_STR("statement", p.kind);
    CHECK(strncmp(p.customer, "M__ller__GmbH.", 14) == 0);
    CHECK_STR("emea", p.unit);
    CHECK_INT(D(2025, 6, 1), p.from_day);
    CHECK_INT(D(2025, 6, 30), p.to_day); /* a statement's id ends at its as-of day */
    CHECK_INT(T(2026, 1, 2, 3), p.created_s);
    CHECK_ERR(ERR_OK, rpt_id_parse("dso-all-2025-11-01-2025-11-30-20251201T060709Z", &p));
    CHECK_STR("", p.customer);
    static const char *const notours[] = {
        "my-report",
        "statement-all-2025-11-01-2025-11-30-20251201T060709Z", /* no customer */
        "statement_-all-2025-11-01-2025-11-30-20251201T060709Z",
        "aging_X-all-2025-11-01-2025-11-30-20251201T060709Z",
        "nope-all-2025-11-01-2025-11-30-20251201T060709Z",
        "sla--2025-11-01-2025-11-30-20251201T060709Z",
        "sla-all-2025-13-01-2025-11-30-20251201T060709Z",
        "sla-all-2025-11-01-2025-11-30-20251201T250709Z",
        "sla-all-2025-11-01-2025-11-30-20251201X060709Z",
        "sla-all-2025-11-01-2025-11-30-20251201T060709",
        "sla-all-2025-11-01_2025-11-30-20251201T060709Z",
    };
    for (size_t i = 0; i < sizeof notours / sizeof notours[0]; i++)
        CHECK_MSG(rpt_id_parse(notours[i], &p) == ERR_BAD_PARAM, "'%s' parsed", notours[i]);
}

static void test_path_and_dir(void)
{
    char buf[64];
    CHECK_ERR(ERR_OK, rpt_path("/r", "abc", buf, sizeof buf));
    CHECK_STR("/r/abc.pdf", buf);
    /* The kind xlsx is a workbook: its file is .xlsx (rpt_id_ext). */
    char xb[96];
    CHECK_ERR(ERR_OK,
              rpt_path("/r", "xlsx-all-2025-11-01-2025-11-30-20251201T060000Z", xb, sizeof xb));
    CHECK_STR("/r/xlsx-all-2025-11-01-2025-11-30-20251201T060000Z.xlsx", xb);
    CHECK_STR(".xlsx", rpt_id_ext("xlsx"));
    CHECK_STR(".xlsx", rpt_id_ext("xlsx-emea-2025-11-01-2025-11-30-20251201T060000Z"));
    CHECK_STR(".pdf", rpt_id_ext("xlsxx-a"));
    CHECK_STR(".pdf", rpt_id_ext("summary"));
    CHECK_STR(".pdf", rpt_id_ext(NULL));
    CHECK_ERR(ERR_BAD_PARAM, rpt_path("/r", "../abc", buf, sizeof buf));
    CHECK_ERR(ERR_TOO_LARGE, rpt_path("/r", "abc", buf, 8));
    char nested[160];
    snprintf(nested, sizeof nested, "%s/a/b/c", odir);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, rpt_dir_ensure(nested, &m));
    struct stat s;
    CHECK(stat(nested, &s) == 0 && S_ISDIR(s.st_mode));
    CHECK_ERR(ERR_OK, rpt_dir_ensure(nested, &m)); /* again: already there */
    char file[160];
    snprintf(file, sizeof file, "%s/a/file", odir);
    FILE *f = fopen(file, "w");
    REQUIRE(f != NULL);
    fclose(f);
    CHECK_ERR(ERR_IO, rpt_dir_ensure(file, &m));
    CHECK(strstr(m.text, "is not a directory") != NULL);
    char under[200];
    snprintf(under, sizeof under, "%s/x", file);
    CHECK_ERR(ERR_IO, rpt_dir_ensure(under, &m));
    CHECK(strstr(m.text, "cannot create reports directory") != NULL);
    CHECK_ERR(ERR_BAD_PARAM, rpt_dir_ensure("", &m));
}

typedef struct seen {
    char ids[8][RPT_ID_MAX];
    int64_t sizes[8];
    size_t n;
    size_t stop_after; /* 0 = never */
} seen_t;

static err_t on_file(void *ctx, const rpt_file_t *f)
{
    seen_t *s = ctx;
    if (s->n < 8) {
        snprintf(s->ids[s->n], RPT_ID_MAX, "%s", f->id);
        s->sizes[s->n] = f->size;
    }
    s->n++;
    return s->stop_after != 0 && s->n == s->stop_after ? ERR_BUSY : ERR_OK;
}

static void touch(const char *d, const char *name, const char *content, time_t mtime)
{
    char p[200];
    snprintf(p, sizeof p, "%s/%s", d, name);
    FILE *f = fopen(p, "w");
    REQUIRE(f != NULL);
    fputs(content, f);
    fclose(f);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    REQUIRE(utimensat(AT_FDCWD, p, ts, 0) == 0);
}

static void test_list(void)
{
    char ld[160];
    snprintf(ld, sizeof ld, "%s/list", odir);
    err_msg_t m = {{0}};
    seen_t s = {0};
    CHECK_ERR(ERR_OK, rpt_list(ld, on_file, &s, &m)); /* missing dir: nothing */
    CHECK_INT(0, s.n);
    REQUIRE(rpt_dir_ensure(ld, &m) == ERR_OK);
    touch(ld, "b-old.pdf", "12345", 1000);
    touch(ld, "c-new.pdf", "1", 3000);
    touch(ld, "a-mid.pdf", "123", 2000);
    touch(ld, "z-mid.pdf", "1234", 2000); /* same time as a-mid: id descending */
    /* an id with a generation time: that time orders it, not the file's */
    touch(ld, "sla-all-2025-11-01-2025-11-30-19700101T000100Z.pdf", "12", 9000);
    touch(ld, "w.pdf.Ab12Cd.tmp", "partial", 4000);
    touch(ld, "notes.txt", "x", 4000);
    touch(ld, ".hidden.pdf", "x", 4000);
    touch(ld, "bad name.pdf", "x", 4000);
    touch(ld, ".pdf", "x", 4000);
    /* an xlsx report is listed; a file whose extension is not its kind's is not */
    touch(ld, "xlsx-all-2025-11-01-2025-11-30-19700101T000200Z.xlsx", "123456", 9000);
    touch(ld, "xlsx-all-2025-11-01-2025-11-30-19700101T000300Z.pdf", "x", 9000);
    touch(ld, "sla-all-2025-11-01-2025-11-30-19700101T000300Z.xlsx", "x", 9000);
    touch(ld, "w.xlsx.Ab12Cd.tmp", "partial", 4000);
    char sub[200];
    snprintf(sub, sizeof sub, "%s/dir.pdf", ld);
    REQUIRE(mkdir(sub, 0755) == 0);
    CHECK_ERR(ERR_OK, rpt_list(ld, on_file, &s, &m));
    CHECK_INT(6, s.n);
    CHECK_STR("c-new", s.ids[0]);
    CHECK_STR("z-mid", s.ids[1]);
    CHECK_STR("a-mid", s.ids[2]);
    CHECK_STR("b-old", s.ids[3]);
    CHECK_STR("xlsx-all-2025-11-01-2025-11-30-19700101T000200Z", s.ids[4]); /* at 120 s */
    CHECK_STR("sla-all-2025-11-01-2025-11-30-19700101T000100Z", s.ids[5]);  /* created at 60 s */
    CHECK_INT(5, s.sizes[3]);
    CHECK_INT(6, s.sizes[4]);
    seen_t stop = {.stop_after = 2};
    CHECK_ERR(ERR_BUSY, rpt_list(ld, on_file, &stop, &m));
    CHECK_INT(2, stop.n);
    /* a file, not a directory */
    char f[200];
    snprintf(f, sizeof f, "%s/notes.txt", ld);
    CHECK_ERR(ERR_IO, rpt_list(f, on_file, &s, &m));
    CHECK(strstr(m.text, "cannot read reports directory") != NULL);
}

static size_t count_tmp(const char *d)
{
    DIR *dh = opendir(d);
    size_t n = 0;
    while (dh != NULL) {
        struct dirent *de = readdir(dh);
        if (de == NULL)
            break;
        if (strstr(de->d_name, ".tmp") != NULL)
            n++;
    }
    if (dh != NULL)
        closedir(dh);
    return n;
}

static void test_render_atomic(void)
{
    char ad[160], path[240];
    snprintf(ad, sizeof ad, "%s/atomic", odir);
    err_msg_t m = {{0}};
    REQUIRE(rpt_dir_ensure(ad, &m) == ERR_OK);
    rpt_request_t rq = {.kind = RPT_FTQ,
                        .from_day = D(2025, 11, 1),
                        .to_day = D(2025, 11, 30),
                        .generated_s = T(2025, 12, 1, 6)};
    char id[RPT_ID_MAX];
    rpt_report_id(&rq, id);
    REQUIRE(rpt_path(ad, id, path, sizeof path) == ERR_OK);
    rpt_info_t info = {0};
    CHECK_ERR(ERR_OK, rpt_render_atomic(st, &rq, path, &info, &m));
    struct stat s;
    CHECK(stat(path, &s) == 0 && s.st_size == info.bytes && info.pages == 2);
    CHECK_INT(0644, s.st_mode & 0777);
    CHECK_INT(0, count_tmp(ad));
    /* a failed render leaves neither the file nor the temporary */
    rq.business_unit = "nope";
    char bad[240];
    snprintf(bad, sizeof bad, "%s/bad.pdf", ad);
    CHECK_ERR(ERR_NOT_FOUND, rpt_render_atomic(st, &rq, bad, NULL, &m));
    CHECK(stat(bad, &s) != 0);
    CHECK_INT(0, count_tmp(ad));
    /* the listing shows the report */
    seen_t seen = {0};
    CHECK_ERR(ERR_OK, rpt_list(ad, on_file, &seen, &m));
    CHECK_INT(1, seen.n);
    CHECK_STR(id, seen.ids[0]);
    /* a directory that does not exist */
    CHECK_ERR(ERR_IO, rpt_render_atomic(st, &rq, "/nonexistent-dir/r.pdf", NULL, &m));
    CHECK(strstr(m.text, "cannot write /nonexistent-dir/r.pdf") != NULL);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    tmpdir(dir);
    tmpdir(odir);
    st = open_store(dir, 0);
    rpt_test_book(st, false);
    RUN(test_report_id);
    RUN(test_id_valid_and_parse);
    RUN(test_path_and_dir);
    RUN(test_list);
    RUN(test_render_atomic);
    store_close(st);
    rmdir_all(dir);
    rmdir_all(odir);
    kpi_tz_free(test_utc);
    return test_summary();
}
