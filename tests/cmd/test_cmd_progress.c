/* test_cmd_progress.c — the progress line of kpid rebuild and kpid upgrade. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "test.h"

static void read_back(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    long n = ftell(f);
    REQUIRE(n >= 0 && (size_t)n < cap);
    rewind(f);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
}

/* The first call draws and the last one (done == total) always draws and
   ends the line; the percentage is of the total. (Whether a call in
   between draws depends on the clock, so it is not checked.) */
static void test_lines(void)
{
    FILE *f = tmpfile();
    REQUIRE(f != NULL);
    cmd_progress_t p;
    cmd_progress_start(&p, "rebuild", f);
    cmd_progress_update(&p, 250, 1000);
    cmd_progress_update(&p, 500, 1000);
    cmd_progress_update(&p, 1000, 1000);
    char buf[512];
    read_back(f, buf, sizeof buf);
    CHECK_MSG(strstr(buf, "\rrebuild: 250/1000 events (25%), ") == buf, "%s", buf);
    CHECK(strstr(buf, "\rrebuild: 1000/1000 events (100%), ") != NULL);
    CHECK(buf[strlen(buf) - 1] == '\n');
    CHECK(strstr(buf, " events/s") != NULL);
    fclose(f);
}

/* An empty log is 100 %; a silent meter writes nothing and still times. */
static void test_empty_and_silent(void)
{
    FILE *f = tmpfile();
    REQUIRE(f != NULL);
    cmd_progress_t p;
    cmd_progress_start(&p, "upgrade", f);
    cmd_progress_update(&p, 0, 0);
    char buf[256];
    read_back(f, buf, sizeof buf);
    CHECK_MSG(strncmp(buf, "\rupgrade: 0/0 events (100%), 0 events/s", 38) == 0, "%s", buf);
    fclose(f);
    cmd_progress_start(&p, "rebuild", NULL);
    cmd_progress_update(&p, 5, 10);
    CHECK(cmd_progress_elapsed(&p) >= 0.0);
}

int main(void)
{
    RUN(test_lines);
    RUN(test_empty_and_silent);
    return test_summary();
}
