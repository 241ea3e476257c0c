/*
 * cmd_key.c — `kpid key add|list|revoke`: manage the API keys kept in the
 * config file's "api_keys" array (docs/security.md).
 *
 * The file is rewritten atomically: the new JSON goes to a temporary file in
 * the same directory (same permissions as the old file, 0600 for a new one),
 * is fsync'ed and renamed over the old one, and the directory is fsync'ed. A
 * crash leaves either the old or the new file, never half of one. The whole
 * file must be a valid config before and after the change, so a typo
 * elsewhere is reported instead of being carried along.
 *
 * The key text is printed once by `add` and never written anywhere; the file
 * holds only its salted hash. A running `kpid serve` reads the keys again on
 * SIGHUP (or at its next start).
 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kpi_date.h"

static void usage(FILE *f)
{
    fputs("usage: kpid key add --config FILE --name NAME --role ROLE [--business-units A,B]\n"
          "       kpid key list --config FILE\n"
          "       kpid key revoke --config FILE --name NAME\n"
          "  Manage the API keys in the config file ('api_keys'; only salted hashes are kept).\n"
          "  ROLE is ingest (POST /v1/events), read (every GET) or admin (everything).\n"
          "  --business-units limits the key to those units' numbers.\n"
          "  'add' prints the new key once on stdout. Send kpid serve SIGHUP to apply changes.\n",
          f);
}

/* Load the config file as JSON; a missing file is an empty object when
   `create` (for `add`). The result is validated as a config. */
static int load_doc(const char *path, bool create, json_t **out)
{
    *out = NULL;
    struct stat sb;
    if (create && stat(path, &sb) != 0 && errno == ENOENT) {
        *out = json_object();
        return *out ? CMD_EXIT_OK : CMD_EXIT_ENV;
    }
    cmd_config_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        fprintf(stderr, "kpid key: out of memory\n");
        return CMD_EXIT_ENV;
    }
    cmd_config_default(cfg);
    err_msg_t msg = {{0}};
    err_t e = cmd_config_load(path, cfg, &msg);
    free(cfg);
    if (e) {
        fprintf(stderr, "kpid key: %s\n", err_msg_or(&msg, e));
        return e == ERR_IO ? CMD_EXIT_ENV : CMD_EXIT_USAGE;
    }
    json_error_t jerr;
    *out = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL) {
        fprintf(stderr, "kpid key: cannot read config %s: %s\n", path, jerr.text);
        return CMD_EXIT_ENV;
    }
    return CMD_EXIT_OK;
}

/* Write doc over path atomically (see the file comment). */
static int save_doc(const char *path, json_t *doc)
{
    char tmp[CMD_PATH_MAX + 32], dir[CMD_PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp || strlen(path) >= sizeof dir) {
        fprintf(stderr, "kpid key: config path too long: %s\n", path);
        return CMD_EXIT_USAGE;
    }
    struct stat sb;
    mode_t mode = stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0600;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        fprintf(stderr, "kpid key: cannot create %s: %s\n", tmp, strerror(errno));
        return CMD_EXIT_ENV;
    }
    bool ok = json_dumpfd(doc, fd, JSON_INDENT(2)) == 0 && write(fd, "\n", 1) == 1;
    ok = ok && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    int en = errno;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) != 0) {
        en = errno;
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "kpid key: cannot write %s: %s\n", path, strerror(en));
        (void)unlink(tmp);
        return CMD_EXIT_ENV;
    }
    /* Make the rename itself durable. */
    memcpy(dir, path, strlen(path) + 1);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: the file itself is already on disk */
        close(dfd);
    }
    return CMD_EXIT_OK;
}

/* The "api_keys" array of doc, created when missing; NULL when it is not an array. */
static json_t *keys_of(json_t *doc)
{
    json_t *keys = json_object_get(doc, "api_keys");
    if (keys == NULL) {
        keys = json_array();
        if (keys == NULL || json_object_set_new(doc, "api_keys", keys) != 0)
            return NULL;
    }
    return json_is_array(keys) ? keys : NULL;
}

