/*
 * msgpack to JSON, for showing op bodies to people and scripts. Map keys become strings
 * (integer keys as their decimal text), bin becomes {"hex": "..."}, ext {"ext": type}.
 */
#ifndef RL_MPJSON_H
#define RL_MPJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A new JSON value for the one msgpack object in p[0..n), or NULL when it is malformed. */
json_t *rl_mp_to_json(const uint8_t *p, size_t n);

#endif
