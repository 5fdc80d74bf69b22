/*
 * Hybrid logical clock (see hlc.h).
 */
#include "hlc.h"

#include <stdio.h>
#include <time.h>

uint64_t rl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t rl_hlc_tick(uint64_t last, uint64_t now_ms)
{
    uint64_t wall = (now_ms & 0xffffffffffffull) << 16;
    return wall > last ? wall : last + 1;
}

uint64_t rl_hlc_recv(uint64_t last, uint64_t remote, uint64_t now_ms)
{
    uint64_t cap = ((now_ms + RL_HLC_MAX_DRIFT_MS) & 0xffffffffffffull) << 16;
    if (remote > cap)
        remote = cap;
    return remote > last ? remote : last;
}

uint64_t rl_hlc_overwrite(uint64_t tick, uint64_t overwritten)
{
    if (overwritten == UINT64_MAX)
        return overwritten;
    return overwritten + 1 > tick ? overwritten + 1 : tick;
}

void rl_hlc_format(uint64_t hlc, char *buf, size_t n)
{
    uint64_t ms = rl_hlc_ms(hlc);
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(buf, n, "?");
        return;
    }
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}
