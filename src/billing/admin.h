/*
 * admin.h — `iamd plans ...`: the plan catalogue is data, changed by this
 * command (never by a code edit), and an organization can be put on a
 * plan by hand (a comped account, support).
 */
#ifndef IAM_BILLING_ADMIN_H
#define IAM_BILLING_ADMIN_H

#include <stdio.h>

struct db;

/* Usage lines for iamd --help. */
extern const char BILLING_PLANS_USAGE[];

/*
 * Run `iamd plans ARGS...` (argv[0] is "list", "set" or "assign") on db.
 * Output to out, errors to err. Returns the exit status (0, 1 failure, 2 usage).
 */
int billing_plans_command(struct db *db, int argc, char **argv, FILE *out, FILE *err);

#endif
