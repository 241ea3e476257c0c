/* test_cmd_progress.c — what kpid rebuild and kpid upgrade share: their
   options (cmd_replay_args) and the progress line. */
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

static FILE *usage_to;
static int usage_calls;

static void usage_rec(FILE *f)
{
    usage_to = f;
    usage_calls++;
}

static int args(const char *const *v, int n, const char **data, const char **config, bool *quiet)
{
    char *argv[8];
    for (int i = 0; i < n; i++)
        argv[i] = (char *)v[i];
    argv[n] = NULL;
    usage_to = NULL;
    usage_calls = 0;
    return cmd_replay_args(n, argv, "rebuild", usage_rec, data, config, quiet);
}

static void test_replay_args(void)
{
    const char *data, *config;
    bool quiet;
    const char *all[] = {"rebuild", "--data", "D", "--config", "C.json", "--quiet"};
    CHECK_INT(-1, args(all, 6, &data, &config, &quiet));
    CHECK_STR("D", data);
    CHECK_STR("C.json", config);
    CHECK(quiet);
    CHECK_INT(0, usage_calls);
    const char *none[] = {"rebuild"};
    CHECK_INT(-1, args(none, 1, &data, &config, &quiet));
    CHECK(data == NULL && config == NULL && !quiet);
    const char *help[] = {"rebuild", "--help"};
    CHECK_INT(CMD_EXIT_OK, args(help, 2, &data, &config, &quiet));
    CHECK(usage_calls == 1 && usage_to == stdout);
    const char *extra[] = {"rebuild", "--data", "D", "stray"};
    CHECK_INT(CMD_EXIT_USAGE, args(extra, 4, &data, &config, &quiet));
    CHECK(usage_calls == 1 && usage_to == stderr);
    const char *unknown[] = {"rebuild", "--force"};
    CHECK_INT(CMD_EXIT_USAGE, args(unknown, 2, &data, &config, &quiet));
    CHECK(usage_calls == 1 && usage_to == stderr);
}

int main(void)
{
    RUN(test_replay_args);
    RUN(test_lines);
    RUN(test_empty_and_silent);
    return test_summary();
}
