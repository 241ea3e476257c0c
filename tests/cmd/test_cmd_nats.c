/*
 * test_cmd_nats.c — the "nats" config block as cmd_config_load reads it
 * (every key, the defaults, and each kind of error with its message), the
 * server list check of --nats, and the consumer name derived when the
 * config names none. The client itself runs against a real nats-server in
 * tests/integration/test_nats.py.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_nats.h"
#include "test.h"

static char dir[] = "/tmp/kpid-cmd-nats-XXXXXX";

static err_t load(const char *json, cmd_config_t *cfg, err_msg_t *m)
{
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(json, f);
    fclose(f);
    cmd_config_default(cfg);
    m->text[0] = '\0';
    return cmd_config_load(path, cfg, m);
}

static void test_block(void)
{
    static cmd_config_t cfg;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, load("{}", &cfg, &m));
    CHECK(!cfg.have_nats);
    CHECK_ERR(ERR_OK, load("{\"nats\": {\"url\": \"nats://127.0.0.1:4222\"}}", &cfg, &m));
    CHECK(cfg.have_nats);
    CHECK_STR("nats://127.0.0.1:4222", cfg.nats.url);
    CHECK_STR("KPID", cfg.nats.stream);
    CHECK_STR("kpid.events", cfg.nats.subject);
    CHECK_STR("", cfg.nats.durable);
    CHECK_INT(0, cfg.nats.max_lag);
    CHECK_INT(1, cfg.nats.replicas);
    CHECK_INT(120, cfg.nats.duplicate_window_s);
    CHECK_ERR(ERR_OK,
              load("{\"nats\": {\"url\": \"nats://a:4222,tls://b:4222\", \"stream\": \"AR\", "
                   "\"subject\": \"erp.ar.events\", \"durable\": \"node-a\", \"credentials\": "
                   "\"/etc/kpid/nats.creds\", \"tls\": {\"ca\": \"/ca.pem\", \"cert\": "
                   "\"/c.pem\", \"key\": \"/k.pem\"}, \"max_lag\": 5000, \"replicas\": 3, "
                   "\"duplicate_window_s\": 600}}",
                   &cfg, &m));
    CHECK_STR("nats://a:4222,tls://b:4222", cfg.nats.url);
    CHECK_STR("AR", cfg.nats.stream);
    CHECK_STR("erp.ar.events", cfg.nats.subject);
    CHECK_STR("node-a", cfg.nats.durable);
    CHECK_STR("/etc/kpid/nats.creds", cfg.nats.creds);
    CHECK_STR("/ca.pem", cfg.nats.tls_ca);
    CHECK_STR("/c.pem", cfg.nats.tls_cert);
    CHECK_STR("/k.pem", cfg.nats.tls_key);
    CHECK_INT(5000, cfg.nats.max_lag);
    CHECK_INT(3, cfg.nats.replicas);
    CHECK_INT(600, cfg.nats.duplicate_window_s);
}

static void test_errors(void)
{
    static const struct {
        const char *json;
        const char *says; /* a part of the message */
    } rows[] = {
        {"{\"nats\": 1}", "must be an object"},
        {"{\"nats\": {}}", "'url' is required"},
        {"{\"nats\": {\"url\": \"http://x:4222\"}}", "nats://HOST:PORT"},
        {"{\"nats\": {\"url\": \"nats://a:1,\"}}", "ends with a comma"},
        {"{\"nats\": {\"url\": \"nats://a b:1\"}}", "nats://HOST:PORT"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"urls\": 1}}", "unknown key 'urls'"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"stream\": \"a.b\"}}", "'stream' must be"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"stream\": \"\"}}",
         "key 'stream' must be a string"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"subject\": \"kpid.*\"}}", "'subject' must be"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"durable\": \"node a\"}}", "'durable' must be"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"credentials\": 7}}", "'credentials' must be"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"tls\": \"yes\"}}", "'tls' must be"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"tls\": {\"cert\": \"/c\", \"key\": \"/k\"}}}",
         "needs \"ca\""},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"tls\": {\"ca\": \"/a\", \"cert\": \"/c\"}}}",
         "go together"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"tls\": {\"ca\": \"/a\", \"crt\": \"/c\"}}}",
         "unknown key 'crt'"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"max_lag\": -1}}", "'max_lag' must be an integer"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"replicas\": 0}}",
         "'replicas' must be an integer 1..5"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"replicas\": 6}}",
         "'replicas' must be an integer 1..5"},
        {"{\"nats\": {\"url\": \"nats://a:1\", \"duplicate_window_s\": 0}}",
         "'duplicate_window_s' must be"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        static cmd_config_t cfg;
        err_msg_t m = {{0}};
        test_current_ = rows[i].json;
        CHECK_ERR(ERR_CONFIG, load(rows[i].json, &cfg, &m));
        CHECK_MSG(strstr(m.text, rows[i].says) != NULL, "message '%s' lacks '%s'", m.text,
                  rows[i].says);
    }
}

static void test_check_url(void)
{
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, cmd_nats_check_url("nats://127.0.0.1:4222", &m));
    CHECK_ERR(ERR_OK, cmd_nats_check_url("nats://a:1,nats://b:2,tls://c:3", &m));
    CHECK_ERR(ERR_CONFIG, cmd_nats_check_url("", &m));
    CHECK_ERR(ERR_CONFIG, cmd_nats_check_url("nats://", &m));
    CHECK_ERR(ERR_CONFIG, cmd_nats_check_url("127.0.0.1:4222", &m));
    CHECK(strstr(m.text, "127.0.0.1:4222") != NULL);
}

static void test_durable(void)
{
    static cmd_config_t cfg;
    cmd_config_default(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    cmd_nats_durable(&cfg);
    CHECK(coll_nats_name_ok(cfg.nats.durable));
    char first[COLL_NATS_NAME_MAX];
    snprintf(first, sizeof first, "%s", cfg.nats.durable);
    cfg.nats.durable[0] = '\0';
    cmd_nats_durable(&cfg); /* the same node: the same consumer */
    CHECK_STR(first, cfg.nats.durable);
    snprintf(cfg.nats.durable, sizeof cfg.nats.durable, "%s", "mine");
    cmd_nats_durable(&cfg); /* a configured name is kept */
    CHECK_STR("mine", cfg.nats.durable);
}

int main(void)
{
    REQUIRE(mkdtemp(dir) != NULL);
    RUN(test_block);
    RUN(test_errors);
    RUN(test_check_url);
    RUN(test_durable);
    char p[128];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    rmdir(dir);
    return test_summary();
}
