/*
 * What the benchmark programs share: timing, medians, the table of figures and their
 * baselines, spawning a command, removing a temporary tree. Each program defines BENCH_NAME
 * (its name, for messages) before including this header; everything here is static
 * (and may go unused by a program).
 */
#ifndef RELIEF_BENCHLIB_H
#define RELIEF_BENCHLIB_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BENCH_MAX_SAMPLES 101 /* measurements of one figure */
#define BENCH_MAX_ROWS 16     /* figures of one program */
#define BENCH_PATH_BYTES 1024

/* One figure: its samples beside its baseline's, taken in turns. */
struct row {
    char figure[64];
    char target[26];
    char unit[12];
    int throughput; /* higher is better: the ratio is baseline / measured */
    double measured[BENCH_MAX_SAMPLES], baseline[BENCH_MAX_SAMPLES];
    int n;
    int skipped;
    char note[200];
};

static struct row rows[BENCH_MAX_ROWS];
static int nrows;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

__attribute__((unused)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(BENCH_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

__attribute__((unused)) static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((unused)) static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

__attribute__((unused)) static double median(const double *v, int n)
{
    double s[BENCH_MAX_SAMPLES];
    if (n <= 0)
        return 0;
    if (n > BENCH_MAX_SAMPLES)
        n = BENCH_MAX_SAMPLES;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

__attribute__((unused)) static struct row *row_new(const char *figure, const char *target, const char *unit, int throughput)
{
    if (nrows == BENCH_MAX_ROWS)
        die("too many rows");
    struct row *r = &rows[nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->figure, sizeof r->figure, "%s", figure);
    snprintf(r->target, sizeof r->target, "%s", target);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    r->throughput = throughput;
    return r;
}

__attribute__((unused)) static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st))
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            char sub[BENCH_PATH_BYTES];
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_tree(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

__attribute__((unused)) static void mdb_check(int rc, const char *what)
{
    if (rc)
        die("raw lmdb: %s: %s", what, mdb_strerror(rc));
}

/* Run argv with its output discarded: seconds it took, or -1 when it failed. */
__attribute__((unused)) static double spawn_wait(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now_s();
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return -1;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    double dt = now_s() - t0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? dt : -1;
}

/* --- output --- */

/*
 * make bench's one table (tools/bench/run.sh): a row appended to the file $BENCH_ROWS names,
 * when it is set, as program, figure, target, measured, baseline, ratio (tab-separated). The
 * ratio is the figure's cost in units of its baseline's: time or bytes per unit of work, or
 * for a rate the baseline's rate over the measured one; 2.00x means twice as slow or as big.
 */
static inline void bench_emit(const char *figure, const char *target, const char *measured,
                              const char *baseline, const char *ratio)
{
    const char *path = getenv("BENCH_ROWS");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\n", BENCH_NAME, figure, target, measured, baseline,
            ratio);
    fclose(f);
}

static inline void bench_fmt_value(char *out, size_t n, double v, const char *unit)
{
    if (v >= 100)
        snprintf(out, n, "%.0f %s", v, unit);
    else
        snprintf(out, n, "%.2f %s", v, unit);
}

/* Print the rows (medians, baselines, ratios), the legend, each row's note and spread; and
 * emit them for make bench's table. */
static inline void bench_print_table(const char *legend)
{
    printf("\n%-46s | %-20s | %-17s | %-17s | %s\n", "figure", "target", "measured (median)",
           "baseline (median)", "ratio");
    printf("%.46s-+-%.20s-+-%.17s-+-%.17s-+-%s\n", "----------------------------------------------",
           "--------------------", "-----------------", "-----------------", "------");
    for (int i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        char m[32], b[32], ratio[16];
        if (r->skipped || r->n == 0) {
            const char *why = r->skipped ? "skipped" : "not run";
            printf("%-46s | %-20s | %-17s | %-17s | %s\n", r->figure, r->target, why, "-", "-");
            bench_emit(r->figure, r->target, why, "-", "-");
            continue;
        }
        double mm = median(r->measured, r->n), bm = median(r->baseline, r->n);
        bench_fmt_value(m, sizeof m, mm, r->unit);
        bench_fmt_value(b, sizeof b, bm, r->unit);
        snprintf(ratio, sizeof ratio, "%.2fx", r->throughput ? bm / mm : mm / bm);
        printf("%-46s | %-20s | %-17s | %-17s | %s\n", r->figure, r->target, m, b, ratio);
        bench_emit(r->figure, r->target, m, b, ratio);
    }
    printf("\n%s\n\n", legend);
    for (int i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        if (r->note[0])
            printf("  %s: %s\n", r->figure, r->note);
        if (r->skipped || r->n < 2)
            continue;
        double lo = r->measured[0], hi = lo, blo = r->baseline[0], bhi = blo;
        for (int j = 1; j < r->n; j++) {
            lo = r->measured[j] < lo ? r->measured[j] : lo;
            hi = r->measured[j] > hi ? r->measured[j] : hi;
            blo = r->baseline[j] < blo ? r->baseline[j] : blo;
            bhi = r->baseline[j] > bhi ? r->baseline[j] : bhi;
        }
        printf("    spread over %d: measured %.4g..%.4g, baseline %.4g..%.4g %s\n", r->n, lo, hi,
               blo, bhi, r->unit);
    }
}

#endif
