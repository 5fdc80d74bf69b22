/*
 * The hybrid logical clock of DESIGN.md section 3: 48 bits of Unix milliseconds, 16 of counter.
 *
 * The node's clock never goes back (it is persisted with every write), a remote hlc moves it
 * at most RL_HLC_MAX_DRIFT_MS ahead of wall time, and a local op that overwrites a value is
 * stamped max(tick, overwritten + 1) without moving the clock, so an edit made after seeing a
 * value beats it even when that value came from a clock that says 2099. These are pure
 * functions; node.c keeps the state.
 */
#ifndef RL_HLC_H
#define RL_HLC_H

#include <stddef.h>
#include <stdint.h>

#define RL_HLC_MAX_DRIFT_MS (5ull * 60 * 1000)

static inline uint64_t rl_hlc_ms(uint64_t hlc)
{
    return hlc >> 16;
}

/* Wall-clock milliseconds since the epoch. */
uint64_t rl_now_ms(void);

/* The next local timestamp after last, at wall time now_ms. */
uint64_t rl_hlc_tick(uint64_t last, uint64_t now_ms);

/* The clock after seeing a remote timestamp: moves forward, at most drift ahead of now_ms. */
uint64_t rl_hlc_recv(uint64_t last, uint64_t remote, uint64_t now_ms);

/* The stamp of a local op that overwrites a value stamped overwritten. */
uint64_t rl_hlc_overwrite(uint64_t tick, uint64_t overwritten);

/* "2026-11-27T18:40:01.123Z" (UTC); the counter is not shown. */
void rl_hlc_format(uint64_t hlc, char *buf, size_t n);

#endif
