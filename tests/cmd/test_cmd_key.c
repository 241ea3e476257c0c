/*
 * test_cmd_key.c — `kpid key add|list|revoke` (cmd_key.c): the key printed
 * once and only its hash stored, the rest of the config kept, atomic
 * rewrite with the file's permissions, listing without hashes, revoking by
 * name, and every error a user can hit, with its message and exit status.
 *
 * cmd_key_main writes to stdout and stderr; each call here redirects both
 * into temporary files and reads them back.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "test.h"

typedef struct out {
    int rc;
    char out[8192];
    char err[8192];
} out_t;

static void slurp(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

/* Run `kpid key ARGS...` (NULL-terminated) capturing stdout and stderr. */
static out_t key(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "key";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    out_t o;
    memset(&o, 0, sizeof o);
    FILE *fo = tmpfile(), *fe = tmpfile();
    REQUIRE(fo != NULL && fe != NULL);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    o.rc = cmd_key_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp(fo, o.out, sizeof o.out);
    slurp(fe, o.err, sizeof o.err);
    fclose(fo);
    fclose(fe);
    return o;
}

static char dir[] = "/tmp/kpid-test-key-XXXXXX";
static char cfg_path[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The key printed on stdout, without its newline. */
static const char *printed_key(const out_t *o, char *buf)
{
    size_t n = strcspn(o->out, "\n");
    memcpy(buf, o->out, n);
    buf[n] = '\0';
    return buf;
}

static void test_add_list_revoke(void)
{
    snprintf(cfg_path, sizeof cfg_path, "%s/new.json", dir);
    out_t o = key("add", "--config", cfg_path, "--name", "ops", "--role", "admin", NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    char k1[128];
    printed_key(&o, k1);
    CHECK_INT(API_KEY_TEXT_LEN, strlen(k1));
    CHECK(strncmp(k1, "kpid_", 5) == 0);
    CHECK(strstr(o.err, "added key 'ops' (role admin, business units all)") != NULL);
    CHECK(strstr(o.err, "shown only now") != NULL);
    struct stat sb;
    REQUIRE(stat(cfg_path, &sb) == 0);
    CHECK_INT(0600, sb.st_mode & 0777); /* a new file holds hashes: owner only */

    o = key("add", "--config", cfg_path, "--name", "emea-feed", "--role", "ingest",
            "--business-units", "emea,us", NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    char k2[128];
    printed_key(&o, k2);
    CHECK(strcmp(k1, k2) != 0);
    CHECK(strstr(o.err, "business units emea,us") != NULL);

    /* Only hashes are stored, and the file is a valid config with both keys. */
    const char *text = read_file(cfg_path);
    REQUIRE(text != NULL);
    CHECK(strstr(text, k1) == NULL);
    CHECK(strstr(text, k2) == NULL);
    CHECK(strstr(text, "blake2b-256:") != NULL);
    cmd_config_t *cfg = malloc(sizeof *cfg);
    REQUIRE(cfg != NULL);
    cmd_config_default(cfg);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, cmd_config_load(cfg_path, cfg, &m));
    CHECK_INT(2, cfg->n_keys);
    CHECK(api_key_verify(&cfg->keys[0], k1, strlen(k1)));
    CHECK(api_key_verify(&cfg->keys[1], k2, strlen(k2)));
    CHECK(!api_key_verify(&cfg->keys[1], k1, strlen(k1)));
    CHECK_INT(API_ROLE_INGEST, cfg->keys[1].role);
    CHECK_INT(2, cfg->keys[1].n_units);

    o = key("list", "--config", cfg_path, NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    CHECK(strncmp(o.out, "NAME", 4) == 0);
    CHECK(strstr(o.out, "ops                      admin   ") != NULL);
    CHECK(strstr(o.out, " (all)\n") != NULL);
    CHECK(strstr(o.out, "emea-feed                ingest  ") != NULL);
    CHECK(strstr(o.out, " emea,us\n") != NULL);
    CHECK(strstr(o.out, "blake2b") == NULL);
    CHECK(strstr(o.out, "kpid_") == NULL);

    o = key("revoke", "--config", cfg_path, "--name", "ops", NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    CHECK(strstr(o.err, "revoked key 'ops'") != NULL);
    cmd_config_default(cfg);
    CHECK_ERR(ERR_OK, cmd_config_load(cfg_path, cfg, &m));
    CHECK_INT(1, cfg->n_keys);
    CHECK_STR("emea-feed", cfg->keys[0].name);

    o = key("revoke", "--config", cfg_path, "--name", "ops", NULL);
    CHECK_INT(CMD_EXIT_REJECTED, o.rc);
    CHECK(strstr(o.err, "no key named 'ops' in") != NULL);

    o = key("revoke", "--config", cfg_path, "--name", "emea-feed", NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    o = key("list", "--config", cfg_path, NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    CHECK(strstr(o.err, "no API keys in") != NULL);
    CHECK(strstr(o.err, "loopback only") != NULL);
    free(cfg);
}

static void test_keeps_config_and_mode(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/kept.json", dir);
    write_file(path, "{\"time_zone\": \"Europe/Berlin\", \"holidays\": [\"2025-12-25\"],\n"
                     " \"listen\": \"0.0.0.0:8443\"}\n");
    REQUIRE(chmod(path, 0640) == 0);
    out_t o = key("add", "--config", path, "--name", "r", "--role", "read", NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    struct stat sb;
    REQUIRE(stat(path, &sb) == 0);
    CHECK_INT(0640, sb.st_mode & 0777);
    cmd_config_t *cfg = malloc(sizeof *cfg);
    REQUIRE(cfg != NULL);
    cmd_config_default(cfg);
    CHECK_ERR(ERR_OK, cmd_config_load(path, cfg, NULL));
    CHECK_STR("Europe/Berlin", cfg->time_zone);
    CHECK_STR("0.0.0.0:8443", cfg->listen);
    CHECK_INT(1, cfg->n_holidays);
    CHECK_INT(1, cfg->n_keys);
    free(cfg);
    /* No temporary file is left behind. */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
}

static void test_errors(void)
{
    char bad[256], notobj[256], dupe[256], missing[256], ro_dir[256], ro[300];
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    snprintf(notobj, sizeof notobj, "%s/notobj.json", dir);
    snprintf(dupe, sizeof dupe, "%s/dupe.json", dir);
    snprintf(missing, sizeof missing, "%s/missing.json", dir);
    snprintf(ro_dir, sizeof ro_dir, "%s/ro", dir);
    snprintf(ro, sizeof ro, "%s/ro/c.json", dir);
    write_file(bad, "{\"time_zon\": \"UTC\"}");
    write_file(notobj, "{\"api_keys\": {}}");
    REQUIRE(key("add", "--config", dupe, "--name", "a", "--role", "read", NULL).rc == 0);
    REQUIRE(mkdir(ro_dir, 0500) == 0 || access(ro_dir, F_OK) == 0);
    bool root = geteuid() == 0; /* root writes into a 0500 directory anyway */

    struct {
        int rc;
        const char *msg;
        const char *args[12];
    } rows[] = {
        {CMD_EXIT_USAGE, "usage: kpid key add", {NULL}},
        {CMD_EXIT_USAGE, "unknown action 'rotate'", {"rotate", "--config", dupe, NULL}},
        {CMD_EXIT_USAGE, "kpid key add: --config FILE is required", {"add", "--name", "x", NULL}},
        {CMD_EXIT_USAGE, "kpid key add: --name NAME is required", {"add", "--config", dupe, NULL}},
        {CMD_EXIT_USAGE,
         "kpid key revoke: --name NAME is required",
         {"revoke", "--config", dupe, NULL}},
        {CMD_EXIT_USAGE,
         "--role must be ingest, read or admin",
         {"add", "--config", dupe, "--name", "b", NULL}},
        {CMD_EXIT_USAGE,
         "--role must be ingest, read or admin",
         {"add", "--config", dupe, "--name", "b", "--role", "root", NULL}},
        {CMD_EXIT_USAGE,
         "key name 'has space' must be 1 to 64 characters",
         {"add", "--config", dupe, "--name", "has space", "--role", "read", NULL}},
        {CMD_EXIT_USAGE,
         "a key named 'a' already exists",
         {"add", "--config", dupe, "--name", "a", "--role", "read", NULL}},
        {CMD_EXIT_USAGE,
         "--business-units: empty unit name",
         {"add", "--config", dupe, "--name", "b", "--role", "read", "--business-units", "emea,",
          NULL}},
        {CMD_EXIT_USAGE,
         "business unit 'x' is named twice",
         {"add", "--config", dupe, "--name", "b", "--role", "read", "--business-units", "x,x",
          NULL}},
        {CMD_EXIT_USAGE,
         "--role and --business-units belong to 'add'",
         {"list", "--config", dupe, "--role", "read", NULL}},
        {CMD_EXIT_USAGE, "unexpected argument 'extra'", {"list", "--config", dupe, "extra", NULL}},
        {CMD_EXIT_USAGE,
         "unknown key 'time_zon'",
         {"add", "--config", bad, "--name", "b", "--role", "read", NULL}},
        {CMD_EXIT_USAGE, "unknown key 'time_zon'", {"list", "--config", bad, NULL}},
        {CMD_EXIT_USAGE,
         "config key 'api_keys' must be an array",
         {"revoke", "--config", notobj, "--name", "a", NULL}},
        {CMD_EXIT_ENV, "cannot read config", {"list", "--config", missing, NULL}},
        {CMD_EXIT_ENV, "cannot read config", {"revoke", "--config", missing, "--name", "a", NULL}},
        {root ? CMD_EXIT_OK : CMD_EXIT_ENV,
         root ? "added key" : "cannot create",
         {"add", "--config", ro, "--name", "b", "--role", "read", NULL}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *const *a = rows[i].args;
        out_t o = key(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], NULL);
        CHECK_MSG(o.rc == rows[i].rc, "row %zu: exit %d, expected %d; stderr: %s", i, o.rc,
                  rows[i].rc, o.err);
        CHECK_MSG(strstr(o.err, rows[i].msg) != NULL, "row %zu: '%s' not in stderr: %s", i,
                  rows[i].msg, o.err);
        if (rows[i].rc != CMD_EXIT_OK)
            CHECK_MSG(o.out[0] == '\0', "row %zu printed: %s", i, o.out); /* no key on failure */
    }
    static char long_units[API_KEY_UNITS_BUF + 10];
    memset(long_units, 'u', sizeof long_units - 1);
    out_t lo = key("add", "--config", dupe, "--name", "b", "--role", "read", "--business-units",
                   long_units, NULL);
    CHECK_INT(CMD_EXIT_USAGE, lo.rc);
    CHECK(strstr(lo.err, "--business-units is longer than 1023 bytes") != NULL);
    /* A refused change leaves the file as it was. */
    const char *text = read_file(bad);
    CHECK_STR("{\"time_zon\": \"UTC\"}", text);
    out_t o = key("--help", NULL);
    CHECK_INT(CMD_EXIT_OK, o.rc);
    CHECK(strstr(o.out, "kpid key revoke --config FILE --name NAME") != NULL);
}

int main(void)
{
    REQUIRE(mkdtemp(dir) != NULL);
    RUN(test_add_list_revoke);
    RUN(test_keeps_config_and_mode);
    RUN(test_errors);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
