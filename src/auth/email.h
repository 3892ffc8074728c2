/*
 * email.h — the one normal form of an e-mail address, used to register,
 * log in and compare accounts. Look-alikes must not become separate
 * accounts, so the address is trimmed, folded (Unicode NFKC plus full case
 * folding: fullwidth "ａｄｍｉｎ" is "admin", the Kelvin sign is "k") and
 * then must be plain ASCII: what is still not ASCII after folding (a
 * dotless "ı", Cyrillic "а") is refused rather than stored as a second
 * "admin". Internationalised addresses are therefore not accepted.
 */
#ifndef IAM_EMAIL_H
#define IAM_EMAIL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Normalise in into out[outlen] and check its shape (one @, a dotted
 * domain, no spaces or specials). Returns false with a message for an
 * errors[] entry in *why (static string) when it is not an address we accept.
 */
bool email_normalize(const char *in, char *out, size_t outlen, const char **why);

#endif
