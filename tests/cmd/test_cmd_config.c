/*
 * test_cmd_config.c — cmd_config_resolve: the --config file read over the
 * defaults, --data winning over the file's data_dir, and a bad file refused
 * with its message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "test.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    REQUIRE(fclose(f) == 0);
}

/* Run resolve with stderr sent to a file; returns what it printed. */
static bool resolve_capture(cmd_config_t *cfg, const char *config, const char *data, char *err,
                            size_t cap)
{
    char path[] = "/tmp/kpid-cfg-err-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    REQUIRE(saved >= 0 && dup2(fd, 2) >= 0);
    bool ok = cmd_config_resolve(cfg, "test", config, data);
    fflush(stderr);
    REQUIRE(dup2(saved, 2) >= 0);
    close(saved);
    ssize_t n = pread(fd, err, cap - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return ok;
}

static void test_resolve(void)
{
    char dir[] = "/tmp/kpid-cfg-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char good[96], bad[96], missing[96], err[512];
    snprintf(good, sizeof good, "%s/good.json", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    snprintf(missing, sizeof missing, "%s/none.json", dir);
    write_file(good, "{\"data_dir\": \"/srv/from-file\", \"time_zone\": \"Europe/Berlin\"}");
    write_file(bad, "{\"no_such_key\": 1}");

    cmd_config_t cfg;
    cmd_config_default(&cfg);
    CHECK(resolve_capture(&cfg, NULL, NULL, err, sizeof err));
    CHECK_STR("./kpid-data", cfg.data_dir);
    CHECK_STR("", err);

    cmd_config_default(&cfg);
    CHECK(resolve_capture(&cfg, good, NULL, err, sizeof err));
    CHECK_STR("/srv/from-file", cfg.data_dir);
    CHECK_STR("Europe/Berlin", cfg.time_zone);

    cmd_config_default(&cfg);
    CHECK(resolve_capture(&cfg, good, "/srv/flag", err, sizeof err));
    CHECK_STR("/srv/flag", cfg.data_dir);
    CHECK_STR("Europe/Berlin", cfg.time_zone);

    cmd_config_default(&cfg);
    CHECK(!resolve_capture(&cfg, bad, "/srv/flag", err, sizeof err));
    CHECK(strncmp(err, "kpid test: config ", 18) == 0);
    CHECK(strstr(err, "unknown key 'no_such_key'") != NULL);

    cmd_config_default(&cfg);
    CHECK(!resolve_capture(&cfg, missing, NULL, err, sizeof err));
    CHECK(strstr(err, "kpid test: ") == err);
    CHECK(strstr(err, "none.json") != NULL);

    unlink(good);
    unlink(bad);
    CHECK(rmdir(dir) == 0);
}

int main(void)
{
    RUN(test_resolve);
    return test_summary();
}
