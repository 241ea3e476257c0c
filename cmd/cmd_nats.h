/*
 * cmd_nats.h — the NATS mode of the kpid binary (cmd_nats.c, cmd_publish.c;
 * docs/operations.md "Many nodes"): the "nats" config block, `kpid serve
 * --nats` and `kpid publish`.
 */
#ifndef KPID_CMD_NATS_H
#define KPID_CMD_NATS_H

#include <jansson.h>

#include "api.h"
#include "cmd.h"
#include "coll_nats.h"

/*
 * The "nats" config block over *c (keys not in it keep their value).
 * ERR_CONFIG naming the key for unknown keys, wrong types and bad values;
 * url is required.
 */
err_t cmd_nats_config(json_t *v, coll_nats_conf_t *c, err_msg_t *msg) KPID_MUST_USE;

/* A server list as `--nats` and "url" take: comma-separated nats:// or
   tls:// URLs. ERR_CONFIG with a message otherwise. */
err_t cmd_nats_check_url(const char *url, err_msg_t *msg) KPID_MUST_USE;

/* Fill cfg->nats.durable when the config names none: from the host name
   and the data directory's real path (coll_nats_durable_default). */
void cmd_nats_durable(cmd_config_t *cfg);

/*
 * kpid serve --nats: connect, start the consumer that applies the stream
 * to store, wait until the node holds what the stream held (a node that
 * cannot reach NATS serves what it has, and says so on log), and fill
 * *hooks for api_opts_t.stream. The caller closes *out (after the HTTP
 * server stopped) with coll_nats_close.
 */
err_t cmd_nats_start(cmd_config_t *cfg, store_t *store, const coll_opts_t *parse, FILE *log,
                     coll_nats_t **out, api_stream_t *hooks, err_msg_t *msg) KPID_MUST_USE;

/* kpid publish --nats URL [--config FILE] FILE... */
int cmd_publish_main(int argc, char **argv);

#endif
