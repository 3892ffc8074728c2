#include "store/store.h"

#include <stdio.h>

void store_copy(char *dst, size_t dstlen, const struct db_res *r, int col)
{
	snprintf(dst, dstlen, "%s", db_text(r, col));
}