static size_t find_key(json_t *keys, const char *name)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *n = json_string_value(json_object_get(json_array_get(keys, i), "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return i;
    }
    return (size_t)-1;
}

/* Split "A,B" into names pointing into buf (modified). */
static int split_units(char *buf, const char **units, size_t *n)
{
    *n = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        if (p[0] == '\0') {
            fprintf(stderr, "kpid key: --business-units: empty unit name in the list\n");
            return CMD_EXIT_USAGE;
        }
        if (*n == API_KEY_UNITS_MAX) {
            fprintf(stderr, "kpid key: --business-units: at most %d units\n", API_KEY_UNITS_MAX);
            return CMD_EXIT_USAGE;
        }
        units[(*n)++] = p;
        if (comma == NULL)
            return CMD_EXIT_OK;
        p = comma + 1;
    }
}

static int key_add(const char *config, const char *name, const char *role_s, const char *units_s)
{
    api_role_t role;
    if (role_s == NULL || api_role_parse(role_s, &role) != ERR_OK) {
        fprintf(stderr, "kpid key add: --role must be ingest, read or admin\n");
        return CMD_EXIT_USAGE;
    }
    const char *units[API_KEY_UNITS_MAX];
    size_t n_units = 0;
    char shown[API_KEY_UNITS_BUF], split[API_KEY_UNITS_BUF];
    snprintf(shown, sizeof shown, "%s", units_s != NULL ? units_s : "all");
    if (units_s != NULL) {
        if (strlen(units_s) >= sizeof split) {
            fprintf(stderr, "kpid key add: --business-units is longer than %d bytes\n",
                    API_KEY_UNITS_BUF - 1);
            return CMD_EXIT_USAGE;
        }
        memcpy(split, units_s, strlen(units_s) + 1); /* argv stays as it was */
        int rc = split_units(split, units, &n_units);
        if (rc)
            return rc;
    }
    api_key_t k;
    char text[API_KEY_TEXT_BUF];
    err_msg_t msg = {{0}};
    err_t e = api_key_new(name, role, units, n_units, (int64_t)time(NULL), &k, text, &msg);
    if (e) {
        fprintf(stderr, "kpid key add: %s\n", err_msg_or(&msg, e));
        return e == ERR_BAD_PARAM ? CMD_EXIT_USAGE : CMD_EXIT_ENV;
    }
    json_t *doc = NULL;
    int rc = load_doc(config, true, &doc);
    json_t *keys = rc ? NULL : keys_of(doc);
    if (!rc && keys == NULL) {
        fprintf(stderr, "kpid key add: config %s: 'api_keys' must be an array\n", config);
        rc = CMD_EXIT_USAGE;
    }
    if (!rc && find_key(keys, name) != (size_t)-1) {
        fprintf(stderr, "kpid key add: a key named '%s' already exists in %s (revoke it first)\n",
                name, config);
        rc = CMD_EXIT_USAGE;
    }
    if (!rc && json_array_size(keys) >= API_KEYS_MAX) {
        fprintf(stderr, "kpid key add: %s already holds %d keys, the most it may\n", config,
                API_KEYS_MAX);
        rc = CMD_EXIT_USAGE;
    }
    if (!rc && json_array_append_new(keys, api_key_to_json(&k)) != 0) {
        fprintf(stderr, "kpid key add: out of memory\n");
        rc = CMD_EXIT_ENV;
    }
    if (!rc)
        rc = save_doc(config, doc);
    json_decref(doc);
    if (!rc) {
        printf("%s\n", text);
        fflush(stdout);
        fprintf(stderr,
                "kpid key: added key '%s' (role %s, business units %s) to %s.\n"
                "kpid key: the key above is shown only now; only its salted hash is stored.\n"
                "kpid key: send kpid serve SIGHUP (or restart it) to put it in force.\n",
                name, api_role_name(role), shown, config);
    }
    memset(text, 0, sizeof text);
    return rc;
}

