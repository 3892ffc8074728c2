/*
 * macros.h — tiny helpers every layer may use.
 */
#ifndef IAM_MACROS_H
#define IAM_MACROS_H

#include <stddef.h>

/* Elements in an array (not a pointer): sizes are never counted by hand. */
#ifndef ARRAY_LEN
#define ARRAY_LEN(a) (sizeof(a) / sizeof *(a))
#endif

#endif
