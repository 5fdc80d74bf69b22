/*
 * A demo data set: a small Tohoku-like scenario around Ishinomaki in the weeks after a
 * disaster -- a warehouse, evacuation centres (one over capacity, languages needed), a school
 * for foreign residents' children, a soup kitchen with shifts, stock moving between them (one
 * transfer arriving short, one lot about to expire), needs with gaps, and a donation of school
 * supplies traced from pledge to the children. Times are relative to now.
 */
#ifndef RL_DEMO_H
#define RL_DEMO_H

#include "store.h"

/* Record the demo in one durable transaction. PROTO_EEXIST when the node has sites already. */
int rl_demo_load(struct rl_store *s, struct proto_err *e);

#endif
