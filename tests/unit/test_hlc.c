/*
 * Unit tests of the hybrid logical clock (relief/hlc.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "relief/hlc.h"

#include <string.h>

/* 2099-01-01T00:00:00Z in milliseconds */
#define MS_2099 4070908800000ull
#define NOW 1790000000000ull /* 2026-09 */

static void test_hlc_tick_follows_wall_clock(void **state)
{
    (void)state;
    uint64_t h = rl_hlc_tick(0, NOW);
    assert_int_equal(rl_hlc_ms(h), NOW);
    uint64_t h2 = rl_hlc_tick(h, NOW + 5);
    assert_int_equal(rl_hlc_ms(h2), NOW + 5);
    assert_true(h2 > h);
}

static void test_hlc_tick_monotonic_when_wall_goes_back(void **state)
{
    (void)state;
    uint64_t h = rl_hlc_tick(0, NOW);
    uint64_t prev = h;
    /* the wall clock jumps an hour back: the clock keeps counting up */
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rl_hlc_tick(prev, NOW - 3600000);
        assert_true(x > prev);
        prev = x;
    }
    assert_int_equal(rl_hlc_ms(prev), NOW);
    /* same millisecond: the counter advances */
    uint64_t a = rl_hlc_tick(h, NOW);
    assert_int_equal(a, h + 1);
}

static void test_hlc_recv_moves_clock_forward(void **state)
{
    (void)state;
    uint64_t last = rl_hlc_tick(0, NOW);
    uint64_t remote = (NOW + 1000) << 16 | 7;
    uint64_t c = rl_hlc_recv(last, remote, NOW);
    assert_int_equal(c, remote);
    /* an older remote stamp leaves the clock alone */
    assert_int_equal(rl_hlc_recv(c, last - 10, NOW), c);
    /* the next local tick is after the remote stamp */
    assert_true(rl_hlc_tick(c, NOW) > remote);
}

static void test_hlc_recv_drift_bound(void **state)
{
    (void)state;
    uint64_t last = rl_hlc_tick(0, NOW);
    uint64_t remote = MS_2099 << 16;
    uint64_t c = rl_hlc_recv(last, remote, NOW);
    assert_int_equal(rl_hlc_ms(c), NOW + RL_HLC_MAX_DRIFT_MS);
    /* exactly at the bound is accepted whole */
    uint64_t at = (NOW + RL_HLC_MAX_DRIFT_MS) << 16;
    assert_int_equal(rl_hlc_recv(last, at, NOW), at);
    /* one millisecond past it is capped */
    uint64_t past = (NOW + RL_HLC_MAX_DRIFT_MS + 1) << 16;
    assert_int_equal(rl_hlc_recv(last, past, NOW), at);
}

static void test_hlc_overwrite_beats_2099(void **state)
{
    (void)state;
    uint64_t clock = rl_hlc_tick(0, NOW);
    uint64_t v2099 = MS_2099 << 16 | 3;
    uint64_t tick = rl_hlc_tick(clock, NOW);
    uint64_t stamp = rl_hlc_overwrite(tick, v2099);
    assert_true(stamp > v2099);
    assert_int_equal(stamp, v2099 + 1);
    /* the clock itself did not move to 2099 */
    assert_int_equal(rl_hlc_ms(tick), NOW);
    /* overwriting an old value uses the tick */
    assert_int_equal(rl_hlc_overwrite(tick, 5), tick);
}

static void test_hlc_format(void **state)
{
    (void)state;
    char buf[40];
    rl_hlc_format((MS_2099 + 123) << 16, buf, sizeof buf);
    assert_string_equal(buf, "2099-01-01T00:00:00.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hlc_tick_follows_wall_clock),
        cmocka_unit_test(test_hlc_tick_monotonic_when_wall_goes_back),
        cmocka_unit_test(test_hlc_recv_moves_clock_forward),
        cmocka_unit_test(test_hlc_recv_drift_bound),
        cmocka_unit_test(test_hlc_overwrite_beats_2099),
        cmocka_unit_test(test_hlc_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
