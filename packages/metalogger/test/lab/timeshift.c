/*
 * LD_PRELOAD shim for lab tests: shifts the wall clock (gettimeofday, time, CLOCK_REALTIME) of one
 * process by MFS_TIMESHIFT_SECONDS, so a real mfsmaster reaches its hourly changelog rotation and
 * metadata store (wall-clock aligned) a few seconds after it starts. Monotonic clocks are untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long shift_s;
static int shift_read;

static void read_shift(void) {
  if (!shift_read) {
    const char *s = getenv("MFS_TIMESHIFT_SECONDS");
    shift_s = s ? atoll(s) : 0;
    shift_read = 1;
  }
}

int gettimeofday(struct timeval *tv, void *tz) {
  static int (*next)(struct timeval *, void *);
  if (!next) next = (int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
  read_shift();
  int r = next(tv, tz);
  if (r == 0 && tv) tv->tv_sec += shift_s;
  return r;
}

int clock_gettime(clockid_t c, struct timespec *ts) {
  static int (*next)(clockid_t, struct timespec *);
  if (!next) next = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  read_shift();
  int r = next(c, ts);
  if (r == 0 && ts && (c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE)) ts->tv_sec += shift_s;
  return r;
}

time_t time(time_t *t) {
  struct timeval tv;
  gettimeofday(&tv, 0);
  if (t) *t = tv.tv_sec;
  return tv.tv_sec;
}
