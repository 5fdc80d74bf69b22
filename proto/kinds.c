/*
 * Kind names (see kinds.h).
 */
#include "kinds.h"

#include <stddef.h>

const char *proto_kind_name(uint32_t kind)
{
    switch (kind) {
#define PROTO_X_KIND(name, num, text)                                                              \
    case num:                                                                                      \
        return text;
        PROTO_KINDS(PROTO_X_KIND)
#undef PROTO_X_KIND
    default:
        return NULL;
    }
}