static int key_list(const char *config)
{
    cmd_config_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL)
        return CMD_EXIT_ENV;
    cmd_config_default(cfg);
    err_msg_t msg = {{0}};
    err_t e = cmd_config_load(config, cfg, &msg);
    if (e) {
        fprintf(stderr, "kpid key list: %s\n", err_msg_or(&msg, e));
        free(cfg);
        return e == ERR_IO ? CMD_EXIT_ENV : CMD_EXIT_USAGE;
    }
    printf("%-24s %-7s %-20s %s\n", "NAME", "ROLE", "CREATED", "BUSINESS_UNITS");
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const api_key_t *k = &cfg->keys[i];
        char created[KPI_TIME_BUF];
        printf("%-24s %-7s %-20s ", k->name, api_role_name(k->role),
               kpi_time_format_utc(k->created_s, created));
        if (k->n_units == 0)
            fputs("(all)", stdout);
        for (size_t u = 0; u < k->n_units; u++)
            printf("%s%s", u ? "," : "", api_key_unit(k, u));
        putchar('\n');
    }
    if (cfg->n_keys == 0)
        fprintf(stderr,
                "kpid key list: no API keys in %s: kpid serve runs unauthenticated, "
                "on loopback only\n",
                config);
    free(cfg);
    return CMD_EXIT_OK;
}

static int key_revoke(const char *config, const char *name)
{
    json_t *doc = NULL;
    int rc = load_doc(config, false, &doc);
    if (rc)
        return rc;
    json_t *keys = json_object_get(doc, "api_keys");
    size_t at = keys ? find_key(keys, name) : (size_t)-1;
    if (at == (size_t)-1) {
        fprintf(stderr, "kpid key revoke: no key named '%s' in %s ('kpid key list' shows them)\n",
                name, config);
        rc = CMD_EXIT_REJECTED;
    }
    if (!rc && json_array_remove(keys, at) != 0)
        rc = CMD_EXIT_ENV;
    if (!rc)
        rc = save_doc(config, doc);
    json_decref(doc);
    if (!rc)
        fprintf(stderr,
                "kpid key: revoked key '%s' in %s; send kpid serve SIGHUP (or restart it) to "
                "apply it.\n",
                name, config);
    return rc;
}

int cmd_key_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CMD_EXIT_USAGE : CMD_EXIT_OK;
    }
    const char *action = argv[1];
    const char *config = NULL, *name = NULL, *role = NULL, *units = NULL;
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},   {"business-units", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "c:n:r:u:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'n': name = optarg; break;
        case 'r': role = optarg; break;
        case 'u': units = optarg; break;
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "kpid key: unexpected argument '%s'\n", argv[optind + 1]);
        return CMD_EXIT_USAGE;
    }
    bool add = strcmp(action, "add") == 0, list = strcmp(action, "list") == 0,
         revoke = strcmp(action, "revoke") == 0;
    if (!add && !list && !revoke) {
        fprintf(stderr, "kpid key: unknown action '%s' (add, list or revoke)\n", action);
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (config == NULL) {
        fprintf(stderr, "kpid key %s: --config FILE is required\n", action);
        return CMD_EXIT_USAGE;
    }
    if ((add || revoke) && name == NULL) {
        fprintf(stderr, "kpid key %s: --name NAME is required\n", action);
        return CMD_EXIT_USAGE;
    }
    if (!add && (role != NULL || units != NULL)) {
        fprintf(stderr, "kpid key %s: --role and --business-units belong to 'add'\n", action);
        return CMD_EXIT_USAGE;
    }
    if (add)
        return key_add(config, name, role, units);
    if (list)
        return key_list(config);
    return key_revoke(config, name);
}
